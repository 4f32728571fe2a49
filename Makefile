# Two commands do all the set-up:  `make book`  and  `make test`.
# Both create .venv/ on first use and re-install only when requirements.txt or
# pyproject.toml change.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test lab lint clean help

help:
	@echo "make book   build the HTML book (executes every chapter) -> _build/html/index.html"
	@echo "make test   run the whole test suite (unit tests, nbval, strict book build)"
	@echo "make lab    open JupyterLab on the chapters"
	@echo "make lint   ruff over the package, tests and notebooks"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@# Build matplotlib's font cache now, so no notebook prints a one-off warning.
	$(BIN)/python -c "import matplotlib.pyplot"
	@touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo
	@echo "The book is at: $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/jupyter lab chapters

lint: $(STAMP)
	$(BIN)/ruff check mlm_helpers tests benchmarks chapters

clean:
	rm -rf _build

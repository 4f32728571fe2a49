# Two commands do all the set-up:  `make book`  and  `make test`.
# Both create .venv/ on first use and re-install only when requirements.txt or
# pyproject.toml change.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test lab lint clean help pdf

help:
	@echo "make book   build the HTML book (executes every chapter) -> _build/html/index.html"
	@echo "make test   run the whole test suite (unit tests, nbval, strict book build)"
	@echo "make lab    open JupyterLab on the chapters"
	@echo "make lint   ruff over the package, tests and notebooks"
	@echo "make pdf    one PDF of the whole book (Chromium) -> _build/pdf/mlm-book.pdf"

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

# One PDF of the whole book: a single-page build from the stored outputs, printed by headless
# Chromium (tools/make_pdf.py says why Chromium and not LaTeX). Also copied into
# _build/html/_static/ when the HTML book exists, where the landing page links to it.
pdf: $(STAMP)
	$(BIN)/python tools/make_pdf.py

lab: $(STAMP)
	$(BIN)/jupyter lab chapters

lint: $(STAMP)
	$(BIN)/ruff check mlm_helpers tests benchmarks chapters tools
	$(BIN)/ruff format --check chapters

clean:
	rm -rf _build

# ---- Workshop kit (instructor guide: book/instructors/) ---------------------------------------
.PHONY: timings student hub-links wheelhouse install-offline

timings: $(STAMP)   ## run every chapter, write book/instructors/_generated/notebook_times.md
	$(BIN)/python benchmarks/notebook_times.py

student: $(STAMP)   ## student copies without solutions -> _build/student/
	$(BIN)/python tools/make_student.py

hub-links:          ## nbgitpuller links for every chapter: make hub-links HUB=https://hub.example.org
	@test -n "$(HUB)" || (echo "usage: make hub-links HUB=https://your-hub.example.org" && exit 2)
	@$(PYTHON) tools/hub_links.py "$(HUB)"

WHEELHOUSE ?= wheelhouse

wheelhouse:         ## (needs the network, once) every wheel the course needs -> wheelhouse/
	$(PYTHON) -m pip download --only-binary=:all: -r requirements.txt -d $(WHEELHOUSE)
	$(PYTHON) -m pip wheel --no-deps -w $(WHEELHOUSE) .
	@echo "Copy the repository with $(WHEELHOUSE)/ to the offline machines, then: make install-offline"

install-offline:    ## (no network) install from wheelhouse/ into .venv/
	@test -d $(WHEELHOUSE) || (echo "no $(WHEELHOUSE)/ folder: run 'make wheelhouse' on a machine with network" && exit 2)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --no-index --find-links $(WHEELHOUSE) -r requirements.txt
	$(BIN)/python -m pip install --no-index --find-links $(WHEELHOUSE) --no-deps mlm_helpers
	$(BIN)/python -c "import matplotlib.pyplot"
	$(BIN)/python -m mlm_helpers.check
	@touch $(STAMP)

# Two commands do all the set-up:  `make book`  and  `make test`.
# Both create .venv/ on first use and re-install only when requirements*.txt,
# pyproject.toml or the Jupyter settings in binder/ change. `make lab` needs only the
# run-time requirements (requirements.txt); book and test add requirements-dev.txt.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
SETTINGS  := binder/jupyter_config.json binder/overrides.json tools/jupyter_settings.py

.PHONY: book test lab lab-chapters lint clean clean-all help pdf

help:
	@echo "make book   build the HTML book (executes every chapter) -> _build/html/index.html"
	@echo "make test   run the whole test suite (unit tests, nbval, strict book build)"
	@echo "make lab    open JupyterLab on the student copies (_build/student, solutions folded)"
	@echo "make lint   ruff over the package, tests and notebooks; mypy over the package"
	@echo "make pdf    one PDF of the whole book (Chromium) -> _build/pdf/mlm-book.pdf"

# Run time: what `make lab` needs (requirements.txt, the package, the Jupyter settings).
$(RUN_STAMP): requirements.txt pyproject.toml $(SETTINGS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python tools/jupyter_settings.py >/dev/null
	@# Build matplotlib's font cache now, so no notebook prints a one-off warning.
	$(BIN)/python -c "import matplotlib.pyplot"
	@touch $(RUN_STAMP)

# Development: the book build, tests and style on top (requirements-dev.txt).
$(STAMP): $(RUN_STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
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

# Students' route: the student copies (solutions folded until clicked, glued numbers filled in).
# Copies that exist are kept (they hold the student's answers); `make student` rewrites them.
# The chapters themselves open with `make lab-chapters` (authors).
# LAB_ARGS passes options to JupyterLab (the browser test: --no-browser --ServerApp.port=...).
lab: $(RUN_STAMP)
	$(PYTHON) tools/make_student.py --keep-existing
	$(BIN)/jupyter lab $(LAB_ARGS) _build/student

lab-chapters: $(RUN_STAMP)
	$(BIN)/jupyter lab chapters

lint: $(STAMP)
	$(BIN)/ruff check mlm_helpers tests benchmarks chapters tools
	$(BIN)/mypy mlm_helpers
	$(BIN)/ruff format --check chapters

# Spares the student copies (_build/student), which an instructor may be handing out;
# `make clean-all` removes them too.
clean:
	@find _build -mindepth 1 -maxdepth 1 ! -name student -exec rm -rf {} + 2>/dev/null || true
	rm -rf build
	@test ! -d _build/student || echo "kept _build/student (the student copies); make clean-all removes them"

clean-all:
	rm -rf _build build

# ---- Workshop kit (instructor guide: book/instructors/) ---------------------------------------
.PHONY: timings student student-no-solutions hub-links wheelhouse install-offline

timings: $(STAMP)   ## run every chapter, write book/instructors/_generated/notebook_times.md
	$(BIN)/python benchmarks/notebook_times.py

student:            ## student copies, solutions folded -> _build/student/ (rewrites them; standard library only)
	$(PYTHON) tools/make_student.py

student-no-solutions:  ## student copies without the solutions -> _build/student/
	$(PYTHON) tools/make_student.py --no-solutions

hub-links:          ## nbgitpuller links for every chapter: make hub-links HUB=https://hub.example.org
	@test -n "$(HUB)" || (echo "usage: make hub-links HUB=https://your-hub.example.org" && exit 2)
	@$(PYTHON) tools/hub_links.py "$(HUB)"

WHEELHOUSE ?= wheelhouse
# Target platform of the wheels: empty for this machine, else a pip platform tag such as
# win_amd64, macosx_11_0_arm64 or manylinux2014_x86_64, with the attendees' Python (PYVER).
# pip evaluates environment markers for the machine it runs on, so the dependencies that only
# the target needs (tools/wheelhouse/windows.txt: pywinpty, colorama...) are named explicitly.
PLATFORM ?=
PYVER    ?= 3.11
PLATFORM_ARGS = $(if $(PLATFORM),--platform $(PLATFORM) --python-version $(PYVER) --implementation cp)
PLATFORM_LIST = $(if $(findstring win,$(PLATFORM)),-r tools/wheelhouse/windows.txt,$(if $(findstring macosx,$(PLATFORM)),-r tools/wheelhouse/macos.txt))

wheelhouse:         ## (needs the network, once) every wheel the course needs -> wheelhouse/ ; PLATFORM=win_amd64 for Windows
	$(PYTHON) -m pip download --only-binary=:all: $(PLATFORM_ARGS) -r requirements.txt $(PLATFORM_LIST) -d $(WHEELHOUSE)
	$(PYTHON) -m pip wheel --no-deps -w $(WHEELHOUSE) .
	rm -rf build
	@echo "Copy the repository with $(WHEELHOUSE)/ to the offline machines, then: make install-offline"

install-offline:    ## (no network) install from wheelhouse/ into .venv/
	@test -d $(WHEELHOUSE) || (echo "no $(WHEELHOUSE)/ folder: run 'make wheelhouse' on a machine with network" && exit 2)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --no-index --find-links $(WHEELHOUSE) -r requirements.txt
	$(BIN)/python -m pip install --no-index --find-links $(WHEELHOUSE) --no-deps mlm_helpers
	$(BIN)/python tools/jupyter_settings.py >/dev/null
	$(BIN)/python -c "import matplotlib.pyplot"
	$(BIN)/python -m mlm_helpers.check
	@touch $(RUN_STAMP)

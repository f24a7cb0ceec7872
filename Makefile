# One-command set-up: every target creates/reuses the virtual environment it needs.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
export COURSE_DATA_DIR ?= $(CURDIR)/data_cache
PYTEST_WORKERS ?= 2
# e.g. make demo ASSIGNMENTS="jund rnacompete" (default: every assignment)
ASSIGNMENTS ?=

.PHONY: demo test test-all release student-build bench notebook-times clean sandbox

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq --upgrade pip
	$(PY) -m pip install -qq -c constraints.txt -e ".[dev]"
	@$(MAKE) --no-print-directory sandbox
	touch $@

## sandbox: bubblewrap, which isolates each graded notebook (installed when running as root; see README, Threat model)
sandbox:
	@if command -v bwrap >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing bubblewrap (the grading sandbox)"; \
		apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null && apt-get install -y -qq bubblewrap >/dev/null; }; \
	else echo "note: bubblewrap is not installed; ask your administrator for the Debian package 'bubblewrap'"; \
		echo "      (grading then runs the worker as another uid if root, else without isolation)"; fi

## demo: build the release, autograde sample submissions in fast mode, print the grade tables
demo: $(VENV)/.installed
	$(PY) -m autograder release
	$(PY) -m autograder demo --out build/demo $(foreach a,$(ASSIGNMENTS),-a $(a))

## test: the course's own test suite (what CI runs); one torch thread per test worker
test: export OMP_NUM_THREADS = 1
test: $(VENV)/.installed sandbox
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile -q -p no:cacheprovider

## test-all: the test suite plus every mutant of every assignment through the runner and nbgrader (~40 min on 2 cores)
test-all: export COURSE_TEST_ALL_MUTANTS = 1
test-all: test

## release: regenerate release/ from source/ with nbgrader
release: $(VENV)/.installed
	$(PY) -m autograder release

## student-build: the wheel students install (no reference solutions, no autograder)
student-build: $(VENV)/.installed
	$(PY) -m autograder student-build --out dist

## bench: every benchmark script under bench/ (slow; prints tables)
bench: $(VENV)/.installed
	for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

## notebook-times: every notebook top to bottom in full mode, timed (hours on a CPU), then the GPU estimate
notebook-times: $(VENV)/.installed
	$(PY) bench/time_notebooks.py --out build/notebook_times
	$(PY) bench/estimate_gpu_time.py --times build/notebook_times

clean:
	rm -rf build dist submitted autograded feedback gradebook.db .nbgrader.log

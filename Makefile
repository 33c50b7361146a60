# The two set-up commands of the README:
#   make study   installs the tool in .venv and runs the reference study (report included)
#   make test    installs the tool, its test tools and R (survey, mgcv, segmented), runs every test
# CI (.ci/run) calls `make test`.

PYTHON ?= python3
VENV   ?= .venv
DATA   ?= $(or $(NHANES_DATA_DIR),../shared/nhanes/2013-2018)
OUT    ?= out
STUDY  ?= studies/hgb_bmd.toml
PYTEST_ARGS ?=

.PHONY: study test install r-deps test-deps bench bench-all clean

study: install
	$(VENV)/bin/nhanes-study run $(STUDY) --data-dir $(DATA) --out $(OUT)

test: install r-deps test-deps
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $@

r-deps:
	bash scripts/install-r-deps.sh

test-deps:
	bash scripts/install-test-deps.sh

# the whole study as processes, cold and warm, vs R, and the scaling table (~3-4 min on a quiet machine)
bench: install r-deps
	$(VENV)/bin/python -m benchmarks study

# every benchmark (also the engine-level ones: survey, smooth, threshold, glm)
bench-all: install r-deps
	$(VENV)/bin/python -m benchmarks

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache

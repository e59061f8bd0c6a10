# Two entry points: `make demo` and `make test`; each builds its own venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_PIN := torch==2.13.0

.PHONY: demo test package-check lint bench docs clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.demo-installed: $(BIN)/activate pyproject.toml
	$(BIN)/pip install --quiet -e ".[cli]"
	touch $@

$(VENV)/.test-installed: $(BIN)/activate pyproject.toml
	$(BIN)/pip install --quiet "$(TORCH_PIN)"
	$(BIN)/pip install --quiet -e ".[test,cli,dask,io,torch]"
	touch $@

demo: $(VENV)/.demo-installed
	MPLBACKEND=Agg $(BIN)/gaussmix demo --output gaussmix-demo.png

test: $(VENV)/.test-installed
	$(BIN)/ruff check $(wildcard src tests benchmarks examples)
	$(BIN)/ruff format --check $(wildcard src tests benchmarks examples)
	MPLBACKEND=Agg $(BIN)/python -m pytest -q

# The sdist and wheel build offline, then install and import in a fresh venv.
package-check: $(VENV)/.test-installed
	$(BIN)/python -m pytest -q tests/test_packaging.py

# The peers pull torch in; the constraint keeps the pinned build installed above.
$(VENV)/.bench-installed: $(VENV)/.test-installed pyproject.toml
	echo "$(TORCH_PIN)" > $(VENV)/torch-constraint.txt
	$(BIN)/pip install --quiet -c $(VENV)/torch-constraint.txt -e ".[bench]"
	touch $@

# make bench BENCH_ARGS="--scale 0.05 --configs a,c" for a quick run;
# BENCH_SCRIPT=bench_bayesian.py times BayesianGaussianMixture instead
BENCH_SCRIPT ?= bench_em.py
bench: $(VENV)/.bench-installed
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
		$(BIN)/python benchmarks/$(BENCH_SCRIPT) $(BENCH_ARGS)

# The documentation site: the gallery scripts run during the build (torch for
# the deep examples) and any warning fails it. Output: docs/_build/html.
$(VENV)/.docs-installed: $(VENV)/.test-installed pyproject.toml
	echo "$(TORCH_PIN)" > $(VENV)/torch-constraint.txt
	$(BIN)/pip install --quiet -c $(VENV)/torch-constraint.txt -e ".[docs]"
	touch $@

docs: $(VENV)/.docs-installed
	MPLBACKEND=Agg $(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
	rm -rf docs/_build docs/auto_examples docs/api/generated docs/user_guide/generated

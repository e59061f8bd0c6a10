# Two entry points: `make demo` and `make test`; each builds its own venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_PIN := torch==2.13.0

.PHONY: demo test lint bench clean

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

bench: $(VENV)/.test-installed
	$(BIN)/pip install --quiet -e ".[bench]"
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/bench_em.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache

# zfb: `make demo` runs the sample county end to end, `make test` runs every test.
# Both create the environment (.venv) first when it is missing or out of date.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.zfb-installed
OUT    ?= out/demo

.PHONY: env demo test lint format bench docs clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -U pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt \
	    --config-settings editable_mode=compat -e ".[test]"
	touch $(STAMP)

env: $(STAMP)

demo: $(STAMP)
	$(BIN)/zfb demo --out $(OUT)

test: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/python -m pytest --ignore=tests/browser
	env -u MPLBACKEND $(BIN)/python -m pytest -p no:cacheprovider --nbval \
	    --nbval-current-env --nbval-sanitize-with notebooks/nbval-sanitize.cfg notebooks
	$(BIN)/python -m pytest -p no:cacheprovider tests/browser

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_match.py

docs: $(STAMP)
	$(BIN)/python -c "from zfb.schema import columns_markdown; print(columns_markdown())" > docs/columns.md

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis

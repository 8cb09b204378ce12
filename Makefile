# Everything runs from a local virtual environment built from nothing by `make setup`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := resources/sample/kodim23.png

.PHONY: setup run test bench clean

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	# torch first and pinned: a looser pin pulls gigabytes of CUDA packages.
	$(BIN)/pip install -q torch==2.13.0
	echo "torch==2.13.0" > $(VENV)/constraints.txt
	$(BIN)/pip install -q -c $(VENV)/constraints.txt -e ".[test]"
	touch $@

setup: $(BIN)/.installed

run: setup
	$(BIN)/python -m core encode $(SAMPLE) -o /tmp/wcs-sample.wcs --recon /tmp/wcs-sample-recon.png --overwrite
	$(BIN)/python -m core info /tmp/wcs-sample.wcs

test: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/bench_decode.py

clean:
	rm -rf $(VENV) build dist .pytest_cache

# A PNG of the main window (a result, the RD curves, the decode order) under a virtual X server.
# Needs xvfb (apt-get install xvfb). --demo: runs without shipped weights (untrained tiny models).
screenshot: setup
	mkdir -p results/app
	xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/python -m app --demo --screenshot results/app/screenshot.png

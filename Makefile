# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := runs/demo

# Where pip takes torch from. Empty (the default): pip's own configuration, which on the project's
# machines finds a staged CPU wheel and on an ordinary Linux x86_64 machine takes PyPI's CUDA build
# (several GB). For the CPU wheel anywhere: make demo TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
TORCH_FROM := $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))

.PHONY: install demo test test-slow lint clean gpu-bundle

install: $(STAMP)

# torch first, pinned; the project's own range then keeps it. Everything: the host runtime, the
# training install ([train]), Ray ([ray]), what the tests need ([test]) and the linters ([lint]).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_FROM) torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[train,ray,test,lint]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO)
	$(BIN)/edge-har train --out $(DEMO) --epochs 8 --val-subjects 1  # sim6 held out, for parity and the stream
	$(BIN)/edge-har export $(DEMO) --int8
	$(BIN)/edge-har parity $(DEMO) --subjects sim6 --tflm-steps 500  # sim6: the validation subject, never trained on
	$(BIN)/edge-har parity $(DEMO) --subjects sim6 --engine step --out $(DEMO)/parity-step
	@echo "Streaming the held-out synthetic person from an emulated board (10x real time) through a pseudo-terminal,"
	@echo "into the int8 step model:"
	$(BIN)/edge-har emulate --subjects sim6 --speed 10 --linger 1 --link $(DEMO)/tty > /dev/null & \
	  until [ -e $(DEMO)/tty ]; do sleep 0.2; done; \
	  $(BIN)/edge-har stream --port $(DEMO)/tty --model $(DEMO) --duration 12 --summary $(DEMO)/stream.json; \
	  wait
	@echo "Demo run: $(DEMO) (metrics.json, PNG plots, export/ with ONNX, TFLite and C array, parity and stream reports)"

test: $(STAMP)
	$(BIN)/python -m pytest

# ruff and mypy (their rules in pyproject.toml) and the import contracts ([tool.importlinter]: what
# runs an exported model never imports the training stack, core imports no other layer, nothing
# imports the CLI, no cycles between layers)
lint: $(STAMP)
	$(BIN)/ruff check edge_har tests tools
	$(BIN)/mypy
	$(BIN)/lint-imports

# Real-data trainings that take longer than the default test run (needs ../shared/data).
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

# What tools/gpu_check.sh needs on a lent GPU machine beyond its image (Python 3.12, torch with CUDA,
# no package index): pydantic's wheels for Python 3.12 and the hapt-dev recordings, in .gpu/ (ignored)
GPU_WHEELS := pydantic==2.11.10 pydantic-core==2.33.2 annotated-types==0.7.0 typing-inspection==0.4.2
gpu-bundle: $(STAMP)
	rm -rf .gpu && mkdir -p .gpu/wheels
	$(BIN)/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpu/wheels $(GPU_WHEELS)
	cp -r ../shared/data/hapt-dev .gpu/hapt-dev

clean:
	rm -rf $(VENV) runs .pytest_cache

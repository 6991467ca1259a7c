# Two entry points for a fresh machine: `make serve` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
APT_PACKAGES := libmagic1 tesseract-ocr
# espeak-ng speaks the test recordings; the UI tests drive Debian's Chromium; the queue and
# API tests run a second time on a PostgreSQL the tests start and stop; docker-compose checks
# docker-compose.yml's profiles (`config` needs no Docker engine).
TEST_APT_PACKAGES := espeak-ng chromium postgresql docker-compose
OFFLINE := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 UNSTRUCTURED_DISABLE_NOTICE=1

.PHONY: serve test install install-test system-deps lint typecheck pytest bench bench-peers clean

serve: install ## install everything and run the service at http://127.0.0.1:8000
	$(OFFLINE) $(BIN)/omnidex serve

test: install-test lint typecheck pytest ## install everything and run the full test suite

system-deps:
	@missing=""; for p in $(APT_PACKAGES) $(EXTRA_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else echo "missing system packages; run: sudo apt-get install -y$$missing"; exit 1; fi; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[server]'
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[server,test]'
	touch $@

install: system-deps $(VENV)/.installed

install-test:
	$(MAKE) system-deps EXTRA_APT_PACKAGES="$(TEST_APT_PACKAGES)"
	$(MAKE) $(VENV)/.installed-test

lint:
	$(BIN)/ruff check omnidex tests benchmarks
	$(BIN)/ruff format --check omnidex tests benchmarks

typecheck:
	$(BIN)/mypy

pytest:
	$(OFFLINE) $(BIN)/pytest $(PYTEST_ARGS)

bench: install-test ## the performance harness (see benchmarks/README.md)
	$(OFFLINE) $(BIN)/python -m benchmarks.text_ingest
	$(OFFLINE) $(BIN)/python -m benchmarks.visual
	$(OFFLINE) $(BIN)/python -m benchmarks.audio
	$(OFFLINE) $(BIN)/python -m benchmarks.answer --pin
	$(OFFLINE) $(BIN)/python -m benchmarks.client_upload
	$(OFFLINE) $(BIN)/python -m benchmarks.scale_out

# txtai, the peer, goes into a venv of its own that reuses the project's packages (a .pth file),
# so it never becomes one of omnidex's dependencies.
BENCH_VENV ?= .venv-bench
bench-peers: install-test ## omnidex vs txtai 9 hybrid on the same chunks (see benchmarks/README.md)
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BIN)/python -c "import site; print(site.getsitepackages()[0])" > "$$($(BENCH_VENV)/bin/python -c 'import site; print(site.getsitepackages()[0])')/omnidex-project.pth"
	$(BENCH_VENV)/bin/pip install -q 'txtai>=9,<10'
	$(OFFLINE) $(BENCH_VENV)/bin/python -m benchmarks.peers

clean:
	rm -rf $(VENV) $(BENCH_VENV) .pytest_cache .mypy_cache .ruff_cache

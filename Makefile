# pixi-htc: `make build` compiles specs/project.yaml; `make test` checks everything.
# Only python3 is needed: the first run makes .venv and installs what each target needs.

PYTHON ?= python3
SPEC ?= specs/project.yaml
OUT ?= build
VENV := .venv
BIN := $(VENV)/bin
PIXI_HTC := $(BIN)/pixi-htc
# The tests run on every core, a file to a worker (tests/conftest.py groups them; the files that start a
# Slurm cluster share one worker). PYTEST_PARALLEL= runs them in one process.
PYTEST_PARALLEL ?= -n auto --dist loadgroup
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
# Two recipes at once: on a fresh machine `make test` installs the Python packages while apt installs
# Slurm (both quiet, so their output does not interleave).
MAKEFLAGS += --jobs=2

.PHONY: build check test test-fast style lint slurm-packages lock pack image data submit status results bench clean-venv

$(VENV)/.core: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e .
	touch $@

# torch and torchvision are the payload's; the tests train it on a small offline data set.
# matplotlib (the plot extra) draws `pixi-htc results` plots, which the tests look at.
$(VENV)/.test: $(VENV)/.core
	$(PIP) install -e '.[test,payload,plot]'
	touch $@

# `make results` draws plots: it installs the plot extra itself (no `make test` needed first).
$(VENV)/.plot: $(VENV)/.core
	$(PIP) install -e '.[plot]'
	touch $@

build: $(VENV)/.core
	$(PIXI_HTC) build $(SPEC) --out $(OUT)
	@if command -v pixi >/dev/null 2>&1; then $(MAKE) --no-print-directory lock; fi

check: $(VENV)/.core
	$(PIXI_HTC) check $(SPEC) --out $(OUT)

test: $(VENV)/.test slurm-packages style
	$(PIXI_HTC) check $(SPEC) --out $(OUT)
	$(BIN)/python -m pytest $(PYTEST_PARALLEL)

# The fast lane: no training, no Slurm cluster, no long fuzz runs.
test-fast: $(VENV)/.test
	$(PIXI_HTC) check $(SPEC) --out $(OUT)
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) -m "not slow and not cluster and not fuzz" -q

# Formatting, lint and types, as configured in pyproject.toml (ruff format, ruff check, mypy): zero
# findings, and make test runs all three. `make lint` is the same checks without the tests.
style: $(VENV)/.test
	$(BIN)/ruff format --check compiler tests
	$(BIN)/ruff check compiler tests
	$(BIN)/mypy

lint: style

# tests/test_slurm.py starts a real single-node Slurm cluster: install Debian's slurm-wlm and munge where
# it can (root, apt-get); elsewhere, or when the install fails, those tests skip and say why.
slurm-packages:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& ! { command -v slurmctld && command -v slurmd && command -v sbatch && command -v munged; } >/dev/null 2>&1; then \
		echo "make: installing slurm-wlm and munge for the Slurm cluster tests"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null; } \
			|| echo "make: could not install slurm-wlm and munge; the Slurm cluster tests will skip"; \
	fi

lock:
	@if command -v pixi >/dev/null 2>&1; then \
		bash $(OUT)/lock.sh; \
	else \
		echo "make lock: pixi is not installed; get it from https://pixi.sh (curl -fsSL https://pixi.sh/install.sh | bash)"; \
	fi

pack:
	bash $(OUT)/pack.sh

image:
	@if docker info >/dev/null 2>&1; then \
		docker build --file $(OUT)/Dockerfile --tag pixi-htc-local:latest .; \
	else \
		echo "make image: no Docker engine is running here; CI builds the image (.github/workflows), or install Docker"; \
	fi

data: $(VENV)/.test
	$(BIN)/python -m compiler.mnist_data --out $(OUT)/MNIST_data.tar.gz

submit: $(VENV)/.core
	$(PIXI_HTC) submit $(SPEC) --out $(OUT) $(if $(JOB),--job $(JOB)) $(if $(DRY_RUN),--dry-run)

# After submit: WATCH=1 redraws until every process is done; JOB=name for one job.
status: $(VENV)/.core
	$(PIXI_HTC) status $(SPEC) --out $(OUT) $(if $(JOB),--job $(JOB)) $(if $(WATCH),--watch)

# METRIC=test_loss picks the best run by another metric; the plots need the plot extra, installed here.
results: $(VENV)/.plot
	$(PIXI_HTC) results $(SPEC) --out $(OUT) $(if $(JOB),--job $(JOB)) $(if $(METRIC),--metric $(METRIC))

# BENCH_ARGS: e.g. --size mnist --epochs 3 --fast= --fast="--bf16 --channels-last" (one row per --fast
# variant of the fast path; the seed's DataLoader run takes none of them). python -m tests.bench_trainer --help
bench: $(VENV)/.test
	$(BIN)/python -m tests.bench_check
	$(BIN)/python -m tests.bench_trainer $(BENCH_ARGS)

clean-venv:
	rm -rf $(VENV)

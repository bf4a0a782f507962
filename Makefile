# berth: make venv | make test | make demo | make bench | make sanity
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stamp

# Test image cache (base rootfs, built service images), kept between runs.
CACHE ?= $(HOME)/.cache/berth
export BERTH_TEST_CACHE := $(CACHE)

PYTEST_ARGS ?= -q -p no:cacheprovider --timeout=600
# Test trees; those without any test file are left out (pytest exits 5 on "no tests collected").
TEST_DIRS   ?= runtime/tests tests/unit tests/integration
LINT_PATHS  ?= runtime plugins tests
# ansible-test bootstraps pip for its per-test venvs (import, pylint, pep8, yamllint, validate-modules,
# runtime-metadata, changelog) from ci-files.testing.ansible.com; offline, skip those with
# SANITY_ARGS="--python 3.11 --skip-test import ..." or pre-seed ~/.ansible/test/cache/get_pip_24_2.py.
SANITY_ARGS ?= --python 3.11
SANITY_DIR  := $(CACHE)/ansible_collections/berth/core

.PHONY: help deps venv lint test demo bench sanity build clean distclean images

# OS packages the engine and its tests need (Debian 12); .ci/run installs the same.
DEBS := python3-venv python3-dev gcc make git rsync curl \
  runc conmon docker-registry busybox-static iptables nftables \
  apache2-utils openssl skopeo debootstrap \
  iproute2 procps util-linux ca-certificates xz-utils zstd

help:
	@echo "make deps     apt-get install the OS packages (root)"
	@echo "make venv     create $(VENV) (requirements.txt + editable runtime/)"
	@echo "make lint     ruff check $(LINT_PATHS)"
	@echo "make test     lint, then pytest over $(TEST_DIRS)"
	@echo "make demo     run the demo (demo/images.sh)"
	@echo "make images   the local/debian:bookworm base rootfs (debootstrap, cached in $(CACHE))"
	@echo "make bench    run the benchmarks (bench/results.json)"
	@echo "make sanity   ansible-test sanity on a copy under $(SANITY_DIR)"
	@echo "make build    build the collection tarball into build/"
	@echo "make clean    remove build output and caches (keeps $(VENV) and the image cache)"

deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEBS)

venv: $(STAMP)

$(STAMP): requirements.txt runtime/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q -e runtime
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check $(wildcard $(LINT_PATHS))

test: $(STAMP) lint
	@dirs=(); \
	for d in $(TEST_DIRS); do \
	  if [[ -d $$d ]] && [[ -n "$$(find $$d \( -name 'test_*.py' -o -name '*_test.py' \) -print -quit)" ]]; then \
	    dirs+=("$$d"); \
	  else \
	    echo "make test: no tests in $$d, skipped"; \
	  fi; \
	done; \
	if (( $${#dirs[@]} == 0 )); then echo "make test: no tests found in $(TEST_DIRS)"; exit 0; fi; \
	set -x; $(BIN)/pytest $(PYTEST_ARGS) "$${dirs[@]}"

images:
	bash tests/images/debian-base.sh $(CACHE)/debian-bookworm.tar
	@echo "import it: berth import $(CACHE)/debian-bookworm.tar local/debian:bookworm -c 'CMD [\"bash\"]'"

demo: $(STAMP)
	bash demo/images.sh

bench: $(STAMP)
	$(BIN)/python bench/run.py

sanity: $(STAMP)
	mkdir -p $(SANITY_DIR)
	rsync -a --delete \
	  --exclude=/.venv --exclude=/.cache --exclude=/build --exclude=/tests/output \
	  --exclude=__pycache__ --exclude='*.egg-info' --exclude=.ruff_cache --exclude=.pytest_cache \
	  ./ $(SANITY_DIR)/
	cd $(SANITY_DIR) && PATH="$(CURDIR)/$(BIN):$$PATH" ansible-test sanity $(SANITY_ARGS)

build: $(STAMP)
	mkdir -p build
	$(BIN)/ansible-galaxy collection build --force --output-path build .

clean:
	rm -rf build tests/output .ruff_cache .pytest_cache $(CACHE)/ansible_collections
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)

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

# --durations: the slowest tests in every log, to keep make test within its 25 minutes
PYTEST_ARGS ?= -q -p no:cacheprovider --timeout=600 --durations=25
# Test trees; those without any test file are left out (pytest exits 5 on "no tests collected").
TEST_DIRS   ?= runtime/tests tests/unit tests/integration tests/images tests/fleet
LINT_PATHS  ?= runtime plugins tests
ANSIBLE_LINT_PATHS ?= roles playbooks

# ansible-lint and ansible-test resolve berth.core.* through a collections path: one that holds
# ansible_collections/berth/core.
LINT_COLLECTIONS := $(CACHE)/lint-collections
# `make sanity` runs ansible-test on the collection as it ships: built with ansible-galaxy (its
# build_ignore leaves out the venv, caches and the engine's tests) and installed in a temporary
# directory under $(CACHE).
SANITY_ARGS ?= --python 3.11 --color no
# pep8 and pylint are ansible-core's style for plugin code: they check plugins/ only. The rest of
# the Python (runtime/src, the engine; tests) follows the repository's own style, ruff in make lint
# (ansible-test's pylint bans "_" as a name, which that code uses throughout as the throwaway name).
SANITY_STYLE_TESTS   := pep8 pylint
SANITY_STYLE_TARGETS := plugins/
# ansible-test bootstraps pip into each sanity venv with a get-pip.py from
# ci-files.testing.ansible.com, which not every machine reaches; tests/sanity/get_pip.py, put
# where ansible-test caches that script, does the same with the pip wheel from PyPI.
ANSIBLE_TEST_CACHE := $(HOME)/.ansible/test/cache
ANSIBLE_TEST_PIP = $(shell $(BIN)/python -c 'import inspect, re; \
  import ansible_test._internal.python_requirements as r; \
  print(re.search(r"pip=.([0-9.]+).", inspect.getsource(r.get_venv_packages)).group(1))')

.PHONY: help deps venv lint lint-collections test demo bench sanity sanity-venvs sanity-bootstrap wheelhouse build clean distclean images

# OS packages the engine and its tests need (Debian 12); .ci/run installs the same.
DEBS := python3-venv python3-dev gcc make git rsync curl \
  runc conmon docker-registry busybox-static tini iptables nftables \
  apache2-utils openssl skopeo debootstrap shellcheck \
  iproute2 procps util-linux ca-certificates xz-utils zstd openssh-server openssh-client

help:
	@echo "make deps     apt-get install the OS packages (root)"
	@echo "make venv     create $(VENV) (requirements.txt + editable runtime/)"
	@echo "make lint     ruff check $(LINT_PATHS); ansible-lint $(ANSIBLE_LINT_PATHS)"
	@echo "make test     lint, sanity, then pytest over $(TEST_DIRS)"
	@echo "make demo     run the demo (demo/images.sh)"
	@echo "make images   the local/debian:bookworm base rootfs (debootstrap, cached in $(CACHE))"
	@echo "make bench    run the benchmarks (bench/results.json)"
	@echo "make sanity   ansible-test sanity on the collection as built and installed by ansible-galaxy"
	@echo "make sanity-venvs   prepare ansible-test's per-test venvs (PyPI) without running the tests"
	@echo "make wheelhouse     the engine role's wheels for offline installs, in $(CACHE) (PyPI, once)"
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

lint: $(STAMP) lint-collections
	$(BIN)/ruff check $(wildcard $(LINT_PATHS))
	PATH="$(CURDIR)/$(BIN):$$PATH" ANSIBLE_COLLECTIONS_PATH=$(LINT_COLLECTIONS) \
	  $(BIN)/ansible-lint --nocolor $(ANSIBLE_LINT_PATHS)

lint-collections:
	@mkdir -p $(LINT_COLLECTIONS)/ansible_collections/berth
	@ln -sfn $(CURDIR) $(LINT_COLLECTIONS)/ansible_collections/berth/core

test: $(STAMP) lint sanity
	@echo "make test: lint and sanity done at $$(date +%T)"; dirs=(); \
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
	bash demo/site.sh

bench: $(STAMP)
	$(BIN)/python bench/run.py

sanity: $(STAMP) sanity-bootstrap
	@# a directory of its own per run (sanity runs at the same time must not install over each
	@# other); both ansible-test runs, then fail if either did: one make sanity shows every finding
	@mkdir -p $(CACHE) && root=$$(mktemp -d $(CACHE)/sanity.XXXXXX) && trap 'rm -rf "$$root"' EXIT && \
	export PATH="$(CURDIR)/$(BIN):$$PATH" && \
	ansible-galaxy collection build --output-path $$root/dist . >/dev/null && \
	ansible-galaxy collection install --offline -p $$root $$root/dist/berth-core-*.tar.gz >/dev/null && \
	cd $$root/ansible_collections/berth/core && \
	{ (set -x; ansible-test sanity $(SANITY_ARGS) $(foreach t,$(SANITY_STYLE_TESTS),--skip-test $(t))); all=$$?; \
	  (set -x; ansible-test sanity $(SANITY_ARGS) $(foreach t,$(SANITY_STYLE_TESTS),--test $(t)) $(SANITY_STYLE_TARGETS)); \
	  style=$$?; exit $$(( all || style )); }

# What ansible-test installs from PyPI into its venvs (~/.ansible/test/venv), ahead of make test:
# .ci/run calls this while setting up, so make sanity finds them made.
sanity-venvs: $(STAMP) sanity-bootstrap
	$(MAKE) --no-print-directory sanity SANITY_ARGS="$(SANITY_ARGS) --prime-venvs"

sanity-bootstrap: $(STAMP)
	@v=$(ANSIBLE_TEST_PIP); test -n "$$v" || { echo "cannot tell which pip ansible-test bootstraps" >&2; exit 1; }; \
	script=$(ANSIBLE_TEST_CACHE)/get_pip_$${v//./_}.py; \
	if [[ ! -e $$script ]]; then \
	  mkdir -p $(ANSIBLE_TEST_CACHE) && \
	  $(BIN)/pip download -q --no-deps --disable-pip-version-check -d $(ANSIBLE_TEST_CACHE) pip==$$v && \
	  install -m 0644 tests/sanity/get_pip.py $$script; \
	fi

# The wheels test_engine_role installs the engine's venv from (tests/installkit.py builds them
# when missing); .ci/run makes them during set-up.
wheelhouse: $(STAMP)
	$(BIN)/python -c 'import sys; sys.path.insert(0, "tests"); import installkit; print(installkit.wheelhouse())'

build: $(STAMP)
	mkdir -p build
	$(BIN)/ansible-galaxy collection build --force --output-path build .

clean:
	rm -rf build tests/output .ruff_cache .pytest_cache $(CACHE)/sanity.* $(LINT_COLLECTIONS)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)

# Two commands do everything on a fresh Debian/Ubuntu machine: `make demo` and `make test`.
# Both bootstrap what they need first (Debian packages when run as root, and the venvs).
#
# `make test` is the sum of the granular targets: lint, typecheck, sanity, unit, e2e.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

# Package installs keep using the user's pip cache (read before XDG_CACHE_HOME moves below).
ifndef PIP_CACHE_DIR
PIP_CACHE_DIR := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/pip
endif
export PIP_CACHE_DIR

# Nothing the tools write lands outside the checkout (or the system temp directory):
#  - ANSIBLE_HOME: Ansible's local temp files, galaxy cache, ansible-lint's cache and molecule's
#    scratch directories (molecule.<hash>.<scenario>), so those are unique per checkout;
#  - ANSIBLE_REMOTE_TMP: the temp directory of localhost tasks (connection: local);
#  - XDG_CACHE_HOME: ansible-lint's version cache, chromium's headless cache;
#  - XDG_CONFIG_HOME: chromium's crash reporter settings (~/.config/chromium otherwise).
# ansible-test (scripts/sanity.sh) and antsibull-docs (scripts/docs.sh, docs-lint) are told
# where to write in their own scripts. tests/integration/test_no_writes_outside.py checks it.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
export ANSIBLE_HOME := $(CURDIR)/.ansible
export ANSIBLE_REMOTE_TMP := $(CURDIR)/.ansible/tmp
export XDG_CACHE_HOME := $(CURDIR)/.cache
export XDG_CONFIG_HOME := $(CURDIR)/.config
export PYTHONPATH := $(CURDIR)/tests

# The variables above, one NAME=value a line (the no-writes-outside test reads them from here).
CHECKOUT_ENV := ANSIBLE_COLLECTIONS_PATH ANSIBLE_HOME ANSIBLE_REMOTE_TMP XDG_CACHE_HOME \
	XDG_CONFIG_HOME PYTHONPATH

.PHONY: bootstrap collection-link test lint typecheck sanity unit e2e molecule demo docs bench \
	clean print-env

bootstrap:
	@scripts/bootstrap.sh
	@$(MAKE) --no-print-directory collection-link

# The checkout seen as the installed collection winhardening.smb (ANSIBLE_COLLECTIONS_PATH).
collection-link:
	@mkdir -p .collections/ansible_collections/winhardening
	@ln -sfn ../../.. .collections/ansible_collections/winhardening/smb

print-env:
	@$(foreach v,$(CHECKOUT_ENV),echo '$(v)=$($(v))';)

test: lint typecheck sanity unit e2e

# Static checks: Python style, Ansible content, changelog and documentation.
# The antsibull-nox sessions (antsibull-nox.toml, noxfile.py) run in venvs under .nox/, reused
# from one run to the next; docs-check is antsibull-docs lint-collection-docs. nox runs with HOME
# in the checkout, where .antsibull.cfg (scripts/antsibull-docs.cfg) sends antsibull-docs' log to
# standard error instead of ~/antsibull.log.
NOX_SESSIONS := docs-check
NOX_HOME := .cache/nox-home
lint: bootstrap
	@echo "== ruff"; $(BIN)/ruff check . && $(BIN)/ruff format --check .
	@echo "== ansible-lint (production profile)"; $(BIN)/ansible-lint
	@echo "== antsibull-changelog lint"; $(BIN)/antsibull-changelog lint
	@echo "== changelog fragments"; scripts/check-changelog-fragments.sh
	@echo "== nox: $(NOX_SESSIONS)"; mkdir -p $(NOX_HOME) && cp scripts/antsibull-docs.cfg $(NOX_HOME)/.antsibull.cfg \
		&& HOME=$(CURDIR)/$(NOX_HOME) $(BIN)/nox --envdir .nox --reuse-existing-virtualenvs \
		--sessions $(NOX_SESSIONS)

typecheck: bootstrap
	@echo "== mypy"
	cd .collections && ../$(BIN)/mypy --config-file ../pyproject.toml -p ansible_collections.winhardening.smb.plugins
	cd tests && MYPYPATH=. ../$(BIN)/mypy --config-file ../pyproject.toml -p lab

sanity: bootstrap
	@echo "== ansible-test sanity"; scripts/sanity.sh

# Unit tests: the plugins and module_utils in-process, the repository's files, the lab's model;
# then the plugins' unit tests again on every other ansible-core minor that meta/runtime.yml
# claims (tests/integration/test_core_matrix.py checks this list against the claim).
UNIT_CORES := 2.19 2.20
unit: bootstrap
	@echo "== pytest (unit)"; $(BIN)/pytest $(PYTEST_ARGS) tests/unit
	@for core in $(UNIT_CORES); do \
		echo "== pytest (unit, plugins, ansible-core $$core)"; \
		.venv-core$$core/bin/python -m pytest $(PYTEST_ARGS) tests/unit/plugins || exit 1; \
	done

# End-to-end: the lab's own tests, then the collection against the lab (ansible-playbook,
# molecule, the built tarball) and the repository checks that run tools.
e2e: bootstrap
	@echo "== pytest (end-to-end)"; $(BIN)/pytest $(PYTEST_ARGS) tests/lab/tests tests/integration

# molecule's default scenario (the role on the lab), with this checkout's scratch directories.
molecule: bootstrap
	$(BIN)/molecule test --scenario-name default

demo: bootstrap
	@scripts/demo.sh

docs: bootstrap
	@scripts/docs.sh

bench: bootstrap
	$(BIN)/python bench/run.py

clean:
	rm -rf .collections collections build .mypy_cache .pytest_cache .ruff_cache .ansible .cache .config

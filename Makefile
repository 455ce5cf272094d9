# Two commands do everything on a fresh Debian/Ubuntu machine: `make demo` and `make test`.
# Both bootstrap what they need first (Debian packages when run as root, and the venvs).

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
export PYTHONPATH := $(CURDIR)/tests
PYTEST_ARGS ?=

.PHONY: bootstrap test lint typecheck unit sanity ansible-lint changelog-lint demo docs bench clean collection-link

bootstrap:
	@scripts/bootstrap.sh

collection-link:
	@mkdir -p .collections/ansible_collections/winhardening
	@ln -sfn ../../.. .collections/ansible_collections/winhardening/smb

test: bootstrap collection-link
	@echo "== ruff"; $(BIN)/ruff check . && $(BIN)/ruff format --check .
	@echo "== mypy"; $(MAKE) --no-print-directory typecheck
	@echo "== antsibull-changelog lint"; $(BIN)/antsibull-changelog lint
	@echo "== changelog fragments"; scripts/check-changelog-fragments.sh
	@echo "== antsibull-docs lint"; $(BIN)/antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs --validate-collection-refs all .
	@echo "== ansible-lint (production profile)"; $(BIN)/ansible-lint
	@echo "== ansible-test sanity"; scripts/sanity.sh
	@echo "== pytest"; $(BIN)/pytest $(PYTEST_ARGS)

lint: bootstrap collection-link
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: collection-link
	cd .collections && ../$(BIN)/mypy --config-file ../pyproject.toml -p ansible_collections.winhardening.smb.plugins
	cd tests && MYPYPATH=. ../$(BIN)/mypy --config-file ../pyproject.toml -p lab

sanity: bootstrap
	scripts/sanity.sh

demo: bootstrap collection-link
	@scripts/demo.sh

docs: bootstrap collection-link
	@scripts/docs.sh

bench: bootstrap collection-link
	$(BIN)/python bench/run.py

clean:
	rm -rf .collections collections build .mypy_cache .pytest_cache .ruff_cache

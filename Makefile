# Spendlens: `make demo` runs the product locally, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint infra-lint format bench lock lock-infra clean help

help:
	@echo "make demo   - set up and run Spendlens with the local AWS emulator (Ctrl-C stops it)"
	@echo "make test   - set up and run the test suite"
	@echo "make lint   - ruff lint + format check, migrations check, import contracts"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make infra-lint - offline checks of Dockerfile, compose, Terraform, Ansible, workflows"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever a lock file changes.
$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) scripts/demo.py

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports

# The deployment files' linters live in a venv of their own: checkov and ansible pin versions
# that must not move the application's lock.
INFRA_VENV := .venv-infra
INFRA_STAMP := $(INFRA_VENV)/.installed

$(INFRA_STAMP): requirements-infra.txt
	@test -x $(INFRA_VENV)/bin/python || $(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-infra.txt
	@touch $(INFRA_STAMP)

infra-lint: $(INFRA_STAMP)
	scripts/check_deploy_files.sh
	scripts/check_terraform.sh

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) bench/run.py

# Re-resolve the pinned lock files from requirements*.in in a throwaway venv.
lock:
	rm -rf /tmp/spendlens-lock && $(PYTHON) -m venv /tmp/spendlens-lock
	/tmp/spendlens-lock/bin/pip install --quiet -r requirements.in
	( echo "# Runtime dependencies, pinned with their transitive closure (make lock)."; \
	  /tmp/spendlens-lock/bin/pip freeze ) > requirements.txt
	/tmp/spendlens-lock/bin/pip install --quiet -r requirements-dev.in
	( echo "# Development and test dependencies on top of the runtime set (make lock)."; \
	  echo "-r requirements.txt"; \
	  /tmp/spendlens-lock/bin/pip freeze | grep -vxFf requirements.txt ) > requirements-dev.txt

lock-infra:
	rm -rf /tmp/spendlens-lock-infra && $(PYTHON) -m venv /tmp/spendlens-lock-infra
	/tmp/spendlens-lock-infra/bin/pip install --quiet -r requirements-infra.in
	( echo "# Offline infrastructure checks, pinned with their transitive closure (make lock-infra)."; \
	  /tmp/spendlens-lock-infra/bin/pip freeze ) > requirements-infra.txt

clean:
	rm -rf $(VENV) $(INFRA_VENV) staticfiles .pytest_cache .ruff_cache .artifacts

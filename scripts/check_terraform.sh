#!/usr/bin/env bash
# Offline checks of terraform/ (no AWS account, no registry, no network):
#   1. terraform fmt -check          formatting
#   2. terraform validate + test     the environments and the modules no environment calls,
#                                    against the AWS provider found in a local plugin directory
#                                    (skipped without one); `terraform test` (mocked provider,
#                                    plan only) wherever a tests/ directory exists
#   3. checkov                       AWS best-practice rules; every skip is justified inline in
#                                    the HCL as #checkov:skip=CKV_...:reason (listed below)
#   4. pytest tests/infra/terraform/
#                                    Spendlens' own security properties, parsed from the HCL
# Run from anywhere: bash scripts/check_terraform.sh. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Never phone home: Terraform's version check, checkov's guideline/mapping downloads and its
# package scan all stay off.
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
export BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN=false
# A CLI config variable pointing at a missing file only produces warnings.
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then
  unset TF_CLI_CONFIG_FILE
fi

CHECKOV=${CHECKOV:-.venv-infra/bin/checkov}
PYTHON=${PYTHON:-.venv/bin/python}
TF_PLUGIN_DIR=${TF_PLUGIN_DIR:-/opt/tf-plugins}

step "1. terraform fmt -check -recursive terraform"
if command -v terraform >/dev/null 2>&1; then
  # sed reads to the end: head would close the pipe early and pipefail turns that into an error
  terraform version | sed -n 1p
  terraform fmt -check -recursive -diff terraform
  echo "formatting: ok"
else
  echo "SKIPPED: terraform is not on PATH"
fi

step "2. terraform validate and terraform test (provider from $TF_PLUGIN_DIR)"
if ! command -v terraform >/dev/null 2>&1; then
  echo "SKIPPED: terraform is not on PATH"
elif [ ! -d "$TF_PLUGIN_DIR/registry.terraform.io/hashicorp/aws" ]; then
  echo "SKIPPED: no hashicorp/aws provider in $TF_PLUGIN_DIR (set TF_PLUGIN_DIR to a plugin"
  echo "         directory, e.g. one filled by 'terraform providers mirror', to validate offline)"
else
  # In a copy, so no .terraform/ or lock file lands in the work tree.
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp -R terraform "$work/"
  # The environments validate every module they call; modules no environment calls (the
  # customer-role module, applied in customers' accounts) are validated on their own.
  dirs=("$work"/terraform/environments/*)
  for module in "$work"/terraform/modules/*; do
    if [ -d "$module/tests" ] || ! grep -rqs "modules/$(basename "$module")\"" terraform/environments; then
      dirs+=("$module")
    fi
  done
  for dir in "${dirs[@]}"; do
    name=${dir#"$work"/}
    if ! out=$(cd "$dir" && terraform init -backend=false -input=false -no-color \
      -plugin-dir="$TF_PLUGIN_DIR" 2>&1 && terraform validate -no-color 2>&1); then
      printf '%s\n' "$out"
      echo "FAILED: $name"
      exit 1
    fi
    echo "$name: valid"
    if [ -d "$dir/tests" ]; then
      if ! out=$(cd "$dir" && terraform test -no-color 2>&1); then
        printf '%s\n' "$out"
        echo "FAILED: terraform test in $name"
        exit 1
      fi
      printf '%s\n' "$out" | grep -E '^(  run |Success)' | sed "s|^|$name: |"
    fi
  done
fi

step "3. checkov -d terraform --framework terraform"
if [ ! -x "$CHECKOV" ]; then
  echo "checkov not found at $CHECKOV; install it with:"
  echo "  python3 -m venv .venv-infra && .venv-infra/bin/pip install -r requirements-infra.txt"
  exit 1
fi
"$CHECKOV" --version
echo "Skips, each justified at its resource:"
{ grep -rno '#checkov:skip=[A-Z0-9_]*:.*' terraform --include='*.tf' || true; } |
  sed -E 's/^([^:]+):([0-9]+):#checkov:skip=([A-Z0-9_]+):(.*)$/  \3  \1:\2  \4/' | cut -c1-160
"$CHECKOV" -d terraform --framework terraform --quiet --compact \
  --download-external-modules false --skip-download

step "4. pytest tests/infra/terraform/"
"$PYTHON" -m pytest -q -p no:cacheprovider tests/infra/terraform/

printf '\nAll Terraform checks passed.\n'

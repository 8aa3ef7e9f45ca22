#!/usr/bin/env bash
# Offline checks of the deployment files: Dockerfile, compose, Ansible, GitHub workflows.
# Run from the repository root; needs the pinned tools in .venv-infra
# (python -m venv .venv-infra && .venv-infra/bin/pip install -r requirements-infra.txt).
# Prints each check, exits non-zero at the first failure. Nothing here touches the network.
#
# The structure of these files (non-root user, health check, compose services, dashboard
# metrics, deploy order) is asserted by tests/infra/deploy_files/ under `make test`;
# Terraform is checked by checkov and `terraform fmt` in CI.
set -euo pipefail

cd "$(dirname "$0")/.."
INFRA_BIN=${INFRA_BIN:-.venv-infra/bin}
if [ ! -x "$INFRA_BIN/ansible-lint" ]; then
  echo "Missing $INFRA_BIN/ansible-lint: python -m venv .venv-infra &&" \
    ".venv-infra/bin/pip install -r requirements-infra.txt" >&2
  exit 1
fi
# ansible-lint runs ansible-playbook and friends from PATH; the venv's must be the ones used.
PATH="$(cd "$INFRA_BIN" && pwd):$PATH"
export PATH
# Keep Ansible's local state (temp files, fact cache) out of the home directory and the repo.
work=$(mktemp -d)
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
export ANSIBLE_LOCAL_TEMP="$work/ansible-tmp" ANSIBLE_NOCOLOR=1

step() { printf '\n==> %s\n' "$*"; }

step "hadolint Dockerfile"
hadolint Dockerfile
echo "ok"

step "shell scripts parse (and pass shellcheck when it is installed)"
sh -n deploy/docker-entrypoint.sh
bash -n scripts/check_deploy_files.sh
if command -v shellcheck >/dev/null 2>&1; then
  shellcheck deploy/docker-entrypoint.sh scripts/check_deploy_files.sh
else
  echo "(shellcheck not installed: syntax only)"
fi
echo "ok"

step "ansible-playbook --syntax-check"
ansible-playbook -i ansible/inventory.example.ini ansible/playbook.yml --syntax-check

step "ansible-lint --profile production (offline: never installs from Galaxy)"
ansible-lint -c ansible/.ansible-lint --offline --profile production ansible/

step "Ansible templates render with the example inventory"
# A throwaway local play renders every role template with the roles' defaults plus the example
# inventory's values, so the rendered files can be validated below like the static ones.
rendered="$work/rendered"
mkdir -p "$rendered"
cat > "$work/render.yml" <<EOF
- name: Render the monitoring roles' templates
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    repo: "$PWD"
    out: "$rendered"
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Load the roles' defaults
      ansible.builtin.include_vars:
        file: "{{ repo }}/ansible/roles/{{ item }}/defaults/main.yml"
      loop: [docker_host, node_exporter, prometheus, grafana]
    - name: Render
      ansible.builtin.template:
        src: "{{ repo }}/ansible/roles/{{ item.role }}/templates/{{ item.src }}"
        dest: "{{ out }}/{{ item.dest }}"
        mode: "0644"
      loop:
        - { role: node_exporter, src: compose.yml.j2, dest: node_exporter-compose.yml }
        - { role: prometheus, src: compose.yml.j2, dest: prometheus-compose.yml }
        - { role: prometheus, src: prometheus.yml.j2, dest: prometheus.yml }
        - { role: grafana, src: compose.yml.j2, dest: grafana-compose.yml }
        - { role: grafana, src: datasource.yml.j2, dest: grafana-datasource.yml }
        - { role: grafana, src: dashboards.yml.j2, dest: grafana-dashboards.yml }
EOF
# Example values as extra vars (above include_vars), with every optional block switched on.
ansible-playbook -i localhost, "$work/render.yml" \
  -e '{"prometheus_spendlens_targets": ["spendlens.example.com:443"],
       "prometheus_spendlens_dns_sd_names": ["web.spendlens.local"],
       "prometheus_spendlens_bearer_token": "example-token",
       "prometheus_alertmanager_targets": ["127.0.0.1:9093"],
       "grafana_root_url": "https://grafana.example.com"}' >"$work/render.log" ||
  { cat "$work/render.log"; exit 1; }
ls "$rendered"

step "compose files against the Compose specification schema"
check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml "$rendered"/*-compose.yml

step "Grafana provisioning and dashboard parse"
python3 - "$rendered" <<'EOF'
import json, pathlib, sys, yaml
rendered = pathlib.Path(sys.argv[1])
for path in [*pathlib.Path("deploy/grafana/provisioning").rglob("*.yml"),
             rendered / "grafana-datasource.yml", rendered / "grafana-dashboards.yml",
             pathlib.Path("deploy/prometheus.yml"), rendered / "prometheus.yml"]:
    yaml.safe_load(path.read_text())
    print("yaml ok:", path)
for path in pathlib.Path("ansible/roles/grafana/files/dashboards").glob("*.json"):
    json.loads(path.read_text())
    print("json ok:", path)
EOF

step "Prometheus configuration and alert rules (promtool, when installed)"
if command -v promtool >/dev/null 2>&1; then
  promtool check rules ansible/roles/prometheus/files/spendlens-rules.yml
  # The configs name files by their path inside the container; check copies laid out that way.
  mkdir -p "$work/prom/secrets" "$work/prom/rules"
  cp ansible/roles/prometheus/files/spendlens-rules.yml "$work/prom/rules/"
  echo example-token > "$work/prom/secrets/spendlens-token"
  for config in deploy/prometheus.yml "$rendered/prometheus.yml"; do
    sed -e "s#/etc/prometheus/#$work/prom/#g" "$config" > "$work/prom/prometheus.yml"
    echo "-- $config"
    promtool check config "$work/prom/prometheus.yml"
  done
  # The dashboard's queries as recording rules, so that promtool parses every PromQL
  # expression (Grafana's $__rate_interval and $__range replaced by fixed windows).
  python3 - ansible/roles/grafana/files/dashboards/spendlens.json > "$work/dashboard-rules.yml" <<'EOF'
import json, sys
dashboard = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
rules = [
    {"record": f"dashboard:query_{i}",
     "expr": e.replace("$__rate_interval", "5m").replace("$__range", "1h")}
    for i, e in enumerate(exprs)
]
json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, sys.stdout)
EOF
  echo "-- the dashboard's queries"
  promtool check rules "$work/dashboard-rules.yml"
else
  echo "(promtool not installed: skipped; apt-get install prometheus provides it)"
fi

step "GitHub workflows against SchemaStore's schema (and every job has a timeout)"
check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
check-jsonschema --builtin-schema custom.github-workflows-require-timeout .github/workflows/*.yml

step "All deployment-file checks passed"

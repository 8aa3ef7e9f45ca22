"""The deployment files say what they must: parsed and asserted, no Docker or AWS needed.

Dockerfile, .dockerignore, docker-compose.yml, the Ansible monitoring roles (Prometheus config,
alert rules, Grafana provisioning and dashboard) and the GitHub Actions workflows. The linters
(hadolint, ansible-lint, the JSON schemas, promtool) run in scripts/check_deploy_files.sh; these
tests pin the decisions the linters cannot see: who the container runs as, what it probes,
what runs before what, which metrics the dashboard shows.
"""

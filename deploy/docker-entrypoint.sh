#!/bin/sh
# Container entrypoint for every Spendlens process (web, worker, migrate).
#
# prometheus_client's multiprocess mode keeps one file per process in PROMETHEUS_MULTIPROC_DIR
# and sums them at scrape time. Files left by a previous run of this container (docker restart
# keeps the filesystem) would be summed too, so the directory is emptied before anything starts.
# mkdir -p because on ECS, with a read-only root file system, /tmp is an empty volume.
# Then `exec` replaces this shell: the command is PID 1 and gets SIGTERM directly.
set -eu

if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -delete
fi

exec "$@"

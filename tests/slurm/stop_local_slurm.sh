#!/usr/bin/env bash
# Stops what tests/slurm/start_local_slurm.sh started: slurmd, slurmctld, munged.
# Cancels the test cluster's jobs first. Safe to rerun; leaves packages, key and config.
set -euo pipefail

RUN_DIR=/run/slurm
log() { echo "[local-slurm] $*"; }

stop_pidfile() {
  local name=$1 pidfile=$2
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    local pid
    pid=$(cat "$pidfile")
    log "stopping $name (pid $pid)"
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$pidfile"
}

if command -v scancel >/dev/null 2>&1 && scontrol ping 2>/dev/null | grep -q 'is UP'; then
  scancel --full --quiet --partition=main 2>/dev/null || true
fi
stop_pidfile slurmd "$RUN_DIR/slurmd.pid"
stop_pidfile slurmctld "$RUN_DIR/slurmctld.pid"
stop_pidfile munged /run/munge/munged.pid
log "stopped"

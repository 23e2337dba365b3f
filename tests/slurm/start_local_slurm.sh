#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, to test the `slurm` profile for real.
#
# Installs Debian's slurm-wlm and munge when they are missing, writes /etc/slurm/slurm.conf
# for a single node (this host, all its CPUs, its memory less some headroom), creates the
# munge key and starts munged, slurmctld and slurmd as plain background daemons (no systemd,
# no cgroups: containers rarely have either). Waits until `sinfo` shows the node idle.
#
# Safe to rerun: packages, key and config are only written when missing or different, and
# running daemons are left alone unless the config changed. Needs root.
# Stop it again with tests/slurm/stop_local_slurm.sh.
#
# Environment (all optional):
#   SLURM_HEADROOM_MB  memory kept back from the node for the OS and Snakemake itself (2048)
#   SLURM_WAIT_SECONDS how long to wait for the node to come up (90)
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "start_local_slurm.sh: must run as root (it installs packages and starts daemons)" >&2
  exit 1
fi

HEADROOM_MB=${SLURM_HEADROOM_MB:-2048}
WAIT_SECONDS=${SLURM_WAIT_SECONDS:-90}
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
LOG_DIR=/var/log/slurm
STATE_DIR=/var/spool/slurmctld
SPOOL_DIR=/var/spool/slurmd
RUN_DIR=/run/slurm

log() { echo "[local-slurm] $*"; }

# --- 1. packages -------------------------------------------------------------------------
missing=()
for tool in munged slurmctld slurmd sinfo sbatch squeue; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  log "installing slurm-wlm and munge (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Debian's postinst scripts try to start the services through systemd/invoke-rc.d; in a
  # container that fails harmlessly or is refused by policy-rc.d. We start them ourselves.
  apt-get install -y -qq --no-install-recommends slurm-wlm slurm-client munge >/dev/null
fi

# --- 2. munge ----------------------------------------------------------------------------
install -d -o munge -g munge -m 0700 /etc/munge
install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [[ ! -s /etc/munge/munge.key ]]; then
  log "creating the munge key"
  if command -v mungekey >/dev/null 2>&1; then
    mungekey --create --keyfile=/etc/munge/munge.key --force
  else
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "starting munged"
  rm -f /run/munge/munge.socket.2.lock
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.2
  done
  munge -n | unmunge >/dev/null
fi

# --- 3. slurm.conf -----------------------------------------------------------------------
HOST=$(hostname -s)
# `slurmd -C` prints this machine's NodeName line (CPUs, sockets, cores, threads, memory).
# Keep its CPU topology and replace the memory with total minus headroom: slurmd drains a
# node that has less memory than its RealMemory says.
node_line=$(slurmd -C 2>/dev/null | grep '^NodeName=' | head -1 || true)
total_mb=$(free -m | awk '/^Mem:/ {print $2}')
real_mb=$((total_mb - HEADROOM_MB))
if ((real_mb < 1024)); then real_mb=$((total_mb * 3 / 4)); fi
if [[ -n $node_line ]]; then
  topology=$(tr ' ' '\n' <<<"$node_line" |
    grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=' | paste -sd' ')
else
  topology="CPUs=$(nproc)"
fi

mkdir -p "$CONF_DIR"
new_conf=$(mktemp)
cat >"$new_conf" <<EOF
# Written by tests/slurm/start_local_slurm.sh: a one-node test cluster on this host.
ClusterName=hazegov-local
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
SwitchType=switch/none
# No cgroups in a container: track processes through /proc and do no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# One partition, the whole node; CPUs and memory are both consumable, so a job's --mem is a
# real reservation and two jobs never share a core.
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
# No accounting database (slurmdbd): the executor plugin reads job states with squeue.
# MinJobAge keeps finished jobs visible to squeue long enough for that (the plugin wants
# at least three status-check intervals).
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
JobCompType=jobcomp/none
MinJobAge=600
ReturnToService=2
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SPOOL_DIR
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldPort=6817
SlurmdPort=6818
NodeName=$HOST NodeAddr=127.0.0.1 $topology RealMemory=$real_mb State=UNKNOWN
PartitionName=main Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

changed=0
if [[ ! -f $CONF ]] || ! cmp -s "$new_conf" "$CONF"; then
  log "writing $CONF ($topology RealMemory=$real_mb)"
  install -m 0644 "$new_conf" "$CONF"
  changed=1
fi
rm -f "$new_conf"
# cgroup.conf is read by some plugins even when unused; an empty one silences the warning.
[[ -f $CONF_DIR/cgroup.conf ]] || echo "# not used: no cgroups here" >"$CONF_DIR/cgroup.conf"
mkdir -p "$LOG_DIR" "$STATE_DIR" "$SPOOL_DIR" "$RUN_DIR"

# --- 4. daemons --------------------------------------------------------------------------
running() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

if ((changed)); then
  for daemon in slurmd slurmctld; do
    if running "$RUN_DIR/$daemon.pid"; then
      log "config changed: stopping $daemon"
      kill "$(cat "$RUN_DIR/$daemon.pid")"
      for _ in $(seq 50); do running "$RUN_DIR/$daemon.pid" || break; sleep 0.2; done
    fi
  done
fi
if ! running "$RUN_DIR/slurmctld.pid"; then
  log "starting slurmctld"
  # -c: start from a clean state (no jobs or node states of an earlier run).
  slurmctld -c
fi
for _ in $(seq 50); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.2; done
if ! running "$RUN_DIR/slurmd.pid"; then
  log "starting slurmd"
  slurmd -N "$HOST"
fi

# --- 5. wait for the node ----------------------------------------------------------------
deadline=$((SECONDS + WAIT_SECONDS))
state=""
while ((SECONDS < deadline)); do
  state=$(sinfo -h -N -n "$HOST" -o '%T' 2>/dev/null | head -1 || true)
  case $state in
    idle | mixed | allocated | completing) break ;;
    down* | drain* | fail*)
      # A node left down by an earlier run: resume it (ReturnToService covers most cases).
      scontrol update NodeName="$HOST" State=RESUME 2>/dev/null || true ;;
  esac
  sleep 1
done
case $state in
  idle | mixed | allocated | completing) ;;
  *)
    echo "start_local_slurm.sh: node $HOST is '${state:-unknown}' after ${WAIT_SECONDS}s" >&2
    tail -n 20 "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" >&2 || true
    exit 1 ;;
esac
log "cluster up: $(sinfo -h -o '%P %D nodes, %c CPUs/node, %m MB/node, %T')"

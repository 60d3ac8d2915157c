#!/usr/bin/env bash
# Start a private single-node SLURM (munged + slurmctld + slurmd) as root, on loopback, with every
# file (config, state, spool, logs, pid files, munge socket and key) under one directory.
#
#   tests/slurm/start.sh DIR [CPUS]      -> prints "SLURM_CONF=DIR/etc/slurm.conf" on success
#   tests/slurm/stop.sh DIR              -> stops exactly the daemons started here (pid files)
#
# Every client call (sbatch, squeue, scontrol, srun, ...) needs SLURM_CONF=DIR/etc/slurm.conf.
# CPUS (default 4) is what the node claims (SlurmdParameters=config_overrides lets it exceed the
# real core count, so two 2-rank runs can share a 2-core machine). Ports are picked free at start,
# so several of these clusters (e.g. CI and a developer) can run side by side.
# Needs: Debian packages slurm-wlm (slurmctld, slurmd, slurm-client) and munge.
set -euo pipefail

DIR=${1:?usage: start.sh DIR [CPUS]}
CPUS=${2:-4}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

fail() { echo "start.sh: $*" >&2; exit 1; }
for exe in munged slurmctld slurmd sinfo; do
  command -v "$exe" >/dev/null || fail "$exe not found: apt-get install -y slurm-wlm munge"
done
[ "$(id -u)" = 0 ] || fail "must run as root (SlurmUser=root, slurmd needs root)"
for pidf in "$DIR"/run/*.pid; do
  [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null && fail "already running ($pidf); stop.sh $DIR first"
done

mkdir -p "$DIR"/{etc,state,spool,log,run,munge}
chmod 0755 "$DIR" "$DIR/munge"          # munged refuses a socket dir that is writable by others
rm -f "$DIR"/run/*.pid "$DIR"/munge/munge.socket.2*

# --- munge: own key, socket, pid, log ----------------------------------------------------------
KEY="$DIR/etc/munge.key"
if [ ! -s "$KEY" ]; then
  dd if=/dev/urandom of="$KEY" bs=1 count=1024 status=none
fi
chmod 0400 "$KEY"
SOCK="$DIR/munge/munge.socket.2"
munged --force --socket="$SOCK" --key-file="$KEY" --pid-file="$DIR/run/munged.pid" \
  --log-file="$DIR/log/munged.log" --seed-file="$DIR/state/munged.seed" \
  || fail "munged did not start; see $DIR/log/munged.log"
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || fail "munge socket $SOCK did not appear; see $DIR/log/munged.log"

# --- free ports ----------------------------------------------------------------------------------
read -r CTLD_PORT SLURMD_PORT < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
PY
)

HOST=$(hostname -s)
# Job ids start at a random number, never at 1: MPICH names its shared-memory segment after the
# PMI key space (job id + step id), and a segment left in /dev/shm by a killed job of an earlier
# test cluster with the same job id makes MPI_Init of a new job fail in UCX ("failed to unpack
# address, invalid bandwidth 0.00"). Real clusters never reuse job ids; a restarted test cluster did.
FIRST_JOB_ID=$(( ( (RANDOM << 15) | RANDOM ) % 50000000 + 1000 ))
MEM_MB=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)
CONF="$DIR/etc/slurm.conf"
cat > "$CONF" <<CONF
# written by tests/slurm/start.sh: a private single-node test cluster
ClusterName=dealloytest$$
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK,cred_expire=10
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/slurmd-%n
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=pmi2
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
ReturnToService=2
KillWait=10
MinJobAge=600
InactiveLimit=0
MessageTimeout=10
SlurmctldTimeout=30
SlurmdTimeout=60
MaxArraySize=10001
FirstJobId=$FIRST_JOB_ID
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
export SLURM_CONF="$CONF"

slurmctld -c -f "$CONF" || fail "slurmctld did not start; see $DIR/log/slurmctld.log"
slurmd -f "$CONF" || fail "slurmd did not start; see $DIR/log/slurmd.log"

# wait until the node takes jobs
for _ in $(seq 300); do
  state=$(sinfo -h -N -o %t 2>/dev/null | head -1 || true)
  case "$state" in idle|mix|alloc) echo "SLURM_CONF=$CONF"; exit 0 ;; esac
  sleep 0.1
done
fail "node never became idle (state: '${state:-none}'); see $DIR/log/slurmctld.log and slurmd.log"

#!/usr/bin/env bash
# Stop the daemons that tests/slurm/start.sh DIR started, by their pid files only (never by name).
#   tests/slurm/stop.sh DIR
set -uo pipefail
DIR=${1:?usage: stop.sh DIR}
[ -d "$DIR/run" ] || exit 0
if [ -f "$DIR/etc/slurm.conf" ]; then
  # cancel what is left so slurmd's job processes go with it
  SLURM_CONF="$DIR/etc/slurm.conf" timeout 10 scancel --full --quiet -u "$(id -un)" 2>/dev/null || true
fi
for name in slurmd slurmctld munged; do
  pidf="$DIR/run/$name.pid"
  [ -f "$pidf" ] || continue
  pid=$(cat "$pidf")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$pidf"
done
exit 0

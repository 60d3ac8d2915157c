#!/bin/bash
# item-4 cost: each mode's first 3 ps of extraction on the 5 nm c-Li15Si4 particle, 1 rank
. /work/venv/bin/activate; export PYTHONPATH=/work/wt/echem OMP_NUM_THREADS=1
cd /work/state/echem/timing
for m in geometric galvanostatic potentiostatic; do
  /usr/bin/time -f "$m %e s wall %U s user" python -m dealloy.cli run $m.toml -o $m -q --overwrite
done

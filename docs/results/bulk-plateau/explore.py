"""Energy-balance voltage of a galvanostatic c-Li15Si4 cell (1 conventional cell, 0 bar) with Si-mobility options."""
import json, sys, time
from pathlib import Path
import ase.io
import mpi4py.MPI  # noqa
from dealloy.build.crystal import li15si4_cell
from dealloy.engine.run import run
from dealloy.rundir import RunDir
from dealloy.analysis.voltage import write_voltage_outputs, known_c_to_a_voltage_v

name = sys.argv[1]; extra = sys.argv[2] if len(sys.argv) > 2 else ""
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 2
cells = int(sys.argv[4]) if len(sys.argv) > 4 else 1
interval = sys.argv[5] if len(sys.argv) > 5 else "0.2"
here = Path(".").resolve()
p = here / f"c{cells}.extxyz"
if not p.exists():
    ase.io.write(p, li15si4_cell().repeat(cells))
body = f"""seed = {seed}
potential = "meam-godet2020"
dump_interval_ps = 0
thermo_interval_ps = 0.1
checkpoint_ps = 100.0
pressure_bar = 0.0
[particle]
file = "{p}"
[[stages]]
type = "minimize"
[[stages]]
type = "galvanostatic"
accessible = "all"
interval_ps = {interval}
x_final = 1.1
{extra}
"""
cfg = here / f"{name}.toml"; cfg.write_text(body)
t0 = time.time()
res = run(cfg, quiet=True)
s = write_voltage_outputs(RunDir(here / name).path)
out = {k: s.get(k) for k in ("dqdv_peak_v", "median_removal_voltage_v", "energy_balance_voltage_v", "n_moves")}
out.update(name=name, extra=extra, seed=seed, cells=cells, interval_ps=float(interval), wall_s=round(time.time() - t0, 1), x_end=res.x_end, c_to_a=known_c_to_a_voltage_v("meam-godet2020"))
print(json.dumps(out))
with open(here / "results.jsonl", "a") as fh: fh.write(json.dumps(out) + "\n")

"""Engine benchmark: `dealloy run` MD throughput vs LAMMPS' own `lmp`, removal bookkeeping share,
2-rank speedup, all on one >= 10k-atom c-Li15Si4 particle (MEAM Cui 2012), in one invocation.

    python benchmarks/bench_engine.py [--radius 34] [--steps 300] [--extract-steps 1500] [--out DIR]

1. throughput: a `hold` stage of STEPS steps via `dealloy run` (stage wall time from run.json)
   vs `lmp -in` on the same particle (read_data), same potential, thermostat (Langevin + nve +
   momentum), neighbour settings, thermo and dump intervals, same ranks (LAMMPS' "Loop time").
   Measured on 1 and 2 ranks, interleaved to share background load.
2. bookkeeping: an `extract` stage (surface selector, default interval 0.5 ps, batch 10) on 2
   ranks; share = time in removal bookkeeping (gather, choose, delete) / stage wall time.
3. speedup: `dealloy run` stage throughput on 2 ranks / on 1 rank.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ase.io

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dealloy.engine.particles import li15si4_sphere  # noqa: E402
from dealloy.lammps.potentials import get_potential  # noqa: E402

DEALLOY = [sys.executable, "-m", "dealloy.cli"]


def write_config(path: Path, particle: Path, stages: str, dump_ps: float) -> Path:
    path.write_text(f"""seed = 1
dump_interval_ps = {dump_ps}
thermo_interval_ps = 0.1
checkpoint_ps = 1000.0
[particle]
file = "{particle}"
{stages}""")
    return path


def dealloy_run(cfg: Path, out: Path, ranks: int) -> dict:
    launch = ["mpiexec", "-n", str(ranks)] if ranks > 1 else []
    t = time.time()
    subprocess.run(launch + DEALLOY + ["run", str(cfg), "-o", str(out), "-q", "--overwrite"],
                   check=True)
    info = json.loads((out / "run.json").read_text())
    info["process_wall_s"] = time.time() - t
    return info


def lmp_input(data: Path, steps: int, dump_every: int, dump: Path) -> str:
    pot = get_potential("meam-cui2012")
    pair = "\n".join(pot.pair_commands())
    return f"""units metal
atom_style atomic
atom_modify map yes
boundary m m m
read_data {data}
{pair}
neighbor 2.0 bin
neigh_modify every 1 delay 0 check yes
thermo_style custom step time temp pe ke etotal press vol atoms
thermo_modify lost error flush yes norm no
timestep 0.001
velocity all create 300 2 mom yes rot yes dist gaussian
fix nve all nve
fix th all langevin 300 300 0.1 12345 zero yes
fix mom all momentum 100 linear 1 1 1 angular
thermo 100
dump d all custom/gz {dump_every} {dump} id element x y z
dump_modify d element Li Si sort id first yes
run {steps}
"""


def lmp_run(inp: Path, ranks: int) -> float:
    lmp = shutil.which("lmp")
    launch = ["mpiexec", "-n", str(ranks)] if ranks > 1 else []
    out = subprocess.run(launch + [lmp, "-in", str(inp), "-log", str(inp) + ".log", "-screen",
                                   "none", "-nocite"], check=True, capture_output=True, text=True)
    log = Path(str(inp) + ".log").read_text()
    m = re.search(r"Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps", log)
    if not m:
        raise RuntimeError(f"no Loop time in lmp log:\n{out.stdout[-2000:]}")
    return float(m.group(1))


def stage_wall(info: dict, kind: str) -> dict:
    return next(s for s in info["stages"] if s["type"] == kind)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--radius", type=float, default=34.0, help="particle radius, A")
    ap.add_argument("--steps", type=int, default=300, help="MD steps per throughput run")
    ap.add_argument("--extract-steps", type=int, default=1500,
                    help="steps of the bookkeeping run (3 batches at the default 0.5 ps)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_engine_"))
    out.mkdir(parents=True, exist_ok=True)
    atoms = li15si4_sphere(args.radius)
    n = len(atoms)
    particle = out / "particle.extxyz"
    ase.io.write(particle, atoms)
    data = out / "particle.data"
    ase.io.write(data, atoms, format="lammps-data", specorder=["Li", "Si"], masses=True,
                 atom_style="atomic")
    print(f"particle: {n} atoms ({atoms.get_chemical_symbols().count('Li')} Li), "
          f"steps {args.steps}, output {out}", flush=True)
    dump_ps = 0.1  # a frame every 100 steps in both codes
    hold = write_config(out / "hold.toml", particle,
                        f'[[stages]]\ntype = "hold"\ntime_ps = {args.steps / 1000}\n', dump_ps)
    res = {"atoms": n, "steps": args.steps}
    for ranks in (1, 2):
        info = dealloy_run(hold, out / f"hold{ranks}", ranks)
        t_dealloy = stage_wall(info, "hold")["wall_s"]
        inp = out / f"in{ranks}.lmp"
        inp.write_text(lmp_input(data, args.steps, 100, out / f"lmp{ranks}.lammpstrj.gz"))
        t_lmp = lmp_run(inp, ranks)
        res[f"dealloy_{ranks}rank_katom_step_s"] = n * args.steps / t_dealloy / 1e3
        res[f"lmp_{ranks}rank_katom_step_s"] = n * args.steps / t_lmp / 1e3
        res[f"ratio_{ranks}rank"] = t_lmp / t_dealloy
        print(f"{ranks} rank(s): dealloy {res[f'dealloy_{ranks}rank_katom_step_s']:.1f}, lmp "
              f"{res[f'lmp_{ranks}rank_katom_step_s']:.1f} katom-step/s -> ratio "
              f"{res[f'ratio_{ranks}rank']:.3f}", flush=True)
    res["speedup_2rank"] = res["dealloy_2rank_katom_step_s"] / res["dealloy_1rank_katom_step_s"]
    res["lmp_speedup_2rank"] = res["lmp_2rank_katom_step_s"] / res["lmp_1rank_katom_step_s"]
    print(f"2-rank speedup: dealloy {res['speedup_2rank']:.2f}x (lmp "
          f"{res['lmp_speedup_2rank']:.2f}x)", flush=True)
    ext = write_config(out / "extract.toml", particle,
                       '[[stages]]\ntype = "extract"\nx_final = 0.0\n'
                       f"max_time_ps = {args.extract_steps / 1000}\n", 1.0)
    info = dealloy_run(ext, out / "extract2", 2)
    st = stage_wall(info, "extract")
    res["extract_batches"] = st["batches"]
    res["extract_removed"] = info["n_removed"]
    res["bookkeeping_s"] = st["bookkeeping_s"]
    res["extract_stage_s"] = st["wall_s"]
    res["bookkeeping_share"] = st["bookkeeping_s"] / st["wall_s"]
    print(f"bookkeeping: {st['bookkeeping_s']:.3f} s of {st['wall_s']:.1f} s "
          f"({100 * res['bookkeeping_share']:.2f} %) for {st['batches']} batches "
          f"({info['n_removed']} Li)", flush=True)
    (out / "bench_engine.json").write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()

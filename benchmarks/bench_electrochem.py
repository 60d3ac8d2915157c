"""Electrochemical extraction benchmark: what the MC / selection bookkeeping of the potentiostatic
and galvanostatic stages costs against plain MD of the same particle, in one invocation.

    python benchmarks/bench_electrochem.py [--radius 14] [--time-ps 5] [--ranks 1] [--out DIR]
    python benchmarks/bench_electrochem.py --radius 25 --time-ps 1.5 --batch 10 \
        --only hold,galvanostatic --minimize-maxiter 100   # the item-4 rate on a 5 nm particle

Three `dealloy run`s of the same c-Li15Si4 sphere (meam-godet2020, 300 K, Langevin), each
minimise + one stage of TIME ps, interleaved so they share the machine's background load:

1. ``hold``: plain MD (the baseline);
2. ``potentiostatic`` at 0.45 V with the default settings (interval 0.5 ps, 20 attempts per
   interval, surface-accessible Li, no re-insertion);
3. ``galvanostatic`` with the default settings (1 Li per 0.5 ps, every accessible Li evaluated).

For 2 and 3: bookkeeping share = the stage's ``bookkeeping_s`` (gather, accessibility grid,
single-point energies, deletions/re-creations, events) / the stage's wall time, and the stage wall
time relative to the hold's. Target (issue 15): bookkeeping <= 20 % of wall time at the default
settings.

``--batch N`` runs the galvanostatic stage at N Li per ``interval_ps`` (0.5 ps) instead of the
default 1: with ``--radius 25`` (a 5 nm particle, ~4100 atoms) and ``--batch 10`` the rate of the
item-4 studies (workflows/echem-comparison.toml). ``--only`` picks stages (the hold always runs:
it is the baseline). The table also gives each stage's wall seconds per simulated ps.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ase.io

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dealloy.engine.particles import li15si4_sphere  # noqa: E402

DEALLOY = [sys.executable, "-m", "dealloy.cli"]

STAGES = {
    "hold": 'type = "hold"\ntime_ps = {t}',
    "potentiostatic": 'type = "potentiostatic"\nvoltage_v = 0.45\ntime_ps = {t}',
    "galvanostatic": 'type = "galvanostatic"\nmax_time_ps = {t}\nx_final = 0.0{extra}',
}


def run_one(kind: str, particle: Path, t_ps: float, out: Path, ranks: int,
            batch: int | None = None, maxiter: int = 2000) -> dict:
    cfg = out.with_suffix(".toml")
    extra = f"\nbatch = {batch}\ninterval_ps = 0.5" if batch else ""
    cfg.write_text(f"""potential = "meam-godet2020"
seed = 1
dump_interval_ps = 0
thermo_interval_ps = 0.1
checkpoint_ps = 1000.0
[particle]
file = "{particle}"
[[stages]]
type = "minimize"
maxiter = {maxiter}
[[stages]]
{STAGES[kind].format(t=t_ps, extra=extra)}
""")
    launch = ["mpiexec", "-n", str(ranks)] if ranks > 1 else []
    t = time.time()
    subprocess.run(launch + DEALLOY + ["run", str(cfg), "-o", str(out), "-q", "--overwrite"],
                   check=True)
    info = json.loads((out / "run.json").read_text())
    st = info["stages"][1]
    return {"kind": kind, "stage_wall_s": st["wall_s"], "bookkeeping_s": st.get("bookkeeping_s", 0.0),
            "evaluations": st.get("evaluations", 0), "moves": st.get("moves"),
            "n_removed": info["n_removed"], "process_wall_s": round(time.time() - t, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--radius", type=float, default=14.0, help="particle radius (Å)")
    ap.add_argument("--time-ps", type=float, default=5.0)
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--batch", type=int, default=None,
                    help="galvanostatic Li per 0.5 ps interval (default: the stage's default, 1)")
    ap.add_argument("--minimize-maxiter", type=int, default=2000,
                    help="iterations of the minimisation before each stage (2000: the default)")
    ap.add_argument("--only", default=",".join(STAGES),
                    help="comma-separated stages to run besides the hold")
    a = ap.parse_args()
    kinds = ["hold"] + [k for k in STAGES if k != "hold" and k in a.only.split(",")]
    work = a.out or Path(tempfile.mkdtemp(prefix="bench-electrochem-"))
    work.mkdir(parents=True, exist_ok=True)
    particle = work / "particle.extxyz"
    atoms = li15si4_sphere(a.radius)
    ase.io.write(particle, atoms)
    res = {k: run_one(k, particle, a.time_ps, work / k, a.ranks, a.batch, a.minimize_maxiter)
           for k in kinds}
    base = res["hold"]["stage_wall_s"]
    print(f"particle: {len(atoms)} atoms (R = {a.radius} Å), {a.time_ps} ps per stage, "
          f"{a.ranks} rank(s), work dir {work}")
    print(f"{'stage':<15} {'wall s':>8} {'s/ps':>7} {'/ hold':>7} {'bookkeeping s':>14} "
          f"{'share':>6} {'single points':>14} {'removed':>8}")
    for k, r in res.items():
        share = r["bookkeeping_s"] / r["stage_wall_s"] if r["stage_wall_s"] else float("nan")
        r["wall_over_hold"] = r["stage_wall_s"] / base
        r["bookkeeping_share"] = share
        r["wall_s_per_ps"] = r["stage_wall_s"] / a.time_ps
        print(f"{k:<15} {r['stage_wall_s']:>8.1f} {r['wall_s_per_ps']:>7.1f} "
              f"{r['wall_over_hold']:>7.2f} "
              f"{r['bookkeeping_s']:>14.1f} {share:>6.1%} {r['evaluations']:>14d} "
              f"{r['n_removed']:>8d}")
    (work / "bench_electrochem.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

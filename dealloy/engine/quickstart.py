"""``dealloy quickstart``: the README's main job, in one command and a few minutes.

Builds a ~4 nm single-crystal c-Li15Si4 particle and an a-Li15Si4 particle of the same size
(fast melt-quench), extracts the Li from both at the same rate with the default potential and the
default (surface) selector, and prints a side-by-side summary of the dealloyed particles
(Si-Si coordination, share of Si in the largest Si cluster, porosity) from ``dealloy.analysis``.
Everything goes into one folder: ``<out>/c-Li15Si4/`` and ``<out>/a-Li15Si4/`` (ordinary run
directories) and ``<out>/summary.json`` / ``summary.md``.

Without an MPI launcher around it, it relaunches itself under ``mpiexec -n <cores>`` so it uses
every core (``--ranks 1`` to stay serial).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

_LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS",
                  "HYDI_CONTROL_FD", "SLURM_STEP_ID")
_CHILD = "DEALLOY_QUICKSTART_CHILD"

DIAMETER_NM = 4.0
SEED = 0

# the shared protocol: same rate for both particles (fraction of the starting Li per ns)
STAGES = [
    {"type": "minimize", "maxiter": 200},
    {"type": "equilibrate", "time_ps": 1.0},
    {"type": "extract", "selector": "surface", "x_final": 0.0, "interval_ps": 0.25,
     "rate_fraction_per_ns": 100.0, "max_time_ps": 12.0, "patience_intervals": 8},
    {"type": "hold", "time_ps": 1.0},
]

PARTICLES = {
    "c-Li15Si4": {"builder": "li15si4_particle",
                  "args": {"diameter_nm": DIAMETER_NM, "seed": SEED, "vacuum_nm": 1.5}},
    "a-Li15Si4": {"builder": "amorphous_lisi_particle",
                  "args": {"diameter_nm": DIAMETER_NM, "x": 3.75, "seed": SEED,
                           "protocol": "fast", "bulk_n_si": 64, "vacuum_nm": 1.5}},
}


def under_mpi_launcher() -> bool:
    return any(v in os.environ for v in _LAUNCHER_VARS)


def run_config(name: str) -> dict:
    return {"seed": SEED, "temperature_k": 300.0, "dump_interval_ps": 1.0,
            "thermo_interval_ps": 0.1, "checkpoint_ps": 5.0,
            "particle": PARTICLES[name], "stages": STAGES}


def quickstart(out_dir, ranks: int | None = None, quiet: bool = False,
               overwrite: bool = False) -> dict | None:
    out_dir = Path(out_dir).resolve()
    if not under_mpi_launcher() and os.environ.get(_CHILD) != "1":
        n = ranks if ranks else min(os.cpu_count() or 1, 8)
        mpiexec = shutil.which("mpiexec")
        if n > 1 and mpiexec:
            cmd = [mpiexec, "-n", str(n), sys.executable, "-m", "dealloy.cli", "quickstart",
                   "-o", str(out_dir), "--ranks", str(n)] + (["-q"] if quiet else []) \
                + (["--overwrite"] if overwrite else [])
            if not quiet:
                print(f"dealloy quickstart: running on {n} ranks: {' '.join(cmd)}",
                      file=sys.stderr, flush=True)
            rc = subprocess.call(cmd, env={**os.environ, _CHILD: "1"})
            if rc:
                sys.exit(rc)
            return json.loads((out_dir / "summary.json").read_text())
    return _quickstart(out_dir, quiet, overwrite)


def _quickstart(out_dir: Path, quiet: bool, overwrite: bool = False) -> dict:
    from dealloy.config.run import parse_run_config
    from dealloy.engine.progress import Progress
    from dealloy.engine.run import run
    from dealloy.io import mpi_comm, write_json, write_text

    comm = mpi_comm()
    rank0 = comm.Get_rank() == 0
    say = (lambda m: print(f"dealloy quickstart: {m}", file=sys.stderr, flush=True)) \
        if rank0 and not quiet else (lambda m: None)
    t0 = time.time()
    results = {}
    for name in PARTICLES:
        cfg = parse_run_config(run_config(name), source=f"quickstart {name}")
        say(f"{name}: building the particle and running (minimize, equilibrate "
            f"{STAGES[1]['time_ps']} ps, extract with the surface selector at "
            f"{STAGES[2]['rate_fraction_per_ns']:g} x the initial Li per ns, hold "
            f"{STAGES[3]['time_ps']} ps) ...")
        progress = Progress() if rank0 and not quiet else None
        t = time.time()
        res = run(cfg, run_dir=out_dir / name, resume=not overwrite, overwrite=overwrite,
                  quiet=quiet, comm=comm, progress=progress)
        if progress is not None:
            progress.close()
        res["quickstart_wall_s"] = time.time() - t
        results[name] = res
        if res.get("status") == "checkpointed":
            from dealloy.engine.run import EXIT_CHECKPOINTED

            say("stopped by a signal after a checkpoint; run the same command again to continue")
            sys.exit(EXIT_CHECKPOINTED)
    summary = None
    if rank0:
        say("analysing the dealloyed particles ...")
        summary = _summarise(out_dir, results)
        summary["wall_time_s"] = round(time.time() - t0, 1)
        summary["ranks"] = comm.Get_size()
    summary = comm.bcast(summary, root=0)
    write_json(out_dir / "summary.json", summary, comm, collective=True)
    md = _table(summary)
    write_text(out_dir / "summary.md", md, comm, collective=True)
    if rank0:
        print(md)
    return summary


def _summarise(out_dir: Path, results: dict) -> dict:
    from dealloy.io import read_structure  # rank 0 only: no hidden ASE broadcast

    rows = {}
    for name, res in results.items():
        row = {"atoms_start": res["li_start"] + res["si_start"], "n_si": res["si_end"],
               "x_start": res["x_start"], "x_end": res["x_end"], "li_removed": res["n_removed"],
               "time_ps": res["time_ps"], "status": res["status"],
               "stop": next((s.get("stop_reason") for s in res["stages"]
                             if s["type"] == "extract"), None)}
        final = out_dir / name / "final.extxyz"
        try:
            from dealloy.analysis import analyze_frame

            m = analyze_frame(read_structure(final))
            row.update(si_si_cn=m.get("si_si_coordination_mean"),
                       largest_si_cluster=m.get("largest_si_cluster_fraction"),
                       porosity=m.get("porosity"))
        except ImportError:  # analysis not installed: Si-Si CN and clusters by hand
            row.update(_basic_metrics(read_structure(final)))
        rows[name] = row
    return {"diameter_nm": DIAMETER_NM, "protocol": STAGES, "particles": rows}


def _basic_metrics(atoms) -> dict:
    import numpy as np
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    si = atoms.positions[np.array(atoms.get_chemical_symbols()) == "Si"]
    pairs = cKDTree(si).query_pairs(2.9, output_type="ndarray")
    cn = np.bincount(pairs.ravel(), minlength=len(si))
    from scipy.sparse import coo_matrix

    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(si),) * 2)
    _, lab = connected_components(g, directed=False)
    return {"si_si_cn": float(cn.mean()), "largest_si_cluster": float(np.bincount(lab).max() / len(si)),
            "porosity": None}


def _fmt(v, spec=".3f"):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def _table(summary: dict) -> str:
    names = list(summary["particles"])
    keys = [("atoms at start", "atoms_start", "d"), ("Si atoms", "n_si", "d"),
            ("Li/Si start", "x_start", ".3f"), ("Li/Si end", "x_end", ".3f"),
            ("Li removed", "li_removed", "d"), ("simulated ps", "time_ps", ".1f"),
            ("Si-Si coordination", "si_si_cn", ".2f"),
            ("Si in largest Si cluster", "largest_si_cluster", ".3f"),
            ("porosity", "porosity", ".3f"), ("extraction stopped", "stop", "s")]
    lines = [f"# dealloy quickstart: {summary['diameter_nm']} nm particles, same extraction rate",
             "", "| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, k, spec in keys:
        vals = []
        for n in names:
            v = summary["particles"][n].get(k)
            vals.append(_fmt(v, spec) if not isinstance(v, int) or spec == "d" else str(v))
        lines.append(f"| {label} | " + " | ".join(vals) + " |")
    lines += ["", f"{summary.get('ranks', 1)} MPI rank(s), {summary.get('wall_time_s', 0):.0f} s "
              "wall. Run directories beside this file; see docs/engine.md for what the rate "
              "means against experimental C-rates."]
    return "\n".join(lines) + "\n"

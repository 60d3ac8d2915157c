"""``dealloy quickstart``: the README's main job, in one command and a few minutes.

Builds a ~4 nm single-crystal c-Li15Si4 particle and an a-Li15Si4 particle of the same size
(fast melt-quench), extracts the Li from both at the same rate with the default potential and the
default (surface) selector, and prints a side-by-side summary of the dealloyed particles
(Si-Si coordination, share of Si in the largest Si cluster, porosity) from ``dealloy.analysis``,
saying what the comparison shows and what it cannot (size, rate, potential). It ends with the
c-vs-a report of the folder (``dealloy report <out>``: the paper's observables beside these two
runs, cluster classes and porosity vs Li/Si per path, virtual HAADF side by side) and prints the
path to open. Everything goes into one folder: ``<out>/c-Li15Si4/`` and ``<out>/a-Li15Si4/``
(ordinary run directories, each analysed into ``analysis/``), ``<out>/summary.json`` /
``summary.md``, ``<out>/figures/`` and ``<out>/report.html`` / ``report.md``.

Why a folder of runs and not a study: the two runs are one MPI job in sequence, named by what
they are (``c-Li15Si4``, ``a-Li15Si4``) rather than by a config hash, and ``dealloy report``
reads any folder of run directories (:func:`dealloy.report.data.run_dirs_in`) -- the same
report a user gets for their own runs collected in one folder.

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

import click

from dealloy.analysis.run import note_key
from dealloy.analysis.structure import SiNetwork
from dealloy.config.run import parse_run_config
from dealloy.engine.run import EXIT_CHECKPOINTED, run
from dealloy.io import mpi_comm, read_structure, write_json, write_text
from dealloy.progress import Progress
from dealloy.report import build_report
from dealloy.rundir import RunDir
from dealloy.study.collect import final_metrics

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
    """Tell whether this process was started by an MPI launcher (mpiexec, srun), from its environment."""
    return any(v in os.environ for v in _LAUNCHER_VARS)


#: what the quickstart shows and what it cannot; printed after its table and kept in summary.md
CAVEAT = """\
What this shows: the paper's two routes side by side -- crystalline vs amorphous Li15Si4 dealloyed
under identical conditions (same size, rate, selector, potential) -- and the whole pipeline
(build -> LAMMPS -> analysis -> report) working on this machine.
What it cannot show: the paper's result. The particles are {diameter_nm:g} nm ({atoms}
atoms; the paper's framework has 3-4 nm pores, which do not fit in them), the rate is
{rate:g} x the initial Li per ns (nominally {c_rate:.0e} C; relative to Li diffusion across the
particle {fast_lo:.0e}-{fast_hi:.0e} x faster than the experiment, docs/engine.md "Rates"; at
this rate both particles end as compact Si), the a-Li15Si4 is a fast melt-quench (2e14 K/s, under-relaxed
glass) and the potential ({potential}) has known errors on a-LixSi (potentials/README.md).
A low porosity here is therefore no contradiction of the paper's ~48 %.
The real comparison: docs/results/first-result/ (5 nm, the default rate, standard melt-quench;
workflows/first-result.toml, ~7 core-hours) and the paper-scale studies workflows/paper-*.toml.
"""


def run_config(name: str, particles: dict | None = None, stages: list | None = None) -> dict:
    """Write the run config (as a dict) of one quickstart particle.

    Parameters
    ----------
    name : str
        Key of ``particles`` (``"c-Li15Si4"`` or ``"a-Li15Si4"`` by default).
    particles : dict, optional
        Name -> ``{"builder", "args"}``; default :data:`PARTICLES` (diameters in nm).
    stages : list of dict, optional
        The stages; default :data:`STAGES` (times in ps, rate as fraction of the initial Li per
        ns).

    Returns
    -------
    dict
        A run config for :func:`dealloy.config.run.parse_run_config` (300 K, seed 0, dumps every
        1 ps, thermo every 0.1 ps, checkpoints every 5 ps).

    Raises
    ------
    KeyError
        For a ``name`` not in ``particles``.
    """
    particles = PARTICLES if particles is None else particles
    return {"seed": SEED, "temperature_k": 300.0, "dump_interval_ps": 1.0,
            "thermo_interval_ps": 0.1, "checkpoint_ps": 5.0,
            "particle": particles[name], "stages": STAGES if stages is None else stages}


def quickstart(out_dir, ranks: int | None = None, quiet: bool = False,
               overwrite: bool = False) -> dict | None:
    """Run the quickstart: both particles, their analysis, the summary and the c-vs-a report.

    Without an MPI launcher around it (and more than one rank wanted), relaunches itself under
    ``mpiexec -n ranks`` and reads the child's ``summary.json``.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output folder (run directories, ``summary.json``/``.md``, ``figures/``, ``report.*``).
    ranks : int, optional
        MPI ranks; default all cores (at most 8); 1 stays serial.
    quiet : bool
        No progress messages.
    overwrite : bool
        Start again instead of continuing interrupted runs and reusing finished ones.

    Returns
    -------
    dict or None
        The summary: ``particles`` (per particle: atoms, Li/Si start and end, Li removed,
        simulated ps, Si-Si CN, largest Si cluster fraction, porosity, why extraction stopped),
        ``protocol``, ``diameter_nm``, ``rate_fraction_per_ns``, ``potential``, wall times (s),
        ``ranks`` and ``report`` (paths).

    Raises
    ------
    SystemExit
        With the child's exit status when the relaunched run fails, or
        :data:`~dealloy.engine.run.EXIT_CHECKPOINTED` when a signal stopped a run after a
        checkpoint.
    ConfigError
        When a run config or ``out_dir`` is refused (see :func:`dealloy.engine.run.run`).
    """
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


def _quickstart(out_dir: Path, quiet: bool, overwrite: bool = False, particles: dict | None = None,
                stages: list | None = None) -> dict:
    """Run the quickstart in this process (all ranks of ``mpi_comm()``).

    ``particles``/``stages`` replace :data:`PARTICLES`/:data:`STAGES` (smaller systems for
    tests).

    Returns
    -------
    dict
        The summary (see :func:`quickstart`), on every rank.
    """
    particles = PARTICLES if particles is None else particles
    stages = STAGES if stages is None else stages
    comm = mpi_comm()
    rank0 = comm.Get_rank() == 0
    say = (lambda m: print(f"dealloy quickstart: {m}", file=sys.stderr, flush=True)) \
        if rank0 and not quiet else (lambda m: None)
    t0 = time.time()
    results = {}
    extract = next(s for s in stages if s["type"] == "extract")
    for name in particles:
        cfg = parse_run_config(run_config(name, particles, stages), source=f"quickstart {name}")
        say(f"{name}: building the particle and running ({', '.join(_stage_text(s) for s in stages)}) ...")
        progress = Progress() if rank0 and not quiet else None
        try:
            res = run(cfg, run_dir=out_dir / name, resume=not overwrite, overwrite=overwrite,
                      quiet=quiet, comm=comm, progress=progress)
        finally:
            if progress is not None:
                progress.close()
        results[name] = res
        if res.status == "checkpointed":
            say("stopped by a signal after a checkpoint; run the same command again to continue")
            sys.exit(EXIT_CHECKPOINTED)
    summary = None
    if rank0:
        t_an = time.time()
        say("analysing both runs (every frame) and writing the c-vs-a report ...")
        report = _report(out_dir, say)
        summary = _summarise(out_dir, results)
        summary["protocol"] = stages
        summary["diameter_nm"] = _diameter(particles)
        summary["rate_fraction_per_ns"] = extract.get("rate_fraction_per_ns")
        summary["potential"] = cfg.potential
        # the runs' own wall time (kept in run.json: a re-run that reuses finished runs does not
        # turn it into seconds) plus this invocation's analysis and report
        summary["runs_wall_time_s"] = round(sum(float(r.wall_time_s or 0.0)
                                                for r in results.values()), 1)
        summary["analysis_wall_time_s"] = round(time.time() - t_an, 1)
        summary["wall_time_s"] = round(summary["runs_wall_time_s"] + summary["analysis_wall_time_s"], 1)
        summary["this_invocation_s"] = round(time.time() - t0, 1)
        summary["ranks"] = comm.Get_size()
        summary["report"] = report
    summary = comm.bcast(summary, root=0)
    write_json(out_dir / "summary.json", summary, comm, collective=True)
    md = _table(summary)
    write_text(out_dir / "summary.md", md, comm, collective=True)
    if rank0:
        print(md)
        print(f"Open the report: {summary['report']['html']}\n(figures in "
              f"{out_dir / 'figures'}; again any time with `dealloy report {out_dir}`)")
    return summary


def _stage_text(stage: dict) -> str:
    t = stage["type"]
    if t == "minimize":
        return "minimise"
    if t == "extract":
        return (f"extract with the {stage.get('selector', 'surface')} selector at "
                f"{stage.get('rate_fraction_per_ns', 0):g} x the initial Li per ns"
                + (f" for at most {stage['max_time_ps']:g} ps" if stage.get("max_time_ps") else ""))
    return f"{t} {stage.get('time_ps', 0):g} ps"


def _diameter(particles: dict) -> float | None:
    ds = {p["args"].get("diameter_nm") for p in particles.values()}
    return ds.pop() if len(ds) == 1 else None


def _report(out_dir: Path, say) -> dict:
    """``dealloy report out_dir`` (analyses the runs first); {"html", "md"}."""
    said: set[str] = set()

    def echo(msg: str) -> None:  # each distinct note once, whichever run it came from
        if msg.startswith("note"):
            key = note_key(msg.split(" (in ")[0])
            if key in said:
                return
            said.add(key)
        if msg.startswith(("analysing", "note")):
            say(msg)

    html_path, md_path = build_report(out_dir, echo=echo)
    return {"html": str(html_path), "md": str(md_path)}


def _summarise(out_dir: Path, results: dict) -> dict:
    rows = {}
    for name, res in results.items():
        row = {"atoms_start": res.li_start + res.si_start, "n_si": res.si_end,
               "x_start": res.x_start, "x_end": res.x_end, "li_removed": res.n_removed,
               "time_ps": res.time_ps, "status": res.status,
               "wall_time_s": res.wall_time_s,
               "stop": next((s.stop_reason for s in res.stages if s.type == "extract"), None)}
        m = final_metrics(RunDir(out_dir / name))  # the last analysed frame of the report's analysis
        if m:
            row.update(si_si_cn=m.get("si_si_coordination_mean"),
                       largest_si_cluster=m.get("largest_si_cluster_fraction"),
                       porosity=m.get("porosity"))
        else:  # no analysed frame: the same Si network analysis on the final structure
            # (read on rank 0 only: no hidden ASE broadcast)
            net = SiNetwork().compute(read_structure(out_dir / name / "final.extxyz")).results
            row.update(si_si_cn=net["si_si_coordination_mean"],
                       largest_si_cluster=net["largest_si_cluster_fraction"], porosity=None)
        rows[name] = row
    return {"particles": rows}


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
    d = summary.get("diameter_nm")
    lines = [f"# dealloy quickstart: {f'{d:g} nm ' if d else ''}particles, same extraction rate",
             "", "| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, k, spec in keys:
        vals = []
        for n in names:
            v = summary["particles"][n].get(k)
            vals.append(_fmt(v, spec) if not isinstance(v, int) or spec == "d" else str(v))
        lines.append(f"| {label} | " + " | ".join(vals) + " |")
    atoms = sorted({p.get("atoms_start") for p in summary["particles"].values()
                    if isinstance(p.get("atoms_start"), int)})
    rate = summary.get("rate_fraction_per_ns") or 0
    caveat = CAVEAT.format(
        diameter_nm=d or 0, atoms="-".join(str(a) for a in atoms[::max(len(atoms) - 1, 1)]) or "?",
        rate=rate, c_rate=rate * 3.6e12, fast_lo=rate * 1e5, fast_hi=rate * 1e6,
        potential=summary.get("potential") or "?")
    wall = summary.get("wall_time_s", 0) or 0
    lines += ["", caveat,
              f"{summary.get('ranks', 1)} MPI rank(s), {wall:.0f} s wall "
              f"(runs {summary.get('runs_wall_time_s', wall) or 0:.0f} s as recorded in their "
              f"run.json, analysis and report {summary.get('analysis_wall_time_s', 0) or 0:.0f} s). "
              "Run directories beside this file; see docs/engine.md for what the rate means "
              "against experimental C-rates."]
    return "\n".join(lines) + "\n"


@click.command("quickstart")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("dealloy-quickstart"), show_default=True)
@click.option("--ranks", "-n", type=int, default=None,
              help="MPI ranks (default: all cores, by relaunching itself under mpiexec)")
@click.option("--overwrite", is_flag=True, help="start again instead of continuing/reusing OUT")
@click.option("--quiet", "-q", is_flag=True)
def quickstart_command(out_dir, ranks, overwrite, quiet):
    """Dealloy a ~4 nm c-Li15Si4 and an a-Li15Si4 particle at the same rate; compare them.

    Ends with the c-vs-a report (OUT/report.html: cluster classes and porosity vs Li/Si, virtual
    HAADF side by side) and says what the comparison can and cannot show. About 5 min on 2 free
    cores (22 min measured on 2 cores shared with other jobs); MPI is used by relaunching under
    mpiexec. Re-running with the same OUT continues interrupted runs and reuses finished ones.
    \f

    Raises
    ------
    SystemExit
        When the relaunched run fails, or after a checkpoint when a signal stopped a run (run
        again to continue).
    ConfigError
        When OUT or a run config is refused.
    """  # noqa: D301 - "\f" ends click's --help text (the Raises section is for the API docs)
    quickstart(out_dir, ranks=ranks, quiet=quiet, overwrite=overwrite)

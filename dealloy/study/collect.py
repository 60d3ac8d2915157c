"""``dealloy study collect``: one table of every run's parameters and final analysis, and figures.

Writes ``<study>/results/results.csv`` and ``results.parquet`` (one row per planned run) and PNGs
in ``<study>/results/figures/``:

- ``porosity_a2_vs_dod.png``: porosity and a2_index vs DOD, one line per starting state (Fig. 1/S5)
- ``sizes_vs_rate.png``: ligament and pore diameter vs extraction rate (Fig. 4B-C)
- ``clusters_vs_x.png``: Si cluster classes vs Li/Si along the c- and a-paths, every run of
  each path (Fig. S10)
- ``porosity_vs_x.png``: porosity vs Li/Si during dealloying, c-path beside a-path (Fig. 1's
  framework vs dense outcome, followed in time)
- ``voltage_vs_x.png`` (+ ``voltage_vs_x.csv``): U vs x and dQ/dV of every run with
  potentiostatic/galvanostatic stages, per path (per path and mode when a study has both modes:
  the CSV's ``path`` then reads e.g. ``c-path, galvanostatic``), beside the potential's own c->a voltage
  (validate-potential) and the paper's 0.43 V plateau and 0.30/0.55 V processes (dQ/dV:
  Fig. 1D, pc-SiNP by DOD, and 1H, sc-SiNP by cycle, per the paper's caption; its text's
  "Fig. 1G" is the capacity-voltage panel)

A figure whose data the study does not have (e.g. no rate axis) is skipped with a note.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Callable

import ase.io

from dealloy.analysis.results import FrameMetrics, read_run_frames
from dealloy.analysis.voltage import write_study_voltage
from dealloy.io import atomic_path
from dealloy.rundir import RunDir
from dealloy.study.axes import EXTRACTION_MODES, pathway
from dealloy.study.plan import Plan, PlannedRun
from dealloy.study.state import states
from dealloy.study.local import analyze_run
from dealloy.materials import X_LI15SI4

CLUSTER_CLASSES = ("isolated", "dumbbell", "small", "network")
#: the voltage-controlled extraction modes (the ``extraction`` axis' names)
ELECTROCHEM_MODES = ("potentiostatic", "galvanostatic")


# ---- reading one run --------------------------------------------------------------------------
def is_known(value) -> bool:
    """Tell whether a table cell holds a value.

    Parameters
    ----------
    value : object
        A cell of the collected table.

    Returns
    -------
    bool
        False for None and NaN (an empty cell), else True.
    """
    return value is not None and value == value


def core_time_s(info) -> float | None:
    """Compute the core time of one run from a row of the collected table.

    The recorded ``core_time_s`` (wall x ranks of each segment); runs from before it was
    recorded count wall x the last segment's ranks
    (:attr:`dealloy.records.RunRecord.core_time` for run.json).

    Parameters
    ----------
    info : mapping
        A row: ``core_time_s``, ``wall_time_s``, ``ranks``.

    Returns
    -------
    float or None
        Core seconds; None without a wall time.
    """
    if is_known(info.get("core_time_s")):
        return float(info["core_time_s"])
    wall, ranks = info.get("wall_time_s"), info.get("ranks")
    if not is_known(wall):
        return None
    return float(wall) * (float(ranks) if is_known(ranks) else 1.0)


def run_info(rd: RunDir) -> dict[str, Any]:
    """Read a run's bookkeeping from run.json (:meth:`dealloy.rundir.RunDir.record`).

    Parameters
    ----------
    rd : dealloy.rundir.RunDir
        The run directory.

    Returns
    -------
    dict
        ``wall_time_s``, ``ranks`` (of the last segment), ``core_time_s``, the part of both
        spent building the particle (``build_wall_time_s``, ``build_core_time_s``; None for a
        particle read from a file and for runs from before they were recorded), ``n_si_start``,
        ``n_si_end``, ``si_conserved``, ``x_start``, ``x_end`` (Li/Si), ``n_removed``,
        ``n_inserted``, ``time_ps`` (simulated), ``checkpoints`` and ``n_events`` (rows of
        events.csv); None where unknown (e.g. no run.json yet).

    Raises
    ------
    ConfigError
        When run.json exists but cannot be read as a run record.
    """
    rec = rd.record()
    out = {
        "wall_time_s": rec.wall_time_s,
        "ranks": rec.ranks,  # of the last segment; core_time_s counts every segment
        "core_time_s": rec.core_time,
        "build_wall_time_s": rec.build_wall_time_s,
        "build_core_time_s": rec.build_core_time_s,
        "n_si_start": rec.si_start,
        "n_si_end": rec.si_end,
        "si_conserved": (None if rec.si_start is None or rec.si_end is None
                         else rec.si_start == rec.si_end),
        "x_start": rec.x_start,
        "x_end": rec.x_end,
        "n_removed": rec.n_removed,
        "n_inserted": rec.n_inserted,
        "time_ps": rec.time_ps,
        "checkpoints": rec.checkpoints,
        "n_events": None,
    }
    if rd.events_csv.is_file():
        with open(rd.events_csv) as f:
            out["n_events"] = max(0, sum(1 for _ in f) - 1)
    return out


def final_metrics(rd: RunDir) -> dict[str, Any]:
    """Flatten the last analysed frame of ``dealloy analyze`` (``<run>/analysis/``) into columns.

    The frame with the largest ``time_ps`` (else the last one).

    Parameters
    ----------
    rd : dealloy.rundir.RunDir
        The run directory.

    Returns
    -------
    dict
        Scalar metrics (``x_analysed``, porosity with its band, ``a2_index``, ...), nested ones
        as ``<key>_<sub>`` (``crystalline_fraction_by_phase_c_si``), ``cluster_<class>`` and the
        ligament/pore diameter statistics in nm; {} when the run has not been analysed.
    """
    frame = _final_frame(rd)
    if frame is None:
        return {}
    out: dict[str, Any] = {}
    for key in FrameMetrics.columns():  # the model's scalar summary fields, in its order
        v = getattr(frame, key)
        if isinstance(v, dict):  # e.g. crystalline_fraction by kind
            for k, vv in v.items():
                if isinstance(vv, (int, float)):
                    out[f"{key}_{k}"] = vv
        elif v is not None:
            out[key if key != "x" else "x_analysed"] = v
    fr = frame.si_cluster_fractions or {}
    for c in CLUSTER_CLASSES:
        out[f"cluster_{c}"] = fr.get(c)
    for name, short in (("ligament_diameter_nm", "ligament"), ("pore_diameter_nm", "pore")):
        v = getattr(frame, name)
        if isinstance(v, dict):
            out[f"{short}_diameter_mean_nm"] = v.get("mean")
            out[f"{short}_diameter_median_nm"] = v.get("median")
            out[f"{short}_diameter_std_nm"] = v.get("std")
            # the convention band (boundary moved by -/+ boundary_band_angstrom; analysis docs)
            for stat in ("mean", "median"):
                for end in ("low", "high"):
                    if f"{stat}_{end}" in v:
                        out[f"{short}_diameter_{stat}_{end}_nm"] = v[f"{stat}_{end}"]
        elif isinstance(v, (int, float)):
            out[f"{short}_diameter_mean_nm"] = v
    return out


def _final_frame(rd: RunDir) -> FrameMetrics | None:
    frames = read_run_frames(rd.metrics_json)
    if not frames:
        return None
    if all(isinstance(f.time_ps, (int, float)) for f in frames):
        return max(frames, key=lambda f: f.time_ps)
    return frames[-1]


# ---- derived columns that the figures use -----------------------------------------------------
#: A start counts as c-path when at least this share of its Si is c-Li15Si4-like in the run's
#: first analysed frame (dealloy.analysis.structure.Crystallinity: 1.0 for the ideal crystal
#: minimised, ~0 for a-Li3.75Si, whose Si are isolated too but without the crystal's q4/q6).
C_PATH_MIN_SI_CRYSTALLINE = 0.5


@functools.lru_cache(maxsize=256)
def _recorded_builder(file: str, mtime_ns: int) -> str | None:
    """Read the builder a dealloy-built structure file records (once per file version)."""
    try:
        return ase.io.read(file, index=0).info.get("builder")
    except Exception:  # noqa: BLE001 - an unreadable or info-less format: the structure decides
        return None


def _file_pathway(file: str | None, rundir: RunDir | None) -> str:
    """Name the route of a structure-file start: the builder recorded in it, else its structure.

    The builder (``info['builder']`` of a dealloy-built extxyz) names it when recorded; otherwise
    the run's first analysed frame decides: c-path when at least
    :data:`C_PATH_MIN_SI_CRYSTALLINE` of the Si is c-Li15Si4-like, a-path when it holds Li
    (Li/Si > 0) without that order, 'other' without Li or analysis.

    Parameters
    ----------
    file : str or None
        The run's ``particle.file``.
    rundir : dealloy.rundir.RunDir or None
        The run's directory (its ``analysis/metrics.json``).

    Returns
    -------
    str
        'c-path', 'a-path' or 'other'.
    """
    if file and Path(file).is_file():
        path = pathway(_recorded_builder(file, Path(file).stat().st_mtime_ns))
        if path != "other":
            return path
    frames = rundir.analysis_frames() if rundir is not None else []  # [] when not analysed
    if frames:
        f0 = frames[0]
        c_share = (f0.get("si_crystalline_fraction_by_phase") or {}).get("c_li15si4")
        if c_share is not None and c_share >= C_PATH_MIN_SI_CRYSTALLINE:
            return "c-path"
        if (f0.get("x") or 0) > 0:
            return "a-path"
    return "other"


def derived(run: PlannedRun) -> dict[str, Any]:
    """Derive the columns the figures use from a run's sweep point and config.

    Parameters
    ----------
    run : dealloy.study.plan.PlannedRun
        The run.

    Returns
    -------
    dict
        ``starting_state`` (state, builder or structure file name), ``dod_resolved``,
        ``rate_fraction_per_ns_resolved``, ``rate_li_per_ps_resolved``, ``selector_resolved``
        (of the first ``extract`` stage), ``extraction_resolved`` (the mode of the first
        extraction stage, as the study's ``extraction`` axis names it: ``geometric`` for
        ``extract``, ``potentiostatic``, ``galvanostatic``), ``diameter_nm_resolved``,
        ``potential_resolved``, ``temperature_k_resolved``, ``seed_resolved``; None where the
        config does not say. ``pathway_resolved``: the paper's route of the start, 'c-path',
        'a-path' or 'other' (:func:`dealloy.study.axes.pathway` of the state or builder; for a
        structure file, the builder recorded in it, else the structure of the run's first
        analysed frame).
    """
    p, cfg = run.params, run.config
    particle = cfg.get("particle") or {}
    args = particle.get("args") or {}
    state = p.get("state") or particle.get("builder") or Path(particle.get("file", "?")).name
    dod = p.get("dod")
    if dod is None:
        if "dod" in args:
            dod = args["dod"]
        elif "x" in args:
            dod = round(args["x"] / X_LI15SI4, 6)
        elif particle.get("builder") == "li15si4_particle":
            dod = 1.0
    extract = next((s for s in cfg.get("stages", []) if s.get("type") == "extract"), {})
    # no stages: the default protocol, whose extraction is geometric (config.run.default_stages)
    mode = "geometric" if cfg else None
    if cfg.get("stages"):
        mode = next((m for s in cfg["stages"] for m, t in EXTRACTION_MODES.items()
                     if s.get("type") == t), None)
    named = p.get("state") or particle.get("builder")
    path = pathway(named) if named else _file_pathway(particle.get("file"), run.rundir)
    return {
        "starting_state": state,
        "pathway_resolved": path,
        "dod_resolved": dod,
        "rate_fraction_per_ns_resolved": extract.get("rate_fraction_per_ns"),
        "rate_li_per_ps_resolved": extract.get("rate_li_per_ps"),
        "selector_resolved": extract.get("selector"),
        "extraction_resolved": mode,
        "diameter_nm_resolved": args.get("diameter_nm"),
        "potential_resolved": cfg.get("potential"),
        "temperature_k_resolved": cfg.get("temperature_k"),
        "seed_resolved": cfg.get("seed"),
    }


# ---- the table ----------------------------------------------------------------------------------
def collect(plan: Plan, analyze_missing: bool = True, echo: Callable[[str], None] = print):
    """Tabulate every planned run and draw the study figures (``dealloy study collect``).

    Writes ``<study>/results/results.csv`` and ``results.parquet`` atomically and the figures
    into ``<study>/results/figures/`` (see the module docstring).

    Parameters
    ----------
    plan : dealloy.study.plan.Plan
        The study's plan.
    analyze_missing : bool
        Analyse finished runs that have no analysis yet.
    echo : callable
        Receives progress lines.

    Returns
    -------
    table : pandas.DataFrame
        One row per planned run: ``run``, ``status``, the axes, :func:`derived`,
        :func:`run_info` and :func:`final_metrics` columns, ``note`` and ``path``.
    results_dir : pathlib.Path
        ``<study>/results``.
    notes : list of str
        One note per figure (file name, or why it was not drawn).
    """
    import pandas as pd

    rows = []
    for st in states(plan)[0]:
        run, rd = st.run, st.run.rundir
        if st.state == "done" and analyze_missing and not read_run_frames(rd.metrics_json):
            log = plan.directory / "logs" / f"{run.key}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            echo(f"analysing {run.key} ...")
            analyze_run(rd.path, log, echo)
        row: dict[str, Any] = {"run": run.key, "status": st.state}
        for name in plan.axis_names:
            v = run.params.get(name)
            row[name] = v if not isinstance(v, (list, dict)) else json.dumps(v)
        row.update(derived(run))
        row.update(run_info(rd))
        row.update(final_metrics(rd))
        row["note"] = st.note
        row["path"] = str(rd.path)
        rows.append(row)
    df = pd.DataFrame(rows)
    out = plan.directory / "results"
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "results.csv") as tmp:
        df.to_csv(tmp, index=False)
    with atomic_path(out / "results.parquet") as tmp:
        _parquet_safe(df).to_parquet(tmp, index=False)
    notes = figures(plan, df, out / "figures")
    return df, out, notes


def _parquet_safe(df):
    """Columns mixing types (e.g. state names and numbers) become strings for Parquet."""
    df = df.copy()
    for c in df.columns:
        kinds = {type(v) for v in df[c] if v is not None and v == v}
        if len(kinds) > 1 and not kinds <= {int, float, bool}:
            df[c] = df[c].map(lambda v: None if v is None or v != v else str(v))
    return df


# ---- figures ------------------------------------------------------------------------------------
def figures(plan: Plan, df, outdir: Path, name: str | None = None,
            runs: list[PlannedRun] | None = None) -> list[str]:
    """Draw the study figures of ``df`` into ``outdir``, atomically.

    Figures are drawn on backend-free :class:`matplotlib.figure.Figure` objects: the caller's
    matplotlib backend is never chosen or switched here. A figure never fails: its note says why
    it is missing.

    Parameters
    ----------
    plan : dealloy.study.plan.Plan or None
        Gives the title (its study name) and the runs; None for a folder of run directories
        such as the quickstart's (then give ``name`` and ``runs``).
    df : pandas.DataFrame
        The collected table (:func:`collect`).
    outdir : pathlib.Path
        Directory of the PNGs (created if missing).
    name : str, optional
        Title, instead of the plan's study name.
    runs : list of dealloy.study.plan.PlannedRun, optional
        The runs, instead of the plan's.

    Returns
    -------
    list of str
        One note per figure: its file name, or "<figure>: not drawn (...)".
    """
    name = name if name is not None else plan.study.name
    runs = runs if runs is not None else plan.runs
    outdir.mkdir(parents=True, exist_ok=True)
    notes = []
    for fn in (_fig_dod, _fig_rate, _fig_clusters, _fig_porosity_vs_x, _fig_voltage):
        try:
            note = fn(name, runs, df, outdir)
        except Exception as exc:  # a figure never fails collect; say why it is missing
            note = f"{fn.__name__[5:]}: not drawn ({type(exc).__name__}: {exc})"
        notes.append(note)
    return notes


def _figure(nrows: int = 1, ncols: int = 1, figsize=None, **kwargs):
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")


def _fig_dod(name, runs, df, outdir) -> str:
    need = [c for c in ("porosity", "a2_index") if c in df and df[c].notna().any()]
    if not need or df["dod_resolved"].dropna().nunique() < 2:
        return "porosity_a2_vs_dod.png: skipped (needs >= 2 DOD values with porosity/a2_index)"
    fig, axs = _figure(1, len(need), figsize=(5 * len(need), 4), squeeze=False)
    for ax, col in zip(axs[0], need):
        for state, g in df[df[col].notna()].groupby("starting_state"):
            g = g.groupby("dod_resolved")[col].agg(["mean", "std", "count"]).reset_index()
            ax.errorbar(100 * g["dod_resolved"], g["mean"], yerr=g["std"].fillna(0), marker="o",
                        capsize=3, label=str(state))
        if col == "porosity":
            # the paper's scale: c-path framework ~0.4-0.5 (tomography 0.48); a-path dense. A
            # dense result must not be blown up to fill the axis
            ax.axhspan(0.40, 0.50, color="0.85", zorder=0, label="paper, c-path (0.48)")
            ax.set_ylim(0.0, max(0.6, 1.1 * float(df[col].max())))
        ax.set_xlabel("DOD of the starting state (%)")
        ax.set_ylabel(col)
        ax.legend(title="starting state", fontsize=8,
                  loc="center left" if col == "porosity" else "best")
    fig.suptitle(f"{name}: after dealloying")
    _save(fig, outdir / "porosity_a2_vs_dod.png")
    return "porosity_a2_vs_dod.png"


def _fig_rate(name, runs, df, outdir) -> str:
    rate_col = next((c for c in ("rate_fraction_per_ns_resolved", "rate_li_per_ps_resolved")
                     if c in df and df[c].dropna().nunique() >= 2), None)
    cols = [c for c in ("ligament_diameter_mean_nm", "pore_diameter_mean_nm")
            if c in df and df[c].notna().any()]
    if rate_col is None or not cols:
        return "sizes_vs_rate.png: skipped (needs >= 2 rates with ligament/pore sizes)"
    fig, ax = _figure(figsize=(5.5, 4))
    for col, label in zip(cols, ("ligament (Si wire)", "pore")[:len(cols)]):
        std = col.replace("_mean_", "_std_")
        g = df[df[col].notna()].groupby(rate_col)[col].agg(["mean", "std"]).reset_index()
        if std in df:
            within = df.groupby(rate_col)[std].mean().reindex(g[rate_col]).to_numpy()
            err = g["std"].fillna(0).to_numpy()
            err = [e if e > 0 else (w if w == w else 0) for e, w in zip(err, within)]
        else:
            err = g["std"].fillna(0)
        ax.errorbar(g[rate_col], g["mean"], yerr=err, marker="o", capsize=3, label=label)
    ax.set_xscale("log")
    unit = "fraction of Li per ns" if "fraction" in rate_col else "Li per ps"
    ax.set_xlabel(f"extraction rate ({unit})")
    ax.set_ylabel("diameter (nm)")
    ax.legend()
    ax.set_title(f"{name}: sizes vs dealloying rate")
    _save(fig, outdir / "sizes_vs_rate.png")
    return "sizes_vs_rate.png"


def _series(rd: RunDir):
    """Per-frame (x, cluster fractions) of one run from its analysis."""
    frames = read_run_frames(rd.metrics_json)
    pts = []
    for f in frames:
        fr = f.si_cluster_fractions or {}
        if f.x is not None and fr:
            pts.append((f.x, [fr.get(c, float("nan")) for c in CLUSTER_CLASSES]))
    if not pts:
        import pandas as pd

        for csv in sorted(rd.analysis_dir.rglob("*.csv")) if rd.analysis_dir.is_dir() else []:
            try:
                t = pd.read_csv(csv)
            except Exception:
                continue
            cols = {c: next((k for k in t.columns if k.endswith(c)), None) for c in CLUSTER_CLASSES}
            if "x" in t.columns and all(cols.values()):
                pts = [(r["x"], [r[cols[c]] for c in CLUSTER_CLASSES]) for _, r in t.iterrows()]
                break
    return pts  # frame (time) order


PATH_LABELS = {"c-path": "c-path (c-Li15Si4)", "a-path": "a-path (a-LixSi)"}


def _by_path(runs, series) -> dict[str, list]:
    """Map path label -> [(run, series)] of every run of that path with >= 2 points of ``series``."""
    paths = {label: [] for label in PATH_LABELS.values()}
    for run in runs:
        kind = PATH_LABELS.get(derived(run)["pathway_resolved"])
        if kind:
            s = series(run.rundir)
            if len(s) >= 2:
                paths[kind].append((run, s))
    return {k: v for k, v in paths.items() if v}


def _run_name(run) -> str:
    return run.label() or run.key


def _fig_clusters(name, runs, df, outdir) -> str:
    """Cluster classes vs x, one panel per path; every run of the path (one line style each)."""
    present = _by_path(runs, _series)
    if not present:
        return "clusters_vs_x.png: skipped (no analysed trajectories with cluster classes vs x)"
    fig, axs = _figure(1, len(present), figsize=(5.5 * len(present), 4), squeeze=False)
    styles = ("-", "--", ":", "-.")
    colours = [f"C{i}" for i in range(len(CLUSTER_CLASSES))]
    for ax, (kind, path_runs) in zip(axs[0], present.items()):
        for k, (run, s) in enumerate(path_runs):
            xs = [p[0] for p in s]
            for i, c in enumerate(CLUSTER_CLASSES):
                ax.plot(xs, [p[1][i] for p in s], styles[k % len(styles)], marker=".",
                        color=colours[i], label=c if k == 0 else None)
        ax.invert_xaxis()
        ax.set_xlabel("Li/Si (x) during dealloying")
        ax.set_ylabel("share of Si")
        if len(path_runs) == 1:
            runs_txt = f"run {_run_name(path_runs[0][0])}"
        else:
            names = ("solid", "dashed", "dotted", "dash-dot")
            runs_txt = "; ".join(f"{names[k % 4]}: {_run_name(r)}"
                                 for k, (r, _) in enumerate(path_runs[:4]))
            runs_txt += f" (+{len(path_runs) - 4} more)" if len(path_runs) > 4 else ""
        ax.set_title(f"{kind}: {len(path_runs)} run(s)\n{runs_txt}", fontsize=8)
        ax.legend(fontsize=8, title="Si cluster class", title_fontsize=8)
    fig.suptitle(f"{name}: Si cluster classes vs Li/Si", fontsize=10)
    _save(fig, outdir / "clusters_vs_x.png")
    return "clusters_vs_x.png"


def _fig_voltage(name, runs, df, outdir) -> str:
    """U vs x and dQ/dV of every electrochemical run, per path (issue 15; analysis/voltage.py).

    When the runs use both electrochemical modes, one row of panels per (path, mode): removal
    voltages of single points (galvanostatic) and applied potentials (potentiostatic) are
    different quantities and are not overlaid.

    Returns
    -------
    str
        The file name, or why it was not drawn.
    """
    info = [derived(r) for r in runs]
    modes = {d["extraction_resolved"] for d in info} & set(ELECTROCHEM_MODES)
    rows = []
    for r, d in zip(runs, info):
        path = d["pathway_resolved"] or "other"
        if len(modes) > 1 and d["extraction_resolved"]:
            path = f"{path}, {d['extraction_resolved']}"
        # legend: the run key and its seed (the row already names path and mode; a label of
        # every axis value -- a potentiostatic schedule -- would not fit the panel)
        seed = d.get("seed_resolved")
        label = f"{r.key} (seed {seed})" if seed is not None else r.key
        rows.append({"run": r.key, "label": label, "run_dir": r.rundir.path, "path": path,
                     "state": d["starting_state"]})
    return write_study_voltage(rows, outdir, name)


def _porosity_series(rd: RunDir):
    """Per-frame (x, porosity) of one run from its analysis (frames without porosity skipped)."""
    return [(f.x, f.porosity) for f in read_run_frames(rd.metrics_json)
            if f.x is not None and isinstance(f.porosity, (int, float))]


def _fig_porosity_vs_x(name, runs, df, outdir) -> str:
    """Porosity vs Li/Si during dealloying, c-path beside a-path (every run of each path)."""
    present = _by_path(runs, _porosity_series)
    if not present:
        return "porosity_vs_x.png: skipped (no analysed trajectories with porosity vs x)"
    fig, ax = _figure(figsize=(6, 4))
    colours = {PATH_LABELS["c-path"]: "C3", PATH_LABELS["a-path"]: "C0"}
    for kind, path_runs in present.items():
        for k, (run, s) in enumerate(path_runs):
            ax.plot([p[0] for p in s], [p[1] for p in s], marker=".", color=colours[kind],
                    alpha=1.0 if k == 0 else 0.6,
                    label=f"{kind}: {_run_name(run)}" if len(path_runs) <= 4 or k == 0 else None)
    ax.axhspan(0.40, 0.50, color="0.88", zorder=0, label="paper, c-path framework (0.48)")
    top = max(p[1] for v in present.values() for _, s in v for p in s)
    ax.set_ylim(-0.02, max(0.6, 1.1 * top))
    ax.invert_xaxis()
    ax.set_xlabel("Li/Si (x) during dealloying")
    ax.set_ylabel("porosity (pore volume / particle envelope)")
    ax.set_title(f"{name}: porosity vs Li/Si", fontsize=10)
    ax.legend(fontsize=7)
    _save(fig, outdir / "porosity_vs_x.png")
    return "porosity_vs_x.png"

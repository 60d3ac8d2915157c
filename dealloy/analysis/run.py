"""Analyse a structure file, trajectory or run directory: the loop behind ``dealloy analyze``."""

from __future__ import annotations

import csv
import io
import re
import warnings
from pathlib import Path

from dealloy.analysis.core import AnalysisParams, analyze_frame, flat_row, to_json
from dealloy.analysis.diffusivity import center_of_mass_angstrom, li_diffusion
from dealloy.analysis.results import MetricsFile
from dealloy.analysis.trajectory import FrameSource, parse_selection, resolve_source
from dealloy.analysis.voltage import summary_line as voltage_summary_line
from dealloy.analysis.voltage import write_voltage_outputs
from dealloy.config import load_toml
from dealloy.errors import ConfigError
from dealloy.io import write_text
from dealloy.rundir import RunDir


def run_analysis_params(run_dir) -> AnalysisParams:
    """Read and validate the ``[analysis]`` table of a run directory's ``config.toml``.

    Parameters
    ----------
    run_dir : str or os.PathLike
        A run directory of ``dealloy run``.

    Returns
    -------
    AnalysisParams
        The table's parameters; the defaults where it has none (no ``config.toml``, or one
        without ``[analysis]``, e.g. a run of an older dealloy).

    Raises
    ------
    ConfigError
        A value out of its range or an unknown key, naming ``<config.toml>: analysis.<field>``;
        ``analysis`` that is not a table; a ``config.toml`` that is not valid TOML.
    """
    cfg = RunDir(run_dir).config
    table = load_toml(cfg).get("analysis", {}) if cfg.is_file() else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{cfg}: analysis must be a table ([analysis]), got {table!r}")
    return AnalysisParams.checked(f"{cfg}: analysis", **table)


def _csv_text(rows: list[dict]) -> str:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in keys})
    return buf.getvalue()


def note_key(note: str) -> str:
    """Reduce a note to what it says, without what differs between frames and runs.

    Numbers, coordinates, paths and frame indices are replaced (``... frame 3: 2 atom(s) lie far
    outside ... at [1.0, 2.0] Å`` and ``... frame 7: 5 atom(s) ...`` are the same note).

    Parameters
    ----------
    note : str
        One note.

    Returns
    -------
    str
        Its key.
    """
    key = re.sub(r"\bframe \d+", "frame", note)
    key = re.sub(r"\[[^\]]*\]", "[]", key)
    key = re.sub(r"(?:[\w.~-]*/)+[\w.~-]*", "<path>", key)
    key = re.sub(r"[A-Za-z]{0,2}\d+(?:\.\d+)?(?:e[-+]?\d+)?", "#", key)
    return key


def distinct_notes(notes_per_frame: list[list[str]]) -> list[str]:
    """List each distinct note once (by :func:`note_key`), in its first wording.

    Parameters
    ----------
    notes_per_frame : list of list of str
        The notes of each frame.

    Returns
    -------
    list of str
        One line per distinct note, with "(in k of n frames)" when it appeared in more than one
        frame of several.
    """
    seen: dict[str, list] = {}
    for notes in notes_per_frame:
        for key in dict.fromkeys(note_key(n) for n in notes):
            first = next(n for n in notes if note_key(n) == key)
            seen.setdefault(key, [first, 0])[1] += 1
    n_frames = len(notes_per_frame)
    return [text if k == 1 or n_frames == 1 else f"{text} (in {k} of {n_frames} frames)"
            for text, k in seen.values()]


def rdf_csv(frames_metrics: list[dict]) -> str:
    """Tabulate the partial g(r) of every frame as CSV text.

    Parameters
    ----------
    frames_metrics : list of dict
        Results of :func:`~dealloy.analysis.core.analyze_frame` (frames without ``rdf`` are left
        out).

    Returns
    -------
    str
        Columns ``frame``, ``time_ps``, ``r_angstrom``, ``si_si``, ``li_si``, ``li_li``; one row
        per frame and r bin.
    """
    rows = []
    for m in frames_metrics:
        rdf = m.get("rdf")
        if not rdf:
            continue
        for i, r in enumerate(rdf["r_angstrom"]):
            rows.append({"frame": m.get("frame", 0), "time_ps": m.get("time_ps"),
                         "r_angstrom": round(float(r), 5),
                         **{k: float(rdf[k][i]) for k in ("si_si", "li_si", "li_li")}})
    return _csv_text(rows)


def analyze_path(path, frames: str | None = None, json_out=None, plots_dir=None,
                 params: AnalysisParams | None = None, images: bool = True, echo=print,
                 progress=None) -> dict:
    """Analyse every selected frame; write JSON/CSV (and plots, images) and return a summary.

    Run directory: default frames ``all``, output in ``<run>/analysis/`` (metrics.json,
    frames.csv, rdf.csv, msd.csv, plots/). A structure file or trajectory: default frame ``-1``
    (last); files are written only where ``json_out``/``plots_dir`` say.

    Parameters
    ----------
    path : str or os.PathLike
        A structure file, trajectory or run directory of ``dealloy run``.
    frames : str, optional
        Frame selection (:func:`~dealloy.analysis.trajectory.parse_selection`); default ``all``
        for a run directory, ``-1`` for a file.
    json_out : str or os.PathLike, optional
        Where to write the metrics JSON (``_rdf.csv``, ``_frames.csv``, ``_msd.csv`` beside it);
        default ``<run>/analysis/metrics.json`` for a run directory, none for a file.
    plots_dir : str or os.PathLike, optional
        Where to write the plots and images; default ``<run>/analysis/plots`` for a run
        directory, none for a file.
    params : dealloy.config.analysis.AnalysisParams, optional
        Every analysis' parameters; default: a run directory's ``[analysis]`` table
        (:func:`run_analysis_params`), else the defaults.
    images : bool
        Also write the virtual-microscopy images of the last selected frame.
    echo : callable
        Receives the progress and result lines (``print`` by default).
    progress : callable, optional
        Called as ``progress(done=k, total=n, task="frames")`` before the first and after every
        analysed frame of a selection of several frames (:class:`dealloy.progress.TaskProgress`
        draws it with an ETA).

    Returns
    -------
    dict
        ``source``, ``frames`` (each frame's metrics, JSON-ready), ``warnings`` (if the file was
        cut short), ``li_diffusion`` and ``li_msd`` (several frames; D in cm²/s or why it is not
        reported) and ``voltage`` (run directories with electrochemical stages).

    Raises
    ------
    ConfigError
        For a missing or unreadable path, a bad frame selection or a frame the analysis refuses.
    """
    source, run_dir = resolve_source(path)
    if params is None:
        params = run_analysis_params(run_dir) if run_dir is not None else AnalysisParams()
    with warnings.catch_warnings(record=True):  # reported once below, from src.warnings
        warnings.simplefilter("always")
        src = FrameSource(run_dir if run_dir is not None else source)
    for w in src.warnings:
        echo(f"warning: {w}")
    if frames is None:
        frames = "all" if run_dir is not None else "-1"
    sel = parse_selection(frames, len(src))
    # a selection of several frames ('all', '0:5', '1,2') keeps the multi-frame JSON shape even
    # when only one frame is there (a cut trajectory); a single index gives one frame's dict
    single = str(frames).strip().lstrip("-").isdigit()
    out_dir = None
    if run_dir is not None:

        out_dir = RunDir(run_dir).analysis_dir
        json_out = json_out or RunDir(run_dir).metrics_json
        plots_dir = plots_dir or out_dir / "plots"
    per_frame = []
    kept = []
    tick = progress if progress is not None and len(sel) > 1 else (lambda **kw: None)
    tick(done=0, total=len(sel), task="frames")
    for k, i in enumerate(sel):
        f = src[i]
        f.info["frame"] = i
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m = analyze_frame(f, params)
        m["frame"] = i
        for w in caught:
            if str(w.message) not in m["notes"]:
                m["notes"].append(str(w.message))
        per_frame.append(m)
        kept.append(_light(f))
        echo(f"frame {i}: n_si={m['n_si']} n_li={m['n_li']} x={m['x']:.3f} "
             f"CN={m.get('si_si_coordination_mean', float('nan')):.2f} "
             f"porosity={m.get('porosity', float('nan')):.3f} "
             f"({m['timings_s']['total']:.2f} s)")
        tick(done=k + 1, total=len(sel), task="frames")
    printed = {note_key(n) for m in per_frame for n in m["notes"]}
    for n in distinct_notes([m["notes"] for m in per_frame]):
        echo(f"note: {n}")
    summary = {"source": str(source), "frames": [to_json(m) for m in per_frame]}
    if src.warnings:
        summary["warnings"] = list(src.warnings)
    msd_res = None
    if len(kept) > 1:
        # D only where it means something (fixed composition, enough Li and frames, drift
        # removed); otherwise li_diffusion says why not (dealloy.analysis.diffusivity)
        diff, msd_res = li_diffusion(kept)
        summary["li_diffusion"] = diff.to_dict()
        if msd_res is not None:
            summary["li_msd"] = msd_res.as_dict()
            echo(f"Li diffusion coefficient: {msd_res.diffusion_cm2_per_s:.3e} ± "
                 f"{msd_res.diffusion_stderr_cm2_per_s:.1e} cm^2/s ({diff.n_atoms} Li, fit "
                 f"{msd_res.fit_window_ps[0]:.2f}-{msd_res.fit_window_ps[1]:.2f} ps, centre-of-"
                 f"mass drift of {diff.drift_of} removed: {diff.drift_removed_angstrom:.2f} Å)")
        else:
            echo(f"Li diffusion coefficient: not reported: {diff.why_not}")
    if json_out is not None:
        json_out = Path(json_out)
        stem = json_out.with_suffix("")
        payload = summary if not single else {**summary["frames"][0], "source": str(source)}
        if single and src.warnings:
            payload["warnings"] = list(src.warnings)
        if single and msd_res is not None:
            payload["li_msd"] = summary["li_msd"]
        if len(per_frame) > 1:
            payload["li_diffusion"] = summary["li_diffusion"]
        # one class writes and reads the file (dealloy.analysis.results): versioned, atomic
        MetricsFile.model_validate(payload).write(json_out)
        write_text(f"{stem}_rdf.csv" if run_dir is None else out_dir / "rdf.csv",
                   rdf_csv(per_frame))
        rows = [flat_row(m) for m in per_frame]
        write_text(f"{stem}_frames.csv" if run_dir is None else out_dir / "frames.csv",
                   _csv_text(rows))
        if msd_res is not None:
            write_text(f"{stem}_msd.csv" if run_dir is None else out_dir / "msd.csv",
                       _csv_text([{"lag_ps": float(t), "msd_angstrom2": float(v)}
                                  for t, v in zip(msd_res.lag_ps, msd_res.msd_angstrom2)]))
        echo(f"wrote {json_out}")
    if plots_dir is not None:
        from dealloy.analysis.plots import write_plots  # deferred: matplotlib (~0.7 s), only for plots

        title = Path(run_dir).name if run_dir is not None else Path(source).name
        # the pictures look at frames again: their notes were said above (once, not per picture)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            written = write_plots(per_frame, msd_res, Path(plots_dir), title=title)
            if images:
                from dealloy.analysis.microscopy import write_images  # deferred: matplotlib, as above

                mic = params.microscopy
                written += write_images(src[sel[-1]], Path(plots_dir), axis=mic.axis,
                                        n_slices=mic.n_slices,
                                        slice_thickness_angstrom=mic.slice_thickness_angstrom,
                                        echo=echo)
        for n in distinct_notes([[str(w.message) for w in caught]]):
            if note_key(n) not in printed:
                printed.add(note_key(n))
                echo(f"note: {n}")
        echo(f"wrote {len(written)} picture(s) to {plots_dir}")
    if run_dir is not None:  # runs with potentiostatic/galvanostatic stages: U vs x, dQ/dV
        volt = write_voltage_outputs(run_dir, bin_v=params.voltage.bin_v,
                                     window=params.voltage.window)
        if volt:
            summary["voltage"] = volt
            echo(f"{voltage_summary_line(volt)} (analysis/voltage.csv, dqdv.csv, voltage.json, "
                 "plots/voltage.png)")
    return summary


def _light(f):
    """Keep only what the Li diffusion needs of a frame.

    The Li (positions, ids, unwrapped), time, cell, and the centre of mass of all atoms (drift).

    Returns
    -------
    dealloy.analysis.frame.Frame
        The Li-only frame.
    """
    li = f.mask("Li")
    g = f.subset(li)
    g.info["com_angstrom"] = center_of_mass_angstrom(f)
    if "unwrapped" in f.info:
        g.info["unwrapped"] = f.info["unwrapped"][li]
    return g

"""Compute every per-frame metric of one frame as one JSON-ready dict (the contract).

from dealloy.analysis import analyze_frame
metrics = analyze_frame(atoms)                     # ase.Atoms, OVITO data/pipeline, path
metrics = analyze_frame(atoms, voxel_angstrom=0.5, si_si_cutoff_angstrom=3.0)
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from dealloy.analysis.frame import as_frame
from dealloy.analysis.results import Results
from dealloy.analysis.structure import Crystallinity, PartialRDF, SiNetwork
from dealloy.analysis.voxel import VoxelMetrics
# all parameters of analyze_frame, one validated model per analysis (units, bounds)
from dealloy.config.analysis import AnalysisParams
from dealloy.errors import ConfigError


def frame_kind(f) -> str:
    """Classify a frame by its number of periodic axes.

    Parameters
    ----------
    f : dealloy.analysis.frame.Frame
        The frame; its per-axis periodicity is the one :func:`dealloy.analysis.frame.as_frame`
        decided.

    Returns
    -------
    str
        'bulk' (periodic along all three axes), 'slab' (two), 'wire' (one) or 'particle' (none).
    """
    return {3: "bulk", 2: "slab", 1: "wire", 0: "particle"}[sum(bool(p) for p in f.pbc)]


def analyze_frame(frame, params: AnalysisParams | None = None, **kwargs) -> Results:
    """Compute all per-frame metrics of ``frame`` (see docs/analysis.md for each key).

    Parameters
    ----------
    frame : ase.Atoms, ovito.data.DataCollection, ovito.pipeline.Pipeline, path or Frame
        The structure; positions in Å. Must contain Si (see
        :func:`dealloy.analysis.frame.check_frame`).
    params : AnalysisParams, optional
        All parameters; default :meth:`AnalysisParams.from_kwargs` of ``kwargs``.
    **kwargs
        Parameter names of the sub-analyses (``voxel_angstrom``, ``si_si_cutoff_angstrom``,
        ``envelope_probe_radius_angstrom``, ...), instead of ``params``.

    Returns
    -------
    Results
        A dict with attribute access (``m.porosity`` is ``m["porosity"]``; the typed reading of
        a written frame is :class:`dealloy.analysis.results.FrameMetrics`): ``n_atoms``,
        ``n_si``, ``n_li``, ``x`` (Li/Si), ``time_ps`` (None for a structure without
        a time), ``kind`` (:func:`frame_kind`), the metrics of each group in ``params.metrics``
        (the ``rdf`` entry holds arrays ``r_angstrom``, ``si_si``, ``li_si``, ``li_li``;
        :func:`to_json` turns them into lists), ``notes`` (list of str) and ``timings_s``.

    Raises
    ------
    ConfigError
        When both ``params`` and keyword parameters are given, for an unknown parameter, or when
        the frame cannot be read or is refused (no Si, duplicated atoms).
    """
    if params is None:
        params = AnalysisParams.from_kwargs(**kwargs)
    elif kwargs:
        raise ConfigError("give either params or keyword parameters, not both")
    t0 = time.perf_counter()
    f = as_frame(frame)
    n_si = int(np.sum(f.symbols == "Si"))
    n_li = int(np.sum(f.symbols == "Li"))
    out = Results(n_atoms=f.n_atoms, n_si=n_si, n_li=n_li, x=n_li / n_si, time_ps=f.time_ps,
                  kind=frame_kind(f))
    notes = []
    if f.periodic and "voxel" in params.metrics:
        notes.append("periodic bulk cell: analysed as bulk; porosity is per cell (no envelope)")
    timings = {}
    if "network" in params.metrics:
        t = time.perf_counter()
        net = SiNetwork(params.network).compute(f).results
        net.pop("per_atom")
        out.update(net)
        timings["network"] = time.perf_counter() - t
    if "rdf" in params.metrics:
        t = time.perf_counter()
        out["rdf"] = PartialRDF(params.rdf).compute(f).results
        timings["rdf"] = time.perf_counter() - t
    if "crystal" in params.metrics:
        t = time.perf_counter()
        out.update(Crystallinity(params.crystal).compute(f).results)
        timings["crystal"] = time.perf_counter() - t
    if "voxel" in params.metrics:
        t = time.perf_counter()
        vox = VoxelMetrics(params.voxel).compute(f).results
        if not vox:
            notes.append("voxel metrics skipped (triclinic periodic cell)")
        info_notes = vox.pop("notes", [])  # facts about the settings, not warnings
        out.update(vox)
        timings["voxel"] = time.perf_counter() - t
    out["notes"] = notes
    out["timings_s"] = {k: round(v, 4) for k, v in timings.items()}
    out["timings_s"]["total"] = round(time.perf_counter() - t0, 4)
    for note in notes:
        warnings.warn(note, stacklevel=2)
    if "voxel" in params.metrics:
        notes.extend(info_notes)
    return out


def to_json(metrics: dict) -> dict:
    """Copy metrics with numpy arrays/scalars as lists/floats (what ``write_json`` writes anyway).

    Parameters
    ----------
    metrics : dict
        E.g. the result of :func:`analyze_frame`; nested dicts, lists and tuples are converted.

    Returns
    -------
    dict
        A new dict; the input is not changed.
    """
    def conv(v):
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, np.generic):
            return v.item()
        return v
    return conv(metrics)


def flat_row(metrics: dict) -> dict:
    """Flatten the scalar metrics of one frame into one table row (for the per-frame CSV).

    Parameters
    ----------
    metrics : dict
        The result of :func:`analyze_frame`.

    Returns
    -------
    dict
        Scalars by name; nested dicts become ``outer.inner`` columns; ``rdf``, ``notes``,
        ``timings_s``, the CN histogram and non-scalar values are left out.
    """
    row = {}
    for k, v in metrics.items():
        if k in ("rdf", "notes", "timings_s", "si_si_coordination_histogram"):
            continue
        if isinstance(v, dict):
            for k2, v2 in v.items():
                if np.isscalar(v2) or v2 is None:
                    row[f"{k}.{k2}"] = v2
        elif np.isscalar(v) or v is None:
            row[k] = v
    return row

"""``analyze_frame``: every per-frame metric of one frame as one JSON-ready dict (the contract).

    from dealloy.analysis import analyze_frame
    metrics = analyze_frame(atoms)                     # ase.Atoms, OVITO data/pipeline, path
    metrics = analyze_frame(atoms, voxel_angstrom=0.5, si_si_cutoff_angstrom=3.0)
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from dealloy.analysis.frame import as_frame
from dealloy.analysis.structure import Crystallinity, PartialRDF, SiNetwork
from dealloy.analysis.voxel import VoxelMetrics
# all parameters of analyze_frame, one validated model per analysis (units, bounds)
from dealloy.config.analysis import AnalysisParams
from dealloy.errors import ConfigError


def frame_kind(f) -> str:
    """'bulk' (periodic along all three axes), 'slab' (two), 'wire' (one) or 'particle' (none),
    from the frame's per-axis periodicity as decided by :func:`dealloy.analysis.frame.as_frame`."""
    return {3: "bulk", 2: "slab", 1: "wire", 0: "particle"}[sum(bool(p) for p in f.pbc)]


def analyze_frame(frame, params: AnalysisParams | None = None, **kwargs) -> dict:
    """All per-frame metrics of ``frame`` (see docs/analysis.md for each key).

    ``frame``: ase.Atoms, OVITO DataCollection/Pipeline, a structure file path, or a Frame.
    Keyword arguments are parameter names of the sub-analyses (``voxel_angstrom``,
    ``si_si_cutoff_angstrom``, ``envelope_probe_radius_angstrom``, ...).
    The ``rdf`` entry holds arrays (r_angstrom, si_si, li_si, li_li); :func:`to_json` turns them
    into lists.
    """
    if params is None:
        params = AnalysisParams.from_kwargs(**kwargs)
    elif kwargs:
        raise ConfigError("give either params or keyword parameters, not both")
    t0 = time.perf_counter()
    f = as_frame(frame)
    n_si = int(np.sum(f.symbols == "Si"))
    n_li = int(np.sum(f.symbols == "Li"))
    out: dict = {"n_atoms": f.n_atoms, "n_si": n_si, "n_li": n_li, "x": n_li / n_si,
                 "time_ps": f.time_ps, "kind": frame_kind(f)}
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
    """A copy with numpy arrays/scalars as lists/floats (what ``write_json`` writes anyway)."""
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
    """The scalar metrics of one frame as one flat table row (for the per-frame CSV)."""
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

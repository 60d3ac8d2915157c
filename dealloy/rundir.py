"""The one place that knows the layout of a run directory (written by ``dealloy run``).

    <run>/config.toml        the resolved run config (written before MD starts)
    <run>/run.json           status, versions, potential file hashes, seed, ranks, wall time,
                             core time (wall x ranks, summed over resumed segments),
                             Si count at start and end, error message if failed
    <run>/thermo.csv         time_ps, temperature_k, pe_ev, n_atoms, n_li, n_si, x, stage
    <run>/events.csv         every removal/insertion: time_ps, stage, event, id, species, x, y, z
    <run>/traj.lammpstrj.gz  LAMMPS dump with an element column (``.lammpstrj`` if no gzip)
    <run>/initial.extxyz     the starting structure
    <run>/final.extxyz       the final structure (also final.data, LAMMPS data)
    <run>/checkpoint/        restart files + state.json for --resume
    <run>/build-checkpoint/  while a builder's particle is not yet safe in checkpoint/: the build's
                             own checkpoints (build.json, one .npz per MD route), for --resume
    <run>/lammps.log         LAMMPS' own log
    <run>/analysis/          what ``dealloy analyze`` writes for this run: metrics.json ({"frames":
                             [...], "li_msd": ...}, or one frame's metrics for a single frame),
                             frames.csv, rdf.csv, plots/

Statuses in run.json: ``running``, ``done``, ``failed``, ``checkpointed``; no run.json = ``pending``.
run.json is read through :class:`dealloy.records.RunRecord` (:meth:`RunDir.record`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from dealloy.records import RunRecord, read_record

STATUSES = ("pending", "running", "done", "failed", "checkpointed")


@dataclass(frozen=True)
class RunDir:
    """The files of one run directory, by name (the layout in this module's docstring).

    Only paths: nothing is read or created until a method is called.

    Parameters
    ----------
    path : str or os.PathLike
        The run directory (it need not exist).
    """

    path: Path

    def __init__(self, path):
        object.__setattr__(self, "path", Path(path))

    config = property(lambda self: self.path / "config.toml")
    run_json = property(lambda self: self.path / "run.json")
    thermo_csv = property(lambda self: self.path / "thermo.csv")
    events_csv = property(lambda self: self.path / "events.csv")
    initial_structure = property(lambda self: self.path / "initial.extxyz")
    final_structure = property(lambda self: self.path / "final.extxyz")
    final_data = property(lambda self: self.path / "final.data")
    checkpoint_dir = property(lambda self: self.path / "checkpoint")
    build_checkpoint_dir = property(lambda self: self.path / "build-checkpoint")
    lammps_log = property(lambda self: self.path / "lammps.log")
    analysis_dir = property(lambda self: self.path / "analysis")
    metrics_json = property(lambda self: self.analysis_dir / "metrics.json")

    def analysis_frames(self) -> list[dict]:
        """Read the per-frame metrics ``dealloy analyze`` wrote for this run.

        Returns
        -------
        list of dict
            The ``frames`` of ``analysis/metrics.json`` (one dict per analysed frame), a one-item
            list for a single-frame analysis, or [] if the file is missing or unreadable.
        """
        try:
            data = json.loads(self.metrics_json.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return []
        if isinstance(data, dict) and isinstance(data.get("frames"), list):
            return data["frames"]
        return [data] if isinstance(data, dict) else []

    @property
    def trajectory(self) -> Path:
        """Path of the trajectory file that exists (gzip preferred), or the gzip name if none does."""
        gz = self.path / "traj.lammpstrj.gz"
        plain = self.path / "traj.lammpstrj"
        if not gz.exists() and plain.exists():
            return plain
        return gz

    def is_run_dir(self) -> bool:
        """Tell whether the directory holds a run (a ``config.toml`` or a ``run.json``).

        Returns
        -------
        bool
            True if either file exists.
        """
        return self.config.is_file() or self.run_json.is_file()

    def record(self) -> RunRecord:
        """Read ``run.json`` through :class:`~dealloy.records.RunRecord`, the class that writes it.

        Returns
        -------
        RunRecord
            Its typed content (files without ``version`` are read as version 1), or a pending
            record (``status`` pending, every count None) if it is missing or not valid JSON
            (e.g. mid-write of a crashed run).

        Raises
        ------
        ConfigError
            When run.json is a record of a newer dealloy, or JSON that is not a run record.
        """
        return read_record(self.path)

    @property
    def status(self) -> str:
        """The run's status: one of :data:`STATUSES` (``pending`` when there is no run.json)."""
        return self.record().status

"""The run record ``<run>/run.json``: one typed, versioned model.

It is written by the engine and read by studies, collection and reports through the same class.

``run.json`` files written before this model existed (no ``version`` key) have the same keys and
are read as version 1; a record from a newer dealloy is refused with one line. Keys whose value
is unknown (None) are left out of the file, except ``error`` (null when the run did not fail).
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any, Literal

import ase
import numpy as np
from mpi4py import MPI
from pydantic import BaseModel, ConfigDict, Field, model_serializer

from dealloy import __version__
from dealloy.engine.state import ElectroCounters, StageReport, read_versioned
from dealloy.io import write_text

#: the version this dealloy writes; it reads every version up to it
RECORD_VERSION = 1

Status = Literal["pending", "running", "done", "failed", "checkpointed"]


class PotentialRecord(BaseModel):
    """The interatomic potential a run used.

    Attributes
    ----------
    name : str
        Registry name.
    file_hashes : dict of str to str
        SHA-256 of each parameter file, by file name.
    citation : str or None
        The potential's reference.
    """

    model_config = ConfigDict(extra="ignore")
    name: str
    file_hashes: dict[str, str] = Field(default_factory=dict)
    citation: str | None = None


class RunRecord(BaseModel):
    """``run.json``: status, provenance, cost and the composition of one run.

    Attributes
    ----------
    version : int
        Format version (:data:`RECORD_VERSION` when written; files without one are version 1).
    status : {"pending", "running", "done", "failed", "checkpointed"}
        The run's state.
    error : str or None
        Why it failed (None otherwise).
    config : dict or None
        The resolved run config.
    versions : dict or None
        Package -> version (:func:`software_versions`; LAMMPS': an int date).
    potential : PotentialRecord or None
        The potential used.
    seed : int or None
        The run's seed.
    ranks : int or None
        MPI ranks of the last segment.
    wall_time_s : float or None
        Wall seconds over all segments.
    core_time_s : float or None
        Core seconds: each segment's wall time x its ranks, summed.
    time_ps : float or None
        Simulated time, ps.
    stage_index : int
        Stages finished.
    n_stages : int or None
        Stages in the config.
    si_start, si_end, li_start, li_end : int or None
        Si and Li atoms at the start and now.
    x_start, x_end : float or None
        Li/Si at the start and now.
    n_removed, n_inserted : int or None
        Li removed and inserted.
    n_batches : int or None
        Exchange intervals that moved Li.
    n_lost : dict or None
        Atoms lost or detached by species.
    stages : list of StageReport
        The finished stages.
    checkpoints : int or None
        Checkpoints written.
    bookkeeping_s, md_s : float or None
        Seconds in exchange bookkeeping and in LAMMPS ``run``.
    electrochem : ElectroCounters or None
        Counters of electrochemical stages.
    before_md : bool or None
        True when the run failed on its input, before LAMMPS started.
    updated : str or None
        When the record was written (``%Y-%m-%dT%H:%M:%S%z``).
    """

    model_config = ConfigDict(extra="ignore", ser_json_inf_nan="constants")

    version: int = RECORD_VERSION
    status: Status = "pending"
    error: str | None = None
    config: dict[str, Any] | None = None
    versions: dict[str, Any] | None = None  # package -> version (LAMMPS': an int date)
    potential: PotentialRecord | None = None
    seed: int | None = None
    ranks: int | None = None
    wall_time_s: float | None = None
    core_time_s: float | None = None
    time_ps: float | None = None
    stage_index: int = 0
    n_stages: int | None = None
    si_start: int | None = None
    si_end: int | None = None
    li_start: int | None = None
    li_end: int | None = None
    x_start: float | None = None
    x_end: float | None = None
    n_removed: int | None = None
    n_inserted: int | None = None
    n_batches: int | None = None
    n_lost: dict[str, int] | None = None
    stages: list[StageReport] = Field(default_factory=list)
    checkpoints: int | None = None
    bookkeeping_s: float | None = None
    md_s: float | None = None
    electrochem: ElectroCounters | None = None
    before_md: bool | None = None
    updated: str | None = None

    @model_serializer(mode="wrap")
    def _drop_unknown(self, handler):
        out = handler(self)
        return {k: v for k, v in out.items() if v is not None or k == "error"}

    # ---- derived ---------------------------------------------------------------------------
    @property
    def core_time(self) -> float | None:
        """Core seconds: ``core_time_s``, or (older runs) wall time x the last segment's ranks."""
        if self.core_time_s is not None:
            return self.core_time_s
        if self.wall_time_s is None:
            return None
        return self.wall_time_s * (self.ranks or 1)

    @property
    def last_error_line(self) -> str:
        """The last non-empty line of ``error`` ("" if none)."""
        lines = [ln.strip() for ln in (self.error or "").splitlines() if ln.strip()]
        return lines[-1] if lines else ""

    def as_dict(self) -> dict[str, Any]:
        """Return what run.json holds as plain data (the engine's return value).

        Returns
        -------
        dict
            The JSON of :meth:`to_json` decoded (unknown keys left out, ``error`` always there).
        """
        return json.loads(self.to_json())

    def to_json(self) -> str:
        """Serialise the record as run.json's text (indented JSON, unknown keys left out)."""
        return self.model_dump_json(indent=2) + "\n"

    # ---- file ------------------------------------------------------------------------------
    @classmethod
    def read(cls, path: Path) -> RunRecord | None:
        """Read the record in ``path``.

        Parameters
        ----------
        path : pathlib.Path
            The run.json file.

        Returns
        -------
        RunRecord or None
            The record (a file without ``version`` is read as version 1); None if there is no
            file or it is not JSON (a run that never wrote one is pending).

        Raises
        ------
        ConfigError
            A record of a newer dealloy, or JSON that is not a run record.
        """
        path = Path(path)
        try:
            text = path.read_text()
            json.loads(text)
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return read_versioned(cls, path, text, RECORD_VERSION, "run record", "use that version")

    def write(self, path: Path, comm=None) -> None:
        """Write the record atomically on rank 0, stamped with this version and the time.

        Parameters
        ----------
        path : pathlib.Path
            The run.json file (temp file + rename).
        comm : mpi4py.MPI.Comm, optional
            The communicator; every rank calls (collective).
        """
        self.version = RECORD_VERSION
        self.updated = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        write_text(path, self.to_json(), comm, collective=True)


def read_record(run_dir) -> RunRecord:
    """Read the record of a run directory.

    Parameters
    ----------
    run_dir : str or os.PathLike
        The run directory.

    Returns
    -------
    RunRecord
        Its ``run.json``, or a pending record (``status`` pending) if it has none.

    Raises
    ------
    ConfigError
        When run.json is a record of a newer dealloy or not a run record.
    """
    return RunRecord.read(Path(run_dir) / "run.json") or RunRecord()


def software_versions() -> dict[str, Any]:
    """Collect the versions of dealloy, Python, ASE, numpy, the MPI library and LAMMPS (run.json)."""
    v = {"dealloy": __version__, "python": platform.python_version(), "ase": ase.__version__,
         "numpy": np.__version__, "mpi": MPI.Get_library_version().strip().splitlines()[0]}
    try:
        import lammps

        v["lammps"] = getattr(lammps, "__version__", None)
    except ImportError:
        pass
    return v


__all__ = ["RECORD_VERSION", "RunRecord", "PotentialRecord", "read_record", "software_versions"]

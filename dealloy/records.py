"""The typed, versioned records a run directory holds, read by every layer through one class.

- :class:`RunRecord`: ``<run>/run.json`` (status, provenance, cost and the composition of one run),
  written by the engine (:mod:`dealloy.engine.checkpoint`) and read by studies, collection,
  analysis and reports (:meth:`dealloy.rundir.RunDir.record`);
- :class:`StageReport`, :class:`ElectroCounters`, :class:`MoveCounts`: its parts, which the
  engine's checkpoint state (:mod:`dealloy.engine.state`) holds too;
- :func:`read_versioned`: validation of any versioned record, refusing in one line what this
  dealloy cannot read.

``run.json`` files written before the model existed (no ``version`` key) have the same keys and
are read as version 1; a record from a newer dealloy is refused with one line. Keys whose value
is unknown (None) are left out of the file, except ``error`` (null when the run did not fail).

This module sits in the base layer beside :mod:`dealloy.rundir` (pyproject.toml's import
contract), so everything above the engine reads run.json through the class the engine writes it
with; :mod:`dealloy.engine.record` re-exports it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer

from dealloy.errors import ConfigError, NotJSONError
from dealloy.io import write_text


def read_versioned(model, path: Path, text: str, newest: int, kind: str, newer_advice: str,
                   invalid_advice: str = ""):
    """Validate a versioned record from JSON, refusing in one line what this dealloy cannot read.

    Parameters
    ----------
    model : type of pydantic.BaseModel
        The record's model (with a ``version`` field).
    path : pathlib.Path
        The file the text came from (named in the error).
    text : str or bytes
        The file's JSON text (bytes: UTF-8/16/32).
    newest : int
        The newest version this dealloy reads.
    kind : str
        What the record is, for the message (e.g. "run record").
    newer_advice : str
        The fix given for a record of a newer dealloy.
    invalid_advice : str, optional
        The fix given for JSON that is not such a record.

    Returns
    -------
    pydantic.BaseModel
        The validated ``model`` instance.

    Raises
    ------
    NotJSONError
        When ``text`` is not JSON (a ConfigError with the same message).
    ConfigError
        Naming ``path``, the first invalid field, or the version, and the advice given.
    """
    try:
        rec = model.model_validate_json(text)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        advice = f"; {invalid_advice}" if invalid_advice else ""
        error = NotJSONError if err["type"] == "json_invalid" else ConfigError
        raise error(f"{path}: not a {kind} this dealloy can read ({where}: "
                    f"{err['msg']}){advice}") from None
    if rec.version > newest:
        raise ConfigError(f"{path}: {kind} version {rec.version} was written by a newer dealloy "
                          f"(this one reads up to {newest}); {newer_advice}")
    return rec


class _Model(BaseModel):
    # NaN stays NaN in the JSON (x of a particle without Si), as json.dumps wrote it
    model_config = ConfigDict(extra="ignore", ser_json_inf_nan="constants",
                              validate_assignment=False)


class MoveCount(_Model):
    """Accepted and rejected electrochemical moves of one kind.

    Attributes
    ----------
    accepted, rejected : int
        Numbers of moves.
    """

    accepted: int = 0
    rejected: int = 0


class MoveCounts(_Model):
    """Electrochemical moves by kind (removal, insertion)."""

    remove: MoveCount = Field(default_factory=MoveCount)
    insert: MoveCount = Field(default_factory=MoveCount)

    def side(self, kind: Literal["remove", "insert"]) -> MoveCount:
        """Return the counts of one kind of move.

        Parameters
        ----------
        kind : {"remove", "insert"}
            The kind of move.

        Returns
        -------
        MoveCount
            The (mutable) counts of that kind.
        """
        return getattr(self, kind)


class ElectroCounters(_Model):
    """Run-wide counters of electrochemical stages (run.json's ``electrochem``).

    Attributes
    ----------
    mu_li_bcc_ev : float or None
        The Li reservoir's chemical potential at 0 V vs Li/Li+: energy per atom of bcc Li with
        the run's potential, eV/atom (:func:`dealloy.engine.electrochem.li_bcc_chemical_potential_ev`).
    moves : MoveCounts
        Accepted and rejected removals and insertions of the whole run.
    evaluations : int
        Energy single points (``run 0``) of the whole structure.
    local_evaluations : int
        Energy single points of small clusters in the second LAMMPS instance of the galvanostatic
        mode (:class:`dealloy.engine.electrochem.LocalEnergies`; two per evaluated set). 0 in
        records written before it was counted.
    tfmc_steps : int
        tfMC steps run in place of MD.
    """

    mu_li_bcc_ev: float | None = None
    moves: MoveCounts = Field(default_factory=MoveCounts)
    evaluations: int = 0
    local_evaluations: int = 0
    tfmc_steps: int = 0


class StageReport(_Model):
    """One finished stage (run.json's ``stages``).

    Keys a stage type does not have (None) are left out of the file.

    Attributes
    ----------
    index : int
        Position in the config's ``stages`` (0-based).
    type : str
        The stage type (``extract``, ``potentiostatic``, ...).
    t_start_ps, t_end_ps : float
        Simulated time at its start and end, ps.
    n_li, n_si : int
        Li and Si atoms at its end.
    x : float
        Li/Si at its end (NaN without Si).
    wall_s : float
        Wall seconds it took.
    stop_reason : str or None
        Why an exchange or electrochemical stage ended.
    bookkeeping_s : float or None
        Seconds spent choosing and exchanging Li.
    moves : MoveCounts or None
        Electrochemical moves.
    evaluations : int or None
        Energy single points of the whole structure.
    local_evaluations : int or None
        Energy single points of small clusters (galvanostatic, see
        :attr:`ElectroCounters.local_evaluations`).
    cv_start_ps : float or None
        Simulated time when a constant-voltage hold began, ps.
    last_voltage_v : float or None
        Last applied or removal voltage, V vs Li/Li+.
    batches : int or None
        Exchange intervals that moved Li (``extract``/``insert``).
    warning : str or None
        Set when an exchange stage stopped before ``x_final``.
    e_start_minimised_ev, e_end_minimised_ev : float or None
        Electrochemical stages: energies of the structures at the stage's start and end, each
        minimised in a separate LAMMPS instance (the run is not touched), eV
        (:func:`dealloy.engine.electrochem.minimised_energy_ev`).
    n_removed_net : int or None
        Electrochemical stages: Li removed minus Li inserted by the stage's moves.
    energy_balance_voltage_v : float or None
        (e_end_minimised_ev - e_start_minimised_ev) / n_removed_net + mu_Li(bcc), V vs Li/Li+:
        the stage's mean voltage from exact energy bookkeeping at 0 K, comparable with
        ``validate-potential``'s c -> a voltage (absent when nothing left net).
    """

    index: int
    type: str
    t_start_ps: float
    t_end_ps: float
    n_li: int
    n_si: int
    x: float
    wall_s: float
    stop_reason: str | None = None
    bookkeeping_s: float | None = None
    moves: MoveCounts | None = None
    evaluations: int | None = None
    local_evaluations: int | None = None
    cv_start_ps: float | None = None
    last_voltage_v: float | None = None
    batches: int | None = None
    warning: str | None = None
    e_start_minimised_ev: float | None = None
    e_end_minimised_ev: float | None = None
    n_removed_net: int | None = None
    energy_balance_voltage_v: float | None = None

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler):
        return {k: v for k, v in handler(self).items() if v is not None}


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
        Package -> version (:func:`dealloy.engine.record.software_versions`; LAMMPS': an int
        date).
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
    build_wall_time_s : float or None
        The part of ``wall_time_s`` spent before MD: from the start of ``dealloy run`` to the
        built particle, over every segment of a build that was stopped and resumed (None: a
        ``particle.file`` run, or a run.json from before it was recorded).
    build_core_time_s : float or None
        The same part of ``core_time_s``.
    build_resumed : bool or None
        True when the particle's build continued from a build checkpoint (not bit-identical to
        an uninterrupted build: docs/engine.md, "Build checkpoints").
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
    build_wall_time_s: float | None = None
    build_core_time_s: float | None = None
    build_resumed: bool | None = None
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
    def config_potential(self) -> str | None:
        """The potential's registry name as the run's config gave it (None without a config)."""
        return (self.config or {}).get("potential")

    @property
    def mu_li_bcc_ev(self) -> float | None:
        """mu_Li(bcc) of electrochemical stages, eV/atom (None for a run without them)."""
        return self.electrochem.mu_li_bcc_ev if self.electrochem is not None else None

    @property
    def last_error_line(self) -> str:
        """The last non-empty line of ``error`` ("" if none)."""
        lines = [ln.strip() for ln in (self.error or "").splitlines() if ln.strip()]
        return lines[-1] if lines else ""

    def as_dict(self) -> dict[str, Any]:
        """Return what run.json holds as plain data (JSON types; for writing it elsewhere).

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
        try:  # parsed once, by the model
            return read_versioned(cls, path, path.read_bytes(), RECORD_VERSION, "run record",
                                  "use that version")
        except (FileNotFoundError, NotJSONError):
            return None

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


__all__ = ["RECORD_VERSION", "ElectroCounters", "MoveCount", "MoveCounts", "PotentialRecord",
           "RunRecord", "StageReport", "Status", "read_record", "read_versioned"]

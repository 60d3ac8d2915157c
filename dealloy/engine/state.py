"""The engine's state: what a checkpoint holds (``checkpoint/state.json``) and one stage's progress.

Typed, versioned pydantic models, written and read through the same class
(:meth:`EngineState.write` / :meth:`EngineState.read`). ``checkpoint/state.json`` files written
before these models existed (``version`` 1: the same keys, a stage not begun was ``{}``) are read
as they are; a state from a newer dealloy, or a file that is not a state, is refused with one line.

The atoms of a checkpoint (ids, types, positions, velocities, cell, pbc) are in
``checkpoint/<atoms_file>`` (``.npz``) beside it; :func:`write_atoms` / :func:`read_atoms`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from dealloy.io import atomic_path, write_text
from dealloy.records import (  # noqa: F401 - re-exported: the engine's models of run.json's parts
    ElectroCounters,
    MoveCount,
    MoveCounts,
    StageReport,
    _Model,
    read_versioned,
)

#: the version this dealloy writes; it reads every version up to it
STATE_VERSION = 2


class StageProgress(_Model):
    """Progress of the stage under way (checkpointed with it, so a resume continues it exactly).

    Attributes
    ----------
    steps_done : int
        MD steps of this stage so far.
    owed : float
        Fractional Li still to exchange at the stage's rate.
    idle : int
        Intervals in a row without a possible move (compared with ``patience_intervals``).
    batches : int
        Exchange intervals that moved Li.
    lammps_step0 : int
        LAMMPS' step counter when the stage began.
    li_ref : int or None
        The Li count the stage's rate refers to.
    stop_reason : str or None
        Why the stage ended (e.g. "x_final reached").
    t0_ps : float
        Simulated time when the stage began, ps.
    wall_s, bookkeeping_s : float
        Wall seconds of the stage, and of them the seconds spent choosing and exchanging Li.
    li0 : int
        Li atoms when the stage began.
    moves : MoveCounts
        Electrochemical moves of this stage.
    evaluations : int
        Energy single points of the whole structure in this stage.
    local_evaluations : int
        Energy single points of small clusters in this stage (galvanostatic
        :class:`~dealloy.engine.electrochem.LocalEnergies`).
    cv_start : int or None
        ``steps_done`` when the constant-voltage hold began (galvanostatic with ``cv_time_ps``).
    cv_start_ps : float or None
        Simulated time when it began, ps.
    last_voltage_v : float or None
        Last applied or removal voltage, V vs Li/Li+.
    vacancies : list of list of float
        Positions (Å) of the sites Li left, for re-insertion (potentiostatic).
    e_start_minimised_ev : float or None
        Energy of the stage's starting structure minimised in a separate instance, eV
        (electrochemical stages; for the energy-balance voltage).
    """

    steps_done: int = 0
    owed: float = 0.0
    idle: int = 0
    batches: int = 0
    lammps_step0: int = 0
    li_ref: int | None = None
    stop_reason: str | None = None
    t0_ps: float = 0.0
    wall_s: float = 0.0
    li0: int = 0
    bookkeeping_s: float = 0.0
    # electrochemical stages
    moves: MoveCounts = Field(default_factory=MoveCounts)
    evaluations: int = 0
    local_evaluations: int = 0
    cv_start: int | None = None  # steps_done when the CV hold began
    cv_start_ps: float | None = None
    last_voltage_v: float | None = None
    vacancies: list[list[float]] = Field(default_factory=list)  # Å, sites Li left (reinsertion)
    e_start_minimised_ev: float | None = None


class EngineState(_Model):
    """Everything the engine needs to continue a run exactly (``checkpoint/state.json``).

    Attributes
    ----------
    version : int
        Format version (:data:`STATE_VERSION` when written).
    stage_index : int
        Stages finished.
    stage : StageProgress or None
        Progress of the stage at ``stage_index`` (None: not begun).
    md_step : int
        MD steps so far (minimisation does not advance it; time = ``md_step`` x timestep).
    lammps_step : int
        LAMMPS' own step counter (minimisation iterations included).
    rng : dict
        The numpy bit-generator state of the run's random stream.
    next_id : int
        First free atom id (for inserted Li).
    n_li, n_si : int
        Li and Si atoms now.
    li_start, si_start : int
        Li and Si atoms of the starting particle.
    n_removed, n_inserted : int
        Li removed and inserted so far.
    n_batches : int
        Exchange intervals that moved Li.
    n_lost : dict
        Atoms lost or detached by species (``Li``, ``Si``), under ``allow_atom_loss``.
    velocities : bool
        Whether the atoms have velocities (else they are drawn at the first MD stage).
    stage_reports : list of StageReport
        The finished stages.
    thermo_bytes, events_bytes : int or None
        Byte lengths of thermo.csv and events.csv at the checkpoint (a resume cuts to them).
    checkpoint_count : int
        Checkpoints written.
    wall_s : float
        Wall seconds so far, over all segments.
    core_s : float or None
        Core seconds (wall x ranks, summed over segments); None in older checkpoints.
    build_wall_s, build_core_s : float or None
        Wall and core seconds from the start of the run to the built particle, over every
        segment of the build (None: a ``particle.file`` run or an older checkpoint).
    build_resumed : bool or None
        The particle's build continued from a build checkpoint.
    finished : bool
        The run is done.
    atoms_file : str or None
        The checkpoint's atoms file, ``atoms-NNNNN.npz`` beside state.json.
    config : dict or None
        The resolved run config (a resume refuses a changed one).
    electro : ElectroCounters or None
        Counters of electrochemical stages (runs that have them).
    """

    version: int = STATE_VERSION
    stage_index: int = 0
    stage: StageProgress | None = None  # None: the stage at stage_index has not begun
    md_step: int = 0
    lammps_step: int = 0
    rng: dict[str, Any]
    next_id: int
    n_li: int
    n_si: int
    li_start: int
    si_start: int
    n_removed: int = 0
    n_inserted: int = 0
    n_batches: int = 0
    n_lost: dict[Literal["Li", "Si"], int] = Field(default_factory=lambda: {"Li": 0, "Si": 0})
    velocities: bool = False
    stage_reports: list[StageReport] = Field(default_factory=list)
    thermo_bytes: int | None = None
    events_bytes: int | None = None
    checkpoint_count: int = 0
    wall_s: float = 0.0
    core_s: float | None = None  # None: a checkpoint from before core time was recorded
    build_wall_s: float | None = None
    build_core_s: float | None = None
    build_resumed: bool | None = None
    finished: bool = False
    atoms_file: str | None = None
    config: dict[str, Any] | None = None
    electro: ElectroCounters | None = None

    @field_validator("stage", mode="before")
    @classmethod
    def _empty_stage(cls, v):
        return v or None  # version 1 wrote {} for "not begun"

    @property
    def x(self) -> float:
        """Li/Si now (NaN without Si)."""
        return self.n_li / self.n_si if self.n_si else float("nan")

    # ---- file ------------------------------------------------------------------------------
    @classmethod
    def read(cls, path: Path) -> EngineState | None:
        """Read the state in ``path``.

        Parameters
        ----------
        path : pathlib.Path
            ``checkpoint/state.json``.

        Returns
        -------
        EngineState or None
            The state (version 1 files are read as they are); None if there is no file.

        Raises
        ------
        ConfigError
            The file is not a state this dealloy can continue (unreadable, or newer).
        """
        path = Path(path)
        if not path.is_file():
            return None
        return read_versioned(cls, path, path.read_text(), STATE_VERSION, "checkpoint",
                              "resume it with that version, or start again with --overwrite",
                              "start again with --overwrite")

    def write(self, path: Path, comm=None) -> None:
        """Write the state atomically on rank 0, stamped with this version.

        Parameters
        ----------
        path : pathlib.Path
            ``checkpoint/state.json`` (temp file + rename).
        comm : mpi4py.MPI.Comm, optional
            The communicator; every rank calls (collective).
        """
        self.version = STATE_VERSION
        write_text(path, self.model_dump_json(indent=2) + "\n", comm, collective=True)


def write_atoms(path: Path, ids, types, x, v, cell, pbc) -> None:
    """Write the atoms of a checkpoint (rank 0 only) to a temp file and rename it.

    Parameters
    ----------
    path : pathlib.Path
        ``checkpoint/atoms-NNNNN.npz``.
    ids, types : numpy.ndarray
        Atom ids and LAMMPS types (1 Li, 2 Si), shape (N,), sorted by id.
    x : numpy.ndarray
        Positions, shape (N, 3), Å.
    v : numpy.ndarray
        Velocities, shape (N, 3), in the potential's native LAMMPS units (Å/ps for ``metal``).
    cell : array_like
        Cell rows, shape (3, 3), Å.
    pbc : sequence of bool
        Periodicity of the three axes.
    """
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, ids=ids, types=types, x=x, v=v, cell=np.asarray(cell),
                     pbc=np.array(pbc))


def read_atoms(path: Path) -> dict[str, np.ndarray]:
    """Read the arrays :func:`write_atoms` wrote.

    Parameters
    ----------
    path : pathlib.Path
        ``checkpoint/atoms-NNNNN.npz``.

    Returns
    -------
    dict of str to numpy.ndarray
        ``ids``, ``types``, ``x``, ``v``, ``cell``, ``pbc`` (units as in :func:`write_atoms`).
    """
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


__all__ = ["STATE_VERSION", "EngineState", "StageProgress", "StageReport", "ElectroCounters",
           "MoveCounts", "MoveCount", "write_atoms", "read_atoms"]

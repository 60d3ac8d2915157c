"""Checkpoints and the run record: the engine's state on disk.

:class:`CheckpointMixin` is the part of :class:`~dealloy.engine.run.Engine` that creates the
state of a fresh run, reads a checkpoint (``checkpoint/state.json`` +
``checkpoint/atoms-NNNNN.npz``, :mod:`dealloy.engine.state`), writes one (atomic, consistent
pair, every ``checkpoint_ps`` and on a signal) and writes run.json
(:class:`~dealloy.engine.record.RunRecord`). Rank 0 reads and writes; every rank learns the result.

Before the MD, a builder's particle is protected by the build checkpoint
(``build-checkpoint/``: :data:`BUILD_JSON` with the resolved config and the build's wall and core
seconds so far, beside the MD routes' own files, :mod:`dealloy.builders.checkpoint`). It is
deleted by the run's first checkpoint, when the particle is safe in ``checkpoint/``.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
from ase import Atoms

from dealloy.config.run import resolved_dict
from dealloy.engine.record import PotentialRecord, RunRecord, software_versions
from dealloy.engine.state import EngineState, read_atoms, write_atoms
from dealloy.errors import ConfigError
from dealloy.lammps.potentials import ELEMENTS

#: The build checkpoint's own record, in ``<run>/build-checkpoint/``.
BUILD_JSON = "build.json"


def read_build_json(path: Path) -> dict | None:
    """Read a build checkpoint's record (``build-checkpoint/build.json``).

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    dict or None
        ``config`` (the resolved run config), ``wall_s`` and ``core_s`` (the build's seconds so
        far); None when there is no file.

    Raises
    ------
    ConfigError
        One line naming the file when it is not JSON or not such a record.
    """
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable build checkpoint ({exc}); start again with "
                          "--overwrite") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a build checkpoint; start again with --overwrite")
    return data


class CheckpointMixin:
    """State, checkpoints and run.json of an :class:`~dealloy.engine.run.Engine`."""

    def _fresh_state(self, atoms) -> EngineState:
        sym = np.array(atoms.get_chemical_symbols())
        n_li, n_si = int((sym == "Li").sum()), int((sym == "Si").sum())
        rng = np.random.default_rng(self.cfg.seed)
        return EngineState(
            rng=rng.bit_generator.state, next_id=len(atoms) + 1, n_li=n_li, n_si=n_si,
            li_start=n_li, si_start=n_si,
            velocities=bool(atoms.has("momenta") and np.any(atoms.get_momenta())),
            core_s=0.0, config=resolved_dict(self.cfg))

    def _load_state(self) -> EngineState | None:
        """Read the checkpoint's state on rank 0, broadcast it (None: none); a bad one fails on all ranks."""
        return self._on_rank0(lambda: EngineState.read(self.rd.checkpoint_dir / "state.json"))

    def _checkpoint_atoms(self, state):
        data = None
        if self.rank == 0:
            data = read_atoms(self.rd.checkpoint_dir / state.atoms_file)
        data = self.comm.bcast(data, root=0)
        atoms = Atoms([ELEMENTS[t - 1] for t in data["types"]], positions=data["x"],
                      cell=data["cell"], pbc=data["pbc"])
        atoms.arrays["id"] = data["ids"].astype(int)
        self._resume_v = data["v"]
        self._resume_ids = data["ids"].astype(int)
        return atoms

    def checkpoint(self) -> None:
        """Write a checkpoint: the atoms (exact positions and velocities) and the engine state.

        ``checkpoint/atoms-NNNNN.npz`` and ``checkpoint/state.json`` form a consistent pair, each
        written to a temp file and renamed; the previous atoms file is removed after the new
        state points at the new one, and run.json is rewritten (status ``running``). With
        ``lammps_restart`` LAMMPS' own restart file is written too. Collective: every rank calls.
        """
        s = self.session
        raw_ids = s.gather("id", 0, 1).astype(np.int64)
        order = np.argsort(raw_ids)
        ids = raw_ids[order]
        types = s.gather("type", 0, 1).astype(np.int64)[order]
        x = s.gather("x", 1, 3)[order]
        v = s.gather("v", 1, 3)[order]
        n = self.st.checkpoint_count + 1
        self.st.checkpoint_count = n
        self.st.lammps_step = self._lammps_step()
        self.st.thermo_bytes = self.thermo_log.tell()
        self.st.events_bytes = self.events_log.tell()
        elapsed = time.time() - self._t_start
        self.st.wall_s = self.wall_before + elapsed
        self.st.core_s = self.core_before + elapsed * self.nranks
        self._stage_wall_now()
        old = self.st.atoms_file
        self.st.atoms_file = f"atoms-{n:05d}.npz"
        if self.rank == 0:
            self.thermo_log.fsync()
            self.events_log.fsync()
            cell = s._cell0.array if not any(s.pbc) else s.cell_matrix()
            write_atoms(self.rd.checkpoint_dir / self.st.atoms_file, ids, types, x, v, cell, s.pbc)
        if self.cfg.lammps_restart:
            self._write_lammps_restart()
        self.st.write(self.rd.checkpoint_dir / "state.json", self.comm)
        if self.rank == 0 and old and old != self.st.atoms_file:
            (self.rd.checkpoint_dir / old).unlink(missing_ok=True)
        self._drop_build_checkpoint()  # the particle is safe in checkpoint/ now
        self._write_run_json("running")

    def _drop_build_checkpoint(self) -> None:
        """Delete ``build-checkpoint/`` (rank 0) if it exists; collective."""
        if self.rank == 0 and self.rd.build_checkpoint_dir.is_dir():
            shutil.rmtree(self.rd.build_checkpoint_dir, ignore_errors=True)
        self.comm.Barrier()

    def _write_run_json(self, status: str, error: str | None = None) -> None:
        st = self.st
        elapsed = time.time() - self._t_start
        record = RunRecord(
            status=status, error=error, config=resolved_dict(self.cfg),
            versions=software_versions(),
            potential=PotentialRecord(name=self.potential.name,
                                      file_hashes=self.potential.file_hashes(),
                                      citation=self.potential.citation),
            seed=self.cfg.seed, ranks=self.nranks,
            wall_time_s=round(self.wall_before + elapsed, 3),
            core_time_s=round(self.core_before + elapsed * self.nranks, 3),
            build_wall_time_s=st.build_wall_s, build_core_time_s=st.build_core_s,
            build_resumed=st.build_resumed, time_ps=round(self.t_ps, 6), stage_index=st.stage_index,
            n_stages=len(self.cfg.stages), si_start=st.si_start, si_end=st.n_si,
            li_start=st.li_start, li_end=st.n_li, x_start=st.li_start / st.si_start,
            x_end=self._x(), n_removed=st.n_removed, n_inserted=st.n_inserted,
            n_batches=st.n_batches, n_lost=st.n_lost, stages=st.stage_reports,
            checkpoints=st.checkpoint_count, bookkeeping_s=round(self.bookkeeping_s, 4),
            md_s=round(self.md_s, 4), electrochem=st.electro)
        record.write(self.rd.run_json, self.comm)

    def summary(self, status: str) -> RunRecord:
        """Read run.json on rank 0 and return its data on every rank.

        Parameters
        ----------
        status : str
            The status to report when there is no run.json.

        Returns
        -------
        RunRecord
            run.json's record, or a record with only ``status`` without one.

        Raises
        ------
        ConfigError
            When run.json is not a run record this dealloy can read.
        """
        rec = self._on_rank0(lambda: RunRecord.read(self.rd.run_json))
        return rec if rec is not None else RunRecord(status=status)

    def _on_rank0(self, read):
        """Call ``read()`` on rank 0; its result (or its ConfigError, as one line) on every rank."""
        out, err = None, None
        if self.rank == 0:
            try:
                out = read()
            except ConfigError as exc:
                err = str(exc)
        out, err = self.comm.bcast((out, err), root=0)
        if err:
            raise ConfigError(err)
        return out


"""The run directory's files and the LAMMPS session that writes into it.

:class:`OutputsMixin` is the part of :class:`~dealloy.engine.run.Engine` that prepares the run
directory (config.toml, initial.extxyz, thermo.csv, events.csv, cut back to a checkpoint on
resume), opens the LAMMPS session (:class:`~dealloy.lammps.session.LammpsSession`) with the
trajectory dump and the user's ``lammps_commands``, writes thermo rows, the final structure, and
closes everything (merging a resumed trajectory).
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np

from dealloy.checks import lammps_quote
from dealloy.config.run import DUMP_COLUMNS, dump_run_config, steps_of
from dealloy.engine.recorder import (
    EVENT_COLUMNS,
    THERMO_COLUMNS,
    CsvLog,
    final_structure_info,
    merge_trajectory,
)
from dealloy.lammps.session import LammpsSession
from dealloy.errors import SimulationError
from dealloy.io import write_structure, write_text
from dealloy.lammps.potentials import ELEMENTS

#: extra events.csv columns of runs with electrochemical stages: the move's energy change
#: E_after - E_before (eV), ``voltage_v`` (V vs Li/Li+: applied, or the removal voltage in
#: galvanostatic mode; kept as it was for older readers) and whether the move was accepted (1/0);
#: rejected moves are ``reject-remove`` / ``reject-insert`` rows. Then the same potential split
#: by meaning: ``applied_voltage_v`` (the applied U of potentiostatic and CV-hold moves; empty
#: for constant-current removals), ``removal_voltage_v`` (every move's own U_rem = ΔE + mu_Li(bcc)
#: for a removal, mu_Li(bcc) - ΔE for an insertion), and for constant-current removals
#: ``n_candidates`` (accessible Li ranked) and ``candidates_median_voltage_v`` (their median
#: removal voltage; the removal voltage is their minimum). Files written before those four
#: columns existed end at ``accepted``; a resumed run keeps writing the header it finds.
ELECTROCHEM_EVENT_COLUMNS = ["delta_e_ev", "voltage_v", "accepted", "applied_voltage_v",
                             "removal_voltage_v", "n_candidates", "candidates_median_voltage_v"]


class _EventLog(CsvLog):
    """events.csv with the electrochemical columns; geometric rows are padded with empty cells.

    A run resumed into an events.csv of an older dealloy (a prefix of today's columns) keeps
    that file's header and writes only its columns, so the file stays one valid table.
    """

    def open(self, truncate_to: int | None = None) -> None:
        """Open as :meth:`CsvLog.open`; when continuing a file, adopt its (older) header."""
        if self.active and truncate_to is not None and self.path.exists():
            with open(self.path, newline="") as fh:
                head = fh.readline().rstrip("\r\n").split(",")
            if len(head) < len(self.columns) and head == self.columns[:len(head)]:
                self.columns = head
        super().open(truncate_to)

    def rows(self, rows) -> None:
        n = len(self.columns)
        super().rows([(tuple(r) + ("",) * (n - len(r)))[:n] for r in rows])



class OutputsMixin:
    """Files and session of an :class:`~dealloy.engine.run.Engine`."""

    def _prepare_files(self, state, atoms) -> None:
        rd = self.rd
        if self.rank == 0:
            rd.path.mkdir(parents=True, exist_ok=True)
            rd.checkpoint_dir.mkdir(exist_ok=True)
        self.comm.Barrier()
        if self.config_path is None or Path(self.config_path).resolve() != rd.config.resolve():
            write_text(rd.config, dump_run_config(self.cfg), self.comm, collective=True)
        if state is None:
            write_structure(rd.initial_structure, atoms, format="extxyz", comm=self.comm,
                            collective=True)
            if self.rank == 0:
                for p in (rd.path / "traj.lammpstrj.gz", rd.path / "traj.lammpstrj",
                          rd.checkpoint_dir / "traj.part.lammpstrj.gz",
                          rd.checkpoint_dir / "traj.part.lammpstrj"):
                    p.unlink(missing_ok=True)
                for p in rd.checkpoint_dir.glob("*"):
                    p.unlink()
        self.comm.Barrier()
        active = self.rank == 0
        self.thermo_log = CsvLog(rd.thermo_csv, THERMO_COLUMNS, active)
        if self._electro_run:
            self.events_log = _EventLog(rd.events_csv, EVENT_COLUMNS + ELECTROCHEM_EVENT_COLUMNS,
                                        active)
        else:
            self.events_log = CsvLog(rd.events_csv, EVENT_COLUMNS, active)
        self.thermo_log.open(None if state is None else state.thermo_bytes)
        self.events_log.open(None if state is None else state.events_bytes)

    def _open_session(self, atoms, state) -> None:
        rd = self.rd
        log = rd.lammps_log if state is None else None
        try:
            self.session = LammpsSession(atoms, self.potential, comm=self.comm, log=log)
        except SimulationError as exc:
            raise SimulationError(f"setting up LAMMPS: {exc}") from exc
        s = self.session
        self._gz_ok = bool(s.lmp.has_gzip_support)
        if state is not None:
            self.cmd(f"log {lammps_quote(rd.lammps_log)} append")
            t_native = s.units.to_native_time(state.md_step * self.dt)
            self.cmd(f"reset_timestep {state.lammps_step} time {t_native}")
            v = np.ascontiguousarray(self._resume_v, dtype=np.float64).ravel()
            ids = [int(i) for i in self._resume_ids]
            s.lmp.scatter_atoms_subset("v", 1, 3, len(ids), (ctypes.c_int * len(ids))(*ids),
                                       (ctypes.c_double * v.size)(*v))
        s.timestep_ps(self.dt)
        self.thermo_steps = steps_of(self.cfg.thermo_interval_ps, self.dt)
        self.ckpt_steps = steps_of(self.cfg.checkpoint_ps, self.dt)
        self.cmd(f"thermo {self.thermo_steps}")
        self.cmd("thermo_modify norm no")
        if not any(s.pbc):
            self.cmd("fix dealloy_mom all momentum 100 linear 1 1 1 angular")
        # trajectory: straight into traj.* on a fresh run; into checkpoint/traj.part.* after a
        # resume (merged into traj.* at the end), so the trajectory stays one valid stream
        suffix = ".lammpstrj.gz" if self._gz_ok else ".lammpstrj"
        self.traj = rd.path / f"traj{suffix}"
        self.traj_part = None if state is None else rd.checkpoint_dir / f"traj.part{suffix}"
        if state is not None and self.rank == 0:
            merge_trajectory(self.traj, rd.checkpoint_dir / f"traj.part{suffix}",
                             state.lammps_step)
        self.comm.Barrier()
        self.dump_every = (steps_of(self.cfg.dump_interval_ps, self.dt)
                           if self.cfg.dump_interval_ps > 0 else 10**9)
        if "pe" in self.cfg.dump_columns:
            self.cmd("compute dealloy_pe all pe/atom")
        self._open_dump(first=True, append=False)
        if self.cfg.lammps_restart and self.rank == 0:
            write_text(rd.path / "lammps-continue.in", self._continue_script())

    def _open_dump(self, first: bool, append: bool) -> None:
        """Define the trajectory dump again (``first``: a frame at the next setup; ``append``: continue)."""
        target = self.traj_part or self.traj
        style = "custom/gz" if self._gz_ok else "custom"
        extra = "".join(f" {DUMP_COLUMNS[c]}" for c in self.cfg.dump_columns)
        self.cmd(f"dump dealloy_traj all {style} {self.dump_every} {lammps_quote(target, True)} "
                 f"id element x y z{extra}")
        self.cmd(f"dump_modify dealloy_traj element {' '.join(ELEMENTS)} sort id "
                 f"first {'yes' if first else 'no'} append {'yes' if append else 'no'} "
                 "time yes")  # ITEM: TIME = simulated time (minimisation excluded)
        self._need_setup = True

    def _user_commands(self, point: str) -> None:
        """Apply the run config's ``lammps_commands`` entries for ``point`` (setup/each_stage)."""
        for k, entry in enumerate(self.cfg.lammps_commands):
            if entry.at != point:
                continue
            for line in entry.commands:
                try:
                    self.cmd(line)
                except SimulationError as exc:
                    raise SimulationError(f"lammps_commands[{k}] (at {point}): {exc}") from None

    def _write_lammps_restart(self) -> None:
        """Write checkpoint/lammps.restart, LAMMPS' own restart file, via a temp name and a rename."""
        final = self.rd.checkpoint_dir / "lammps.restart"
        tmp = final.with_name(".lammps.restart.tmp")
        self.cmd(f"write_restart {lammps_quote(tmp)}")
        self.comm.Barrier()
        if self.rank == 0:
            os.replace(tmp, final)

    def _continue_script(self) -> str:
        """Return a LAMMPS input continuing this run from checkpoint/lammps.restart in plain LAMMPS."""
        pot = self.session.potential
        lines = [f"# continue dealloy run {self.rd.path.name} in plain LAMMPS ({pot.name}):",
                 "#   lmp -in lammps-continue.in   (from this run directory)",
                 "# then add your own fixes (e.g. fix nve + langevin) and run",
                 f"units {pot.units.style}",
                 "read_restart checkpoint/lammps.restart",
                 *pot.pair_commands(),
                 f"timestep {self.session.units.to_native_time(self.dt)}",
                 "thermo_style custom step time temp pe ke etotal press vol atoms",
                 "run 0"]
        return "\n".join(lines) + "\n"

    def _thermo_row(self) -> None:
        s = self.session
        temp = s.thermo("temp")
        pe = s.thermo("pe") * s.units.energy_ev
        n = self.st.n_li + self.st.n_si
        self.thermo_log.rows([(round(self.t_ps, 6), round(temp, 3), pe, n, self.st.n_li,
                               self.st.n_si, round(self._x(), 5), self._stage_label)])

    def _finish(self) -> None:
        self._stage_label = "final"
        # final frame (if the dump did not just write it)
        self.cmd("dump_modify dealloy_traj every 1")
        self.cmd("run 0 post no")
        self.cmd(f"dump_modify dealloy_traj every {self.dump_every}")
        atoms = self.session.get_atoms()
        atoms.info.update(final_structure_info(  # time, x, potential: final.extxyz stands alone
            self.t_ps, self.st.n_li, self.st.n_si, self.cfg.potential, self.cfg.seed,
            self.cfg.temperature_k, self.st.n_removed, self.st.n_inserted,
            self.cfg.particle.builder))
        write_structure(self.rd.final_structure, atoms, format="extxyz", comm=self.comm,
                        collective=True)
        write_structure(self.rd.final_data, atoms, comm=self.comm, collective=True,
                        velocities=False)
        self.st.finished = True
        self.checkpoint()

    def _close(self, status: str, error: str | None) -> None:
        if self.session is not None and self.session.lmp is not None:
            try:
                self.session.command("undump dealloy_traj")
            except Exception:  # noqa: BLE001 - closing after a LAMMPS error
                pass
        self.comm.Barrier()
        if self.rank == 0 and self.traj_part is not None:
            # after a resume: append the continuation (up to the last checkpoint when not done)
            max_step = None if status == "done" else self.st.lammps_step
            merge_trajectory(self.traj, self.traj_part, max_step)
        self.thermo_log.close()
        self.events_log.close()
        if self.session is not None:
            self.session.close()
        self.comm.Barrier()
        self._write_run_json(status, error)


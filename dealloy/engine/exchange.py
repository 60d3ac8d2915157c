"""Geometric Li removal and insertion (``extract`` / ``insert`` stages) and the atom accounting.

:class:`ExchangeMixin` is the part of :class:`~dealloy.engine.run.Engine` that, every
``interval_ps`` of an exchange stage, selects Li on rank 0 (:mod:`dealloy.engine.selectors`,
from gathered positions, with the run's one random stream), broadcasts the choice, deletes or
creates the atoms in LAMMPS and logs them to events.csv; and that checks after each stage that
Si is conserved and no atom was lost; and that deletes (or fails the run for) atoms that have
left the particle, whenever the structure may have changed.
"""

from __future__ import annotations

import math
import time

import numpy as np
from ase import Atoms

from dealloy.engine.selectors import choose, insertion_sites, removal_candidates
from dealloy.errors import SimulationError
from dealloy.lammps.potentials import ELEMENTS
from dealloy.materials import EV_PER_AMU_A2_PS2, UNITS  # CODATA 2018

LI, SI = 1, 2  # LAMMPS types (ELEMENTS order)


class ExchangeMixin:
    """Geometric removal and insertion of Li: the ``extract``/``insert`` part of an Engine.

    A mixin of :class:`~dealloy.engine.run.Engine`; it uses the engine's ``st``, ``session``,
    ``events_log``, ``comm`` and ``rank``.

    References
    ----------
    K. J. Kim, J. Wortman, S.-Y. Kim, Y. Qi, "Atomistic Simulation Derived Insight on the
    Irreversible Structural Changes of Si Electrode during Fast and Slow Delithiation", Nano Lett.
    17 (2017) 4330-4338, doi:10.1021/acs.nanolett.7b01389 (batches of Li removed every interval,
    the MD relaxing the particle in between).
    """

    def _gather(self):
        s = self.session
        ids = s.gather("id", 0, 1).astype(np.int64)
        types = s.gather("type", 0, 1).astype(np.int64)
        x = s.gather("x", 1, 3)
        order = np.argsort(ids)  # LAMMPS' storage order varies (sorting, ranks, resume)
        return ids[order], types[order], x[order]

    def _exchange(self, stage, prog: dict, per_interval: float) -> None:
        t = time.perf_counter()
        prog.owed += per_interval
        need = abs(self.st.n_li - self._target(stage))
        k = min(int(math.floor(prog.owed + 1e-9)), need)
        prog.owed -= int(math.floor(prog.owed + 1e-9))
        if k <= 0:
            self.bookkeeping_s += time.perf_counter() - t
            return
        if stage.type == "extract":
            done = self._remove(stage, k)
        else:
            done = self._insert(stage, k)
        prog.batches += 1 if done else 0
        self.st.n_batches += 1 if done else 0
        prog.idle = 0 if done else prog.idle + 1
        if prog.idle >= stage.patience_intervals:
            prog.stop_reason = (f"no {'removable Li' if stage.type == 'extract' else 'site'} "
                                   f"for {prog.idle} intervals")
        dt = time.perf_counter() - t
        self.bookkeeping_s += dt
        prog.bookkeeping_s += dt

    def _rng(self) -> np.random.Generator:
        rng = np.random.default_rng()
        rng.bit_generator.state = self.st.rng
        return rng

    def _remove(self, stage, k: int) -> int:
        ids, types, x = self._gather()
        chosen = None
        if self.rank == 0:
            rng = self._rng()
            cand = removal_candidates(
                stage.selector, x, types == LI,
                probe_radius_angstrom=stage.probe_radius_angstrom,
                voxel_angstrom=stage.voxel_angstrom,
                surface_depth_angstrom=stage.surface_depth_angstrom,
                shell_width_angstrom=stage.shell_width_nm * 10.0)
            chosen = choose(cand, k, rng)
            self.st.rng = rng.bit_generator.state
        chosen = self.comm.bcast(chosen, root=0)
        self.st.rng = self.comm.bcast(self.st.rng, root=0)
        if len(chosen) == 0:
            return 0
        gone = ids[chosen]
        self._delete_ids(gone)
        self.st.n_li -= len(gone)
        self.st.n_removed += len(gone)
        t = round(self.t_ps, 6)
        self.events_log.rows([(t, stage.type, "remove", int(i), "Li", *(round(float(c), 4)
                               for c in x[j])) for i, j in zip(gone, chosen)])
        return len(gone)

    def _delete_ids(self, ids) -> None:
        self.session.delete_atoms(ids)
        self._need_setup = True

    def _insert(self, stage, k: int) -> int:
        ids, types, x = self._gather()
        payload = None
        if self.rank == 0:
            rng = self._rng()
            sites = insertion_sites(x, k, rng,
                                    site_distance_angstrom=stage.site_distance_angstrom,
                                    probe_radius_angstrom=stage.probe_radius_angstrom,
                                    voxel_angstrom=stage.voxel_angstrom)
            t_k = self.cfg.stage_temperature(stage)
            sigma = math.sqrt(UNITS["kB"] * t_k
                              / (self.potential.masses_amu["Li"] * EV_PER_AMU_A2_PS2))
            v = rng.normal(0.0, sigma, size=sites.shape) * self.session.units.time_ps
            payload = (sites, v, rng.bit_generator.state)
        sites, v, self.st.rng = self.comm.bcast(payload, root=0)
        n = len(sites)
        if n == 0:
            return 0
        new_ids = list(range(self.st.next_id, self.st.next_id + n))
        self.st.next_id += n
        self.session.lmp.create_atoms(n, new_ids, [LI] * n, [float(c) for c in sites.ravel()],
                                      [float(c) for c in v.ravel()], shrinkexceed=True)
        self.session.commands(self.potential.after_create_commands())  # ReaxFF: bond slots
        self._need_setup = True
        if self.session.natoms != self.st.n_li + self.st.n_si + n:
            raise SimulationError(f"LAMMPS created {self.session.natoms - self.st.n_li - self.st.n_si}"
                                  f" of {n} inserted Li")
        self.st.n_li += n
        self.st.n_inserted += n
        t = round(self.t_ps, 6)
        self.events_log.rows([(t, stage.type, "insert", i, "Li", *(round(float(c), 4) for c in p))
                              for i, p in zip(new_ids, sites)])
        return n

    def _check_atoms(self, where: str) -> None:
        """Si conserved exactly; atoms lost by LAMMPS counted; atoms that have left, deleted.

        Atoms lost by LAMMPS fail the run unless ``allow_atom_loss``; then
        :meth:`_remove_evaporated`.

        Parameters
        ----------
        where : str
            The run's place, for the message.

        Raises
        ------
        SimulationError
            Atoms lost or left, and ``allow_atom_loss`` is false.
        """
        ids, types, x = self._gather()
        n_li, n_si = int((types == LI).sum()), int((types == SI).sum())
        lost = {"Li": self.st.n_li - n_li, "Si": self.st.n_si - n_si}
        if any(lost.values()):
            msg = f"{where}: atoms lost by LAMMPS: {lost['Li']} Li, {lost['Si']} Si"
            if not self.cfg.allow_atom_loss:
                raise SimulationError(msg + ". Si must be conserved; lower the temperature/rate, "
                                      "or set allow_atom_loss = true to count them and go on")
            self._log("warning: " + msg + " (allow_atom_loss: counted)")
            for sp in ("Li", "Si"):
                self.st.n_lost[sp] += lost[sp]
            self.st.n_li, self.st.n_si = n_li, n_si
        self._remove_evaporated(where, gathered=(ids, types, x))

    def _remove_evaporated(self, where: str, halted: bool = False, gathered=None) -> None:
        """Find the atoms that have left the structure; fail the run, or delete and log them.

        An atom has left when fewer than ``evaporation_min_neighbours`` atoms lie within the
        potential's cutoff (periodic images included), after those found first are gone
        (:meth:`~dealloy.lammps.session.LammpsSession.evaporated_atoms`: on an affected ML-POD
        build also an atom a new session would refuse, so a checkpoint can always be resumed).
        Without ``allow_atom_loss`` this is a :class:`SimulationError` naming the time, species
        and counts; with it the atoms are deleted, logged as ``lost`` events and counted in
        ``n_lost``.

        Parameters
        ----------
        where : str
            The run's place, for the message.
        halted : bool
            LAMMPS paused the run for such an atom (``fix halt``): finding none is an error.
        gathered : tuple, optional
            ``self._gather()``'s ids, types and positions, when the caller has them.

        Raises
        ------
        SimulationError
            Atoms left and ``allow_atom_loss`` is false, or LAMMPS paused and none is found.
        """
        s = self.session
        ids, types, x = gathered if gathered is not None else self._gather()
        need, cutoff = s.evaporation_min_neighbours, float(self.potential.cutoff_angstrom)
        cell = s.cell_matrix() if any(s.pbc) else None
        gone = None
        if self.rank == 0:
            gone = s.evaporated_atoms(Atoms(positions=x, cell=cell, pbc=s.pbc))
        gone = self.comm.bcast(gone, root=0)
        if not gone.size:
            if halted:  # LAMMPS and dealloy must agree on what left
                raise SimulationError(
                    f"{where}: LAMMPS paused the run for an atom with fewer than {need} atom(s) "
                    f"within the {cutoff:g} A cutoff at step {s.current_step}, but none is there")
            return
        det = {"Li": int((types[gone] == LI).sum()), "Si": int((types[gone] == SI).sum())}
        msg = (f"{where}: {gone.size} atom(s) left the structure at t = {self.t_ps:.4f} ps: "
               f"{det['Li']} Li, {det['Si']} Si (fewer than {need} other atom(s) within the "
               f"potential's {cutoff:g} A cutoff)")
        if not self.cfg.allow_atom_loss:
            raise SimulationError(msg + ". Si must be conserved; lower the temperature/rate, "
                                  "or set allow_atom_loss = true to delete them and go on")
        self._log("warning: " + msg + " (allow_atom_loss: deleted)")
        t = round(self.t_ps, 6)
        self.events_log.rows([(t, self._stage_label, "lost", int(ids[j]), ELEMENTS[types[j] - 1],
                               *(round(float(c), 4) for c in x[j])) for j in gone])
        self._delete_ids(ids[gone])
        for sp in ("Li", "Si"):
            self.st.n_lost[sp] += det[sp]
        self.st.n_li -= det["Li"]
        self.st.n_si -= det["Si"]

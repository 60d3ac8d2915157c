"""Electrochemical Li exchange (``potentiostatic`` / ``galvanostatic`` stages) and tfMC.

:class:`ElectroExchangeMixin` is the part of :class:`~dealloy.engine.run.Engine` that, every
``interval_ps``, evaluates removal/insertion moves against the Li reservoir with the energy
single points of :mod:`dealloy.engine.electrochem`, applies the accepted ones, counts them
(:class:`~dealloy.engine.state.ElectroCounters`) and logs every move to events.csv.
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy.spatial import cKDTree

from dealloy.config.run import steps_of
from dealloy.engine.electrochem import (
    SinglePoints,
    cheapest_removals,
    maxwell_velocity,
    potentiostatic_sweep,
)
from dealloy.engine.exchange import LI
from dealloy.engine.selectors import ProbeGrid, removal_candidates
from dealloy.errors import SimulationError


class ElectroExchangeMixin:
    """Electrochemical exchange of an :class:`~dealloy.engine.run.Engine`."""

    def _gather_full(self):
        """ids, types, positions, velocities (native units), image flags; sorted by id."""
        s = self.session
        ids = s.gather("id", 0, 1).astype(np.int64)
        order = np.argsort(ids)
        return (ids[order], s.gather("type", 0, 1).astype(np.int64)[order],
                s.gather("x", 1, 3)[order], s.gather("v", 1, 3)[order],
                s.gather("image", 0, 1).astype(np.int64)[order])

    def _electro(self, stage, prog: dict, per_interval: float, fixes: list) -> list:
        """Run one interval of potentiostatic/galvanostatic exchange; return the thermostat fixes."""
        t_start = time.perf_counter()
        kind = stage.type
        cv = prog.cv_start is not None
        if cv and prog.steps_done - prog.cv_start >= steps_of(stage.cv_time_ps, self.dt):
            prog.stop_reason = "CV hold at cutoff_voltage_v done"
            return fixes
        k = 0
        if kind == "galvanostatic" and not cv:
            prog.owed += per_interval
            whole = int(math.floor(prog.owed + 1e-9))
            prog.owed -= whole
            k = min(whole, self.st.n_li - self._target(stage))
            if k <= 0:
                self._account(prog, t_start)
                return fixes
        ids, types, x, v, img = self._gather_full()
        reinsert = kind == "potentiostatic" and stage.reinsertion
        vac = [np.asarray(p, float) for p in prog.vacancies]
        payload = None
        if self.rank == 0:
            rng = self._rng()
            seed = int(rng.integers(2**63 - 1))  # one draw per interval: the stream never forks
            self.st.rng = rng.bit_generator.state
            is_li = types == LI
            if stage.accessible == "surface":
                cand = removal_candidates("surface", x, is_li,
                                          probe_radius_angstrom=stage.probe_radius_angstrom,
                                          voxel_angstrom=stage.voxel_angstrom,
                                          surface_depth_angstrom=stage.surface_depth_angstrom)
            else:
                cand = np.flatnonzero(is_li)
            free: list[int] = []
            if reinsert and vac:
                pts = np.array(vac)
                ok = cKDTree(x).query(pts)[0] >= stage.site_distance_angstrom
                if stage.accessible == "surface":
                    grid = ProbeGrid(x, stage.probe_radius_angstrom, stage.voxel_angstrom)
                    ok &= grid.depth(pts) <= stage.surface_depth_angstrom
                free = np.flatnonzero(ok).tolist()
            payload = (seed, [int(i) for i in ids[cand]], free, self.st.rng)
        seed, cand_ids, free, self.st.rng = self.comm.bcast(payload, root=0)
        rng = np.random.default_rng(seed)
        row = np.searchsorted(ids, cand_ids)
        atoms = {i: (x[j], v[j], int(img[j])) for i, j in zip(cand_ids, row)}
        t_k = self.cfg.stage_temperature(stage)
        mu = self.st.electro.mu_li_bcc_ev
        cut = False
        s = self.session
        with SinglePoints(s, quiet_log=str(self.rd.lammps_log)) as sp:
            if kind == "potentiostatic" or cv:
                if kind == "potentiostatic":
                    u_v = stage.voltage_at(self.t_ps - prog.t0_ps)
                    attempts = stage.attempts_per_interval
                else:
                    u_v, attempts = stage.cutoff_voltage_v, stage.cv_attempts_per_interval
                sub = [vac[i] for i in free]
                mass = self.potential.masses_amu["Li"]
                moves, self.st.next_id = potentiostatic_sweep(
                    sp, cand_ids, atoms, sub, u_v, mu, t_k, rng, attempts or None,
                    self.st.next_id,
                    lambda r: maxwell_velocity(r, t_k, mass, s.units.time_ps),
                    max_net_removals=self.st.n_li - self._target(stage))
                if reinsert:
                    kept = [p for j, p in enumerate(vac) if j not in set(free)]
                    prog.vacancies = [[float(c) for c in p] for p in kept + sub]
                prog.last_voltage_v = u_v
            else:
                if stage.max_candidates and len(cand_ids) > stage.max_candidates:
                    cand_ids = sorted(int(i) for i in rng.choice(cand_ids, stage.max_candidates,
                                                                 replace=False))
                cell = s.cell_matrix() if any(s.pbc) else None
                moves, cut = cheapest_removals(
                    sp, cand_ids, atoms, k, mu, 2 * self.potential.cutoff_angstrom + 0.5,
                    cutoff_voltage_v=stage.cutoff_voltage_v, cell=cell, pbc=s.pbc)
                if moves:
                    prog.last_voltage_v = moves[-1].voltage_v
        self._need_setup = True
        prog.evaluations += sp.n_evaluations
        self.st.electro.evaluations += sp.n_evaluations
        prog.local_evaluations += sp.n_local_evaluations
        self.st.electro.local_evaluations += sp.n_local_evaluations
        self._record_moves(stage, prog, moves, applied=kind == "potentiostatic" or cv)
        if kind == "galvanostatic" and not cv:
            if not cand_ids:
                prog.idle += 1
                if prog.idle >= stage.patience_intervals:
                    prog.stop_reason = f"no accessible Li for {prog.idle} intervals"
            else:
                prog.idle = 0
            if cut:
                if stage.cv_time_ps is not None:
                    prog.cv_start = prog.steps_done
                    prog.cv_start_ps = round(self.t_ps, 6)
                else:
                    prog.stop_reason = "cutoff_voltage_v reached"
        self._account(prog, t_start)  # tfMC steps count as MD (md_s), not as bookkeeping
        if stage.tfmc_steps_per_interval:
            fixes = self._tfmc(stage, fixes, int(rng.integers(1, 900_000_000)))
        return fixes

    def _account(self, prog: dict, t_start: float) -> None:
        dt = time.perf_counter() - t_start
        self.bookkeeping_s += dt
        prog.bookkeeping_s += dt

    def _record_moves(self, stage, prog: dict, moves, applied: bool) -> None:
        """Count the moves and log them to events.csv.

        ``applied``: the moves were made at an applied potential (potentiostatic, or the CV hold
        of a galvanostatic stage), whose U goes to ``applied_voltage_v``; otherwise they are
        constant-current removals (``applied_voltage_v`` empty, ``n_candidates`` and
        ``candidates_median_voltage_v`` set). ``removal_voltage_v`` is every move's own
        U_rem = ΔE + mu_Li(bcc) (removal) or mu_Li(bcc) - ΔE (insertion).

        Raises
        ------
        SimulationError
            When LAMMPS' atom count no longer matches the engine's.
        """
        t = round(self.t_ps, 6)
        mu = self.st.electro.mu_li_bcc_ev
        rows = []
        for m in moves:
            for counts in (prog.moves.side(m.kind), self.st.electro.moves.side(m.kind)):
                if m.accepted:
                    counts.accepted += 1
                else:
                    counts.rejected += 1
            if m.accepted and m.kind == "remove":
                self.st.n_li -= 1
                self.st.n_removed += 1
            elif m.accepted:
                self.st.n_li += 1
                self.st.n_inserted += 1
            event = m.kind if m.accepted else f"reject-{m.kind}"
            u_rem = (m.delta_e_ev + mu if m.kind == "remove" else mu - m.delta_e_ev)
            rows.append((t, stage.type, event, int(m.atom_id), "Li",
                         *(round(float(c), 4) for c in m.position), f"{m.delta_e_ev:.9g}",
                         f"{m.voltage_v:.9g}", int(m.accepted),
                         f"{m.voltage_v:.9g}" if applied else "", f"{u_rem:.9g}",
                         "" if m.n_candidates is None else int(m.n_candidates),
                         "" if m.candidates_median_voltage_v is None
                         else f"{m.candidates_median_voltage_v:.9g}"))
        self.events_log.rows(rows)
        if self.session.natoms != self.st.n_li + self.st.n_si:
            raise SimulationError(f"after Li exchange LAMMPS holds {self.session.natoms} atoms, "
                                  f"the engine counts {self.st.n_li + self.st.n_si}")

    def _tfmc(self, stage, fixes: list, seed: int) -> list:
        """Run tfMC steps in place of MD (LAMMPS ``fix tfmc``); return the re-created thermostat fixes.

        ``tfmc_steps_per_interval`` steps of time-stamped force-bias Monte Carlo (Mees et al.,
        Phys. Rev. B 85 (2012) 134301, doi:10.1103/PhysRevB.85.134301; Bal & Neyts, J. Chem. Phys.
        141 (2014) 204104, doi:10.1063/1.4902136, the references of LAMMPS' ``fix tfmc``):
        simulated time and the dump schedule do not advance.

        Returns
        -------
        list of str
            The ids of the thermostat fixes, re-created at the stage's temperature.
        """
        for f in fixes:
            self.cmd(f"unfix {f}")
        fixes.clear()  # the stage's list: nothing of them is left to remove if tfMC fails
        # the moves just made can strand a Li: look before tfMC's first force call
        self._remove_evaporated(f"{stage.type} stage, before tfMC")
        t_k = stage.tfmc_temperature_k or self.cfg.stage_temperature(stage)
        extra = "" if any(self.session.pbc) else " com 1 1 1 rot"
        self.cmd("dump_modify dealloy_traj every 1000000000")
        self.cmd("timestep 0.0")  # tfMC has no time; LAMMPS' clock (dump TIME) stays put
        self.cmd(f"fix dealloy_tfmc all tfmc {stage.tfmc_delta_angstrom} {t_k} {seed}{extra}")
        try:
            left = stage.tfmc_steps_per_interval
            while left > 0:  # LAMMPS pauses for an atom that leaves (watch_evaporation)
                step0 = self._lammps_step()
                t = time.perf_counter()
                self.cmd(f"run {left} post no")
                self.md_s += time.perf_counter() - t
                left -= self._lammps_step() - step0
                if left > 0:
                    self._remove_evaporated(f"{stage.type} stage, during tfMC", halted=True)
        finally:
            self.cmd("unfix dealloy_tfmc")
            self.session.timestep_ps(self.dt)
            self.cmd(f"dump_modify dealloy_traj every {self.dump_every}")
        self._need_setup = True
        self.st.electro.tfmc_steps += stage.tfmc_steps_per_interval
        t_now = self.cfg.stage_temperature(stage)
        return self._thermostat(t_now, t_now)


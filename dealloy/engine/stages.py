"""The protocol: stages run one after another, each MD stage in steps cut at every event.

:class:`StagesMixin` is the part of :class:`~dealloy.engine.run.Engine` that walks the config's
``stages`` (minimise, equilibrate/hold/anneal, extract/insert, potentiostatic/galvanostatic):
the MD schedule (thermo rows, exchange intervals, anneal windows, checkpoints and signal polls all
land on shared step boundaries), the thermostat, the stage's progress
(:class:`~dealloy.engine.state.StageProgress`) and its report
(:class:`~dealloy.engine.state.StageReport`). The exchange itself is in
:mod:`dealloy.engine.exchange` and :mod:`dealloy.engine.electro_exchange`.
"""

from __future__ import annotations

import contextlib
import math
import time

from dealloy.config.run import ELECTROCHEM_TYPES, steps_of
from dealloy.engine.electrochem import energy_balance_voltage_v, minimised_energy_ev
from dealloy.engine.state import StageProgress, StageReport
from dealloy.errors import DealloyError, SimulationError


class StagesMixin:
    """The stage loop of an :class:`~dealloy.engine.run.Engine`.

    A mixin; it uses the engine's ``cfg``, ``st``, ``session``, ``dt``, ``thermo_steps``,
    ``ckpt_steps`` and the other parts' methods.
    """

    def _protocol(self) -> None:
        stages = self.cfg.stages
        while self.st.stage_index < len(stages):
            i = self.st.stage_index
            stage = stages[i]
            if self.st.stage is None:
                self.st.stage = StageProgress(lammps_step0=self._lammps_step(), t0_ps=self.t_ps,
                                              li0=self.st.n_li)
            # the stage's wall time so far: what the checkpoint carried plus this segment's
            # (a checkpoint stores it up to its own moment, so resumed stages count every segment)
            self._stage_wall = (self.st.stage.wall_s, time.perf_counter())
            self._stage_label = stage.type
            self._user_commands("each_stage")
            try:
                if stage.type == "minimize":
                    self._minimize(stage)
                else:
                    self._md_stage(stage, self.st.stage)
            except SimulationError as exc:
                raise SimulationError(f"stage {i + 1}/{len(stages)} ({stage.type}) at t = "
                                      f"{self.t_ps:.3f} ps: "
                                      f"{exc}") from exc
            finally:
                self._stage_wall_now()
            self._end_stage(i, stage)

    def _stage_wall_now(self) -> None:
        if self.st.stage is not None and self._stage_wall is not None:
            before, t0 = self._stage_wall
            self.st.stage.wall_s = before + time.perf_counter() - t0

    def _lammps_step(self) -> int:
        return int(self.session.lmp.extract_global("ntimestep"))

    def _minimize(self, stage) -> None:
        # LAMMPS writes a dump frame at the end of a minimisation and counts the iterations as
        # elapsed time (that frame's TIME read t + iterations x dt, and the next MD frame fell
        # back to t + MD time). Its clock can only be reset with no dump defined: close the
        # dump, minimise, put LAMMPS' time back on the simulated time (md_step; the step counter
        # keeps the iterations), and continue the file. Before any MD the relaxed structure is
        # the trajectory's t = 0 frame (the unrelaxed one is initial.extxyz).
        self.cmd("undump dealloy_traj")
        self.session.minimize(ftol_ev_per_angstrom=stage.ftol_ev_per_angstrom,
                              maxiter=stage.maxiter)
        self._thermo_row()  # before the reset: LAMMPS tallied the energy on this step
        t_native = self.session.units.to_native_time(self.t_ps)
        self.cmd(f"reset_timestep {self._lammps_step()} time {t_native}")
        self._open_dump(first=self.st.md_step == 0, append=True)

    def _ensure_velocities(self, temperature_k: float) -> None:
        if not self.st.velocities:
            self.session.create_velocities(temperature_k, self.cfg.seed)
            self.st.velocities = True

    def _thermostat(self, t0: float, t1: float) -> list[str]:
        """Fix the run's thermostat from ``t0`` to ``t1`` (K); return its fix ids (seed follows the step)."""
        # pressure_bar set: isotropic barostat (nph under Langevin, npt for Nose-Hoover)
        barostat = self.cfg.pressure_bar is not None
        if self.cfg.thermostat == "langevin":
            ensemble = "langevin"
        else:  # nose-hoover
            ensemble = "npt" if barostat else "nvt"
        baro = dict(pressure_bar=self.cfg.pressure_bar, isobaric=True,
                    pressure_damping_ps=self.cfg.pressure_damping_ps) if barostat else {}
        fixes = self.session.thermostat(ensemble, t0, t1, self.cfg.damping_ps,
                                        seed=self.cfg.seed * 7919 + self.st.md_step + 1,
                                        fix_id="dealloy_th", **baro)
        self._need_setup = True
        return fixes

    def _run(self, n: int, ramp=None) -> None:
        """Run ``n`` MD steps, deleting (or failing on) atoms that leave (:meth:`_remove_evaporated`).

        Before a run that needs its setup (the structure or the fixes changed: a removal can
        strand a Li) dealloy looks for atoms that have left; during the run LAMMPS does, every
        ``HALT_EVERY_STEPS`` steps (``LammpsSession.watch_evaporation``, installed by
        :meth:`_md_stage`), and pauses; dealloy deletes them and runs the rest from that step.
        The caller looks again after the chunk's thermo row (a pause on the last step ends the
        run normally). So an atom that leaves takes part in at most that many force calls.
        """
        if self._need_setup:
            self._remove_evaporated(f"{self._stage_label} stage, before MD")
        left = n
        while left > 0:
            line = f"run {left}"
            if ramp is not None:
                line += f" start {ramp[0]} stop {ramp[1]}"
            if not self._need_setup:
                line += " pre no"
            line += " post no"
            step0 = self._lammps_step()
            t = time.perf_counter()
            self.cmd(line)
            self.md_s += time.perf_counter() - t
            self._need_setup = False
            ran = self._lammps_step() - step0
            self.st.md_step += ran
            left -= ran
            if left > 0:
                self._remove_evaporated(f"{self._stage_label} stage, during MD", halted=True)

    def _md_stage(self, stage, prog: dict) -> None:
        cfg = self.cfg
        kind = stage.type
        if kind == "anneal":
            t0, t1 = stage.temperature_start_k, stage.temperature_end_k
        else:
            t0 = t1 = cfg.stage_temperature(stage)
        exchange = kind in ("extract", "insert")
        electro = kind in ELECTROCHEM_TYPES
        per_interval = 0.0
        if electro:
            interval = steps_of(stage.interval_ps, self.dt)
            total = (steps_of(stage.duration_ps(), self.dt) if kind == "potentiostatic" else None)
            if stage.max_time_ps:
                total = min(total or 10**15, steps_of(stage.max_time_ps, self.dt))
            if prog.li_ref is None:
                prog.li_ref = self.st.n_li
            if prog.steps_done == 0 and prog.e_start_minimised_ev is None:
                prog.e_start_minimised_ev = self._minimised_copy_ev("start")
            if kind == "galvanostatic":
                per_interval = stage.li_per_interval(prog.li_ref)
        elif exchange:
            total = steps_of(stage.max_time_ps, self.dt) if stage.max_time_ps else None
            interval = steps_of(stage.interval_ps, self.dt)
            if prog.li_ref is None:
                prog.li_ref = (self.st.n_li if kind == "extract"
                                  else max(1, math.ceil(stage.x_final * self.st.n_si - 1e-9)))
            per_interval = stage.li_per_interval(prog.li_ref)
        else:
            total = steps_of(stage.time_ps, self.dt)
            interval = None
        ramp = None
        if kind == "anneal":
            ramp = (prog.lammps_step0, prog.lammps_step0 + total)
        window = self._anneal_window(stage) if electro else None
        hot = window is not None and window(prog.steps_done)
        t_stage = (t0, t1)
        if hot:
            t0 = t1 = stage.anneal_temperature_k
        self._ensure_velocities(t0)
        fixes = self._thermostat(t0, t1)
        self.session.watch_evaporation()
        try:
            while True:
                if (exchange or electro) and (prog.stop_reason or self._target_reached(stage)):
                    prog.stop_reason = prog.stop_reason or "x_final reached"
                    break
                if total is not None and prog.steps_done >= total:
                    if exchange or electro:
                        done = (kind == "potentiostatic" and prog.steps_done
                                >= steps_of(stage.duration_ps(), self.dt))
                        prog.stop_reason = "schedule done" if done else "max_time_ps reached"
                    break
                md = self.st.md_step
                n = min(self.thermo_steps - md % self.thermo_steps,
                        self.ckpt_steps - md % self.ckpt_steps)
                if total is not None:
                    n = min(n, total - prog.steps_done)
                if interval is not None:
                    n = min(n, interval - prog.steps_done % interval)
                if window is not None:
                    n = min(n, window.steps_to_switch(prog.steps_done))
                self._run(n, ramp)
                prog.steps_done += n
                md = self.st.md_step
                if md % self.thermo_steps == 0:
                    self._thermo_row()
                # after the row (its energy and atom counts are of one moment, before)
                self._remove_evaporated(f"{kind} stage, during MD")
                was_hot = hot
                if window is not None:
                    hot = window(prog.steps_done)
                if interval is not None and prog.steps_done % interval == 0:
                    if electro:
                        if not was_hot:  # no exchange inside an anneal window
                            fixes = self._electro(stage, prog, per_interval, fixes)
                    else:
                        self._exchange(stage, prog, per_interval)
                if window is not None and hot != was_hot:
                    for f in fixes:
                        self.cmd(f"unfix {f}")
                    t_now = stage.anneal_temperature_k if hot else cfg.stage_temperature(stage)
                    fixes = self._thermostat(t_now, t_now)
                self._progress()
                if md % self.ckpt_steps == 0:
                    self.checkpoint()
                    if cfg.thermostat == "nose-hoover":
                        # The Nose-Hoover chain restarts here from rest, as a run resumed from
                        # this checkpoint restarts it. Its state is not in the checkpoint
                        # (LAMMPS cannot set it), so without the restart a resumed run would
                        # follow another trajectory (and, galvanostatic, remove other Li) than
                        # an uninterrupted one. Langevin runs are left alone: LAMMPS hands out
                        # their noise in atom storage order, which a resume changes anyway, so
                        # a restart would only change the uninterrupted trajectory.
                        for f in fixes:
                            self.cmd(f"unfix {f}")
                        fixes = self._thermostat(*((stage.anneal_temperature_k,) * 2 if hot
                                                   else t_stage))
                self._poll_signal()
        except BaseException:
            with contextlib.suppress(Exception):  # the error that got here is the one to report
                self._end_md_stage(fixes)
            raise
        self._end_md_stage(fixes)

    def _end_md_stage(self, fixes: list) -> None:
        """Remove an MD stage's thermostat fixes and the evaporation watch (session still open)."""
        if self.session is not None and self.session.lmp is not None:
            self.session.unwatch_evaporation()
            for f in fixes:
                self.cmd(f"unfix {f}")
            self._need_setup = True

    def _minimised_copy_ev(self, when: str) -> float | None:
        """Energy (eV) of the current structure minimised in a separate instance; None on failure."""
        atoms = self.session.get_atoms(velocities=False)
        del atoms.arrays["id"]  # ids with gaps after removals; the energy does not need them
        try:
            return minimised_energy_ev(atoms, self.potential, self.comm, self.cfg.pressure_bar)
        except DealloyError as exc:
            self._log(f"warning: minimising a copy of the structure at the stage's {when} "
                      f"failed ({str(exc).splitlines()[0]}); no energy-balance voltage")
            return None

    def _energy_balance(self, report: StageReport, prog) -> None:
        """Set the stage report's energy-balance voltage (minimised start and end structures)."""
        net = prog.moves.remove.accepted - prog.moves.insert.accepted
        report.n_removed_net = net
        if prog.e_start_minimised_ev is None or net <= 0:
            return
        e_end = self._minimised_copy_ev("end")
        if e_end is None:
            return
        report.e_start_minimised_ev = prog.e_start_minimised_ev
        report.e_end_minimised_ev = e_end
        report.energy_balance_voltage_v = energy_balance_voltage_v(
            prog.e_start_minimised_ev, e_end, net, self.st.electro.mu_li_bcc_ev)

    def _target(self, stage) -> int:
        n_si = self.st.n_si
        if stage.type != "insert":
            return int(math.floor(stage.x_final * n_si + 1e-9))
        return int(math.ceil(stage.x_final * n_si - 1e-9))

    def _target_reached(self, stage) -> bool:
        if stage.type != "insert":
            return self.st.n_li <= self._target(stage)
        return self.st.n_li >= self._target(stage)

    def _anneal_window(self, stage):
        """None, or a callable step -> bool (inside an anneal window) with ``steps_to_switch``."""
        if stage.anneal_every_ps is None:
            return None
        period = steps_of(stage.anneal_every_ps, self.dt)
        width = min(period - 1, steps_of(stage.anneal_window_ps, self.dt))

        class Window:
            # the last ``width`` steps of every ``period`` run at anneal_temperature_k
            def __call__(self, step: int) -> bool:
                return step % period >= period - width

            def steps_to_switch(self, step: int) -> int:
                p = step % period
                return (period - width - p) if p < period - width else (period - p)

        return Window()

    def _end_stage(self, i: int, stage) -> None:
        self._check_atoms(f"after stage {i + 1}/{len(self.cfg.stages)} ({stage.type})")
        prog = self.st.stage
        report = StageReport(index=i, type=stage.type, t_start_ps=prog.t0_ps, t_end_ps=self.t_ps,
                             n_li=self.st.n_li, n_si=self.st.n_si, x=self._x(),
                             wall_s=round(prog.wall_s, 3))
        if stage.type in ELECTROCHEM_TYPES:
            report.stop_reason = prog.stop_reason
            report.bookkeeping_s = round(prog.bookkeeping_s, 4)
            report.moves = prog.moves
            report.evaluations = prog.evaluations
            report.local_evaluations = prog.local_evaluations
            if prog.cv_start is not None:
                report.cv_start_ps = prog.cv_start_ps
            report.last_voltage_v = prog.last_voltage_v
            self._energy_balance(report, prog)
        if stage.type in ("extract", "insert"):
            report.batches = prog.batches
            report.stop_reason = prog.stop_reason
            report.bookkeeping_s = round(prog.bookkeeping_s, 4)
            if not self._target_reached(stage):
                report.warning = (f"stopped at x = {self._x():.4g} before x_final = "
                                  f"{stage.x_final}: {prog.stop_reason}")
                self._log(f"warning: stage {i + 1}/{len(self.cfg.stages)} ({stage.type}) "
                          f"{report.warning}")  # numbered as the progress line numbers it
        if stage.type != "minimize" and self.st.md_step % self.thermo_steps != 0:
            self.cmd("run 0 post no")  # energy of the composition after the last event
            self._need_setup = False
            self._thermo_row()
        self.st.stage_reports.append(report)
        self.st.stage_index = i + 1
        self.st.stage = None


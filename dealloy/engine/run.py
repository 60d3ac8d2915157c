"""The extraction MD engine behind ``dealloy run``: stages, Li removal/insertion, checkpoints.

Python API::

    from dealloy.engine.run import run, load_run_config
    result = run("run.toml")                      # or run(cfg, run_dir="out/", resume=True)
    result["status"], result["li_end"], result["n_removed"]

Every MPI rank calls :func:`run` (``mpiexec -n 2 dealloy run cfg.toml``); LAMMPS is collective.
Selections are computed on rank 0 from gathered positions and broadcast, so all ranks agree.

Time is counted in MD steps (``md_step``; minimisation does not advance it). Thermo rows are
written every ``thermo_interval_ps``, removal/insertion events every ``interval_ps`` of a stage,
checkpoints every ``checkpoint_ps``; all of them land on step boundaries shared by every rank, so
a resumed run replays exactly the same schedule with the same random generator state.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import time
import warnings
from pathlib import Path

import numpy as np

from dealloy.checks import check_structure
from dealloy.config.run import (
    DUMP_COLUMNS,
    ELECTROCHEM_TYPES,
    RunConfig,
    dump_run_config,
    load_run_config,
    resolved_dict,
    steps_of,
)
from dealloy.engine.electrochem import (
    SinglePoints,
    cheapest_removals,
    li_bcc_chemical_potential_ev,
    maxwell_velocity,
    potentiostatic_sweep,
)
from dealloy.engine.lammps import lammps_quote
from dealloy.engine.progress import BuildProgress
from dealloy.engine.record import PotentialRecord, RunRecord, software_versions
from dealloy.engine.recorder import (
    EVENT_COLUMNS,
    THERMO_COLUMNS,
    CsvLog,
    final_structure_info,
    merge_trajectory,
)
from dealloy.engine.selectors import (
    ProbeGrid,
    choose,
    insertion_sites,
    removal_candidates,
)
from dealloy.engine.state import (
    ElectroCounters,
    EngineState,
    StageProgress,
    StageReport,
    read_atoms,
    write_atoms,
)
from dealloy.errors import ConfigError, DealloyError, SimulationError
from dealloy.io import mpi_comm, read_structure, write_structure, write_text
from dealloy.periodicity import open_axes, override_note
from dealloy.potentials import ELEMENTS, get_potential
from dealloy.rundir import RunDir

EXIT_CHECKPOINTED = 75  # EX_TEMPFAIL: not finished, resume me
LI, SI = 1, 2  # LAMMPS types
_AMU_A2_PS2_EV = 1.0364269e-4  # 1 amu*A^2/ps^2 in eV
_KB_EV = 8.617333262e-5


#: extra events.csv columns of runs with electrochemical stages: the move's energy change
#: E_after - E_before (eV), the potential (V vs Li/Li+: applied, or the removal voltage in
#: galvanostatic mode) and whether the move was accepted (1/0); rejected moves are
#: ``reject-remove`` / ``reject-insert`` rows
ELECTROCHEM_EVENT_COLUMNS = ["delta_e_ev", "voltage_v", "accepted"]


class _EventLog(CsvLog):
    """events.csv with the electrochemical columns; geometric rows are padded with empty cells."""

    def rows(self, rows) -> None:
        n = len(self.columns)
        super().rows([tuple(r) + ("",) * (n - len(r)) for r in rows])


class Checkpointed(DealloyError):
    """The run stopped on SIGTERM/SIGUSR1 after writing a checkpoint (status "checkpointed")."""


# ---- preparing (before LAMMPS) ------------------------------------------------------------
def build_particle(cfg: RunConfig, comm=None):
    """The starting ``ase.Atoms`` (identical on all ranks): read the file or call the builder."""
    comm = mpi_comm(comm)
    atoms, err = None, None
    spec = cfg.particle
    if spec.file is not None:
        if comm.Get_rank() == 0:
            try:
                atoms = read_structure(spec.file)
                pbc, positions, opened = open_axes(atoms.cell.array, atoms.positions, atoms.pbc)
                if opened:  # a particle (slab, wire) in a periodic box: simulate it as such
                    warnings.warn(f"particle.file: "
                                  f"{override_note(atoms.pbc, pbc, opened, 'simulated')}")
                    atoms.positions, atoms.pbc = positions, pbc
                check_structure(atoms.positions, atoms.cell.array, atoms.pbc,
                                atoms.get_chemical_symbols(), what=str(spec.file),
                                refuse_far=not cfg.allow_atom_loss)
            except ConfigError as exc:
                err = f"particle.file: {exc}"
        atoms, err = comm.bcast((atoms, err), root=0)
    else:
        try:
            from dealloy.build import get_builder
        except ImportError:
            raise ConfigError("particle.builder: the builders (dealloy.build) are not installed; "
                              "give particle.file instead") from None
        try:
            fn = get_builder(spec.builder)
        except ConfigError as exc:
            raise ConfigError(f"particle.builder: {exc}") from None
        import inspect

        try:
            inspect.signature(fn).bind(**spec.args)
        except TypeError as exc:
            raise ConfigError(f"particle.args: {exc} for builder '{spec.builder}'; its arguments "
                              f"are {inspect.signature(fn)}") from None
        try:
            atoms = fn(**spec.args)  # every rank (a builder may run collective LAMMPS)
        except ConfigError as exc:
            raise ConfigError(f"particle.args: {exc}") from None
        atoms = comm.bcast(atoms if comm.Get_rank() == 0 else None, root=0)
    if err:
        raise ConfigError(err)
    return normalise_particle(atoms)


def normalise_particle(atoms):
    """Ids 1..N, a cell with vacuum for isolated particles, no stray arrays."""
    from ase import Atoms

    bad = sorted(set(atoms.get_chemical_symbols()) - set(ELEMENTS))
    if bad:
        raise ConfigError(f"particle: contains {', '.join(bad)}; dealloy handles only Li and Si")
    if len(atoms) == 0:
        raise ConfigError("particle: the structure has no atoms")
    out = Atoms(atoms.get_chemical_symbols(), positions=atoms.get_positions(), cell=atoms.cell,
                pbc=atoms.pbc)
    if atoms.has("momenta"):
        out.set_momenta(atoms.get_momenta())
    if not any(out.pbc) and out.cell.rank < 3:
        out.center(vacuum=15.0)
    out.arrays["id"] = np.arange(1, len(out) + 1)
    return out


def check_protocol(cfg: RunConfig, n_li: int, n_si: int) -> None:
    """Composition checks that need the particle: fail before LAMMPS with the key and the fix."""
    if n_si == 0:
        raise ConfigError("particle: has no Si; dealloy needs a Li-Si particle (x = Li/Si)")
    x = n_li / n_si
    for i, st in enumerate(cfg.stages):
        key = f"stages[{i}] ({st.type} stage)"
        if st.type == "extract" or st.type in ELECTROCHEM_TYPES:
            if round(x * n_si) == 0:
                raise ConfigError(f"{key}: the particle has no Li to extract at this point "
                                  f"(x = {x:.3g}); remove the stage or insert Li before it")
            if st.x_final >= x - 0.5 / n_si:
                raise ConfigError(f"{key}.x_final = {st.x_final} is not below the starting "
                                  f"x = Li/Si = {x:.4g}; give x_final < {x:.4g}")
            # potentiostatic: x at the end is unknown (set by the potential); the next stage's
            # checks take the starting x as the most it can have left
            x = x if st.type == "potentiostatic" else st.x_final
        elif st.type == "insert":
            if st.x_final <= x + 0.5 / n_si:
                raise ConfigError(f"{key}.x_final = {st.x_final} is not above the starting "
                                  f"x = Li/Si = {x:.4g}; give x_final > {x:.4g}")
            if st.rate_fraction_per_ns is not None and st.x_final * n_si < 1:
                raise ConfigError(f"{key}: rate_fraction_per_ns needs a target with Li")
            x = st.x_final
        if st.type in ("extract", "insert", "galvanostatic"):
            li_ref = max(1, round(x * n_si))
            if st.li_per_interval(li_ref) < 1e-3:
                raise ConfigError(f"{key}: the rate gives {st.li_per_interval(li_ref):.2g} Li per "
                                  "interval; raise the rate or interval_ps")


# ---- the engine ---------------------------------------------------------------------------
class Engine:
    """One run: every rank constructs it and calls :meth:`run`."""

    def __init__(self, cfg: RunConfig, run_dir, comm=None, resume: bool = False,
                 quiet: bool = False, overwrite: bool = False, progress=None,
                 config_path=None):
        self.cfg = cfg
        self.config_path = config_path
        self.rd = RunDir(run_dir)
        self.comm = mpi_comm(comm)
        self.rank = self.comm.Get_rank()
        self.nranks = self.comm.Get_size()
        self.resume = resume
        self.overwrite = overwrite
        self.quiet = quiet
        self.progress = progress
        self.session = None
        self._signal = 0
        self.bookkeeping_s = 0.0
        self.md_s = 0.0
        self._stage_label = "init"
        self._stage_wall: tuple[float, float] | None = None  # (wall_s carried in, segment start)
        self._electro_run = any(st.type in ELECTROCHEM_TYPES for st in cfg.stages)
        # set by run(): the potential, the timestep (ps) and the engine state
        self.potential = None
        self.dt = 0.0
        self.st: EngineState | None = None
        self.mu_li_bcc_ev: float | None = None  # Li reservoir (electrochemical stages), eV
        self._t_start = 0.0  # time.time() when this segment started
        self.wall_before = 0.0  # wall / core seconds of the segments before this one
        self.core_before = 0.0
        self._resume_v = None  # checkpointed velocities and ids (native units), for the session
        self._resume_ids = None
        # set when the files and the session open
        self.thermo_log: CsvLog | None = None
        self.events_log: CsvLog | None = None
        self._gz_ok = False  # LAMMPS writes gzip dumps
        self.traj: Path | None = None  # the trajectory, and its continuation after a resume
        self.traj_part: Path | None = None
        self.thermo_steps = 0  # MD steps between thermo rows, checkpoints, dump frames
        self.ckpt_steps = 0
        self.dump_every = 0
        self._need_setup = True  # the next LAMMPS run needs its setup (pre yes)
        self._old_handlers: dict = {}  # signal handlers to restore

    # ---- small helpers -------------------------------------------------------------------
    @property
    def t_ps(self) -> float:
        return self.st.md_step * self.dt

    def _x(self) -> float:
        return self.st.n_li / self.st.n_si if self.st.n_si else float("nan")

    def cmd(self, line: str) -> None:
        self.session.command(line)

    # ---- entry ---------------------------------------------------------------------------
    def run(self) -> dict:
        t_start = time.time()
        self.potential = get_potential(self.cfg.potential, self.cfg.ffield or None)
        self.dt = self.cfg.resolved_timestep_ps()
        fresh = self.overwrite and not self.resume  # whatever the directory holds is replaced
        state = None if fresh else self._load_state()
        prev = self._on_rank0(lambda: RunRecord.read(self.rd.run_json))  # None: no run.json
        prev_status = prev.status if prev is not None else None
        if not (self.resume or self.overwrite) and (state is not None or prev_status == "done"):
            raise ConfigError(f"{self.rd.path} already holds a run (status {prev_status}"
                              f"{', with a checkpoint' if state else ''}); pass --resume to "
                              "continue it or --overwrite to start again")
        if state is not None and state.config is not None:
            now = json.loads(json.dumps(resolved_dict(self.cfg)))
            changed = sorted(k for k in set(now) | set(state.config)
                             if now.get(k) != state.config.get(k))
            if changed:
                raise ConfigError(f"--resume: the config changed since the checkpoint "
                                  f"({', '.join(changed)}); restore it, or start again with "
                                  "--overwrite")
        if state is not None and state.finished:
            self._log(f"run in {self.rd.path} is already done")
            return prev.as_dict() if prev is not None else {}
        try:
            if state is None:
                atoms = self._build_particle()
            else:
                atoms = self._checkpoint_atoms(state)
            symbols = np.array(atoms.get_chemical_symbols())
            if state is None:
                check_protocol(self.cfg, int((symbols == "Li").sum()),
                               int((symbols == "Si").sum()))
            self.mu_li_bcc_ev = None
            if self._electro_run:
                if state is not None and state.electro is not None:
                    self.mu_li_bcc_ev = state.electro.mu_li_bcc_ev
                if self.mu_li_bcc_ev is None:
                    self.mu_li_bcc_ev = li_bcc_chemical_potential_ev(self.potential, self.comm)
        except ConfigError as exc:
            # bad input found before LAMMPS: say so in run.json too (studies read it)
            if prev_status in (None, "pending", "failed"):
                RunRecord(status="failed", error=str(exc), stage_index=0,
                          before_md=True).write(self.rd.run_json, self.comm)
            raise
        self._prepare_files(state, atoms)
        self.st = state or self._fresh_state(atoms)
        if self._electro_run:
            if self.st.electro is None:
                self.st.electro = ElectroCounters()
            self.st.electro.mu_li_bcc_ev = self.mu_li_bcc_ev
        self.wall_before = self.st.wall_s
        # core time: each segment's wall time x its ranks (a run resumed on a different number
        # of ranks); a checkpoint from before this was recorded counts at the ranks run.json
        # last recorded
        self.core_before = (self.st.core_s if self.st.core_s is not None
                            else self.wall_before * ((prev and prev.ranks) or self.nranks))
        self._t_start = t_start
        self._install_signals()
        status, error = "failed", None
        try:
            self._open_session(atoms, state)
            self._user_commands("setup")
            self._write_run_json("running")
            self._protocol()
            self._finish()
            status = "done"
        except Checkpointed:
            status = "checkpointed"
        except DealloyError as exc:
            error = str(exc)
            raise
        except Exception as exc:  # noqa: BLE001 - record, then re-raise
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self._restore_signals()
            self._close(status, error)
        return self.summary(status)

    # ---- state -----------------------------------------------------------------------------
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
        """The checkpointed state (None without one), read on rank 0 and broadcast; a state this
        dealloy cannot continue is refused on every rank with one line."""
        return self._on_rank0(lambda: EngineState.read(self.rd.checkpoint_dir / "state.json"))

    def _checkpoint_atoms(self, state):
        from ase import Atoms

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

    # ---- files -----------------------------------------------------------------------------
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
        from dealloy.engine.session import LammpsSession

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
            import ctypes

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
        """(Re)define the trajectory dump: ``first`` writes a frame at the next setup, ``append``
        continues the file (after a minimisation)."""
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
        """checkpoint/lammps.restart (``lammps_restart = true``): LAMMPS' own restart file of the
        state just checkpointed, written beside a temp name and renamed (never half-written)."""
        final = self.rd.checkpoint_dir / "lammps.restart"
        tmp = final.with_name(".lammps.restart.tmp")
        self.cmd(f"write_restart {lammps_quote(tmp)}")
        self.comm.Barrier()
        if self.rank == 0:
            os.replace(tmp, final)

    def _continue_script(self) -> str:
        """A LAMMPS input that continues this run in plain LAMMPS from checkpoint/lammps.restart
        (manybody pair styles keep no coefficients in a restart file: they are given again)."""
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

    # ---- protocol --------------------------------------------------------------------------
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
        """The run's thermostat (``thermostat``, ``damping_ps``) from ``t0`` to ``t1`` (K); its
        Langevin seed follows the MD step, so a resumed run draws the same noise."""
        ensemble = "langevin" if self.cfg.thermostat == "langevin" else "nvt"  # nose-hoover
        fixes = self.session.thermostat(ensemble, t0, t1, self.cfg.damping_ps,
                                        seed=self.cfg.seed * 7919 + self.st.md_step + 1,
                                        fix_id="dealloy_th")
        self._need_setup = True
        return fixes

    def _run(self, n: int, ramp=None) -> None:
        line = f"run {n}"
        if ramp is not None:
            line += f" start {ramp[0]} stop {ramp[1]}"
        if not self._need_setup:
            line += " pre no"
        line += " post no"
        t = time.perf_counter()
        self.cmd(line)
        self.md_s += time.perf_counter() - t
        self._need_setup = False
        self.st.md_step += n

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
        if hot:
            t0 = t1 = stage.anneal_temperature_k
        self._ensure_velocities(t0)
        fixes = self._thermostat(t0, t1)
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
                self._poll_signal()
        finally:
            if self.session is not None and self.session.lmp is not None:
                for f in fixes:
                    self.cmd(f"unfix {f}")
                self._need_setup = True

    def _target(self, stage) -> int:
        n_si = self.st.n_si
        if stage.type != "insert":
            return int(math.floor(stage.x_final * n_si + 1e-9))
        return int(math.ceil(stage.x_final * n_si - 1e-9))

    def _target_reached(self, stage) -> bool:
        if stage.type != "insert":
            return self.st.n_li <= self._target(stage)
        return self.st.n_li >= self._target(stage)

    # ---- removal / insertion ---------------------------------------------------------------
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

    # ---- electrochemical extraction --------------------------------------------------------
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

    def _gather_full(self):
        """ids, types, positions, velocities (native units), image flags; sorted by id."""
        s = self.session
        ids = s.gather("id", 0, 1).astype(np.int64)
        order = np.argsort(ids)
        return (ids[order], s.gather("type", 0, 1).astype(np.int64)[order],
                s.gather("x", 1, 3)[order], s.gather("v", 1, 3)[order],
                s.gather("image", 0, 1).astype(np.int64)[order])

    def _electro(self, stage, prog: dict, per_interval: float, fixes: list) -> list:
        """One interval of potentiostatic / galvanostatic extraction; returns the thermostat fixes
        (re-created after a tfMC window)."""
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
                                          probe_radius=stage.probe_radius_angstrom,
                                          voxel=stage.voxel_angstrom,
                                          surface_depth=stage.surface_depth_angstrom)
            else:
                cand = np.flatnonzero(is_li)
            free: list[int] = []
            if reinsert and vac:
                from scipy.spatial import cKDTree

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
        self._record_moves(stage, prog, moves)
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

    def _record_moves(self, stage, prog: dict, moves) -> None:
        t = round(self.t_ps, 6)
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
            rows.append((t, stage.type, event, int(m.atom_id), "Li",
                         *(round(float(c), 4) for c in m.position), f"{m.delta_e_ev:.9g}",
                         f"{m.voltage_v:.9g}", int(m.accepted)))
        self.events_log.rows(rows)
        if self.session.natoms != self.st.n_li + self.st.n_si:
            raise SimulationError(f"after Li exchange LAMMPS holds {self.session.natoms} atoms, "
                                  f"the engine counts {self.st.n_li + self.st.n_si}")

    def _tfmc(self, stage, fixes: list, seed: int) -> list:
        """``tfmc_steps_per_interval`` steps of time-stamped force-bias Monte Carlo (LAMMPS
        ``fix tfmc``; Mees et al., PRB 85, 134301 (2012); Bal & Neyts, JCTC 11, 4545 (2015))
        in place of MD: simulated time and the dump schedule do not advance."""
        for f in fixes:
            self.cmd(f"unfix {f}")
        t_k = stage.tfmc_temperature_k or self.cfg.stage_temperature(stage)
        extra = "" if any(self.session.pbc) else " com 1 1 1 rot"
        self.cmd("dump_modify dealloy_traj every 1000000000")
        self.cmd("timestep 0.0")  # tfMC has no time; LAMMPS' clock (dump TIME) stays put
        self.cmd(f"fix dealloy_tfmc all tfmc {stage.tfmc_delta_angstrom} {t_k} {seed}{extra}")
        t = time.perf_counter()
        self.cmd(f"run {stage.tfmc_steps_per_interval} post no")
        self.md_s += time.perf_counter() - t
        self.cmd("unfix dealloy_tfmc")
        self.session.timestep_ps(self.dt)
        self.cmd(f"dump_modify dealloy_traj every {self.dump_every}")
        self._need_setup = True
        self.st.electro.tfmc_steps += stage.tfmc_steps_per_interval
        t_now = self.cfg.stage_temperature(stage)
        return self._thermostat(t_now, t_now)

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
                stage.selector, x, types == LI, probe_radius=stage.probe_radius_angstrom,
                voxel=stage.voxel_angstrom, surface_depth=stage.surface_depth_angstrom,
                shell_width=stage.shell_width_nm * 10.0)
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
        ids = [int(i) for i in ids]
        for a in range(0, len(ids), 500):
            self.cmd("group dealloy_del id " + " ".join(str(i) for i in ids[a:a + 500]))
        self.cmd("delete_atoms group dealloy_del compress no")
        self.cmd("group dealloy_del delete")
        self._need_setup = True

    def _insert(self, stage, k: int) -> int:
        ids, types, x = self._gather()
        payload = None
        if self.rank == 0:
            rng = self._rng()
            sites = insertion_sites(x, k, rng, site_distance=stage.site_distance_angstrom,
                                    probe_radius=stage.probe_radius_angstrom,
                                    voxel=stage.voxel_angstrom)
            t_k = self.cfg.stage_temperature(stage)
            sigma = math.sqrt(_KB_EV * t_k / (self.potential.masses_amu["Li"] * _AMU_A2_PS2_EV))
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

    # ---- checks ----------------------------------------------------------------------------
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
            if prog.cv_start is not None:
                report.cv_start_ps = prog.cv_start_ps
            report.last_voltage_v = prog.last_voltage_v
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

    def _check_atoms(self, where: str) -> None:
        """Si conserved exactly; atoms lost by LAMMPS or detached into vacuum reported by species."""
        from scipy.spatial import cKDTree

        ids, types, x = self._gather()
        n_li, n_si = int((types == LI).sum()), int((types == SI).sum())
        lost = {"Li": self.st.n_li - n_li, "Si": self.st.n_si - n_si}
        detached = np.empty(0, dtype=int)
        if self.rank == 0 and len(x) > 1:
            d, _ = cKDTree(x).query(x, k=2)
            detached = np.flatnonzero(d[:, 1] > self.potential.cutoff_angstrom)
        detached = self.comm.bcast(detached, root=0)
        det = {"Li": int((types[detached] == LI).sum()), "Si": int((types[detached] == SI).sum())}
        if any(lost.values()) or any(det.values()):
            msg = (f"{where}: atoms lost by LAMMPS: {lost['Li']} Li, {lost['Si']} Si; detached into "
                   f"the vacuum (no neighbour within the {self.potential.cutoff_angstrom} A cutoff):"
                   f" {det['Li']} Li, {det['Si']} Si")
            if not self.cfg.allow_atom_loss:
                raise SimulationError(msg + ". Si must be conserved; lower the temperature/rate, "
                                      "or set allow_atom_loss = true to remove them and go on")
            self._log("warning: " + msg + " (allow_atom_loss: removed)")
            if detached.size:
                t = round(self.t_ps, 6)
                self.events_log.rows([(t, self._stage_label, "lost", int(ids[j]),
                                       ELEMENTS[types[j] - 1], *(round(float(c), 4) for c in x[j]))
                                      for j in detached])
                self._delete_ids(ids[detached])
            for sp in ("Li", "Si"):
                self.st.n_lost[sp] += lost[sp] + det[sp]
            self.st.n_li = n_li - det["Li"]
            self.st.n_si = n_si - det["Si"]

    # ---- output ----------------------------------------------------------------------------
    def _thermo_row(self) -> None:
        s = self.session
        temp = s.thermo("temp")
        pe = s.thermo("pe") * s.units.energy_ev
        n = self.st.n_li + self.st.n_si
        self.thermo_log.rows([(round(self.t_ps, 6), round(temp, 3), pe, n, self.st.n_li,
                               self.st.n_si, round(self._x(), 5), self._stage_label)])

    def checkpoint(self) -> None:
        """Atoms (exact positions/velocities) + engine state; atomic, consistent pair."""
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
        self._write_run_json("running")

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
            time_ps=round(self.t_ps, 6), stage_index=st.stage_index,
            n_stages=len(self.cfg.stages), si_start=st.si_start, si_end=st.n_si,
            li_start=st.li_start, li_end=st.n_li, x_start=st.li_start / st.si_start,
            x_end=self._x(), n_removed=st.n_removed, n_inserted=st.n_inserted,
            n_batches=st.n_batches, n_lost=st.n_lost, stages=st.stage_reports,
            checkpoints=st.checkpoint_count, bookkeeping_s=round(self.bookkeeping_s, 4),
            md_s=round(self.md_s, 4), electrochem=st.electro)
        record.write(self.rd.run_json, self.comm)

    def summary(self, status: str) -> dict:
        """run.json's data as a dict (every rank)."""
        rec = self._on_rank0(lambda: RunRecord.read(self.rd.run_json))
        return rec.as_dict() if rec is not None else {"status": status}

    def _on_rank0(self, read):
        """``read()`` on rank 0, its result (or its ConfigError, as one line) on every rank."""
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

    # ---- signals / progress ----------------------------------------------------------------
    def _install_signals(self) -> None:
        self._old_handlers = {}

        def handler(signum, frame):
            self._signal = signum

        for sig in (signal.SIGTERM, signal.SIGUSR1):
            try:
                self._old_handlers[sig] = signal.signal(sig, handler)
            except ValueError:  # not the main thread
                pass

    def _restore_signals(self) -> None:
        for sig, h in self._old_handlers.items():
            signal.signal(sig, h)

    def _poll_signal(self) -> None:
        from mpi4py import MPI

        flag = self.comm.allreduce(self._signal, op=MPI.MAX)
        if flag:
            if self.st.md_step % self.ckpt_steps != 0:
                self.checkpoint()
            self._log(f"received signal {flag}: checkpoint written at t = {self.t_ps:.3f} ps; "
                      "continue with --resume")
            raise Checkpointed(f"checkpointed on signal {flag}")

    def _progress(self) -> None:
        if self.progress is not None and self.rank == 0:
            self.progress.update(self)

    def _build_particle(self):
        """build_particle, saying what it builds and, for builders, relaying their phase messages
        (a melt-quench takes tens of minutes before the first MD stage shows progress)."""
        spec = self.cfg.particle
        if spec.file is not None:
            return build_particle(self.cfg, self.comm)
        t0 = time.time()
        self._log(f"building the particle: {spec.builder}({', '.join(f'{k}={v!r}' for k, v in spec.args.items())})")
        # the builder's phases with an estimated time left (the same relay as `dealloy build`)
        relay = (BuildProgress(ranks=self.comm.Get_size()) if self.rank == 0 and not self.quiet
                 else contextlib.nullcontext())
        with relay:
            atoms = build_particle(self.cfg, self.comm)
        sym = atoms.get_chemical_symbols()
        self._log(f"particle built in {time.time() - t0:.0f} s: {len(atoms)} atoms "
                  f"({sym.count('Li')} Li, {sym.count('Si')} Si)")
        return atoms

    def _log(self, msg: str) -> None:
        if self.rank == 0 and not self.quiet:
            import sys

            print(f"dealloy run: {msg}", file=sys.stderr, flush=True)


def default_run_dir(config_path: Path) -> Path:
    """``<dir>/config.toml`` runs in ``<dir>``; any other ``name.toml`` in ``./name/``."""
    config_path = Path(config_path)
    if config_path.name == "config.toml":
        return config_path.parent
    return config_path.parent / config_path.stem


def run(config, run_dir=None, resume: bool = False, quiet: bool = False, overwrite: bool = False,
        comm=None, progress=None) -> dict:
    """Run a config (path, dict or :class:`RunConfig`) into ``run_dir``; returns run.json's data.

    Raises :class:`ConfigError` (bad input, before LAMMPS), :class:`SimulationError` (during MD;
    run.json says ``failed``). A SIGTERM/SIGUSR1 ends it with status ``checkpointed``.
    """
    from dealloy.config.run import parse_run_config

    if isinstance(config, (str, os.PathLike)):
        cfg = load_run_config(config)
        if run_dir is None:
            run_dir = default_run_dir(Path(config))
    elif isinstance(config, dict):
        cfg = parse_run_config(config)
    else:
        cfg = config
    if run_dir is None:
        raise ConfigError("run_dir is needed when the config is not a file")
    engine = Engine(cfg, run_dir, comm=comm, resume=resume, quiet=quiet, overwrite=overwrite,
                    progress=progress,
                    config_path=config if isinstance(config, (str, os.PathLike)) else None)
    return engine.run()


__all__ = ["run", "Engine", "Checkpointed", "build_particle", "check_protocol", "load_run_config",
           "default_run_dir", "EXIT_CHECKPOINTED"]

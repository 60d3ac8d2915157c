"""The extraction MD engine behind ``dealloy run``: :class:`Engine` orchestrates one run.

The engine is made of parts, one module per concern (see docs/architecture.md):

- :mod:`~dealloy.engine.prepare`: the starting particle and the protocol checks (before LAMMPS)
- :mod:`~dealloy.engine.outputs`: run directory files, the LAMMPS session and its dump
- :mod:`~dealloy.engine.stages`: the stage loop, MD schedule, thermostat, stage reports
- :mod:`~dealloy.engine.exchange`: geometric Li removal/insertion, atom accounting
- :mod:`~dealloy.engine.electro_exchange`: potentiostatic/galvanostatic moves, tfMC
- :mod:`~dealloy.engine.checkpoint`: state creation, checkpoints, run.json writing
- :mod:`~dealloy.engine.state` / :mod:`~dealloy.engine.record`: the typed records on disk
- :mod:`~dealloy.engine.signals`: SIGTERM/SIGUSR1/Ctrl-C -> checkpoint and stop

Python API::

    from dealloy.engine.run import run, load_run_config
    result = run("run.toml")                      # or run(cfg, run_dir="out/", resume=True)
    result.status, result.li_end, result.n_removed  # a dealloy.records.RunRecord (run.json)

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
import os
import sys
import time
from pathlib import Path

import numpy as np
from pydantic_core import to_jsonable_python

from dealloy.config.run import (
    ELECTROCHEM_TYPES,
    RunConfig,
    load_run_config,
    parse_run_config,
    resolved_dict,
)
from dealloy.builders.checkpoint import BuildControl, BuildStopped, build_control
from dealloy.checks import check_dump_path
from dealloy.engine.checkpoint import BUILD_JSON, CheckpointMixin, read_build_json
from dealloy.engine.electro_exchange import ElectroExchangeMixin
from dealloy.engine.electrochem import li_bcc_chemical_potential_ev
from dealloy.engine.exchange import ExchangeMixin
from dealloy.engine.outputs import OutputsMixin
from dealloy.engine.prepare import build_particle, check_protocol, normalise_particle
from dealloy.progress import BuildProgress
from dealloy.engine.record import PotentialRecord, RunRecord, software_versions
from dealloy.engine.recorder import CsvLog
from dealloy.engine.signals import EXIT_CHECKPOINTED, Checkpointed, StopSignals
from dealloy.engine.stages import StagesMixin
from dealloy.engine.state import ElectroCounters, EngineState
from dealloy.errors import ConfigError, DealloyError
from dealloy.io import file_sha256, mpi_comm, read_structure, write_json
from dealloy.lammps.potentials import get_potential
from dealloy.rundir import RunDir


# ---- the engine ---------------------------------------------------------------------------
class Engine(StagesMixin, ExchangeMixin, ElectroExchangeMixin, OutputsMixin,
             CheckpointMixin):
    """One run: every rank constructs it and calls :meth:`run`.

    Parameters
    ----------
    cfg : dealloy.config.run.RunConfig
        The validated run config.
    run_dir : str or os.PathLike
        The run directory (created if needed).
    comm : mpi4py.MPI.Comm, optional
        The communicator (default: COMM_WORLD).
    resume : bool, optional
        Continue from the last checkpoint (a fresh start without one).
    quiet : bool, optional
        Print nothing to stderr.
    overwrite : bool, optional
        Start again in a directory that holds a run.
    progress : dealloy.progress.Progress, optional
        Terminal progress display, updated on rank 0.
    config_path : str or os.PathLike, optional
        The config file (not copied into the run directory when it is ``config.toml`` there).
    """

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
        self.signals = StopSignals()  # SIGTERM/SIGUSR1/Ctrl-C: checkpoint and stop
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
        # the particle's build: wall/core seconds of earlier segments of a stopped build, and
        # of the whole build once done (None: particle.file)
        self._build_before = (0.0, 0.0)
        self._build_announced = False
        self.build_wall_s: float | None = None
        self.build_core_s: float | None = None
        self.build_resumed: bool | None = None

    @property
    def t_ps(self) -> float:
        """Simulated time so far, ps (MD steps x timestep; minimisation does not count)."""
        return self.st.md_step * self.dt

    def _x(self) -> float:
        return self.st.n_li / self.st.n_si if self.st.n_si else float("nan")

    def cmd(self, line: str) -> None:
        """Run one LAMMPS command on the session (collective).

        Parameters
        ----------
        line : str
            The command.

        Raises
        ------
        SimulationError
            When LAMMPS refuses the command or fails running it.
        """
        self.session.command(line)

    def run(self) -> RunRecord:
        """Run the protocol: build or resume, check, run the stages, write run.json.

        Returns
        -------
        RunRecord
            run.json's record, on every rank: ``status`` ``done`` or ``checkpointed`` (stopped
            by SIGTERM/SIGUSR1/Ctrl-C after a checkpoint; while the particle was being built, after a
            build checkpoint in ``build-checkpoint/``, which ``resume`` continues).

        Raises
        ------
        ConfigError
            Bad input before LAMMPS starts (the directory holds a run and neither ``resume``
            nor ``overwrite`` is set, the config changed since the checkpoint or the build
            checkpoint, the particle or
            the protocol is invalid, a barostat on a particle with vacuum, a potential without
            bcc Li for electrochemical stages, an unknown potential). An error in the particle,
            the protocol or mu_Li(bcc) is also recorded in run.json as ``failed`` (``before_md``)
            unless run.json records a run that got further.
        SimulationError
            LAMMPS failed during the run, or atoms were lost without ``allow_atom_loss``;
            run.json records ``failed`` and the reason.
        DealloyError
            Any other dealloy error during the run (recorded in run.json, then re-raised).
        """
        # SIGTERM/SIGUSR1 are caught from here on: during the particle's build too (it stops at
        # its next safe point with a build checkpoint), and in the MD
        self.signals.install()
        try:
            return self._run_protocol(time.time())
        finally:
            self.signals.restore()

    def _run_protocol(self, t_start: float) -> RunRecord:
        self._t_start = t_start
        self.potential = get_potential(self.cfg.potential, self.cfg.ffield or None)
        self.dt = self.cfg.resolved_timestep_ps()
        fresh = self.overwrite and not self.resume  # whatever the directory holds is replaced
        state = None if fresh else self._load_state()
        prev = self._on_rank0(lambda: RunRecord.read(self.rd.run_json))  # None: no run.json
        prev_status = prev.status if prev is not None else None
        build_ckpt = self._on_rank0(lambda: (self.rd.build_checkpoint_dir / BUILD_JSON).is_file())
        if not (self.resume or self.overwrite) and (state is not None or prev_status == "done"
                                                    or build_ckpt):
            has = (", with a checkpoint" if state else
                   ", with a build checkpoint" if build_ckpt else "")
            raise ConfigError(f"{self.rd.path} already holds a run (status {prev_status}{has}); "
                              "pass --resume to continue it or --overwrite to start again")
        if state is not None and state.config is not None:
            now = json.loads(json.dumps(resolved_dict(self.cfg)))
            changed = config_changes(now, state.config)
            if changed == ["particle"]:  # the same structure file, moved or renamed?
                moved = self._moved_particle_file(now["particle"], state.config.get("particle"))
                if moved:
                    self._log(moved)
                    changed = []
            if changed:
                raise ConfigError(f"--resume: the config changed since the checkpoint "
                                  f"({', '.join(changed)}); restore it, or start again with "
                                  "--overwrite")
        if state is not None and state.finished:
            self._log(f"run in {self.rd.path} is already done")
            return prev if prev is not None else RunRecord(status="done")
        if not self.resume or state is not None:
            # a fresh start (or a particle long built) uses no build checkpoint: drop any leftover
            self._drop_build_checkpoint()
        built = False  # the particle exists (built or from the checkpoint)
        try:
            if state is None:
                try:
                    atoms = self._build_particle()
                except BuildStopped as exc:
                    self._log(f"received signal {exc.signum} during the particle's build: build "
                              f"checkpoint written in {self.rd.build_checkpoint_dir}; continue "
                              "with --resume")
                    self._write_build_run_json("checkpointed")
                    return self.summary("checkpointed")
                except ConfigError:
                    raise
                except (Exception, KeyboardInterrupt) as exc:
                    if self._build_announced:  # run.json said "running": say why it stopped
                        self._write_build_run_json("failed", _error_text(exc))
                    raise
            else:
                atoms = self._checkpoint_atoms(state)
            built = True
            symbols = np.array(atoms.get_chemical_symbols())
            if state is None:
                check_protocol(self.cfg, int((symbols == "Li").sum()),
                               int((symbols == "Si").sum()))
            if self.cfg.pressure_bar is not None and not all(atoms.pbc):
                raise ConfigError(f"pressure_bar = {self.cfg.pressure_bar}: a barostat needs a "
                                  f"periodic bulk cell, this particle has vacuum (pbc = "
                                  f"{''.join('T' if p else 'F' for p in atoms.pbc)}); remove "
                                  "pressure_bar (fixed volume) or give a periodic cell")
            self.mu_li_bcc_ev = None
            if self._electro_run:
                if state is not None and state.electro is not None:
                    self.mu_li_bcc_ev = state.electro.mu_li_bcc_ev
                if self.mu_li_bcc_ev is None:
                    self.mu_li_bcc_ev = li_bcc_chemical_potential_ev(self.potential, self.comm)
        except ConfigError as exc:
            # bad input found before LAMMPS: say so in run.json too (studies read it)
            if self._build_announced or (built and state is None and prev_status in (
                    "running", "checkpointed")):
                # run.json came from this build (or a stopped one): the run stopped before MD;
                # the build's cost stays in the record. (A --resume refused before the build,
                # e.g. a changed config, leaves the stopped build's record as it is.)
                self._write_build_run_json("failed", exc, before_md=True)
            elif prev_status in (None, "pending", "failed"):
                RunRecord(status="failed", error=str(exc), stage_index=0,
                          before_md=True).write(self.rd.run_json, self.comm)
            raise
        except DealloyError as exc:  # e.g. mu_Li(bcc) after a build that announced itself
            if built and (self._build_announced or (state is None and prev_status in (
                    "running", "checkpointed"))):  # (a failed build recorded itself above)
                self._write_build_run_json("failed", exc, before_md=True)
            raise
        self._prepare_files(state, atoms)
        self.st = state or self._fresh_state(atoms)
        if state is None and self.build_wall_s is not None:
            # the segments of a stopped build count as this run's time (before this segment)
            self.st.wall_s, self.st.core_s = self._build_before
            self.st.build_wall_s, self.st.build_core_s = self.build_wall_s, self.build_core_s
            self.st.build_resumed = self.build_resumed
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
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - record, then re-raise
            error = _error_text(exc)
            raise
        finally:
            self._close(status, error)
        return self.summary(status)

    def _moved_particle_file(self, now: dict, then: dict | None) -> str | None:
        """Tell whether ``particle`` changed only in the path of a file with the same structure.

        The checkpoint's file, if it is still there, must have the same bytes; if it is gone,
        the new file must give the run's starting structure (``initial.extxyz``: species,
        positions, cell and pbc) again. Every rank calls.

        Parameters
        ----------
        now, then : dict
            The ``particle`` table of this invocation's resolved config and of the checkpoint's.

        Returns
        -------
        str or None
            The message to print when it is the same simulation; None when it is a change.
        """
        if not then or not now.get("file") or not then.get("file"):
            return None
        if {k: v for k, v in now.items() if k != "file"} != \
                {k: v for k, v in then.items() if k != "file"}:
            return None
        old, new = Path(then["file"]), Path(now["file"])

        def same_bytes():
            return old.is_file() and new.is_file() and file_sha256(old) == file_sha256(new)

        if self._on_rank0(same_bytes):
            return (f"particle.file is now {new} (was {old}, the same bytes): the same "
                    "simulation, resuming")
        if self._on_rank0(old.exists) or not self._on_rank0(self.rd.initial_structure.is_file):
            return None
        try:
            atoms = build_particle(self.cfg, self.comm)
        except ConfigError:
            return None

        def same_start():
            start = read_structure(self.rd.initial_structure)
            return (atoms.get_chemical_symbols() == start.get_chemical_symbols()
                    and np.allclose(atoms.positions, start.positions, atol=1e-6)
                    and np.allclose(atoms.cell.array, start.cell.array, atol=1e-6)
                    and list(atoms.pbc) == list(start.pbc))

        if self._on_rank0(same_start):
            return (f"particle.file is now {new} ({old} is gone); it gives the run's starting "
                    "structure (initial.extxyz) again: the same simulation, resuming")
        return None

    def _poll_signal(self) -> None:
        flag = self.signals.received_by_any(self.comm)
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
        """Call build_particle, saying what it builds and relaying a builder's phase messages."""
        # A builder's MD routes run under a BuildControl (dealloy.builders.checkpoint): they stop
        # on SIGTERM/SIGUSR1 (BuildStopped, after their checkpoint) and write checkpoints into
        # build-checkpoint/, from which --resume continues; one of another config is refused.
        spec = self.cfg.particle
        if spec.file is not None:
            return build_particle(self.cfg, self.comm)
        folder = self.rd.build_checkpoint_dir
        meta = self._on_rank0(lambda: read_build_json(folder / BUILD_JSON))
        if meta is not None:
            now = json.loads(json.dumps(resolved_dict(self.cfg)))
            changed = config_changes(now, meta.get("config") or {})
            if changed:
                raise ConfigError(f"--resume: the config changed since the build checkpoint "
                                  f"({', '.join(changed)}); restore it, or start again with "
                                  "--overwrite")
            self._build_before = (float(meta.get("wall_s", 0.0)), float(meta.get("core_s", 0.0)))
        t0 = time.time()
        self._log(f"building the particle: {spec.builder}({', '.join(f'{k}={v!r}' for k, v in spec.args.items())})")
        control = BuildControl(folder, stop_requested=lambda: self.signals.received_by_any(self.comm),
                               checkpoint_ps=self.cfg.checkpoint_ps, comm=self.comm,
                               on_save=self._build_saved)
        # the builder's phases with an estimated time left (the same relay as `dealloy build`)
        relay = (BuildProgress(ranks=self.comm.Get_size()) if self.rank == 0 and not self.quiet
                 else contextlib.nullcontext())
        with relay, build_control(control):
            atoms = build_particle(self.cfg, self.comm)
        elapsed = time.time() - self._t_start
        self.build_wall_s = round(self._build_before[0] + elapsed, 3)
        self.build_core_s = round(self._build_before[1] + elapsed * self.nranks, 3)
        self.build_resumed = bool(control.resumed)  # an MD route continued (not bit-identical)
        for name in control.reused:
            self._log(f"the build took {name}'s result, finished before the stop, as it was")
        for r in control.resumed:
            where = ("its result" if r["segment"] is None else
                     f"segment {r['segment']} ({r['segment_name']}), LAMMPS step {r['step']}")
            self._log(f"the build continued from its checkpoint: {r['route']} from {where}")
        sym = atoms.get_chemical_symbols()
        self._log(f"particle built in {time.time() - t0:.0f} s: {len(atoms)} atoms "
                  f"({sym.count('Li')} Li, {sym.count('Si')} Si)")
        return atoms

    def _build_saved(self) -> None:
        """After each build checkpoint (collective): build.json (config, time so far), and run.json."""
        elapsed = time.time() - self._t_start
        wall = self._build_before[0] + elapsed
        core = self._build_before[1] + elapsed * self.nranks
        write_json(self.rd.build_checkpoint_dir / BUILD_JSON,
                   {"config": resolved_dict(self.cfg), "wall_s": round(wall, 3),
                    "core_s": round(core, 3)}, self.comm, collective=True)
        if not self._build_announced:  # run.json says a run is under way (a kill -9 resumes)
            self._write_build_run_json("running")
            self._build_announced = True

    def _write_build_run_json(self, status: str, error=None, before_md: bool | None = None) -> None:
        """Write run.json while the particle is being built (nothing of the MD exists yet)."""
        elapsed = time.time() - self._t_start
        wall = round(self._build_before[0] + elapsed, 3)
        core = round(self._build_before[1] + elapsed * self.nranks, 3)
        RunRecord(status=status, error=None if error is None else str(error),
                  config=resolved_dict(self.cfg), versions=software_versions(),
                  potential=PotentialRecord(name=self.potential.name,
                                            file_hashes=self.potential.file_hashes(),
                                            citation=self.potential.citation),
                  seed=self.cfg.seed, ranks=self.nranks, wall_time_s=wall, core_time_s=core,
                  build_wall_time_s=wall, build_core_time_s=core, build_resumed=self.build_resumed,
                  time_ps=0.0, stage_index=0, n_stages=len(self.cfg.stages),
                  before_md=before_md).write(self.rd.run_json, self.comm)

    def _log(self, msg: str) -> None:
        if self.rank == 0 and not self.quiet:
            print(f"dealloy run: {msg}", file=sys.stderr, flush=True)




def _error_text(exc: BaseException) -> str:
    """Give what run.json says of an exception that stopped a run (a DealloyError: its message)."""
    if isinstance(exc, DealloyError):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return ("interrupted (Ctrl-C twice, or KeyboardInterrupt): no checkpoint at the "
                "interruption; --resume continues from the last one")
    return f"{type(exc).__name__}: {exc}"


def default_run_dir(config_path: Path) -> Path:
    """Choose the run directory of a config file.

    Parameters
    ----------
    config_path : pathlib.Path
        The config file.

    Returns
    -------
    pathlib.Path
        ``<dir>`` for ``<dir>/config.toml``; ``<dir>/<name>/`` for any other ``<dir>/<name>.toml``.
    """
    config_path = Path(config_path)
    if config_path.name == "config.toml":
        return config_path.parent
    return config_path.parent / config_path.stem


def config_changes(now: dict, then: dict) -> list[str]:
    """Top-level keys of the resolved config ``now`` that differ from the checkpoint's ``then``.

    A key that ``then`` lacks and ``now`` holds at its :class:`RunConfig` default is no change: it
    was added by a newer dealloy after the checkpoint was written (e.g. ``pressure_bar``), and the
    old run ran exactly as that default says. ``analysis`` (the parameters of ``dealloy analyze``)
    may change: it is not the simulation.

    Parameters
    ----------
    now : dict
        The resolved config of this invocation (JSON data).
    then : dict
        The resolved config stored in the checkpoint.

    Returns
    -------
    list of str
        The keys that differ, sorted (empty: the same simulation).
    """
    fields = RunConfig.model_fields
    defaults = {k: to_jsonable_python(f.get_default(call_default_factory=True))
                for k, f in fields.items() if not f.is_required()}

    def same(k):
        if k not in then and k in defaults:
            return now.get(k) == defaults[k]
        return now.get(k) == then.get(k)

    # [analysis] holds dealloy analyze's parameters: not the simulation, so no change to it
    return sorted(k for k in set(now) | set(then) if k not in NOT_THE_SIMULATION and not same(k))


#: run-config keys that do not change the simulation (a resume may change them)
NOT_THE_SIMULATION = frozenset({"analysis"})


def run(config, run_dir=None, resume: bool = False, quiet: bool = False, overwrite: bool = False,
        comm=None, progress=None) -> RunRecord:
    """Run a config into ``run_dir`` with LAMMPS (every MPI rank calls).

    Parameters
    ----------
    config : str, os.PathLike, dict or dealloy.config.run.RunConfig
        A TOML file (docs/run-config.md), its data, or a validated config. Lengths in the
        config follow their names (``diameter_nm`` in nm, ``probe_radius_angstrom`` in Å),
        times are in ps, temperatures in K, voltages in V vs Li/Li+, pressure in bar.
    run_dir : str or os.PathLike, optional
        The run directory; default for a file: :func:`default_run_dir`.
    resume : bool, optional
        Continue from the last checkpoint (a fresh start without one).
    quiet : bool, optional
        Print nothing to stderr.
    overwrite : bool, optional
        Start again in a directory that holds a run.
    comm : mpi4py.MPI.Comm, optional
        The communicator (default: COMM_WORLD).
    progress : dealloy.progress.Progress, optional
        Terminal progress display (rank 0).

    Returns
    -------
    RunRecord
        run.json's record (:class:`dealloy.records.RunRecord`): ``status`` (``done``, or
        ``checkpointed`` when SIGTERM/SIGUSR1/Ctrl-C stopped it after a checkpoint), ``time_ps``,
        ``li_end``, ``n_removed``, ...

    Raises
    ------
    ConfigError
        Bad input, before LAMMPS: an invalid config, no ``run_dir`` for a config that is not a
        file, a run directory unfit for the dump path, or see :meth:`Engine.run`.
    SimulationError
        During MD; run.json says ``failed``.
    """
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
    check_dump_path(run_dir)  # the trajectory goes in it: no "%" or "*", checked before any write
    engine = Engine(cfg, run_dir, comm=comm, resume=resume, quiet=quiet, overwrite=overwrite,
                    progress=progress,
                    config_path=config if isinstance(config, (str, os.PathLike)) else None)
    return engine.run()


__all__ = ["EXIT_CHECKPOINTED", "Checkpointed", "Engine", "build_particle", "check_protocol",
           "default_run_dir", "load_run_config", "normalise_particle", "run"]

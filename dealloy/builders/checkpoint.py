"""Build checkpoints: a long builder MD route that stops on request and continues later.

The melt-quench of an amorphous builder takes up to an hour; ``dealloy run`` must be able to stop
it when SLURM's time-limit signal arrives, and a killed run must not lose all of it. The engine
(which sits above the builders and may not be imported here) sets a :class:`BuildControl`
around the build with :func:`build_control`: a collective ``stop_requested()`` callable (the
engine's SIGTERM/SIGUSR1 flag, reduced over the MPI ranks) and a folder for the checkpoints.
Without a control (``dealloy build``, the Python API) the builders run exactly as before.

An MD route (:class:`BuildRoute`: the melt-quench, the relaxation of a cut particle) runs its
schedule as :class:`MdSegment` s, each one LAMMPS fix held over a run cut into chunks of
``poll_ps``. The chunks use ``run N start S stop E pre no``, so a temperature ramp over the
segment is the same linear ramp (LAMMPS ramps the target between the steps ``S`` and ``E``) and
the thermostat's own variables carry over: an uninterrupted build is bit-identical to one long
``run`` per segment. At every chunk the route asks the control whether to stop; it writes a
checkpoint when asked, at every segment boundary and every ``checkpoint_ps`` of MD, then (when
asked) raises :class:`BuildStopped`. A caller may also look at the system after every chunk and
after a ``fix halt ... error continue`` of its own ended a chunk early (``after_chunk`` of
:meth:`BuildRoute.run`, e.g. to delete evaporated atoms); when it changes the system, the next
chunk starts with ``pre yes`` (a fresh setup) from the step reached.

A checkpoint (``<folder>/<route>-<digest>.npz``, written atomically by rank 0) holds the
segment, its first and last LAMMPS step, LAMMPS' step counter and, sorted by atom id, the exact
float64 positions and velocities (native units) and the box bounds, plus the route's own values
(e.g. the melt's start positions for the liquid check). The digest is that of the route's key
(start structure, protocol, seed, potential, ranks, code: the melt-quench cache's key), so a
checkpoint is used only by the route that wrote it (a route made with ``any_rank_count``, e.g.
the particle stability test, also continues one written on another number of MPI ranks: a SLURM
job resubmitted on another allocation). A resumed route continues from exactly that
state on the same schedule, but it is not bit-identical to an uninterrupted one: LAMMPS
re-sorts the atoms over the ranks (a different summation order), the Nose-Hoover chain and
barostat variables start from zero again, and a Langevin thermostat restarts its random stream
from the same seed (dealt to the atoms in another order).
When a route finishes, its result (structure and measures) is kept as
``<route>-<digest>.done.npz``, so a build stopped later (e.g. while relaxing the cut particle)
does not melt again. The engine deletes the folder once the run no longer needs it.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import hashlib
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from dealloy.builders import cache as _cache
from dealloy.errors import DealloyError, SimulationError
from dealloy.io import atomic_path, mpi_comm

_logger = logging.getLogger(__name__)

#: Checkpoint format; a file of another format is ignored (the route starts again).
FORMAT = 1


class BuildStopped(DealloyError):
    """A build stopped on request after writing its checkpoint (``stop_requested()`` was true).

    Parameters
    ----------
    signum : int
        What ``stop_requested()`` returned (the engine: the signal number).
    message : str
        The message.
    """

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.signum = signum


@dataclass
class BuildControl:
    """What a build may do beside building: stop on request and write checkpoints.

    Attributes
    ----------
    folder : pathlib.Path
        Where the routes keep their checkpoints (created by rank 0 when first written).
    stop_requested : callable
        ``() -> int``, collective (every rank calls it at the same point): non-zero to stop
        (the engine returns the signal number received by any rank).
    checkpoint_ps : float
        A checkpoint every this much simulated build MD, ps (and at every segment boundary).
    poll_ps : float
        MD between two calls of ``stop_requested``, ps (the chunk of a segment).
    comm : mpi4py.MPI.Comm, optional
        The communicator of the build (default COMM_WORLD).
    on_save : callable, optional
        ``() -> None``, collective; called after each checkpoint (the engine records its wall
        time there).
    resumed : list of dict
        Filled by the routes: ``{"route", "segment", "segment_name", "step"}`` of each route
        that continued from a checkpoint.
    """

    folder: Path
    stop_requested: Callable[[], int]
    checkpoint_ps: float = 10.0
    poll_ps: float = 0.5
    comm: Any = None
    on_save: Callable[[], None] | None = None
    resumed: list = field(default_factory=list)
    reused: list = field(default_factory=list)


_CONTROL: contextvars.ContextVar[BuildControl | None] = contextvars.ContextVar(
    "dealloy_build_control", default=None)


@contextlib.contextmanager
def build_control(control: BuildControl):
    """Set ``control`` for the builds inside the ``with`` block.

    Parameters
    ----------
    control : BuildControl
        The control.

    Yields
    ------
    BuildControl
        ``control``.
    """
    token = _CONTROL.set(control)
    try:
        yield control
    finally:
        _CONTROL.reset(token)


def current_control() -> BuildControl | None:
    """Return the :class:`BuildControl` set by :func:`build_control`, or None outside one."""
    return _CONTROL.get()


def resumed_info() -> dict:
    """Return ``{"build_resumed": True}`` when a route of the current build continued from a checkpoint, else {}."""
    control = current_control()
    return {"build_resumed": True} if control is not None and control.resumed else {}


@dataclass(frozen=True)
class MdSegment:
    """One piece of a route's MD schedule: a thermostat (and barostat) held over ``time_ps``.

    Attributes
    ----------
    name : str
        What it is (``melt``, ``quench-nvt``, ...), for messages.
    time_ps : float
        Simulated time, ps.
    temperature_k, temperature_end_k : float
        Target temperature at its start and end (a linear ramp), K.
    ensemble : str
        ``nvt``, ``npt`` (P = 0), ``langevin`` or ``nve``
        (:meth:`dealloy.lammps.session.LammpsSession.thermostat`).
    seed : int
        The Langevin seed.
    damping_ps : float
        Thermostat damping time, ps.
    """

    name: str
    time_ps: float
    temperature_k: float
    temperature_end_k: float
    ensemble: str
    seed: int = 1
    damping_ps: float = 0.1


def _digest(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


def _drop(paths) -> None:
    """Delete superseded checkpoints; one that cannot be deleted is left with a warning."""
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            _logger.warning(f"cannot delete the superseded build checkpoint {path} ({exc})")


def _step(session) -> int:
    return int(session.lmp.extract_global("ntimestep"))


class BuildRoute:
    """One checkpointed MD route of a builder (module docstring); inert without a control.

    Every rank constructs it and calls the same methods (collective). Use::

        route = BuildRoute("melt_quench", lambda: key)
        done = route.result()            # finished before: (atoms, measures)
        with LammpsSession(start, pot) as s:
            if not route.restore(s):     # False: nothing to continue, prepare from scratch
                ...                      # minimise, draw velocities
            route.run(s, segments)       # MD, stopping and checkpointing as asked
            ...
        route.finish(atoms, measures)

    Parameters
    ----------
    name : str
        The route's name (the checkpoint file's prefix).
    key : callable
        ``() -> dict``: JSON key material of everything the route's result depends on; called
        only when a control is set.
    control : BuildControl, optional
        Default :func:`current_control`.
    any_rank_count : bool, optional
        Also continue a checkpoint, and take a finished result, that differs from ``key`` only
        in its ``n_ranks`` (a SLURM job resubmitted on another number of cores or nodes), the
        one furthest on when there are several. The continued trajectory is the same physics,
        not the same bits (the module docstring lists what a resume changes anyway). For
        routes that measure something over an MD run (the particle stability test); off for
        routes whose result a cache must reproduce exactly (the melt-quench). The first
        checkpoint written under the new key replaces the others.

    Attributes
    ----------
    meta : dict
        The route's own JSON values, saved with every checkpoint and restored with it.
    arrays : dict of str to numpy.ndarray
        The route's own arrays, likewise.
    resumed : bool
        It continued from a checkpoint (:meth:`restore`).
    rank_counts : list of int
        The MPI rank counts of the processes that ran the route, in order, one entry per change
        (``[1, 2]``: begun on 1 rank, continued on 2); empty without a control or ``n_ranks``.
    """

    def __init__(self, name: str, key: Callable[[], dict], control: BuildControl | None = None,
                 *, any_rank_count: bool = False):
        self.name = name
        self.any_rank_count = bool(any_rank_count)
        self._superseded: list[Path] = []  # checkpoints of other rank counts, replaced here
        self.rank_counts: list[int] = []
        self.control = control if control is not None else current_control()
        self.meta: dict = {}
        self.arrays: dict[str, np.ndarray] = {}
        self._state = None
        self._start = (0, None)  # (segment, its first step) to continue from
        self._offset = None  # unwrapped - LAMMPS' unwrapped positions after a restore
        self._offset_ids = None  # the atom ids of its rows, sorted
        self._saved_step = None
        self.resumed = False
        if self.control is None:
            return
        self.comm = mpi_comm(self.control.comm)
        self.rank = self.comm.Get_rank()
        self.key = key()
        if "n_ranks" in self.key:
            self.rank_counts = [int(self.key["n_ranks"])]
        digest = _digest(self.key)
        self.path = Path(self.control.folder) / f"{name}-{digest}.npz"
        self.result_path = Path(self.control.folder) / f"{name}-{digest}.done.npz"
        state = None
        if self.rank == 0:
            try:  # whatever happens, every rank reaches the bcast below
                if self.any_rank_count:
                    state, self._superseded = self._most_advanced_checkpoint()
                else:
                    state = self._read(self.path) if self.path.is_file() else None
                others = [p.name for p in Path(self.control.folder).glob(f"{name}-*.npz")
                          if p not in (self.path, self.result_path, *self._superseded)
                          and not (self.any_rank_count and self._result_key(p) is not None)]
                if state is None and others:
                    ranks = "" if self.any_rank_count else "MPI rank count, "
                    _logger.warning(
                        f"{self.name}: the build checkpoint(s) {', '.join(sorted(others))} in "
                        f"{self.control.folder} belong to another key ({ranks}dealloy "
                        "code, LAMMPS, potential, protocol or start changed since): this part "
                        "of the build starts again")
            except Exception as exc:  # noqa: BLE001 - an unreadable checkpoint: start again
                _logger.warning(f"ignoring unreadable build checkpoint {self.path} "
                                f"({type(exc).__name__}: {exc}); this part of the build starts again")
        self._state = self.comm.bcast(state, root=0)
        self._superseded = self.comm.bcast(self._superseded, root=0)

    # ---- files -------------------------------------------------------------------------
    def _matches(self, key) -> bool:
        """``key`` (a stored one) is this route's, or differs only in ``n_ranks`` when allowed."""
        if key == self.key:
            return True
        if not (self.any_rank_count and isinstance(key, dict)):
            return False
        return ({k: v for k, v in key.items() if k != "n_ranks"}
                == {k: v for k, v in self.key.items() if k != "n_ranks"})

    def _read(self, path: Path) -> dict | None:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("format") != FORMAT or not self._matches(meta.get("key")):
                return None
            return {"meta": meta, **{k: z[k] for k in z.files if k != "meta"}}

    def _route_files(self, done: bool) -> list[Path]:
        """List the route's checkpoint (``done`` False) or result files in the folder, any key."""
        return [p for p in Path(self.control.folder).glob(f"{self.name}-*.npz")
                if p.name.endswith(".done.npz") == done]

    def _most_advanced_checkpoint(self):
        """Find the checkpoint of this key, on any MPI rank count, that is furthest on; rank 0.

        Returns
        -------
        tuple
            ``(state, superseded)``: the content (None: none) and the other checkpoints of this
            key on other rank counts, which the next :meth:`save` removes. The one with the
            most MD (LAMMPS step) wins, not the one of this rank count: a run stopped on 2 ranks
            at 14 ps and later continued on 1 rank to 51 ps goes on from 51 ps.
        """
        found = []
        for p in self._route_files(done=False):
            try:
                got = self._read(p)
                if got is not None:
                    found.append((int(got["meta"]["step"]), p.stat().st_mtime, p, got))
            except Exception as exc:  # noqa: BLE001 - unreadable (or gone): skipped
                _logger.warning(f"ignoring unreadable build checkpoint {p} "
                                f"({type(exc).__name__}: {exc})")
        if not found:
            return None, []
        found.sort(key=lambda f: f[:2])
        state, path = found[-1][3], found[-1][2]
        if path != self.path:
            ranks = state["meta"]["key"].get("n_ranks")
            _logger.warning(f"{self.name}: continuing from {path.name}, written on {ranks} MPI "
                            f"rank(s), on {self.key.get('n_ranks')}: the same physics, not the "
                            "same bits")
        return state, [f[2] for f in found if f[2] != self.path]

    def _result_key(self, path: Path) -> dict | None:
        """Return the key of a result file (``.done.npz``) when it is this route's, else None."""
        if not path.name.endswith(".done.npz"):
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                key = json.loads(str(z["key"]))
        except Exception:  # noqa: BLE001 - not readable: not a result to take
            return None
        return key if self._matches(key) else None

    def _other_rank_result(self):
        """Return ``(result, path)`` of this key on another MPI rank count, or None; rank 0."""
        for p in self._route_files(done=True):
            key = self._result_key(p)
            if key is not None and key != self.key:
                hit = _cache._read(p, key, what="build result")
                if hit is not None:
                    return hit, p
        return None

    def result(self):
        """Return the route's stored result when it finished in an earlier segment of the build.

        Returns
        -------
        (ase.Atoms, dict) or None
            The structure and measures :meth:`finish` stored; None without a control or result.
        """
        if self.control is None:
            return None
        hit, where = None, self.result_path
        if self.rank == 0:
            try:  # whatever happens, every rank reaches the bcast below
                hit = (_cache._read(self.result_path, self.key, what="build result")
                       if self.result_path.is_file() else None)
                if hit is None and self.any_rank_count:
                    hit, where = self._other_rank_result() or (None, where)
            except Exception as exc:  # noqa: BLE001 - unreadable: the route runs again
                _logger.warning(f"ignoring unreadable build result {self.result_path} "
                                f"({type(exc).__name__}: {exc}); this part of the build runs again")
        hit, where = self.comm.bcast((hit, where), root=0)
        if hit is not None:  # the finished route's exact result: not a resumed (changed) MD
            _logger.info(f"{self.name}: finished earlier in this build; taken from {where}")
            self.control.reused.append(self.name)
        return hit

    def finish(self, atoms, measures: dict) -> None:
        """Keep the route's result for the rest of the build and drop its MD checkpoint; collective.

        Parameters
        ----------
        atoms : ase.Atoms
            The route's structure.
        measures : dict
            Its measures (JSON values).
        """
        if self.control is None:
            return
        def write():
            _cache._write(self.result_path, self.key, atoms, measures)
            self.path.unlink(missing_ok=True)
            _drop(self._superseded)

        self._on_rank0(write, self.result_path)

    def save(self, session, segment: int, begin: int | None, end: int | None) -> None:
        """Write the checkpoint of ``session`` in ``segment`` (atomic, rank 0); collective.

        Parameters
        ----------
        session : dealloy.lammps.session.LammpsSession
            The route's session.
        segment : int
            The segment running (or next to run, ``begin`` None).
        begin, end : int or None
            Its first and last LAMMPS step (None: it has not started).
        """
        s = session
        ids = s.gather("id", 0, 1).astype(np.int64)
        order = np.argsort(ids)
        x, v = s.gather("x", 1, 3)[order], s.gather("v", 1, 3)[order]
        types = s.gather("type", 0, 1).astype(np.int64)[order]
        unwrapped = self.unwrapped_positions(s)
        boxlo, boxhi, xy, yz, xz, _, _ = s.lmp.extract_box()
        step = _step(s)
        meta = {"format": FORMAT, "route": self.name, "key": self.key, "segment": segment,
                "begin": begin, "end": end, "step": step, "route_meta": self.meta,
                "rank_counts": self.rank_counts}
        def write():
            buf = io.BytesIO()
            np.savez(buf, meta=np.array(json.dumps(meta)), ids=ids[order], types=types, x=x, v=v,
                     unwrapped=unwrapped, boxlo=np.array(boxlo, float), boxhi=np.array(boxhi, float),
                     tilt=np.array([xy, yz, xz], float),
                     **{f"route_{k}": np.asarray(a) for k, a in self.arrays.items()})
            with atomic_path(self.path) as tmp:
                tmp.write_bytes(buf.getvalue())
            _drop(self._superseded)  # replaced by the checkpoint of this rank count

        self._on_rank0(write, self.path)
        self._superseded = []
        self._saved_step = step
        if self.control.on_save is not None:
            self.control.on_save()

    def _on_rank0(self, write, path: Path) -> None:
        """Call ``write()`` on rank 0; any error of it becomes a SimulationError on every rank."""
        err = None
        if self.rank == 0:
            try:
                write()
            except Exception as exc:  # noqa: BLE001 - every rank must reach the bcast
                err = f"{type(exc).__name__}: {exc}"
        err = self.comm.bcast(err, root=0)
        if err:
            raise SimulationError(f"{self.name}: cannot write the build checkpoint {path} ({err})")

    # ---- continuing ----------------------------------------------------------------------
    def restore(self, session) -> bool:
        """Put the checkpoint's state into a session built from the route's start structure.

        Sets LAMMPS' step counter, the box bounds (periodic cells), the positions and the
        velocities exactly as saved, and the route's :attr:`meta` and :attr:`arrays`. Atoms of
        the session that the checkpoint does not hold (the route deleted them before it was
        written, e.g. evaporated atoms) are deleted first.

        Parameters
        ----------
        session : dealloy.lammps.session.LammpsSession
            A new session holding the route's start structure (the same atoms and ids).

        Returns
        -------
        bool
            True when it continued from a checkpoint, False when there is none (or no control).
        """
        st = self._state
        if st is None:
            return False
        s = session
        meta = st["meta"]
        s.command(f"reset_timestep {meta['step']}")
        if any(s.pbc):
            lo, hi, (xy, yz, xz) = st["boxlo"], st["boxhi"], st["tilt"]
            words = [f"{d} final {float(a)!r} {float(b)!r}" for d, a, b in zip("xyz", lo, hi)]
            if s.triclinic:  # tilt factors too
                words += [f"xy final {float(xy)!r}", f"xz final {float(xz)!r}",
                          f"yz final {float(yz)!r}"]
            s.command(f"change_box all {' '.join(words)} units box")
        ids = [int(i) for i in st["ids"]]
        gone = np.setdiff1d(s.gather("id", 0, 1).astype(np.int64), st["ids"])
        s.delete_atoms(gone)
        c_ids = (ctypes.c_int * len(ids))(*ids)
        for name in ("x", "v"):  # by atom id: exact float64, native units
            a = np.ascontiguousarray(st[name], dtype=np.float64).ravel()
            s.lmp.scatter_atoms_subset(name, 1, 3, len(ids), c_ids, (ctypes.c_double * a.size)(*a))
        # the scattered atoms still sit on the ranks that owned their start positions; a run
        # only hands atoms to neighbouring subdomains, so one that moved further would be lost
        # (with >= 4 subdomains along an axis). A zero displacement remaps every atom into the
        # box and migrates it to its owner (LAMMPS' irregular communication); exact positions.
        s.command("displace_atoms all move 0 0 0 units box")
        self._offset = st["unwrapped"] - s.unwrapped_positions()
        self._offset_ids = np.sort(np.asarray(st["ids"], dtype=np.int64))
        self.meta = dict(meta["route_meta"])
        self.arrays = {k[len("route_"):]: st[k] for k in st if k.startswith("route_")}
        self._start = (meta["segment"], meta["begin"])
        self._saved_step = meta["step"]
        ranks = [int(r) for r in meta.get("rank_counts") or ([meta["key"]["n_ranks"]]
                                                              if "n_ranks" in meta["key"] else [])]
        if self.rank_counts and ranks and ranks[-1] != self.rank_counts[-1]:
            ranks.append(self.rank_counts[-1])
        self.rank_counts = ranks or self.rank_counts
        self.resumed = True
        return True

    def unwrapped_positions(self, session) -> np.ndarray:
        """Unwrapped positions sorted by id (Å), continuous across a restore.

        Parameters
        ----------
        session : dealloy.lammps.session.LammpsSession
            The route's session.

        Returns
        -------
        numpy.ndarray
            Shape (N, 3): :meth:`~dealloy.lammps.session.LammpsSession.unwrapped_positions`
            plus the periodic images the atoms had crossed before the checkpoint.
        """
        x = session.unwrapped_positions()
        if self._offset is None:
            return x
        if len(x) != len(self._offset):  # atoms deleted since the restore: keep their rows out
            ids = np.sort(session.gather("id", 0, 1).astype(np.int64))
            rows = np.searchsorted(self._offset_ids, ids)
            self._offset, self._offset_ids = self._offset[rows], ids
        return x + self._offset

    # ---- running -----------------------------------------------------------------------
    def _safe_point(self, s, segment: int, begin, end, boundary: bool) -> None:
        """Poll the stop flag (collective); checkpoint when asked, at a boundary or when due."""
        if self.control is None:
            return
        flag = int(self.control.stop_requested() or 0)
        due = (boundary or self._saved_step is None
               or _step(s) - self._saved_step >= s.steps(self.control.checkpoint_ps))
        if flag or due:
            self.save(s, segment, begin, end)
        if flag:
            raise BuildStopped(flag, f"{self.name}: stopped on request (signal {flag}) in "
                                     f"segment {segment} at LAMMPS step {_step(s)}; "
                                     f"checkpoint {self.path}")

    def run(self, session, segments, after_segment: Callable[[int], None] | None = None,
            after_chunk: Callable[[int, bool], bool] | None = None) -> None:
        """Run ``segments`` in order from where the route stands, as the module docstring says.

        Parameters
        ----------
        session : dealloy.lammps.session.LammpsSession
            The route's session (prepared, or restored by :meth:`restore`).
        segments : sequence of MdSegment
            The schedule; the same list on every call of the route.
        after_segment : callable, optional
            ``(index) -> None``, called after each segment finishes (before its checkpoint).
        after_chunk : callable, optional
            ``(index, halted) -> changed``, called after every chunk of segment ``index``;
            ``halted`` is True when LAMMPS ended the chunk before its last step (a ``fix halt
            ... error continue`` of the caller's fired), and the callable must then remove the
            cause. It returns True when it changed the system (e.g. deleted atoms): the segment
            goes on from the step reached with a fresh setup (``pre yes``).

        Raises
        ------
        BuildStopped
            When ``stop_requested()`` returned non-zero (after writing the checkpoint).
        SimulationError
            When LAMMPS fails, or ends a run early without an ``after_chunk`` to call.
        """
        s = session
        first_seg, first_begin = self._start
        if self.resumed:
            seg = segments[first_seg].name if first_seg < len(segments) else "after the MD"
            msg = (f"{self.name}: continuing from its build checkpoint: segment {first_seg} "
                   f"({seg}), LAMMPS step {_step(s)}")
            _logger.info(msg)
            self.control.resumed.append({"route": self.name, "segment": first_seg,
                                         "segment_name": seg, "step": _step(s)})
        else:
            self._safe_point(s, 0, None, None, boundary=False)
        poll = s.steps(self.control.poll_ps) if self.control is not None else None
        for i in range(first_seg, len(segments)):
            seg = segments[i]
            n = s.steps(seg.time_ps)
            step = _step(s)
            begin = first_begin if (i == first_seg and first_begin is not None) else step
            end = begin + n
            fixes = s.thermostat(seg.ensemble, seg.temperature_k, seg.temperature_end_k,
                                 seg.damping_ps, seed=seg.seed, fix_id=s.new_id(seg.ensemble))
            pre = "yes"
            while step < end:
                k = end - step if poll is None else min(poll, end - step)
                s.command(f"run {k} start {begin} stop {end} pre {pre} post no")
                pre = "no"
                now = _step(s)
                halted = now < step + k  # LAMMPS ended the run early: a fix halt fired
                if halted and after_chunk is None:
                    raise SimulationError(f"{self.name}: LAMMPS ended a run at step {now}, "
                                          f"before its step {step + k} (a fix halt?)")
                if after_chunk is not None and after_chunk(i, halted):
                    pre = "yes"  # the caller changed the system (deleted atoms): set up again
                step = now
                if step < end:
                    self._safe_point(s, i, begin, end, boundary=False)
            for fid in fixes:
                s.command(f"unfix {fid}")
            if after_segment is not None:
                after_segment(i)
            self._safe_point(s, i + 1, None, None, boundary=True)


__all__ = ["BuildControl", "BuildRoute", "BuildStopped", "MdSegment", "build_control",
           "current_control", "resumed_info"]

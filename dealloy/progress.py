"""Progress on rank 0, drawn with :mod:`rich` on a terminal and as plain lines in a log file.

- :class:`Progress`: a run's protocol (``dealloy run``, ``dealloy quickstart``): stage i/n (the
  numbering of the engine's warnings), simulated ps, Li/Si, atoms, ns/day and an ETA for the
  current stage (time-based stages: remaining ps; extraction/insertion: remaining Li at the
  configured rate).
- :class:`BuildProgress`: the builders' phases with an estimated ETA (``dealloy build``).
- :class:`TaskProgress`: countable work of the other long commands -- frames of
  ``dealloy analyze``, cells of ``dealloy validate-potential --amorphous``, MD runs of
  ``dealloy diffusivity``, melt-quenches and labels of ``dealloy potential fit`` -- with the
  elapsed time and an ETA from the measured pace.

Everything goes to stderr (stdout stays clean for JSON and tables). On a terminal the display is a
live :mod:`rich` bar; otherwise (a log file, a pipe) it is readable lines, at most one every
``interval_s`` (30 s) besides the commands' own messages.
"""

from __future__ import annotations

import logging
import math
import sys
import time

from rich.console import Console
from rich.progress import (BarColumn, Progress as RichProgress, ProgressColumn, TaskProgressColumn,
                           TextColumn, TimeElapsedColumn)
from rich.table import Column
from rich.text import Text


def _console(stream) -> Console:
    """Make a rich console on ``stream`` that draws live displays and never interprets markup.

    The caller decided ``stream`` is a terminal.

    Returns
    -------
    rich.console.Console
        The console.
    """
    return Console(file=stream, force_terminal=True, markup=False, highlight=False)


class Progress:
    """A run's progress on rank 0 (``Engine`` calls :meth:`update` after every MD chunk).

    Parameters
    ----------
    stream : file, optional
        Where to write (default ``sys.stderr``).
    interval_s : float, optional
        Least time between two updates (default 0.5 s on a terminal, 30 s otherwise).
    tty : bool, optional
        Force the live bar on (True) or the line output (False); default: ``stream.isatty()``.
    """

    def __init__(self, stream=None, interval_s: float | None = None, tty: bool | None = None):
        self.stream = stream or sys.stderr
        self.tty = _isatty(self.stream) if tty is None else tty
        self.interval_s = interval_s if interval_s is not None else (0.5 if self.tty else 30.0)
        self._last = 0.0
        self._t0 = None
        self._step0 = None
        self._live = None   # the rich display, started at the first update (after any build)
        self._task = None

    def _eta_s(self, eng, rate_steps_per_s: float) -> float | None:
        i = eng.st.stage_index
        if i >= len(eng.cfg.stages) or rate_steps_per_s <= 0:
            return None
        stage = eng.cfg.stages[i]
        prog = eng.st.stage  # StageProgress, None before the stage began
        done = prog.steps_done if prog is not None else 0
        if stage.type in ("equilibrate", "hold", "anneal"):
            total = stage.time_ps / eng.dt
            return max(0.0, total - done) / rate_steps_per_s
        if stage.type in ("extract", "insert"):
            li_ref = (prog.li_ref if prog is not None else None) or 1
            per_interval = stage.li_per_interval(li_ref)
            remaining = abs(eng.st.n_li - eng._target(stage))
            steps = math.ceil(remaining / max(per_interval, 1e-9)) * stage.interval_ps / eng.dt
            if stage.max_time_ps:
                steps = min(steps, stage.max_time_ps / eng.dt - done)
            return max(0.0, steps) / rate_steps_per_s
        return None

    @staticmethod
    def fraction(eng) -> float:
        """Compute the share of the protocol done: finished stages + the current stage's share.

        Parameters
        ----------
        eng : dealloy.engine.run.Engine
            The running engine (its config ``cfg``, state ``st``, timestep ``dt`` in ps).

        Returns
        -------
        float
            In [0, 1]: (finished stages + the current stage's done share) / number of stages; for
            time stages the share of ``time_ps`` run, for exchange stages the share of the Li to
            exchange.
        """
        n = len(eng.cfg.stages)
        i = eng.st.stage_index
        if i >= n:
            return 1.0
        stage = eng.cfg.stages[i]
        prog = eng.st.stage  # StageProgress, None before the stage began
        f = 0.0
        if stage.type in ("equilibrate", "hold", "anneal"):
            f = (prog.steps_done if prog is not None else 0) * eng.dt / stage.time_ps
        elif stage.type in ("extract", "insert"):
            li0 = prog.li0 if prog is not None else eng.st.n_li
            todo = abs(li0 - eng._target(stage))
            f = 1.0 - abs(eng.st.n_li - eng._target(stage)) / todo if todo else 1.0
        return (i + min(max(f, 0.0), 1.0)) / n

    @staticmethod
    def stage_label(eng) -> str:
        """Label the current stage as ``stage i/n type`` (1-based, as in the engine's warnings).

        Parameters
        ----------
        eng : dealloy.engine.run.Engine
            The running engine (its config ``cfg``, state ``st``, timestep ``dt`` in ps).

        Returns
        -------
        str
            E.g. ``"stage 2/3 extract"``.
        """
        i = eng.st.stage_index
        n = len(eng.cfg.stages)
        return f"stage {min(i + 1, n)}/{n} {eng.cfg.stages[min(i, n - 1)].type}"

    def _parts(self, eng) -> dict:
        now = time.time()
        step = eng.st.md_step
        if self._t0 is None:
            self._t0, self._step0 = now, step
        el = max(now - self._t0, 1e-9)
        steps_per_s = (step - self._step0) / el
        eta = self._eta_s(eng, steps_per_s)
        return {"stage": self.stage_label(eng), "t_ps": eng.t_ps, "x": eng._x(),
                "atoms": eng.st.n_li + eng.st.n_si,
                "ns_day": steps_per_s * eng.dt * 1e-3 * 86400,
                "eta": "--" if eta is None or steps_per_s == 0 else _hms(eta)}

    def text(self, eng) -> str:
        """Write the log line: stage i/n, simulated time, Li/Si, atoms, ns/day, the stage's ETA.

        Parameters
        ----------
        eng : dealloy.engine.run.Engine
            The running engine (its config ``cfg``, state ``st``, timestep ``dt`` in ps).

        Returns
        -------
        str
            One line without a newline.
        """
        d = self._parts(eng)
        return (f"{d['stage']:<19} t={d['t_ps']:9.2f} ps  Li/Si={d['x']:6.3f}  "
                f"atoms={d['atoms']:7d}  {d['ns_day']:7.2f} ns/day  stage ETA {d['eta']}")

    def update(self, eng, force: bool = False) -> None:
        """Show the engine's progress, at most once every ``interval_s`` unless forced.

        Parameters
        ----------
        eng : dealloy.engine.run.Engine
            The running engine (its config ``cfg``, state ``st``, timestep ``dt`` in ps).
        force : bool
            Show it now regardless of ``interval_s``.
        """
        now = time.time()
        if not force and now - self._last < self.interval_s:
            return
        self._last = now
        if not self.tty:
            self.stream.write(self.text(eng) + "\n")
            self.stream.flush()
            return
        d = self._parts(eng)  # the same numbers, most telling first (a narrow terminal folds)
        line = (f"{d['stage']}  stage ETA {d['eta']}  t={d['t_ps']:.2f} ps  Li/Si={d['x']:.3f}  "
                f"{d['atoms']} atoms  {d['ns_day']:.2f} ns/day")
        if self._live is None:
            self._live = RichProgress(BarColumn(bar_width=12), TaskProgressColumn(),
                                      TextColumn("{task.description}", markup=False,
                                                 table_column=Column(overflow="fold", ratio=1)),
                                      console=_console(self.stream), auto_refresh=False,
                                      **_redirects(self.stream))
            self._task = self._live.add_task(line, total=1.0, completed=self.fraction(eng))
            self._live.start()
        self._live.update(self._task, completed=self.fraction(eng), description=line)
        self._live.refresh()

    def close(self) -> None:
        """End the live bar (its last state stays on the terminal)."""
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _redirects(stream) -> dict:
    """Choose which streams rich prints above the live bar (else they land in the bar's line).

    Stderr when the bar is on it, stdout only when it is a terminal too (a redirected stdout --
    JSON, tables -- is left alone).

    Returns
    -------
    dict
        ``redirect_stderr`` and ``redirect_stdout`` keyword arguments of rich's progress display.
    """
    return {"redirect_stderr": stream is sys.stderr,
            "redirect_stdout": _isatty(sys.stdout)}


def _hms(s: float) -> str:
    s = int(s)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


# ---- countable work of the long commands -----------------------------------------------------
class _EtaColumn(ProgressColumn):
    """Time left from the task's measured pace, counted down with the clock between updates."""

    def render(self, task) -> Text:
        finish_at = task.fields.get("finish_at")
        if task.finished:
            return Text("done")
        if finish_at is None:
            return Text(task.fields.get("eta_hint") or "ETA --")
        left = finish_at - time.time()
        return Text(f"ETA {_hms(left)}" if left > 0 else "longer than estimated")


class _CountColumn(ProgressColumn):
    """``done/total``, or a percentage for a share (``total == 1``)."""

    def render(self, task) -> Text:
        if task.total == 1.0:
            return Text(f"{100 * task.completed:3.0f} %")
        return Text(f"{task.completed:g}/{task.total:g}")


class TaskProgress:
    """Progress of a long command's countable work (rank 0, on stderr), with an ETA.

    Library functions take it as their ``progress`` hook and call it with a message, a count, or
    both::

        progress("3 cells to melt-quench")              # a line (above the bar on a terminal)
        progress(done=0, total=12, task="melt-quench")  # start (or move) the bar of a task
        progress("x = 1.5 seed 0: CN 2.1", done=4, total=12, task="melt-quench")

    ``total=1`` makes ``done`` a share of the work (shown as a percentage): for work of unequal
    parts weighted by their expected cost. The ETA of a task is its pace so far: (time since the task's first call) / (items done since
    then) x items left, so items found done at the first call (cached results) do not count.
    On a terminal each task is a live :mod:`rich` bar (elapsed, done/total, ETA counted down
    with the clock); otherwise a message with a count ends in ``(done/total, ETA h:mm:ss)`` and
    a count without a message prints a line at most every ``interval_s``.

    Parameters
    ----------
    prefix : str
        Put before every line (``"dealloy analyze"``).
    stream : file, optional
        Default ``sys.stderr``.
    tty : bool, optional
        Live bar (True) or lines (False); default: ``stream.isatty()``.
    enabled : bool
        False (``--quiet``, MPI ranks other than 0) makes every call a no-op.
    interval_s : float
        Least time between two count-only lines off a terminal.
    """

    takes_counts = True  # see dealloy.io.progress_hook

    def __init__(self, prefix: str, stream=None, tty: bool | None = None, enabled: bool = True,
                 interval_s: float = 30.0):
        self.prefix = prefix
        self.stream = stream or sys.stderr
        self.tty = _isatty(self.stream) if tty is None else tty
        self.enabled = enabled
        self.interval_s = interval_s
        self._tasks: dict[str, dict] = {}
        self._live = None
        self._last_line = 0.0

    def __call__(self, msg: str | None = None, *, done: float | None = None,
                 total: float | None = None, task: str | None = None) -> None:
        """Print a message, move a task's count, or both (see the class docstring).

        Parameters
        ----------
        msg : str, optional
            A line to print.
        done : float, optional
            Items done (or a share of ``total == 1``).
        total : float, optional
            Items in all; with ``done`` it starts or moves the task's bar.
        task : str, optional
            The task's name (default ``"working"``).
        """
        if not self.enabled:
            return
        suffix = ""
        if done is not None and total:
            suffix = self._count(task or "working", float(done), float(total))
        if msg is not None:
            self._line(msg + (f" ({suffix})" if suffix and not self.tty else ""))
        elif suffix and not self.tty and (time.time() - self._last_line >= self.interval_s
                                           or done >= total):
            self._line(f"{task or 'working'}: {suffix}")

    # ---- counts -------------------------------------------------------------------------------
    def eta_s(self, task: str) -> float | None:
        """Estimate the seconds left for ``task`` at its pace so far.

        Parameters
        ----------
        task : str
            The task's name.

        Returns
        -------
        float or None
            Seconds left; None before its first finished item (or for an unknown task).
        """
        t = self._tasks.get(task)
        if t is None or t["done"] <= t["done0"]:
            return None
        pace = (time.time() - t["start"]) / (t["done"] - t["done0"])
        return max(t["total"] - t["done"], 0.0) * pace

    def _count(self, name: str, done: float, total: float) -> str:
        now = time.time()
        t = self._tasks.get(name)
        if t is None or done < t["done"]:  # a new task, or one that starts again
            t = self._tasks[name] = {"start": now, "done0": done, "done": done, "total": total,
                                     "id": t["id"] if t else None, "restart": t is not None}
        t["done"], t["total"] = done, total
        eta = self.eta_s(name)
        if self.tty:
            self._show(name, t, eta, now)
        n = f"{100 * done:.0f} %" if total == 1.0 else f"{done:g}/{total:g}"
        return f"{n}, ETA {_hms(eta)}" if eta is not None and done < total else n

    def _show(self, name: str, t: dict, eta: float | None, now: float) -> None:
        if self._live is None:
            self._live = RichProgress(
                TextColumn(f"{self.prefix}: [bold]{{task.description}}"), BarColumn(),
                _CountColumn(), TimeElapsedColumn(), _EtaColumn(),
                console=Console(file=self.stream, force_terminal=True, highlight=False),
                refresh_per_second=2, **_redirects(self.stream))
            self._live.start()
        finish_at = None if eta is None else now + eta
        if t["id"] is None:
            t["id"] = self._live.add_task(name, total=t["total"], completed=t["done"],
                                          finish_at=finish_at)
        elif t.pop("restart", False):
            self._live.reset(t["id"], total=t["total"], completed=t["done"], finish_at=finish_at)
        else:
            self._live.update(t["id"], total=t["total"], completed=t["done"], finish_at=finish_at)

    # ---- lines --------------------------------------------------------------------------------
    def _line(self, msg: str, prefix: bool = True) -> None:
        self._last_line = time.time()
        text = f"{self.prefix}: {msg}" if prefix else msg
        if self._live is not None:
            self._live.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    # ---- a text stream (for BuildProgress and other line writers) ------------------------------
    def write(self, text: str) -> int:
        """Print the complete lines of ``text`` as they are (no prefix), above a live bar.

        File-like: partial lines wait for their newline.

        Parameters
        ----------
        text : str
            Text to write.

        Returns
        -------
        int
            ``len(text)``, as :meth:`io.TextIOBase.write`.
        """
        if not self.enabled:
            return len(text)
        self._buf = getattr(self, "_buf", "") + text
        *lines, self._buf = self._buf.split("\n")
        for line in lines:
            self._line(line, prefix=False)
        return len(text)

    def flush(self) -> None:
        """Do nothing (file-like; lines are printed when complete)."""

    def isatty(self) -> bool:  # writers that draw their own live display must not: one at a time
        """Say False: a writer on this stream must not draw its own live display."""
        return False

    def close(self) -> None:
        """Stop the live display (the bars' last state stays on the terminal)."""
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()

    def __enter__(self):
        """Return self (the live display starts at the first count)."""
        return self

    def __exit__(self, *exc):
        """Stop the live display (:meth:`close`); exceptions propagate."""
        self.close()
        return False


# ---- builds: the builders' phases, with an estimated ETA ------------------------------------------
#: MD throughput assumed before a build has measured its own (atom-steps per second per MPI rank):
#: meam-godet2020 on this project's 2-core test machine, a-Li3.75Si melt-quench of 304 atoms
#: (docs/builders.md, "Expected times"). Replaced by the build's own rate after its first phase.
PRIOR_ATOM_STEPS_PER_S_PER_RANK = 6.0e4


class BuildProgress(logging.Handler):
    """Relay the ``dealloy.builders`` logger's phase messages, with an ETA for the MD phases.

    Phases that announce their MD (``extra={"phase", "atoms", "md_ps", "timestep_ps"}``) get a
    :mod:`rich` progress bar with the elapsed time and an estimated time left (the mechanism
    ``dealloy run`` uses).

    The estimate is MD work / throughput: ``atoms x md_ps / timestep_ps`` atom-steps at
    :data:`PRIOR_ATOM_STEPS_PER_S_PER_RANK` x ranks until the build reports a finished part of a
    phase (``extra={"md_ps_done", "elapsed_s"}``), then at the throughput it measured. LAMMPS
    gives no progress from inside a ``run``, so the bar advances with the clock and holds at
    99 % if the phase takes longer than estimated. On a terminal the bar is live; otherwise each
    phase prints one line with its estimate.

    Use as a context manager on MPI rank 0::

        with BuildProgress(ranks=comm.Get_size()):
            atoms = builder(**kwargs)

    Parameters
    ----------
    ranks : int
        MPI ranks the build runs on (scales the assumed throughput).
    stream : file, optional
        Default ``sys.stderr``.
    tty : bool, optional
        Live bar (True) or lines (False); default: ``stream.isatty()``.
    prefix : str
        Put before every line.
    """

    def __init__(self, ranks: int = 1, stream=None, tty: bool | None = None,
                 prefix: str = "dealloy build"):
        super().__init__(logging.INFO)
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.prefix = prefix
        self.ranks = max(int(ranks), 1)
        self.rate = PRIOR_ATOM_STEPS_PER_S_PER_RANK * self.ranks  # atom-steps per s
        self.measured = False
        self._phase = None          # (name, atom-steps, start time)
        self._progress = None
        self._task = None
        self._logger = logging.getLogger("dealloy.builders")
        self._old_level = None
        self.t0 = time.time()

    # ---- logging.Handler ----------------------------------------------------------------------
    def emit(self, record: logging.LogRecord) -> None:
        """Show one log record of the ``dealloy.build`` logger (never raises).

        Parameters
        ----------
        record : logging.LogRecord
            A phase message (with ``phase``/``atoms``/``md_ps``/``timestep_ps`` extras to start a
            bar, ``md_ps_done``/``elapsed_s`` to calibrate the throughput) or a plain message.
        """
        try:
            msg = record.getMessage()
            done = getattr(record, "md_ps_done", None)
            if done is not None and self._phase is not None and getattr(record, "elapsed_s", 0) > 0:
                self._calibrate(done, record.elapsed_s)
            phase = getattr(record, "phase", None)
            if phase is not None and getattr(record, "md_ps", None):
                self._start_phase(phase, record.atoms, record.md_ps,
                                  record.timestep_ps or 0.001, msg)
            else:
                self._print(msg)
        except Exception:  # progress must never break a build
            self.handleError(record)

    # ---- phases -------------------------------------------------------------------------------
    def estimate_s(self, atoms: int, md_ps: float, timestep_ps: float) -> float:
        """Estimate a phase's wall time from its MD work at the current throughput.

        Parameters
        ----------
        atoms : int
            Atoms in the MD.
        md_ps : float
            Simulated time of the phase (ps).
        timestep_ps : float
            MD timestep (ps).

        Returns
        -------
        float
            Seconds: ``atoms * md_ps / timestep_ps`` atom-steps over the throughput (atom-steps/s).
        """
        return atoms * md_ps / timestep_ps / self.rate

    def _start_phase(self, name, atoms, md_ps, timestep_ps, msg) -> None:
        self._finish_phase()
        est = self.estimate_s(atoms, md_ps, timestep_ps)
        basis = ("this build's measured" if self.measured else "an assumed") + \
            f" {self.rate / 1e3:.0f} katom-steps/s"
        self._phase = {"name": name, "est": est, "start": time.time(), "atoms": atoms,
                       "md_ps": md_ps, "timestep_ps": timestep_ps}
        if not self.tty:
            self._print(f"{msg} (estimated {_hms(est)} at {basis})")
            return
        self._print(msg)
        self._progress = RichProgress(
            TextColumn(f"{self.prefix}: [bold]{{task.description}}"), BarColumn(),
            TimeElapsedColumn(), TextColumn("{task.fields[left]}"),
            console=Console(file=self.stream), transient=True, refresh_per_second=2)
        self._task = self._progress.add_task(name, total=est, left=f"~{_hms(est)} left ({basis})")
        self._progress.start()
        self._tick_thread()

    def _tick_thread(self) -> None:
        import threading

        def tick(progress=self._progress, task=self._task, phase=self._phase):
            while progress is self._progress and not progress.finished:
                el = time.time() - phase["start"]
                est = phase["est"]
                left = est - el
                progress.update(task, total=est, completed=min(el, 0.99 * est),
                                left=f"~{_hms(left)} left" if left > 0 else "longer than estimated")
                time.sleep(0.5)

        threading.Thread(target=tick, daemon=True).start()

    def finish_phase(self) -> None:
        """End the current phase (say how long it took) if one is under way.

        For callers whose next work is not a build phase (``dealloy diffusivity``'s MD after its
        melt-quench).
        """
        self._finish_phase()

    def _finish_phase(self) -> None:
        if self._progress is not None:
            progress, self._progress = self._progress, None
            progress.stop()
        if self._phase is not None:
            ph, self._phase = self._phase, None
            self._print(f"{ph['name']} took {_hms(time.time() - ph['start'])} (estimated "
                        f"{_hms(ph['first_est'] if 'first_est' in ph else ph['est'])})")

    def _calibrate(self, md_ps_done: float, elapsed_s: float) -> None:
        """Use the throughput measured by the phase from now on, and re-estimate its rest.

        The phase reported ``md_ps_done`` of its MD finished in ``elapsed_s``.
        """
        ph = self._phase
        self.rate = ph["atoms"] * md_ps_done / ph["timestep_ps"] / elapsed_s
        self.measured = True
        ph.setdefault("first_est", ph["est"])
        left = self.estimate_s(ph["atoms"], ph["md_ps"] - md_ps_done, ph["timestep_ps"])
        ph["est"] = time.time() - ph["start"] + left
        if not self.tty:
            self._print(f"measured {self.rate / 1e3:.0f} katom-steps/s: about {_hms(left)} left "
                        f"in the {ph['name']}")

    def _print(self, msg: str) -> None:
        if self._progress is not None:
            self._progress.console.print(f"{self.prefix}: {msg}", markup=False, highlight=False)
        else:
            self.stream.write(f"{self.prefix}: {msg}\n")
            self.stream.flush()

    # ---- context manager ------------------------------------------------------------------------
    def __enter__(self):
        """Attach to the ``dealloy.build`` logger (at INFO level) and return self."""
        self._logger.addHandler(self)
        self._old_level = self._logger.level
        self._logger.setLevel(logging.INFO)  # setLevel, not .level =: it clears children's caches
        return self

    def __exit__(self, *exc):
        """End the current phase and detach from the logger; exceptions propagate."""
        self._finish_phase()
        self._logger.removeHandler(self)
        self._logger.setLevel(self._old_level)
        return False

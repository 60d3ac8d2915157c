"""Progress on rank 0: of a run (:class:`Progress`: a live line on a TTY, periodic log lines
otherwise; stage, simulated ps, Li/Si, atoms, ns/day and an ETA for the current stage -- time-based
stages: remaining ps; extraction/insertion: remaining Li at the configured rate) and of a build
(:class:`BuildProgress`: the builders' phases with an estimated ETA).
"""

from __future__ import annotations

import logging
import math
import sys
import time


class Progress:
    def __init__(self, stream=None, interval_s: float | None = None, tty: bool | None = None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval_s = interval_s if interval_s is not None else (0.5 if self.tty else 30.0)
        self._last = 0.0
        self._t0 = None
        self._step0 = None
        self._live = None

    def _eta_s(self, eng, rate_steps_per_s: float) -> float | None:
        i = eng.st["stage_index"]
        if i >= len(eng.cfg.stages) or rate_steps_per_s <= 0:
            return None
        stage = eng.cfg.stages[i]
        prog = eng.st["stage"] or {}
        done = prog.get("steps_done", 0)
        if stage.type in ("equilibrate", "hold", "anneal"):
            total = stage.time_ps / eng.dt
            return max(0.0, total - done) / rate_steps_per_s
        if stage.type in ("extract", "insert"):
            li_ref = prog.get("li_ref") or 1
            per_interval = stage.li_per_interval(li_ref)
            remaining = abs(eng.st["n_li"] - eng._target(stage))
            steps = math.ceil(remaining / max(per_interval, 1e-9)) * stage.interval_ps / eng.dt
            if stage.max_time_ps:
                steps = min(steps, stage.max_time_ps / eng.dt - done)
            return max(0.0, steps) / rate_steps_per_s
        return None

    @staticmethod
    def fraction(eng) -> float:
        """Share of the protocol done: finished stages + the current stage's own share."""
        n = len(eng.cfg.stages)
        i = eng.st["stage_index"]
        if i >= n:
            return 1.0
        stage = eng.cfg.stages[i]
        prog = eng.st["stage"] or {}
        f = 0.0
        if stage.type in ("equilibrate", "hold", "anneal"):
            f = prog.get("steps_done", 0) * eng.dt / stage.time_ps
        elif stage.type in ("extract", "insert"):
            li0 = prog.get("li0", eng.st["n_li"])
            todo = abs(li0 - eng._target(stage))
            f = 1.0 - abs(eng.st["n_li"] - eng._target(stage)) / todo if todo else 1.0
        return (i + min(max(f, 0.0), 1.0)) / n

    def text(self, eng) -> str:
        now = time.time()
        step = eng.st["md_step"]
        if self._t0 is None:
            self._t0, self._step0 = now, step
        el = max(now - self._t0, 1e-9)
        steps_per_s = (step - self._step0) / el
        ns_day = steps_per_s * eng.dt * 1e-3 * 86400
        eta = self._eta_s(eng, steps_per_s)
        i = eng.st["stage_index"]
        n = len(eng.cfg.stages)
        stage = eng.cfg.stages[min(i, n - 1)].type
        eta_txt = "--" if eta is None or steps_per_s == 0 else _hms(eta)
        return (f"stage {min(i + 1, n)}/{n} {stage:<11} t={eng.t_ps:9.2f} ps  "
                f"Li/Si={eng._x():6.3f}  atoms={eng.st['n_li'] + eng.st['n_si']:7d}  "
                f"{ns_day:7.2f} ns/day  stage ETA {eta_txt}")

    def update(self, eng, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._last < self.interval_s:
            return
        self._last = now
        line = self.text(eng)
        if self.tty:
            f = self.fraction(eng)
            bar = "#" * int(round(20 * f)) + "-" * (20 - int(round(20 * f)))
            self.stream.write(f"\r[{bar}] {100 * f:3.0f}% " + line[:140].ljust(140))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _hms(s: float) -> str:
    s = int(s)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


# ---- builds: the builders' phases, with an estimated ETA ------------------------------------------
#: MD throughput assumed before a build has measured its own (atom-steps per second per MPI rank):
#: meam-godet2020 on this project's 2-core test machine, a-Li3.75Si melt-quench of 304 atoms
#: (docs/builders.md, "Expected times"). Replaced by the build's own rate after its first phase.
PRIOR_ATOM_STEPS_PER_S_PER_RANK = 6.0e4


class BuildProgress(logging.Handler):
    """Relay the ``dealloy.build`` logger's phase messages (the mechanism ``dealloy run`` uses)
    and, for phases that announce their MD (``extra={"phase", "atoms", "md_ps",
    "timestep_ps"}``), show a :mod:`rich` progress bar with the elapsed time and an estimated
    time left.

    The estimate is MD work / throughput: ``atoms x md_ps / timestep_ps`` atom-steps at
    :data:`PRIOR_ATOM_STEPS_PER_S_PER_RANK` x ranks until the build reports a finished part of a
    phase (``extra={"md_ps_done", "elapsed_s"}``), then at the throughput it measured. LAMMPS
    gives no progress from inside a ``run``, so the bar advances with the clock and holds at
    99 % if the phase takes longer than estimated. On a terminal the bar is live; otherwise each
    phase prints one line with its estimate.

    Use as a context manager on MPI rank 0::

        with BuildProgress(ranks=comm.Get_size()):
            atoms = builder(**kwargs)
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
        self._logger = logging.getLogger("dealloy.build")
        self._old_level = None
        self.t0 = time.time()

    # ---- logging.Handler ----------------------------------------------------------------------
    def emit(self, record: logging.LogRecord) -> None:
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
        from rich.console import Console
        from rich.progress import BarColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

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

    def _finish_phase(self) -> None:
        if self._progress is not None:
            progress, self._progress = self._progress, None
            progress.stop()
        if self._phase is not None:
            ph, self._phase = self._phase, None
            self._print(f"{ph['name']} took {_hms(time.time() - ph['start'])} (estimated "
                        f"{_hms(ph['first_est'] if 'first_est' in ph else ph['est'])})")

    def _calibrate(self, md_ps_done: float, elapsed_s: float) -> None:
        """The phase reported ``md_ps_done`` of its MD finished in ``elapsed_s``: use that
        throughput from now on, and re-estimate the rest of the phase with it."""
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
        self._logger.addHandler(self)
        self._old_level = self._logger.level
        self._logger.setLevel(logging.INFO)  # setLevel, not .level =: it clears children's caches
        return self

    def __exit__(self, *exc):
        self._finish_phase()
        self._logger.removeHandler(self)
        self._logger.setLevel(self._old_level)
        return False

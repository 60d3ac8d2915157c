"""Progress of a run on rank 0: a live line on a TTY, periodic log lines otherwise.

Shows stage, simulated ps, Li/Si, atoms, ns/day and an ETA for the current stage (time-based
stages: remaining ps; extraction/insertion: remaining Li at the configured rate).
"""

from __future__ import annotations

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

"""Run states: from the run directories (run.json) and, when SLURM answers, the queue.

States: ``pending`` (nothing run yet), ``queued`` (waiting in SLURM), ``running``, ``done``,
``failed`` (with its last error line), ``checkpointed`` (stopped with a checkpoint: resumes),
``interrupted`` (run.json says running but no job or process runs it any more, e.g. killed:
resumes from its last checkpoint). The ``scheduler`` column adds the SLURM task and its state
(e.g. ``12_3 CANCELLED``) for runs that were submitted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dealloy.errors import ConfigError
from dealloy.records import RunRecord
from dealloy.rundir import RunDir
from dealloy.study import slurm
from dealloy.study.plan import Plan, PlannedRun

LIVE_QUEUED = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING", "RESIZING",
               "SUSPENDED"}
LIVE_RUNNING = {"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING"}
RESUMABLE = {"checkpointed", "interrupted"}


@dataclass
class RunState:
    """The state of one planned run (see the module docstring for the states).

    Parameters
    ----------
    run : dealloy.study.plan.PlannedRun
        The run.
    state : str
        ``pending``, ``queued``, ``running``, ``done``, ``failed``, ``checkpointed`` or
        ``interrupted``.
    scheduler : str
        ``"<job>_<i> STATE"`` when submitted to SLURM, else ''.
    note : str
        For a failed run: its last error line.
    """

    run: PlannedRun
    state: str
    scheduler: str = ""  # "<job>_<i> STATE" when submitted
    note: str = ""  # failed: the last error line


def run_mode(path: Path) -> str:
    """Decide what ``dealloy run`` should do with a run directory.

    Parameters
    ----------
    path : str or os.PathLike
        The run directory.

    Returns
    -------
    str
        ``done`` (finished), ``resume`` (it has a checkpoint or a run.json: ``--resume``, which
        starts afresh if there is no checkpoint) or ``fresh``.
    """
    rd = RunDir(path)
    if rd.status == "done":
        return "done"
    if has_checkpoint(rd) or rd.run_json.is_file():
        return "resume"  # dealloy run --resume: from the last checkpoint, a fresh start if none
    return "fresh"


def has_checkpoint(rd: RunDir) -> bool:
    """Tell whether a run directory holds a checkpoint.

    Parameters
    ----------
    rd : dealloy.rundir.RunDir
        The run directory.

    Returns
    -------
    bool
        True if ``checkpoint/`` exists and is not empty.
    """
    cp = rd.checkpoint_dir
    return cp.is_dir() and any(cp.iterdir())


def last_error_line(rd: RunDir, log: Path | None = None) -> str:
    """Find the last error line of a failed run.

    Parameters
    ----------
    rd : dealloy.rundir.RunDir
        The run directory.
    log : pathlib.Path, optional
        The run's SLURM or local log.

    Returns
    -------
    str
        The last line of the run's ``error`` in run.json, else the last line containing "error"
        (or the last line) of the log's last 200 lines, else a note that none was recorded; the
        message of an unreadable run.json.
    """
    try:
        rec = RunRecord.read(rd.run_json)
    except ConfigError as exc:
        return str(exc)
    if rec is not None and rec.last_error_line:
        return rec.last_error_line
    if log is not None and log.is_file():
        tail = [ln.strip() for ln in log.read_text(errors="replace").splitlines()[-200:]
                if ln.strip()]
        errs = [ln for ln in tail if "error" in ln.lower()]
        if errs or tail:
            return (errs or tail)[-1]
    return "(no error message recorded)"


def local_pid_alive(plan: Plan, run: PlannedRun) -> bool:
    """Tell whether the local process of a run (``<study>/logs/<key>.pid``) is alive.

    Parameters
    ----------
    plan : dealloy.study.plan.Plan
        The study's plan.
    run : dealloy.study.plan.PlannedRun
        The run.

    Returns
    -------
    bool
        True if the recorded pid exists (also when it belongs to another user); False without
        a pid file.
    """
    pidf = plan.directory / "logs" / f"{run.key}.pid"
    try:
        pid = int(pidf.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


FAILED_SLURM = {"FAILED", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "TIMEOUT"}


def _failed_before_md(plan: Plan, run: PlannedRun, task, sched) -> bool:
    if task is not None:
        return sched is not None and sched.state in FAILED_SLURM
    try:
        return int((plan.directory / "logs" / f"{run.key}.exit").read_text()) not in (0, 75)
    except (FileNotFoundError, ValueError):
        return False


def states(plan: Plan, use_queue: bool = True) -> tuple[list[RunState], bool]:
    """Determine the state of every planned run, from its directory and, if asked, SLURM.

    Parameters
    ----------
    plan : dealloy.study.plan.Plan
        The study's plan.
    use_queue : bool
        Ask SLURM about submitted runs.

    Returns
    -------
    states : list of RunState
        One per planned run, in plan order.
    asked : bool
        Whether SLURM was asked successfully.
    """
    tasks = slurm.latest_task_of_run(plan.directory)
    queue = None
    if use_queue and tasks:
        job_ids = sorted({t.split("_")[0] for t in tasks.values()})
        queue = slurm.queue_states(job_ids)
    out = []
    for run in plan.runs:
        rd = run.rundir
        disk = rd.status if rd.run_json.is_file() else "pending"
        task = tasks.get(run.key)
        sched = queue.get(task) if (queue is not None and task) else None
        state = disk
        if disk not in ("done", "failed"):
            if sched is not None and sched.state in LIVE_QUEUED:
                state = "queued"
            elif sched is not None and sched.state in LIVE_RUNNING:
                state = "running"
            elif disk == "running" and not local_pid_alive(plan, run):
                # nothing runs it (known for local runs, and for SLURM runs when SLURM answered)
                if task is None or queue is not None:
                    state = "interrupted"
        if state == "pending" and _failed_before_md(plan, run, task, sched):
            state = "failed"  # e.g. bad builder arguments: the run never wrote run.json
        note = ""
        if state == "failed":
            note = last_error_line(rd, slurm.log_of_task(plan.directory, task) if task else
                                   plan.directory / "logs" / f"{run.key}.log")
        scheduler = ""
        if task:
            scheduler = f"{task} {sched.state}" if sched else f"{task} (gone from SLURM)" \
                if queue is not None else task
        out.append(RunState(run, state, scheduler, note))
    return out, queue is not None

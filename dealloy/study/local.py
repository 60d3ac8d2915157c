"""``dealloy study run --local``: run the pending runs on this machine, then analyse them.

Each run is ``[mpiexec -n N] python -m dealloy.cli run <run>/config.toml [--resume]`` in its own
process (log: ``<study>/logs/<key>.log``); ``jobs`` runs go at once. Finished runs are skipped,
checkpointed/interrupted ones resume, failed ones are left alone unless ``retry_failed``.
Ctrl-C (or SIGTERM to this process) sends SIGTERM to the runs, which checkpoint and stop; the
next call resumes them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from dealloy.builders.cache import CACHE_ENV
from dealloy.errors import ConfigError
from dealloy.study.plan import Plan, PlannedRun, claim_directory, prepare_run
from dealloy.study.prebuild import SharedGlass, shared_glasses
from dealloy.study.state import RESUMABLE, run_mode, states

DEALLOY = [sys.executable, "-m", "dealloy.cli"]


def select_runs(plan: Plan, retry_failed: bool, use_queue: bool = True):
    """Choose the runs to start: pending, checkpointed and interrupted ones (and failed ones).

    Parameters
    ----------
    plan : dealloy.study.plan.Plan
        The study's plan.
    retry_failed : bool
        Start failed runs again too.
    use_queue : bool
        Ask SLURM about submitted runs (queued or running ones are skipped).

    Returns
    -------
    todo : list of dealloy.study.plan.PlannedRun
        Runs to start, in plan order.
    skipped : list of tuple of (PlannedRun, str)
        Runs left alone, each with why.
    """
    todo, skipped = [], []
    for st in states(plan, use_queue=use_queue)[0]:
        if st.state in ("pending",) or st.state in RESUMABLE:
            todo.append(st.run)
        elif st.state == "failed" and retry_failed:
            todo.append(st.run)
        elif st.state == "failed":
            skipped.append((st.run, f"failed ({st.note}); --retry-failed to run it again"))
        elif st.state in ("queued", "running"):
            skipped.append((st.run, f"{st.state} {st.scheduler}".strip()))
    return todo, skipped


def run_environment(study_dir: Path, environ=None) -> dict[str, str]:
    """Make the environment of a study's runs: this one, with the melt-quench cache in the study.

    ``DEALLOY_CACHE_DIR`` (:mod:`dealloy.builders.cache`) is set to ``<study_dir>/cache`` unless
    it is set already (a folder shared by every study), so each melt-quenched glass of the study
    is built once and reused by every run that asks for it.

    Parameters
    ----------
    study_dir : pathlib.Path
        The study directory.
    environ : mapping, optional
        The environment to start from (default ``os.environ``).

    Returns
    -------
    dict of str to str
        The environment for the run's process.
    """
    env = dict(os.environ if environ is None else environ)
    if not env.get(CACHE_ENV, "").strip():
        env[CACHE_ENV] = str(Path(study_dir).resolve() / "cache")
    return env


def run_local(plan: Plan, jobs: int, ranks: int, mpiexec: str = "mpiexec",
              retry_failed: bool = False, analyze: bool = True,
              echo: Callable[[str], None] = print) -> dict[str, int]:
    """Run the study's pending runs on this machine, each in its own process, then analyse them.

    Parameters
    ----------
    plan : dealloy.study.plan.Plan
        The study's plan.
    jobs : int
        Runs at once. With more than one, each melt-quenched glass that two or more of the runs
        start from is built once before them (:mod:`dealloy.study.prebuild`; logs
        ``<study>/logs/prebuild-<key>.log``), so they find it in the cache; runs that share no
        glass do not wait for it.
    ranks : int
        MPI ranks per run (> 1 launches with ``mpiexec -n ranks``).
    mpiexec : str
        The MPI launcher's name or path.
    retry_failed : bool
        Run failed runs again too.
    analyze : bool
        Analyse each run that finishes (``dealloy analyze``).
    echo : callable
        Receives the start/end lines.

    Returns
    -------
    dict of str to int
        Run key -> exit status of its ``dealloy run`` (-1 if not started after an interrupt).

    Raises
    ------
    ConfigError
        When ``ranks > 1`` and the launcher is not on PATH, or the study directory belongs to
        another study.
    KeyboardInterrupt
        After Ctrl-C or SIGTERM, once the runs were asked to checkpoint (SIGTERM) and stopped.
    """
    launcher: list[str] = []
    if ranks > 1:
        exe = shutil.which(mpiexec)
        if exe is None:
            raise ConfigError(f"{mpiexec!r} not found on PATH; it is needed for --ranks {ranks} "
                              f"(or use --ranks 1)")
        launcher = [exe, "-n", str(ranks)]
    claim_directory(plan)
    todo, skipped = select_runs(plan, retry_failed)
    for run, why in skipped:
        echo(f"skip {run.key} ({run.label()}): {why}")
    if not todo:
        echo("nothing to run: every run is done, failed, queued or running")
    logs = plan.directory / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs: dict[str, subprocess.Popen] = {}
    lock = threading.Lock()
    stopping = threading.Event()
    results: dict[str, int] = {}

    def launch(cmd: list[str], name: str) -> int:
        """Run cmd in its own process group, logging to logs/<name>.log; return its exit code."""
        with open(logs / f"{name}.log", "ab") as log:
            log.write(f"\n# {time.strftime('%FT%T')} {' '.join(cmd)}\n".encode())
            log.flush()
            p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True, env=run_environment(plan.directory))
            (logs / f"{name}.pid").write_text(f"{p.pid}\n")
            with lock:
                procs[name] = p
            rc = p.wait()
            with lock:
                procs.pop(name, None)
        (logs / f"{name}.pid").unlink(missing_ok=True)
        return rc

    def build_glass(shared: SharedGlass) -> int:
        if stopping.is_set():
            return -1
        prepare_run(shared.leader)
        echo(f"prebuild glass {shared.label()} for {len(shared.runs)} runs "
             f"({', '.join(r.key for r in shared.runs)})")
        t0 = time.time()
        name = f"prebuild-{shared.leader.key}"
        rc = launch(launcher + DEALLOY + ["study", "prebuild", str(shared.leader.config_path)],
                    name)
        echo(f"prebuild {'done' if rc == 0 else f'failed (exit {rc}; the runs build it)'} "
             f"({time.time() - t0:.0f} s; log {logs / (name + '.log')})")
        return rc

    def after_glass(run: PlannedRun, glass) -> int:
        if glass is not None:
            glass.result()  # its prebuild (whatever its exit: a failed one leaves it to the run)
        return one(run)

    def one(run: PlannedRun) -> int:
        if stopping.is_set():
            return -1
        prepare_run(run)
        mode = run_mode(run.path)
        if mode == "done":
            return 0
        cmd = launcher + DEALLOY + ["run", str(run.config_path)]
        if mode == "resume":
            cmd.append("--resume")
        echo(f"start {run.key} ({run.label()}){' [resume]' if mode == 'resume' else ''}")
        t0 = time.time()
        rc = launch(cmd, run.key)
        (logs / f"{run.key}.exit").write_text(f"{rc}\n")
        final = run_mode(run.path)
        status = run.rundir.status if run.rundir.run_json.is_file() else "failed before MD"
        echo(f"end   {run.key}: exit {rc}, {status} ({time.time() - t0:.0f} s)")
        if final == "done" and analyze:
            analyze_run(run.path, logs / f"{run.key}.log", echo)
        return rc

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    old_term = None
    if threading.current_thread() is threading.main_thread():
        def on_term(signum, frame):  # SIGTERM to the runner: same as Ctrl-C
            raise KeyboardInterrupt
        old_term = signal.signal(signal.SIGTERM, on_term)
    try:
        # runs that start together and share a glass would each build it: each shared glass is
        # built first (queued ahead of every run, so a run waiting for its glass waits for a
        # build that has started), runs that need none go next, those that share one wait
        shared = shared_glasses(todo) if jobs > 1 else []
        glass_of = {}
        for g in shared:
            fut = pool.submit(build_glass, g)
            glass_of.update({r.key: fut for r in g.runs})
        order = ([r for r in todo if r.key not in glass_of]
                 + [r for r in todo if r.key in glass_of])
        futures = {run.key: pool.submit(after_glass, run, glass_of.get(run.key))
                   for run in order}
        for key, fut in futures.items():
            results[key] = fut.result()
    except KeyboardInterrupt:
        stopping.set()
        echo("interrupted: asking the runs to checkpoint (SIGTERM); run again to resume")
        with lock:
            running = list(procs.values())
        for p in running:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
    pool.shutdown(wait=True)
    return results


def analyze_run(path: Path, log: Path, echo: Callable[[str], None] = print) -> bool:
    """Run ``dealloy analyze RUNDIR`` in a subprocess, appending its output to ``log``.

    Parameters
    ----------
    path : pathlib.Path
        The run directory.
    log : pathlib.Path
        The run's log.
    echo : callable
        Receives a line if the analysis fails.

    Returns
    -------
    bool
        True if it succeeded.
    """
    with open(log, "ab") as f:
        f.write(f"\n# {time.strftime('%FT%T')} dealloy analyze {path}\n".encode())
        f.flush()
        rc = subprocess.run(DEALLOY + ["analyze", str(path)], stdout=f,
                            stderr=subprocess.STDOUT).returncode
    if rc != 0:
        echo(f"analysis of {path.name} failed (exit {rc}); see {log}")
    return rc == 0

"""Studies on a real single-node SLURM (tests/slurm/start.sh), with real `dealloy run` jobs.

The session fixture starts munged + slurmctld + slurmd under a temp directory (free ports, own
munge socket and key) and stops exactly those daemons afterwards (pid files). The tests skip,
saying why, only when SLURM cannot start here (packages missing, not root).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dealloy.config.study import load_study
from dealloy.study.plan import make_plan
from dealloy.study.state import states

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "workflows" / "smoke.toml"
SMOKE_BASE = REPO / "workflows" / "base" / "smoke-run.toml"


def dealloy(*args, check=True):
    res = subprocess.run([sys.executable, "-m", "dealloy.cli", *map(str, args)],
                         capture_output=True, text=True, timeout=300)
    if check and res.returncode != 0:
        raise AssertionError(f"dealloy {' '.join(map(str, args))} -> {res.returncode}\n"
                             f"{res.stdout}\n{res.stderr}")
    return res


def wait_for(pred, timeout: float, what: str, plan=None, every: float = 1.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return time.time() - t0
        time.sleep(every)
    detail = ""
    if plan is not None:
        detail = "\n".join(f"{s.run.key} {s.state} {s.scheduler} {s.note}"
                           for s in states(plan)[0])
        logs = sorted((plan.directory / "slurm" / "logs").glob("*.out"))
        for log in logs:
            detail += f"\n--- {log.name}\n" + "\n".join(log.read_text().splitlines()[-15:])
    squeue = subprocess.run(["squeue"], capture_output=True, text=True).stdout
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{detail}\n{squeue}")


def state_map(plan):
    return {s.run.key: s for s in states(plan)[0]}


def count_events(run) -> int:
    lines = run.rundir.events_csv.read_text().splitlines()
    return max(0, len(lines) - 1)


def test_smoke_study_as_job_array(slurm_cluster, tmp_path):
    """submit -> 4 array tasks x 2 MPI ranks (srun --mpi=pmi2) -> status -> collect."""
    sdir = tmp_path / "smoke"
    t0 = time.time()
    res = dealloy("study", "submit", SMOKE, "--dir", sdir)
    assert "submitted job array" in res.stdout and "--array=0-3%2" in res.stdout
    scripts = list((sdir / "slurm").glob("*.sbatch"))
    assert len(scripts) == 1 and "srun --mpi=pmi2 --kill-on-bad-exit=1 dealloy run" in scripts[0].read_text()
    plan = make_plan(load_study(SMOKE), sdir)
    wait_for(lambda: all(s.state in ("done", "failed") for s in state_map(plan).values()),
             600, "the smoke array to finish", plan)
    elapsed = time.time() - t0
    print(f"smoke array (4 runs x 2 ranks): {elapsed:.0f} s")
    status = dealloy("study", "status", SMOKE, "--dir", sdir).stdout
    assert status.count(" done ") == 4, status
    assert "COMPLETED" in status

    # re-submitting skips the finished runs
    again = dealloy("study", "submit", SMOKE, "--dir", sdir)
    assert "nothing to submit" in again.stdout

    res = dealloy("study", "collect", SMOKE, "--dir", sdir)
    import pandas as pd

    for table in (pd.read_csv(sdir / "results" / "results.csv"),
                  pd.read_parquet(sdir / "results" / "results.parquet")):
        assert len(table) == 4
        assert set(table["status"]) == {"done"}
        assert sorted(table["selector"]) == ["random", "random", "surface", "surface"]
        assert (table["ranks"] == 2).all()
        assert table["si_conserved"].all()
        assert (table["n_si_start"] == table["n_si_end"]).all()
        assert (table["x_end"] <= 2.0 + 1e-9).all() and (table["x_end"] > 1.8).all()
        assert (table["n_removed"] == table["n_events"]).all()
        assert (table["wall_time_s"] > 0).all()
        for col in ("a2_index", "porosity", "cluster_isolated", "largest_si_cluster_fraction"):
            assert col in table and table[col].notna().all(), (
                f"collected table lacks {col}: `dealloy analyze` failed on the finished runs:\n"
                + analysis_errors(sdir))


def analysis_errors(study_dir: Path) -> str:
    lines = []
    for log in sorted((study_dir / "slurm" / "logs").glob("*.out")):
        tail = [ln for ln in log.read_text().splitlines() if "error" in ln.lower()]
        lines += [f"{log.name}: {ln}" for ln in tail[-2:]]
    return "\n".join(lines) or "(no error lines in the job logs)"


def interrupt_study(tmp_path: Path) -> Path:
    """Three runs long enough (~13 batches of extraction) to be caught mid-extraction; launched
    with mpiexec inside the allocation (the smoke test uses srun --mpi=pmi2)."""
    base = tmp_path / "base.toml"
    text = SMOKE_BASE.read_text()
    text = text.replace("interval_ps = 0.2", "interval_ps = 0.5").replace(
        "checkpoint_ps = 0.5", "checkpoint_ps = 0.25")
    assert "interval_ps = 0.5" in text and "checkpoint_ps = 0.25" in text
    base.write_text(text)
    study = tmp_path / "interrupt.toml"
    study.write_text(f'''name = "interrupt"
base = "{base}"
directory = "{tmp_path / 'interrupt'}"
[axes]
seed = [1, 2, 3]
[slurm]
ntasks = 2
time = "00:10:00"
launcher = "mpiexec"
''')
    return study


def test_requeue_usr1_and_cancel(slurm_cluster, tmp_path):
    """scontrol requeue -> resumes from its checkpoint with the right event count; USR1 (what
    --signal=B:USR1@120 sends before the time limit) -> checkpoint + self-requeue -> resumes;
    scancel -> status reports it, and re-submitting resumes only that run."""
    study = interrupt_study(tmp_path)
    plan = make_plan(load_study(study))
    res = dealloy("study", "submit", study)
    assert "mpiexec -n 2 dealloy run" in next((plan.directory / "slurm").glob("*.sbatch")).read_text()
    job = json.loads((plan.directory / "submissions.json").read_text())[0]["job_id"]
    r0, r1, r2 = plan.runs

    def extracting(run):
        info = run.rundir.record()
        return info.status == "running" and (info.n_removed or 0) > 0 \
            and (info.checkpoints or 0) >= 1

    wait_for(lambda: extracting(r0) and extracting(r1) and extracting(r2), 300,
             "three runs mid-extraction", plan, every=0.5)
    removed_before = r0.rundir.record().n_removed
    subprocess.run(["scontrol", "requeue", f"{job}_0"], check=True)
    subprocess.run(["scancel", f"{job}_1"], check=True)
    subprocess.run(["scancel", "--batch", "--signal=USR1", f"{job}_2"], check=True)

    # the cancelled run checkpoints on SIGTERM, and status says SLURM cancelled it
    wait_for(lambda: state_map(plan)[r1.key].state in ("checkpointed", "interrupted")
             and "CANCELLED" in state_map(plan)[r1.key].scheduler, 120, "the cancel", plan)
    status = dealloy("study", "status", study).stdout
    line = next(ln for ln in status.splitlines() if r1.key in ln)
    assert "CANCELLED" in line and ("checkpointed" in line or "interrupted" in line), status

    # the requeued task comes back, resumes from its checkpoint and finishes
    wait_for(lambda: state_map(plan)[r0.key].state == "done", 400, "the requeued run", plan)
    info = r0.rundir.record()
    log = (plan.directory / "slurm" / "logs" / f"{job}_0.out").read_text()
    assert "(restart 1)" in log, log
    assert 0 < removed_before < info.n_removed
    target = round(2.0 * info.si_end)
    assert info.li_end <= target and info.x_end <= 2.0 + 1e-9
    assert info.n_removed == info.li_start - info.li_end == count_events(r0)
    assert info.si_start == info.si_end

    # USR1 to the batch script: forwarded to the run, which checkpoints; the task requeues itself
    wait_for(lambda: state_map(plan)[r2.key].state == "done", 400, "the USR1-signalled run", plan)
    log2 = (plan.directory / "slurm" / "logs" / f"{job}_2.out").read_text()
    assert "USR1" in log2 and "requeueing to resume" in log2 and "(restart 1)" in log2, log2
    info2 = r2.rundir.record()
    assert info2.n_removed == info2.li_start - info2.li_end == count_events(r2)

    # re-submitting sends only the cancelled run, which resumes and finishes
    res = dealloy("study", "submit", study)
    assert "1 run(s)" in res.stdout, res.stdout
    wait_for(lambda: state_map(plan)[r1.key].state == "done", 400, "the resubmitted run", plan)
    info1 = r1.rundir.record()
    assert info1.n_removed == info1.li_start - info1.li_end == count_events(r1)


def test_shared_glass_is_prebuilt_before_the_runs_array(slurm_cluster, tmp_path):
    """Two runs cut from one melt-quenched glass: a prebuild array builds it once, their array
    waits for it (--dependency=afterany) and both take it from the study's cache; a third run on
    a glass of its own goes in an array without the dependency."""
    from ase.io import read

    from test_study_prebuild import mixed_study  # tests/ is on sys.path (rootdir-less import)

    study = mixed_study(tmp_path)
    plan = make_plan(load_study(study))
    res = dealloy("study", "submit", study)
    assert "submitted prebuild array" in res.stdout and ", after " in res.stdout, res.stdout
    subs = json.loads((plan.directory / "submissions.json").read_text())
    assert [s["kind"] for s in subs] == ["prebuild", "runs", "runs"]
    independent = subs.pop(1)
    assert "after" not in independent and len(independent["runs"]) == 1
    assert subs[1]["after"] == subs[0]["job_id"] and len(subs[0]["runs"]) == 1
    assert len(subs[1]["runs"]) == 2
    wait_for(lambda: all(s.state in ("done", "failed") for s in state_map(plan).values()),
             600, "the prebuild and the runs", plan)
    assert all(s.state == "done" for s in state_map(plan).values())
    log = (plan.directory / "slurm" / "logs" / f"{subs[0]['job_id']}_0.out").read_text()
    assert "dealloy study prebuild: glass a-Li1Si, 16 Si, seed 0" in log and " built in " in log
    # SLURM held the runs until the prebuild had ended (timestamps the job script prints)
    stamp = re.compile(r"dealloy: (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) ")
    prebuild_end = max(stamp.findall(log))
    for i in range(2):
        run_log = (plan.directory / "slurm" / "logs" / f"{subs[1]['job_id']}_{i}.out").read_text()
        assert min(stamp.findall(run_log)) >= prebuild_end, (log, run_log)
    assert len(list((plan.directory / "cache" / "melt_quench").glob("*.npz"))) == 2
    for run in plan.runs:
        hit = read(run.path / "initial.extxyz").info["bulk_cache_hit"]
        assert hit is (run.key in subs[1]["runs"])  # the independent run built its own
    # status maps each run to its task of the runs' array, not to the prebuild task
    status = dealloy("study", "status", study).stdout
    assert f"{subs[1]['job_id']}_" in status and f"{independent['job_id']}_0" in status
    assert f"{subs[0]['job_id']}_" not in status, status

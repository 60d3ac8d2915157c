"""slurm/validate-stability.sbatch on a real single-node SLURM (tests/slurm/start.sh).

A potential's particle-stability test is hours long on a real potential; the job script must carry
it across time limits. Here a tiny meam-godet2020 particle (342 atoms) runs as the script's job:
USR1 (what ``--signal=B:USR1@120`` sends before the limit) reaches the MPI run, which checkpoints
and exits 75; the job requeues itself, continues from the checkpoint and finishes.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "slurm" / "validate-stability.sbatch"


def _wait(pred, timeout_s: float, what: str, log: Path) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        if pred():
            return
        time.sleep(0.5)
    squeue = subprocess.run(["squeue"], capture_output=True, text=True).stdout
    text = log.read_text() if log.exists() else "(no log)"
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}\n{text[-3000:]}\n{squeue}")


def _sbatch(log: Path, *args) -> str:
    res = subprocess.run(["sbatch", "--parsable", f"--output={log}", "--ntasks=2",
                          "--time=00:15:00", str(SCRIPT), *map(str, args)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout.strip().split(";")[0]


def test_a_stability_job_checkpoints_on_usr1_requeues_itself_and_finishes(slurm_cluster, tmp_path):
    cache, out, log = tmp_path / "cache", tmp_path / "stability.json", tmp_path / "job.out"
    # 0.1 ps Langevin + 4 ps NVE, a checkpoint every 0.1 ps: long enough to be signalled mid-run
    job = _sbatch(log, "meam-godet2020", "--diameter-nm", "2.2", "--stability-temperatures", "300",
                  "--stability-ps", "4", "--stability-equilibrate-ps", "0.1",
                  "--stability-sample-ps", "0.1", "--cache", cache, "--json", out)
    _wait(lambda: any(cache.rglob("stability-300K-*.npz")), 300, "a checkpoint of the run", log)
    subprocess.run(["scancel", "--batch", "--signal=USR1", job], check=True)
    _wait(out.exists, 400, "the requeued job to finish", log)
    _wait(lambda: "run exited with 0" in log.read_text(), 60, "the job's last line", log)

    text = log.read_text()
    assert "USR1 (time limit near)" in text and "run exited with 75" in text, text
    assert "requeueing to resume" in text and "(restart 1)" in text, text
    assert text.count("--stability") >= 2  # each start names the full command it runs
    (stab,) = json.loads(out.read_text())["stability"]
    (run,) = stab["runs"]
    # continued from the checkpoint on the job's 2 ranks, and covered the whole NVE time
    assert run["resumed"] and run["n_ranks"] == 2
    assert run["series"]["t_ps"][-1] == pytest.approx(4.0, abs=1e-6)
    assert run["stable"] and run["closest_pair_angstrom"] > 1.5
    kept = [f.name for f in cache.rglob("stability-300K-*.npz")]
    assert kept and all(n.endswith(".done.npz") for n in kept), kept  # no half-run state left


@pytest.mark.parametrize("args, message", [
    (["--cache", "X"], "give the potential first"),
    (["meam-godet2020", "--json", "out.json"], "--cache DIR is required"),
])
def test_a_stability_job_without_a_potential_or_cache_ends_at_once_saying_why(
        slurm_cluster, tmp_path, args, message):
    log = tmp_path / "job.out"
    job = _sbatch(log, *args)
    _wait(lambda: log.exists() and message in log.read_text(), 120, "the job's refusal", log)
    _wait(lambda: not subprocess.run(["squeue", "-h", "-j", job], capture_output=True,
                                     text=True).stdout.strip(), 60, "the job to end", log)
    text = log.read_text()
    assert len([ln for ln in text.splitlines() if ln.strip()]) == 1, text  # one line, no run
    assert not (tmp_path / "X").exists()

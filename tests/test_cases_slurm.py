"""Input cases in07 and in08 on a real single-node SLURM (tests/slurm/start.sh): a launcher whose
MPI plugin does not match the MPI library, and a study directory whose path has a space, ``#``,
``$`` and quotes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_cases_inputs import case
from test_study_slurm import REPO, dealloy, state_map, wait_for

from dealloy.config.study import load_study
from dealloy.study.plan import make_plan

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

NASTY = "my studies/#1 $HOME \"q\" 'x'"


def _copy_case(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    for p in [dst, *dst.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    return dst


def test_in08_study_submitted_to_a_directory_with_a_space(slurm_cluster, tmp_path):
    d = _copy_case(case("in08"), tmp_path / "in08")
    sdir = tmp_path / "my studies" / "smoke"
    res = dealloy("study", "submit", d / "study.toml", "--dir", sdir, "--dry-run")
    assert "sbatch --test-only accepts this script" in res.stdout, res.stdout
    assert not sdir.exists()  # a dry run writes nothing
    res = dealloy("study", "submit", d / "study.toml", "--dir", sdir)
    assert "submitted job array" in res.stdout, res.stdout + res.stderr
    job = res.stdout.split("submitted job array")[1].split()[0]
    plan = make_plan(load_study(d / "study.toml"), sdir)
    try:
        # one run finished is the proof (the nasty-directory test runs one to the end too);
        # the other three are cancelled to keep the suite short
        wait_for(lambda: any(s.state == "done" for s in state_map(plan).values()), 600,
                 "a smoke run to finish", plan)
    finally:
        subprocess.run(["scancel", job], capture_output=True, timeout=60)
    logs = sorted((sdir / "slurm" / "logs").glob(f"{job}_*.out"))
    assert logs  # the --output pattern resolved inside the quoted directory
    assert "run already done" in logs[0].read_text() or "dealloy:" in logs[0].read_text()


def test_nasty_directory_runs_lammps_and_sbatch_quoted(slurm_cluster, tmp_path):
    """A one-run study in a directory with a space, '#', '$' and both quotes: sbatch
    accepts the script, the job finds its manifest, LAMMPS writes its log and dump there."""
    base = (REPO / "workflows" / "base" / "smoke-run.toml").read_text()
    (tmp_path / "base.toml").write_text(base.replace("x_final = 2.0", "x_final = 3.0"))
    (tmp_path / "s.toml").write_text('name = "nasty"\nbase = "base.toml"\n[axes]\nseed = [1]\n'
                                     '[slurm]\nntasks = 2\ntime = "00:10:00"\n')
    sdir = tmp_path / NASTY
    res = dealloy("study", "submit", tmp_path / "s.toml", "--dir", sdir)
    assert "submitted job array" in res.stdout, res.stdout + res.stderr
    plan = make_plan(load_study(tmp_path / "s.toml"), sdir)
    wait_for(lambda: all(s.state == "done" for s in state_map(plan).values()), 600,
             "the run in the nasty directory to finish", plan)
    run = plan.runs[0]
    assert (run.path / "lammps.log").stat().st_size > 0
    assert list(run.path.glob("traj.lammpstrj*"))
    assert len(list((sdir / "slurm" / "logs").glob("*.out"))) == 1


def _one_run_study(tmp_path: Path, name: str) -> Path:
    shutil.copy(REPO / "workflows" / "base" / "smoke-run.toml", tmp_path / "base.toml")
    (tmp_path / "s.toml").write_text(f'name = "{name}"\nbase = "base.toml"\n[axes]\n'
                                     'seed = [1]\n')
    return tmp_path / "s.toml"


def test_rejected_script_writes_nothing(slurm_cluster, tmp_path):
    _one_run_study(tmp_path, "rej")
    bad = tmp_path / "bad.sbatch"
    text = (REPO / "slurm" / "array.sbatch").read_text()
    bad.write_text(text.replace("#SBATCH --requeue", "#SBATCH --no-such-option=1"))
    sdir = tmp_path / "my studies" / "rej"
    res = dealloy("study", "submit", tmp_path / "s.toml", "--dir", sdir, "--template", bad,
                  check=False)
    assert res.returncode != 0 and "sbatch rejects the job script" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert not sdir.exists()


def test_percent_in_study_directory_refused_before_writing(slurm_cluster, tmp_path):
    _one_run_study(tmp_path, "pct")
    sdir = tmp_path / "100% done"
    res = dealloy("study", "submit", tmp_path / "s.toml", "--dir", sdir, check=False)
    assert res.returncode != 0 and "LAMMPS replaces '%'" in res.stderr, res.stderr
    assert not sdir.exists()


def test_in07_srun_with_a_mismatched_mpi_plugin_refuses(slurm_cluster, tmp_path):
    d = _copy_case(case("in07"), tmp_path / "in07")
    exe = Path(sys.executable).with_name("dealloy")
    res = subprocess.run(["srun", "-n", "2", "--mpi=none", str(exe), "run", "run.toml", "-o",
                          "OUT", "--quiet"], cwd=d, capture_output=True, text=True, timeout=300)
    assert res.returncode != 0
    assert res.stderr.count("launcher started 2 tasks") == 2, res.stderr
    assert "srun --mpi=pmi2" in res.stderr
    assert not (d / "OUT").exists()

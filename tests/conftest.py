"""Shared fixtures. Tests drive the real LAMMPS library and OVITO on tiny systems."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    return REPO


@pytest.fixture(scope="session")
def reaxff_ffield() -> Path:
    """The reference ReaxFF Li/Si ffield in ../shared (never copied into the project)."""
    path = SHARED / "potentials" / "ffield.reax.HOSiAlLi"
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI expects ../shared beside the clone")
        pytest.skip(f"{path} not present (needs ../shared beside the checkout)")
    return path


def run_dealloy(*args, cwd=None, env=None, timeout=600, check=False):
    """Run the ``dealloy`` console command as a user would; returns CompletedProcess."""
    exe = Path(sys.executable).with_name("dealloy")
    cmd = [str(exe) if exe.exists() else "dealloy", *map(str, args)]
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res


@pytest.fixture
def dealloy_cli():
    return run_dealloy


def mpiexec() -> str:
    exe = Path(sys.executable).with_name("mpiexec")
    return str(exe) if exe.exists() else "mpiexec"


@pytest.fixture(scope="session")
def smoke_study(tmp_path_factory):
    """The smoke study (workflows/smoke.toml) run locally once per session, analysed and collected.

    Returns (study file, study directory). Used by the report and notebook tests.
    """
    study = REPO / "workflows" / "smoke.toml"
    directory = tmp_path_factory.mktemp("smoke-study")
    run_dealloy("study", "run", study, "--local", "-j", "1", "--ranks", "2", "--dir", directory,
                check=True, timeout=1200)
    run_dealloy("study", "collect", study, "--dir", directory, check=True, timeout=600)
    return study, directory

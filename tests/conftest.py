"""Shared fixtures. Tests drive the real LAMMPS library and OVITO on tiny systems."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _no_user_cache_dir(monkeypatch):
    """Keep a user's DEALLOY_CACHE_DIR (a shared glass cache) out of the tests."""
    monkeypatch.delenv("DEALLOY_CACHE_DIR", raising=False)


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


SLURM_START = REPO / "tests" / "slurm" / "start.sh"
SLURM_STOP = REPO / "tests" / "slurm" / "stop.sh"


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A private SLURM for this session; yields the SLURM_CONF path (also set in os.environ).

    Defined here, once: a session fixture imported into two test modules is two fixtures, and
    started two clusters on the same node name (the second one's jobs never ran)."""
    missing = [exe for exe in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol")
               if shutil.which(exe) is None]
    # CI installs and starts SLURM (.ci/run): there a cluster that cannot start is a failure,
    # never a skip that would hide every submission test
    cannot = pytest.fail if os.environ.get("CI") else pytest.skip
    if missing:
        cannot(f"SLURM cannot start: {', '.join(missing)} not installed "
               f"(apt-get install -y slurm-wlm munge)")
    if os.geteuid() != 0:
        cannot("SLURM cannot start: the test cluster runs its daemons as root")
    d = tmp_path_factory.mktemp("slurm")
    t0 = time.time()
    # 6 CPUs claimed (config_overrides): three 2-rank runs at once, oversubscribing small machines
    res = subprocess.run(["bash", str(SLURM_START), str(d), "6"], capture_output=True, text=True,
                         timeout=120)
    if res.returncode != 0:
        subprocess.run(["bash", str(SLURM_STOP), str(d)], capture_output=True, timeout=60)
        cannot(f"SLURM cannot start here: {res.stderr.strip()[-500:]}")
    conf = res.stdout.strip().split("=", 1)[1]
    print(f"\nSLURM up in {time.time() - t0:.1f} s ({conf})")
    old = {k: os.environ.get(k) for k in ("SLURM_CONF", "PATH")}
    os.environ["SLURM_CONF"] = conf
    # the jobs run `dealloy` from this environment (sbatch exports it)
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    try:
        yield conf
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        subprocess.run(["bash", str(SLURM_STOP), str(d)], capture_output=True, timeout=120)


@pytest.fixture
def diffusivity_without_md(monkeypatch):
    """Replace the MD of ``dealloy diffusivity`` by known results; the writer's own code runs.

    Call it with ``result(phase, temperature_k) -> (D cm^2/s, stderr cm^2/s, final Atoms)``;
    both phases start from the c-Li15Si4 cell (76 atoms), so the one-hop floor is known.
    """
    from dealloy.build.crystal import li15si4_cell
    from dealloy.potentials import diffusivity as dmod

    def install(result):
        def fake_md(atoms, temperature_k, p, tick=None):
            d, err, final = result(atoms.info["phase"], temperature_k)
            res = type("R", (), dict(diffusion_cm2_per_s=d, diffusion_stderr_cm2_per_s=err,
                                     fit_window_ps=(4.0, 16.0), n_atoms=60))()
            return res, final

        def fake_bulk(phase, p, echo=print):
            atoms = li15si4_cell()
            atoms.info["phase"] = phase
            return atoms

        monkeypatch.setattr(dmod, "li_diffusion_md", fake_md)
        monkeypatch.setattr(dmod, "bulk_structure", fake_bulk)

    return install

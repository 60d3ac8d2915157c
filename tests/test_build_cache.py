"""The melt-quench cache (dealloy.builders.cache): built once, reused bit for bit, keyed by
everything the glass depends on, and turned on by studies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dealloy.builders import amorphous
from dealloy.builders.amorphous import amorphous_lisi, amorphous_lisi_particle
from dealloy.builders.cache import CACHE_ENV, cache_dir, melt_quench_key, potential_identity
from dealloy.lammps.potentials import get_potential
from dealloy.study.local import run_environment

FAST = dict(protocol="fast", potential="meam-godet2020")


@pytest.fixture
def counted(monkeypatch, tmp_path):
    """The cache on in tmp_path/cache, and a counter of the melt-quenches actually run."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    calls = []
    real = amorphous.melt_quench

    def melt_quench(*args, **kwargs):
        calls.append(args[0].get_chemical_formula())
        return real(*args, **kwargs)

    monkeypatch.setattr(amorphous, "melt_quench", melt_quench)
    return calls


def _entries(tmp_path):
    return sorted((tmp_path / "cache" / "melt_quench").glob("*.npz"))


def test_a_glass_is_built_once_and_reused_bit_for_bit(counted, tmp_path):
    first = amorphous_lisi(0.5, n_si=16, seed=3, **FAST)
    assert len(counted) == 1 and len(_entries(tmp_path)) == 1
    again = amorphous_lisi(0.5, n_si=16, seed=3, **FAST)
    assert len(counted) == 1  # not melted again
    assert np.array_equal(first.positions, again.positions)  # exact float64, no rounding
    assert np.array_equal(first.cell.array, again.cell.array)
    assert first.get_chemical_symbols() == again.get_chemical_symbols()
    assert sorted(first.arrays) == sorted(again.arrays)
    for name in first.arrays:
        assert np.array_equal(first.arrays[name], again.arrays[name]), name
    assert first.info["cache_hit"] is False and again.info["cache_hit"] is True
    same = {k: v for k, v in first.info.items() if k != "cache_hit"}
    assert same == {k: v for k, v in again.info.items() if k != "cache_hit"}


@pytest.mark.slow
def test_another_seed_or_protocol_value_is_another_glass(counted, tmp_path):
    amorphous_lisi(0.5, n_si=16, seed=3, **FAST)
    amorphous_lisi(0.5, n_si=16, seed=4, **FAST)
    amorphous_lisi(0.5, n_si=16, seed=3, relax_ps=0.5, **FAST)
    assert len(counted) == 3 and len(_entries(tmp_path)) == 3


def test_a_particle_cut_from_the_same_bulk_cell_reuses_its_glass(counted):
    bulk = amorphous_lisi(2.0, n_si=8, seed=1, **FAST)
    particle = amorphous_lisi_particle(1.2, 2.0, seed=1, bulk_n_si=8, **FAST)
    assert len(counted) == 1  # the particle's bulk cell came from the cache
    assert particle.info["bulk_density_g_cm3"] == bulk.info["density_g_cm3"]


def test_an_unreadable_entry_is_rebuilt_with_a_warning(counted, tmp_path):
    first = amorphous_lisi(0.5, n_si=16, seed=3, **FAST)
    (entry,) = _entries(tmp_path)
    entry.write_bytes(entry.read_bytes()[:100])  # a truncated file
    with pytest.warns(UserWarning, match="unreadable cache entry"):
        again = amorphous_lisi(0.5, n_si=16, seed=3, **FAST)
    assert len(counted) == 2
    assert np.array_equal(first.positions, again.positions)  # the route is deterministic
    amorphous_lisi(0.5, n_si=16, seed=3, **FAST)  # and the rebuilt entry is whole again
    assert len(counted) == 2


def test_no_cache_without_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert cache_dir() is None
    atoms = amorphous_lisi(0.5, n_si=16, seed=3, **FAST)
    assert "cache_hit" not in atoms.info and list(tmp_path.iterdir()) == []


def test_the_key_holds_the_potential_files_the_ranks_and_the_start(tmp_path):
    start = amorphous.random_packing(4, 8, 8 * 20.0, np.random.default_rng(0))
    godet, cui = get_potential("meam-godet2020"), get_potential("meam-cui2012")
    p = amorphous._protocol("fast", {})
    key = melt_quench_key(start, godet, 0, p, 1)
    assert potential_identity(godet) != potential_identity(cui)
    assert melt_quench_key(start, cui, 0, p, 1) != key
    assert melt_quench_key(start, godet, 0, p, 2) != key  # domain decomposition changes the path
    import dataclasses

    for change in ({"timestep_ps": 0.0005}, {"masses_amu": {"Li": 7.0, "Si": 28.0855}},
                   {"zbl_angstrom": (1.2, 2.2)}):
        assert melt_quench_key(start, dataclasses.replace(godet, **change), 0, p, 1) != key, change
    moved = start.copy()
    moved.positions[0, 0] += 1e-12
    assert melt_quench_key(moved, godet, 0, p, 1) != key
    assert melt_quench_key(start.copy(), godet, 0, dict(p), 1) == key


def test_a_study_runs_with_its_own_cache_unless_one_is_set(tmp_path):
    env = run_environment(tmp_path / "study", environ={"PATH": "/bin"})
    assert env[CACHE_ENV] == str((tmp_path / "study").resolve() / "cache")
    assert env["PATH"] == "/bin"
    shared = run_environment(tmp_path / "study", environ={CACHE_ENV: "/shared/cache"})
    assert shared[CACHE_ENV] == "/shared/cache"


@pytest.mark.parametrize("preset", [None, "/shared/glasses"])
def test_the_sbatch_script_exports_the_study_cache_in_a_nasty_directory(tmp_path, preset):
    # the rendered export line, evaluated by bash: <study>/cache for a directory with a space,
    # '#', '$' and both quotes, and a folder set by the site environment wins
    import os
    import subprocess

    from dealloy.config.study import SlurmSettings
    from dealloy.study.slurm import find_template, render, template_values

    sdir = tmp_path / "my studies/#1 $HOME \"q\" 'x'"
    values = template_values(SlurmSettings(), study_name="s", study_dir=sdir,
                             manifest=sdir / "m.runs", n_runs=1, max_parallel=None)
    script = render(find_template("array.sbatch").read_text(), values, "array.sbatch")
    (line,) = [ln for ln in script.splitlines() if ln.startswith(f"export {CACHE_ENV}=")]
    env = {k: v for k, v in os.environ.items() if k != CACHE_ENV}
    if preset:
        env[CACHE_ENV] = preset
    out = subprocess.run(["bash", "-c", f'{line}\nprintf %s "${CACHE_ENV}"'], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out == (preset or f"{sdir}/cache")


def test_run_local_starts_each_run_with_the_study_cache(tmp_path, monkeypatch):
    # the processes run_local starts get DEALLOY_CACHE_DIR = <study>/cache (no run is executed:
    # Popen is replaced by a recorder that exits at once)
    from dealloy.config.study import load_study
    from dealloy.study import local
    from dealloy.study.plan import make_plan

    repo = Path(__file__).resolve().parents[1]
    plan = make_plan(load_study(repo / "workflows" / "smoke.toml"), tmp_path / "study")
    seen = []

    class Recorder:
        def __init__(self, cmd, env=None, **kwargs):
            seen.append(env)
            self.pid = 0

        def wait(self):
            return 1

    monkeypatch.setattr(local.subprocess, "Popen", Recorder)
    local.run_local(plan, jobs=1, ranks=1, analyze=False, echo=lambda s: None)
    assert seen and all(e[CACHE_ENV] == str((tmp_path / "study").resolve() / "cache")
                        for e in seen)

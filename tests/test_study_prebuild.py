"""Glasses that several runs of a study share are built once before the runs start
(dealloy.study.prebuild): grouping, the builders' own glass, locally with -j N, and the SLURM
dry run (the real SLURM submission is in test_study_slurm.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ase.io import read

from dealloy.builders import amorphous
from dealloy.builders.amorphous import amorphous_lisi, amorphous_lisi_particle, core_shell_particle
from dealloy.builders.cache import CACHE_ENV
from dealloy.builders.shared import glass_args, glass_id
from dealloy.config.study import load_study
from dealloy.errors import ConfigError
from dealloy.study.plan import make_plan
from dealloy.study.prebuild import prebuild, shared_glasses
from dealloy.study.submit import submit

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"

BASE = '''potential = "meam-godet2020"
temperature_k = 300.0
seed = 1
dump_interval_ps = 0.5
thermo_interval_ps = 0.1
checkpoint_ps = 0.5

[particle]
builder = "amorphous_lisi_particle"
args = {{ diameter_nm = 1.5, x = 1.0, seed = 0, protocol = "fast", bulk_n_si = {n_si} }}

[[stages]]
type = "minimize"
maxiter = 200

[[stages]]
type = "extract"
selector = "surface"
x_final = 0.6
interval_ps = 0.2
batch = 5
'''


def tiny_study(tmp_path: Path, n_si: int = 16, jobs: int = 2, extra: str = "") -> Path:
    """Two runs (surface vs random selector) cut from the same 16-Si a-Li1Si glass."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "base.toml").write_text(BASE.format(n_si=n_si))
    study = tmp_path / "pb.toml"
    study.write_text(f'''name = "pb"
base = "base.toml"
directory = "{tmp_path / 'study'}"
[axes]
selector = ["surface", "random"]
[local]
jobs = {jobs}
ranks = 1
[slurm]
ntasks = 1
time = "00:10:00"
{extra}''')
    return study


def test_runs_are_grouped_by_the_glass_they_melt_quench(tmp_path):
    # echem-bulk-a: 3 seeds x 3 extraction modes from amorphous_lisi -> 3 glasses, 3 runs each
    plan = make_plan(load_study(WORKFLOWS / "echem-bulk-a.toml"), tmp_path / "a")
    groups = shared_glasses(plan.runs)
    assert len(plan.runs) == 9
    assert sorted(g.glass["seed"] for g in groups) == [1, 2, 3]
    assert all(len(g.runs) == 3 for g in groups)
    assert all(len({r.params["extraction"] for r in g.runs}) == 3 for g in groups)
    assert all(g.glass["x"] == 3.75 and g.glass["n_si"] == 128 for g in groups)
    # echem-comparison: the two amorphous states x 3 seeds share glasses across the 3 modes; the
    # crystalline particles need none
    plan = make_plan(load_study(WORKFLOWS / "echem-comparison.toml"), tmp_path / "c")
    groups = shared_glasses(plan.runs)
    assert len(plan.runs) == 27 and len(groups) == 6
    assert sum(len(g.runs) for g in groups) == 18
    assert {g.leader.config["particle"]["builder"] for g in groups} != {"li15si4_particle"}
    # a crystalline study shares nothing
    plan = make_plan(load_study(WORKFLOWS / "smoke.toml"), tmp_path / "s")
    assert shared_glasses(plan.runs) == []


def test_a_run_past_its_build_is_left_out(tmp_path):
    plan = make_plan(load_study(tiny_study(tmp_path)), tmp_path / "study")
    assert [len(g.runs) for g in shared_glasses(plan.runs)] == [2]
    started = plan.runs[1].path
    started.mkdir(parents=True)
    (started / "run.json").write_text(json.dumps({"status": "failed"}))
    # failed before MD, no checkpoint: it builds its particle again, so it still shares
    assert [len(g.runs) for g in shared_glasses(plan.runs)] == [2]
    (started / "build-checkpoint").mkdir()  # stopped mid-build: resumes its own build
    assert shared_glasses(plan.runs) == []
    (started / "build-checkpoint").rmdir()
    (started / "checkpoint").mkdir()
    (started / "checkpoint" / "state.json").write_text("{}")
    assert shared_glasses(plan.runs) == []  # one run left: nothing is shared


def test_glass_args_name_the_glass_each_builder_melts(tmp_path, monkeypatch):
    """The prebuilt glass is the one the builder then finds in the cache (one melt-quench in
    all), for the particle builders' default bulk cell and for a core-shell particle's shell."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    calls = []
    real = amorphous.melt_quench
    monkeypatch.setattr(amorphous, "melt_quench",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    cases = [("amorphous_lisi_particle", dict(diameter_nm=1.0, x=1.0, seed=2, protocol="fast")),
             ("core_shell_particle", dict(diameter_nm=1.5, dod=0.3, x_shell=2.0, seed=1,
                                          protocol="fast", bulk_n_si=12, melt_ps=2.0))]
    build = {"amorphous_lisi_particle": amorphous_lisi_particle,
             "core_shell_particle": core_shell_particle}
    for name, args in cases:
        glass = glass_args(name, args)
        before = len(calls)
        amorphous_lisi(**glass)
        particle = build[name](**args)
        assert len(calls) == before + 1, f"{name}: the builder melted another glass than {glass}"
        assert particle.info["bulk_cache_hit"] is True
    assert glass_args("li15si4_particle", {"diameter_nm": 3.0}) is None
    assert glass_args("amorphous_lisi_particle", {"x": 1.0}) is None  # no size: not guessed


def test_equal_glasses_get_one_id_however_spelled():
    # hyphens, int vs float, a protocol value given at its default, None as "left out"
    ids = {glass_id(glass_args(b, a)) for b, a in [
        ("amorphous-lisi", {"x": 1, "n_si": 8}),
        ("amorphous_lisi", {"n_si": 8, "x": 1.0, "protocol": "standard", "melt_ps": 20}),
        ("amorphous_lisi", {"n_si": 8, "x": 1.0, "seed": None, "melt_ps": 20.0})]}
    assert len(ids) == 1
    assert glass_id(glass_args("amorphous_lisi", {"x": 1, "n_si": 8, "melt_ps": 21})) not in ids
    # a builder default left out is the builder's default: core_shell_particle's x_shell = 3.5
    shell = glass_args("core_shell_particle", {"diameter_nm": 8.0, "dod": 0.5, "seed": 1})
    assert shell is not None and shell["x"] == 3.5 and shell["n_si"] > 1000
    assert shell == glass_args("core_shell_particle", {"diameter_nm": 8.0, "dod": 0.5,
                                                       "seed": 1, "x_shell": 3.5})


def test_the_builder_record_reads_back_from_extxyz_as_written(tmp_path):
    import numpy as np
    from ase import Atoms
    from ase.io import write

    from dealloy.engine.prepare import builder_record

    info = {"builder": "amorphous_lisi_particle", "builder_args": '{"x": 1.0, "potential": "m"}',
            "seed": np.int64(2), "bulk_cache_hit": np.bool_(True), "x": np.float64(0.5),
            "space_group": "I-43d", "energy": 1.0, "stress": 2.0, "pbc": "T", "note": "a\nb",
            "empty": "", "flag": "F", "vector": np.zeros(3)}
    rec = builder_record(info)
    assert set(rec) == {"builder", "builder_args", "seed", "bulk_cache_hit", "x", "space_group"}
    atoms = Atoms("LiSi", positions=[[0, 0, 0], [2.5, 0, 0]], cell=[10, 10, 10])
    atoms.info = rec
    write(tmp_path / "p.extxyz", atoms, format="extxyz")
    assert read(tmp_path / "p.extxyz").info == rec


def test_prebuild_needs_the_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    plan = make_plan(load_study(tiny_study(tmp_path)), tmp_path / "study")
    from dealloy.study.plan import prepare_run

    prepare_run(plan.runs[0])
    with pytest.raises(ConfigError, match=CACHE_ENV):
        prebuild(plan.runs[0].config_path)


def test_local_study_builds_a_shared_glass_once(tmp_path):
    """-j 2: the glass is built by one prebuild process, and both runs take it from the cache."""
    study = tiny_study(tmp_path)
    res = subprocess.run([sys.executable, "-m", "dealloy.cli", "study", "run", str(study),
                          "--local"], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("prebuild glass a-Li1Si, 16 Si, seed 0") == 1, res.stdout
    assert res.stdout.index("prebuild done") < res.stdout.index("start ")
    sdir = tmp_path / "study"
    assert len(list((sdir / "cache" / "melt_quench").glob("*.npz"))) == 1
    assert len(list((sdir / "logs").glob("prebuild-*.log"))) == 1
    runs = sorted((sdir / "runs").iterdir())
    assert len(runs) == 2
    for run in runs:
        assert json.loads((run / "run.json").read_text())["status"] == "done"
        assert read(run / "initial.extxyz").info["bulk_cache_hit"] is True


def test_submit_dry_run_shows_the_prebuild_array_first(tmp_path):
    plan = make_plan(load_study(tiny_study(tmp_path)), tmp_path / "study")
    lines = []
    sub = submit(plan, plan.study.spec.slurm, dry_run=True, echo=lines.append)
    out = "\n".join(lines)
    assert sub.prebuild is not None and len(sub.prebuild.runs) == 1
    assert "dealloy study prebuild" in sub.prebuild.script_text
    assert "--job-name=dealloy-pb-prebuild" in sub.prebuild.script_text
    assert "dealloy study prebuild" not in sub.script_text and " dealloy run" in sub.script_text
    assert "prebuild [0] glass a-Li1Si, 16 Si, seed 0" in out
    assert "--dependency=afterany" in out
    assert sub.independent is None  # every run shares the glass
    assert not (tmp_path / "study").exists()  # a dry run writes nothing
    # turned off in the study: one array, no prebuild
    plan = make_plan(load_study(tiny_study(tmp_path / "off", extra="prebuild = false\n")),
                     tmp_path / "off" / "study")
    assert submit(plan, plan.study.spec.slurm, dry_run=True, echo=lambda s: None).prebuild is None


def mixed_study(tmp_path: Path) -> Path:
    """tiny_study's two runs on one glass, and a third run on a glass of its own (seed 5)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "base.toml").write_text(BASE.format(n_si=16))
    study = tmp_path / "mixed.toml"
    study.write_text(f'''name = "mixed"
base = "base.toml"
directory = "{tmp_path / 'study'}"
[[runs]]
selector = "surface"
[[runs]]
selector = "random"
[[runs]]
selector = "surface"
"particle.args.seed" = 5
[slurm]
ntasks = 1
time = "00:10:00"
''')
    return study


def test_runs_that_share_no_glass_do_not_wait(tmp_path):
    """A third run on another glass goes in an array of its own, without the dependency."""
    study = mixed_study(tmp_path)
    plan = make_plan(load_study(study), tmp_path / "study")
    lines = []
    sub = submit(plan, plan.study.spec.slurm, dry_run=True, echo=lines.append)
    assert len(sub.prebuild.runs) == 1 and len(sub.runs) == 2
    assert sub.independent is not None and len(sub.independent.runs) == 1
    assert sub.independent.runs[0].config["particle"]["args"]["seed"] == 5
    assert "at once, 1 run(s) that share no glass" in "\n".join(lines)

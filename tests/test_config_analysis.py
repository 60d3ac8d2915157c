"""One parameter model per analysis (dealloy.config.analysis), checked where the parameters enter:
a run config's ``[analysis]`` table at load (``dealloy run``, a study's plan), ``dealloy analyze``
options before any frame is read, and the analyses' own constructors. A bad value is one line
naming the field, and nothing is written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import run_dealloy

from dealloy.analysis import (
    Crystallinity,
    PartialRDF,
    SiNetwork,
    VoxelMetrics,
    analyze_path,
)
from dealloy.config.analysis import AnalysisParams, CrystallinityParams
from dealloy.config.run import parse_run_config
from dealloy.errors import ConfigError
from dealloy.study.plan import run_key

DATA = Path(__file__).parent / "data"
A_SI = DATA / "a-si-216-meam-godet2020.extxyz.gz"
PARTICLE = {"builder": "li15si4_particle", "args": {"diameter_nm": 2.5}}

# (TOML lines of a bad [analysis] table, the field path the message must name, words of the fix)
BAD_TABLES = [
    ("[analysis.voxel]\nvoxel_angstrom = 0.0", "analysis.voxel.voxel_angstrom", "greater than 0"),
    ("[analysis.voxel]\nvoxel_angstrom = 9.0", "analysis.voxel.voxel_angstrom", "less than or equal to 5"),
    ("[analysis.voxel]\nenvelope_probe_radius_angstrom = -1.0",
     "analysis.voxel.envelope_probe_radius_angstrom", "greater than or equal to 0"),
    ("[analysis.voxel.atomic_volume_angstrom3]\nLi = 0.0\nSi = 20.0",
     "analysis.voxel.atomic_volume_angstrom3", "positive atomic volume"),
    ("[analysis.rdf]\nbins = 1", "analysis.rdf.bins", "greater than or equal to 2"),
    ("[analysis.network]\nsmall_cluster_max = 2", "analysis.network.small_cluster_max",
     "greater than or equal to 3"),
    ("[analysis.crystal]\nqbar6_tolerance = 0.0", "analysis.crystal.qbar6_tolerance",
     "greater than 0"),
    ("[analysis.crystal]\nli15si4_shell_angstrom = 2.5", "analysis.crystal",
     "must exceed si_si_cutoff_angstrom"),
    ("[analysis.microscopy]\naxis = 'w'", "analysis.microscopy.axis", "'x', 'y' or 'z'"),
    ("[analysis.voltage]\nbin_v = 0.0", "analysis.voltage.bin_v", "greater than 0"),
    ("[analysis]\nmetrics = ['rdf', 'porosity']", "analysis.metrics", "'voxel'"),
    ("[analysis.voxel]\nvoxl_angstrom = 1.0", "analysis.voxel.voxl_angstrom", "voxel_angstrom"),
]


def _one_line(res) -> str:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    err = res.stderr.strip()
    assert "Traceback" not in err, err
    return err


@pytest.mark.parametrize("table, field, fix", BAD_TABLES, ids=[b[1] + ":" + b[2] for b in BAD_TABLES])
def test_bad_analysis_parameter_refused_when_the_run_config_loads(tmp_path, table, field, fix):
    """``dealloy run`` refuses it naming the field and the range, before any MD and without
    creating the run directory (on main the [analysis] table did not exist)."""
    cfg = tmp_path / "run.toml"
    cfg.write_text(f"[particle]\nbuilder = 'li15si4_particle'\nargs = {{diameter_nm = 2.5}}\n\n"
                   f"{table}\n")
    res = run_dealloy("run", cfg, "-o", tmp_path / "r", cwd=tmp_path, timeout=120)
    err = _one_line(res)
    assert field in err and fix in err, err
    assert not (tmp_path / "r").exists(), "nothing is written on bad input"


def test_bad_analysis_parameter_in_a_study_refused_at_plan(tmp_path):
    """A study's [set] / axes reach the run's [analysis] by dotted path; a bad value is refused
    when the plan is made, naming the run and the field, and no study directory is written."""
    base = tmp_path / "base.toml"
    base.write_text("[particle]\nbuilder = 'li15si4_particle'\nargs = {diameter_nm = 2.5}\n")
    study = tmp_path / "s.toml"
    study.write_text("name = 's'\nbase = 'base.toml'\ndirectory = 'sd'\n\n[set]\n"
                     "'analysis.crystal.min_shell_si' = 9\n\n[axes]\n"
                     "'analysis.voxel.voxel_angstrom' = [0.5, -1.0]\n")
    res = run_dealloy("study", "plan", study, cwd=tmp_path)
    err = _one_line(res)
    assert "analysis.voxel.voxel_angstrom" in err and "greater than 0" in err, err
    assert "run 1" in err, err
    assert not (tmp_path / "sd").exists()
    # the good point plans, and its run config carries the values
    study.write_text(study.read_text().replace("-1.0", "1.5"))
    res = run_dealloy("study", "plan", study, cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_analysis_axis_names_come_from_the_model():
    from dealloy.study.axes import check_axis_name

    for group, model in AnalysisParams.groups().items():
        for key in model.model_fields:
            check_axis_name(f"analysis.{group}.{key}", "test")
    check_axis_name("analysis.metrics", "test")
    with pytest.raises(ConfigError, match="analysis.voxel.voxl_angstrom"):
        check_axis_name("analysis.voxel.voxl_angstrom", "test")


def test_default_analysis_table_keeps_run_keys():
    """Runs planned before [analysis] existed keep their keys; a changed value is a new run."""
    plain = {"particle": PARTICLE}
    explicit = {"particle": PARTICLE, "analysis": AnalysisParams().model_dump(mode="json")}
    changed = {"particle": PARTICLE, "analysis": {"voxel": {"voxel_angstrom": 0.5}}}
    assert run_key(plain) == run_key(explicit)
    assert run_key(changed) != run_key(plain)
    assert parse_run_config(changed).analysis.voxel.voxel_angstrom == 0.5


@pytest.mark.parametrize("option, value, words", [
    ("--voxel", "-1", ["--voxel", "greater than 0", "Å"]),
    ("--voxel", "6", ["--voxel", "less than or equal to 5"]),
    ("--envelope-probe", "-3", ["--envelope-probe", "greater than or equal to 0"]),
    ("--si-si-cutoff", "0", ["--si-si-cutoff", "greater than 0"]),
])
def test_analyze_options_checked_before_any_frame_is_read(tmp_path, option, value, words):
    """The file is not a structure at all: the option's error comes first (on main the frame was
    read, or analysed, before the parameters were looked at), and nothing is written."""
    bad = tmp_path / "not-a-structure.xyz"
    bad.write_text("this is not an xyz file\n")
    out = tmp_path / "m.json"
    res = run_dealloy("analyze", bad, option, value, "--json", out, cwd=tmp_path)
    err = _one_line(res)
    assert "\n" not in err, err
    for w in words:
        assert w in err, err
    assert not out.exists() and not list(tmp_path.glob("m_*"))


@pytest.mark.parametrize("cls, kwargs, field", [
    (VoxelMetrics, {"voxel_angstrom": -1.0}, "voxel_angstrom"),
    (VoxelMetrics, {"min_pore_volume_angstrom3": -8.0}, "min_pore_volume_angstrom3"),
    (PartialRDF, {"cutoff_angstrom": 0.0}, "cutoff_angstrom"),
    (SiNetwork, {"cn_max": 0}, "cn_max"),
    (Crystallinity, {"qbar4_tolerance": -0.1}, "qbar4_tolerance"),
    (Crystallinity, {"min_shell_si": 0}, "min_shell_si"),
])
def test_analysis_constructors_refuse_bad_parameters(cls, kwargs, field):
    """At construction, before any frame (on main Crystallinity accepted anything and the others
    checked some values only at compute time)."""
    with pytest.raises(ConfigError, match=field):
        cls(**kwargs)
    good = cls(**{k: cls.Params.model_fields[k].default for k in kwargs})
    with pytest.raises(ConfigError, match=field):
        cls(good.params, **kwargs)


def test_crystallinity_params_are_validated():
    """CrystallinityParams was never validated on main."""
    with pytest.raises(ValueError, match="li15si4_shell_angstrom"):
        CrystallinityParams(li15si4_shell_angstrom=2.0)
    p = CrystallinityParams()
    with pytest.raises(ValueError, match="qbar6_tolerance"):
        p.qbar6_tolerance = -1.0


def test_analyze_uses_the_run_directorys_analysis_table(tmp_path):
    """``dealloy analyze RUNDIR`` (what a study runs) analyses with the run's [analysis] table;
    an option given on top wins."""
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(A_SI, run / "final.extxyz.gz")
    import gzip

    (run / "final.extxyz").write_bytes(gzip.decompress((run / "final.extxyz.gz").read_bytes()))
    (run / "final.extxyz.gz").unlink()
    (run / "config.toml").write_text(
        "[particle]\nfile = 'x.xyz'\n\n[analysis]\nmetrics = ['voxel']\n\n[analysis.voxel]\n"
        "voxel_angstrom = 1.5\nboundary_band_angstrom = 0.0\nthickness_samples = 500\n")
    summary = analyze_path(run, images=False, echo=lambda *a: None)
    frame = summary["frames"][-1]
    assert frame["voxel_angstrom"] == 1.5 and "si_si_coordination_mean" not in frame
    res = run_dealloy("analyze", run, "--voxel", "2.0", "-q", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    metrics = json.loads((run / "analysis" / "metrics.json").read_text())
    frames = metrics.get("frames", [metrics])
    assert frames[-1]["voxel_angstrom"] == 2.0
    # a bad table in the run's config.toml: refused before the frame is read
    (run / "config.toml").write_text("[analysis.voxel]\nvoxel_angstrom = -2.0\n")
    res = run_dealloy("analyze", run, cwd=tmp_path)
    err = _one_line(res)
    assert "config.toml: analysis.voxel.voxel_angstrom" in err, err


def test_every_analysis_parameter_is_documented():
    """docs/analysis.md "Parameters" lists every key of every analysis model."""
    lines = (Path(__file__).parents[1] / "docs" / "analysis.md").read_text().splitlines()
    for group, model in AnalysisParams.groups().items():
        for key in model.model_fields:
            rows = [ln for ln in lines
                    if ln.startswith(f"| `[analysis.{group}]`") and f"| `{key}` |" in ln]
            assert len(rows) == 1, (group, key)
            default = model.model_fields[key].get_default(call_default_factory=True)
            if isinstance(default, (int, float)) and not isinstance(default, bool):
                assert rows[0].rstrip(" |").endswith(f"| {default:g}"), rows[0]


def test_a_resume_may_change_the_analysis_table():
    """[analysis] is not the simulation: a checkpoint written without it, or with other values,
    resumes (on main the key did not exist); any other change is still refused."""
    from dealloy.config.run import resolved_dict
    from dealloy.engine.run import config_changes

    then = resolved_dict(parse_run_config({"particle": PARTICLE}))
    now = resolved_dict(parse_run_config({"particle": PARTICLE,
                                          "analysis": {"voxel": {"voxel_angstrom": 0.5}}}))
    old = {k: v for k, v in then.items() if k != "analysis"}
    assert config_changes(now, then) == [] and config_changes(now, old) == []
    assert config_changes({**now, "seed": 7}, then) == ["seed"]

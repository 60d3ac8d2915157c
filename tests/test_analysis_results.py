"""The versioned results models (dealloy.analysis.results): metrics.json written and read by one class.

The fixtures in tests/data/metrics-v0/ are real metrics.json files of the code before the schema
(no ``schema_version``): ``dealloy analyze`` of a copy of tests/data/old-run-v1/checkpointed (3
frames, a run directory) and of tests/data/dense-particle-5nm-c-path-end.xyz.gz (one frame, at
commit 42837a5).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from dealloy.analysis.core import analyze_frame
from dealloy.analysis.diffusivity import li_diffusion
from dealloy.analysis.frame import Frame
from dealloy.analysis.run import analyze_path
from dealloy.analysis.results import (SCHEMA_VERSION, FrameMetrics, LiDiffusion, MetricsFile,
                                      Results, read_run_frames)
from dealloy.analysis.structure import SiNetwork
from dealloy.errors import ConfigError
from dealloy.io import read_structure
from dealloy.rundir import RunDir
from dealloy.study.collect import final_metrics

DATA = Path(__file__).parent / "data"
RUN_V0 = DATA / "metrics-v0" / "run-3-frames.json"
SINGLE_V0 = DATA / "metrics-v0" / "single-frame-particle.json"


def _without_version(text: str) -> str:
    return "".join(line for line in text.splitlines(True)
                   if line != f'  "schema_version": {SCHEMA_VERSION},\n')


@pytest.mark.parametrize("fixture", [RUN_V0, SINGLE_V0], ids=["run", "single-frame"])
def test_a_current_format_file_reads_and_writes_back_the_same_bytes(fixture, tmp_path):
    old = fixture.read_text()
    raw = json.loads(old)
    assert "schema_version" not in raw  # a file of the code before the schema
    doc = MetricsFile.read(fixture)
    assert doc.schema_version == SCHEMA_VERSION
    raw_frames = raw["frames"] if "frames" in raw else [raw]
    assert doc.single == ("frames" not in raw)
    assert len(doc.frames) == len(raw_frames)
    for f, r in zip(doc.frames, raw_frames):
        assert isinstance(f, FrameMetrics)
        assert (f.n_si, f.n_li, f.x, f.porosity) == (r["n_si"], r["n_li"], r["x"], r["porosity"])
        assert f.si_cluster_fractions == r["si_cluster_fractions"]
        # a metric the model does not type is kept (extra) and read by name
        assert f.si_si_coordination_interior_mean == r["si_si_coordination_interior_mean"]
    assert doc.source == raw["source"]
    # written back through the same class: the old bytes plus the version key, first
    out = doc.write(tmp_path / "metrics.json")
    new = out.read_text()
    assert new.splitlines()[1] == f'  "schema_version": {SCHEMA_VERSION},'
    assert _without_version(new) == old
    # and a round trip of the new file is exact
    again = MetricsFile.read(out)
    assert again.model_dump() == doc.model_dump()
    assert again.write(tmp_path / "again.json").read_text() == new


def test_the_run_fixture_keeps_its_li_diffusion_record():
    doc = MetricsFile.read(RUN_V0)
    d = doc.li_diffusion
    assert isinstance(d, LiDiffusion)
    assert d.reported is False and d.diffusion_cm2_per_s is None
    assert d.n_frames == 2 and d.n_atoms == 270 and d.window_ps == [0.0, 0.05]
    assert "fewer than 8" in d.why_not
    assert doc.li_msd is None and doc.warnings is None


def test_a_newer_version_is_refused_in_one_line(tmp_path):
    raw = json.loads(RUN_V0.read_text())
    p = tmp_path / "metrics.json"
    p.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1, **raw}))
    with pytest.raises(ConfigError) as e:
        MetricsFile.read(p)
    msg = str(e.value)
    assert "\n" not in msg
    assert str(p) in msg and "schema_version" in msg and "newer" in msg
    # the readers of study/report refuse it too (not silently "not analysed")
    with pytest.raises(ConfigError, match="newer"):
        read_run_frames(p)


def test_a_field_of_the_wrong_type_is_named_in_one_line(tmp_path):
    raw = json.loads(SINGLE_V0.read_text())
    raw["n_si"] = "many"
    p = tmp_path / "metrics.json"
    p.write_text(json.dumps(raw))
    with pytest.raises(ConfigError) as e:
        MetricsFile.read(p)
    assert "\n" not in str(e.value) and "n_si" in str(e.value)


def test_missing_or_broken_files_read_as_not_analysed(tmp_path):
    assert read_run_frames(tmp_path / "nothing.json") == []
    (tmp_path / "broken.json").write_text("{not json")
    assert read_run_frames(tmp_path / "broken.json") == []
    (tmp_path / "binary.json").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    assert read_run_frames(tmp_path / "binary.json") == []


def test_not_json_is_told_by_the_parser_not_by_the_message(tmp_path):
    """A newer file under a directory whose name reads like the not-JSON message is refused."""
    raw = json.loads(RUN_V0.read_text())
    d = tmp_path / "not valid JSON"
    d.mkdir()
    p = d / "metrics.json"
    p.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1, **raw}))
    with pytest.raises(ConfigError, match="newer"):
        read_run_frames(p)


def test_final_metrics_of_a_run_read_through_the_model(tmp_path):
    run = tmp_path / "run"
    (run / "analysis").mkdir(parents=True)
    shutil.copy(RUN_V0, RunDir(run).metrics_json)
    last = json.loads(RUN_V0.read_text())["frames"][-1]  # the largest time_ps
    row = final_metrics(RunDir(run))
    assert row["x_analysed"] == last["x"] and row["n_li"] == last["n_li"]
    assert row["porosity"] == last["porosity"]
    for phase, v in last["crystalline_fraction_by_phase"].items():
        assert row[f"crystalline_fraction_by_phase_{phase}"] == v
    assert row["cluster_network"] == last["si_cluster_fractions"]["network"]
    assert row["ligament_diameter_median_nm"] == last["ligament_diameter_nm"]["median"]
    assert list(row)[:3] == ["x_analysed", "n_si", "n_li"]  # the column order of before


def test_analysis_results_are_a_dict_with_attribute_access():
    atoms = read_structure(DATA / "a-si-216-meam-godet2020.extxyz.gz")
    res = SiNetwork().compute(atoms).results
    assert isinstance(res, Results) and isinstance(res, dict)
    assert res.a2_index == res["a2_index"]
    assert "a2_index" in dir(res)
    with pytest.raises(AttributeError, match="no 'nonsense'"):
        res.nonsense


def _walk(n_li=60, n_frames=12, seed=0):
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, 20, (n_li, 3))
    frames = []
    for k in range(n_frames):
        f = Frame(positions=pos.copy(), symbols=np.array(["Li"] * n_li), cell=np.zeros((3, 3)),
                  pbc=(False,) * 3, ids=np.arange(1, n_li + 1), time_ps=float(k))
        frames.append(f)
        pos = pos + rng.normal(0, 0.3, pos.shape)
    return frames


def test_li_diffusion_returns_its_typed_record():
    rec, msd_res = li_diffusion(_walk())
    assert isinstance(rec, LiDiffusion) and rec.reported
    assert rec.drift_of == "the Li" and rec.window.startswith("all 12 frames")
    assert rec.diffusion_cm2_per_s == msd_res.diffusion_cm2_per_s > 0
    assert rec["n_atoms"] == 60  # dict-style access still works
    assert list(rec.to_dict())[-3:] == ["drift_removed_angstrom", "drift_of", "window"]
    short, none = li_diffusion(_walk(n_frames=1))
    assert none is None and short.why_not and "n_frames" not in short.to_dict()


def test_study_refuses_a_run_analysed_by_a_newer_dealloy(tmp_path):
    run = tmp_path / "run"
    (run / "analysis").mkdir(parents=True)
    raw = json.loads(RUN_V0.read_text())
    RunDir(run).metrics_json.write_text(json.dumps({**raw, "schema_version": 99}))
    with pytest.raises(ConfigError, match="schema_version 99 is newer"):
        final_metrics(RunDir(run))


def test_dealloy_analyze_writes_through_the_model(tmp_path):
    out = tmp_path / "m.json"
    analyze_path(DATA / "a-si-216-meam-godet2020.extxyz.gz", json_out=out, images=False,
                 echo=lambda *a: None)
    text = out.read_text()
    assert text.splitlines()[1] == f'  "schema_version": {SCHEMA_VERSION},'
    doc = MetricsFile.read(out)
    assert doc.single and doc.frames[0].n_si == 216 and doc.frames[0].kind == "bulk"
    assert doc.write(tmp_path / "again.json").read_text() == text


def test_analyze_frame_results_read_by_attribute():
    m = analyze_frame(DATA / "a-si-216-meam-godet2020.extxyz.gz", metrics=("network",))
    assert isinstance(m, Results) and m.n_si == m["n_si"] == 216 and m.kind == "bulk"
    assert list(m)[:6] == ["n_atoms", "n_si", "n_li", "x", "time_ps", "kind"]  # the JSON order

"""The engine's typed records (checkpoint state, run.json) and its parts.

``tests/data/old-run-v1/`` was written by dealloy at e831762, before the records were models:
``checkpointed/`` is a run stopped by SIGTERM in its extract stage (li15si4_particle 2.2 nm,
342 atoms, MEAM), ``expected-*`` what that same code wrote when it resumed the run to the end;
``potentiostatic/`` the same for a potentiostatic stage with reinsertion (li15si4_cell, 1.5 V),
stopped after 0.2 of 1 ps. Made with ``git archive e831762`` on PYTHONPATH, ``dealloy run
run.toml -q``, SIGTERM once state.json showed the stage under way, then ``dealloy run
<run>/config.toml --resume -q`` on a copy for ``expected-*``.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from dealloy.progress import Progress
from dealloy import records
from dealloy.analysis.voltage import load_summary, voltage_curve
from dealloy.engine import record as engine_record
from dealloy.engine.record import RunRecord
from dealloy.engine.run import run
from dealloy.engine.state import EngineState
from dealloy.errors import ConfigError
from dealloy.periodicity import unwrap
from dealloy.rundir import RunDir
from dealloy.study.collect import run_info
from dealloy.study.state import last_error_line

OLD = Path(__file__).parent / "data" / "old-run-v1"


def _events(path: Path) -> list[tuple[str, str, str]]:
    with open(path) as fh:
        return [(r["time_ps"], r["event"], r["id"]) for r in csv.DictReader(fh)]


@pytest.fixture
def old_run(tmp_path) -> Path:
    d = tmp_path / "old"
    shutil.copytree(OLD / "checkpointed", d)
    return d


@pytest.mark.parametrize("case", ["extract", "potentiostatic"])
def test_old_checkpoint_resumes_as_the_old_code_did(tmp_path, case):
    """A checkpoint of the old engine continues to the same events and counts the old engine
    reached when it resumed the same checkpoint: a geometric extract stage, and a potentiostatic
    stage with reinsertion (electrochemical counters, moves, vacancies in the stage progress;
    li15si4_cell, 76 atoms, 1.5 V)."""
    src = OLD if case == "extract" else OLD / case
    old_run = tmp_path / "old"
    shutil.copytree(src / "checkpointed", old_run)
    shown = io.StringIO()  # the progress display reads the engine's state as it runs
    res = run(old_run / "config.toml", resume=True, quiet=True,
              progress=Progress(stream=shown, interval_s=0.0, tty=False))
    ref = json.loads((src / "expected-run.json").read_text())
    assert isinstance(res, RunRecord) and res.status == "done"
    res = res.as_dict()  # compared key by key with the old engine's run.json
    for key in ("n_removed", "n_inserted", "n_batches", "li_end", "si_end", "time_ps",
                "checkpoints", "stage_index"):
        assert res.get(key) == ref.get(key), key
    if "electrochem" in ref:  # every old counter equal; the clusters' count is new (none here)
        new = dict(res["electrochem"])
        assert new.pop("local_evaluations") == 0 and new == ref["electrochem"]
    else:
        assert "electrochem" not in res
    assert [(s["type"], s["n_li"], s.get("batches"), s.get("moves"), s.get("stop_reason"))
            for s in res["stages"]] == \
        [(s["type"], s["n_li"], s.get("batches"), s.get("moves"), s.get("stop_reason"))
         for s in ref["stages"]]
    assert _events(old_run / "events.csv") == _events(src / "expected-events.csv")
    assert case in shown.getvalue() and "Li/Si" in shown.getvalue()
    state = EngineState.read(old_run / "checkpoint" / "state.json")
    assert state.version == 2 and state.finished and state.stage is None


def test_old_run_json_reads_unchanged():
    """run.json files of the old engine read through RunRecord give back every key unchanged."""
    for name in ("expected-run.json", "failed-before-md.run.json", "checkpointed/run.json"):
        old = json.loads((OLD / name).read_text())
        rec = RunRecord.read(OLD / name)
        new = rec.as_dict()
        assert {k: new[k] for k in old} == old, name
        assert rec.version == 1
    rec = RunRecord.read(OLD / "expected-run.json")
    assert rec.core_time == rec.core_time_s and rec.stages[1].stop_reason == "x_final reached"


@pytest.mark.parametrize("edit, words", [
    (lambda s: {**s, "version": 99}, "version 99 was written by a newer dealloy"),
    (lambda s: {**s, "n_li": "many"}, "n_li"),
])
def test_unreadable_checkpoint_refused_in_one_line(old_run, edit, words):
    path = old_run / "checkpoint" / "state.json"
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    before = (old_run / "run.json").read_text()
    with pytest.raises(ConfigError) as exc:
        run(old_run / "config.toml", resume=True, quiet=True)
    msg = str(exc.value)
    assert words in msg and "state.json" in msg and "\n" not in msg
    assert (old_run / "run.json").read_text() == before  # nothing written


def test_newer_run_json_refused_in_one_line(tmp_path):
    rd = RunDir(tmp_path)
    rd.run_json.write_text(json.dumps({"status": "done", "version": 7}))
    with pytest.raises(ConfigError, match="version 7 was written by a newer dealloy"):
        run_info(rd)
    assert "newer dealloy" in last_error_line(rd)


def test_last_error_line_reads_the_record_then_the_log(tmp_path):
    rd = RunDir(tmp_path / "r")
    rd.path.mkdir()
    log = tmp_path / "job.log"
    log.write_text("starting\nSimulationError: stage 2/3 (extract) at t = 1 ps: boom\nbye\n")
    assert last_error_line(rd, log) == "SimulationError: stage 2/3 (extract) at t = 1 ps: boom"
    RunRecord(status="failed", error="first\nparticle.args: diameter_nm too small").write(
        rd.run_json)
    assert last_error_line(rd, log) == "particle.args: diameter_nm too small"
    shutil.copy(OLD / "failed-before-md.run.json", rd.run_json)
    assert last_error_line(rd).startswith("particle.args: diameter_nm must be >= 2.14 nm")


def test_run_info_from_an_old_record(tmp_path):
    rd = RunDir(tmp_path)
    shutil.copy(OLD / "expected-run.json", rd.run_json)
    shutil.copy(OLD / "expected-events.csv", rd.events_csv)
    info = run_info(rd)
    assert info["n_si_start"] == info["n_si_end"] == 72 and info["si_conserved"] is True
    assert info["x_start"] == pytest.approx(270 / 72) and info["x_end"] == pytest.approx(1.0)
    assert info["n_events"] == info["n_removed"] == 198


def test_run_dir_reads_run_json_as_the_engines_record(tmp_path):
    """RunDir.record() gives the RunRecord the engine writes (typed attributes), for an old
    (version 1) run.json too; no run.json or a half-written one reads as pending, a newer one is
    refused in one line."""
    assert engine_record.RunRecord is RunRecord is records.RunRecord  # one class, re-exported
    rd = RunDir(tmp_path / "p")
    rd.path.mkdir()
    assert rd.record() == RunRecord() and rd.status == "pending"  # no run.json
    shutil.copy(OLD / "potentiostatic" / "expected-run.json", rd.run_json)
    old = json.loads(rd.run_json.read_text())
    rec = rd.record()
    assert isinstance(rec, RunRecord) and rec.version == 1 and rd.status == old["status"]
    assert (rec.si_start, rec.li_start, rec.n_removed) == \
        (old["si_start"], old["li_start"], old["n_removed"])
    assert rec.config_potential == old["config"]["potential"] == "meam-godet2020"
    assert rec.mu_li_bcc_ev == old["electrochem"]["mu_li_bcc_ev"] < 0
    assert rec.stages[-1].type == old["stages"][-1]["type"]
    assert RunRecord(status="done").mu_li_bcc_ev is None and RunRecord().config_potential is None
    rd.run_json.write_text(rd.run_json.read_text()[:200])  # mid-write of a crashed run
    assert rd.record().status == "pending" and rd.record().si_start is None
    rd.run_json.write_text(json.dumps({**old, "version": 9}))
    with pytest.raises(ConfigError, match="version 9 was written by a newer dealloy"):
        rd.status


def test_voltage_curve_of_an_old_run_reads_its_record(tmp_path):
    """analysis.voltage reads si_start, li_start, mu_Li(bcc) and the potential through the
    record: the old potentiostatic run gives one point per accepted move, x from the record's
    counts, and its potential's name."""
    rd = RunDir(tmp_path / "p")
    rd.path.mkdir()
    shutil.copy(OLD / "potentiostatic" / "expected-run.json", rd.run_json)
    shutil.copy(OLD / "potentiostatic" / "expected-events.csv", rd.events_csv)
    old = json.loads(rd.run_json.read_text())
    rows = voltage_curve(rd.path)
    accepted = [e for e in csv.DictReader(open(rd.events_csv)) if e.get("accepted") == "1"]
    assert len(rows) == len(accepted) > 0
    assert rows[-1]["x"] == pytest.approx(old["li_end"] / old["si_start"], abs=1e-9)
    summary = load_summary(rd.path)
    assert summary["potential"] == "meam-godet2020"


def _attributes_set(fn: ast.FunctionDef) -> set[str]:
    out = set()
    for node in ast.walk(fn):
        targets = (node.targets if isinstance(node, ast.Assign) else
                   [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
        for t in targets:
            for e in (t.elts if isinstance(t, ast.Tuple) else [t]):
                if (isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name)
                        and e.value.id == "self"):
                    out.add(e.attr)
    return out


def test_every_engine_attribute_is_set_in_init():
    """Engine and its parts set no attribute that Engine.__init__ does not set first."""
    from dealloy.engine import run as run_mod

    init, elsewhere = set(), {}
    for cls in run_mod.Engine.__mro__:
        if not cls.__module__.startswith("dealloy."):
            continue
        tree = ast.parse(Path(__import__(cls.__module__, fromlist=["x"]).__file__).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
                for fn in node.body:
                    if isinstance(fn, ast.FunctionDef):
                        if cls is run_mod.Engine and fn.name == "__init__":
                            init |= _attributes_set(fn)
                        else:
                            for a in _attributes_set(fn):
                                elsewhere.setdefault(a, set()).add(f"{cls.__name__}.{fn.name}")
    missing = {a: sorted(w) for a, w in elsewhere.items() if a not in init}
    assert not missing, missing


def test_unwrap_any_cell():
    """One unwrap: image flags give the true path exactly in a triclinic cell; without them the
    minimum-image step between frames does (atoms move < half a cell per frame)."""
    rng = np.random.default_rng(0)
    cell = np.array([[10.0, 0, 0], [3.0, 9.0, 0], [1.0, 2.0, 8.0]])
    true = np.cumsum(rng.normal(0, 0.6, (40, 25, 3)), axis=0) + rng.random((25, 3)) * 8
    frac = true @ np.linalg.inv(cell)
    img = np.floor(frac)
    wrapped = (frac - img) @ cell
    assert (img != img[0]).any()  # atoms cross the cell faces
    np.testing.assert_allclose(unwrap(wrapped, cell, images=img), true, atol=1e-9)
    np.testing.assert_allclose(unwrap(wrapped, cell) - wrapped[0], true - true[0], atol=1e-9)
    # the orthorhombic formula x + image * diag(cell) is wrong for this cell
    assert np.abs(wrapped + img * np.diag(cell) - true).max() > 1.0
    assert unwrap(wrapped, None) is not wrapped and np.array_equal(unwrap(wrapped, None), wrapped)


def test_config_keys_newer_than_a_checkpoint_count_as_changed_only_off_their_default():
    """A checkpoint written before a key existed (e.g. pressure_bar) resumes while the key holds its
    default; the same key set to anything else, or any differing old key, is a change."""
    from dealloy.engine.run import config_changes

    then = {"seed": 1, "temperature_k": 300.0}
    assert config_changes({**then, "pressure_bar": None, "pressure_damping_ps": 1.0}, then) == []
    assert config_changes({**then, "pressure_bar": 0.0, "pressure_damping_ps": 1.0},
                          then) == ["pressure_bar"]
    assert config_changes({**then, "seed": 2, "pressure_bar": None}, then) == ["seed"]
    assert config_changes({"seed": 1}, then) == ["temperature_k"]  # a key dropped since


def test_run_json_without_local_evaluations_reads_as_zero(tmp_path):
    """run.json of runs before the clusters' single points were counted still load (0)."""
    old = json.loads((OLD / "potentiostatic" / "expected-run.json").read_text())
    assert "local_evaluations" not in old["electrochem"]
    rec = RunRecord.read(OLD / "potentiostatic" / "expected-run.json")
    assert rec.electrochem.local_evaluations == 0
    assert rec.electrochem.evaluations == old["electrochem"]["evaluations"]
    assert rec.as_dict()["electrochem"]["local_evaluations"] == 0


def test_run_json_that_is_not_json_reads_as_pending(tmp_path):
    """A half-written or binary run.json is a run that never wrote one; parsed once."""
    for i, raw in enumerate((b"{half", b"\x89PNG\r\n\x1a\n\xff\xfe\x00", b"")):
        (tmp_path / f"{i}.json").write_bytes(raw)
        assert RunRecord.read(tmp_path / f"{i}.json") is None
    assert RunRecord.read(tmp_path / "none.json") is None
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="not a run record"):
        RunRecord.read(tmp_path / "list.json")

"""Study-level voltage figure: U vs x and dQ/dV of every electrochemical run, per path."""

from __future__ import annotations

import csv
import json

import ase.io
import pandas as pd
import pytest

from dealloy.engine.particles import li15si4_sphere
from dealloy.engine.run import run
from dealloy.study.collect import figures
from dealloy.study.plan import PlannedRun

RUNS = {  # run key -> (seed, stage, study params)
    "c1": (1, 'type = "galvanostatic"\nbatch = 4\ninterval_ps = 0.05\nx_final = 3.5',
           {"state": "c-Li15Si4"}),
    "c2": (2, 'type = "galvanostatic"\nbatch = 4\ninterval_ps = 0.05\nx_final = 3.5',
           {"state": "c-Li15Si4"}),
    "a1": (1, 'type = "potentiostatic"\nvoltage_v = 1.5\ntime_ps = 0.2\ninterval_ps = 0.05',
           {"state": "a-LixSi"}),
    "geo": (1, ('type = "extract"\nselector = "surface"\nx_final = 4.0\nbatch = 3\n'
                'interval_ps = 0.05'), {"state": "c-Li15Si4"}),
}


@pytest.fixture(scope="module")
def study_runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("study")
    particle = d / "c.extxyz"
    ase.io.write(particle, li15si4_sphere(8.0))
    runs = []
    for i, (key, (seed, stage, params)) in enumerate(RUNS.items()):
        cfg = d / f"{key}.toml"
        cfg.write_text(f'seed = {seed}\npotential = "meam-godet2020"\ndump_interval_ps = 0\n'
                       f'checkpoint_ps = 10.0\n[particle]\nfile = "{particle}"\n'
                       f'[[stages]]\n{stage}\n')
        run(cfg, quiet=True)
        config = {"particle": {"file": str(particle)}, "seed": seed,
                  "potential": "meam-godet2020"}
        runs.append(PlannedRun(i, key, params, config, d / key))
    return d, runs


def test_study_voltage_figure_carries_every_electrochemical_run(study_runs):
    d, runs = study_runs
    out = d / "figures"
    notes = figures(None, pd.DataFrame({"dod_resolved": [1.0] * len(runs)}), out, name="t",
                    runs=runs)
    assert "voltage_vs_x.png" in notes
    assert (out / "voltage_vs_x.png").stat().st_size > 10_000
    with open(out / "voltage_vs_x.csv") as fh:
        rows = list(csv.DictReader(fh))
    by_run = {}
    for r in rows:
        by_run.setdefault(r["run"], []).append(r)
    names = {r.key: r.key for r in runs}
    # every electrochemical run is in, with its own curve and dQ/dV; the geometric run is not
    assert set(by_run) == {names["c1"], names["c2"], names["a1"]}
    for key in ("c1", "c2", "a1"):
        mine = by_run[names[key]]
        curve = [r for r in mine if r["kind"] == "curve"]
        with open(d / key / "events.csv") as fh:
            events = list(csv.DictReader(fh))
        accepted = [e for e in events if e["accepted"] == "1"]
        assert len(curve) == len(accepted) > 0  # one point per accepted move of that run
        assert any(r["kind"] == "dqdv" for r in mine)
        assert {r["path"] for r in mine} == {"a-path" if key == "a1" else "c-path"}
    # the galvanostatic curve is the run's own running median of its removal voltages
    info = json.loads((d / "c1" / "run.json").read_text())
    assert len(by_run[names["c1"]]) > 0 and info["n_removed"] == 108 - 84


def test_no_electrochemical_run_no_voltage_figure(study_runs, tmp_path):
    _, runs = study_runs
    geo = [r for r in runs if r.key == "geo"]
    notes = figures(None, pd.DataFrame({"dod_resolved": [1.0]}), tmp_path, name="t", runs=geo)
    assert any(n.startswith("voltage_vs_x.png: skipped") for n in notes)
    assert not (tmp_path / "voltage_vs_x.png").exists()


def test_voltage_figure_keeps_galvanostatic_and_potentiostatic_apart(study_runs, tmp_path):
    """With both electrochemical modes in a study, each (path, mode) gets its own panels: single-
    point removal voltages and applied potentials are different quantities on the U axis."""
    d, runs = study_runs
    stage = {"c1": "galvanostatic", "c2": "galvanostatic", "a1": "potentiostatic", "geo": "extract"}
    moded = [PlannedRun(r.index, r.key, r.params, {**r.config, "stages": [{"type": stage[r.key]}]},
                        r.rundir.path) for r in runs]
    notes = figures(None, pd.DataFrame({"dod_resolved": [1.0] * len(runs)}), tmp_path, name="t",
                    runs=moded)
    assert "voltage_vs_x.png" in notes
    with open(tmp_path / "voltage_vs_x.csv") as fh:
        paths = {(r["run"], r["path"]) for r in csv.DictReader(fh)}
    assert paths == {("c1", "c-path, galvanostatic"), ("c2", "c-path, galvanostatic"),
                     ("a1", "a-path, potentiostatic")}

"""Active learning (`dealloy potential learn`, dealloy.fit.active) without the real teacher.

The stand-in teacher is meam-godet2020 through ``load_teacher("lammps:meam-godet2020")`` (an ASE
calculator over LAMMPS single points); the training set is MEAM-labelled strained/rattled crystals
(tests/test_fit.py), the student and the committee are tiny POD fits by the real fitpod.
"""

from __future__ import annotations

import importlib.util
import json
import os

import numpy as np
import pytest
from ase.build import bulk

from dealloy.builders.amorphous import random_packing, ref_volume_per_si
from dealloy.errors import ConfigError
from dealloy.fit import fit_potential
from dealloy.fit.active import (ActiveSpec, committee_disagreement, fit_committee,
                                learn_potential, min_pair_distance, select_candidates)
from dealloy.fit.dataset import assign_split, config_hash, read_dataset, write_dataset
from dealloy.fit.teacher import LammpsCalculator, load_teacher
from dealloy.potentials.validate import li15si4_unit_cell
from test_fit import SMALL_POD, meam_labelled

MEAM_TEACHER = "lammps:meam-godet2020"


@pytest.fixture(scope="module")
def start(tmp_path_factory):
    """A MEAM-labelled crystal data set and the tiny POD student fitted to it (folder path)."""
    root = tmp_path_factory.mktemp("active")
    atoms = meam_labelled()
    assign_split(atoms, 0.2)
    data = root / "crystals.extxyz"
    write_dataset(data, atoms, {"teacher": {"teacher": "meam-godet2020 (test stand-in)"}})
    fit_potential("s0", data=data, students=("pod",), validate=False, out_dir=root / "pots",
                  settings={"pod": SMALL_POD}, teacher=MEAM_TEACHER)
    return data, root / "pots" / "pod-s0"


@pytest.fixture(scope="module")
def covered(tmp_path_factory):
    """A data set that covers 300 K crystals: MEAM-labelled NVT frames of c-Li15Si4 (a = 10.56 A)
    and diamond Si (2x2x2, a = 5.45 A) at 300 K plus the strained/rattled cells; its student."""
    from dealloy.fit.dataset import DataSpec, label, shortrange_configs
    from dealloy.lammps.session import LammpsSession

    root = tmp_path_factory.mktemp("covered")
    frames = []
    for k, c in enumerate((li15si4_unit_cell(10.56), bulk("Si", "diamond", a=5.45, cubic=True)
                           .repeat(2))):
        with LammpsSession(c, "meam-godet2020") as s:
            s.minimize()
            s.create_velocities(300.0, 5 + k)
            for _ in range(10):
                s.md(0.1, 300.0, ensemble="nvt")
                a = s.get_atoms(velocities=False)
                del a.arrays["id"]
                a.info = {"family": "md300", "config_id": config_hash(a)}
                frames.append(a)
    # + the shortrange family of the real data sets (random packings, compressed crystals): a POD
    # fitted without it has an attractive hole at short range and loses atoms at 300 K (measured)
    frames += [a for a in shortrange_configs(DataSpec.preset("tiny")) if len(a) <= 40]
    atoms = label(frames, load_teacher(MEAM_TEACHER)) + meam_labelled()
    for a in atoms:  # unrecorded labeller: the loops may use a counting wrapper of the same MEAM,
        a.info.pop("teacher", None)  # whose isolated atoms are then the reference energies
    assign_split(atoms, 0.2)
    data = root / "covered.extxyz"
    write_dataset(data, atoms, {"teacher": {"teacher": "meam-godet2020 (test stand-in)"}})
    fit_potential("c0", data=data, students=("pod",), validate=False, out_dir=root / "pots",
                  settings={"pod": SMALL_POD}, teacher=MEAM_TEACHER)
    return data, root / "pots" / "pod-c0"


def counting(calls, fail_after=None):
    """A stand-in teacher factory (MEAM) that counts its calculations and can die mid-way."""

    def counting_meam():
        calc = LammpsCalculator("meam-godet2020")
        real = calc.calculate

        def calculate(*a, **k):
            calls.append(1)
            if fail_after is not None and len(calls) > fail_after:
                raise KeyboardInterrupt("killed while labelling (test)")
            return real(*a, **k)

        calc.calculate = calculate
        return calc

    return counting_meam


# ---- the stand-in teacher --------------------------------------------------------------------
def test_lammps_teacher_forces_and_stress_are_derivatives_of_its_energy():
    t = load_teacher(MEAM_TEACHER)
    assert t.ident.startswith("lammps/meam-godet2020@")
    a = li15si4_unit_cell(10.4)
    a.positions += np.random.default_rng(0).normal(0, 0.05, a.positions.shape)
    a.set_cell(a.cell.array @ np.array([[1, 0.03, 0], [0.03, 1, 0.01], [0, 0.01, 1.02]]),
               scale_atoms=True)  # a general triclinic cell: LAMMPS rotates it
    a.calc = t.calculator
    stress, forces = a.get_stress(), a.get_forces()
    c = a.cell.array.copy()

    def energy(strain=None, shift=None):
        b = a.copy()
        b.calc = t.calculator
        if strain is not None:
            b.set_cell(c @ (np.eye(3) + strain), scale_atoms=True)
        if shift is not None:
            b.positions[3] += shift
        return b.get_potential_energy()

    h = 1e-5
    for v, (i, j) in enumerate([(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]):
        d = np.zeros((3, 3))
        d[i, j] = d[j, i] = h / (1 if i == j else 2)
        num = (energy(strain=d) - energy(strain=-d)) / (2 * h) / a.get_volume()
        assert stress[v] == pytest.approx(num, abs=2e-6)
    step = np.array([0, 1e-4, 0])
    assert forces[3, 1] == pytest.approx(-(energy(shift=step) - energy(shift=-step)) / 2e-4,
                                         abs=1e-5)


# ---- bad input: one line, before any work -----------------------------------------------------
@pytest.mark.parametrize("field,value,needle", [
    ("iterations", 0, "iterations must be >= 1"),
    ("force_threshold_ev_per_angstrom", 0.0, "force_threshold_ev_per_angstrom must be > 0"),
    ("energy_threshold_ev_per_atom", -0.01, "energy_threshold_ev_per_atom must be > 0"),
    ("committee_size", 1, "committee_size must be >= 2"),
    ("max_selected", 0, "max_selected must be >= 1"),
    ("xs", (4.5,), "xs must be in [0, 3.75]"),
])
def test_bad_settings_fail_in_one_line_before_any_work(tmp_path, start, field, value, needle):
    data, student = start
    with pytest.raises(ConfigError) as err:
        learn_potential("x", data, student, teacher=MEAM_TEACHER, state_dir=tmp_path / "st",
                        out_dir=tmp_path / "p", spec=ActiveSpec(**{field: value}))
    assert needle in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "st").exists() and not (tmp_path / "p").exists()


def test_bad_student_teacher_and_state_fail_before_any_work(tmp_path, start, monkeypatch):
    data, student = start
    kw = dict(teacher=MEAM_TEACHER, state_dir=tmp_path / "st", out_dir=tmp_path / "p")
    with pytest.raises(ConfigError, match="student 'pod-nosuch' not found"):
        learn_potential("x", data, "pod-nosuch", **kw)
    with pytest.raises(ConfigError, match="meam-godet2020' is a meam potential.*POD student"):
        learn_potential("x", data, "meam-godet2020", **kw)
    with pytest.raises(ConfigError, match="data set not found"):
        learn_potential("x", tmp_path / "none.extxyz", student, **kw)
    with pytest.raises(ConfigError, match="state_dir"):
        learn_potential("x", data, student, teacher=MEAM_TEACHER, state_dir=None,
                        out_dir=tmp_path / "p")
    with pytest.raises(ConfigError, match="reference_energies 'zero'.*teacher-atoms.*none") as err:
        learn_potential("x", data, student, **kw, reference_energies="zero")
    assert "\n" not in str(err.value)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "sevenn" else real(name, *a))
    with pytest.raises(ConfigError, match=r"'sevenn'.*\[fit\]") as err:
        learn_potential("x", data, student, **{**kw, "teacher": "sevenn"})
    assert "\n" not in str(err.value)
    assert not (tmp_path / "st").exists() and not (tmp_path / "p").exists()


def test_cli_bad_option_is_one_line(tmp_path, start, dealloy_cli):
    data, student = start
    res = dealloy_cli("potential", "learn", "x", "--data", data, "--student", student,
                      "--state-dir", tmp_path / "st", "--teacher", MEAM_TEACHER,
                      "--force-threshold", "-0.1")
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0
    assert "force_threshold_ev_per_angstrom must be > 0" in res.stderr
    assert not (tmp_path / "st").exists()


# ---- selection ----------------------------------------------------------------------------------
def _cells(base, n, rng, rattle, scale=1.0):
    out = []
    for _ in range(n):
        a = base.copy()
        a.set_cell(a.cell * scale, scale_atoms=True)
        a.positions += rng.normal(0, rattle, a.positions.shape)
        a.info["config_id"] = config_hash(a)
        out.append(a)
    return out


def test_committee_selects_far_configurations_not_near_duplicates(tmp_path, start):
    data, _ = start
    atoms, _ = read_dataset(data)
    train = [a for a in atoms if a.info["split"] == "train"]
    members = fit_committee(train, SMALL_POD, tmp_path / "committee", 3, [0])
    rng = np.random.default_rng(11)
    c15 = li15si4_unit_cell(10.7)
    si = bulk("Si", "diamond", a=5.45, cubic=True)
    # near duplicates: new strains/rattles like the training ones
    near = []
    for b in (c15, si):
        for a in _cells(b, 3, rng, 0.06):
            eps = rng.uniform(-0.02, 0.02, (3, 3))
            a.set_cell(a.cell.array @ (np.eye(3) + 0.5 * (eps + eps.T)), scale_atoms=True)
            a.info["config_id"] = config_hash(a)
            near.append(a)
    # far outside: compressed by 15 %, and hot Li-rich melts (random packings, no pair < 1.7 A)
    far = _cells(c15, 2, rng, 0.1, 0.85) + _cells(si, 2, rng, 0.1, 0.85)
    for x in (2.0, 3.75):
        a = random_packing(int(4 * x), 4, 4 * ref_volume_per_si(x), rng, min_distance=1.7)
        a.info["config_id"] = config_hash(a)
        far.append(a)
    s_near = committee_disagreement(near, members)
    s_far = committee_disagreement(far, members)
    f_near = [s["force_deviation_ev_per_angstrom"] for s in s_near]
    f_far = [s["force_deviation_ev_per_angstrom"] for s in s_far]
    # every far configuration is more uncertain than every near duplicate
    assert min(f_far) > max(f_near), (f_near, f_far)
    # ... and thresholds set as the defaults were (1.5x the committee's largest deviation on the
    # held-out split of its own data set, docs/fitting.md) select exactly the far ones
    s_test = committee_disagreement([a for a in atoms if a.info["split"] == "test"], members)
    spec = ActiveSpec(max_selected=50, per_trajectory_max=50,
                      force_threshold_ev_per_angstrom=1.5 * max(
                          s["force_deviation_ev_per_angstrom"] for s in s_test),
                      energy_threshold_ev_per_atom=1.5 * max(
                          s["energy_deviation_ev_per_atom"] for s in s_test))
    for a in near + far:
        a.info["trajectory"] = a.info["config_id"]
    sel = select_candidates(near + far, s_near + s_far, spec)
    assert {r["index"] for r in sel} == set(range(len(near), len(near) + len(far)))
    # and what is already in the data set is never selected again
    assert select_candidates(far, s_far, spec, known_ids={a.info["config_id"] for a in far}) == []


def test_selection_order_caps_and_dedup():
    rng = np.random.default_rng(0)
    frames = _cells(bulk("Si", "diamond", a=5.45, cubic=True), 8, rng, 0.02)
    for k, a in enumerate(frames):
        a.info["trajectory"] = "run-a" if k < 5 else "run-b"
    frames[7].info["reason"] = "md-failure"
    overlap = frames[6].copy()
    overlap.positions[1] = overlap.positions[0] + [0.3, 0, 0]  # overlapping atoms
    overlap.info["config_id"] = config_hash(overlap)
    frames[6] = overlap
    f = [0.1, 0.9, 2.0, 1.5, 0.7, 0.05, 5.0, 0.0]
    scores = [{"force_deviation_ev_per_angstrom": v, "energy_deviation_ev_per_atom": 0.001}
              for v in f]
    scores[0]["energy_deviation_ev_per_atom"] = 0.05  # selected by its energy deviation
    spec = ActiveSpec(force_threshold_ev_per_angstrom=0.5, energy_threshold_ev_per_atom=0.02,
                      per_trajectory_max=3, max_selected=10)
    sel = select_candidates(frames, scores, spec)
    # the MD failure first (whatever its score), then most uncertain first, at most 3 from run-a;
    # the overlapping frame (score 10) is never labelled
    assert [r["index"] for r in sel] == [7, 2, 3, 0]
    assert [r["reason"] for r in sel] == ["md-failure", "force", "force", "energy"]
    assert len(select_candidates(frames, scores, ActiveSpec(
        force_threshold_ev_per_angstrom=0.5, max_selected=2))) == 2
    assert min_pair_distance(overlap) == pytest.approx(0.3, abs=1e-6)


# ---- the loop --------------------------------------------------------------------------------
def test_loop_stops_at_once_on_a_covered_distribution(tmp_path, covered):
    data, student = covered
    calls = []
    spec = ActiveSpec(iterations=3, committee_size=3, xs=(), crystal_temperatures_k=(300.0,),
                      crystal_ps=0.6, crystal_box_relax=False, frames_per_run=3, surface_ps=0.0)
    res = learn_potential("covered", data, student, teacher=counting(calls),
                          state_dir=tmp_path / "st", spec=spec, out_dir=tmp_path / "p")
    assert res["converged"] and len(res["iterations"]) == 1
    rec = res["iterations"][0]
    assert rec["candidates"] == 6 and rec["runs_failed"] == 0 and rec["selected"] == 0
    assert rec["force_deviation_ev_per_angstrom"]["max"] < spec.force_threshold_ev_per_angstrom
    # the teacher's load probe and its two isolated atoms (the reference energies): nothing labelled
    assert len(calls) == 3
    assert res["potential"] is None and not (tmp_path / "p" / "pod-covered").exists()
    hist = (tmp_path / "st" / "history.csv").read_text().splitlines()
    assert len(hist) == 2 and hist[1].split(",")[4] == "0"


def test_loop_learns_hot_melts_and_resumes_without_relabelling(tmp_path, covered):
    data, student = covered
    spec = ActiveSpec(iterations=2, committee_size=3, xs=(3.75,), n_si=4,
                      melt_temperatures_k=(2500.0,), melt_ps=0.3, quench_ps=0.0,
                      crystal_temperatures_k=(), surface_ps=0.0, frames_per_run=3,
                      max_selected=4)
    kw = dict(state_dir=tmp_path / "st", spec=spec, out_dir=tmp_path / "p", validate=False)
    calls = []
    # killed after the probe, the two isolated atoms (reference energies) and two labels
    with pytest.raises(KeyboardInterrupt):
        learn_potential("hot", data, student, teacher=counting(calls, fail_after=5), **kw)
    it1 = tmp_path / "st" / "iter-001"
    selected = json.loads((it1 / "selection.json").read_text())["selected"]
    assert len(selected) >= 3
    explored = os.path.getmtime(it1 / "candidates.extxyz")
    calls2 = []
    res = learn_potential("hot", data, student, teacher=counting(calls2), **kw)
    assert os.path.getmtime(it1 / "candidates.extxyz") == explored  # no MD repeated
    r1 = res["iterations"][0]
    # labels: the two done before the kill came from the cache; nothing labelled twice
    assert r1["selected"] == len(selected) and r1["labels_computed"] == len(selected) - 2
    n_new = sum(r["labels_computed"] for r in res["iterations"])
    # the load probe + each new configuration once (the isolated atoms came from the cache too)
    assert len(calls2) == 1 + n_new
    final, meta = read_dataset(res["dataset"])
    active = [a for a in final if a.info["family"] == "active"]
    assert len(active) == sum(r["selected"] for r in res["iterations"])
    assert {a.info["active_iteration"] for a in active} == {
        r["iteration"] for r in res["iterations"] if r["selected"]}
    assert all(a.info["explore"] == "melt-quench" for a in active)
    assert meta["active_learning"]["teacher"]["teacher"] == "counting_meam"
    # the result is a registered POD potential fitted to the grown set; a rerun changes nothing
    man = json.loads((tmp_path / "p" / "pod-hot" / "potential.json").read_text())
    assert man["provenance"]["dataset"]["configurations"] == len(final)
    calls3 = []
    again = learn_potential("hot", data, student, teacher=counting(calls3), **kw)
    assert len(calls3) == 1 and [r["selected"] for r in again["iterations"]] == \
        [r["selected"] for r in res["iterations"]]
    # another exploration setting on the same state is refused, naming it
    with pytest.raises(ConfigError, match="spec.n_si"):
        learn_potential("hot", data, student, teacher=MEAM_TEACHER,
                        **{**kw, "spec": ActiveSpec(**{**spec.__dict__, "n_si": 5})})


@pytest.mark.slow
def test_cli_learn_reports_writes_history_and_continues(tmp_path, covered, dealloy_cli):
    data, student = covered
    args = ["potential", "learn", "cov", "--data", data, "--student", student, "--state-dir",
            tmp_path / "st", "--teacher", MEAM_TEACHER, "--xs", "", "--committee", "3",
            "--out-dir", tmp_path / "p", "--json", tmp_path / "r.json", "--no-validate", "-q"]
    # crystals only, at the default 300 and 900 K, box-relaxed by the student: wider than the
    # covered data (900 K), so the first iteration selects
    res = dealloy_cli(*args, "--iterations", "1")
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert [r["iteration"] for r in doc["iterations"]] == [1]
    assert doc["iterations"][0]["selected"] > 0
    assert "stopped after 1 iteration(s) (not converged)" in res.stdout
    assert res.stdout.splitlines()[1].split()[:4] == [
        "1", str(doc["iterations"][0]["candidates"]), "0", str(doc["iterations"][0]["selected"])]
    assert (tmp_path / "p" / "pod-cov" / "potential.json").is_file()
    rows = (tmp_path / "st" / "history.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("1,")
    # a rerun with more iterations continues: iteration 1 is reused, not redone, and the
    # potential it wrote itself may be replaced without --force
    explored = os.path.getmtime(tmp_path / "st" / "iter-001" / "candidates.extxyz")
    more = dealloy_cli(*args, "--iterations", "2")
    assert more.returncode == 0, more.stderr
    doc2 = json.loads((tmp_path / "r.json").read_text())
    assert doc2["iterations"][0] == doc["iterations"][0]
    assert [r["iteration"] for r in doc2["iterations"]] == [1, 2]
    assert os.path.getmtime(tmp_path / "st" / "iter-001" / "candidates.extxyz") == explored

"""`dealloy potential fit`: bad input fails before any work; POD and SNAP students fitted with the
real LAMMPS (fitpod, compute snap) load through the registry and run MD; labels are cached and a
rerun resumes; with the [fit] extra installed, a tiny SevenNet-0-labelled fit runs end to end.

Teachers stand-ins (fast tests, base install): ASE's Lennard-Jones calculator passed as a Python
callable, and MEAM single points as labels -- the machinery is the same as with a real teacher.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import socket

import ase.io
import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.lj import LennardJones
from ase.calculators.singlepoint import SinglePointCalculator

from dealloy.lammps.session import LammpsSession
from dealloy.errors import ConfigError
from dealloy.fit import DataSpec, fit_potential, load_teacher, students
from dealloy.fit.cli import _fmt_row
from dealloy.fit.dataset import assign_split, label, read_dataset, write_dataset
from dealloy.fit.evaluate import isolated_atoms, single_point
from dealloy.fit.teacher import LammpsCalculator, TeacherNeedsNetwork
from dealloy.lammps.potentials import fitted_potential, get_potential
from dealloy.potentials.validate import li15si4_unit_cell

HAS_SEVENN = importlib.util.find_spec("sevenn") is not None
#: the stand-in teacher that labelled meam_set (with --data the teacher gives the reference energies)
MEAM_TEACHER = "lammps:meam-godet2020"


@pytest.fixture
def user_pots(tmp_path, monkeypatch):
    """A private user-potentials folder (never the real one)."""
    d = tmp_path / "user-pots"
    monkeypatch.setenv("DEALLOY_USER_POTENTIALS_DIR", str(d))
    return d


def lj_teacher():
    """A fast stand-in teacher (any ASE calculator works through the callable form)."""
    return LennardJones(sigma=2.4, epsilon=0.2, rc=5.0, smooth=True)


def meam_labelled(n_per_base: int = 6, seed: int = 0) -> list:
    """Strained/rattled Li, Si and c-Li15Si4 cells labelled by meam-godet2020 single points."""
    rng = np.random.default_rng(seed)
    pot = get_potential("meam-godet2020")
    out = []
    bases = [bulk("Si", "diamond", a=5.45, cubic=True), bulk("Li", "bcc", a=3.44, cubic=True).repeat(2),
             li15si4_unit_cell(10.7)]
    for b in bases:
        for k in range(n_per_base):
            a = b.copy()
            eps = rng.uniform(-0.03, 0.03, (3, 3))
            a.set_cell(a.cell.array @ (np.eye(3) + 0.5 * (eps + eps.T)), scale_atoms=True)
            a.positions += rng.normal(0, 0.06, a.positions.shape)
            e, f = single_point(a, pot)
            a.calc = SinglePointCalculator(a, energy=e, forces=f, stress=np.zeros(6))
            a.info["family"] = "crystal"
            out.append(a)
    return out


@pytest.fixture(scope="module")
def meam_set(tmp_path_factory):
    atoms = meam_labelled()
    assign_split(atoms, 0.2)
    path = tmp_path_factory.mktemp("meam-data") / "meam.extxyz"
    write_dataset(path, atoms, {"teacher": {"teacher": "meam-godet2020 (test stand-in)"}})
    return path


# ---- bad input: one clear error, nothing made ------------------------------------------------
def test_missing_teacher_package_names_the_fit_extra(tmp_path, monkeypatch, user_pots):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "sevenn" else real(name, *a))
    with pytest.raises(ConfigError, match=r"\[fit\]") as err:
        fit_potential("x", teacher="sevenn", spec=DataSpec.preset("tiny"), out_dir=tmp_path / "p")
    assert "sevenn" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "p").exists()  # nothing was started


def test_unknown_teacher_name():
    with pytest.raises(ConfigError, match="unknown teacher 'mattersim'"):
        load_teacher("mattersim")


def test_teacher_that_downloads_weights_is_detected(tmp_path, user_pots):
    connects = []

    def downloading_teacher():
        import urllib.request

        real_connect = socket.socket.connect  # (patched while loading: records, then refuses)
        connects.append(real_connect)
        urllib.request.urlopen("http://127.0.0.1:9/weights.pt", timeout=2)
        return lj_teacher()

    with pytest.raises(TeacherNeedsNetwork, match="tries to download its weights"):
        fit_potential("x", teacher=downloading_teacher, spec=DataSpec.preset("tiny"),
                      out_dir=tmp_path / "p")
    assert connects and not (tmp_path / "p").exists()
    # the guard is lifted afterwards
    assert socket.socket.connect is not connects[0]


def test_non_lisi_elements_are_refused(tmp_path, user_pots):
    a = bulk("Cu", "fcc", a=3.6, cubic=True)
    a.calc = SinglePointCalculator(a, energy=-10.0, forces=np.zeros((4, 3)))
    path = tmp_path / "cu.extxyz"
    ase.io.write(path, [a])
    with pytest.raises(ConfigError, match="contains Cu"):
        fit_potential("x", data=path, out_dir=tmp_path / "p")
    assert not (tmp_path / "p").exists()


def test_empty_and_nan_data_are_refused(tmp_path, user_pots):
    empty = tmp_path / "empty.extxyz"
    empty.write_text("")
    with pytest.raises(ConfigError, match="no configurations"):
        fit_potential("x", data=empty, out_dir=tmp_path / "p")
    a = bulk("Si", "diamond", a=5.43, cubic=True)
    f = np.zeros((8, 3))
    f[3, 1] = np.nan
    a.calc = SinglePointCalculator(a, energy=-40.0, forces=f)
    nan = tmp_path / "nan.extxyz"
    ase.io.write(nan, [a])
    with pytest.raises(ConfigError, match="NaN"):
        fit_potential("x", data=nan, out_dir=tmp_path / "p")
    with pytest.raises(ConfigError, match="not found"):
        fit_potential("x", data=tmp_path / "missing.extxyz", out_dir=tmp_path / "p")
    assert not (tmp_path / "p").exists()


def test_edited_data_set_fails_its_checksum(tmp_path, meam_set):
    copy = tmp_path / "d.extxyz"
    copy.write_text(meam_set.read_text().replace("Si ", "Si  ", 1))
    (tmp_path / "d.extxyz.json").write_text(meam_set.with_suffix(".extxyz.json").read_text())
    with pytest.raises(ConfigError, match="checksum"):
        read_dataset(copy)


def test_bad_name_student_and_builtin_name(tmp_path, meam_set, user_pots):
    with pytest.raises(ConfigError, match="name 'Bad Name'"):
        fit_potential("Bad Name", data=meam_set, out_dir=tmp_path)
    with pytest.raises(ConfigError, match="unknown student 'uf3'"):
        fit_potential("x", data=meam_set, students=("uf3",), out_dir=tmp_path)
    with pytest.raises(ConfigError, match="unknown pod setting 'rcutt'"):
        fit_potential("x", data=meam_set, students=("pod",), out_dir=tmp_path,
                      settings={"pod": {"rcutt": 5}}, validate=False, teacher=MEAM_TEACHER)


# ---- real fits with LAMMPS (base install) ----------------------------------------------------
#: a POD basis small enough for 18 near-equilibrium training cells (the default 250-term basis
#: is underdetermined there and collapses under minimisation)
SMALL_POD = {"twobody_number_radial_basis_functions": 4,
             "threebody_number_radial_basis_functions": 3, "threebody_angular_degree": 2}


@pytest.mark.slow
def test_pod_and_snap_fit_register_and_run_md(tmp_path, meam_set, user_pots):
    # reference_energies "none": with MEAM's isolated atoms at 0 eV the many-body terms must carry
    # the whole cohesive energy, and 18 near-equilibrium cells do not pin the repulsion -- the
    # teacher-atoms POD fit lost atoms within these 0.2 ps at 300 K for 6 of 8 velocity seeds
    # (none: 0 of 8; measured 2026-11-30, docs/fitting.md). The reference-energy fits are
    # tested below (test_reference_energies_put_the_students_isolated_atoms_at_the_teachers).
    res = fit_potential("meamcopy", data=meam_set, students=("pod", "snap"), validate=False,
                        settings={"pod": SMALL_POD}, teacher=MEAM_TEACHER,
                        reference_energies="none")
    assert set(res["potentials"]) == {"pod-meamcopy", "snap-meamcopy"}
    train, _ = read_dataset(meam_set)
    meam = get_potential("meam-godet2020")
    from dealloy.lammps.potentials import POTENTIAL_NAMES
    for name in ("pod-meamcopy", "snap-meamcopy"):
        assert name in POTENTIAL_NAMES  # run configs accept it
        pot = get_potential(name)
        assert (user_pots / name / "potential.json").is_file()
        # the student reproduces its (MEAM) labels on a held-out strained c-Li15Si4
        test = [a for a in train if a.info.get("split") == "test" and len(a) == 76][0]
        e_student, f_student = single_point(test, pot)
        e_meam, f_meam = single_point(test, meam)
        assert abs(e_student - e_meam) / len(test) < 0.03, name
        # forces: learned, not memorised -- the error is well below the forces themselves
        assert np.sqrt(np.mean((f_student - f_meam) ** 2)) < 0.8 * np.sqrt(np.mean(f_meam ** 2)), name
        # and runs MD: minimised, then 200 steps of NVE at 300 K keep the crystal together,
        # energy conserved
        with LammpsSession(li15si4_unit_cell(10.7), pot) as s:
            assert s.minimize() / 76 > -3.5  # no collapse (MEAM: -2.6 eV/atom)
            s.create_velocities(300.0, 4)
            s.command("run 0 post no")
            e0 = s.thermo("etotal")
            s.md(0.2, 300.0, ensemble="nve")
            assert s.natoms == 76
            assert abs(s.thermo("etotal") - e0) / 76 < 2e-3, name
    # the manifest records where the labels came from
    man = json.loads((user_pots / "pod-meamcopy" / "potential.json").read_text())
    assert man["provenance"]["dataset"]["sha256"] == json.loads(
        meam_set.with_suffix(".extxyz.json").read_text())["sha256"]


#: per-element constants added to MEAM (isolated atoms at 0 eV): a teacher whose isolated atoms
#: are clearly not at zero, as SevenNet-0's (Li -0.470, Si -1.310 eV)
SHIFT_EV = {"Li": -0.47, "Si": -1.31}


class ShiftedMeam(Calculator):
    """meam-godet2020 plus a constant energy per atom of each element (forces unchanged)."""

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = LammpsCalculator("meam-godet2020")

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.inner.calculate(self.atoms, properties, system_changes)
        shift = sum(SHIFT_EV[s] for s in self.atoms.get_chemical_symbols())
        self.results = {**self.inner.results, "energy": self.inner.results["energy"] + shift,
                        "free_energy": self.inner.results["energy"] + shift}


def shifted_meam():
    """The callable teacher: :class:`ShiftedMeam`."""
    return ShiftedMeam()


@pytest.fixture(scope="module")
def shifted_set(tmp_path_factory):
    """The dense Li, Si and c-Li15Si4 cells of meam_set, labelled by the shifted teacher."""
    configs = [a.copy() for a in meam_labelled(n_per_base=5, seed=3)]
    atoms = label(configs, load_teacher(shifted_meam))
    assign_split(atoms, 0.2)
    path = tmp_path_factory.mktemp("shifted-data") / "shifted.extxyz"
    write_dataset(path, atoms, {"teacher": {"teacher": "shifted_meam (test stand-in)"}})
    return path


def test_reference_energies_put_the_students_isolated_atoms_at_the_teachers(tmp_path, shifted_set,
                                                                             user_pots):
    # issue 14: fitpod's free one-body term left pod-lisi-7net's isolated atoms 0.7-1.1 eV below
    # the teacher's (dense data never show an atom losing its neighbours). With the default
    # reference energies the student's isolated atoms are the teacher's by construction.
    res = fit_potential("e0", data=shifted_set, teacher=shifted_meam, students=("pod", "snap"),
                        validate=False, settings={"pod": SMALL_POD})
    train, _ = read_dataset(shifted_set)
    test = [a for a in train if a.info["split"] == "test"]
    for name in ("pod-e0", "snap-e0"):
        pot = get_potential(name)
        iso = isolated_atoms(pot)
        assert iso == pytest.approx(SHIFT_EV, abs=1e-3), name
        ref = res["potentials"][name]["provenance"]["reference_energies"]
        assert ref["method"] == "teacher-atoms" and ref["teacher"].startswith("shifted_meam/")
        assert ref["isolated_atom_ev"] == pytest.approx(SHIFT_EV, abs=1e-9)
        # dense configurations keep the teacher's absolute energies (the one-body coefficients
        # sit where ML-POD reads them)
        de = [(single_point(a, pot)[0] - a.get_potential_energy()) / len(a) for a in test]
        assert np.sqrt(np.mean(np.square(de))) < 0.03, name
    # the old behaviour (the student's own one-body term) misses the teacher's isolated atoms
    old = fit_potential("e0old", data=shifted_set, students=("pod",), validate=False,
                        settings={"pod": SMALL_POD}, reference_energies="none")
    assert old["potentials"]["pod-e0old"]["provenance"]["reference_energies"] == {"method": "none"}
    iso_old = isolated_atoms(get_potential("pod-e0old"))
    assert max(abs(iso_old[el] - SHIFT_EV[el]) for el in SHIFT_EV) > 0.05, iso_old


def test_environment_clusters_reach_the_pod_file_and_lammps_runs_the_potential(tmp_path, shifted_set,
                                                                                user_pots):
    # environment-adaptive POD (number_of_environment_clusters > 1): one coefficient set per
    # cluster, chosen by fitpod's PCA projection and centroids, which ride in the coefficient file
    # (header "model_coefficients: N P C"); with teacher-atoms reference energies dealloy rewrites
    # that file, and must keep the projection and centroids for pair_style pod to load it
    res = fit_potential("c2", data=shifted_set, teacher=shifted_meam, students=("pod",),
                        validate=False,
                        settings={"pod": {**SMALL_POD, "number_of_environment_clusters": 2}})
    one = fit_potential("c1", data=shifted_set, teacher=shifted_meam, students=("pod",),
                        validate=False, settings={"pod": SMALL_POD})
    assert "number_of_environment_clusters 2" in (user_pots / "pod-c2" / "pod-c2.pod").read_text()
    assert "number_of_environment_clusters 1" in (user_pots / "pod-c1" / "pod-c1.pod").read_text()
    head = (user_pots / "pod-c2" / "pod-c2.coeff.pod").read_text().split()[:4]
    n2, n1 = (r["potentials"][f"pod-{k}"]["provenance"]["fit_settings"]["n_coefficients"]
              for r, k in ((res, "c2"), (one, "c1")))
    assert int(head[1]) == n2 and int(head[2]) > 0 and int(head[3]) > 0  # projection, centroids
    assert n2 - 2 == 2 * (n1 - 2)  # per element: the one-body term + one block per cluster
    pot = get_potential("pod-c2")
    assert isolated_atoms(pot) == pytest.approx(SHIFT_EV, abs=1e-3)
    train, _ = read_dataset(shifted_set)
    test = [a for a in train if a.info["split"] == "test"]
    # LAMMPS evaluates it: held-out energies near the labels, forces learned (well below the
    # forces themselves). (No MD here: teacher-atoms fits of these 20 cells are not stable in MD,
    # see test_pod_and_snap_fit_register_and_run_md.)
    points = [(single_point(a, pot), a) for a in test]
    de = [(e - a.get_potential_energy()) / len(a) for (e, _), a in points]
    assert np.sqrt(np.mean(np.square(de))) < 0.03
    df = np.concatenate([(f - a.get_forces()).ravel() for (_, f), a in points])
    f_ref = np.concatenate([a.get_forces().ravel() for a in test])
    assert np.sqrt(np.mean(df ** 2)) < 0.8 * np.sqrt(np.mean(f_ref ** 2))


def test_reference_energies_bad_choice_or_other_teacher_fail_in_one_line(tmp_path, shifted_set,
                                                                          user_pots, dealloy_cli):
    with pytest.raises(ConfigError, match="reference_energies 'teacher'.*teacher-atoms.*none"):
        fit_potential("x", data=shifted_set, teacher=shifted_meam, reference_energies="teacher")
    # the isolated atoms of another teacher than the one that labelled the data are refused
    with pytest.raises(ConfigError, match="labelled by shifted_meam.*--reference-energies none"):
        fit_potential("x", data=shifted_set, teacher="lammps:meam-godet2020", validate=False)
    bad = dealloy_cli("potential", "fit", "x", "--data", shifted_set, "--reference-energies",
                      "teacher", env={**__import__("os").environ,
                                      "DEALLOY_USER_POTENTIALS_DIR": str(tmp_path / "u")})
    assert bad.returncode == 2 and "--reference-energies" in bad.stderr
    assert not (tmp_path / "u").exists()


def test_fit_report_prints_isolated_atoms_beside_the_teachers_and_where_its_data_set_is():
    man = {"kind": "pod", "cutoff_angstrom": 5.0,
           "provenance": {"fit_settings": {"n_coefficients": 130},
                          "reference_energies": {"method": "teacher-atoms"}},
           "validation": {"isolated_atom_ev": {"Li": -0.4701, "Si": -1.3102},
                          "teacher_isolated_atom_ev": {"Li": -0.4700, "Si": -1.3100}}}
    text = "\n".join(_fmt_row("pod-x", man))
    assert "isolated atom: Li -0.470 eV (teacher -0.470), Si -1.310 eV (teacher -1.310)" in text
    assert "reference energies: teacher-atoms" in text
    assert "data set" not in text  # nothing recorded, nothing said
    # where the kept data set is and the command that repeats the fit
    man["provenance"]["shipped_dataset"] = {
        "kept": True, "file": "dataset.extxyz.xz", "configurations": 1083,
        "displaced_from_reference_crystals": 101, "refit": "dealloy potential fit x-refit ..."}
    text = "\n".join(_fmt_row("pod-x", man))
    assert "data set kept: dataset.extxyz.xz (1083 configurations; 101 stored as displacements" in text
    assert "refit: dealloy potential fit x-refit ..." in text
    man["provenance"]["shipped_dataset"] = {"kept": False, "why": "cannot be kept as displacements"}
    assert "data set not kept: cannot be kept" in "\n".join(_fmt_row("pod-x", man))


def _fitpod_reads_table(text: str) -> tuple[dict, bool]:
    """Read a fitpod data file's group_weights table the way fitpod 22 Jul 2025 does: rows of
    three words after ``group_weights table`` until a line that is not one. Returns the table and
    whether the end of the file was reached inside it (fitpod then reads the closed file)."""
    lines = text.splitlines()
    start = lines.index("group_weights table") + 1
    table = {}
    for line in lines[start:]:
        words = line.split("#")[0].split()
        if len(words) != 3:
            return table, False
        table[words[0]] = (float(words[1]), float(words[2]))
    return table, True


def test_group_weights_table_ends_before_the_end_of_the_data_file():
    # fitpod 22 Jul 2025 closes its data file at the end of a group_weights table and reads it
    # again (use-after-free, double fclose: 2 of 3 weighted fits crashed); the table must end on
    # a line of its own before the end of the file, and every family keep its weights
    p = {**students.POD_DEFAULTS, "fitting_weight_energy": 100.0, "fitting_weight_force": 1.0}
    text = students.pod_data_text(p, [("crystal", 1000, 1), ("liquid", 100.0, 1.0)])
    table, runs_to_eof = _fitpod_reads_table(text)
    assert not runs_to_eof
    assert table == {"crystal": (1000.0, 1.0), "liquid": (100.0, 1.0)}
    assert "group_weights" not in students.pod_data_text(p, None)


def test_family_weighted_pod_fit_succeeds_first_time_and_is_deterministic(tmp_path, monkeypatch):
    # Each fit gets ONE fitpod run (no retry): with the table running to the end of the data file
    # 1 to 2 of 3 runs crashed (4 of 8 on this set), so six in a row passed about 1 time in 60. The weights must
    # reach fitpod (other coefficients than the unweighted fit), the same input give the same
    # coefficients, and fitpod's own training errors come back with weights too.
    monkeypatch.setattr(students, "FITPOD_TRIES", 1)
    train = meam_labelled(n_per_base=3, seed=2)
    for a in train:
        a.info["family"] = "crystal" if "Si" in a.get_chemical_symbols() else "lithium"
    weighted = {**SMALL_POD, "family_weights": {"crystal": [1000, 1]}}
    coefficients = []
    for k in range(6):
        files, used, errors = students.fit_pod(train, tmp_path / f"w{k}", "x", settings=weighted)
        coefficients.append(files[1].read_text())
        assert set(errors) == {"energy_mae_ev_per_atom", "energy_rmse_ev_per_atom",
                               "force_mae_ev_per_angstrom", "force_rmse_ev_per_angstrom"}
        assert all(np.isfinite(v) for v in errors.values())
    assert all(c == coefficients[0] for c in coefficients)
    plain = students.fit_pod(train, tmp_path / "plain", "x", settings=SMALL_POD)[0][1].read_text()
    assert plain != coefficients[0]


def test_existing_name_needs_force(tmp_path, meam_set, user_pots):
    fit_potential("dup", data=meam_set, students=("pod",), validate=False, teacher=MEAM_TEACHER)
    before = (user_pots / "pod-dup" / "pod-dup.coeff.pod").read_bytes()
    with pytest.raises(ConfigError, match="--force"):
        fit_potential("dup", data=meam_set, students=("pod",), validate=False, teacher=MEAM_TEACHER)
    assert (user_pots / "pod-dup" / "pod-dup.coeff.pod").read_bytes() == before  # untouched
    fit_potential("dup", data=meam_set, students=("pod",), validate=False, force=True,
                  settings={"pod": {"rcut": 4.5}}, teacher=MEAM_TEACHER)
    assert fitted_potential(user_pots / "pod-dup").cutoff_angstrom == 4.5


@pytest.mark.slow
def test_labels_are_cached_and_a_rerun_resumes(tmp_path, user_pots):
    calls = []

    def counting_teacher():
        calc = lj_teacher()
        real = calc.calculate

        def calculate(*a, **k):
            calls.append(1)
            return real(*a, **k)

        calc.calculate = calculate
        return calc

    spec = DataSpec.preset("tiny", surfaces=False, fragments=False, delithiated=False,
                           shortrange=False)
    work = tmp_path / "work"
    msgs = []
    fit_potential("lj", teacher=counting_teacher, spec=spec, students=("pod",), work_dir=work,
                  validate=False, progress=msgs.append)
    first = len(calls)
    n_labels = len([p for p in (work / "labels").rglob("*.json") if p.name != "isolated-atoms.json"])
    assert len(list((work / "labels").rglob("isolated-atoms.json"))) == 1  # the reference energies
    assert n_labels > 10 and first >= n_labels
    meta = json.loads((work / "dataset.extxyz.json").read_text())
    assert meta["configurations"] == n_labels
    assert meta["teacher"]["teacher"] == "counting_teacher"
    assert set(meta["families"]) == {"crystal", "liquid", "amorphous"}
    assert all(v["test"] >= 1 for v in meta["families"].values())
    calls.clear()
    msgs.clear()
    fit_potential("lj", teacher=counting_teacher, spec=spec, students=("pod",), work_dir=work,
                  validate=False, force=True, progress=msgs.append)
    assert len(calls) <= 1  # only the teacher's load probe: every label came from the cache
    assert any(f"{n_labels} cached, 0 computed" in m for m in msgs), msgs


@pytest.mark.slow
def test_cli_refuses_overwrite_and_reports_one_line(tmp_path, meam_set, dealloy_cli):
    env = {**__import__("os").environ, "DEALLOY_USER_POTENTIALS_DIR": str(tmp_path / "u")}
    ok = dealloy_cli("potential", "fit", "c", "--data", meam_set, "--student", "pod",
                     "--teacher", MEAM_TEACHER, "--no-validate", env=env)
    assert ok.returncode == 0, ok.stderr
    assert "pod-c" in ok.stdout
    again = dealloy_cli("potential", "fit", "c", "--data", meam_set, "--student", "pod",
                        "--no-validate", env=env)
    assert again.returncode == 2
    assert again.stderr.strip().count("\n") == 0 and "--force" in again.stderr


# ---- with the [fit] extra: a real teacher, end to end --------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(not HAS_SEVENN, reason="needs the [fit] extra (pip install -e '.[fit]'): "
                                           "sevenn, the SevenNet-0 teacher, is not installed")
def test_tiny_sevenn_fit_end_to_end(tmp_path, user_pots):
    res = fit_potential("tiny7", teacher="sevenn", spec=DataSpec.preset("tiny"),
                        students=("pod", "snap"), work_dir=tmp_path / "work")
    meta = json.loads((tmp_path / "work" / "dataset.extxyz.json").read_text())
    assert meta["teacher"]["teacher"] == "sevenn" and meta["teacher"]["model"] == "7net-0"
    assert 20 <= meta["configurations"] <= 150
    assert meta["families"]["shortrange"]["configurations"] >= 24
    for name, man in res["potentials"].items():
        v = man["validation"]
        assert v["test_errors_by_family"]["all"]["configurations"] >= 5
        assert set(v["test_errors_by_family"]) >= {"crystal", "liquid", "amorphous", "all"}
        pot = get_potential(name)
        e, f = single_point(li15si4_unit_cell(10.6), pot)
        assert np.isfinite(e) and np.all(np.isfinite(f))
    # POD from ~40 labels is already a bound, stable crystal (measured: E_f -0.260 eV/atom,
    # a = 10.47 A, hull rms 24 meV/atom; with the default reference energies teacher-atoms, on
    # one tiny set: E_f -0.375, a = 10.39 A, hull rms 152 meV/atom, where reference energies none
    # gave -0.301, 10.46 A, 73 meV/atom -- the many-body terms carry the whole cohesive energy,
    # docs/fitting.md); the linear SNAP of the same data is not yet (its crystal checks may
    # fail -- recorded as validation.crystal_error, as here, not raised)
    v = res["potentials"]["pod-tiny7"]["validation"]
    assert "crystal_error" not in v, v.get("crystal_error")
    # the default reference energies: the student's isolated atoms are SevenNet-0's (Li -0.47 eV)
    assert v["isolated_atom_ev"] == pytest.approx(v["teacher_isolated_atom_ev"], abs=1e-3)
    assert v["teacher_isolated_atom_ev"]["Li"] == pytest.approx(-0.47, abs=0.01)
    assert -0.6 < v["li15si4_formation_ev_per_atom"] < -0.1
    assert 10.0 < v["li15si4_a_angstrom"] < 11.2
    assert v["crystal_hull"]["formation_rmse_vs_pbe_ev_per_atom"] < 0.25
    with LammpsSession(li15si4_unit_cell(10.6), get_potential("pod-tiny7")) as s:
        s.create_velocities(300.0, 1)
        s.md(0.1, 300.0, ensemble="nvt")
        assert s.natoms == 76 and np.isfinite(s.potential_energy_ev())


# ---- the shipped fitted potentials (base install; numbers pinned) -----------------------------
#: every fitted potential shipped in potentials/ (each must meet the pinned facts below)
SHIPPED_FITTED = ("pod-lisi-7net", "pod-lisi-7net-eap", "pod-lisi-7net-asi3")


@pytest.mark.parametrize("name", SHIPPED_FITTED)
def test_shipped_fitted_potential_numbers_are_pinned(name):
    from dealloy.fit.evaluate import li15si4_figures
    from dealloy.lammps.potentials import POTENTIAL_NAMES

    pot = get_potential(name)
    assert name in POTENTIAL_NAMES and pot.kind == "pod"
    man = json.loads((pot.files[0].parent / "potential.json").read_text())
    v = man["validation"]
    got = li15si4_figures(pot)
    # regression: the numbers recorded at fit time (and in potentials/README.md)
    assert got["li15si4_formation_ev_per_atom"] == pytest.approx(v["li15si4_formation_ev_per_atom"], abs=2e-3)
    assert got["li15si4_a_angstrom"] == pytest.approx(v["li15si4_a_angstrom"], abs=5e-3)
    # physics targets it meets (issue 14): E_f within 15 meV/atom of PBE -0.243
    assert abs(got["li15si4_formation_ev_per_atom"] + 0.243) < 0.015
    assert v["crystal_hull"]["formation_rmse_vs_pbe_ev_per_atom"] < 0.025
    # held-out crystal family within the targets (disordered families are not yet)
    crystal = v["test_errors_by_family"]["crystal"]
    assert crystal["energy_rmse_ev_per_atom"] < 0.010 and crystal["force_rmse_ev_per_angstrom"] < 0.15
    # lattice constant within 0.5 % of the teacher's (10.558 A)
    assert abs(got["li15si4_a_angstrom"] / v["teacher_li15si4"]["li15si4_a_angstrom"] - 1) < 0.005
    # no short-range collapse: a random packing of a-Li3.75Si (the amorphous builder's start, no pair
    # closer than 1.9 A) minimises to a sane energy (without the shortrange family: -374 eV/atom)
    from dealloy.builders.amorphous import random_packing, ref_volume_per_si

    start = random_packing(240, 64, 64 * ref_volume_per_si(3.75), np.random.default_rng(1))
    with LammpsSession(start, pot) as s:
        assert -3.2 < s.minimize(ftol_ev_per_angstrom=1e-3, maxiter=2000) / len(start) < -2.4
    # and it runs: 0.2 ps NVT at 600 K of c-Li15Si4, no pair closer than 1.5 A
    with LammpsSession(li15si4_unit_cell(10.47), pot) as s:
        s.create_velocities(600.0, 3)
        s.md(0.2, 600.0, ensemble="nvt")
        a = s.get_atoms(velocities=False)
    d = a.get_all_distances(mic=True)
    assert np.min(d[np.triu_indices(len(a), 1)]) > 1.5
    # fitted relative to the teacher's isolated atoms: LAMMPS gives them back (a potential fitted
    # with --reference-energies none records no teacher values and is not held to them)
    if man["provenance"].get("reference_energies", {}).get("method") == "teacher-atoms":
        from dealloy.potentials.validate import isolated_atom_energy_ev

        for el, e_teacher in v["teacher_isolated_atom_ev"].items():
            assert isolated_atom_energy_ev(el, pot) == pytest.approx(e_teacher, abs=1e-3)


@pytest.mark.parametrize("name", [n for n in SHIPPED_FITTED if json.loads(
    (get_potential(n).files[0].parent / "potential.json").read_text())["provenance"].get(
    "shipped_dataset", {}).get("kept")])
def test_a_shipped_potentials_data_set_reads_back_and_gives_its_recorded_held_out_errors(name):
    # the kept set (crystal-derived configurations restored from ../shared's PBE crystals) is the
    # one the potential was fitted to: same checksum, counts and held-out errors as recorded
    from dealloy.fit.evaluate import errors_by_family

    pot = get_potential(name)
    man = json.loads((pot.files[0].parent / "potential.json").read_text())
    kept = man["provenance"]["shipped_dataset"]
    atoms, meta = read_dataset(pot.files[0].parent / kept["file"])
    assert meta["sha256"] == kept["sha256"] and len(atoms) == kept["configurations"]
    fams = man["provenance"]["dataset"]["families"]
    for fam, row in fams.items():
        assert sum(a.info["family"] == fam for a in atoms) == row["configurations"], fam
    got = errors_by_family(pot, atoms, "test")["all"]
    want = man["validation"]["test_errors_by_family"]["all"]
    assert got["configurations"] == want["configurations"]
    assert got["energy_rmse_ev_per_atom"] == pytest.approx(want["energy_rmse_ev_per_atom"], abs=1e-6)
    assert got["force_rmse_ev_per_angstrom"] == pytest.approx(want["force_rmse_ev_per_angstrom"],
                                                              abs=1e-5)


def test_validate_potential_prints_what_a_fitted_potentials_manifest_records(dealloy_cli):
    # beside the crystal table: the held-out errors by family and the teacher comparisons the
    # manifest records, with issue 14's targets, and where the data set and its refit are
    name = "pod-lisi-7net-asi3"
    man = json.loads((get_potential(name).files[0].parent / "potential.json").read_text())
    out = dealloy_cli("validate-potential", name, "--md-ps", "0.2", "-q", check=True).stdout
    assert "recorded in" in out and "known limitations" in out
    row = man["validation"]["test_errors_by_family"]["all_but_shortrange"]
    assert (f"all_but_shortrange {row['configurations']:>4} "
            f"{1000 * row['energy_rmse_ev_per_atom']:>16.1f} "
            f"{row['force_rmse_ev_per_angstrom']:>12.3f}") in out
    volts = ", ".join(f"{r['student_minus_teacher_v']:+.3f}"
                      for r in man["validation"]["teacher_same_structures"]["voltage"])
    assert f"voltage, student - teacher: {volts} V" in out
    assert "refit: dealloy potential fit" in out and "targets >= 0.3x" in out
    runs = man["validation"]["particle_stability"]["runs"]
    for run in runs:
        assert (f"5 nm particle at {run['temperature_k']:g} K, "
                f"{'stable' if run['stable'] else 'UNSTABLE'}: closest pair "
                f"{run['closest_pair_angstrom']:.2f} A over {run['ps_done']} ps, "
                f"{run['detached_now']} detached, {run['evaporated_li']} Li / "
                f"{run['evaporated_si']} Si evaporated, NVE drift "
                f"{run['drift_mev_per_atom_per_ns']:.3f} meV/atom/ns") in out
    (gone,) = [r["evaporated_atom"] for r in runs if "evaporated_atom" in r]
    teacher = gone["removal_energy_ev_12A_cut"]["SevenNet-0"]
    assert "the atom that left a 1000 K trajectory, removal energy 0.5 ps before, eV: " in out
    assert f"SevenNet-0 {teacher:.3f}" in out
    am = man["validation"]["amorphous_series_32si"]
    assert f"Si-Si CN rms {am['si_si_cn_rms_vs_dftb']:.2f}, isolated-Si rms" in out
    low = man["validation"]["li_diffusivity_with_vacancies"]["low_temperatures"]
    assert ("Li D crystal/glass (3 Li vacancies, low T): "
            + ", ".join(f"{r:.2f} at {float(t):g} K"
                        for t, r in low["c_over_a_ratio_by_temperature"].items())
            + f"; extrapolated to 300 K {low['c_over_a_ratio_at_extrapolation']:.2f} (paper") in out


# ---- data sets of one's own: a TOML spec, and several labelled sets joined ----------------------
def test_spec_file_gives_a_data_set_of_ones_own_and_names_a_bad_key(tmp_path, dealloy_cli):
    good = tmp_path / "asi.toml"
    good.write_text('preset = "tiny"\nxs = [0.0]\nn_si = 8\nseeds = 2\nquench_rates_k_per_s = [1e14]\n'
                    "crystals = false\nsurfaces = false\nfragments = false\ndelithiated = false\n"
                    "shortrange = false\n")
    spec = DataSpec.from_toml(good)
    tiny = DataSpec.preset("tiny")
    assert (spec.xs, spec.n_si, spec.seeds, spec.quench_rates_k_per_s) == ((0.0,), 8, 2, (1e14,))
    assert not spec.crystals and spec.melt_ps == tiny.melt_ps  # the preset is the base
    bad = tmp_path / "bad.toml"
    bad.write_text("nsi = 8\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) nsi; .* n_si"):
        DataSpec.from_toml(bad)
    bad.write_text('n_si = "eight"\n')
    with pytest.raises(ConfigError, match="n_si must be an integer, got 'eight'"):
        DataSpec.from_toml(bad)
    bad.write_text("xs = 0.5\n")
    with pytest.raises(ConfigError, match="xs must be a list of numbers"):
        DataSpec.from_toml(bad)
    out = dealloy_cli("potential", "fit", "x", "--spec", bad, "--student", "pod")
    assert out.returncode != 0 and out.stderr.strip().count("\n") == 0 and "xs must be" in out.stderr


def test_a_spec_without_crystals_makes_only_its_melt_quench_families():
    from dealloy.fit.dataset import make_configurations

    spec = DataSpec.preset("tiny", xs=(0.0,), n_si=8, seeds=2, crystals=False, surfaces=False,
                           fragments=False, delithiated=False, shortrange=False)
    configs = make_configurations(spec)
    families = [a.info["family"] for a in configs]
    # per melt-quench: snapshots_per_stage melt (liquid) + as many quench + the relaxed glass
    n = spec.seeds * len(spec.quench_rates_k_per_s)
    assert families.count("liquid") == n * spec.snapshots_per_stage
    assert families.count("amorphous") == n * (spec.snapshots_per_stage + 1)
    assert len(families) == n * (2 * spec.snapshots_per_stage + 1)
    assert all(set(a.get_chemical_symbols()) == {"Si"} and len(a) == 8 for a in configs)


def test_joined_data_sets_keep_each_configuration_once_and_their_parents(tmp_path, meam_set):
    from dealloy.fit.dataset import merge_datasets

    atoms, _ = read_dataset(meam_set)
    extra = [a.copy() for a in atoms[:4]]  # 4 duplicates of meam_set ...
    for a, b in zip(extra, atoms[:4]):
        a.calc = SinglePointCalculator(a, **b.calc.results)
    more = meam_labelled(n_per_base=2, seed=7)  # ... and 6 new cells
    assign_split(more, 0.2)
    second = tmp_path / "second.extxyz"
    write_dataset(second, extra + more, {"teacher": {"teacher": "meam-godet2020 (test stand-in)"}})
    joined, meta = merge_datasets([meam_set, second])
    assert len(joined) == len(atoms) + len(more)
    assert len({a.info["config_id"] for a in joined}) == len(joined)
    assert [p["kept"] for p in meta["merged_from"]] == [len(atoms), len(more)]
    assert meta["merged_from"][1]["sha256"] == json.loads(second.with_suffix(".extxyz.json").read_text())["sha256"]
    # one fit must not mix two teachers' labels
    other = [a.copy() for a in more]
    for a, b in zip(other, more):
        a.calc = SinglePointCalculator(a, **b.calc.results)
        a.info["teacher"] = "sevenn/7net-0@0.13.0"
    for a in atoms:
        a.info["teacher"] = "chgnet/0.3.0@0.4.2"
    third, fourth = tmp_path / "third.extxyz", tmp_path / "fourth.extxyz"
    write_dataset(third, other, {})
    write_dataset(fourth, atoms, {})
    with pytest.raises(ConfigError, match="labelled by different teachers"):
        merge_datasets([third, fourth])


def test_fit_to_two_data_sets_writes_the_joined_set_with_its_parents(tmp_path, meam_set, user_pots,
                                                                     dealloy_cli):
    more = meam_labelled(n_per_base=2, seed=11)
    assign_split(more, 0.2)
    second = tmp_path / "second.extxyz"
    write_dataset(second, more, {"teacher": {"teacher": "meam-godet2020 (test stand-in)"}})
    res = fit_potential("two", data=[meam_set, second], students=("pod",), out_dir=tmp_path / "pots",
                        work_dir=tmp_path / "work", validate=False, reference_energies="none",
                        settings={"pod": SMALL_POD})
    joined = tmp_path / "work" / "dataset.extxyz"
    doc = json.loads(joined.with_suffix(".extxyz.json").read_text())
    assert doc["configurations"] == len(read_dataset(meam_set)[0]) + len(more)
    assert [p["file"] for p in doc["merged_from"]] == [str(meam_set), str(second)]
    prov = res["potentials"]["pod-two"]["provenance"]["dataset"]
    assert prov["sha256"] == doc["sha256"] and prov["source"] == str(joined)
    # the command line: --data twice works; --data with --preset is one line, before any work
    bad = dealloy_cli("potential", "fit", "x", "--data", meam_set, "--preset", "tiny",
                      env={**__import__("os").environ, "DEALLOY_USER_POTENTIALS_DIR": str(user_pots)})
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "--data" in bad.stderr


def test_a_fitted_potential_keeps_its_data_set_and_its_refit_command_repeats_the_fit(
        tmp_path, meam_set, user_pots, dealloy_cli):
    # the folder alone repeats the fit: the labelled set (splits included) is kept compressed
    # beside the coefficients, and the manifest's refit command gives the same coefficients
    settings = {**SMALL_POD, "family_weights": {"crystal": [100, 1]}}
    res = fit_potential("kept", data=meam_set, students=("pod",), validate=False,
                        settings={"pod": settings}, teacher=MEAM_TEACHER,
                        reference_energies="none", work_dir=tmp_path / "work")
    folder = user_pots / "pod-kept"
    kept = res["potentials"]["pod-kept"]["provenance"]["shipped_dataset"]
    assert kept["kept"] is True and kept["file"] == "dataset.extxyz.xz"
    path = folder / kept["file"]
    assert path.read_bytes()[:6] == b"\xfd7zXZ\x00"  # xz, not plain text
    original, _ = read_dataset(meam_set)
    copy, meta = read_dataset(path)  # checksum verified against its .json
    assert meta["sha256"] == kept["sha256"] and meta["copy_of"]["source"] == str(meam_set)
    # the same configurations, labels and splits
    assert [(a.info["config_id"], a.info["split"]) for a in copy] == \
        [(a.info["config_id"], a.info["split"]) for a in original]
    assert np.allclose(np.concatenate([a.get_forces() for a in copy]),
                       np.concatenate([a.get_forces() for a in original]))
    # same text as a plain write of the same set: the compressed copy is the set, not a variant
    plain = write_dataset(tmp_path / "plain.extxyz", copy, {})
    assert plain["content_sha256"] == kept["content_sha256"] == plain["sha256"]
    # and the same bytes when written again (xz stores no time stamp)
    again = write_dataset(tmp_path / "again.extxyz.xz", copy, {})
    assert again["sha256"] == kept["sha256"]
    refit = shlex.split(kept["refit"])
    assert refit[:4] == ["dealloy", "potential", "fit", "kept-refit"]
    run = dealloy_cli(*refit[1:], "--no-validate", "-q",
                      env={**os.environ, "DEALLOY_USER_POTENTIALS_DIR": str(user_pots)})
    assert run.returncode == 0, run.stderr
    assert (user_pots / "pod-kept-refit" / "pod-kept-refit.coeff.pod").read_text() == \
        (folder / "pod-kept.coeff.pod").read_text()
    # a .gz data set is refused before anything is written (its checksum would not repeat)
    with pytest.raises(ConfigError, match=r"\.xz"):
        write_dataset(tmp_path / "x.extxyz.gz", copy, {})
    assert not (tmp_path / "x.extxyz.gz").exists()


def _fit_into_project(root, data, monkeypatch):
    """Fit pod-inproject to ``data`` into ``root/potentials``, made the project's potentials/."""
    import dealloy.fit.workflow as wf

    project = root / "potentials"  # the repository's potentials/, with root its root
    project.mkdir()
    monkeypatch.setattr(wf, "potentials_dir", lambda: project)
    res = fit_potential("inproject", data=data, students=("pod",), validate=False,
                        settings={"pod": SMALL_POD}, teacher=MEAM_TEACHER,
                        reference_energies="none", out_dir=project, work_dir=root / "work")
    return project, res["potentials"]["pod-inproject"]["provenance"]["shipped_dataset"]


def test_a_fit_into_the_project_keeps_no_set_it_cannot_store_apart_from_the_crystals(
        tmp_path, meam_set, user_pots, monkeypatch):
    # meam_set's crystals name no PBE reference crystal in their source, so they cannot be stored
    # as displacements from one: a fit into the project's potentials/ keeps no set at all
    import dealloy.fit.workflow as wf
    from ase import Atoms

    project, kept = _fit_into_project(tmp_path, meam_set, monkeypatch)
    assert kept["kept"] is False and "pbe-crystals" in kept["why"]
    assert "names no PBE reference crystal" in kept["why"]
    assert kept["source"] == str(meam_set)
    assert not list((project / "pod-inproject").glob("dataset*"))
    made = wf.made_from_reference_crystal
    assert made(Atoms("Si", info={"family": "shortrange",
                                  "source": "Li15Si4 compressed x0.9, rattled 0.1 A"}))
    assert made(Atoms("Si", info={"family": "crystal", "source": "Si as given"}))
    assert not made(Atoms("Si", info={"family": "shortrange",
                                      "source": "random packing x=2 dmin=1.5 A"}))
    assert not made(Atoms("Si", info={"family": "amorphous", "source": "LiSi x=1 relaxed"}))


@pytest.fixture(scope="module")
def pbe_crystal_set():
    """The tiny preset's crystal family and compressed crystals, made from the PBE reference
    crystals and labelled by meam-godet2020 single points."""
    from dealloy.fit.dataset import crystal_configs, default_crystals_dir, shortrange_configs

    if default_crystals_dir() is None:
        pytest.fail("../shared/reference/pbe-crystals is missing beside the checkout")
    spec = DataSpec.preset("tiny")
    configs = crystal_configs(spec, np.random.default_rng(3))
    configs += [a for a in shortrange_configs(spec) if "compressed" in a.info["source"]]
    pot = get_potential("meam-godet2020")
    for a in configs:
        e, f = single_point(a, pot)
        a.calc = SinglePointCalculator(a, energy=e, forces=f, stress=np.zeros(6))
    assign_split(configs, 0.2)
    return configs


def test_a_fit_into_the_project_keeps_its_crystals_as_displacements_and_refits_from_them(
        tmp_path, pbe_crystal_set, user_pots, monkeypatch, dealloy_cli):
    # ../shared/reference/pbe-crystals/README.md: the crystals are not to be copied into the
    # project. A potential fitted into the project's potentials/ keeps its set with every
    # configuration made from them stored as displacements; reading it needs the crystals.
    import lzma

    from dealloy.fit.dataset import default_crystals_dir

    crystals_dir = default_crystals_dir()
    # each configuration names, when it is made, the PBE crystal it was made from
    names = {a.info["source"].split()[0] + ".xyz" for a in pbe_crystal_set}
    assert {a.info["made_from_crystal"] for a in pbe_crystal_set} == names
    assert names <= {f.name for f in crystals_dir.glob("*.xyz")}
    data = tmp_path / "crystals.extxyz"
    write_dataset(data, pbe_crystal_set, {"teacher": {"teacher": "meam-godet2020 (test stand-in)"}})
    project, kept = _fit_into_project(tmp_path, data, monkeypatch)
    n = len(pbe_crystal_set)
    assert kept["kept"] is True and kept["displaced_from_reference_crystals"] == n
    path = project / "pod-inproject" / kept["file"]
    # no line of any crystal's positions is in the file, and no PBE energy either
    text = lzma.open(path, "rt").read()
    for f in sorted(crystals_dir.glob("*.xyz")):
        c = ase.io.read(f)
        rows = ["%16.8f%16.8f%16.8f" % tuple(p) for p in c.positions if np.abs(p).max() > 1e-6]
        assert rows and not any(r in text for r in rows), f.name
        assert repr(c.get_potential_energy()) not in text
    # read back: the same configurations (positions within 1e-12 A), labels and splits
    copy, meta = read_dataset(path)
    assert meta["reference_crystal_displacements"]["configurations"] == n
    assert len(copy) == n
    for a, b in zip(read_dataset(data)[0], copy):  # the set as fitted (8 decimals in extxyz)
        assert b.get_chemical_symbols() == a.get_chemical_symbols()
        assert np.abs(b.positions - a.positions).max() < 1e-12
        assert np.abs(b.cell.array - a.cell.array).max() < 1e-12
        assert b.get_potential_energy() == pytest.approx(a.get_potential_energy(), abs=1e-8)
        assert (b.info["config_id"], b.info["split"]) == (a.info["config_id"], a.info["split"])
    # the refit command, run from the repository's root, repeats the fit from the project's
    # folder (and the crystals)
    refit = shlex.split(kept["refit"])
    assert "potentials/pod-inproject/dataset.extxyz.xz" in refit
    run = dealloy_cli(*refit[1:], "--no-validate", "-q", cwd=tmp_path,
                      env={**os.environ, "DEALLOY_USER_POTENTIALS_DIR": str(user_pots)})
    assert run.returncode == 0, run.stderr
    assert (user_pots / "pod-inproject-refit" / "pod-inproject-refit.coeff.pod").read_text() == \
        (project / "pod-inproject" / "pod-inproject.coeff.pod").read_text()
    # without the crystals, or with other ones: one line naming the fix
    monkeypatch.setenv("DEALLOY_PBE_CRYSTALS", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match=r"DEALLOY_PBE_CRYSTALS") as err:
        read_dataset(path)
    assert "\n" not in str(err.value)
    other = tmp_path / "other-crystals"
    shutil.copytree(crystals_dir, other)
    lines = (other / "Si.xyz").read_text().splitlines()
    parts = lines[2].split()
    lines[2] = " ".join([parts[0], repr(float(parts[1]) + 0.01)] + parts[2:])
    (other / "Si.xyz").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("DEALLOY_PBE_CRYSTALS", str(other))
    with pytest.raises(ConfigError, match=r"Si\.xyz .* differ"):
        read_dataset(path)


def test_held_out_errors_give_a_row_without_the_shortrange_family(meam_set):
    from dealloy.fit.evaluate import errors_by_family

    atoms, _ = read_dataset(meam_set)
    for a in atoms[:4]:
        a.info["family"] = "shortrange"
    for a in atoms:  # a labelled offset so that the rows differ: 0.1 eV/atom on shortrange only
        off = 0.1 * len(a) if a.info["family"] == "shortrange" else 0.0
        a.calc = SinglePointCalculator(a, energy=a.get_potential_energy() + off,
                                       forces=a.get_forces())
    rows = errors_by_family(get_potential("meam-godet2020"), atoms, split=None)
    assert rows["all_but_shortrange"]["configurations"] == len(atoms) - 4
    assert rows["all_but_shortrange"]["energy_rmse_ev_per_atom"] < 1e-6
    assert rows["shortrange"]["energy_rmse_ev_per_atom"] == pytest.approx(0.1, abs=1e-6)
    assert rows["all"]["energy_rmse_ev_per_atom"] == pytest.approx(0.1 * (4 / len(atoms)) ** 0.5,
                                                                   abs=1e-6)
    # without shortrange there is no extra row (it would repeat "all")
    rest = [a for a in atoms if a.info["family"] != "shortrange"]
    assert "all_but_shortrange" not in errors_by_family(get_potential("meam-godet2020"), rest, None)


def test_the_shipped_data_set_specs_load_and_name_what_they_need():
    # potentials/specs/: the supplements of the a-Si experiment (potentials/README.md); the
    # student-made one needs its structure potential (fit A), which is not shipped
    from pathlib import Path

    specs = Path(__file__).resolve().parents[1] / "potentials" / "specs"
    meam = DataSpec.from_toml(specs / "asi64-meam.toml")
    meam.check()
    assert (tuple(meam.xs), meam.n_si, meam.crystals) == ((0.0, 0.5), 64, False)
    student = DataSpec.from_toml(specs / "asi64-student.toml")
    assert student.structure_potential == "pod-e0a"
    with pytest.raises(ConfigError, match="pod-e0a"):
        student.check()

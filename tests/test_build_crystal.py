"""Crystalline builders (issue 3): c-Li15Si4 cell, Si and c-Li15Si4 particles, the build CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.spatial import cKDTree

from dealloy.builders import BUILDERS, li15si4_cell, li15si4_particle, si_particle
from dealloy.errors import ConfigError

SI_A, LS_A = 5.431, 10.685
MIN_D = {("Li", "Li"): 2.0, ("Li", "Si"): 2.0, ("Si", "Si"): 2.1}


def min_pair_distances(atoms, cutoff=3.0) -> dict:
    """Shortest Li-Li, Li-Si, Si-Si distance (minimum image for periodic cells; inf if none
    within ``cutoff``)."""
    from ase.neighborlist import neighbor_list

    i, j, d = neighbor_list("ijd", atoms, cutoff)
    s = np.array(atoms.get_chemical_symbols())
    out = {}
    for a, b in MIN_D:
        m = ((s[i] == a) & (s[j] == b)) | ((s[i] == b) & (s[j] == a))
        out[(a, b)] = float(d[m].min()) if m.any() else math.inf
    return out


def assert_no_close_pairs(atoms):
    dmin = min_pair_distances(atoms)
    for pair, limit in MIN_D.items():
        assert dmin[pair] >= limit, f"{pair} pair at {dmin[pair]:.3f} Å < {limit} Å"


def assert_isolated_particle(atoms, diameter_nm, a):
    assert not atoms.pbc.any()
    cell = atoms.cell.array
    assert np.allclose(cell, np.diag(np.diag(cell))), "box must be orthogonal"
    lo, hi = atoms.positions.min(0), atoms.positions.max(0)
    assert np.all(lo >= 15.0 - 1e-9) and np.all(np.diag(cell) - hi >= 15.0 - 1e-9), \
        f"vacuum < 1.5 nm: lo {lo}, hi gap {np.diag(cell) - hi}"
    centre = (lo + hi) / 2
    assert np.allclose(centre, np.diag(cell) / 2, atol=1e-6)
    for key in ("diameter_max_nm", "diameter_gyration_nm"):
        assert abs(atoms.info[key] - diameter_nm) <= a / 10, \
            f"{key} {atoms.info[key]:.3f} nm vs requested {diameter_nm} (tolerance a = {a / 10} nm)"


def assert_provenance(atoms, name):
    from dealloy import __version__

    assert atoms.info["builder"] == name
    assert atoms.info["dealloy_version"] == __version__
    assert isinstance(atoms.info["seed"], int)
    json.dumps(atoms.info)  # JSON-serialisable
    args = json.loads(atoms.info["builder_args"])
    assert isinstance(args, dict)
    return args


def same_structure(a, b) -> bool:
    return (a.get_chemical_symbols() == b.get_chemical_symbols()
            and np.array_equal(a.positions, b.positions) and np.array_equal(a.cell, b.cell)
            and np.array_equal(a.arrays.get("grain"), b.arrays.get("grain")))


# ---- c-Li15Si4 cell ---------------------------------------------------------------------------
def test_li15si4_cell_space_group_and_isolated_si():
    import spglib

    atoms = li15si4_cell()
    assert atoms.get_chemical_formula() == "Li60Si16"
    assert atoms.pbc.all()
    cell = (atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers)
    assert spglib.get_symmetry_dataset(cell, symprec=1e-3).number == 220
    d = min_pair_distances(atoms, cutoff=5.0)
    assert d[("Si", "Si")] == pytest.approx(4.53, abs=0.01)
    assert d[("Li", "Si")] == pytest.approx(2.64, abs=0.01)
    assert d[("Li", "Li")] == pytest.approx(2.68, abs=0.01)
    assert_no_close_pairs(atoms)
    # isolated Si: every neighbour of every Si within 3.2 Å is Li
    from ase.neighborlist import neighbor_list

    s = np.array(atoms.get_chemical_symbols())
    i, j = neighbor_list("ij", atoms, 3.2)
    assert not np.any((s[i] == "Si") & (s[j] == "Si"))
    assert np.all(np.bincount(i[s[i] == "Si"], minlength=76)[s == "Si"] > 0)
    assert_provenance(atoms, "li15si4_cell")
    assert (atoms.arrays["grain"] == 0).all()


def test_li15si4_cell_scales_with_a():
    atoms = li15si4_cell(a=11.0)
    assert atoms.cell.lengths() == pytest.approx([11.0] * 3)
    assert min_pair_distances(atoms, 5.0)[("Si", "Si")] == pytest.approx(4.53 * 11.0 / 10.685, abs=0.01)


# ---- Si particles -----------------------------------------------------------------------------
def test_si_particle_sc():
    atoms = si_particle(3.0, seed=1)
    assert set(atoms.get_chemical_symbols()) == {"Si"}
    assert_isolated_particle(atoms, 3.0, SI_A)
    assert_no_close_pairs(atoms)
    assert (atoms.arrays["grain"] == 0).all() and atoms.info["n_grains"] == 1
    args = assert_provenance(atoms, "si_particle")
    assert args["diameter_nm"] == 3.0 and args["crystallinity"] == "sc" and args["seed"] == 1
    # crystalline: interior atoms are 4-coordinated at the diamond bond length
    pos = atoms.positions
    r = np.linalg.norm(pos - pos.mean(0), axis=1)
    tree = cKDTree(pos)
    cn = np.array([len(n) - 1 for n in tree.query_ball_point(pos[r < 8], 2.6)])
    assert (cn == 4).all()
    d, _ = tree.query(pos, k=2)
    assert d[:, 1].min() == pytest.approx(SI_A * math.sqrt(3) / 4, abs=1e-6)
    # density of a diamond crystal: 8 atoms per a^3 (number inside 1 nm of the centre)
    n_in = int((r < 10.0).sum())
    assert abs(n_in - 8 / SI_A ** 3 * 4 / 3 * math.pi * 1000) < 0.15 * n_in


def test_si_particle_orientation_direction_along_z():
    atoms = si_particle(2.5, orientation=[1, 1, 1], seed=0)
    rot = np.array(atoms.info["orientation_matrix"]).reshape(3, 3)
    v = rot @ (np.ones(3) / math.sqrt(3))
    assert v == pytest.approx([0, 0, 1], abs=1e-9)


@pytest.mark.parametrize("u", [[1, 2, 3], [0, 0, 1], [0, 0, -2], [1, 0, 0], [-1, -1, -1],
                               [1e-9, 0, -1]])
def test_rotation_taking_is_the_minimal_proper_rotation(u):
    """R u ∥ v, R proper, and R turns by the angle between u and v (the shortest arc): the
    contract the orientation option relies on, antiparallel directions included."""
    from dealloy.build._common import rotation_taking

    u = np.asarray(u, float)
    v = np.array([0.0, 0.0, 1.0])
    rot = rotation_taking(u, v)
    assert rot @ (u / np.linalg.norm(u)) == pytest.approx(v, abs=1e-9)
    assert rot @ rot.T == pytest.approx(np.eye(3), abs=1e-12)
    assert np.linalg.det(rot) == pytest.approx(1.0)
    angle = math.acos(np.clip((np.trace(rot) - 1) / 2, -1, 1))
    assert angle == pytest.approx(math.acos(np.clip(u @ v / np.linalg.norm(u), -1, 1)), abs=1e-6)


def test_si_particle_pc_grains():
    target = 2.0
    atoms = si_particle(4.0, crystallinity="pc", grain_size_nm=target, seed=3)
    assert_isolated_particle(atoms, 4.0, SI_A)
    assert_no_close_pairs(atoms)
    grains = atoms.arrays["grain"]
    assert atoms.info["n_grains"] == len(np.unique(grains)) >= 2
    mean = atoms.info["mean_grain_size_nm"]
    assert abs(mean - target) <= 0.25 * target, f"mean grain size {mean:.2f} nm vs target {target}"
    assert atoms.info["n_removed_at_boundaries"] > 0


def test_si_particle_twins_are_coherent():
    atoms = si_particle(4.0, twin_spacing_nm=0.95, orientation="identity", seed=0)
    assert atoms.info["n_twin_boundaries"] >= 3
    assert atoms.info["n_removed_at_boundaries"] == 0  # coherent twins: no overlapping atoms
    assert_no_close_pairs(atoms)
    pos = atoms.positions
    r = np.linalg.norm(pos - pos.mean(0), axis=1)
    tree = cKDTree(pos)
    interior = pos[r < 12]
    assert {len(n) - 1 for n in tree.query_ball_point(interior, 2.6)} == {4}
    # twin boundaries change the 3rd-neighbour shell: some interior atoms have a neighbour at
    # ~3.9 Å that a perfect diamond crystal lacks (16 within 4.0 Å in diamond)
    n2 = np.array([len(n) - 1 for n in tree.query_ball_point(interior, 4.0)])
    assert (n2 == 16).any() and (n2 == 17).any()


def test_si_particle_lattice_constant_from_potential():
    atoms = si_particle(2.0, potential="meam-cui2012", orientation="identity")
    a = atoms.info["lattice_constant"]
    assert a == pytest.approx(5.422, abs=0.01), f"meam-cui2012 diamond a = {a} (Si alat 5.422)"
    d, _ = cKDTree(atoms.positions).query(atoms.positions, k=2)
    assert d[:, 1].min() == pytest.approx(a * math.sqrt(3) / 4, abs=1e-6)


# ---- c-Li15Si4 particles ---------------------------------------------------------------------
@pytest.mark.parametrize("grain_size_nm", [None, 2.5])
def test_li15si4_particle(grain_size_nm):
    d = 5.0
    atoms = li15si4_particle(d, grain_size_nm=grain_size_nm, seed=2)
    sym = np.array(atoms.get_chemical_symbols())
    n_si, n_li = int((sym == "Si").sum()), int((sym == "Li").sum())
    assert abs(n_li / n_si - 3.75) <= 0.01 * 3.75, f"Li/Si = {n_li / n_si:.4f}, want 3.75 +- 1 %"
    assert atoms.info["li_si_ratio"] == pytest.approx(n_li / n_si)
    assert_isolated_particle(atoms, d, LS_A)
    assert_no_close_pairs(atoms)
    assert_provenance(atoms, "li15si4_particle")
    grains = atoms.arrays["grain"]
    assert atoms.info["n_grains"] == len(np.unique(grains))
    if grain_size_nm is None:
        assert (grains == 0).all()
        # single crystal: Si stay isolated (no Si-Si within 3.2 Å)
        si = atoms.positions[sym == "Si"]
        assert len(cKDTree(si).query_pairs(3.2)) == 0
    else:
        assert atoms.info["n_grains"] >= 2
        mean = atoms.info["mean_grain_size_nm"]
        assert abs(mean - grain_size_nm) <= 0.25 * grain_size_nm, \
            f"mean grain size {mean:.2f} nm vs target {grain_size_nm}"


# ---- determinism, registry, provenance ------------------------------------------------------
@pytest.mark.parametrize("name, kwargs", [
    ("si_particle", dict(diameter_nm=3.0, crystallinity="pc", grain_size_nm=1.5,
                         twin_spacing_nm=0.7)),
    ("li15si4_particle", dict(diameter_nm=4.0, grain_size_nm=2.2)),
])
def test_same_seed_identical_and_rebuild_from_info(name, kwargs):
    fn = BUILDERS[name]
    a = fn(seed=5, **kwargs)
    b = fn(seed=5, **kwargs)
    c = fn(seed=6, **kwargs)
    assert same_structure(a, b)
    assert not same_structure(a, c)
    again = BUILDERS[a.info["builder"]](**json.loads(a.info["builder_args"]))
    assert same_structure(a, again)


def test_builders_registry():
    """Every exported builder is reachable by its own name (hyphenated too), every study state
    names a registered builder, and an unknown name is a ConfigError listing the choices."""
    import dealloy.builders as build
    from dealloy.builders import get_builder
    from dealloy.study.axes import STATES

    exported = {n for n in build.__all__ if callable(getattr(build, n)) and n != "get_builder"}
    assert exported == set(BUILDERS), "exported builders and the registry differ"
    for name, fn in BUILDERS.items():
        assert fn is getattr(build, name)
        assert get_builder(name.replace("_", "-")) is fn
    assert {s.builder for s in STATES.values()} <= set(BUILDERS)
    with pytest.raises(ConfigError, match="choose one of: .*li15si4_cell"):
        get_builder("li15si4-slab")


# ---- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize("fn, kwargs, words", [
    (si_particle, dict(diameter_nm=0), ["diameter_nm", "> 0"]),
    (si_particle, dict(diameter_nm=-2), ["diameter_nm", "> 0"]),
    (si_particle, dict(diameter_nm=0.5), ["diameter_nm", ">="]),
    (si_particle, dict(diameter_nm=3, crystallinity="amorphous"), ["crystallinity", "sc", "pc"]),
    (si_particle, dict(diameter_nm=3, crystallinity="pc", grain_size_nm=4), ["grain_size_nm", "<="]),
    (si_particle, dict(diameter_nm=3, crystallinity="pc", grain_size_nm=0), ["grain_size_nm", "> 0"]),
    (si_particle, dict(diameter_nm=3, grain_size_nm=1.5), ["grain_size_nm", "pc"]),
    (si_particle, dict(diameter_nm=3, twin_spacing_nm=0.1), ["twin_spacing_nm", ">="]),
    (si_particle, dict(diameter_nm=3, orientation=[0, 0, 0]), ["orientation"]),
    (si_particle, dict(diameter_nm=3, vacuum_nm=1.0), ["vacuum_nm", "1.5"]),
    (si_particle, dict(diameter_nm=3, seed=-1), ["seed"]),
    (li15si4_particle, dict(diameter_nm=1.0), ["diameter_nm", ">="]),
    (li15si4_particle, dict(diameter_nm=3, grain_size_nm=5), ["grain_size_nm", "<="]),
    (li15si4_particle, dict(diameter_nm="big"), ["diameter_nm", "number"]),
    (li15si4_cell, dict(a=-1), ["a", "> 0"]),
])
def test_bad_input_is_a_clear_config_error(fn, kwargs, words):
    with pytest.raises(ConfigError) as exc:
        fn(**kwargs)
    for w in words:
        assert w in str(exc.value), f"{w!r} not in message: {exc.value}"


# ---- command line ------------------------------------------------------------------------------
def run_cli(args, capsys):
    from dealloy.cli import main

    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out + out.err


def run_cli_ok(args, capsys):
    from dealloy.cli import main

    main(args)
    return capsys.readouterr().out


@pytest.mark.parametrize("suffix", [".xyz", ".data"])
def test_cli_writes_files_that_ase_and_ovito_read(tmp_path, capsys, suffix):
    from ovito.io import import_file

    from dealloy.io import read_structure

    out = tmp_path / f"p{suffix}"
    msg = run_cli_ok(["build", "li15si4-particle", "-d", "3", "--grain-size-nm", "2.2",
                      "--seed", "4", "-o", str(out)], capsys)
    assert "li15si4_particle" in msg and out.is_file()
    ref = li15si4_particle(3.0, grain_size_nm=2.2, seed=4)
    back = read_structure(out)
    assert back.get_chemical_symbols() == ref.get_chemical_symbols()
    assert np.allclose(back.positions, ref.positions, atol=1e-5)
    if suffix == ".xyz":
        assert back.info["builder"] == "li15si4_particle"
        assert json.loads(back.info["builder_args"])["seed"] == 4
        assert np.array_equal(back.arrays["grain"], ref.arrays["grain"])
    data = import_file(str(out)).compute()
    assert data.particles.count == len(ref)
    types = data.particles.particle_types
    names = [types.type_by_id(int(t)).name for t in np.asarray(types)]
    assert names == ref.get_chemical_symbols()
    assert np.allclose(np.asarray(data.particles.positions), ref.positions, atol=1e-5)


def test_cli_cell_any_ase_format(tmp_path, capsys):
    from ase.io import read

    out = tmp_path / "cell.vasp"
    run_cli_ok(["build", "li15si4_cell", "-o", str(out)], capsys)
    atoms = read(out)
    assert atoms.get_chemical_formula() == "Li60Si16"


@pytest.mark.parametrize("args, words", [
    (["build", "quasicrystal", "-o", "x.xyz"], ["unknown builder", "si_particle",
                                                 "li15si4_particle"]),
    (["build", "si_particle", "-d", "-3", "-o", "x.xyz"], ["diameter_nm", "> 0"]),
    (["build", "si_particle", "-d", "3", "--crystallinity", "xc", "-o", "x.xyz"], ["crystallinity"]),
    (["build", "li15si4_cell", "-d", "3", "-o", "x.xyz"], ["diameter_nm", "accepts"]),
    (["build", "li15si4_cell", "-o", "x.unknownformat"], ["format"]),
])
def test_cli_bad_input(tmp_path, capsys, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    code, text = run_cli(args, capsys)
    assert code == 2
    for w in words:
        assert w in text, f"{w!r} not in: {text}"
    assert "Traceback" not in text
    assert not any(tmp_path.iterdir()), "nothing is written on bad input"

"""Inputs from real user situations (issue 16 part 1): the cases in ../shared/cases and other
inputs of the same kinds built here.

Each case's right answer is asserted on the shared file; each kind also gets inputs constructed
here (other orders, styles, columns, orientations, cuts), because the project is checked against
other inputs of the same kinds.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import write as ase_write
from conftest import SHARED, run_dealloy
from test_analysis_structures import diamond_si, li15si4_cell, si_sphere

from dealloy.analysis import analyze_frame
from dealloy.analysis.frame import as_frame
from dealloy.analysis.run import analyze_path
from dealloy.analysis.structure import (Crystallinity, CrystallinityParams, SiNetwork,
                                        _li15si4_like)
from dealloy.analysis.trajectory import FrameSource, scan_dump
from dealloy.checks import check_structure
from dealloy.errors import ConfigError
from dealloy.io import check_launcher, launcher_tasks, read_structure

CASES = SHARED / "cases"


def case(path: str) -> Path:
    p = CASES / path
    if not p.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{p} is missing: CI expects ../shared beside the clone")
        pytest.skip(f"{p} not present (needs ../shared/cases beside the checkout)")
    return p


def counts(atoms) -> dict:
    s = np.asarray(atoms.get_chemical_symbols())
    return {"Li": int((s == "Li").sum()), "Si": int((s == "Si").sum())}


def small_lisi_particle() -> Atoms:
    """A ~2 nm c-Li15Si4 sphere (x = Li/Si known from the cut), non-periodic."""
    big = li15si4_cell().repeat((3, 3, 3))
    c = big.cell.sum(0) / 2 + 0.3
    keep = np.linalg.norm(big.positions - c, axis=1) < 10.0
    p = big[keep]
    p.pbc = False
    p.center(vacuum=8.0)
    return p


# ---- in01: species from what the file says -------------------------------------------------------

def test_in01_data_file_with_si_first_reads_li_405_si_108():
    atoms = read_structure(case("in01/particle_si_first.data"))
    assert counts(atoms) == {"Li": 405, "Si": 108}
    m = analyze_frame(atoms, metrics=("network",))
    assert (m["n_li"], m["n_si"]) == (405, 108) and m["x"] == pytest.approx(3.75)


def test_in01_analyze_cli_on_the_case_file():
    res = run_dealloy("analyze", case("in01/particle_si_first.data"), "--skip", "rdf",
                      "--skip", "voxel", "--skip", "crystal")
    assert res.returncode == 0, res.stderr
    assert "n_si=108 n_li=405 x=3.750" in res.stderr  # stdout holds the frame's JSON only


def test_in01_particle_file_of_a_run_gets_the_species_of_the_file(tmp_path):
    from dealloy.config.run import load_run_config
    from dealloy.engine.run import build_particle

    cfg_path = tmp_path / "run.toml"
    cfg_path.write_text(f'[particle]\nfile = "{case("in01/particle_si_first.data")}"\n'
                        '[[stages]]\ntype = "minimize"\n')
    atoms = build_particle(load_run_config(cfg_path))
    assert counts(atoms) == {"Li": 405, "Si": 108}


@pytest.mark.parametrize("style", ["atomic", "charge", "full"])
@pytest.mark.parametrize("specorder", [["Si", "Li"], ["Li", "Si"]])
def test_data_file_any_type_order_and_style_reads_right(tmp_path, style, specorder):
    p = small_lisi_particle()
    p.set_initial_charges(np.where(np.array(p.get_chemical_symbols()) == "Li", 0.8, -3.0))
    path = tmp_path / f"p_{style}.data"
    ase_write(path, p, format="lammps-data", specorder=specorder, masses=True,
              atom_style=style)
    back = read_structure(path)
    assert counts(back) == counts(p)
    np.testing.assert_allclose(np.sort(back.positions[:, 0]), np.sort(p.positions[:, 0]),
                               atol=1e-5)
    assert not str(back.info["species_source"]).startswith("ASSUMED")


def _strip_comments_in_masses(text: str) -> str:
    out, in_masses = [], False
    for line in text.splitlines():
        if line.strip() == "Masses":
            in_masses = True
        elif line.strip().startswith("Atoms"):
            in_masses = False
        out.append(line.split("#")[0].rstrip() if in_masses else line)
    return "\n".join(out) + "\n"


def _drop_masses(text: str) -> str:
    lines = text.splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.strip() == "Masses")
    j = next(k for k, ln in enumerate(lines) if ln.strip().startswith("Atoms"))
    return "\n".join(lines[:i] + lines[j:]) + "\n"


def test_data_file_masses_without_comments_still_decide(tmp_path):
    p = small_lisi_particle()
    path = tmp_path / "p.data"
    ase_write(path, p, format="lammps-data", specorder=["Si", "Li"], masses=True)
    path.write_text(_strip_comments_in_masses(path.read_text()))
    back = read_structure(path)
    assert counts(back) == counts(p) and back.info["species_source"] == "Masses"


def test_data_file_comment_names_element_against_mass_is_refused(tmp_path):
    path = tmp_path / "p.data"
    ase_write(path, small_lisi_particle(), format="lammps-data", specorder=["Si", "Li"],
              masses=True)
    path.write_text(path.read_text().replace("# Si", "# Li", 1))
    with pytest.raises(ConfigError, match="Masses type 1"):
        read_structure(path)


def test_data_file_naming_nothing_uses_convention_and_says_so(tmp_path):
    p = small_lisi_particle()
    path = tmp_path / "p.data"
    ase_write(path, p, format="lammps-data", specorder=["Li", "Si"], masses=True)
    path.write_text(_drop_masses(path.read_text()))
    with pytest.warns(UserWarning, match="ASSUMED"):
        back = read_structure(path)
    assert counts(back) == counts(p)
    assert back.info["species_source"].startswith("ASSUMED")
    out = tmp_path / "m.json"
    analyze_path(path, json_out=out, params=None, echo=lambda s: None, images=False)
    assert any("ASSUMED" in n for n in json.loads(out.read_text())["notes"])


def test_data_file_type_labels_decide(tmp_path):
    p = small_lisi_particle()
    path = tmp_path / "p.data"
    ase_write(path, p, format="lammps-data", specorder=["Si", "Li"], masses=False)
    text = path.read_text().replace("\nAtoms", "\nAtom Type Labels\n\n1 Si\n2 Li\n\nAtoms", 1)
    path.write_text(text)
    back = read_structure(path)
    assert counts(back) == counts(p) and back.info["species_source"] == "Atom Type Labels"


def _write_dump(path: Path, frames: list[Atoms], columns: str, opener=open) -> None:
    """A LAMMPS text dump (orthogonal box, 'ss' boundaries) with the given per-atom columns."""
    z_type = {"Si": 1, "Li": 2}  # Si first: the convention 1 = Li would be wrong here
    mass = {"Si": 28.0855, "Li": 6.94}
    with opener(path, "wt") as fh:
        for k, a in enumerate(frames):
            lo, hi = a.positions.min(0) - 5, a.positions.max(0) + 5
            fh.write(f"ITEM: TIMESTEP\n{1000 * k}\nITEM: NUMBER OF ATOMS\n{len(a)}\n"
                     "ITEM: BOX BOUNDS ss ss ss\n")
            for d in range(3):
                fh.write(f"{lo[d]:.6f} {hi[d]:.6f}\n")
            fh.write(f"ITEM: ATOMS {columns}\n")
            for i, (s, x) in enumerate(zip(a.get_chemical_symbols(), a.positions)):
                vals = {"id": str(i + 1), "type": str(z_type[s]), "element": s,
                        "mass": f"{mass[s]:.4f}", "x": f"{x[0]:.5f}", "y": f"{x[1]:.5f}",
                        "z": f"{x[2]:.5f}"}
                fh.write(" ".join(vals[c] for c in columns.split()) + "\n")


@pytest.mark.parametrize("columns", ["id element x y z", "id type mass x y z", "id mass x y z"])
def test_dump_species_from_element_or_mass_column(tmp_path, columns):
    p = small_lisi_particle()
    path = tmp_path / "t.lammpstrj"
    _write_dump(path, [p], columns)
    src = FrameSource(path)
    f = src[0]
    assert {"Li": int(f.mask("Li").sum()), "Si": int(f.mask("Si").sum())} == counts(p)
    assert not f.notes


def test_dump_with_only_types_uses_convention_and_says_so(tmp_path):
    p = small_lisi_particle()
    path = tmp_path / "t.lammpstrj"
    _write_dump(path, [p], "id type x y z")
    out = tmp_path / "m.json"
    lines = []
    analyze_path(path, json_out=out, echo=lines.append, images=False)
    notes = json.loads(out.read_text())["notes"]
    assert any("ASSUMED" in n and "1 = Li" in n for n in notes), notes
    assert any("ASSUMED" in ln for ln in lines)


# ---- in02: any atom style ------------------------------------------------------------------------

def test_in02_charge_style_data_file():
    atoms = read_structure(case("in02/particle_charge.data"))
    assert counts(atoms) == {"Li": 405, "Si": 108}
    res = run_dealloy("analyze", case("in02/particle_charge.data"), "--skip", "rdf", "--skip",
                      "voxel", "--skip", "crystal")
    assert res.returncode == 0, res.stderr
    assert "x=3.750" in res.stderr  # the frame line; stdout holds its JSON only


@pytest.mark.parametrize("style", ["charge", "full"])
def test_data_file_style_without_comment_from_column_count(tmp_path, style):
    p = small_lisi_particle()
    path = tmp_path / "p.data"
    ase_write(path, p, format="lammps-data", specorder=["Si", "Li"], masses=True,
              atom_style=style)
    path.write_text(path.read_text().replace(f"Atoms # {style}", "Atoms"))
    assert counts(read_structure(path)) == counts(p)


@pytest.mark.parametrize("style,extra", [("sphere", "1.0 1.0"), ("dipole", "0.0")])
def test_data_file_styles_ase_lacks_are_read_too(tmp_path, style, extra):
    """sphere (id type diameter density x y z), dipole (id type q x y z mux muy muz)."""
    p = small_lisi_particle()
    path = tmp_path / "p.data"
    ase_write(path, p, format="lammps-data", specorder=["Si", "Li"], masses=True)
    out, in_atoms = [], False
    for line in path.read_text().splitlines():
        f = line.split()
        if line.startswith("Atoms"):
            out.append(f"Atoms # {style}")
            in_atoms = True
        elif in_atoms and len(f) == 5:
            out.append(f"{f[0]} {f[1]} {extra} {' '.join(f[2:])}" if style == "sphere" else
                       f"{f[0]} {f[1]} {extra} {' '.join(f[2:])} 0 0 0")
        else:
            out.append(line)
    path.write_text("\n".join(out) + "\n")
    assert counts(read_structure(path)) == counts(p)


# ---- in03: orientation invariance ----------------------------------------------------------------

def test_in03_general_triclinic_li15si4_is_fully_crystalline():
    for name in ("li15si4_primitive.extxyz", "li15si4_primitive_lammps_orientation.extxyz"):
        m = analyze_frame(read_structure(case(f"in03/{name}")), metrics=("crystal",))
        assert m["crystalline_fraction"] == pytest.approx(1.0), name


def _rotated(atoms: Atoms, seed: int) -> Atoms:
    from scipy.spatial.transform import Rotation

    r = Rotation.random(random_state=seed).as_matrix()
    out = atoms.copy()
    out.set_cell(atoms.cell.array @ r.T, scale_atoms=False)
    out.positions = atoms.positions @ r.T
    return out


def _per_atom_classes(atoms) -> dict:
    f = as_frame(atoms)
    net = SiNetwork().compute(f).results["per_atom"]
    p = CrystallinityParams()
    si = f.subset(f.mask("Si"))
    lis = _li15si4_like(si.to_ovito(margin_angstrom=p.li15si4_shell_angstrom + 1.0), p)
    return {"cn": net["coordination"], "cluster": net["cluster_size"], "c_li15si4": lis,
            "fraction": Crystallinity().compute(f).results["crystalline_fraction"]}


@pytest.mark.parametrize("seed", [1, 2])
def test_rotated_copies_give_the_same_per_atom_classes(seed):
    warm = li15si4_cell().repeat((2, 2, 2))
    rng = np.random.default_rng(seed)
    warm.positions += rng.normal(0, 0.12, warm.positions.shape)  # not trivially all-crystal
    ref = _per_atom_classes(warm)
    rot = _per_atom_classes(_rotated(warm, seed))
    np.testing.assert_array_equal(ref["cn"], rot["cn"])
    np.testing.assert_array_equal(ref["cluster"], rot["cluster"])
    np.testing.assert_array_equal(ref["c_li15si4"], rot["c_li15si4"])
    assert rot["fraction"] == pytest.approx(ref["fraction"], abs=1e-6)
    assert 0.5 < ref["fraction"]


def _primitive_bcc(conv: Atoms) -> Atoms:
    """The primitive cell of a body-centred cubic crystal (general triclinic, like in03)."""
    a = conv.cell[0, 0]
    prim_cell = a / 2 * np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]])
    frac = np.mod(np.linalg.solve(prim_cell.T, conv.positions.T).T, 1.0)
    keep, seen = [], []
    for i, f in enumerate(frac):
        if not any(np.allclose(np.mod(f - g + 0.5, 1.0) - 0.5, 0, atol=1e-4) for g in seen):
            seen.append(f)
            keep.append(i)
    prim = Atoms(np.array(conv.get_chemical_symbols())[keep], scaled_positions=frac[keep],
                 cell=prim_cell, pbc=True)
    return prim


def test_primitive_and_conventional_cells_agree():
    conv = li15si4_cell()
    prim = _primitive_bcc(conv)
    assert len(prim) == 38
    a = analyze_frame(conv, metrics=("crystal", "network"))
    b = analyze_frame(prim, metrics=("crystal", "network"))
    assert a["crystalline_fraction"] == b["crystalline_fraction"] == 1.0
    assert a["si_si_coordination_mean"] == b["si_si_coordination_mean"]
    assert b["x"] == pytest.approx(3.75)


# ---- in04: every format ASE reads; one line for unreadable ---------------------------------------

def test_in04_cif_with_symmetry_is_the_full_cell():
    atoms = read_structure(case("in04/li15si4_I-43d_asym_unit.cif"))
    assert len(atoms) == 76 and counts(atoms) == {"Li": 60, "Si": 16}
    m = analyze_frame(atoms, metrics=("crystal",))
    assert m["x"] == pytest.approx(3.75) and m["crystalline_fraction"] == pytest.approx(1.0)
    res = run_dealloy("analyze", case("in04/li15si4_I-43d_asym_unit.cif"), "--skip", "rdf",
                      "--skip", "voxel")
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert "n_si=16 n_li=60 x=3.750" in res.stderr  # stdout holds the frame's JSON only


@pytest.mark.parametrize("fmt,name", [("vasp", "POSCAR"), ("cif", "p.cif"), ("xyz", "p.xyz"),
                                      ("proteindatabank", "p.pdb"), ("traj", "p.traj"),
                                      ("xsf", "p.xsf")])
def test_formats_ase_reads_are_accepted(tmp_path, fmt, name):
    cell = li15si4_cell()
    path = tmp_path / name
    ase_write(path, cell, format=fmt)
    assert counts(read_structure(path)) == {"Li": 60, "Si": 16}
    m = analyze_frame(str(path), metrics=("network",))
    assert m["x"] == pytest.approx(3.75)


@pytest.mark.parametrize("content,name", [("data_x\n_cell_length_a 3\nloop_\n", "broken.cif"),
                                          ("hello\nworld\n", "notes.txt"),
                                          ("3\n\nSi 0 0\n", "short.xyz")])
def test_unreadable_file_is_one_line_naming_file_and_reason(tmp_path, content, name):
    path = tmp_path / name
    path.write_text(content)
    res = run_dealloy("analyze", path)
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and name in lines[0], res.stderr


def test_unreadable_particle_file_is_refused_before_md(tmp_path):
    bad = tmp_path / "bad.cif"
    bad.write_text("data_x\nloop_\n")
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[particle]\nfile = "{bad}"\n[[stages]]\ntype = "minimize"\n')
    res = run_dealloy("run", cfg, "-o", tmp_path / "out", "--quiet")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "particle.file" in res.stderr and "bad.cif" in res.stderr
    assert not (tmp_path / "out" / "lammps.log").exists()


# ---- in05: trajectories cut short ----------------------------------------------------------------

@pytest.mark.parametrize("name,n", [("traj6_cut90.lammpstrj.gz", 5),
                                    ("traj_truncated.lammpstrj", 2)])
def test_in05_cut_trajectory_reads_every_complete_frame(tmp_path, name, n):
    out = tmp_path / "m.json"
    res = run_dealloy("analyze", case(f"in05/{name}"), "--frames", "all", "--skip", "rdf",
                      "--skip", "voxel", "--json", out)
    assert res.returncode == 0, res.stderr
    warn = [ln for ln in (res.stdout + res.stderr).splitlines() if "cut short" in ln]
    assert len(warn) == 1 and f"read {n} complete frame" in warn[0], res.stdout + res.stderr
    data = json.loads(out.read_text())
    assert len(data["frames"]) == n and data["warnings"]


def _frames(n: int) -> list[Atoms]:
    rng = np.random.default_rng(0)
    base = small_lisi_particle()
    out = []
    for _ in range(n):
        a = base.copy()
        a.positions += rng.normal(0, 0.05, a.positions.shape)
        out.append(a)
    return out


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("cut", ["mid_line", "after_header", "mid_atoms", "at_boundary"])
def test_cut_dumps_keep_every_complete_frame(tmp_path, gz, cut):
    full = tmp_path / "full.lammpstrj"
    _write_dump(full, _frames(4), "id element x y z")
    text = full.read_bytes()
    starts = [i for i in range(len(text)) if text.startswith(b"ITEM: TIMESTEP", i)]
    third = starts[2]  # frames 0 and 1 complete, frame 2 cut
    cut_at = {"mid_line": third + (starts[3] - third) // 2 + 3,
              "after_header": third + 40,
              "mid_atoms": starts[3] - 200,
              "at_boundary": starts[3]}[cut]
    n_expected = 3 if cut == "at_boundary" else 2
    if gz:
        path = tmp_path / "cut.lammpstrj.gz"
        blob = gzip.compress(text[:cut_at] if not cut == "at_boundary" else text)
        # a killed gzip writer leaves a stream without its end; cut the compressed bytes so that
        # the decompressed text ends where asked (cut_at) or mid frame 3 (at_boundary)
        if cut == "at_boundary":
            blob = gzip.compress(text[:starts[3]] + text[starts[3]:starts[3] + 100])
            n_expected = 3
        path.write_bytes(blob[:-8])  # drop the gzip trailer: the stream never ended
    else:
        path = tmp_path / "cut.lammpstrj"
        path.write_bytes(text[:cut_at])
    if cut == "at_boundary" and not gz:  # a plain file cut between frames: nothing to tell
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            src = FrameSource(path)
    else:
        with pytest.warns(UserWarning, match=f"read {n_expected} complete frame"):
            src = FrameSource(path)
    assert len(src) == n_expected
    assert src[n_expected - 1].n_atoms == len(_frames(1)[0])


def test_complete_dump_has_no_warning(tmp_path):
    path = tmp_path / "t.lammpstrj.gz"
    _write_dump(path, _frames(3), "id element x y z", opener=gzip.open)
    assert scan_dump(path) == {"started": 3, "complete": 3, "cut": False,
                               "complete_bytes": scan_dump(path)["complete_bytes"]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(FrameSource(path)) == 3


def test_cut_extxyz_trajectory_keeps_complete_frames(tmp_path):
    path = tmp_path / "t.extxyz"
    ase_write(path, _frames(3), format="extxyz")
    text = path.read_text().splitlines(keepends=True)
    n = len(_frames(1)[0]) + 2
    path.write_text("".join(text[:2 * n + 5]))
    with pytest.warns(UserWarning, match="read 2 complete frame"):
        src = FrameSource(path)
    assert len(src) == 2


def test_one_complete_frame_keeps_multi_frame_json_shape(tmp_path):
    full = tmp_path / "full.lammpstrj"
    _write_dump(full, _frames(2), "id element x y z")
    text = full.read_bytes()
    second = text.index(b"ITEM: TIMESTEP", 10)
    cut = tmp_path / "cut.lammpstrj"
    cut.write_bytes(text[:second + 300])
    out = tmp_path / "m.json"
    analyze_path(cut, frames="all", json_out=out, echo=lambda s: None, images=False)
    data = json.loads(out.read_text())
    assert isinstance(data["frames"], list) and len(data["frames"]) == 1


# ---- in06: structure checks -------------------------------------------------------------------

def test_in06_duplicates_refused_by_analyze_naming_pairs():
    res = run_dealloy("analyze", case("in06/si_particle_40_duplicates.extxyz"))
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert "40 pair(s)" in res.stderr and "0.035 Å" in res.stderr
    assert "CN=" not in res.stdout + res.stderr and "frame 0: n_si" not in res.stderr  # no number
    clean = run_dealloy("analyze", case("in06/si_particle_clean.extxyz"), "--skip", "rdf")
    assert clean.returncode == 0, clean.stderr


def test_in06_duplicates_refused_by_run_before_md(tmp_path):
    d = tmp_path / "in06"
    shutil.copytree(case("in06"), d)
    os.chmod(d, 0o755)
    res = run_dealloy("run", "run.toml", "-o", "out", "--quiet", cwd=d)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "40 pair(s)" in res.stderr and "closest" in res.stderr
    assert not (d / "out" / "lammps.log").exists()
    assert not list((d / "out").glob("traj*")) if (d / "out").exists() else True


def test_overlapping_merge_and_far_atoms_are_refused_for_a_run():
    p = si_sphere(8.0)
    pbc, cell = (False,) * 3, np.zeros((3, 3))
    check_structure(p.positions, cell, pbc)  # clean
    merged = np.vstack([p.positions, p.positions[:5] + [0.6, 0.0, 0.0]])
    with pytest.raises(ConfigError, match=r"5 pair\(s\).*0\.600 Å"):
        check_structure(merged, cell, pbc)
    far = np.vstack([p.positions, p.positions.max(0) + 20.0])
    with pytest.raises(ConfigError, match=r"1 atom\(s\) lie far outside"):
        check_structure(far, cell, pbc)
    # periodic images count: two atoms 0.3 Å apart through the boundary
    box = np.eye(3) * 10.0
    with pytest.raises(ConfigError, match="0.300 Å"):
        check_structure([[0.1, 5, 5], [9.8, 5, 5]], box, (True,) * 3)


def test_analysis_notes_close_pairs_above_duplicates_and_far_atoms():
    p = si_sphere(9.0)
    p.pbc = False
    hot = p.copy()
    hot.positions[1] = hot.positions[0] + [0.9, 0.0, 0.0]
    with pytest.warns(UserWarning, match=r"closer than 1.2 Å"):
        analyze_frame(hot, metrics=("network",))
    stray = p + Atoms("Li", positions=[p.positions.max(0) + 15.0])
    with pytest.warns(UserWarning, match="far outside"):
        analyze_frame(stray, metrics=("network",))


def test_single_species_run_that_needs_li_is_refused(tmp_path):
    p = si_sphere(8.0)
    p.pbc = False
    ase_write(tmp_path / "si.extxyz", p)
    cfg = tmp_path / "run.toml"
    cfg.write_text('[particle]\nfile = "si.extxyz"\n[[stages]]\ntype = "extract"\n'
                   'x_final = 0.0\nselector = "random"\n')
    res = run_dealloy("run", cfg, "-o", tmp_path / "out", "--quiet")
    assert res.returncode == 2 and "no Li" in res.stderr, res.stderr
    assert not (tmp_path / "out" / "lammps.log").exists()


def test_dump_as_particle_file_species(tmp_path):
    p = small_lisi_particle()
    for cols, assumed in (("id element x y z", False), ("id mass x y z", False),
                          ("id type x y z", True)):
        path = tmp_path / "p.lammpstrj"
        _write_dump(path, [p], cols)
        if assumed:
            with pytest.warns(UserWarning, match="ASSUMED"):
                back = read_structure(path)
            # the file has Si as type 1: the convention (1 = Li) swaps them, and says so
            assert counts(back) == {"Li": counts(p)["Si"], "Si": counts(p)["Li"]}
        else:
            assert counts(read_structure(path)) == counts(p)


def test_empty_structure_file_is_one_line(tmp_path):
    path = tmp_path / "empty.extxyz"
    path.write_text("0\nLattice=\"10 0 0 0 10 0 0 0 10\" Properties=species:S:1:pos:R:3\n")
    res = run_dealloy("analyze", path)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert "no atoms" in res.stderr or "empty" in res.stderr


# ---- in07: launcher / MPI mismatch --------------------------------------------------------------

@pytest.mark.parametrize("env,n", [({"SLURM_STEP_ID": "0", "SLURM_NTASKS": "2"}, 2),
                                   ({"SLURM_STEP_ID": "3", "SLURM_NPROCS": "4"}, 4),
                                   ({"OMPI_COMM_WORLD_SIZE": "2"}, 2),
                                   ({"PMI_SIZE": "8"}, 8),
                                   ({"PMIX_SIZE": "3"}, 3)])
def test_launcher_mismatch_is_refused(env, n):
    assert launcher_tasks(env)[0] == n
    with pytest.raises(ConfigError, match=r"srun --mpi=pmi2.*mpiexec -n"):
        check_launcher(1, env)
    check_launcher(n, env)  # MPI agrees: fine


@pytest.mark.parametrize("env", [{"SLURM_NTASKS": "4", "SLURM_JOB_ID": "1"},  # batch shell
                                 {"SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "1",
                                  "SLURM_NTASKS": "4"},  # a one-task step in a bigger job
                                 {"OMPI_COMM_WORLD_SIZE": "1"}, {}])
def test_no_false_alarm_for_one_task(env):
    assert launcher_tasks(env) is None
    check_launcher(1, env)


def test_in07_launch_sh_refuses_both_copies_before_writing(tmp_path):
    d = tmp_path / "in07"
    shutil.copytree(case("in07"), d)
    os.chmod(d, 0o755)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"  # launch.sh calls `dealloy`
    res = subprocess.run(["bash", "launch.sh", "OUT"], cwd=d, env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0
    for r in (0, 1):
        log = (d / f"task{r}.log").read_text()
        assert "launcher started 2 tasks" in log and "srun --mpi=pmi2" in log, log
        assert len(log.strip().splitlines()) == 1, log
    assert not (d / "OUT").exists()


# ---- in09: periodicity from the atoms ------------------------------------------------------------

def test_in09_lattice_without_pbc_is_a_particle():
    atoms = read_structure(case("in09/si_sphere_lattice_no_pbc.extxyz"))
    with pytest.warns(UserWarning, match=r"point contact.*isolated particle"):
        m = analyze_frame(atoms, metrics=("network", "voxel"))
    assert m["kind"] == "particle" and m["porosity"] < 0.02
    res = run_dealloy("analyze", case("in09/si_sphere_lattice_no_pbc.extxyz"), "--skip", "rdf")
    assert res.returncode == 0 and "porosity=0.0" in res.stderr, res.stderr  # JSON on stdout
    assert "vacuum" in res.stderr


def test_in09_particle_file_is_simulated_as_a_particle(tmp_path):
    from dealloy.config.run import load_run_config
    from dealloy.engine.run import build_particle

    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[particle]\nfile = "{case("in09/si_sphere_lattice_no_pbc.extxyz")}"\n'
                   '[[stages]]\ntype = "minimize"\n')
    with pytest.warns(UserWarning, match=r"simulated as an isolated particle"):
        atoms = build_particle(load_run_config(cfg))
    assert not any(atoms.pbc)
    # the same sphere wrapped across the z boundary (as a periodic code writes it) comes out whole
    a = read_structure(case("in09/si_sphere_lattice_no_pbc.extxyz"))
    a.positions[:, 2] += a.cell[2, 2] / 2
    a.wrap()
    ase_write(tmp_path / "wrapped.extxyz", a)
    cfg.write_text('[particle]\nfile = "wrapped.extxyz"\n[[stages]]\ntype = "minimize"\n')
    with pytest.warns(UserWarning, match=r"simulated as an isolated particle"):
        whole = build_particle(load_run_config(cfg))
    ext = whole.positions.max(0) - whole.positions.min(0)
    assert ext[2] == pytest.approx(26.59469 - 2.0, abs=0.01)


def test_sphere_touching_its_image_in_one_axis_is_a_particle():
    p = si_sphere(12.0)
    ext = p.positions.max(0) - p.positions.min(0)
    p.set_cell([ext[0] + 20, ext[1] + 20, ext[2] + 2.0])  # 2 Å gap in z only
    p.center()
    p.pbc = True
    f = as_frame(p)
    assert f.pbc == (False, False, False)


def _slab() -> Atoms:
    s = diamond_si((3, 3, 3))
    s.cell[2, 2] += 20.0  # vacuum above the slab
    s.pbc = True
    return s


def _wire() -> Atoms:
    w = diamond_si((2, 2, 4))
    w.cell[0, 0] += 20.0
    w.cell[1, 1] += 20.0
    w.pbc = True
    return w


def test_slab_is_periodic_in_plane_and_open_across():
    with pytest.warns(UserWarning, match="slab"):
        f = as_frame(_slab())
    assert f.pbc == (True, True, False)
    m = analyze_frame(f, metrics=("network",))
    # bonds through the periodic directions: the interior is 4-fold, one cluster
    assert m["si_si_coordination_interior_mean"] == pytest.approx(4.0)
    assert m["largest_si_cluster_fraction"] == 1.0
    assert m["kind"] == "slab"
    # only the two free surfaces lose bonds: (3 cells x 8 - 2 x 2 layers x 9 x 1 bond) / N
    n = len(_slab())
    n_surface = 2 * 18  # top and bottom (001) layers of 3x3 cells, 2 dangling bonds each
    assert m["si_si_coordination_mean"] == pytest.approx((4 * n - 2 * n_surface) / n)


def test_wire_is_periodic_along_its_axis_only():
    with pytest.warns(UserWarning, match="wire"):
        f = as_frame(_wire())
    assert f.pbc == (False, False, True)
    m = analyze_frame(f, metrics=("network",))
    assert m["largest_si_cluster_fraction"] == 1.0 and m["si_cluster_count"] == 1
    assert m["kind"] == "wire"


def test_slab_stack_stays_periodic_bulk():
    from test_analysis_structures import si_slabs

    atoms, _, _ = si_slabs(8, gap_angstrom=16.0)
    assert as_frame(atoms).pbc == (True, True, True)


def test_bulk_and_explicit_nonperiodic_unchanged():
    bulk = diamond_si((2, 2, 2))
    bulk.pbc = True
    assert as_frame(bulk).pbc == (True, True, True)
    p = si_sphere(8.0)
    p.pbc = False
    assert as_frame(p).pbc == (False, False, False)

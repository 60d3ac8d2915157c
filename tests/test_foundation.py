"""Foundation: LAMMPS loader, potential registry, session, MPI-safe I/O, CLI basics."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk

from conftest import mpiexec
from dealloy.lammps.instance import lammps_info, open_lammps
from dealloy.lammps.session import LammpsSession
from dealloy.errors import ConfigError, LammpsBuildError
from dealloy.io import atomic_path, read_structure, write_structure
from dealloy.lammps.potentials import ELEMENTS, get_potential, list_potentials
from dealloy.potentials.validate import li15si4_unit_cell


# ---- LAMMPS loader ----------------------------------------------------------------------
def test_lammps_loads_without_ld_library_path_and_reports_packages():
    code = "from dealloy.lammps.instance import lammps_info; i = lammps_info(); print(i['version'], 'MEAM' in i['packages'])"
    env = {k: v for k, v in __import__("os").environ.items() if k != "LD_LIBRARY_PATH"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    version, has_meam = out.stdout.split()
    assert int(version) >= 20250722 and has_meam == "True"


def test_missing_lammps_package_is_named():
    with pytest.raises(LammpsBuildError, match="KOKKOS"):
        open_lammps(packages=("MEAM", "KOKKOS"))


def test_info_lists_mpi_and_packages():
    info = lammps_info()
    assert "MPICH" in info["mpi_library"] or "Open MPI" in info["mpi_library"]
    assert {"MEAM", "REAXFF"} <= set(info["packages"])


# ---- registry ---------------------------------------------------------------------------
def test_registry_knows_files_units_and_pair_lines():
    meams = [p for p in list_potentials() if p.kind == "meam"]  # fitted ones: tests/test_fit.py
    assert [p.name for p in meams] == ["meam-cui2012", "meam-godet2020"]
    for pot in meams:
        assert pot.units.style == "metal" and pot.elements == ELEMENTS
        assert all(Path(f).is_file() for f in pot.files)
        lines = pot.pair_commands()
        assert "pair_style meam" in lines
        assert any(line.startswith("pair_coeff * *") and line.endswith("Li Si") for line in lines)
        assert len(pot.file_hashes()) == 2 and pot.timestep_ps > 0 and pot.citation


def test_reaxff_registry_entry(reaxff_ffield):
    pot = get_potential("reaxff", ffield=reaxff_ffield)
    assert pot.units.style == "real" and pot.atom_style == "charge"
    assert any("qeq/reaxff" in line for line in pot.pair_commands())
    assert get_potential(f"reaxff:{reaxff_ffield}").files == pot.files


def test_unknown_potential_names_the_choices():
    with pytest.raises(ConfigError, match="meam-cui2012"):
        get_potential("meam-typo")


def test_missing_potential_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DEALLOY_POTENTIALS_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="parameter file not found"):
        get_potential("meam-cui2012")


def test_reaxff_needs_ffield_with_li_and_si(tmp_path, reaxff_ffield):
    with pytest.raises(ConfigError, match="needs an ffield"):
        get_potential("reaxff")
    with pytest.raises(ConfigError, match="not found"):
        get_potential("reaxff", ffield=tmp_path / "nope")
    text = reaxff_ffield.read_text().splitlines()
    no_li = [("Xx" + line[2:]) if line.startswith("Li ") else line for line in text]
    bad = tmp_path / "ffield.noLi"
    bad.write_text("\n".join(no_li))
    with pytest.raises(ConfigError, match="no parameters for Li"):
        get_potential("reaxff", ffield=bad)


# ---- session ----------------------------------------------------------------------------
def test_session_round_trip_keeps_species_positions_ids():
    atoms = li15si4_unit_cell()
    atoms.rattle(0.01, seed=1)
    with LammpsSession(atoms, "meam-cui2012") as s:
        back = s.get_atoms(velocities=False)
        assert s.natoms == len(atoms)
    assert back.get_chemical_symbols() == atoms.get_chemical_symbols()
    d = back.get_scaled_positions(wrap=False) - atoms.get_scaled_positions(wrap=False)
    assert np.allclose(d - np.round(d), 0.0, atol=1e-9)  # same positions up to periodic wrapping
    assert list(back.arrays["id"]) == list(range(1, len(atoms) + 1))


def test_session_temperature_matches_ase():
    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    with LammpsSession(atoms, "meam-cui2012") as s:
        s.create_velocities(600.0, seed=3)
        s.md(0.1, 300.0)
        t_lmp = s.temperature_k()
        back = s.get_atoms()
    n = len(atoms)  # LAMMPS removes 3 dof for the momentum; ASE counts 3N
    # rel 1e-5: LAMMPS' and ASE's Boltzmann constants differ in the 6th digit
    assert back.get_temperature() * 3 * n / (3 * n - 3) == pytest.approx(t_lmp, rel=1e-5)
    # velocities go back in: a new session reports the same temperature
    with LammpsSession(back, "meam-cui2012") as s:
        s.command("run 0")
        assert s.temperature_k() == pytest.approx(t_lmp, rel=1e-6)


@pytest.mark.parametrize("name", ["meam-godet2020", "meam-cui2012", "pod-lisi-7net"])
def test_ase_sees_the_masses_lammps_integrates_with(name):
    # pair_style meam sets the masses of its library file (godet2020: Li 6.939) over dealloy's
    # `mass` lines; the registry reads them, so ASE's kinetic temperature of a session's
    # structure is LAMMPS' to rounding (a 3e-4 Li mass mismatch moved it by ~2.5e-4 before)
    atoms = li15si4_unit_cell()
    pot = get_potential(name)
    with LammpsSession(atoms, name) as s:
        lmp_mass = np.asarray(s.lmp.numpy.extract_atom("mass"))[1:len(ELEMENTS) + 1]
        assert lmp_mass.tolist() == pytest.approx([pot.masses_amu[e] for e in ELEMENTS],
                                                  rel=1e-12)
        s.create_velocities(900.0, seed=5)
        s.command("run 0")
        t_lmp = s.temperature_k()
        back = s.get_atoms()
    n = len(atoms)
    assert back.get_temperature() * 3 * n / (3 * n - 3) == pytest.approx(t_lmp, rel=2e-5)


def test_unwrapped_positions_follow_atoms_across_a_triclinic_boundary():
    atoms = bulk("Si", "diamond", a=5.431).repeat(2)  # primitive fcc cell: triclinic in LAMMPS
    shift = np.array([7.3, -4.1, 12.9])  # Å, more than one cell edge (3.84 Å x 2)
    with LammpsSession(atoms, "meam-cui2012") as s:
        x0 = s.unwrapped_positions()
        s.command(f"displace_atoms all move {shift[0]} {shift[1]} {shift[2]} units box")
        x1 = s.unwrapped_positions()
        ids = s.gather("id", 0, 1).astype(int)
        wrapped = s.gather("x", 1, 3)[np.argsort(ids)]
    assert x0.shape == (len(atoms), 3)
    assert np.allclose(x1 - x0, shift, atol=1e-8)
    assert not np.allclose(wrapped - x0, shift, atol=1e-3)  # LAMMPS wrapped them back


def test_isolated_particle_keeps_cell_and_is_non_periodic():
    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    atoms.center(vacuum=15.0)
    atoms.pbc = False
    with LammpsSession(atoms, "meam-cui2012") as s:
        s.minimize()
        back = s.get_atoms()
    assert not back.pbc.any() and np.allclose(back.cell.array, atoms.cell.array)


def test_reaxff_session_speaks_ev(reaxff_ffield):
    """ReaxFF runs in real units inside; energies come out in eV (Li15Si4 cell ~ -2.5 eV/atom)."""
    pot = get_potential("reaxff", ffield=reaxff_ffield)
    with LammpsSession(li15si4_unit_cell(), pot) as s:
        e = s.potential_energy_ev() / 76
    assert -4.0 < e < -1.5


def test_non_lisi_species_rejected():
    with pytest.raises(ConfigError, match="only Li and Si"):
        LammpsSession(bulk("Cu", "fcc", a=3.6), "meam-cui2012")


# ---- I/O --------------------------------------------------------------------------------
def test_atomic_path_leaves_target_untouched_on_error(tmp_path):
    target = tmp_path / "result.txt"
    target.write_text("finished run")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half-writ")
            raise RuntimeError("killed")
    assert target.read_text() == "finished run"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_writes_get_the_permissions_of_a_plain_open(tmp_path):
    import os
    import stat

    from dealloy.io import write_json

    old = os.umask(0o022)
    try:
        write_json(tmp_path / "r.json", {"x": 1})
        (tmp_path / "plain.txt").write_text("")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "r.json").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == 0o644


def test_lammps_data_uses_dealloy_type_order(tmp_path):
    atoms = li15si4_unit_cell()
    write_structure(tmp_path / "cell.data", atoms)
    text = (tmp_path / "cell.data").read_text()
    assert "2 atom types" in text
    back = read_structure(tmp_path / "cell.data")
    assert back.get_chemical_formula() == atoms.get_chemical_formula()


@pytest.mark.mpi
def test_collective_write_under_mpiexec_keeps_ranks_in_step(tmp_path):
    script = tmp_path / "w.py"
    script.write_text(textwrap.dedent(f"""
        from mpi4py import MPI
        from ase.build import bulk
        from dealloy.io import write_structure, write_json
        comm = MPI.COMM_WORLD
        a = bulk("Si", "diamond", a=5.431, cubic=True)
        for i in range(3):
            write_structure("{tmp_path}/s%d.extxyz" % i, a, collective=True)
            write_json("{tmp_path}/j%d.json" % i, {{"i": i}}, collective=True)
            big = comm.allreduce(list(range(1000 * (comm.rank + 1))), op=MPI.SUM)
        print("ok", comm.rank, len(big))
    """))
    out = subprocess.run([mpiexec(), "-n", "2", sys.executable, str(script)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("ok") == 2
    assert len(list(tmp_path.glob("s*.extxyz"))) == 3 and not list(tmp_path.glob(".*tmp"))


# ---- CLI --------------------------------------------------------------------------------
def test_cli_version_info_help(dealloy_cli):
    from dealloy import __version__

    assert __version__ in dealloy_cli("--version", check=True).stdout
    out = dealloy_cli("info", check=True).stdout
    assert "LAMMPS" in out and "MEAM" in out and "MPI ranks" in out and "ovito" in out
    assert "validate-potential" in dealloy_cli("--help", check=True).stdout


@pytest.mark.parametrize("args, needle", [
    (["validate-potential", "nope"], "unknown potential 'nope'"),
    (["validate-potential", "reaxff"], "needs an ffield"),
    (["validate-potential", "reaxff", "--ffield", "/no/such/ffield"], "not found"),
])
def test_cli_bad_input_is_one_clear_line(dealloy_cli, args, needle):
    res = dealloy_cli(*args)
    assert res.returncode == 2
    assert needle in res.stderr and "Traceback" not in res.stderr


def test_lammps_data_of_atoms_without_cell_gets_a_box(tmp_path):
    from ase import Atoms

    atoms = Atoms("LiSi", positions=[[0, 0, 0], [2.5, 0, 0]])
    write_structure(tmp_path / "m.data", atoms)
    back = read_structure(tmp_path / "m.data")
    assert back.get_chemical_symbols() == ["Li", "Si"]
    assert back.cell.rank == 3 and abs(back.get_distance(0, 1) - 2.5) < 1e-6

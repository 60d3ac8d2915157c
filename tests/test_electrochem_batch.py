"""The galvanostatic candidates' ΔE in independent sets (one single point per set): the same
removals as one single point per Li (issue 15's bookkeeping target; benchmarks/README.md)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import ase.io
import numpy as np
import pytest
from ase.geometry import get_distances

from dealloy.build.crystal import li15si4_cell
from dealloy.engine import electrochem
from dealloy.engine.electrochem import (LocalEnergies, SinglePoints, cheapest_removals,
                                       energy_reach_angstrom, independent_sets,
                                       li_bcc_chemical_potential_ev, removal_energies,
                                       removal_energies_batched)
from dealloy.engine.particles import li15si4_sphere
from dealloy.engine.run import run
from dealloy.engine.selectors import removal_candidates
from dealloy.lammps.session import LammpsSession
from dealloy.lammps.potentials import get_potential
from dealloy.rundir import RunDir

POT = "meam-godet2020"
DATA = Path(__file__).parent / "data" / "electrochem"


def _thermalised(atoms, pot, seed=4):
    """A structure after 40 MD steps at 600 K (no symmetry left), as ASE atoms with ids."""
    with LammpsSession(atoms, pot) as s:
        s.minimize(maxiter=100)
        s.create_velocities(600.0, seed)
        s.md(0.04, 600.0, ensemble="nvt")
        return s.get_atoms()


def _table(s):
    ids = s.gather("id", 0, 1).astype(int)
    x, v = s.gather("x", 1, 3), s.gather("v", 1, 3)
    img = s.gather("image", 0, 1).astype(int)
    types = s.gather("type", 0, 1).astype(int)
    return ids, types, x, {int(i): (x[k], v[k], int(img[k])) for k, i in enumerate(ids)}


def test_reach_of_the_meam_potentials():
    # rc = 4.8 Å; the widest screening ellipse (Cmax(Li,Si,Si) = 4.7 in godet2020, 2.8 default)
    assert energy_reach_angstrom(get_potential(POT)) == pytest.approx(
        4.8 * (4.7 ** 2 / (4 * 3.7)) ** 0.5)
    assert energy_reach_angstrom(get_potential("meam-cui2012")) > 4.8


@pytest.mark.parametrize("periodic, local", [(False, False), (True, False), (False, True)])
def test_batched_removal_energies_equal_one_by_one(periodic, local):
    pot = get_potential(POT)
    # the clusters need a particle clearly larger than their 12.2 Å radius
    atoms = li15si4_cell().repeat(2) if periodic else li15si4_sphere(16.0 if local else 11.0)
    atoms = _thermalised(atoms, pot)
    reach = energy_reach_angstrom(pot)
    with LammpsSession(atoms, pot) as s:
        ids, types, x, table = _table(s)
        li = ids[types == 1]
        cand = [int(i) for i in (li[::7] if periodic else
                                 ids[removal_candidates("surface", x, types == 1)])]
        if local:
            cand = cand[::3]
        cell = s.cell_matrix() if periodic else None
        with SinglePoints(s) as sp:
            one = removal_energies(sp, cand, table)
            n0 = sp.n_evaluations
            if local:  # each Li alone in a cluster of its neighbourhood (a second instance)
                cluster = LocalEnergies(s, x)
                batched = {}
                for i in cand:
                    batched.update(removal_energies_batched(sp, [i], table, reach, local=cluster))
                n_local, n_cluster_atoms = cluster.n_evaluations, cluster.n_atoms_evaluated
                cluster.close()
                # intact cluster + cluster without the Li, for (nearly) every Li
                assert n_local % 2 == 0 and n_local >= 2 * 0.8 * len(cand)
                assert n_cluster_atoms < 0.5 * n_local * len(atoms)  # the point: small clusters
            else:
                batched = removal_energies_batched(sp, cand, table, reach, cell, s.pbc)
            n_batched = sp.n_evaluations - n0
            e_after = sp.energy_ev()
        assert e_after == pytest.approx(sp.e_ev, abs=1e-9)  # every Li is back
        assert s.natoms == len(atoms)
    assert set(batched) == set(one) and len(cand) > 20
    for i in cand:
        assert batched[i] == pytest.approx(one[i], abs=1e-8), i
    assert n_batched < len(cand) / 2  # the point: far fewer single points of the whole
    # the sets are independent: members further apart than 2 reach + 0.5 Å (minimum image)
    pos = np.array([table[i][0] for i in cand])
    for members in independent_sets(cand, pos, 2 * reach + 0.5, cell, atoms.pbc):
        p = np.array([table[i][0] for i in members])
        _, d = get_distances(p, cell=cell, pbc=atoms.pbc if periodic else None)
        assert np.all(d[np.triu_indices(len(members), 1)] > 2 * reach + 0.5)


def test_too_short_a_reach_falls_back_to_exact_single_points():
    # a reach of 2 Å puts Li 4.5 Å apart in one set: their removals interact and energy changes
    # leak outside the assumed reach; the locality check redoes those sets one Li at a time
    pot = get_potential(POT)
    atoms = _thermalised(li15si4_sphere(9.0), pot)
    with LammpsSession(atoms, pot) as s:
        ids, types, x, table = _table(s)
        cand = [int(i) for i in ids[removal_candidates("surface", x, types == 1)]]
        with SinglePoints(s) as sp:
            one = removal_energies(sp, cand, table)
            wrong = removal_energies_batched(sp, cand, table, 2.0)
            cluster = LocalEnergies(s, x)
            wrong_local = {}
            for i in cand[:12]:  # alone in a cluster of the atoms within 2 x 2 + 0.5 Å
                wrong_local.update(removal_energies_batched(sp, [i], table, 2.0, local=cluster))
            cluster.close()
    for i in cand:
        assert wrong[i] == pytest.approx(one[i], abs=1e-8), i
    for i in cand[:12]:
        assert wrong_local[i] == pytest.approx(one[i], abs=1e-8), i


@pytest.mark.parametrize("radius", [11.0, pytest.param(16.0, marks=pytest.mark.slow)])
def test_cheapest_removals_batched_pick_the_same_li_in_the_same_order(monkeypatch, radius):
    # one by one (reference), independent sets in the whole particle, and sets + neighbourhood
    # clusters (the default); on 16 Å (~1250 atoms) the clusters take the re-evaluations
    pot = get_potential(POT)
    mu = li_bcc_chemical_potential_ev(pot)
    atoms = _thermalised(li15si4_sphere(radius), pot, seed=9)
    runs = {}
    for route, batched, local in (("one", False, False), ("sets", True, False),
                                  ("local", True, True)):
        monkeypatch.setattr(electrochem, "BATCHED", batched)
        monkeypatch.setattr(electrochem, "LOCAL", local)
        with LammpsSession(atoms, pot) as s:
            ids, types, x, table = _table(s)
            cand = [int(i) for i in ids[removal_candidates("surface", x, types == 1)]]
            with SinglePoints(s) as sp:
                moves, _ = cheapest_removals(sp, cand, table, 12, mu, 2 * 4.8 + 0.5)
                runs[route] = (moves, sp.n_evaluations, sp.n_local_evaluations)
            assert s.natoms == len(atoms) - 12
    old, n_old, _ = runs["one"]
    assert len(old) == 12
    for route in ("sets", "local"):
        new, n_new, _ = runs[route]
        assert [m.atom_id for m in new] == [m.atom_id for m in old], route
        for a, b in zip(old, new):
            assert b.delta_e_ev == pytest.approx(a.delta_e_ev, abs=1e-8), route
            assert b.voltage_v == pytest.approx(a.voltage_v, abs=1e-8), route
        assert n_new < n_old / 2
    assert runs["sets"][2] == 0
    if radius > 15:  # the clusters took over the re-evaluations after each removal
        assert runs["local"][2] > 0 and runs["local"][1] < runs["sets"][1] / 2


# The events of a tiny galvanostatic run made by the code before batching (commit e831762,
# one single point per candidate and a 10.1 Å re-evaluation radius): 7 intervals, the second
# stage drawing its 12 candidates from the run's random stream. Nose-Hoover, because Langevin
# noise is dealt to atoms in LAMMPS' storage order, which deleting and re-creating Li permutes
# differently in the two routes (as a different MPI decomposition would).
OLD_RUN = """seed = 5
thermostat = "nose-hoover"
potential = "meam-godet2020"
dump_interval_ps = 0
thermo_interval_ps = 0.05
checkpoint_ps = 10.0
[particle]
file = "{particle}"
[[stages]]
type = "minimize"
[[stages]]
type = "galvanostatic"
batch = 3
interval_ps = 0.05
max_time_ps = 0.2
x_final = 3.0
[[stages]]
type = "galvanostatic"
batch = 2
interval_ps = 0.05
max_time_ps = 0.15
max_candidates = 12
x_final = 0.0
"""


def test_batched_run_reproduces_the_events_of_the_one_by_one_code(tmp_path):
    particle = tmp_path / "small.extxyz"
    ase.io.write(particle, li15si4_sphere(8.0))
    cfg = tmp_path / "eq.toml"
    cfg.write_text(OLD_RUN.format(particle=particle))
    res = run(cfg, quiet=True)
    with open(DATA / "galvanostatic-events-e831762.csv") as a, \
            open(RunDir(tmp_path / "eq").events_csv) as b:
        ref, ev = list(csv.DictReader(a)), list(csv.DictReader(b))
    key = ("time_ps", "event", "id", "x", "y", "z")
    assert [[e[k] for k in key] for e in ev] == [[e[k] for k in key] for e in ref]
    for a, b in zip(ev, ref):
        assert float(a["delta_e_ev"]) == pytest.approx(float(b["delta_e_ev"]), abs=1e-7)
        assert float(a["voltage_v"]) == pytest.approx(float(b["voltage_v"]), abs=1e-7)
    assert res.n_removed == len(ref) == 18
    # the old code needed 775 + 79 single points for these removals
    assert res.stages[1].evaluations < 775
    # run.json counts the single points of the small clusters too, per stage and in total
    # (none on this 8 Å sphere: every cluster holds more than half of it)
    raw = json.loads(RunDir(tmp_path / "eq").run_json.read_text())
    per_stage = [s["local_evaluations"] for s in raw["stages"] if s["type"] == "galvanostatic"]
    assert raw["electrochem"]["local_evaluations"] == sum(per_stage) == 0


def test_non_local_potential_re_evaluates_every_candidate(reaxff_ffield):
    """ReaxFF has no finite reach (charge equilibration couples every atom): after a removal the
    ΔE of every candidate changes, however far, so all are re-evaluated, whatever
    ``locality_angstrom`` says, and the next removal is the cheapest in the new structure.

    Three Li far apart as candidates (many delete/re-create cycles with ReaxFF:
    test_electrochem.py::test_reaxff_galvanostatic_delta_e_equals_independent_single_points)."""
    from dealloy.engine.electrochem import energy_reach_angstrom, removal_energies

    pot = get_potential("reaxff", ffield=reaxff_ffield)
    assert energy_reach_angstrom(pot) is None
    mu = -1.9  # any reference: it shifts every voltage alike
    atoms = li15si4_sphere(8.0)  # 108 Li + 24 Si, 15 Å across
    with LammpsSession(atoms, pot) as s:
        start = s.get_atoms(velocities=False)
        ids, types, x, table = _table(s)
        li = np.flatnonzero(types == 1)
        c = x[li].mean(0)
        # the outermost Li along -x, +x and +y: each > 10 Å from the others
        cand = sorted({int(ids[li[np.argmin(x[li, 0])]]), int(ids[li[np.argmax(x[li, 0])]]),
                       int(ids[li[np.argmax(x[li, 1] - c[1] - np.abs(x[li, 0] - c[0]))]])})
        with SinglePoints(s) as sp:
            before = removal_energies(sp, cand, table)
            n0 = sp.n_evaluations
            moves, _ = cheapest_removals(sp, cand, table, 2, mu, locality_angstrom=5.0)
            n_eval = sp.n_evaluations - n0
    n = len(cand)
    # N single points to rank, one per removal, and N - 1 after the first removal: all of them
    assert n_eval == n + 1 + (n - 1) + 1
    first = moves[0].atom_id
    rest = [i for i in cand if i != first]
    after_atoms = start[start.arrays["id"] != first]
    with LammpsSession(after_atoms, pot) as s:
        _, _, _, table2 = _table(s)
        with SinglePoints(s) as sp:
            after = removal_energies(sp, rest, table2)
    far = max(rest, key=lambda i: np.linalg.norm(table[i][0] - table[first][0]))
    assert len(cand) == 3 and min(np.linalg.norm(table[i][0] - table[first][0])
                                  for i in rest) > 5.0  # outside the locality given
    assert abs(after[far] - before[far]) > 1e-6  # the farthest Li's ΔE moved: not local
    assert moves[1].n_candidates == n - 1
    assert moves[1].candidates_median_voltage_v == pytest.approx(
        float(np.median(list(after.values()))) + mu, abs=1e-6)
    assert moves[1].atom_id == min(after, key=lambda i: (round(after[i] / 1e-9), i))

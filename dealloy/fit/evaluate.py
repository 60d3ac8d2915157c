"""Validation numbers of a fitted student: errors against the teacher's labels by configuration
family, c-Li15Si4 formation energy and lattice constant, the formation energies of the PBE
crystals (hull rms), and MD speed. Everything runs through :class:`LammpsSession`."""

from __future__ import annotations

import time

import numpy as np
from ase import Atoms
from ase.build import bulk

from dealloy import materials as M
from dealloy.lammps.session import LammpsSession
from dealloy.lammps.potentials import Potential
from dealloy.potentials.validate import li15si4_unit_cell

#: c-Li15Si4 PBE formation energy (eV/atom) and lattice constant (Å): Materials Project
#: mp-569849 as redistributed by Oviedo et al., J. Phys. Chem. A 127 (2023) 2637
PBE_LI15SI4 = {"formation_ev_per_atom": M.LI15SI4_FORMATION_PBE_EV_PER_ATOM,
               "a_angstrom": M.LI15SI4_A_PBE_ANGSTROM}


def single_point(atoms: Atoms, pot: Potential) -> tuple[float, np.ndarray]:
    """Energy (eV) and forces (eV/Å, in the order and Cartesian frame of ``atoms``) of ``pot``."""
    from ase.calculators.lammps import Prism

    with LammpsSession(atoms, pot) as s:
        e = s.potential_energy_ev()
        ids = s.gather("id", 0, 1).astype(int)
        f = s.gather("f", 1, 3)[np.argsort(ids)] * pot.units.energy_ev
    # LAMMPS holds a general cell rotated into its lower-triangular frame: rotate back
    f = Prism(atoms.cell.array, pbc=atoms.pbc).vector_to_ase(f)
    return e, f


def errors_by_family(pot: Potential, atoms_list, split: str | None = "test") -> dict:
    """rms errors of ``pot`` against the labels, per family and over all (``split``: only the
    configurations whose ``info['split']`` is this; None: all).

    Returns ``{family: {configurations, energy_rmse_ev_per_atom, force_rmse_ev_per_angstrom,
    energy_max_ev_per_atom}}`` with an ``"all"`` row.
    """
    rows: dict[str, dict] = {}
    for a in atoms_list:
        if split is not None and a.info.get("split", "train") != split:
            continue
        e, f = single_point(a, pot)
        de = (e - a.get_potential_energy()) / len(a)
        df = (f - a.get_forces()).ravel()
        for fam in (a.info.get("family", "other"), "all"):
            r = rows.setdefault(fam, {"de": [], "df": []})
            r["de"].append(de)
            r["df"].append(df)
    out = {}
    for fam, r in rows.items():
        de = np.asarray(r["de"])
        df = np.concatenate(r["df"])
        out[fam] = {"configurations": int(de.size),
                    "energy_rmse_ev_per_atom": float(np.sqrt(np.mean(de ** 2))),
                    "energy_max_ev_per_atom": float(np.max(np.abs(de))),
                    "force_rmse_ev_per_angstrom": float(np.sqrt(np.mean(df ** 2)))}
    return out


def _relaxed_energy(atoms: Atoms, pot: Potential, couple: str = "iso") -> tuple[float, Atoms]:
    with LammpsSession(atoms, pot) as s:
        s.minimize(box=True, ftol_ev_per_angstrom=1e-5, couple=couple)
        e = s.minimize(box=True, ftol_ev_per_angstrom=1e-5, couple=couple)
        return e, s.get_atoms(velocities=False)


def end_members(pot: Potential) -> dict:
    """Relaxed energies per atom (eV) of bcc Li and diamond Si."""
    e_li, _ = _relaxed_energy(bulk("Li", "bcc", a=3.44, cubic=True).repeat(3), pot)
    e_si, _ = _relaxed_energy(bulk("Si", "diamond", a=5.45, cubic=True), pot)
    return {"li_ev_per_atom": e_li / 54, "si_ev_per_atom": e_si / 8}


def li15si4_figures(pot: Potential) -> dict:
    """c-Li15Si4 relaxed lattice constant (Å) and formation energy (eV/atom, vs the potential's
    own bcc Li and diamond Si)."""
    mu = end_members(pot)
    e, a = _relaxed_energy(li15si4_unit_cell(10.56), pot)
    n_li = a.get_chemical_symbols().count("Li")
    n_si = len(a) - n_li
    return {"li15si4_a_angstrom": float(np.cbrt(a.get_volume())),
            "li15si4_formation_ev_per_atom": float((e - n_li * mu["li_ev_per_atom"]
                                                    - n_si * mu["si_ev_per_atom"]) / len(a))}


def crystal_hull(pot: Potential, crystals: dict) -> dict:
    """Formation energies (eV/atom) of the reference crystals after relaxation with ``pot``
    (positions and cell, anisotropic), beside PBE's (``info['pbe_energy_ev']``), and their rms."""
    rel = {}
    for name, a in crystals.items():
        e, r = _relaxed_energy(a, pot, couple="aniso" if a.cell.orthorhombic else "tri")
        rel[name] = (e, r)
    if "Li" not in rel or "Si" not in rel:
        return {}
    mu_li = rel["Li"][0] / len(rel["Li"][1])
    mu_si = rel["Si"][0] / len(rel["Si"][1])
    pbe = {n: a.info.get("pbe_energy_ev") for n, a in crystals.items()}
    have_pbe = all(v is not None for v in pbe.values())
    if have_pbe:
        pmu_li = pbe["Li"] / len(crystals["Li"])
        pmu_si = pbe["Si"] / len(crystals["Si"])
    rows, d = {}, []
    for name, (e, r) in rel.items():
        if name in ("Li", "Si"):
            continue
        sym = r.get_chemical_symbols()
        n_li, n_si = sym.count("Li"), sym.count("Si")
        ef = (e - n_li * mu_li - n_si * mu_si) / len(r)
        row = {"x": n_li / n_si, "formation_ev_per_atom": float(ef)}
        if have_pbe:
            ef_pbe = (pbe[name] - n_li * pmu_li - n_si * pmu_si) / len(r)
            row["pbe_formation_ev_per_atom"] = float(ef_pbe)
            d.append(ef - ef_pbe)
        rows[name] = row
    out = {"crystals": rows}
    if d:
        out["formation_rmse_vs_pbe_ev_per_atom"] = float(np.sqrt(np.mean(np.square(d))))
    return out


def md_speed(pot: Potential, repeat: int = 2, steps: int = 200) -> dict:
    """Atom-steps per second of NVE MD on c-Li15Si4 (``repeat``^3 unit cells, one rank)."""
    atoms = li15si4_unit_cell(10.6).repeat(repeat)
    with LammpsSession(atoms, pot) as s:
        s.create_velocities(300.0, 1)
        s.command("fix dealloy_speed all nve")
        s.command("run 10")
        t = time.perf_counter()
        s.command(f"run {steps}")
        dt = time.perf_counter() - t
    return {"atoms": len(atoms), "steps": steps, "atom_steps_per_s": len(atoms) * steps / dt}


def teacher_li15si4(teacher, fmax: float = 0.01) -> dict:
    """The teacher's own c-Li15Si4 lattice constant and formation energy (ASE relaxations with a
    FrechetCellFilter, cubic symmetry kept by the filter's isotropic scaling)."""
    from ase.filters import FrechetCellFilter
    from ase.optimize import FIRE

    def relax(a):
        a = a.copy()
        a.calc = teacher.calculator
        opt = FIRE(FrechetCellFilter(a, hydrostatic_strain=True), logfile=None)
        opt.run(fmax=fmax, steps=400)
        return a.get_potential_energy(), a

    e_li, li = relax(bulk("Li", "bcc", a=3.44, cubic=True))
    e_si, si = relax(bulk("Si", "diamond", a=5.45, cubic=True))
    e, c = relax(li15si4_unit_cell(10.56))
    n_li = c.get_chemical_symbols().count("Li")
    n_si = len(c) - n_li
    return {"li15si4_a_angstrom": float(np.cbrt(c.get_volume())),
            "li15si4_formation_ev_per_atom": float((e - n_li * e_li / len(li)
                                                    - n_si * e_si / len(si)) / len(c))}


__all__ = ["PBE_LI15SI4", "crystal_hull", "end_members", "errors_by_family", "li15si4_figures",
           "md_speed", "single_point", "teacher_hull_single_points", "teacher_li15si4"]


def teacher_hull_single_points(teacher, crystals: dict) -> dict:
    """Formation energies (eV/atom) of the reference crystals by single points of ``teacher`` at
    the given (PBE) geometries, and their rms against PBE -- the cheap first measure for choosing
    a teacher (``crystals`` as from :func:`dealloy.fit.dataset.reference_crystals`)."""
    e = {}
    for name, a in crystals.items():
        b = a.copy()
        b.calc = teacher.calculator
        e[name] = b.get_potential_energy()
    n = {k: (a.get_chemical_symbols().count("Li"), a.get_chemical_symbols().count("Si"))
         for k, a in crystals.items()}
    mu_li, mu_si = e["Li"] / len(crystals["Li"]), e["Si"] / len(crystals["Si"])
    p_li = crystals["Li"].info["pbe_energy_ev"] / len(crystals["Li"])
    p_si = crystals["Si"].info["pbe_energy_ev"] / len(crystals["Si"])
    rows, d = {}, []
    for k, a in crystals.items():
        if k in ("Li", "Si"):
            continue
        nl, ns = n[k]
        ef = (e[k] - nl * mu_li - ns * mu_si) / len(a)
        ef_pbe = (a.info["pbe_energy_ev"] - nl * p_li - ns * p_si) / len(a)
        rows[k] = {"formation_ev_per_atom": float(ef), "pbe_formation_ev_per_atom": float(ef_pbe)}
        d.append(ef - ef_pbe)
    return {"crystals": rows, "formation_rmse_vs_pbe_ev_per_atom": float(np.sqrt(np.mean(np.square(d))))}

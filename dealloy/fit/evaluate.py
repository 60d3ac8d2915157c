"""Validation numbers of a fitted student.

Errors against the teacher's labels by configuration family, c-Li15Si4 formation energy and
lattice constant, the formation energies of the PBE crystals (hull rms), and MD speed.
Everything runs through :class:`~dealloy.lammps.session.LammpsSession`.

A formation energy per atom of Li_n Si_m is ``(E - n mu_Li - m mu_Si) / (n + m)`` with the
energies per atom of relaxed bcc Li and diamond Si of the same model as ``mu``.

References
----------
.. [MP] A. Jain et al., "Commentary: The Materials Project: A materials genome approach to
   accelerating materials innovation", APL Mater. 1 (2013) 011002, doi:10.1063/1.4812323
   (c-Li15Si4: mp-569849).
.. [OV] M. B. Oviedo, F. Fernandez, M. Otero, E. P. M. Leiva, S. A. Paz, "Density Functional
   Tight-Binding Model for Lithium-Silicon Alloys", J. Phys. Chem. A 127 (2023) 2637 (the PBE
   crystals, Materials Project settings).
.. [FIRE] E. Bitzek, P. Koskinen, F. Gähler, M. Moseler, P. Gumbsch, "Structural Relaxation
   Made Simple", Phys. Rev. Lett. 97 (2006) 170201, doi:10.1103/PhysRevLett.97.170201.
"""

from __future__ import annotations

import time

import numpy as np
from ase import Atoms
from ase.build import bulk

from dealloy import materials as M
from dealloy.lammps.session import LammpsSession
from dealloy.lammps.potentials import ELEMENTS, Potential
from dealloy.potentials.validate import isolated_atom_energy_ev, li15si4_unit_cell

#: c-Li15Si4 PBE formation energy (eV/atom) and lattice constant (Å): Materials Project
#: mp-569849 as redistributed by Oviedo et al., J. Phys. Chem. A 127 (2023) 2637
PBE_LI15SI4 = {"formation_ev_per_atom": M.LI15SI4_FORMATION_PBE_EV_PER_ATOM,
               "a_angstrom": M.LI15SI4_A_PBE_ANGSTROM}


def single_point(atoms: Atoms, pot: Potential) -> tuple[float, np.ndarray]:
    """Compute the energy and forces of ``pot`` on ``atoms`` (a LAMMPS single point).

    Parameters
    ----------
    atoms : ase.Atoms
        A Li-Si structure of N atoms (any cell; a general cell is rotated for LAMMPS and back).
    pot : dealloy.lammps.potentials.Potential
        The potential.

    Returns
    -------
    energy : float
        Potential energy, eV.
    forces : numpy.ndarray, shape (N, 3)
        Forces, eV/Å, in the order and Cartesian frame of ``atoms``.

    Raises
    ------
    ConfigError
        A structure with elements other than Li and Si, or no atoms.
    SimulationError
        LAMMPS fails (e.g. atoms lost, a command error).
    """
    from ase.calculators.lammps import Prism

    with LammpsSession(atoms, pot) as s:
        e = s.potential_energy_ev()
        ids = s.gather("id", 0, 1).astype(int)
        f = s.gather("f", 1, 3)[np.argsort(ids)] * pot.units.energy_ev
    # LAMMPS holds a general cell rotated into its lower-triangular frame: rotate back
    f = Prism(atoms.cell.array, pbc=atoms.pbc).vector_to_ase(f)
    return e, f


def errors_by_family(pot: Potential, atoms_list, split: str | None = "test") -> dict:
    """Compute the rms errors of ``pot`` against the labels, per family and over all.

    Parameters
    ----------
    pot : dealloy.lammps.potentials.Potential
        The fitted potential.
    atoms_list : list of ase.Atoms
        Labelled configurations (energy in eV, forces in eV/Å; ``info['family']``,
        ``info['split']``).
    split : str or None
        Only the configurations whose ``info['split']`` is this (``"test"``, ``"train"``);
        None: all.

    Returns
    -------
    dict
        ``{family: {configurations, energy_rmse_ev_per_atom, energy_max_ev_per_atom,
        force_rmse_ev_per_angstrom}}`` with an ``"all"`` row, and, when the ``shortrange``
        family is present, an ``"all_but_shortrange"`` row: shortrange's random packings and
        8-12 % compressed crystals are there so MD never falls into an unphysical hole, lie
        eV above anything MD visits, and their errors (tens of meV/atom) otherwise dominate
        "all". The energy error is per atom, the force error over every Cartesian component.
        Empty when no configuration matches.

    Raises
    ------
    ConfigError
        A structure with elements other than Li and Si, or no atoms.
    SimulationError
        LAMMPS fails (e.g. atoms lost, a command error).
    """
    rows: dict[str, dict] = {}
    for a in atoms_list:
        if split is not None and a.info.get("split", "train") != split:
            continue
        e, f = single_point(a, pot)
        de = (e - a.get_potential_energy()) / len(a)
        df = (f - a.get_forces()).ravel()
        fam0 = a.info.get("family", "other")
        for fam in (fam0, "all") + (() if fam0 == "shortrange" else ("all_but_shortrange",)):
            r = rows.setdefault(fam, {"de": [], "df": []})
            r["de"].append(de)
            r["df"].append(df)
    if "shortrange" not in rows:  # then it is the "all" row again
        rows.pop("all_but_shortrange", None)
    out = {}
    for fam, r in rows.items():
        de = np.asarray(r["de"])
        df = np.concatenate(r["df"])
        out[fam] = {"configurations": int(de.size),
                    "energy_rmse_ev_per_atom": float(np.sqrt(np.mean(de ** 2))),
                    "energy_max_ev_per_atom": float(np.max(np.abs(de))),
                    "force_rmse_ev_per_angstrom": float(np.sqrt(np.mean(df ** 2)))}
    return out


def isolated_atoms(pot: Potential) -> dict:
    """Compute the energy of one isolated atom of each element with ``pot``.

    Through :func:`dealloy.potentials.validate.isolated_atom_energy_ev` (for ML-POD and SNAP a
    difference with a probe beyond the cutoff: LAMMPS' ML-POD crashes on an atom without
    neighbour-list candidates). A fit with reference energies ``teacher-atoms`` gives the
    teacher's values here (:func:`dealloy.fit.students.fit_pod`).

    Parameters
    ----------
    pot : dealloy.lammps.potentials.Potential
        The potential.

    Returns
    -------
    dict
        ``{"Li": eV, "Si": eV}``.

    Raises
    ------
    SimulationError
        LAMMPS fails.
    """
    return {el: float(isolated_atom_energy_ev(el, pot)) for el in ELEMENTS}


def _relaxed_energy(atoms: Atoms, pot: Potential, couple: str = "iso") -> tuple[float, Atoms]:
    with LammpsSession(atoms, pot) as s:
        s.minimize(box=True, ftol_ev_per_angstrom=1e-5, couple=couple)
        e = s.minimize(box=True, ftol_ev_per_angstrom=1e-5, couple=couple)
        return e, s.get_atoms(velocities=False)


def end_members(pot: Potential) -> dict:
    """Compute the relaxed energies per atom of bcc Li and diamond Si with ``pot``.

    Positions and cell are relaxed (isotropic box relaxation) from a = 3.44 Å (Li, 54 atoms) and
    5.45 Å (Si, 8 atoms).

    Parameters
    ----------
    pot : dealloy.lammps.potentials.Potential
        The potential.

    Returns
    -------
    dict
        ``li_ev_per_atom``, ``si_ev_per_atom`` (eV/atom).

    Raises
    ------
    SimulationError
        LAMMPS fails.
    """
    e_li, _ = _relaxed_energy(bulk("Li", "bcc", a=3.44, cubic=True).repeat(3), pot)
    e_si, _ = _relaxed_energy(bulk("Si", "diamond", a=5.45, cubic=True), pot)
    return {"li_ev_per_atom": e_li / 54, "si_ev_per_atom": e_si / 8}


def li15si4_figures(pot: Potential) -> dict:
    """Compute the relaxed c-Li15Si4 lattice constant and formation energy of ``pot``.

    Parameters
    ----------
    pot : dealloy.lammps.potentials.Potential
        The potential.

    Returns
    -------
    dict
        ``li15si4_a_angstrom`` (Å, cube root of the relaxed cell volume) and
        ``li15si4_formation_ev_per_atom`` (eV/atom, against the potential's own bcc Li and
        diamond Si, :func:`end_members`); compare with :data:`PBE_LI15SI4` [MP]_, [OV]_.

    Raises
    ------
    SimulationError
        LAMMPS fails (e.g. an unstable potential loses atoms).
    """
    mu = end_members(pot)
    e, a = _relaxed_energy(li15si4_unit_cell(10.56), pot)
    n_li = a.get_chemical_symbols().count("Li")
    n_si = len(a) - n_li
    return {"li15si4_a_angstrom": float(np.cbrt(a.get_volume())),
            "li15si4_formation_ev_per_atom": float((e - n_li * mu["li_ev_per_atom"]
                                                    - n_si * mu["si_ev_per_atom"]) / len(a))}


def crystal_hull(pot: Potential, crystals: dict) -> dict:
    """Compute the formation energies of the reference crystals relaxed with ``pot``, beside PBE's.

    Positions and cell are relaxed (anisotropic, or triclinic for a non-orthorhombic cell).

    Parameters
    ----------
    pot : dealloy.lammps.potentials.Potential
        The potential.
    crystals : dict
        Phase name -> ase.Atoms, including ``"Li"`` and ``"Si"`` (the end members); PBE total
        energies (eV) in ``info['pbe_energy_ev']`` when known
        (:func:`dealloy.fit.dataset.reference_crystals`).

    Returns
    -------
    dict
        ``{"crystals": {name: {x, formation_ev_per_atom[, pbe_formation_ev_per_atom]}}}`` (x =
        Li/Si, eV/atom) and, when every crystal has a PBE energy,
        ``formation_rmse_vs_pbe_ev_per_atom``; {} without the Li and Si end members.

    Raises
    ------
    SimulationError
        LAMMPS fails.

    References
    ----------
    The PBE crystals: [OV]_ (Materials Project settings, [MP]_).
    """
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
    """Measure the MD speed of ``pot``: NVE MD on c-Li15Si4 on one rank.

    Parameters
    ----------
    pot : dealloy.lammps.potentials.Potential
        The potential.
    repeat : int
        Unit cells along each axis (``repeat``^3 cells of 76 atoms).
    steps : int
        Timed MD steps (after 10 untimed ones).

    Returns
    -------
    dict
        ``atoms``, ``steps`` and ``atom_steps_per_s`` (atoms x steps / wall second).

    Raises
    ------
    SimulationError
        LAMMPS fails.
    """
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
    """Compute the teacher's own c-Li15Si4 lattice constant and formation energy.

    ASE relaxations (FIRE [FIRE]_ on a ``FrechetCellFilter`` with hydrostatic strain only, so
    cubic cells stay cubic) of bcc Li, diamond Si and c-Li15Si4.

    Parameters
    ----------
    teacher : dealloy.fit.teacher.Teacher
        The teacher (its ASE calculator).
    fmax : float
        Force convergence criterion of the relaxations, eV/Å (at most 400 steps).

    Returns
    -------
    dict
        ``li15si4_a_angstrom`` (Å), ``li15si4_formation_ev_per_atom`` (eV/atom, against the
        teacher's bcc Li and diamond Si), and the three relaxed energies behind it,
        ``bcc_li_ev_per_atom``, ``diamond_si_ev_per_atom`` and ``li15si4_ev_per_atom`` (eV/atom),
        the teacher's own references for any other formation energy.
    """
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
                                                    - n_si * e_si / len(si)) / len(c)),
            "bcc_li_ev_per_atom": float(e_li / len(li)), "diamond_si_ev_per_atom": float(e_si / len(si)),
            "li15si4_ev_per_atom": float(e / len(c))}


__all__ = ["PBE_LI15SI4", "crystal_hull", "end_members", "errors_by_family", "isolated_atoms",
           "li15si4_figures", "md_speed", "single_point", "teacher_hull_single_points", "teacher_li15si4"]


def teacher_hull_single_points(teacher, crystals: dict) -> dict:
    """Compute the teacher's formation energies of the PBE crystals at the PBE geometries.

    Single points, no relaxation: the cheap first measure for choosing a teacher.

    Parameters
    ----------
    teacher : dealloy.fit.teacher.Teacher
        The teacher (its ASE calculator).
    crystals : dict
        Phase name -> ase.Atoms with ``info['pbe_energy_ev']`` (eV), including ``"Li"`` and
        ``"Si"`` (:func:`dealloy.fit.dataset.reference_crystals` with the PBE folder).

    Returns
    -------
    dict
        ``{"crystals": {name: {formation_ev_per_atom, pbe_formation_ev_per_atom}},
        "formation_rmse_vs_pbe_ev_per_atom": float}`` (eV/atom).

    Raises
    ------
    KeyError
        A crystal without a PBE energy, or no ``"Li"`` or ``"Si"`` end member.

    References
    ----------
    The PBE crystals: [OV]_ (Materials Project settings, [MP]_).
    """
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

"""Crystal validation of a potential: what it predicts for bcc Li, diamond Si and c-Li15Si4.

``validate_crystals(potential)`` computes with LAMMPS (through :class:`LammpsSession`): relaxed
lattice constants, cohesive energies (against the isolated atom), the c-Li15Si4 formation energy
per atom (against the potential's own bcc Li and diamond Si), its bulk modulus (Birch-Murnaghan
fit to fixed-volume relaxations at +-2 % strain), and whether the I-43d structure survives
relaxation and ``md_ps`` of NPT MD at ``temperature_k`` (spglib on the re-minimised end state).
Reference values are printed beside them; tests assert the potential's own numbers.

References
----------
.. [MP] A. Jain et al., APL Mater. 1 (2013) 011002, doi:10.1063/1.4812323 (Materials Project:
   c-Li15Si4 mp-569849, the I-43d sites; the PBE settings of [OV]_).
.. [OV] M. B. Oviedo, F. Fernandez, M. Otero, E. P. M. Leiva, S. A. Paz, "Density functional
   tight-binding model for lithium-silicon alloys", J. Phys. Chem. A 127 (2023) 2637-2645,
   doi:10.1021/acs.jpca.3c00075 (PBE c-Li15Si4 lattice constant 10.566 Å and formation energy
   -0.243 eV/atom; data in ../shared/reference/pbe-crystals).
.. [ZF] M. Zeilinger et al., Chem. Mater. 25 (2013) 4113-4121, doi:10.1021/cm402721n
   (c-Li15Si4 a = 10.632 Å at 123 K).
.. [OC] M. N. Obrovac, L. Christensen, Electrochem. Solid-State Lett. 7 (2004) A93-A96,
   doi:10.1149/1.1652421 (c-Li15Si4 at room temperature, a = 10.685 Å).
.. [Kittel] C. Kittel, Introduction to Solid State Physics (Wiley), table of cohesive energies
   (Li 1.63 eV/atom, Si 4.63 eV/atom; a book, no DOI). The room-temperature lattice constants
   are experimental: bcc Li 3.51 Å (:data:`dealloy.materials.LI_BCC_A_ANGSTROM`, M. R. Nadler,
   C. P. Kempter, Anal. Chem. 31 (1959) 2109); diamond Si 5.431 Å
   (:data:`dealloy.materials.SI_A_ANGSTROM`), whose source the code does not name.
.. [Birch] F. Birch, "Finite elastic strain of cubic crystals", Phys. Rev. 71 (1947) 809 (the
   Birch-Murnaghan equation of state, as :class:`ase.eos.EquationOfState` fits it; DOI not
   checked here).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
from ase import Atoms
from ase.build import bulk

from dealloy import materials as M
from dealloy.lammps.session import LammpsSession
from dealloy.io import progress_hook
from dealloy.lammps.potentials import DEFAULT_POTENTIAL, FITTED_KINDS, Potential, get_potential

# c-Li15Si4, I-43d (No. 220): dealloy.materials (sources there)
LI15SI4_SPACEGROUP = M.LI15SI4_SPACE_GROUP
LI15SI4_BASIS = {f"{el}_{w}": xyz for el, w, xyz in M.LI15SI4_WYCKOFF_SITES}

REFERENCES = {
    "li_a_angstrom": (M.LI_BCC_A_ANGSTROM, "experiment (bcc Li, room temperature)"),
    "li_ecoh_ev": (1.63, "experiment"),
    "si_a_angstrom": (M.SI_A_ANGSTROM, "experiment"),
    "si_ecoh_ev": (4.63, "experiment"),
    "li15si4_a_angstrom": (M.LI15SI4_A_PBE_ANGSTROM,
                           f"PBE (0 K); experiment {M.LI15SI4_A_123K_ANGSTROM:g} A at 123 K"),
    "li15si4_a_300k_angstrom": (M.LI15SI4_A_ANGSTROM, "experiment, room temperature"),
    "li15si4_formation_ev_per_atom": (M.LI15SI4_FORMATION_PBE_EV_PER_ATOM, "PBE"),
}


def li15si4_unit_cell(a: float = M.LI15SI4_A_ANGSTROM) -> Atoms:
    """Build the conventional c-Li15Si4 cell (60 Li + 16 Si, I-43d [MP]_).

    Parameters
    ----------
    a : float
        Lattice constant (Å); default 10.685 Å (room temperature, [OC]_).

    Returns
    -------
    ase.Atoms
        Periodic cubic cell.
    """
    return M.li15si4_conventional_cell(a)


@dataclass
class CrystalValidation:
    """The crystal validation figures of one potential (:func:`validate_crystals`).

    Parameters
    ----------
    potential : str
        Registry name.
    li_a_angstrom, si_a_angstrom : float
        Relaxed bcc-Li and diamond-Si lattice constants (Å).
    li_ecoh_ev, si_ecoh_ev : float
        Cohesive energies (eV/atom) against the isolated atom.
    li15si4_a_angstrom : float
        Relaxed (0 K) c-Li15Si4 lattice constant (Å).
    li15si4_formation_ev_per_atom : float
        c-Li15Si4 formation energy against the potential's bcc Li and diamond Si (eV/atom).
    li15si4_bulk_modulus_gpa : float
        Birch-Murnaghan bulk modulus (GPa).
    li15si4_spacegroup_relaxed : int
        Space group number after relaxation (220 = I-43d; 0 = not found).
    li15si4_a_300k_angstrom : float
        Lattice constant averaged over the second half of the NPT run (Å).
    li15si4_spacegroup_after_md : int
        Space group of the re-minimised MD end state at 0.3 Å tolerance.
    li15si4_max_displacement_after_md_angstrom : float
        Largest displacement from the relaxed sites after MD (Å, drift removed).
    md_ps : float
        NPT time (ps).
    temperature_k : float
        NPT temperature (K).
    notes : list of str
        Remarks (e.g. a distorted minimum).
    """

    potential: str
    li_a_angstrom: float
    li_ecoh_ev: float
    si_a_angstrom: float
    si_ecoh_ev: float
    li15si4_a_angstrom: float
    li15si4_formation_ev_per_atom: float
    li15si4_bulk_modulus_gpa: float
    li15si4_spacegroup_relaxed: int
    li15si4_a_300k_angstrom: float
    li15si4_spacegroup_after_md: int
    li15si4_max_displacement_after_md_angstrom: float
    md_ps: float
    temperature_k: float
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Return the figures as a plain dict (field name -> value), for ``--json``."""
        return asdict(self)

    def rows(self) -> list[tuple[str, float, float | None, str]]:
        """List the table rows.

        Returns
        -------
        list of tuple
            (label with unit, value, reference value or None, reference source) per quantity.
        """
        d = self.as_dict()
        labels = [
            ("li_a_angstrom", "bcc Li a (Å)"),
            ("li_ecoh_ev", "bcc Li E_coh (eV/atom)"),
            ("si_a_angstrom", "diamond Si a (Å)"),
            ("si_ecoh_ev", "diamond Si E_coh (eV/atom)"),
            ("li15si4_a_angstrom", "c-Li15Si4 a, 0 K (Å)"),
            ("li15si4_a_300k_angstrom", f"c-Li15Si4 a, {self.temperature_k:g} K (Å)"),
            ("li15si4_formation_ev_per_atom", "c-Li15Si4 E_f (eV/atom)"),
            ("li15si4_bulk_modulus_gpa", "c-Li15Si4 bulk modulus (GPa)"),
            ("li15si4_spacegroup_relaxed", "c-Li15Si4 space group, relaxed"),
            ("li15si4_spacegroup_after_md", f"c-Li15Si4 space group after {self.md_ps:g} ps MD"),
            ("li15si4_max_displacement_after_md_angstrom", "  largest site displacement (Å)"),
        ]
        out = []
        for key, label in labels:
            ref = REFERENCES.get(key)
            if key.startswith("li15si4_spacegroup"):
                ref = (LI15SI4_SPACEGROUP, "I-43d")
            out.append((label, d[key], ref[0] if ref else None, ref[1] if ref else ""))
        return out

    def table(self) -> str:
        """Format the figures beside their references, with the deviation in %.

        Returns
        -------
        str
            A plain-text table, one quantity per line, then the notes.
        """
        lines = [f"Crystal validation of '{self.potential}'",
                 f"{'quantity':<36} {'dealloy':>10} {'reference':>10} {'deviation':>10}  source"]
        for label, val, ref, src in self.rows():
            if isinstance(val, int) or label.startswith("c-Li15Si4 space"):
                v = f"{val:d}" if val > 0 else "lost"
                r = f"{ref:d}" if ref else ""
                dev = "ok" if val == ref else "CHANGED"
            else:
                v = f"{val:.5g}" if math.isfinite(val) else "n/a"
                r = f"{ref:.5g}" if ref is not None else ""
                dev = f"{100 * (val - ref) / abs(ref):+.1f} %" if ref else ""
            lines.append(f"{label:<36} {v:>10} {r:>10} {dev:>10}  {src}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


SURVIVAL_SYMPREC_ANGSTROM = 0.3


def _max_site_displacement(ref: Atoms, other: Atoms) -> float:
    """Largest displacement (Å) of an atom from its site in ``ref`` (same order), drift removed."""
    d = other.get_scaled_positions() - ref.get_scaled_positions()
    d -= np.round(d)
    d -= d.mean(axis=0)
    return float(np.linalg.norm(d @ other.cell.array, axis=1).max())


def _spacegroup(atoms: Atoms, symprec: float = 0.05) -> int:
    import spglib

    cell = (atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers)
    ds = spglib.get_symmetry_dataset(cell, symprec=symprec)
    return int(ds.number) if ds is not None else 0


def relax_bulk(atoms: Atoms, pot: Potential, comm=None) -> tuple[Atoms, float]:
    """Relax a periodic cell's positions and box at zero pressure (two LAMMPS minimisations).

    The second ``minimize`` (box and positions, force tolerance 1e-6 eV/Å) restarts after the
    cell change of the first, so the energy is that of the relaxed cell.

    Parameters
    ----------
    atoms : ase.Atoms
        Periodic start cell (Å).
    pot : Potential
        The potential.
    comm : mpi4py.MPI.Comm, optional
        Communicator for LAMMPS.

    Returns
    -------
    tuple of (ase.Atoms, float)
        The relaxed cell (Å) and its total potential energy (eV).

    Raises
    ------
    SimulationError
        When LAMMPS fails.
    """
    with LammpsSession(atoms, pot, comm=comm) as s:
        s.minimize(box=True, ftol_ev_per_angstrom=1e-6)
        e = s.minimize(box=True, ftol_ev_per_angstrom=1e-6)  # second pass after cell change
        return s.get_atoms(velocities=False), e


def isolated_atom_energy_ev(symbol: str, pot: Potential, comm=None) -> float:
    """Compute the energy of one atom alone in vacuum (zero for MEAM, not for ReaxFF or ML-POD).

    For MEAM and ReaxFF the atom is put alone in a box. A fitted potential (``pot.kind`` in
    ``FITTED_KINDS``: ML-POD, SNAP) has a strictly finite cutoff, and LAMMPS' ML-POD crashes on an
    atom without neighbour-list candidates (lammps/lammps issue #5114, see
    :func:`dealloy.lammps.session.check_pod_neighbours`). For these the energy is a difference
    with a probe: E(Si4 tetrahedron + the atom) - E(Si4 tetrahedron), the atom placed so that its
    nearest host atom is 0.5 Å beyond the cutoff (no interaction, exact for a finite-range
    potential) and the host stays within the neighbour-list skin (4 Å here).

    Parameters
    ----------
    symbol : str
        ``"Li"`` or ``"Si"``.
    pot : Potential
        The potential.
    comm : mpi4py.MPI.Comm, optional
        Communicator for LAMMPS.

    Returns
    -------
    float
        Energy (eV).

    Raises
    ------
    SimulationError
        When LAMMPS fails.
    """
    if pot.kind not in FITTED_KINDS:
        atoms = Atoms(symbol, positions=[[10.0, 10.0, 10.0]], cell=[20.0, 20.0, 20.0], pbc=False)
        with LammpsSession(atoms, pot, comm=comm) as s:
            return s.potential_energy_ev()
    # Si4 tetrahedron with 2.35 Å edges (the Si-Si bond), vertices at (±h, ±h, ±h)
    h = 2.35 / math.sqrt(8.0)
    tet = h * np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
    gap = float(pot.cutoff_angstrom) + 0.5  # probe to the nearest vertex (x = +h)
    box = 2.0 * (gap + 10.0)
    centre = np.full(3, box / 2.0)
    host = Atoms("Si4", positions=tet + centre, cell=[box] * 3, pbc=False)
    probe = host + Atoms(symbol, positions=[centre + [h + gap, 0.0, 0.0]])
    energies = []
    for atoms in (host, probe):
        with LammpsSession(atoms, pot, comm=comm, neighbor_skin_angstrom=4.0) as s:
            energies.append(s.potential_energy_ev())
    return energies[1] - energies[0]


def bulk_modulus_gpa(atoms: Atoms, pot: Potential, strain: float = 0.02, npoints: int = 7,
                     comm=None) -> float:
    """Fit the Birch-Murnaghan bulk modulus to fixed-volume relaxations.

    Parameters
    ----------
    atoms : ase.Atoms
        Relaxed periodic structure (Å).
    pot : Potential
        The potential.
    strain : float
        Largest linear strain (fraction) either way.
    npoints : int
        Number of volumes.
    comm : mpi4py.MPI.Comm, optional
        Communicator for LAMMPS.

    Returns
    -------
    float
        Bulk modulus (GPa).

    Raises
    ------
    SimulationError
        When LAMMPS fails.
    RuntimeError
        When ASE's equation-of-state fit fails.

    References
    ----------
    F. Birch, Phys. Rev. 71 (1947) 809 (module references).
    """
    from ase.eos import EquationOfState
    from ase.units import GPa

    vols, energies = [], []
    for eps in np.linspace(-strain, strain, npoints):
        a = atoms.copy()
        a.set_cell(atoms.cell * (1 + eps), scale_atoms=True)
        with LammpsSession(a, pot, comm=comm) as s:
            energies.append(s.minimize(ftol_ev_per_angstrom=1e-6))
            vols.append(a.get_volume())
    eos = EquationOfState(vols, energies, eos="birchmurnaghan")
    _, _, b = eos.fit()
    return float(b / GPa)


def validate_crystals(potential: Potential | str = DEFAULT_POTENTIAL, md_ps: float = 10.0,
                      temperature_k: float = 300.0, seed: int = 1, comm=None,
                      progress=None) -> CrystalValidation:
    """Compute the crystal validation figures for ``potential`` (see module docstring).

    Parameters
    ----------
    potential : Potential or str
        Registry potential or name.
    md_ps : float
        NPT time at ``temperature_k`` (ps); the lattice constant is averaged over its second half.
    temperature_k : float
        MD temperature (K); velocities start at twice it.
    seed : int
        Velocity seed.
    comm : mpi4py.MPI.Comm, optional
        Communicator for LAMMPS.
    progress : callable, optional
        Progress hook (:func:`dealloy.io.progress_hook`): called at each check with its share of
        the work.

    Returns
    -------
    CrystalValidation
        The figures; references in :data:`REFERENCES` ([Kittel]_, [OV]_, [ZF]_, [OC]_).

    Raises
    ------
    ConfigError
        For an unknown potential name or a missing parameter file.
    SimulationError
        When LAMMPS fails.
    LammpsBuildError
        When LAMMPS cannot be opened or lacks the potential's package.
    """
    pot = get_potential(potential) if isinstance(potential, str) else potential
    say = progress_hook(progress)
    notes = []
    steps = ("bcc Li", "diamond Si", "c-Li15Si4 relaxation", "c-Li15Si4 bulk modulus",
             f"c-Li15Si4 {md_ps:g} ps NPT at {temperature_k:g} K")
    # the share of the work each check is (for the ETA): the four relaxations together take
    # about as long as 1 ps of the 76-atom NPT run (meam-godet2020: 1.0 s vs 9-18 s for 10 ps)
    cost = np.array([0.25, 0.25, 0.25, 0.25, md_ps])
    share = np.concatenate([[0.0], np.cumsum(cost) / cost.sum()])

    def step(k: int) -> None:  # the k-th check starts
        say(steps[k], done=float(share[k]), total=1.0, task=f"{pot.name} checks")

    step(0)
    li, e_li = relax_bulk(bulk("Li", "bcc", a=M.LI_BCC_A_ANGSTROM, cubic=True).repeat(4), pot, comm)
    e_li_atom = e_li / len(li)
    li_a = li.cell.lengths()[0] / 4
    step(1)
    si, e_si = relax_bulk(bulk("Si", "diamond", a=M.SI_A_ANGSTROM, cubic=True).repeat(2), pot, comm)
    e_si_atom = e_si / len(si)
    si_a = si.cell.lengths()[0] / 2
    e_iso_li = isolated_atom_energy_ev("Li", pot, comm)
    e_iso_si = isolated_atom_energy_ev("Si", pot, comm)

    step(2)
    cell0 = li15si4_unit_cell()
    lisi, e_lisi = relax_bulk(cell0, pot, comm)
    n_li = sum(1 for s in lisi.get_chemical_symbols() if s == "Li")
    n_si = len(lisi) - n_li
    e_form = (e_lisi - n_li * e_li_atom - n_si * e_si_atom) / len(lisi)
    lisi_a = float(np.cbrt(lisi.get_volume()))
    sg_relaxed = _spacegroup(lisi)
    step(3)
    b_gpa = bulk_modulus_gpa(lisi, pot, comm=comm)

    step(4)
    with LammpsSession(lisi, pot, comm=comm) as s:
        s.create_velocities(2 * temperature_k, seed)
        half = md_ps / 2
        s.md(half, temperature_k, ensemble="npt", damping_ps=0.1, pressure_damping_ps=1.0)
        # average the volume over the second half (after equilibration)
        vid = s.new_id("vol")
        nevery = max(1, s.steps(0.01))
        nsteps = s.steps(half)
        s.command("variable dealloy_vol equal vol")
        s.command(f"fix {vid} all ave/time {nevery} {max(1, nsteps // nevery)} "
                  f"{nevery * max(1, nsteps // nevery)} v_dealloy_vol")
        s.md(half, temperature_k, ensemble="npt", damping_ps=0.1, pressure_damping_ps=1.0)
        vol_avg = float(s.lmp.extract_fix(vid, 0, 0))
        s.command(f"unfix {vid}")
        s.minimize(ftol_ev_per_angstrom=1e-5)
        after = s.get_atoms(velocities=False)
    a_300 = float(np.cbrt(vol_avg))
    say(done=1.0, total=1.0, task=f"{pot.name} checks")
    # Survival: the MD end state, re-minimised, is still I-43d within 0.3 Å (a thermal run cannot
    # leave a crystal exactly on its sites); a tighter look is reported as a note.
    sg_md = _spacegroup(after, symprec=SURVIVAL_SYMPREC_ANGSTROM)
    disp = _max_site_displacement(lisi, after)
    sg_tight = _spacegroup(after, symprec=0.05)
    if sg_md != LI15SI4_SPACEGROUP:
        notes.append(f"c-Li15Si4 lost I-43d during {md_ps:g} ps at {temperature_k:g} K "
                     f"(space group {sg_md} at {SURVIVAL_SYMPREC_ANGSTROM} Å tolerance)")
    elif sg_tight != LI15SI4_SPACEGROUP:
        notes.append(f"after {md_ps:g} ps at {temperature_k:g} K and re-minimisation c-Li15Si4 sits "
                     f"in a slightly distorted minimum (space group {sg_tight} at 0.05 Å tolerance, "
                     f"largest displacement from the relaxed I-43d sites {disp:.2f} Å): I-43d is "
                     "kept within 0.3 Å but is not this potential's exact minimum")
    return CrystalValidation(
        potential=pot.name,
        li_a_angstrom=float(li_a),
        li_ecoh_ev=float(e_iso_li - e_li_atom),
        si_a_angstrom=float(si_a),
        si_ecoh_ev=float(e_iso_si - e_si_atom),
        li15si4_a_angstrom=lisi_a,
        li15si4_formation_ev_per_atom=float(e_form),
        li15si4_bulk_modulus_gpa=b_gpa,
        li15si4_spacegroup_relaxed=sg_relaxed,
        li15si4_a_300k_angstrom=a_300,
        li15si4_spacegroup_after_md=sg_md,
        li15si4_max_displacement_after_md_angstrom=disp,
        md_ps=md_ps,
        temperature_k=temperature_k,
        notes=notes,
    )

"""Materials data of the Li-Si system used across dealloy, each number once, with its source.

The bottom layer: imports nothing from dealloy (only numpy and ASE), so every layer may import it.
Physical constants are not defined here: take them from :mod:`ase.units` (``create_units("2018")``
for CODATA 2018, see :data:`UNITS`) and LAMMPS unit-style factors from
:func:`ase.calculators.lammps.convert`.

References
----------
.. [MP] A. Jain et al., "Commentary: The Materials Project: A materials genome approach to
   accelerating materials innovation", APL Mater. 1 (2013) 011002,
   doi:10.1063/1.4812323; c-Li15Si4 entry mp-569849.
.. [OC] M. N. Obrovac, L. Christensen, "Structural changes in silicon anodes during lithium
   insertion/extraction", Electrochem. Solid-State Lett. 7 (2004) A93-A96, doi:10.1149/1.1652421
   (c-Li15Si4 identified); T. D. Hatchard, J. R. Dahn, "In situ XRD and electrochemical study of
   the reaction of lithium with amorphous silicon", J. Electrochem. Soc. 151 (2004) A838-A842,
   doi:10.1149/1.1739217.
.. [ZF] M. Zeilinger, V. Baran, L. van Wüllen, U. Häussermann, T. F. Fässler, "Stabilizing the
   phase Li15Si4 through lithium-aluminum substitution ...", Chem. Mater. 25 (2013) 4113
   (single crystal, a = 10.6322(9) Å at 123 K).
.. [OV] M. B. Oviedo, F. Fernandez, M. Otero, E. P. M. Leiva, S. A. Paz, "Density Functional
   Tight-Binding Model for Lithium-Silicon Alloys", J. Phys. Chem. A 127 (2023) 2637 (PBE,
   Materials Project settings; data in ../shared/reference/pbe-crystals).
.. [NK] M. R. Nadler, C. P. Kempter, "Crystallographic Data 186. Lithium", Anal. Chem. 31 (1959)
   2109 (bcc Li, a = 3.51004(41) Å at 25 °C).
.. [Ogata] K. Ogata, D.-S. Ko et al., "Spontaneous and mass-conserved formation of continuous Si
   frameworks" (the paper dealloy reproduces; ../shared/paper), Fig. 1D and Methods: dealloying
   of c-Li15Si4 on a quasi-two-phase plateau at ~430 mV; a-LixSi in two broad processes at 300
   mV (a-Li~3.5-3.75Si -> a-Li~2.0Si) and 550 mV (a-Li~2.0Si -> a-Si), vs Li/Li+.
.. [FE] F. Fernandez et al., Phys. Rev. B 108 (2023) 144201, doi:10.1103/PhysRevB.108.144201:
   a-LixSi structures from the DFTB model of [OV]_.
"""

from __future__ import annotations

from ase import Atoms
from ase.spacegroup import crystal
from ase.units import create_units

#: CODATA 2018 constants (``UNITS["kB"]`` eV/K, ``UNITS["_amu"]`` kg, ``UNITS["_Nav"]``, ...).
#: ASE's default ``ase.units`` is CODATA 2014; dealloy's numbers were written with 2018 values.
UNITS = create_units("2018")
#: Kinetic-energy unit conversion: 1 amu·Å²/ps² in eV. CODATA 2018 gives
#: ``UNITS["_amu"] * 1e4 / UNITS["_e"]`` = 1.036426965e-4 (= ``1 / (1000 * UNITS["fs"])**2``);
#: this is that value cut to 8 digits, as every run has drawn Maxwell velocities with it
#: (sigma = sqrt(kB T / (m * EV_PER_AMU_A2_PS2)) Å/ps): kept so that runs stay reproducible
#: (relative difference 6e-8; test_materials.py::test_kinetic_unit_is_codata).
EV_PER_AMU_A2_PS2 = 1.0364269e-4

# ---- LAMMPS type convention ----------------------------------------------------------------
#: dealloy's LAMMPS atom types: type 1 = Li, type 2 = Si (re-exported by :mod:`dealloy.potentials`).
ELEMENTS: tuple[str, ...] = ("Li", "Si")
#: Atomic masses (amu) given to LAMMPS for each element (re-exported by :mod:`dealloy.potentials`).
MASSES_AMU: dict[str, float] = {"Li": 6.941, "Si": 28.086}

# ---- c-Li15Si4 -----------------------------------------------------------------------------
#: x = Li/Si of c-Li15Si4 (15/4), the fully lithiated state: x = X_LI15SI4 * depth of discharge.
X_LI15SI4 = 3.75
#: Space group of c-Li15Si4: I-43d, No. 220 (Cu15Si4 type) [MP]_, [ZF]_.
LI15SI4_SPACE_GROUP = 220
LI15SI4_SPACE_GROUP_SYMBOL = "I-43d"
#: Wyckoff sites of c-Li15Si4 (element, Wyckoff letter, fractional coordinates) [MP]_
#: (mp-569849): Li 12a, Li 48e, Si 16c (x, x, x). 60 Li + 16 Si in the conventional cell.
LI15SI4_WYCKOFF_SITES = (("Li", "12a", (3 / 8, 0.0, 1 / 4)),
                         ("Li", "48e", (0.12307, 0.15391, 0.96344)),
                         ("Si", "16c", (0.45757, 0.45757, 0.45757)))
#: Room-temperature lattice constant of c-Li15Si4 (Å), the value the paper's observables map
#: uses (reference/paper-observables.md); XRD of the phase [OC]_. Default of every builder.
LI15SI4_A_ANGSTROM = 10.685
#: Single-crystal lattice constant at 123 K (Å) [ZF]_.
LI15SI4_A_123K_ANGSTROM = 10.632
#: PBE (0 K) lattice constant (Å) [OV]_ (Materials Project settings).
LI15SI4_A_PBE_ANGSTROM = 10.566
#: PBE formation energy of c-Li15Si4 against bcc Li and diamond Si (eV/atom) [OV]_.
LI15SI4_FORMATION_PBE_EV_PER_ATOM = -0.243
#: PBE energy to extract one Li from c-Li15Si4 towards a-Si, -E_f(per formula) / x (eV/Li) [OV]_.
LI15SI4_EXTRACTION_PBE_EV_PER_LI = 0.307

# ---- Si ------------------------------------------------------------------------------------
#: Diamond Si lattice constant (Å), room temperature (experiment).
SI_A_ANGSTROM = 5.431
#: Density of a-Si (g/cm³) and its mean Si-Si coordination at a 2.9 Å cutoff
#: (reference/paper-observables.md).
A_SI_DENSITY_G_PER_CM3 = 2.28
A_SI_SI_SI_CN = 3.88
#: Molar mass of Si (g/mol), IUPAC standard atomic weight (``ase.data`` rounds it to 28.085).
SI_MOLAR_MASS_G_PER_MOL = 28.0855
#: a-Si volume per Si (Å³) as the amorphous builder's starting density uses it: from
#: A_SI_DENSITY_G_PER_CM3, 28.0855 / 2.28 / 0.602214076 = 20.455, rounded to 20.46.
A_SI_VOLUME_PER_SI_ROUNDED_ANGSTROM3 = 20.46

# ---- Li --------------------------------------------------------------------------------------
#: bcc Li lattice constant (Å), room temperature (experiment, 3.51004(41) Å at 25 °C [NK]_); the
#: starting cell of every Li-metal reference, which the potential then relaxes.
LI_BCC_A_ANGSTROM = 3.51

# ---- the paper's voltages ------------------------------------------------------------------
#: Dealloying plateau of c-Li15Si4 (c-path), V vs Li/Li+ [Ogata]_.
PAPER_C_PLATEAU_V = 0.43
#: The two broad dealloying processes of a-LixSi (a-path), V vs Li/Li+ [Ogata]_.
PAPER_A_PROCESSES_V = (0.30, 0.55)

# ---- particle builders' limits -------------------------------------------------------------
# One source for the builders (dealloy.build, dealloy.builders) and their argument models
# (dealloy.config.builders, a layer below them).
#: Least vacuum on each side of an isolated particle, nm.
MIN_VACUUM_NM = 1.5
#: Least diameter of a melt-quenched amorphous particle, nm.
MIN_AMORPHOUS_DIAMETER_NM = 1.0
#: Least diameter of a core-shell particle, nm.
MIN_CORE_SHELL_DIAMETER_NM = 1.5
#: Fastest quench the melt-quench builders accept, K/s (production quenches: <= 1e13 K/s).
MAX_QUENCH_RATE_K_PER_S = 1e15
#: Crystallinities of the Si particle builder: single crystal, polycrystal.
CRYSTALLINITIES = ("sc", "pc")


def least_grain_nm(a_angstrom: float) -> float:
    """Return the least diameter of a crystal grain (and of a crystalline particle).

    Parameters
    ----------
    a_angstrom : float
        Lattice constant of the crystal, Å.

    Returns
    -------
    float
        Two lattice constants, nm.
    """
    return 2 * a_angstrom / 10


# ---- atomic volumes ------------------------------------------------------------------------
#: Atomic volume of Si in c-Si (Å³): a³/8.
OMEGA_SI_ANGSTROM3 = SI_A_ANGSTROM**3 / 8
#: Atomic volume of Li (Å³) from c-Li15Si4 (60 Li + 16 Si per cell) with the Si at its c-Si
#: volume: (a³/4 - 4 Ω_Si) / 15.
OMEGA_LI_ANGSTROM3 = (LI15SI4_A_ANGSTROM**3 / 4 - 4 * OMEGA_SI_ANGSTROM3) / 15

# ---- amorphous a-LixSi ---------------------------------------------------------------------
#: DFTB a-LixSi [FE]_: x -> (volume per Si Å³, Si-Si coordination number, isolated-Si fraction).
DFTB_A_LIXSI = {
    0.20: (23.6, 3.81, 0.00),
    0.56: (27.7, 3.38, 0.00),
    0.89: (31.4, 2.97, 0.00),
    1.50: (41.1, 2.03, 0.02),
    2.00: (48.9, 1.44, 0.16),
    2.50: (57.0, 1.06, 0.34),
    3.28: (70.1, 0.31, 0.73),
    3.75: (78.6, 0.12, 0.89),
}
#: Si-Si coordination cutoff (Å): the first minimum of the a-Si / a-LixSi Si-Si g(r).
SI_SI_CN_CUTOFF_ANGSTROM = 2.9


def li15si4_conventional_cell(a: float = LI15SI4_A_ANGSTROM) -> Atoms:
    """Build the conventional cubic cell of c-Li15Si4 from :data:`LI15SI4_WYCKOFF_SITES`.

    Parameters
    ----------
    a : float
        Lattice constant (Å); default :data:`LI15SI4_A_ANGSTROM`.

    Returns
    -------
    ase.Atoms
        76 atoms (60 Li, then 16 Si, in ``ase.spacegroup.crystal``'s order), periodic, cubic cell
        ``a``. A new object on every call.

    References
    ----------
    [MP]_ (mp-569849).
    """
    return crystal([s for s, _, _ in LI15SI4_WYCKOFF_SITES],
                   basis=[p for _, _, p in LI15SI4_WYCKOFF_SITES],
                   spacegroup=LI15SI4_SPACE_GROUP, cellpar=[a, a, a, 90, 90, 90],
                   primitive_cell=False)

"""The diamond-Si lattice constant a potential relaxes to (a LAMMPS query, used by the builders).

Moved from ``dealloy/build/crystal.py`` so that the builders reach LAMMPS only through this layer.
"""

from __future__ import annotations

from ase.build import bulk

from dealloy import materials as M
from dealloy.lammps.potentials import get_potential
from dealloy.lammps.session import LammpsSession

# ---- Si lattice constant from a potential ------------------------------------------------
_SI_A_CACHE: dict = {}


def si_lattice_constant(potential) -> float:
    """Relax diamond Si with a potential and return its lattice constant.

    An 8-atom cubic cell relaxed at zero pressure in LAMMPS (atoms and box); cached per potential
    name and parameter files.

    Parameters
    ----------
    potential : str or dealloy.lammps.potentials.Potential
        A registry name (see :func:`dealloy.lammps.potentials.get_potential`) or a potential.

    Returns
    -------
    float
        The lattice constant (Å, rounded to 1e-6 Å).

    Raises
    ------
    ConfigError
        For an unknown potential name.
    LammpsBuildError
        When LAMMPS cannot be opened or lacks the potential's package.
    SimulationError
        When LAMMPS rejects the setup or the minimisation (the message names the command).
    """
    pot = get_potential(potential)
    key = (pot.name, tuple(str(f) for f in pot.files))
    if key not in _SI_A_CACHE:
        with LammpsSession(bulk("Si", "diamond", M.SI_A_ANGSTROM, cubic=True), pot) as s:
            s.minimize(box=True, ftol_ev_per_angstrom=1e-6)
            _SI_A_CACHE[key] = round(float(s.volume_angstrom3() ** (1 / 3)), 6)
    return _SI_A_CACHE[key]


__all__ = ["si_lattice_constant"]

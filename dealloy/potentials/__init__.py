"""Workflows that measure what a potential predicts, above the engine and the analysis.

- :mod:`~dealloy.potentials.validate`: crystal relaxations and MD checks (``dealloy validate-potential``)
- :mod:`~dealloy.potentials.amorphous`: the amorphous-path validation (melt-quench, g(r), Si network)
- :mod:`~dealloy.potentials.energetics`: formation energies and the convex hull
- :mod:`~dealloy.potentials.diffusivity`: Li diffusivity in c-/a-Li15Si4 by MD (``dealloy diffusivity``)

The registry itself (data and lookup, no MD) lives in the bottom LAMMPS layer,
:mod:`dealloy.lammps.potentials`; it is re-exported here (a downward import) so that
``from dealloy.potentials import get_potential`` keeps working in scripts and notebooks.
"""

from __future__ import annotations

from dealloy.lammps import potentials as _registry
from dealloy.lammps.potentials import (DEFAULT_POTENTIAL, ELEMENTS, MANIFEST, MASSES_AMU, METAL,  # noqa: F401
                                       REAL, Potential, Units, ffield_elements, fitted_potential,
                                       get_potential, list_potentials, potentials_dir, reaxff,
                                       user_potentials_dir)


def __getattr__(name: str):
    # POTENTIAL_NAMES follows the registry (PEP 562; see dealloy.lammps.potentials)
    if name == "POTENTIAL_NAMES":
        return _registry.POTENTIAL_NAMES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = list(_registry.__all__)

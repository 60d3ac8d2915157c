"""The bottom LAMMPS layer: everything that talks to LAMMPS itself, and nothing that runs a workflow.

- :mod:`~dealloy.lammps.instance`: :func:`open_lammps` (the one place LAMMPS is opened) and
  :func:`lammps_info`
- :mod:`~dealloy.lammps.potentials`: the potential registry (data and lookup only:
  :func:`get_potential`, ``DEFAULT_POTENTIAL``, fitted and ReaxFF potentials) and the LAMMPS
  unit styles (``Units``, ``METAL``, ``REAL``)
- :mod:`~dealloy.lammps.session`: :class:`LammpsSession`, an ``ase.Atoms`` with a registry
  potential in LAMMPS (dealloy units at its surface), the one thermostat and seed mapping
- :mod:`~dealloy.lammps.lattice`: the diamond-Si lattice constant a potential relaxes to

Builders, the engine, validation and diffusivity workflows sit above it (docs/architecture.md).
Importing this package does not import LAMMPS; opening a session does.
"""

from dealloy.lammps.instance import lammps_info, open_lammps

__all__ = ["lammps_info", "open_lammps"]

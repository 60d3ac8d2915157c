"""Geometry-only structure builders: crystal lattices, spheres, grains, twins (no MD code).

Crystalline: :func:`li15si4_cell`, :func:`si_particle`, :func:`li15si4_particle` (pure functions
returning ``ase.Atoms``, deterministic for a ``seed``); shared checks and geometry in
:mod:`dealloy.build._common`. The one LAMMPS query a builder may make (the Si lattice constant of
a potential, ``si_particle(potential=...)``) goes through :mod:`dealloy.lammps.lattice`.

The registry of every builder (``BUILDERS``, ``get_builder``), the melt-quench builders
(``amorphous_lisi``, ``amorphous_lisi_particle``, ``core_shell_particle``) and ``dealloy build``
are in :mod:`dealloy.builders`, one layer up. See docs/builders.md and docs/architecture.md.
"""

from __future__ import annotations

from dealloy.build.crystal import li15si4_cell, li15si4_particle, si_particle

__all__ = ["li15si4_cell", "si_particle", "li15si4_particle"]

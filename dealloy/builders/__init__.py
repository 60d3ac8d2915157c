"""Structure builders: pure functions returning ``ase.Atoms`` (deterministic for a ``seed``).

Crystalline: :func:`li15si4_cell`, :func:`si_particle`, :func:`li15si4_particle`.
Amorphous (melt-quench in LAMMPS with a registry potential): :func:`amorphous_lisi`,
:func:`amorphous_lisi_particle`, :func:`core_shell_particle`.

``BUILDERS`` maps each builder name to its function; the engine resolves a run config's
``particle.builder`` + ``particle.args`` through it (``BUILDERS[name](**args)``). Every builder
validates its arguments before building (``ConfigError`` naming the argument and allowed range)
and records ``builder``, ``builder_args`` (JSON), ``seed`` and ``dealloy_version`` in
``atoms.info``. See docs/builders.md.

Layering: the geometry (crystal lattices, spheres, grains, packing) lives in :mod:`dealloy.build`
and never runs MD; this package holds the builders that do (the melt-quench in
:mod:`dealloy.builders.amorphous`), the registry of every builder and ``dealloy build``
(:mod:`dealloy.builders.cli`). It sits above :mod:`dealloy.build` and :mod:`dealloy.lammps`,
below the engine that calls it.
"""

from __future__ import annotations

from dealloy.builders.amorphous import amorphous_lisi, amorphous_lisi_particle, core_shell_particle
from dealloy.build.crystal import li15si4_cell, li15si4_particle, si_particle
from dealloy.errors import ConfigError

#: builder name -> function (the engine resolves ``particle.builder`` through this dict)
BUILDERS = {
    "li15si4_cell": li15si4_cell,
    "si_particle": si_particle,
    "li15si4_particle": li15si4_particle,
    "amorphous_lisi": amorphous_lisi,
    "amorphous_lisi_particle": amorphous_lisi_particle,
    "core_shell_particle": core_shell_particle,
}


def get_builder(name: str):
    """Look up the builder called ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`BUILDERS`; hyphens allowed (``li15si4-particle``).

    Returns
    -------
    callable
        The builder function.

    Raises
    ------
    ConfigError
        For an unknown name (the message lists the builders).
    """
    key = str(name).replace("-", "_")
    if key not in BUILDERS:
        raise ConfigError(f"unknown builder {name!r}; choose one of: {', '.join(BUILDERS)}")
    return BUILDERS[key]


__all__ = ["BUILDERS", "get_builder", "li15si4_cell", "si_particle", "li15si4_particle",
           "amorphous_lisi", "amorphous_lisi_particle", "core_shell_particle"]

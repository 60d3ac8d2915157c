"""Small self-contained test particles for the engine's tests and benchmark.

Real studies use ``dealloy.build`` (polycrystals, amorphous melt-quench particles, core-shell);
this module only cuts a sphere out of single-crystal c-Li15Si4 so the engine can be tested and
benchmarked on its own.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.spacegroup import crystal

LI15SI4_A = 10.685  # Angstrom (Zeng et al.; I-43d, space group 220)


def li15si4_cell() -> Atoms:
    """Conventional cell of c-Li15Si4 (I-43d, 76 atoms: 60 Li + 16 Si)."""
    return crystal(
        ["Li", "Li", "Si"],
        basis=[(0.375, 0.0, 0.25), (0.12307, 0.15391, 0.96344), (0.45757, 0.45757, 0.45757)],
        spacegroup=220,
        cellpar=[LI15SI4_A] * 3 + [90, 90, 90],
    )


def li15si4_sphere(radius_angstrom: float, vacuum_angstrom: float = 15.0) -> Atoms:
    """A sphere of c-Li15Si4 centred in a cubic non-periodic cell with ``vacuum`` on every side."""
    unit = li15si4_cell()
    n = int(np.ceil(2 * radius_angstrom / LI15SI4_A)) + 2
    big = unit.repeat((n, n, n))
    centre = big.cell.sum(0) / 2
    # shift the centre off a lattice point so the cut is not pathologically symmetric
    centre = centre + np.array([0.31, 0.17, 0.23])
    r = np.linalg.norm(big.positions - centre, axis=1)
    sphere = big[r <= radius_angstrom]
    sphere.pbc = False
    sphere.set_cell(np.eye(3) * (2 * radius_angstrom + 2 * vacuum_angstrom))
    sphere.center()
    return sphere

"""Small self-contained test particles for the engine's tests and benchmark.

Real studies use ``dealloy.builders`` (polycrystals, amorphous melt-quench particles, core-shell);
this module only cuts a sphere out of single-crystal c-Li15Si4 so the engine can be tested and
benchmarked on its own.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from dealloy import materials as M

LI15SI4_A = M.LI15SI4_A_ANGSTROM  # Å; source in dealloy.materials


def li15si4_cell() -> Atoms:
    """Build the conventional cell of c-Li15Si4 (I-43d, 76 atoms: 60 Li + 16 Si).

    Returns
    -------
    ase.Atoms
        The periodic cubic cell at :data:`dealloy.materials.LI15SI4_A_ANGSTROM` (Å); the sites
        and their source are in :func:`dealloy.materials.li15si4_conventional_cell`.
    """
    return M.li15si4_conventional_cell(LI15SI4_A)


def li15si4_sphere(radius_angstrom: float, vacuum_angstrom: float = 15.0) -> Atoms:
    """Cut a sphere of c-Li15Si4 and centre it in a cubic non-periodic cell.

    The centre is shifted off a lattice point by (0.31, 0.17, 0.23) Å so that the cut is not
    pathologically symmetric; atoms within ``radius_angstrom`` of it are kept.

    Parameters
    ----------
    radius_angstrom : float
        Radius of the sphere, Å (not nm, unlike ``diameter_nm`` of the builders).
    vacuum_angstrom : float, optional
        Vacuum between the sphere and each face of the cell, Å (default 15).

    Returns
    -------
    ase.Atoms
        The sphere, ``pbc`` False, in a cube of edge 2 (``radius_angstrom`` +
        ``vacuum_angstrom``) Å.
    """
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

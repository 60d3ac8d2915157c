"""Decide which directions of a cell are really periodic from where the atoms are.

A structure file's header may call a direction periodic (an extxyz ``Lattice`` without a ``pbc``
key is read as periodic by ASE; a LAMMPS data file always has a periodic box) while the atoms sit
in vacuum: a particle, slab or wire in a box. Analysing or simulating that direction as periodic
counts the vacuum as pore space, or lets the particle touch its own image. :func:`open_axes`
says which header-periodic axes are open; the analysis (:func:`dealloy.analysis.frame.infer_pbc`)
and ``dealloy run``'s ``particle.file`` both use it, with a note naming each override.
"""

from __future__ import annotations

import numpy as np

#: a periodic axis across which the atoms leave a vacuum gap wider than this, and only one such gap
#: (one block of material per period), is open (a particle, slab or wire in a box): the vacuum
#: never looks like a pore. Two or more such gaps per period are a lamellar periodic structure.
PARTICLE_GAP_ANGSTROM = 6.0
#: ... and so is an axis across which the atoms touch their periodic image only at a point: the
#: atoms within ``CONTACT_DEPTH_ANGSTROM`` of the boundary are fewer than this share of those in
#: the most populated slab of the same thickness (a sphere tight in its box: ~0.1; bulk, slab or
#: wire along the axis, porous frameworks: 0.5-1.5)
CONTACT_FRACTION_MIN = 0.25
CONTACT_DEPTH_ANGSTROM = 3.0


def _height(cell: np.ndarray, ax: int) -> float:
    """Distance between the cell faces across axis ``ax`` (Å)."""
    vol = abs(np.linalg.det(cell))
    return float(vol / np.linalg.norm(np.cross(cell[(ax + 1) % 3], cell[(ax + 2) % 3])))


def axis_continuity(cell: np.ndarray, positions: np.ndarray, ax: int,
                    gap_angstrom: float = PARTICLE_GAP_ANGSTROM) -> tuple[float, float, float, int]:
    """Measure how continuous the atoms are across the periodic boundary of one cell axis.

    Parameters
    ----------
    cell : numpy.ndarray, shape (3, 3)
        Cell vectors as rows (Å).
    positions : numpy.ndarray, shape (N, 3)
        Cartesian positions (Å), wrapped or not.
    ax : int
        The cell axis, 0, 1 or 2.
    gap_angstrom : float
        Gaps wider than this (Å) are counted; see :data:`PARTICLE_GAP_ANGSTROM`.

    Returns
    -------
    gap : float
        The largest vacuum gap along the axis (Å, measured between the faces' planes).
    contact : float
        Atoms within :data:`CONTACT_DEPTH_ANGSTROM` of the gap's centre over those in the most
        populated slab of the same thickness (1.0 for cells thinner than 4 contact depths); see
        :data:`CONTACT_FRACTION_MIN`.
    centre : float
        Fractional coordinate of the largest gap's centre, in [0, 1).
    n_gaps : int
        Number of gaps wider than ``gap_angstrom``.
    """
    height = _height(cell, ax)
    u = np.sort(np.mod(np.linalg.solve(cell.T, positions.T).T[:, ax], 1.0))
    d = np.diff(np.concatenate([u, [u[0] + 1.0]]))
    k = int(np.argmax(d))
    gap = float(d[k] * height)
    n_gaps = int(np.sum(d * height > gap_angstrom))
    centre = float(np.mod(u[k] + d[k] / 2, 1.0))
    w = CONTACT_DEPTH_ANGSTROM
    if height <= 4 * w:
        return gap, 1.0, centre, n_gaps
    z = np.mod(u - centre, 1.0) * height  # 0 and height = the gap's centre
    n_contact = int(np.sum((z < w) | (z > height - w)))
    nbins = int(np.ceil(height / (w / 4)))
    hist = np.bincount(np.minimum((z / height * nbins).astype(int), nbins - 1), minlength=nbins)
    k_win = max(int(round(2 * w / (height / nbins))), 1)
    win = np.convolve(np.concatenate([hist, hist[:k_win - 1]]), np.ones(k_win), "valid")
    return gap, n_contact / max(float(win.max()), 1.0), centre, n_gaps


def open_axes(cell, positions, pbc, gap_angstrom: float = PARTICLE_GAP_ANGSTROM):
    """Header-periodic axes that are open, and the atoms made contiguous across them.

    An axis is open when the atoms form one block along it with a vacuum gap wider than
    ``gap_angstrom`` across the boundary, or touch their periodic image only at a point (contact
    fraction below :data:`CONTACT_FRACTION_MIN`). Several wide gaps per period (a stack of slabs)
    are a periodic lamellar structure: the axis stays periodic.

    Parameters
    ----------
    cell : array_like, shape (3, 3)
        Cell vectors as rows (Å).
    positions : array_like, shape (N, 3)
        Cartesian positions (Å).
    pbc : sequence of 3 bool
        The periodicity the file's header declares.
    gap_angstrom : float
        A vacuum gap wider than this (Å) opens an axis; see :data:`PARTICLE_GAP_ANGSTROM`.

    Returns
    -------
    pbc : tuple of 3 bool
        The per-axis periodicity after opening.
    positions : numpy.ndarray, shape (N, 3)
        The atoms contiguous across every opened axis (the input values if none is opened), Å.
    opened : list of str
        One phrase per opened axis, e.g. "z (a 20.0 Å vacuum gap)".
    """
    cell = np.asarray(cell, float)
    positions = np.asarray(positions, float)
    pbc = [bool(p) for p in pbc]
    if not any(pbc) or len(positions) == 0:
        return tuple(pbc), positions, []
    frac = np.linalg.solve(cell.T, positions.T).T
    opened = []
    for ax in range(3):
        if not pbc[ax]:
            continue
        gap, contact, centre, n_gaps = axis_continuity(cell, positions, ax, gap_angstrom)
        if n_gaps == 1 or (n_gaps == 0 and contact < CONTACT_FRACTION_MIN):
            pbc[ax] = False
            frac[:, ax] = np.mod(frac[:, ax] - centre, 1.0) + centre  # contiguous, same place
            why = (f"a {gap:.1f} Å vacuum gap" if gap > gap_angstrom
                   else f"only a point contact ({contact:.2f} of a full slab) with its image")
            opened.append(f"{'xyz'[ax]} ({why})")
    if not opened:
        return tuple(pbc), positions, []
    return tuple(pbc), frac @ cell, opened


def override_note(header_pbc, pbc, opened, verb: str = "analysed") -> str:
    """Write one line saying the header's periodicity was overridden: which axes, why, and how.

    Parameters
    ----------
    header_pbc : sequence of 3 bool
        The periodicity the header declares.
    pbc : sequence of 3 bool
        The periodicity used (from :func:`open_axes`).
    opened : list of str
        The phrases of :func:`open_axes`.
    verb : str
        What is done with the structure ("analysed", "simulated").

    Returns
    -------
    str
        E.g. "the cell header says periodic along xyz but the atoms leave vacuum across ...:
        analysed as an isolated particle in a box (pbc FFF)".
    """
    kind = {0: "an isolated particle in a box", 1: "a wire", 2: "a slab"}[sum(bool(p) for p in pbc)]
    said = "".join("xyz"[a] for a in range(3) if header_pbc[a])
    return (f"the cell header says periodic along {said} but the atoms leave vacuum across "
            f"{', '.join(opened)}: {verb} as {kind} (pbc {''.join('T' if p else 'F' for p in pbc)})")


def unwrap(positions, cell, images=None) -> np.ndarray:
    """Unwrap positions into continuous trajectories in any cell, orthorhombic or triclinic.

    Parameters
    ----------
    positions : array_like, shape (T, N, 3) or (N, 3)
        Wrapped Cartesian positions (Å): T frames of the same N atoms in the same order.
    cell : array_like, shape (3, 3), or None
        Cell vectors as rows (Å). None or all zeros (no periodic cell): returned as given.
    images : array_like of int, shape (N, 3) or (T, N, 3), optional
        Image flags (LAMMPS' ``ix iy iz``): the result is exactly ``positions + images @ cell``.
        Without them, consecutive frames are joined by the minimum-image step (valid when no
        atom moves more than half a cell between frames).

    Returns
    -------
    numpy.ndarray
        Unwrapped positions (Å), the shape of ``positions``; a single (N, 3) frame without image
        flags is returned as given.
    """
    x = np.array(positions, float)
    if cell is None or not np.any(cell):
        return x
    cell = np.asarray(cell, float)
    if images is not None:
        return x + np.asarray(images, float) @ cell
    if x.ndim != 3 or len(x) < 2:
        return x
    frac = np.diff(x, axis=0) @ np.linalg.inv(cell)
    frac -= np.round(frac)
    return np.concatenate([x[:1], x[0] + np.cumsum(frac @ cell, axis=0)])

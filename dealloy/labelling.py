"""Connected regions of a voxel grid.

Labelling across periodic faces, and the part of a mask connected to the grid's faces (the
"outside" an electrolyte probe reaches).

Bottom layer (numpy and scipy only): used by the engine's Li selectors
(:mod:`dealloy.engine.selectors`) and by the voxel analysis (:mod:`dealloy.analysis.voxel`), which
before had one copy each.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def per_axis(periodic) -> tuple:
    """Expand a periodicity (or face) flag to one flag per axis.

    Parameters
    ----------
    periodic : bool or sequence of 3 bool
        One flag for all three axes, or one per axis.

    Returns
    -------
    tuple of 3 bool
        The flag of x, y and z.
    """
    if np.ndim(periodic) == 0:
        return (bool(periodic),) * 3
    return tuple(bool(q) for q in periodic)


def label(mask: np.ndarray, periodic=False) -> tuple[np.ndarray, int]:
    """Face-connected regions of a 3-D boolean grid (``scipy.ndimage.label``, 6-connectivity).

    Parameters
    ----------
    mask : numpy.ndarray of bool, shape (nx, ny, nz)
        Voxels to label.
    periodic : bool or sequence of 3 bool
        Axes whose two faces touch (a periodic cell): regions that meet across them get one label.

    Returns
    -------
    labels : numpy.ndarray of uint16 (int32 if more than 65535 regions), shape of ``mask``
        0 outside ``mask``; 1..n inside, numbered in order of first appearance.
    n : int
        Number of regions.
    """
    periodic = per_axis(periodic)
    out = np.zeros(mask.shape, np.uint16)  # 2-byte labels when they fit: memory on large grids
    try:
        n = ndi.label(mask, output=out)
    except RuntimeError:  # more than 65535 regions
        del out
        out, n = ndi.label(mask)
    if any(periodic) and n > 1:
        pairs = []
        for ax in (a for a in range(3) if periodic[a]):
            a = np.take(out, 0, axis=ax).ravel()
            b = np.take(out, -1, axis=ax).ravel()
            both = (a > 0) & (b > 0)
            pairs.append(np.stack([a[both], b[both]]).astype(np.int64))
        e = np.concatenate(pairs, axis=1)
        graph = coo_matrix((np.ones(e.shape[1]), (e[0], e[1])), shape=(n + 1, n + 1))
        k, comp = connected_components(graph, directed=False)
        # new ids 1..m in order of the old ones; 0 stays 0
        comp = comp - comp[0]
        _, new = np.unique(np.where(comp < 0, comp + k, comp), return_inverse=True)
        mapping = new.astype(out.dtype)
        mapping[0] = 0
        out = mapping[out]
        n = int(mapping.max())
    return out, n


def connected_to_faces(mask: np.ndarray, faces=True, periodic=False) -> np.ndarray:
    """Select the voxels of ``mask`` whose region touches a face of the grid.

    Parameters
    ----------
    mask : numpy.ndarray of bool, shape (nx, ny, nz)
        E.g. the free space where an electrolyte probe's centre fits.
    faces : bool or sequence of 3 bool
        Axes whose two end faces count as the outside (default all six faces).
    periodic : bool or sequence of 3 bool
        Axes that wrap (see :func:`label`); a region reaching a face only through a periodic
        face is connected too.

    Returns
    -------
    numpy.ndarray of bool, shape of ``mask``
        True where ``mask`` is and its region reaches one of the ``faces`` (closed cavities are
        False).
    """
    faces = per_axis(faces)
    lab, n = label(mask, periodic)
    on_face = np.zeros(n + 1, np.bool_)
    for ax in range(3):
        if faces[ax]:
            for end in (0, -1):
                on_face[np.unique(np.take(lab, end, axis=ax))] = True
    on_face[0] = False
    return on_face[lab]

"""Which Li leaves (extraction) and where new Li goes (insertion): pure numpy on gathered positions.

The geometry behind ``surface`` and ``shell`` is the *probe-accessible region*: the space that the
centre of an electrolyte probe can reach from far outside the particle while staying at least
``probe_radius_angstrom`` (R, default 3 A, about one Li-Li bond plus a bit) from every atom
centre. It is computed on a voxel grid (``voxel_angstrom``): atoms are stamped as balls of radius
R, the free space connected to the grid border is the electrolyte side (closed internal pores and
interstitial gaps are not reached), and for every atom its *depth* = distance to that region - R
is read from a Euclidean distance transform. depth ~ 0: the probe touches the atom.

* ``surface``: Li with depth <= ``surface_depth_angstrom`` (default 1 A, > the voxel
  discretisation): Li in contact with the electrolyte. Open pores wider than the probe count as
  surface, so electrolyte-filled pores keep dealloying as in experiment.
* ``shell``: Li with depth <= ``shell_width_nm``: any Li within that distance of the outer
  (probe-accessible) surface.
* ``random``: any Li (the diffusion-unlimited limit; Kim, Wortman, Kim & Qi, Nano Lett. 17
  (2017) 4330, doi:10.1021/acs.nanolett.7b01389).

Within the candidates the batch is drawn uniformly at random with the run's seeded generator.
Everything here runs on rank 0 only; the engine broadcasts the result. The probe-accessible
region is the region enclosed by the solvent-accessible surface of B. Lee, F. M. Richards,
J. Mol. Biol. 55 (1971) 379-400, doi:10.1016/0022-2836(71)90324-X, on a grid.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from dealloy.labelling import connected_to_faces


class ProbeGrid:
    """Voxel grid of the probe-accessible (electrolyte) region around a set of atoms.

    Atoms are stamped on a grid of edge ``voxel_angstrom`` (Å) with a margin of R + 3 voxels; the
    free voxels at least R from every atom centre that connect to the grid border
    (:func:`dealloy.labelling.connected_to_faces`) are the ``outside``.

    Parameters
    ----------
    positions : numpy.ndarray
        Atom positions, shape (N, 3), Å (Cartesian; an open structure: no periodic images).
    probe_radius_angstrom : float, optional
        Probe radius R, Å (default 3; the run config's ``probe_radius_angstrom``).
    voxel_angstrom : float, optional
        Voxel edge h, Å (default 0.7; the run config's ``voxel_angstrom``).

    Attributes
    ----------
    outside : numpy.ndarray
        Boolean grid (``shape``) of the probe-accessible region.
    dist_to_atom : numpy.ndarray
        Distance (Å) of each voxel centre to the nearest occupied voxel.
    origin : numpy.ndarray
        Position (Å) of voxel (0, 0, 0), shape (3,).

    References
    ----------
    B. Lee, F. M. Richards, "The interpretation of protein structures: estimation of static
    accessibility", J. Mol. Biol. 55 (1971) 379-400, doi:10.1016/0022-2836(71)90324-X (the
    probe-accessible surface).
    """

    def __init__(self, positions: np.ndarray, probe_radius_angstrom: float = 3.0,
                 voxel_angstrom: float = 0.7):
        self.R = float(probe_radius_angstrom)
        self.h = float(voxel_angstrom)
        pos = np.asarray(positions, dtype=float)
        margin = self.R + 3 * self.h
        self.origin = pos.min(0) - margin
        shape = np.ceil((pos.max(0) + margin - self.origin) / self.h).astype(int) + 1
        self.shape = tuple(int(s) for s in shape)
        idx = self.index(pos)
        occupied = np.zeros(self.shape, dtype=bool)
        occupied[idx[:, 0], idx[:, 1], idx[:, 2]] = True
        # excluded = within R of an atom centre: distance transform of the non-atom voxels
        dist_to_atom = ndimage.distance_transform_edt(~occupied, sampling=self.h)
        free = dist_to_atom >= self.R
        self.outside = connected_to_faces(free)
        self.dist_to_atom = dist_to_atom
        self._dist_to_outside = None

    def index(self, pos: np.ndarray) -> np.ndarray:
        """Map positions to the indices of their nearest voxels.

        Parameters
        ----------
        pos : numpy.ndarray
            Positions, shape (M, 3), Å.

        Returns
        -------
        numpy.ndarray
            Integer voxel indices, shape (M, 3), clipped to the grid.
        """
        idx = np.floor((np.asarray(pos) - self.origin) / self.h + 0.5).astype(int)
        return np.clip(idx, 0, np.array(self.shape) - 1)

    def depth(self, pos: np.ndarray) -> np.ndarray:
        """Measure how deep each position lies below the probe-accessible surface.

        Parameters
        ----------
        pos : numpy.ndarray
            Positions, shape (M, 3), Å.

        Returns
        -------
        numpy.ndarray
            Depth, shape (M,), Å: distance of the position's voxel to the accessible region
            minus R, at least 0 (0: the probe touches it).
        """
        if self._dist_to_outside is None:
            self._dist_to_outside = ndimage.distance_transform_edt(~self.outside, sampling=self.h)
        idx = self.index(pos)
        d = self._dist_to_outside[idx[:, 0], idx[:, 1], idx[:, 2]]
        return np.maximum(d - self.R, 0.0)

    def centres(self, mask: np.ndarray) -> np.ndarray:
        """Return the centres of the voxels in ``mask``.

        Parameters
        ----------
        mask : numpy.ndarray
            Boolean grid of shape ``shape``.

        Returns
        -------
        numpy.ndarray
            Voxel centres, shape (K, 3), Å.
        """
        return np.argwhere(mask) * self.h + self.origin


def removal_candidates(selector: str, positions: np.ndarray, is_li: np.ndarray, *,
                       probe_radius_angstrom: float = 3.0, voxel_angstrom: float = 0.7,
                       surface_depth_angstrom: float = 1.0, shell_width_angstrom: float = 5.0) -> np.ndarray:
    """Select the Li that an ``extract`` stage's selector may remove.

    Lengths are in Å here, while the run config gives ``shell_width_nm`` in nm: the engine
    passes ``shell_width_nm * 10``.

    Parameters
    ----------
    selector : {"surface", "shell", "random"}
        ``surface``: Li with depth <= ``surface_depth_angstrom``; ``shell``: depth <=
        ``shell_width_angstrom``; ``random``: every Li (see the module docstring).
    positions : numpy.ndarray
        Positions of all atoms, shape (N, 3), Å.
    is_li : numpy.ndarray
        Boolean mask of the Li, shape (N,).
    probe_radius_angstrom : float, optional
        Probe radius, Å (default 3).
    voxel_angstrom : float, optional
        Voxel edge of the probe grid, Å (default 0.7).
    surface_depth_angstrom : float, optional
        Largest depth of a ``surface`` Li, Å (default 1).
    shell_width_angstrom : float, optional
        Largest depth of a ``shell`` Li, Å (default 5; not nm).

    Returns
    -------
    numpy.ndarray
        Indices into ``positions`` of the candidate Li (int, ascending).

    Raises
    ------
    ValueError
        For a selector other than the three above.
    """
    li = np.flatnonzero(is_li)
    if selector == "random" or li.size == 0:
        return li
    grid = ProbeGrid(positions, probe_radius_angstrom, voxel_angstrom)
    depth = grid.depth(positions[li])
    if selector == "surface":
        return li[depth <= surface_depth_angstrom]
    if selector == "shell":
        return li[depth <= shell_width_angstrom]
    raise ValueError(f"unknown selector {selector!r}")


def choose(candidates: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` of ``candidates`` uniformly without replacement (all of them if fewer).

    Parameters
    ----------
    candidates : numpy.ndarray
        Indices to draw from, shape (K,).
    n : int
        How many to draw.
    rng : numpy.random.Generator
        The run's generator (advanced only when K > ``n``).

    Returns
    -------
    numpy.ndarray
        The chosen indices, sorted, shape (min(n, K),).
    """
    if n >= candidates.size:
        return np.sort(candidates)
    return np.sort(rng.choice(candidates, size=n, replace=False))


def insertion_sites(positions: np.ndarray, n: int, rng: np.random.Generator, *,
                    site_distance_angstrom: float = 2.6, probe_radius_angstrom: float = 3.0,
                    voxel_angstrom: float = 0.7, tolerance_angstrom: float = 0.25) -> np.ndarray:
    """Find up to ``n`` positions in the electrolyte just outside the particle for new Li.

    Candidates are voxel centres in the probe-accessible region (probe radius
    min(``probe_radius_angstrom``, ``site_distance_angstrom``)) relaxed to the shell at
    ``site_distance_angstrom`` +- ``tolerance_angstrom`` from the nearest atom (exact distance from a k-d tree) that is connected to the outside, so new Li sits
    on the surface, not in closed pores. Chosen sites, visited in a random order, are at least
    ``site_distance_angstrom`` apart from each other.

    Parameters
    ----------
    positions : numpy.ndarray
        Positions of all atoms, shape (N, 3), Å.
    n : int
        Most sites wanted.
    rng : numpy.random.Generator
        The run's generator (orders the candidates).
    site_distance_angstrom : float, optional
        Distance of a new Li from its nearest atom and from the other new Li, Å (default 2.6).
    probe_radius_angstrom : float, optional
        Probe radius, Å (default 3).
    voxel_angstrom : float, optional
        Voxel edge, Å (default 0.7).
    tolerance_angstrom : float, optional
        Allowed deviation from ``site_distance_angstrom``, Å (default 0.25).

    Returns
    -------
    numpy.ndarray
        Sites, shape (M, 3) with M <= ``n``, Å (M = 0 when there is no room).
    """
    grid = ProbeGrid(positions, min(probe_radius_angstrom, site_distance_angstrom), voxel_angstrom)
    mask = grid.outside & (np.abs(grid.dist_to_atom - site_distance_angstrom)
                           <= tolerance_angstrom + voxel_angstrom)
    cand = grid.centres(mask)
    if cand.size == 0:
        return np.empty((0, 3))
    d, _ = cKDTree(positions).query(cand)
    cand = cand[np.abs(d - site_distance_angstrom) <= tolerance_angstrom]
    order = rng.permutation(len(cand))
    chosen: list[np.ndarray] = []
    for i in order:
        p = cand[i]
        if all(np.linalg.norm(p - q) >= site_distance_angstrom for q in chosen):
            chosen.append(p)
            if len(chosen) >= n:
                break
    return np.array(chosen).reshape(-1, 3)

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
* ``random``: any Li (the diffusion-unlimited limit; Kim & Qi, Nano Lett. 17, 4330 (2017)).

Within the candidates the batch is drawn uniformly at random with the run's seeded generator.
Everything here runs on rank 0 only; the engine broadcasts the result.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from dealloy.labelling import connected_to_faces


class ProbeGrid:
    """Voxel grid of the probe-accessible (electrolyte) region around a set of atoms."""

    def __init__(self, positions: np.ndarray, probe_radius: float = 3.0, voxel: float = 0.7):
        self.R = float(probe_radius)
        self.h = float(voxel)
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
        idx = np.floor((np.asarray(pos) - self.origin) / self.h + 0.5).astype(int)
        return np.clip(idx, 0, np.array(self.shape) - 1)

    def depth(self, pos: np.ndarray) -> np.ndarray:
        """Distance (A) of each position below the probe-accessible surface (0 = touching)."""
        if self._dist_to_outside is None:
            self._dist_to_outside = ndimage.distance_transform_edt(~self.outside, sampling=self.h)
        idx = self.index(pos)
        d = self._dist_to_outside[idx[:, 0], idx[:, 1], idx[:, 2]]
        return np.maximum(d - self.R, 0.0)

    def centres(self, mask: np.ndarray) -> np.ndarray:
        return np.argwhere(mask) * self.h + self.origin


def removal_candidates(selector: str, positions: np.ndarray, is_li: np.ndarray, *,
                       probe_radius: float = 3.0, voxel: float = 0.7,
                       surface_depth: float = 1.0, shell_width: float = 5.0) -> np.ndarray:
    """Indices (into ``positions``) of the Li the selector may remove."""
    li = np.flatnonzero(is_li)
    if selector == "random" or li.size == 0:
        return li
    grid = ProbeGrid(positions, probe_radius, voxel)
    depth = grid.depth(positions[li])
    if selector == "surface":
        return li[depth <= surface_depth]
    if selector == "shell":
        return li[depth <= shell_width]
    raise ValueError(f"unknown selector {selector!r}")


def choose(candidates: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` of ``candidates`` (all if fewer), uniformly without replacement, sorted."""
    if n >= candidates.size:
        return np.sort(candidates)
    return np.sort(rng.choice(candidates, size=n, replace=False))


def insertion_sites(positions: np.ndarray, n: int, rng: np.random.Generator, *,
                    site_distance: float = 2.6, probe_radius: float = 3.0,
                    voxel: float = 0.7, tolerance: float = 0.25) -> np.ndarray:
    """Up to ``n`` positions in the electrolyte just outside the particle for new Li.

    Candidates are voxel centres in the probe-accessible region... relaxed to the shell at
    ``site_distance`` +- ``tolerance`` from the nearest atom (exact distance from a k-d tree) that
    is connected to the outside, so new Li sits on the surface, not in closed pores. Chosen sites
    are at least ``site_distance`` apart from each other.
    """
    grid = ProbeGrid(positions, min(probe_radius, site_distance), voxel)
    mask = grid.outside & (np.abs(grid.dist_to_atom - site_distance) <= tolerance + voxel)
    cand = grid.centres(mask)
    if cand.size == 0:
        return np.empty((0, 3))
    d, _ = cKDTree(positions).query(cand)
    cand = cand[np.abs(d - site_distance) <= tolerance]
    order = rng.permutation(len(cand))
    chosen: list[np.ndarray] = []
    for i in order:
        p = cand[i]
        if all(np.linalg.norm(p - q) >= site_distance for q in chosen):
            chosen.append(p)
            if len(chosen) >= n:
                break
    return np.array(chosen).reshape(-1, 3)

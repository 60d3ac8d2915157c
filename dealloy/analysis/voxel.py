"""Voxel metrics of a particle: porosity, pore and ligament local thickness, pore count, specific
surface area.

Definitions (docs/analysis.md has the pictures):

- **solid**: the space the atoms fill, as a solvent-excluded volume: every point that a probe
  sphere of radius ``probe_radius_angstrom`` cannot reach without overlapping an atom sphere
  (radius ``atom_radius_angstrom``). The probe fills the atomic-scale gaps between atoms (so a dense
  crystal is solid throughout) but not nm pores. ``probe_radius_angstrom=0`` gives the plain union
  of atom spheres.
- **envelope**: the particle's outline: everything that a large probe of radius
  ``envelope_probe_radius_angstrom`` (default 25 Å, much larger than the 1.5-2 nm pore radii of
  the paper) coming from outside cannot reach (a morphological closing of the solid, with probe
  centres restricted to the outside region). Open and closed pores are inside it; the vacuum around
  the particle never is. A bulk (periodic) frame has no envelope: the whole cell is used and the
  porosity is per cell.
- **pores** = envelope minus solid. ``porosity`` = pore volume / envelope volume.
- **local thickness** of a phase at a point: the diameter of the largest sphere inside the phase
  that contains the point (Hildebrand & Rüegsegger 1997, porespy's definition), volume weighted.
  It is evaluated exactly (on the voxel grid) at ``thickness_samples`` random points of the phase,
  using the maximal-ball centres (ridge of the distance transform); the statistics are those of the
  sample (standard error ~ std/sqrt(n)).
- **surface corrugation**: void pockets inside the envelope whose largest inscribed sphere is
  smaller than ``min_pore_diameter_angstrom`` (the dimples between surface atoms under the large
  probe) are neither pore nor particle: they are left out of both volumes.
- ``pore_count``: connected pore regions (6-connectivity) of at least ``min_pore_volume_angstrom3``.
- ``specific_surface_area_m2_per_g``: solid/non-solid interface area (voxel faces x 2/3, the
  Cauchy-Crofton mean for isotropic surfaces) per particle mass.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from dealloy.analysis.base import Analysis
from dealloy.analysis.frame import Frame
from dealloy.errors import ConfigError

AMU_G = 1.66053906660e-24
ANGSTROM2_M2 = 1e-20


def _edt(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance (voxels, float32) from each True voxel to the nearest False voxel."""
    import edt

    mask = np.ascontiguousarray(mask)
    data = mask.view(np.uint8) if mask.dtype == np.bool_ else mask.astype(np.uint8)
    return edt.edt(data, black_border=False, parallel=1)


@dataclass
class VoxelParams:
    voxel_angstrom: float = 1.0
    atom_radius_angstrom: dict = field(default_factory=lambda: {"Li": 2.0, "Si": 2.0})
    probe_radius_angstrom: float = 2.5
    min_pore_diameter_angstrom: float = 4.0
    envelope_probe_radius_angstrom: float = 25.0
    envelope_voxel_angstrom: float = 2.0
    thickness_samples: int = 20000
    min_pore_volume_angstrom3: float = 8.0
    histogram_bin_nm: float = 0.1
    seed: int = 0


class VoxelMetrics(Analysis):
    """Porosity, ligament/pore local thickness, pore count, specific surface area (see module doc)."""

    Params = VoxelParams

    def _compute(self, frame: Frame, keep_fields: bool = False) -> dict:
        from dealloy.analysis._kernels import drop_labels, label_stats

        p = self.params
        h = float(p.voxel_angstrom)
        if not 0 < h <= 5:
            raise ConfigError(f"voxel_angstrom={h}: give a voxel size in (0, 5] Å (default 1)")
        radii = np.array([float(p.atom_radius_angstrom.get(s, 2.0)) for s in ("Li", "Si")])
        r_atom = np.where(frame.symbols == "Si", radii[1], radii[0])
        grid = _grid(frame, h, p)
        if grid is None:
            return {}
        periodic = grid["periodic"]
        solid = _solid(grid, frame, r_atom, p.probe_radius_angstrom / h)
        if periodic:
            envelope = np.ones_like(solid)
        else:
            envelope = _envelope(solid, p.envelope_probe_radius_angstrom / h,
                                 max(1, int(round(p.envelope_voxel_angstrom / h))))
        pores = envelope & ~solid
        # surface corrugation, voxel by voxel: keep only the pore space covered by a ball of at
        # least min_pore_diameter inside it. Per pocket is not enough: the thin shell the coarse
        # envelope leaves around the whole particle is one pocket, and one 4 Å dimple in it kept
        # all of it (a "porosity" of 0.2 on a dense particle, flickering frame to frame)
        opened = _opening(pores, 0.5 * (p.min_pore_diameter_angstrom / h + 1.0))
        if keep_fields:
            envelope &= ~(pores & ~opened)
        else:
            del envelope  # = solid | pores from here on
        pores = opened
        del opened
        pore_count = 0
        dt_pores = _edt(pores) if pores.any() else None
        labels, nlab = _label(pores)
        if nlab:
            biggest, counts = label_stats(labels, dt_pores, nlab)
            diam = (2.0 * biggest - 1.0) * h
            small = diam < p.min_pore_diameter_angstrom
            small[0] = False
            vols = counts[1:] * h**3
            pore_count = int(np.sum((vols >= p.min_pore_volume_angstrom3) & ~small[1:]))
            if keep_fields:
                drop_labels(labels, small, envelope, np.zeros(labels.shape, np.float32))
            drop_labels(labels, small, pores, dt_pores)
            del labels
        else:
            del labels
        v_pore = float(np.count_nonzero(pores)) * h**3
        v_env = float(np.count_nonzero(solid)) * h**3 + v_pore
        rng = np.random.default_rng(p.seed)
        pore = _thickness_nm(pores, h, p, rng, periodic, None if periodic else dt_pores)
        del dt_pores
        if not keep_fields:
            del pores
        lig = _thickness_nm(solid, h, p, rng, periodic)
        area = _surface_area(solid, periodic) * h**2
        from ase.data import atomic_masses, atomic_numbers

        mass_g = sum(atomic_masses[atomic_numbers[s]] * int(np.sum(frame.symbols == s))
                     for s in ("Li", "Si")) * AMU_G
        res = {
            "porosity": v_pore / v_env if v_env > 0 else float("nan"),
            "porosity_basis": "cell" if periodic else "envelope",
            "envelope_volume_nm3": v_env * 1e-3,
            "solid_volume_nm3": (v_env - v_pore) * 1e-3,
            "pore_count": pore_count,
            "surface_area_nm2": area * 1e-2,
            "specific_surface_area_m2_per_g": float(area * ANGSTROM2_M2 / mass_g),
            "ligament_diameter_nm": lig,
            "pore_diameter_nm": pore,
            "voxel_angstrom": h,
        }
        if keep_fields:
            res["_fields"] = {"solid": solid, "envelope": envelope, "voxel_angstrom": h,
                              "origin_angstrom": grid["origin"]}
        return res


def _grid(frame: Frame, h: float, p: VoxelParams):
    """Voxel grid: shape and origin (the periodic cell, or a box just around the particle)."""
    if frame.periodic:
        cell = np.asarray(frame.cell, float)
        if not np.allclose(cell, np.diag(np.diag(cell)), atol=1e-6):
            warnings.warn("triclinic periodic cell: voxel metrics (porosity, thickness) need an "
                          "orthorhombic cell and are skipped", stacklevel=4)
            return None
        lengths = np.diag(cell)
        n = np.maximum(np.round(lengths / h).astype(int), 1)
        return {"periodic": True, "n": n, "spacing": lengths / n, "origin": np.zeros(3)}
    rmax = max(p.atom_radius_angstrom.values()) + p.probe_radius_angstrom
    pad = rmax + 3 * h
    lo = frame.positions.min(0) - pad
    hi = frame.positions.max(0) + pad
    n = np.ceil((hi - lo) / h).astype(int) + 1
    if np.prod(n.astype(float)) > 2e9:
        raise ConfigError(f"voxel grid of {n.tolist()} is too large; use a larger voxel_angstrom")
    return {"periodic": False, "n": n, "spacing": np.full(3, h), "origin": lo}


def _solid(grid, frame, r_atom, probe_vox):
    from dealloy.analysis._kernels import probe_sweep, stamp_balls

    h = grid["spacing"]
    u = (frame.positions - grid["origin"]) / h
    hmean = float(np.mean(h))
    if grid["periodic"]:
        u = np.mod(u, grid["n"])
    excl = np.zeros(tuple(grid["n"]), dtype=np.bool_)
    stamp_balls(excl, np.ascontiguousarray(u), (r_atom / hmean + probe_vox).astype(np.float64),
                bool(grid["periodic"]))
    if probe_vox <= 0:
        return excl
    if grid["periodic"]:
        m = [min(int(np.ceil(probe_vox)) + 2, k) for k in excl.shape]
        padded = np.pad(excl, [(k, k) for k in m], mode="wrap")
        probe_sweep(padded, float(probe_vox))
        return np.ascontiguousarray(padded[m[0]:m[0] + excl.shape[0], m[1]:m[1] + excl.shape[1],
                                           m[2]:m[2] + excl.shape[2]])
    # void = union of probe balls at the free centres; solid = the rest
    return probe_sweep(excl, float(probe_vox))


def _envelope(solid: np.ndarray, probe_vox: float, factor: int = 1) -> np.ndarray:
    """Closing of ``solid`` by a ball of ``probe_vox`` voxels with probe centres connected to the
    outside, computed on a grid ``factor`` times coarser (a coarse cell is solid if any of its
    voxels is), then back on the fine grid and united with the solid."""
    n = np.array(solid.shape)
    nc = -(-n // factor)
    if factor > 1:
        padded = np.zeros(nc * factor, np.bool_)
        padded[:n[0], :n[1], :n[2]] = solid
        coarse = padded.reshape(nc[0], factor, nc[1], factor, nc[2], factor).any(axis=(1, 3, 5))
        del padded
    else:
        coarse = solid
    r = probe_vox / factor
    pad = int(np.ceil(r)) + 2
    coarse = np.pad(coarse, pad)
    centres = _edt(~coarse) > r
    # keep probe centres connected to the box faces (a probe inside a cavity is not "outside")
    lab, nlab = ndi.label(centres)
    on_face = np.zeros(nlab + 1, np.bool_)
    for face in (lab[0], lab[-1], lab[:, 0], lab[:, -1], lab[:, :, 0], lab[:, :, -1]):
        on_face[np.unique(face)] = True
    on_face[0] = False
    centres = on_face[lab]
    del lab
    inside = ~(centres | (_edt(~centres) <= r))
    inside = inside[pad:-pad, pad:-pad, pad:-pad]
    if factor > 1:
        inside = np.broadcast_to(inside[:, None, :, None, :, None],
                                 (nc[0], factor, nc[1], factor, nc[2], factor)
                                 ).reshape(nc * factor)[:n[0], :n[1], :n[2]]
    return inside | solid


def _opening(mask: np.ndarray, r_vox: float) -> np.ndarray:
    """Morphological opening of ``mask`` by a ball: the voxels covered by a ball of EDT radius
    >= ``r_vox`` (a ball of EDT radius r spans 2r - 1 voxels) that lies inside ``mask``."""
    if r_vox <= 0 or not mask.any():
        return mask
    centres = _edt(mask) >= r_vox
    if not centres.any():
        return np.zeros_like(mask)
    return mask & (_edt(~centres) < r_vox)


def _label(mask: np.ndarray):
    """ndimage.label with 2-byte labels when they fit (saves memory on large grids)."""
    out = np.zeros(mask.shape, np.uint16)
    try:
        n = ndi.label(mask, output=out)
        return out, n
    except RuntimeError:  # more than 65535 regions
        del out
        return ndi.label(mask)


def _bbox(mask: np.ndarray, pad: int = 1):
    sl = []
    for ax in range(3):
        other = tuple(a for a in range(3) if a != ax)
        idx = np.flatnonzero(mask.any(axis=other))
        if len(idx) == 0:
            return (slice(0, 0),) * 3
        sl.append(slice(max(idx[0] - pad, 0), min(idx[-1] + pad + 1, mask.shape[ax])))
    return tuple(sl)


def _surface_area(solid: np.ndarray, periodic: bool) -> float:
    faces = 0
    for ax in range(3):
        if periodic:
            faces += int(np.count_nonzero(solid != np.roll(solid, 1, axis=ax)))
        else:
            a = np.moveaxis(solid, ax, 0)
            faces += int(np.count_nonzero(a[1:] != a[:-1])) + int(a[0].sum() + a[-1].sum())
    return faces * 2.0 / 3.0


def local_thickness_samples(phase: np.ndarray, n_samples: int, rng, periodic: bool = False,
                            dt: np.ndarray | None = None, ridge_alpha: float = 0.85):
    """Local thickness (radius, voxels, of the largest inscribed EDT ball containing the point)
    at ``n_samples`` random voxels of ``phase``. Returns (radii, sample coordinates).

    ``dt`` may be given (the EDT of ``phase``, non-periodic case) to save recomputing it."""
    from dealloy.analysis._kernels import max_covering_radius, ridge_mask, ridge_points

    n_phase = int(np.count_nonzero(phase))
    if n_phase == 0:
        return np.zeros(0, np.float32), np.zeros((0, 3), np.int64)
    if periodic:
        m = [min(k, 40) for k in phase.shape]
        work = np.pad(phase, [(k, k) for k in m], mode="wrap")
        off = np.array(m)
        dt = None
    else:
        work, off = phase, np.zeros(3, int)
    if work.all():
        return np.zeros(0, np.float32), np.zeros((0, 3), np.int64)  # phase fills the cell
    if dt is None:
        dt = _edt(work)
    ridge = np.zeros(work.shape, np.bool_)
    ridge_mask(dt, ridge, float(ridge_alpha))
    centres = np.empty((int(np.count_nonzero(ridge)), 3), np.int32)
    radii = np.empty(len(centres), np.float32)
    ridge_points(ridge, dt, centres, radii)
    del ridge
    samples = _random_voxels(phase, n_samples, rng) + off
    # radius classes, geometric (x1.3), descending
    edges = [float(radii.max()) + 1e-3]
    while edges[-1] > 1.0:
        edges.append(edges[-1] / 1.3)
    edges[-1] = 0.0
    cls = np.searchsorted(-np.asarray(edges[1:]), -radii, side="right")  # 0 = largest radii
    cls = np.minimum(cls, len(edges) - 2)
    class_lo, buckets, dims, offs, keys_all = [], [], [], [], []
    key_off = 0
    shape = np.array(work.shape)
    for k in range(len(edges) - 1):
        b = int(np.ceil(edges[k])) + 1
        nb = shape // b + 1
        sel = cls == k
        keys_all.append(np.where(sel)[0])
        class_lo.append(edges[k + 1])
        buckets.append(b)
        dims.append(nb)
        offs.append(key_off)
        key_off += int(np.prod(nb))
    key = np.empty(len(centres), np.int64)
    for k, idx in enumerate(keys_all):
        b, nb = buckets[k], dims[k]
        c = centres[idx].astype(np.int64) // b
        key[idx] = offs[k] + (c[:, 0] * nb[1] + c[:, 1]) * nb[2] + c[:, 2]
    order = np.lexsort((-radii, key))
    centres, radii, key = centres[order], radii[order], key[order]
    starts = np.searchsorted(key, np.arange(key_off + 1)).astype(np.int64)
    r = max_covering_radius(samples, centres, radii, np.asarray(class_lo, np.float32),
                            np.asarray(buckets, np.int64), np.asarray(dims, np.int64),
                            np.asarray(offs, np.int64), starts)
    # a point is always inside its own ball (guards against a dropped near-maximal ridge ball)
    r = np.maximum(r, dt[tuple(samples.T)])
    return r, samples - off


def _random_voxels(phase: np.ndarray, n: int, rng) -> np.ndarray:
    n_phase = int(np.count_nonzero(phase))
    if n_phase <= n:
        return np.argwhere(phase).astype(np.int64)
    frac = n_phase / phase.size
    out = []
    got = 0
    while got < n:
        k = int((n - got) / frac * 1.2) + 16
        c = np.column_stack([rng.integers(0, s, k) for s in phase.shape])
        c = c[phase[tuple(c.T)]]
        out.append(c)
        got += len(c)
    return np.concatenate(out)[:n].astype(np.int64)


def _thickness_nm(phase, h, p: VoxelParams, rng, periodic: bool, dt=None) -> dict:
    radii, _ = local_thickness_samples(phase, p.thickness_samples, rng, periodic=periodic, dt=dt)
    return thickness_stats(radii, h, p.histogram_bin_nm)


def thickness_stats(radii_vox: np.ndarray, h: float, bin_nm: float) -> dict:
    """Diameter statistics (nm): a ball of EDT radius r voxels spans 2r - 1 voxels."""
    if len(radii_vox) == 0:  # phase absent, or fills a periodic cell (no finite thickness)
        return {"mean": None, "median": None, "std": None, "n_samples": 0,
                "histogram": {"bin_edges": [], "fraction": []}}
    d = (2.0 * radii_vox.astype(float) - 1.0) * h * 0.1
    top = max(bin_nm, np.ceil(d.max() / bin_nm) * bin_nm)
    edges = np.arange(0.0, top + bin_nm / 2, bin_nm)
    hist, edges = np.histogram(d, bins=edges)
    return {"mean": float(d.mean()), "median": float(np.median(d)), "std": float(d.std()),
            "n_samples": int(len(d)),
            "histogram": {"bin_edges": np.round(edges, 6).tolist(),
                          "fraction": (hist / len(d)).tolist()}}

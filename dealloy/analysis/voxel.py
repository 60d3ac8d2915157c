"""Voxel metrics of a particle: porosity, local thickness, pore count, specific surface area.

Porosity, pore and ligament local thickness, pore count, specific surface area, each porosity
and size with its convention band.

Definitions (docs/analysis.md, "Voxel metrics", has the measurements behind each choice):

- **solid** (the boundary convention): the half-density surface of the atoms' volume. Each atom
  carries its atomic volume Ω (``atomic_volume_angstrom3``: c-Si a³/8 = 20.02 Å³; Li 15.0 Å³, its
  partial volume in c-Li15Si4 (I-43d, a = 10.685 Å) with the Si at its c-Si volume) spread as a
  Gaussian of standard deviation
  ``density_width_angstrom``; the sum is the local volume fraction φ (1 on average inside a dense
  phase) and the solid is φ >= 1/2. On a flat surface this is the equimolar (Gibbs) dividing
  surface: a slab of n planes is n plane spacings thick (its mass thickness), a dense region of N
  atoms has volume N Ω. It is the simulation's version of segmenting a tomogram at half the
  dense-Si intensity (the paper's HAADF tomography, Fig. 2 and S6: intensity thresholded between
  the Si and pore levels), with the Gaussian standing for the instrument's blur.
- **convention band**: porosity, ligament and pore sizes recomputed with the solid's boundary
  moved by ``-boundary_band_angstrom`` and ``+boundary_band_angstrom`` (default 1 Å: the
  outermost atom centres lie 0.7-1.2 Å inside the equimolar surface of Si(001) and (111), and a
  threshold at 25-75 % of the dense intensity at a 0.3 nm tomographic resolution moves it by
  ~0.9 Å). Reported
  as ``*_low`` / ``*_high`` (the smaller / larger of the two).
- **envelope**: the particle's outline: everything that a large probe of radius
  ``envelope_probe_radius_angstrom`` (default 25 Å, much larger than the 1.5-2 nm pore radii of
  the paper) coming from outside cannot reach (a morphological closing of the solid, with probe
  centres restricted to the outside region). Open and closed pores are inside it; the vacuum around
  the particle never is. A bulk (periodic) frame has no envelope: the whole cell is used and the
  porosity is per cell. A slab or wire (``Frame.pbc`` periodic along some axes): the grid wraps
  along the periodic axes (every step below runs across their faces) and the probe comes in from
  the open axes only, so the vacuum beside it is never pore space and pores inside it are,
  wherever they sit in the cell; its porosity is per envelope.
- **pores** = envelope minus solid. ``porosity`` = pore volume / envelope volume.
- **smallest resolvable pore** (``smallest_pore_diameter_nm``): the equimolar diameter (that of
  the ball holding the missing atoms' volume) of the smallest spherical void in a dense phase that
  the settings still report as a pore: its half-density void must hold a ball of
  ``min_pore_diameter_angstrom`` (see :func:`smallest_pore_diameter_angstrom`). Smaller voids are
  invisible; a porosity of 0 says so in ``notes``.
- **local thickness** of a phase at a point: the diameter of the largest sphere inside the phase
  that contains the point (T. Hildebrand, P. Rüegsegger, "A new method for the model-independent
  assessment of thickness in three-dimensional images", J. Microsc. 185 (1997) 67-75,
  doi:10.1046/j.1365-2818.1997.1340694.x; porespy's definition), volume weighted. It is evaluated
  exactly (on the voxel grid) at ``thickness_samples`` random points of the phase, using the
  maximal-ball centres (ridge of the distance transform); the statistics are those of the sample
  (standard error ~ std/sqrt(n)). The band uses ``band_thickness_samples`` points.
- **surface corrugation**: void space inside the envelope that no ball of
  ``min_pore_diameter_angstrom`` inside the void covers (dents of the surface, and the shell the
  coarse envelope grid leaves) is neither pore nor particle: it is left out of both volumes. Such
  voids that the solid encloses (reached neither from a pore nor from outside the envelope) are
  solid: below the resolvable size nothing is a pore.
- ``pore_count``: connected pore regions (6-connectivity) of at least ``min_pore_volume_angstrom3``.
- ``specific_surface_area_m2_per_g``: solid/non-solid interface area (voxel faces x 2/3, the
  Cauchy-Crofton mean for isotropic surfaces) per particle mass.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
from scipy import ndimage as ndi

from dealloy import materials as M
from dealloy.analysis.base import Analysis
from dealloy.analysis.frame import Frame
from dealloy.config.analysis import VoxelParams  # units and bounds: dealloy.config.analysis
from dealloy.errors import ConfigError
from dealloy.labelling import connected_to_faces, label
from dealloy.labelling import per_axis as _axes

AMU_G = M.UNITS["_amu"] * 1e3  # atomic mass constant in g (CODATA 2018)
ANGSTROM2_M2 = 1e-20
#: atomic volumes (Å³): c-Si a³/8; Li from c-Li15Si4 with the Si at its c-Si volume
#: (definitions and sources in :mod:`dealloy.materials`)
OMEGA_SI_ANGSTROM3 = M.OMEGA_SI_ANGSTROM3
OMEGA_LI_ANGSTROM3 = M.OMEGA_LI_ANGSTROM3
#: the solid is where the volume fraction is at least this (half the dense phase's)
SOLID_LEVEL = 0.5


def _edt(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance (voxels, float32) from each True voxel to the nearest False voxel."""
    import edt

    mask = np.ascontiguousarray(mask)
    data = mask.view(np.uint8) if mask.dtype == np.bool_ else mask.astype(np.uint8)
    return edt.edt(data, black_border=False, parallel=1)


class VoxelMetrics(Analysis):
    """Porosity, ligament/pore local thickness, pore count, smallest pore, specific surface area.

    Each porosity and size with its convention band; definitions in the module docstring.

    ``results`` (empty, with a warning, for a periodic cell that has no orthogonal supercell):
    ``porosity`` (+ ``porosity_low``/``porosity_high``), ``porosity_basis``,
    ``ligament_diameter_nm`` and ``pore_diameter_nm`` (``mean``, ``median``, ``std``,
    ``n_samples``, ``histogram``, and the band's ``*_low``/``*_high``), ``envelope_volume_nm3``,
    ``solid_volume_nm3``, ``pore_count``, ``surface_area_nm2``,
    ``specific_surface_area_m2_per_g``, ``smallest_pore_diameter_nm``, the settings used
    (``voxel_angstrom``, ``density_width_angstrom``, ``boundary_band_angstrom``) and ``notes``.
    :meth:`compute` raises :class:`~dealloy.errors.ConfigError` for a parameter out of its range
    or a grid of more than 2e9 voxels.

    Parameters
    ----------
    params : VoxelParams, optional
        Default ``VoxelParams(**kwargs)``.
    **kwargs
        Fields of :class:`VoxelParams`.

    References
    ----------
    T. Hildebrand, P. Rüegsegger, J. Microsc. 185 (1997) 67-75,
    doi:10.1046/j.1365-2818.1997.1340694.x (local thickness).
    """

    Params = VoxelParams

    def _compute(self, frame: Frame, keep_fields: bool = False) -> dict:
        p = self.params
        h = float(p.voxel_angstrom)
        if not 0 < h <= 5:
            raise ConfigError(f"voxel_angstrom={h}: give a voxel size in (0, 5] Å (default 1)")
        width = float(p.density_width_angstrom)
        if not 0.3 <= width <= 5:
            raise ConfigError(f"density_width_angstrom={width}: give a Gaussian width in "
                              "[0.3, 5] Å (default 1.5)")
        band = float(p.boundary_band_angstrom)
        if not 0 <= band <= 5:
            raise ConfigError(f"boundary_band_angstrom={band}: give a boundary shift in [0, 5] Å "
                              "(default 1)")
        omega = {s: float(p.atomic_volume_angstrom3.get(s, 0.0)) for s in ("Li", "Si")}
        bad = [s for s, v in omega.items() if not v > 0]
        if bad:
            raise ConfigError(f"atomic_volume_angstrom3 needs a positive volume for {bad} (Å³)")
        multiple = 1
        if not _axis_aligned(frame):
            found = orthogonal_supercell_frame(frame)
            if found is None:
                warnings.warn("triclinic periodic cell without a small orthogonal supercell: voxel "
                              "metrics (porosity, thickness) need the periodic cell vectors along "
                              "x, y, z and are skipped", stacklevel=4)
                return {}
            frame, multiple = found
        grid = _grid(frame, h, p)
        if grid is None:
            return {}
        periodic = tuple(bool(x) for x in grid["periodic"])
        w_atom = np.where(frame.symbols == "Si", omega["Si"], omega["Li"])
        phi = volume_fraction_field(frame.positions, w_atom, grid, width)
        box = [phi >= SOLID_LEVEL]  # the pass takes the mask out of the box (frees it early)
        del phi
        shape = box[0].shape
        # the band's passes start from this solid: kept bit-packed (1/8 byte per voxel)
        packed = np.packbits(box[0]) if band > 0 else None
        rng = np.random.default_rng(p.seed)
        # lengths in voxels x h, volumes in voxels x dv (a periodic cell's spacing is its
        # length / round(length / h): within half a voxel per cell of h on each axis)
        hl = float(np.mean(grid["spacing"]))
        dv = float(np.prod(grid["spacing"]))
        res = _phase_metrics(box, hl, dv, p, rng, periodic, p.thickness_samples, full=True,
                             keep_fields=keep_fields)
        fields = res.pop("_fields", None)
        from ase.data import atomic_masses, atomic_numbers

        mass_g = sum(atomic_masses[atomic_numbers[s]] * int(np.sum(frame.symbols == s))
                     for s in ("Li", "Si")) * AMU_G
        area = res.pop("_area_angstrom2")
        res["specific_surface_area_m2_per_g"] = float(area * ANGSTROM2_M2 / mass_g)
        # the convention band: the same metrics with the boundary moved by -band and +band
        shifted = []
        for sign in (-1.0, 1.0):
            if band > 0:
                solid = np.unpackbits(packed, count=int(np.prod(shape))).reshape(shape)
                box = [shift_boundary(solid.view(np.bool_), sign * band / h, periodic)]
                del solid
                shifted.append(_phase_metrics(box, hl, dv, p, rng, periodic,
                                              p.band_thickness_samples))
        del packed
        if shifted:
            _attach_band(res, shifted)
        # the blur actually applied: the Gaussian, or the linear deposit alone (h/√6) on a grid
        # too coarse for it
        width_eff = max(width, float(np.max(grid["spacing"])) / np.sqrt(6.0))
        d_min = smallest_pore_diameter_angstrom(width_eff, p.min_pore_diameter_angstrom, h)
        res["smallest_pore_diameter_nm"] = round(d_min / 10, 3)
        res["boundary_band_angstrom"] = band
        res["density_width_angstrom"] = round(width_eff, 4)
        res["voxel_angstrom"] = h
        if res["pore_count"] == 0 and not res["porosity"] > 0:
            res["notes"] = [f"no pore resolved: voids smaller than {d_min / 10:.2f} nm "
                            "(equimolar diameter) are invisible at these settings "
                            "(smallest_pore_diameter_nm)"]
        if multiple > 1:  # extensive results per cell of the input
            for key in ("envelope_volume_nm3", "solid_volume_nm3", "surface_area_nm2"):
                res[key] = res[key] / multiple
            res["pore_count"] = int(np.ceil(res["pore_count"] / multiple))
        if multiple > 1 or frame.info.get("_voxel_rotated"):
            res.setdefault("notes", []).append(
                "periodic cell vectors not along x, y, z: voxelised rotated" + (
                    f", as an orthogonal supercell of {multiple} cells; volumes, surface area "
                    "and pore count are per input cell" if multiple > 1 else ""))
        if keep_fields:
            res["_fields"] = {"solid": fields["solid"], "envelope": fields["envelope"],
                              "voxel_angstrom": h, "origin_angstrom": grid["origin"]}
        return res


def _attach_band(res: dict, shifted: list[dict]) -> None:
    """``*_low`` / ``*_high``: the smaller and larger value over the shifted boundaries."""
    def lo_hi(vals):
        vals = [v for v in vals if v is not None and v == v]
        return (min(vals), max(vals)) if vals else (None, None)

    res["porosity_low"], res["porosity_high"] = lo_hi(
        [res["porosity"]] + [s["porosity"] for s in shifted])
    for key in ("ligament_diameter_nm", "pore_diameter_nm"):
        for stat in ("mean", "median"):
            lo, hi = lo_hi([res[key][stat]] + [s[key][stat] for s in shifted])
            res[key][f"{stat}_low"], res[key][f"{stat}_high"] = lo, hi


def _phase_metrics(box: list, h: float, dv: float, p: VoxelParams, rng, periodic,
                   n_samples: int, full: bool = False, keep_fields: bool = False) -> dict:
    """Compute envelope, pores, porosity and the local thickness of both phases for one solid.

    The solid mask is handed over in a one-element list ``box`` and taken out of it, so that the
    caller holds no reference and the unfilled mask is freed once filled (``h``: voxel edge, Å;
    ``dv``: voxel volume, Å³; ``periodic``: 3 bools, the grid wraps along those axes; ``full``:
    also pore count, volumes and surface area).

    Returns
    -------
    dict
        ``porosity``, ``ligament_diameter_nm``, ``pore_diameter_nm`` (and with ``full`` the
        volumes, pore count and surface area).
    """
    from dealloy.analysis._kernels import drop_labels, label_stats  # deferred: numba (~0.3 s import)

    solid = box.pop()
    periodic = _axes(periodic)
    if all(periodic):
        envelope = np.ones_like(solid)
    else:  # the probe comes in along the open axes only (a slab's or wire's envelope)
        envelope = _envelope(solid, p.envelope_probe_radius_angstrom / h,
                             max(1, int(round(p.envelope_voxel_angstrom / h))), periodic)
    pores = envelope & ~solid
    # surface corrugation, voxel by voxel: keep only the pore space covered by a ball of at
    # least min_pore_diameter inside it. Per pocket is not enough: the thin shell the coarse
    # envelope leaves around the whole particle is one pocket, and one 4 Å dimple in it kept
    # all of it (a "porosity" of 0.2 on a dense particle, flickering frame to frame)
    opened = _opening(pores, 0.5 * (p.min_pore_diameter_angstrom / h + 1.0), periodic)
    if keep_fields:
        envelope &= ~(pores & ~opened)
    else:
        del envelope  # = solid | pores from here on
    pores = opened
    del opened
    pore_count = 0
    dt_pores = _edt(pores) if pores.any() else None
    labels, nlab = _label(pores, periodic)
    if nlab:
        biggest, counts = label_stats(labels, dt_pores, nlab)
        diam = (2.0 * biggest - 1.0) * h
        small = diam < p.min_pore_diameter_angstrom
        small[0] = False
        vols = counts[1:] * dv
        pore_count = int(np.sum((vols >= p.min_pore_volume_angstrom3) & ~small[1:]))
        if keep_fields:
            drop_labels(labels, small, envelope, np.zeros(labels.shape, np.float32))
        drop_labels(labels, small, pores, dt_pores)
    del labels
    # voids below the resolvable size that the solid encloses (reached neither from a pore nor
    # from outside the envelope) are solid: a tomogram at this resolution shows them as solid, and
    # in melt-quenched a-LixSi they would cut every inscribed ball (a dense 3.3 nm a-Si(Li)
    # particle read a ligament median of 1.15 nm with them, 2.08 nm without)
    v_pore = float(np.count_nonzero(pores)) * dv
    # handed over in a list: the thickness frees it once sampled, before its sort and the fill
    dt_box = [] if dt_pores is None or any(periodic) else [dt_pores]
    del dt_pores
    pore = _thickness_nm(pores, h, p, rng, periodic, dt_box, n_samples)
    solid = _fill_enclosed(solid, pores, periodic)
    del pores
    if keep_fields:
        envelope |= solid
    v_solid = float(np.count_nonzero(solid)) * dv
    v_env = v_solid + v_pore
    lig = _thickness_nm(solid, h, p, rng, periodic, [], n_samples)
    res = {"porosity": v_pore / v_env if v_env > 0 else float("nan"),
           "ligament_diameter_nm": lig, "pore_diameter_nm": pore}
    if full:
        area = _surface_area(solid, periodic) * dv ** (2 / 3)
        res.update({"porosity_basis": "cell" if all(periodic) else "envelope",
                    "envelope_volume_nm3": v_env * 1e-3, "solid_volume_nm3": v_solid * 1e-3,
                    "pore_count": pore_count, "surface_area_nm2": area * 1e-2,
                    "_area_angstrom2": area})
        # put the scalars first, the size distributions last (as before)
        res = {k: res[k] for k in ("porosity", "porosity_basis", "envelope_volume_nm3",
                                   "solid_volume_nm3", "pore_count", "surface_area_nm2",
                                   "_area_angstrom2", "ligament_diameter_nm", "pore_diameter_nm")}
    if keep_fields:
        res["_fields"] = {"envelope": envelope, "solid": solid}
    return res


def _fill_enclosed(solid: np.ndarray, seeds: np.ndarray, periodic=False) -> np.ndarray:
    """Fill the enclosed non-solid regions of ``solid`` that are not resolved pores.

    Every connected non-solid region (6-connectivity, across the faces of the periodic axes)
    holding no ``seeds`` voxel (the resolved pores) and touching none of the faces of the open
    axes (the outside of the envelope: the probe comes from those faces) becomes solid.

    Returns
    -------
    numpy.ndarray of bool
        The filled solid.
    """
    periodic = _axes(periodic)
    labels, n = _label(~solid, periodic)
    if n == 0:
        return solid
    reached = np.zeros(n + 1, np.bool_)
    reached[np.unique(labels[seeds])] = True
    for ax in range(3):
        if not periodic[ax]:
            for end in (0, -1):
                reached[np.unique(np.take(labels, end, axis=ax))] = True
    reached[0] = True  # label 0 is the solid itself
    out = solid | ~reached[labels]
    del labels
    return out


def volume_fraction_field(positions: np.ndarray, atomic_volume: np.ndarray, grid: dict,
                          width_angstrom: float) -> np.ndarray:
    """Local volume fraction φ(x) = Σ_a Ω_a G_σ(x - x_a) on the voxel centres (float32).

    Parameters
    ----------
    positions : numpy.ndarray, shape (N, 3)
        Cartesian positions (Å).
    atomic_volume : numpy.ndarray, shape (N,)
        Ω of each atom (Å³).
    grid : dict
        From ``_grid``: ``n`` (3 ints), ``spacing`` (3, Å), ``origin`` (3, Å), ``periodic``
        (3 bools, or one for all axes: wrap the field across the cell along them).
    width_angstrom : float
        σ of the Gaussian (Å).

    Returns
    -------
    numpy.ndarray of float32, shape (nx, ny, nz)
        φ, 1 on average inside a phase whose atoms have volume Ω.

    Notes
    -----
    Each atom is deposited on its 8 nearest voxels by linear (cloud-in-cell) weights, which
    blurs by a triangle of variance h²/6 per axis, then smoothed by ``scipy.ndimage.
    gaussian_filter`` with σ_g² = σ² - h²/6, so the total blur is the Gaussian σ (when
    σ² >= h²/6; otherwise the deposit alone, σ_eff = h/√6).
    """
    n = np.asarray(grid["n"], int)
    sp = np.asarray(grid["spacing"], float)
    periodic = np.asarray(_axes(grid["periodic"]))
    u = (np.asarray(positions, float) - grid["origin"]) / sp
    i0 = np.floor(u).astype(np.int64)
    f = u - i0
    rho = np.zeros(int(np.prod(n)), np.float32)
    wt = np.asarray(atomic_volume, float) / float(np.prod(sp))
    for corner in range(8):
        c = np.array([(corner >> k) & 1 for k in range(3)])
        idx = i0 + c
        w = wt * np.prod(np.where(c == 1, f, 1.0 - f), axis=1)
        idx = np.where(periodic, np.mod(idx, n), idx)
        if not periodic.all():
            ok = np.all((idx >= 0) & (idx < n), axis=1)
            idx, w = idx[ok], w[ok]
        np.add.at(rho, np.ravel_multi_index(idx.T, tuple(n)), w.astype(np.float32))
    rho = rho.reshape(tuple(n))
    sigma = np.sqrt(np.maximum(width_angstrom**2 - sp**2 / 6.0, 0.0)) / sp
    if np.any(sigma > 0):
        ndi.gaussian_filter(rho, sigma, output=rho, truncate=4.0,
                            mode=["wrap" if q else "constant" for q in periodic])
    return rho


def shift_boundary(solid: np.ndarray, shift_vox: float, periodic) -> np.ndarray:
    """Move the boundary of ``solid`` outward by ``shift_vox`` voxels (inward if negative).

    The boundary lies half a voxel beyond the last solid voxel centre, so a voxel moves to the
    other side when its distance transform (to the nearest voxel of the other phase) is below
    ``|shift_vox| + 1/2``; one voxel layer per voxel of shift on a flat face.

    Parameters
    ----------
    solid : numpy.ndarray of bool, shape (nx, ny, nz)
        The solid voxels.
    shift_vox : float
        The shift in voxels (> 0 grows the solid, < 0 shrinks it).
    periodic : bool or sequence of 3 bool
        Axes across whose faces the grid wraps.

    Returns
    -------
    numpy.ndarray of bool, shape of ``solid``
        A new mask (a copy for a zero shift).
    """
    if shift_vox == 0:
        return solid.copy()
    grow = shift_vox > 0
    # a voxel of src flips when its EDT (to the other phase) is below |shift| + 1/2: it lies in
    # the other phase's dilation by that ball (computed as such: exact, no float grid)
    padded, cut = _wrap_pad(solid, int(np.ceil(abs(shift_vox))) + 2, _axes(periodic))
    near = _ball_dilation(padded, abs(shift_vox) + 0.5, invert=not grow)
    del padded
    near = np.ascontiguousarray(near[cut])
    if grow:
        near |= solid
        return near
    np.logical_not(near, out=near)
    near &= solid
    return near


def smallest_pore_diameter_angstrom(width_angstrom: float, min_pore_diameter_angstrom: float,
                                    voxel_angstrom: float) -> float:
    """Compute the equimolar diameter of the smallest spherical void reported as a pore.

    A void of equimolar radius R (the ball holding the missing atoms' volume) in a phase of
    volume fraction 1, blurred by a Gaussian of σ = ``width_angstrom``, has volume fraction
    φ(r) = 1 - P(|r e + σ Z| < R) at distance r from its centre (Z a standard normal 3-vector:
    |r e + σ Z|²/σ² is noncentral χ² with 3 degrees of freedom and noncentrality (r/σ)²). Its
    half-density void has radius r_v(R) (φ(r_v) = 1/2; none when φ(0) >= 1/2, i.e. R below
    1.54 σ). It survives the corrugation opening when r_v >= ``min_pore_diameter_angstrom`` / 2
    (and half a voxel).

    Parameters
    ----------
    width_angstrom : float
        σ of the Gaussian density (Å).
    min_pore_diameter_angstrom : float
        Smallest ball a pore must hold (Å).
    voxel_angstrom : float
        Voxel edge (Å).

    Returns
    -------
    float
        2 R at that limit (Å).
    """
    from scipy.optimize import brentq
    from scipy.stats import chi2, ncx2

    s = float(width_angstrom)
    need = max(0.5 * float(min_pore_diameter_angstrom), 0.5 * float(voxel_angstrom))

    def inside(r, big_r):  # P(|r e + s Z| < R)
        if r <= 0:
            return float(chi2.cdf((big_r / s) ** 2, 3))
        return float(ncx2.cdf((big_r / s) ** 2, 3, (r / s) ** 2))

    def excess(big_r):  # > 0 when the void at radius `need` is still below half density
        return inside(need, big_r) - SOLID_LEVEL

    lo, hi = need, need + 10 * s
    return 2.0 * brentq(excess, lo, hi, xtol=1e-4)


def _axis_aligned(frame: Frame) -> bool:
    """Tell whether every periodic cell vector of ``frame`` lies along its Cartesian axis."""
    cell = np.asarray(frame.cell, float)
    return all(not q or (np.allclose(np.delete(cell[ax], ax), 0.0, atol=1e-6) and cell[ax, ax] > 0)
               for ax, q in enumerate(frame.pbc))


def orthogonal_supercell_frame(frame: Frame, max_coefficient: int = 3, max_multiple: int = 8,
                               cos_tol: float = 1e-5):
    """Rebuild the frame as an orthogonal supercell of its periodic lattice, along x (, y, z).

    The voxel grid needs the periodic cell vectors along the Cartesian axes. A wire or a slab
    whose periodic vectors are orthogonal but rotated is only rotated (1 cell); a hexagonal slab
    (a, b at 120°) becomes its rectangular (a, 2b + a) cell (2 cells); an fcc/bcc primitive cell
    its cubic cell (4/2 cells). The supercell's vectors are integer combinations (coefficients up to
    ``max_coefficient``) of the periodic cell vectors, mutually orthogonal within ``cos_tol``,
    holding the fewest cells (at most ``max_multiple``), then the shortest. The voxel metrics are
    rotation invariant (to the voxel resolution), and intensive ones do not depend on the number
    of cells.

    Parameters
    ----------
    frame : dealloy.analysis.frame.Frame
        A frame with a periodic cell vector not along its axis (positions in Å).
    max_coefficient : int
        Largest integer coefficient of the supercell vectors.
    max_multiple : int
        Most input cells the supercell may hold.
    cos_tol : float
        Largest |cos| between supercell vectors counted as orthogonal.

    Returns
    -------
    tuple of (dealloy.analysis.frame.Frame, int), or None
        The rotated supercell (periodic axes first: x, then y, z; open axes after them) and the
        number of input cells it holds; None if no such supercell exists within the limits.
    """
    import itertools

    cell = np.asarray(frame.cell, float)
    per = [ax for ax in range(3) if frame.pbc[ax]]
    k = len(per)
    P = cell[per]
    rng = range(-max_coefficient, max_coefficient + 1)
    coef = np.array([c for c in itertools.product(rng, repeat=k)
                     if any(c) and next(x for x in c if x) > 0], float)
    vec = coef @ P
    length = np.linalg.norm(vec, axis=1)
    order = np.argsort(length, kind="stable")
    coef, vec, length = coef[order], vec[order], length[order]
    gram = np.abs(vec @ vec.T) <= cos_tol * np.outer(length, length)
    best = None
    for combo in _orthogonal_sets(gram, k):
        m = coef[list(combo)]
        det = abs(round(float(np.linalg.det(m))))
        if det < 1 or det > max_multiple:
            continue
        key = (det, float(length[list(combo)].sum()))
        if best is None or key < best[0]:
            best = (key, m, vec[list(combo)])
    if best is None:
        return None
    _, m, sup = best
    mult = int(abs(round(float(np.linalg.det(m)))))
    # orthonormal basis: the supercell's directions, then the open complement
    basis = [v / np.linalg.norm(v) for v in sup]
    for ax in range(3):
        if len(basis) == 3:
            break
        if ax in per:
            continue
        v = cell[ax] if np.linalg.norm(cell[ax]) > 0 else np.eye(3)[ax]
        for b in basis:
            v = v - (v @ b) * b
        if np.linalg.norm(v) < 1e-8:
            v = np.eye(3)[ax]
            for b in basis:
                v = v - (v @ b) * b
        basis.append(v / np.linalg.norm(v))
    while len(basis) < 3:  # a cell without open vectors to follow (should not happen)
        v = np.cross(basis[0], basis[1]) if len(basis) == 2 else np.eye(3)[
            int(np.argmin(np.abs(basis[0])))]
        for b in basis:
            v = v - (v @ b) * b
        basis.append(v / np.linalg.norm(v))
    rot = np.array(basis)
    # one image of every atom per coset of the input lattice in the supercell's
    inv = np.linalg.inv(m)
    reps, seen = [], set()
    span = int(np.abs(m).sum(axis=0).max()) + 1
    for c in itertools.product(range(span), repeat=k):
        key = tuple(np.round(np.mod(np.asarray(c, float) @ inv, 1.0), 6) % 1.0)
        if key not in seen:
            seen.add(key)
            reps.append(c)
        if len(reps) == mult:
            break
    if len(reps) != mult:
        return None
    pos = np.concatenate([frame.positions + np.asarray(c, float) @ P for c in reps])
    frac = pos @ sup.T / np.sum(sup**2, axis=1)  # along the (orthogonal) supercell vectors
    pos = pos - np.floor(frac) @ sup  # into the supercell along the periodic directions
    new_pos = pos @ rot.T
    lengths = np.linalg.norm(sup, axis=1)
    new_cell = np.zeros((3, 3))
    new_cell[:k, :k] = np.diag(lengths)
    for j, ax in enumerate(a for a in range(3) if a not in per):
        new_cell[k + j] = rot @ cell[ax]
    pbc = tuple([True] * k + [False] * (3 - k))
    info = dict(frame.info)
    info["_voxel_rotated"] = True
    out = Frame(new_pos, np.tile(frame.symbols, mult), new_cell, pbc, frame.time_ps, None, info,
                list(frame.notes))
    return out, mult


def _orthogonal_sets(gram: np.ndarray, k: int):
    """Index tuples of ``k`` mutually orthogonal candidates (``gram``: orthogonality matrix)."""
    n = len(gram)
    if k == 1:
        for i in range(n):
            yield (i,)
        return
    for i in range(n):
        js = np.flatnonzero(gram[i, i + 1:]) + i + 1
        if k == 2:
            for j in js:
                yield (i, j)
            continue
        for j in js:
            for q in np.flatnonzero(gram[j, j + 1:] & gram[i, j + 1:]) + j + 1:
                yield (i, j, q)


def _grid(frame: Frame, h: float, p: VoxelParams):
    """Lay out the voxel grid: shape, spacing and origin per axis.

    Along a periodic axis the cell (wrapped), along an open one a box just around the atoms (a
    particle: all open; a slab or wire: both). A periodic axis needs its cell vector along that
    Cartesian axis (the caller first turns other cells into a rotated orthogonal supercell,
    :func:`orthogonal_supercell_frame`); otherwise the metrics are skipped with a warning.

    Returns
    -------
    dict or None
        ``periodic``, ``n``, ``spacing`` (Å), ``origin`` (Å); None when a periodic vector is off
        its axis.

    Raises
    ------
    ConfigError
        When the grid would exceed 2e9 voxels.
    """
    per = tuple(bool(x) for x in frame.pbc)
    cell = np.asarray(frame.cell, float)
    for ax in range(3):
        if per[ax] and not np.allclose(np.delete(cell[ax], ax), 0.0, atol=1e-6):
            kind = "periodic cell" if all(per) else "cell vector along a periodic axis"
            warnings.warn(f"triclinic {kind}: voxel metrics (porosity, thickness) need the "
                          "periodic cell vectors along x, y, z and are skipped", stacklevel=4)
            return None
    # room for the Gaussian tails (4 σ), the band's outward shift, and the envelope's border
    pad = 4.0 * p.density_width_angstrom + p.boundary_band_angstrom + 3 * h
    n = np.zeros(3, int)
    spacing = np.full(3, float(h))
    origin = np.zeros(3)
    lo_atoms = frame.positions.min(0) - pad
    hi_atoms = frame.positions.max(0) + pad
    for ax in range(3):
        if per[ax]:
            length = float(cell[ax, ax])
            n[ax] = max(int(round(length / h)), 1)
            spacing[ax] = length / n[ax]
        else:
            origin[ax] = lo_atoms[ax]
            n[ax] = int(np.ceil((hi_atoms[ax] - lo_atoms[ax]) / h)) + 1
    if np.prod(n.astype(float)) > 2e9:
        raise ConfigError(f"voxel grid of {n.tolist()} is too large; use a larger voxel_angstrom")
    return {"periodic": per, "n": n, "spacing": spacing, "origin": origin}


def _envelope(solid: np.ndarray, probe_vox: float, factor: int = 1,
              periodic=(False, False, False)) -> np.ndarray:
    """Close ``solid`` by a ball of ``probe_vox`` voxels with probe centres connected to the outside.

    Computed on a grid ``factor`` times coarser (a coarse cell is solid if any of its voxels is),
    then back on the fine grid and united with the solid.

    ``periodic`` (3 bools): the grid wraps along those axes (a slab's or wire's): the probe moves
    across their faces, and the outside it comes from lies beyond the faces of the open axes only
    (the coarse grid treats the last, partial coarse cell of a periodic axis as a whole one: the
    envelope is then off by less than one coarse cell).

    Returns
    -------
    numpy.ndarray of bool
        The envelope, shape of ``solid``.
    """
    periodic = _axes(periodic)
    if any(periodic):
        return _envelope_partial(solid, probe_vox, factor, periodic)
    n = np.array(solid.shape)
    nc, coarse = _coarsen(solid, factor)
    r = probe_vox / factor
    pad = int(np.ceil(r)) + 2
    coarse = np.pad(coarse, pad)
    centres = _edt(~coarse) > r
    # keep probe centres connected to the box faces (a probe inside a cavity is not "outside")
    centres = connected_to_faces(centres)
    inside = ~(centres | (_edt(~centres) <= r))
    inside = inside[pad:-pad, pad:-pad, pad:-pad]
    if factor > 1:
        inside = np.broadcast_to(inside[:, None, :, None, :, None],
                                 (nc[0], factor, nc[1], factor, nc[2], factor)
                                 ).reshape(nc * factor)[:n[0], :n[1], :n[2]]
    return inside | solid


def _coarsen(solid: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """(coarse shape, coarse grid): a coarse voxel is solid if any of its factor³ fine ones is."""
    n = np.array(solid.shape)
    nc = -(-n // factor)
    if factor == 1:
        return nc, solid
    padded = np.zeros(nc * factor, np.bool_)
    padded[:n[0], :n[1], :n[2]] = solid
    # OR of the factor³ strided sub-grids (a reshaped .any over three short axes is ~15x slower)
    coarse = padded[::factor, ::factor, ::factor].copy()
    for i in range(factor):
        for j in range(factor):
            for k in range(factor):
                if i or j or k:
                    coarse |= padded[i::factor, j::factor, k::factor]
    return nc, coarse


def _envelope_partial(solid: np.ndarray, probe_vox: float, factor: int, periodic) -> np.ndarray:
    """Compute :func:`_envelope` of a slab or wire.

    Wraps along the periodic axes, probe from the open axes' faces.

    Returns
    -------
    numpy.ndarray of bool
        The envelope, shape of ``solid``.
    """
    n = np.array(solid.shape)
    nc, coarse = _coarsen(solid, factor)
    r = probe_vox / factor
    pad = int(np.ceil(r)) + 2
    # vacuum beyond the open faces; the probe's reach across the periodic ones by wrapping
    coarse = np.pad(coarse, [(0, 0) if q else (pad, pad) for q in periodic])
    centres = _edt_wrapped(~coarse, pad, periodic) > r
    # keep probe centres connected (across the periodic faces too) to the open axes' faces
    centres = connected_to_faces(centres, faces=[not q for q in periodic], periodic=periodic)
    inside = ~(centres | (_edt_wrapped(~centres, pad, periodic) <= r))
    inside = inside[tuple(slice(None) if q else slice(pad, -pad) for q in periodic)]
    if factor > 1:
        inside = np.broadcast_to(inside[:, None, :, None, :, None],
                                 (nc[0], factor, nc[1], factor, nc[2], factor)
                                 ).reshape(nc * factor)[:n[0], :n[1], :n[2]]
    return inside | solid


def _wrap_pad(mask: np.ndarray, width: int, periodic) -> tuple[np.ndarray, tuple]:
    """Pad ``mask`` by ``width`` voxels (at most its length) of its images along the periodic axes.

    Returns
    -------
    padded : numpy.ndarray
        The padded mask (``mask`` itself when nothing is padded).
    cut : tuple of slice
        The slices that cut the original back out.
    """
    m = [min(width, k) if q else 0 for k, q in zip(mask.shape, periodic)]
    if not any(m):
        return mask, (slice(None),) * 3
    return (np.pad(mask, [(k, k) for k in m], mode="wrap"),
            tuple(slice(k, k + s) for k, s in zip(m, mask.shape)))


def _edt_wrapped(mask: np.ndarray, reach: int, periodic) -> np.ndarray:
    """Compute the EDT of ``mask`` across the faces of the ``periodic`` axes.

    Exact up to ``reach`` voxels (or the cell length) from a True voxel's nearest False voxel.

    Returns
    -------
    numpy.ndarray of float32
        Distances in voxels, shape of ``mask``.
    """
    padded, cut = _wrap_pad(mask, reach, periodic)
    return np.ascontiguousarray(_edt(padded)[cut]) if padded is not mask else _edt(mask)


def _opening(mask: np.ndarray, r_vox: float, periodic=False) -> np.ndarray:
    """Open ``mask`` morphologically by a ball.

    Keeps the voxels covered by a ball of EDT radius >= ``r_vox`` (a ball of EDT radius r spans
    2r - 1 voxels) that lies inside ``mask`` (``periodic``: 3 bools or one, across the faces of
    those axes).

    Returns
    -------
    numpy.ndarray of bool
        The opened mask.
    """
    if r_vox <= 0 or not mask.any():
        return mask
    periodic = _axes(periodic)
    if any(periodic):
        padded, cut = _wrap_pad(mask, int(np.ceil(r_vox)) + 2, periodic)
        return np.ascontiguousarray(_opening(padded, r_vox)[cut])
    # = (EDT(mask) >= r_vox), without the grid-sized float array
    centres = _ball_dilation(mask, r_vox, invert=True)
    np.logical_not(centres, out=centres)
    centres &= mask
    if not centres.any():
        return np.zeros_like(mask)
    out = _ball_dilation(centres, r_vox)  # = (EDT(~centres) < r_vox)
    del centres
    out &= mask
    return out


@functools.lru_cache(maxsize=64)  # the same few radii are asked for on every frame
def _ball_boxes(radius_vox: float) -> list[tuple[int, int, int]]:
    """Return the boxes whose union is the digital ball of radius ``radius_vox`` (voxels).

    The ball is {o in Z³: sqrt(|o|²) < radius_vox}, the square root taken in float32 and
    compared with float32(radius_vox) exactly as a float32 EDT is compared with a threshold.
    The ball's non-negative octant is closed downwards, so its maximal points are the boxes'
    corners.

    Returns
    -------
    list of tuple of int
        Half-extents (a, b, c) along x, y, z of each box.
    """
    r32 = np.float32(radius_vox)
    k = int(np.ceil(float(radius_vox))) + 1
    g = np.arange(k + 1)
    d2 = g[:, None, None] ** 2 + g[None, :, None] ** 2 + g[None, None, :] ** 2
    pts = np.argwhere(np.sqrt(d2.astype(np.float32)) < r32)
    return [tuple(int(x) for x in q) for q in pts
            if not np.any(np.all(pts >= q, axis=1) & np.any(pts > q, axis=1))]


def _dilate_segment(a: np.ndarray, k: int, axis: int, scratch: np.ndarray) -> None:
    """Dilate ``a`` (bool, in place) by the segment [-k, k] along ``axis``.

    The grid's outside counts as False. Shifted ORs, the reach growing as 1, 4, 13, ...
    (ceil(log3(2k + 1)) steps); ``scratch`` is a bool array of the same shape, overwritten.
    """
    reach = 0
    while reach < k:
        s = min(2 * reach + 1, k - reach)
        np.copyto(scratch, a)
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(None, -s), slice(s, None)
        a[tuple(hi)] |= scratch[tuple(lo)]
        a[tuple(lo)] |= scratch[tuple(hi)]
        reach += s


#: above this many boxes the ball dilation falls back to an EDT (the same result; bounds the
#: number of passes for large radii)
_MAX_BALL_BOXES = 32
#: slab size of the ball dilation (bytes of bool per slab: cache-sized)
_SLAB_BYTES = 1 << 21


def _ball_dilation(mask: np.ndarray, radius_vox: float, invert: bool = False) -> np.ndarray:
    """Dilate ``mask`` (``~mask`` if ``invert``) by the digital ball of radius ``radius_vox``.

    Bit for bit ``_edt(~mask) < radius_vox`` (float32 distances, the grid's outside empty).
    Computed as a union of separable box dilations by shifted ORs, slab by slab along x (each
    slab with a halo of the ball's reach): the result plus a few slab-sized bool arrays, where a
    float EDT needs 4 bytes per voxel and 4-8x the CPU time (benchmarks/bench_analysis.py
    --ball).

    Returns
    -------
    numpy.ndarray of bool
        The voxels within Euclidean distance < ``radius_vox`` of a True voxel, shape of ``mask``.
    """
    boxes = _ball_boxes(radius_vox)
    if len(boxes) > _MAX_BALL_BOXES:
        src = np.logical_not(mask) if invert else mask
        if not src.any():
            return np.zeros_like(mask)
        return _edt(np.logical_not(src)) < radius_vox
    reach = max(q[0] for q in boxes)
    n0 = mask.shape[0]
    plane = max(int(np.prod(mask.shape[1:])), 1)
    step = max(4 * reach, 1, min(_SLAB_BYTES // plane, -(-n0 // 4)))  # >= 4 slabs if it can
    out = np.empty(mask.shape, np.bool_)
    for x0 in range(0, n0, step):
        x1 = min(x0 + step, n0)
        lo, hi = max(x0 - reach, 0), min(x1 + reach, n0)
        part = np.logical_not(mask[lo:hi]) if invert else mask[lo:hi].copy()
        _box_union_dilation(part, boxes)
        out[x0:x1] = part[x0 - lo:x1 - lo]
    return out


def _box_union_dilation(z: np.ndarray, boxes) -> None:
    """``z`` (bool, in place) dilated by the union of the boxes [-a, a] x [-b, b] x [-c, c]."""
    scratch = np.empty_like(z)
    box = np.empty_like(z)
    out = np.zeros_like(z)
    cz = 0
    for c in sorted({q[2] for q in boxes}):  # the z dilations grow incrementally
        _dilate_segment(z, c - cz, 2, scratch)
        cz = c
        for a, b, _ in (q for q in boxes if q[2] == c):
            np.copyto(box, z)
            _dilate_segment(box, b, 1, scratch)
            _dilate_segment(box, a, 0, scratch)
            out |= box
    np.copyto(z, out)


_label = label  # dealloy.labelling.label (shared with the engine's selectors)


def _bbox(mask: np.ndarray, pad: int = 1):
    sl = []
    for ax in range(3):
        other = tuple(a for a in range(3) if a != ax)
        idx = np.flatnonzero(mask.any(axis=other))
        if len(idx) == 0:
            return (slice(0, 0),) * 3
        sl.append(slice(max(idx[0] - pad, 0), min(idx[-1] + pad + 1, mask.shape[ax])))
    return tuple(sl)


def _surface_area(solid: np.ndarray, periodic) -> float:
    periodic = _axes(periodic)
    faces = 0
    for ax in range(3):
        if periodic[ax]:
            faces += int(np.count_nonzero(solid != np.roll(solid, 1, axis=ax)))
        else:
            a = np.moveaxis(solid, ax, 0)
            faces += int(np.count_nonzero(a[1:] != a[:-1])) + int(a[0].sum() + a[-1].sum())
    return faces * 2.0 / 3.0


def local_thickness_samples(phase: np.ndarray, n_samples: int, rng, periodic=False,
                            dt: np.ndarray | None = None, ridge_alpha: float = 0.85):
    """Sample the local thickness of ``phase`` at ``n_samples`` random voxels.

    The local thickness at a point is the radius (voxels) of the largest inscribed EDT ball
    containing it (Hildebrand & Rüegsegger 1997, see the module docstring).

    Parameters
    ----------
    phase : numpy.ndarray of bool, shape (nx, ny, nz)
        The phase's voxels.
    n_samples : int
        Number of sample voxels (all voxels if the phase has fewer).
    rng : numpy.random.Generator
        Picks the samples.
    periodic : bool or sequence of 3 bool
        The phase continues across those axes' faces.
    dt : numpy.ndarray, optional
        The EDT of ``phase`` (non-periodic case), to save recomputing it.
    ridge_alpha : float
        Pruning of the ball centres (:func:`dealloy.analysis._kernels.ridge_mask`; 1 is exact).

    Returns
    -------
    radii : numpy.ndarray of float32, shape (n,)
        EDT ball radius per sample (voxels).
    samples : numpy.ndarray of int64, shape (n, 3)
        The samples' voxel coordinates.
    """
    return _local_thickness(phase, n_samples, rng, periodic, [] if dt is None else [dt],
                            ridge_alpha)


def _local_thickness(phase: np.ndarray, n_samples: int, rng, periodic, dt_box: list,
                     ridge_alpha: float = 0.85):
    """Compute :func:`local_thickness_samples`, the EDT handed over in a one-element list.

    The EDT of ``phase`` (if known) is taken out of ``dt_box`` so that it is freed once the
    samples' own values are read, before the (memory-heavy) sort of the ball centres.

    Returns
    -------
    radii, samples : numpy.ndarray
        As :func:`local_thickness_samples`.
    """
    from dealloy.analysis._kernels import max_covering_radius, ridge_mask, ridge_points  # deferred: numba

    dt = dt_box.pop() if dt_box else None
    n_phase = int(np.count_nonzero(phase))
    if n_phase == 0:
        return np.zeros(0, np.float32), np.zeros((0, 3), np.int64)
    periodic = _axes(periodic)
    if any(periodic):
        m = [min(k, 40) if q else 0 for k, q in zip(phase.shape, periodic)]
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
    dt_samples = dt[tuple(samples.T)]
    del dt
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
    # start of each key's run in the sorted keys (= searchsorted(key, arange(key_off + 1)))
    starts = np.zeros(key_off + 1, np.int64)
    np.cumsum(np.bincount(key, minlength=key_off), out=starts[1:])
    r = max_covering_radius(samples, centres, radii, np.asarray(class_lo, np.float32),
                            np.asarray(buckets, np.int64), np.asarray(dims, np.int64),
                            np.asarray(offs, np.int64), starts)
    # a point is always inside its own ball (guards against a dropped near-maximal ridge ball)
    r = np.maximum(r, dt_samples)
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


def _thickness_nm(phase, h, p: VoxelParams, rng, periodic, dt_box: list | None = None,
                  n_samples: int | None = None) -> dict:
    n = p.thickness_samples if n_samples is None else n_samples
    radii, _ = _local_thickness(phase, n, rng, periodic, [] if dt_box is None else dt_box)
    return thickness_stats(radii, h, p.histogram_bin_nm)


def thickness_stats(radii_vox: np.ndarray, h: float, bin_nm: float) -> dict:
    """Compute diameter statistics (nm) from EDT ball radii (voxels).

    A ball of EDT radius r voxels spans 2r - 1 voxels, and the phase it sits in reaches half a
    voxel beyond its last voxel centres; the true (continuous) maximal ball's centre lies up to
    half a voxel off the voxel centres, a quarter voxel on average (a slab of k voxels has
    r = ceil((k + 1) / 2): 2r - 1 = k for odd k, k - 1 for even k). The diameter is therefore
    (2r - 1/2) h: unbiased on average over the grid's alignment (tests: slabs of every
    parity, voxel balls).

    Parameters
    ----------
    radii_vox : numpy.ndarray, shape (n,)
        EDT ball radii (voxels), e.g. of :func:`local_thickness_samples`.
    h : float
        Voxel edge (Å).
    bin_nm : float
        Histogram bin width (nm).

    Returns
    -------
    dict
        ``mean``, ``median``, ``std`` (nm; None without samples), ``n_samples`` and
        ``histogram`` (``bin_edges`` in nm, ``fraction`` per bin).
    """
    if len(radii_vox) == 0:  # phase absent, or fills a periodic cell (no finite thickness)
        return {"mean": None, "median": None, "std": None, "n_samples": 0,
                "histogram": {"bin_edges": [], "fraction": []}}
    d = (2.0 * radii_vox.astype(float) - 0.5) * h * 0.1
    top = max(bin_nm, np.ceil(d.max() / bin_nm) * bin_nm)
    edges = np.arange(0.0, top + bin_nm / 2, bin_nm)
    hist, edges = np.histogram(d, bins=edges)
    return {"mean": float(d.mean()), "median": float(np.median(d)), "std": float(d.std()),
            "n_samples": int(len(d)),
            "histogram": {"bin_edges": np.round(edges, 6).tolist(),
                          "fraction": (hist / len(d)).tolist()}}

"""Shared pieces of the builders.

Argument checks, provenance, orientations, sphere cuts, Voronoi polycrystals, close-pair removal,
composition trimming and boxing. Lengths are Å unless a name says ``_nm``.

Everything here is vectorised numpy/scipy (cKDTree); nothing here talks to LAMMPS.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from ase import Atoms
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from dealloy import materials as M
from dealloy.errors import ConfigError
from dealloy import __version__

#: Minimum vacuum between an isolated particle and its box face (Å).
MIN_VACUUM_NM = M.MIN_VACUUM_NM
#: Atoms closer than these (Å) across a grain boundary (or a core-shell interface) are removed.
GB_MIN_DISTANCE = {("Li", "Li"): 2.1, ("Li", "Si"): 2.1, ("Si", "Si"): 2.2}


# ---- argument checks (ConfigError before anything is built) ------------------------------
def check_positive(name: str, value, hint: str = "") -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number > 0, got {value!r}{hint}") from None
    if not math.isfinite(v) or v <= 0:
        raise ConfigError(f"{name} must be > 0, got {value!r}{hint}")
    return v


def check_range(name: str, value, lo: float, hi: float, lo_open=False, hi_open=False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    ok = math.isfinite(v)
    ok = ok and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        rng = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise ConfigError(f"{name} must be in {rng}, got {value!r}")
    return v


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def check_int(name: str, value, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ConfigError(f"{name} must be an integer >= {lo}, got {value!r}")
    return int(value)


def check_vacuum(vacuum_nm) -> float:
    v = check_positive("vacuum_nm", vacuum_nm)
    if v < MIN_VACUUM_NM:
        raise ConfigError(f"vacuum_nm must be >= {MIN_VACUUM_NM} nm (isolated particle), got {vacuum_nm!r}")
    return v


# ---- provenance ---------------------------------------------------------------------------
def jsonable(obj: Any) -> Any:
    """Plain JSON types (tuples -> lists, numpy -> python) so extxyz/JSON keep them."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    name = getattr(obj, "name", None)  # a Potential object
    if isinstance(name, str):
        return name
    return str(obj)


def record(atoms: Atoms, builder: str, args: dict, seed: int, **extra) -> Atoms:
    """Write how ``atoms`` was made into ``atoms.info`` (JSON-serialisable values only).

    ``info['builder']`` is the builder name, ``info['builder_args']`` a JSON string of every
    keyword argument (so ``BUILDERS[name](**json.loads(args))`` rebuilds it), plus ``seed`` and
    ``dealloy_version``; ``extra`` adds measured properties (diameter, grain count, ...).

    Parameters
    ----------
    atoms : ase.Atoms
        The built structure (changed in place).
    builder : str
        Builder name (a key of ``dealloy.builders.BUILDERS``).
    args : dict
        Every keyword argument of the builder call.
    seed : int
        The random seed used.
    **extra
        Measured properties to record (made JSON-serialisable).

    Returns
    -------
    ase.Atoms
        ``atoms`` itself.
    """
    atoms.info["builder"] = builder
    atoms.info["builder_args"] = json.dumps(jsonable(args), sort_keys=True)
    atoms.info["seed"] = int(seed)
    atoms.info["dealloy_version"] = __version__
    for k, v in extra.items():
        v = jsonable(v)
        # extxyz keeps scalars, strings and flat numeric lists; nest anything else as JSON text
        if isinstance(v, (list, dict)) and not _flat_numeric(v):
            v = json.dumps(v)
        atoms.info[k] = v
    return atoms


def _flat_numeric(v) -> bool:
    return isinstance(v, list) and len(v) > 0 and all(
        isinstance(e, (int, float)) and not isinstance(e, bool) for e in v)


# ---- orientations -------------------------------------------------------------------------
def random_rotations(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniformly random proper rotation matrices (deterministic for ``rng``)."""
    from scipy.spatial.transform import Rotation

    return Rotation.random(n, random_state=rng).as_matrix().reshape(n, 3, 3)


def parse_orientation(orientation) -> np.ndarray | None:
    """None (random) | "identity" | a crystal direction [h, k, l] put along z | a 3x3 rotation."""
    if orientation is None:
        return None
    if isinstance(orientation, str):
        if orientation.lower() in ("identity", "cube", "none"):
            return np.eye(3)
        try:
            orientation = [float(v) for v in orientation.replace(",", " ").split()]
        except ValueError:
            raise ConfigError(
                f"orientation must be None (random), 'identity', a direction 'h k l' or a 3x3 "
                f"rotation matrix, got {orientation!r}") from None
    arr = np.asarray(orientation, dtype=float)
    if arr.shape == (3,):
        if not np.all(np.isfinite(arr)) or np.linalg.norm(arr) == 0:
            raise ConfigError(f"orientation direction must be a non-zero [h, k, l], got {orientation!r}")
        return rotation_taking(arr, np.array([0.0, 0.0, 1.0]))
    if arr.shape == (3, 3):
        if not np.allclose(arr @ arr.T, np.eye(3), atol=1e-6) or np.linalg.det(arr) < 0:
            raise ConfigError("orientation matrix must be a proper rotation (orthonormal, det +1)")
        return arr
    raise ConfigError(
        f"orientation must be None (random), 'identity', a direction [h, k, l] or a 3x3 rotation "
        f"matrix, got {orientation!r}")


def rotation_taking(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotation matrix R with R @ u/|u| = v/|v|: the minimal (shortest-arc) rotation.

    Parameters
    ----------
    u, v : array_like, shape (3,)
        Non-zero vectors (any length).

    Returns
    -------
    numpy.ndarray, shape (3, 3)
        Proper rotation; for antiparallel u, v a 180° turn about an axis normal to u.

    Notes
    -----
    ``scipy.spatial.transform.Rotation.align_vectors`` with one vector pair (which returns the
    minimal rotation); it replaced a hand-written Rodrigues formula and agrees with it to
    1e-15 (1e-13 within 1e-12 rad of antiparallel, where both pick a valid 180° turn).
    """
    u = np.asarray(u, float)
    v = np.asarray(v, float)
    rot, _ = Rotation.align_vectors((v / np.linalg.norm(v))[None], (u / np.linalg.norm(u))[None])
    return rot.as_matrix()


# ---- lattice generation -------------------------------------------------------------------
def lattice_in_sphere(basis_frac: np.ndarray, a: float, rot: np.ndarray, origin: np.ndarray,
                      center: np.ndarray, radius: float, twin: tuple | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Cut the sites of a rotated cubic crystal that lie within ``radius`` of ``center``.

    Crystal-frame coordinates c map to the lab as ``origin + rot @ c``. ``twin`` = (n, p0,
    period) (crystal frame) splits the crystal into lamellae between planes ``c.n = p0 + k
    period``; lamella k is the mirror image of lamella k-1 in plane k (lamella 0 = the crystal).

    Parameters
    ----------
    basis_frac : numpy.ndarray, shape (B, 3)
        Fractional coordinates of the conventional cell's basis.
    a : float
        Conventional cell edge (Å).
    rot : numpy.ndarray, shape (3, 3)
        Rotation crystal -> lab.
    origin, center : numpy.ndarray, shape (3,)
        Lattice origin and sphere centre in the lab frame (Å).
    radius : float
        Sphere radius (Å).
    twin : (numpy.ndarray, float, float), optional
        Unit normal n (crystal frame), first plane offset p0 (Å) and lamella period (Å).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Positions, shape (M, 3) (Å), and the basis index of each site, shape (M,).
    """
    c_center = rot.T @ (center - origin)
    if twin is None:
        pos_c, kind = _sites_in_sphere(basis_frac, a, c_center, radius)
        return origin + pos_c @ rot.T, kind
    n, p0, period = twin
    s_c = float(c_center @ n)
    kmin = int(math.floor((s_c - radius - p0) / period))
    kmax = int(math.floor((s_c + radius - p0) / period))
    pos_out, kind_out = [], []
    mirror = np.eye(3) - 2 * np.outer(n, n)
    for k in range(kmin, kmax + 1):
        if k % 2 == 0:
            Q, t = np.eye(3), k * period * n
        else:
            Q, t = mirror, (2 * (p0 + k * period) - (k - 1) * period) * n
        pre = Q.T @ (c_center - t)  # the base-lattice sphere that maps onto this one
        pos_c, kind = _sites_in_sphere(basis_frac, a, pre, radius)
        pos_c = pos_c @ Q.T + t
        s = pos_c @ n
        inside = (s >= p0 + k * period) & (s < p0 + (k + 1) * period)
        pos_out.append(pos_c[inside])
        kind_out.append(kind[inside])
    pos_c, kind = np.concatenate(pos_out), np.concatenate(kind_out)
    return origin + pos_c @ rot.T, kind


def _sites_in_sphere(basis_frac, a, c_center, radius):
    lo = np.floor((c_center - radius) / a).astype(int) - 1
    hi = np.ceil((c_center + radius) / a).astype(int) + 1
    idx = np.stack(np.meshgrid(*(np.arange(l, h + 1) for l, h in zip(lo, hi)), indexing="ij"),
                   -1).reshape(-1, 1, 3)
    pos_c = ((idx + basis_frac[None, :, :]) * a).reshape(-1, 3)
    kind = np.tile(np.arange(len(basis_frac)), len(idx))
    dv = pos_c - c_center
    keep = np.einsum("ij,ij->i", dv, dv) <= radius * radius
    return pos_c[keep], kind[keep]


# ---- Voronoi polycrystal ------------------------------------------------------------------
def grain_seeds(n: int, radius: float, rng: np.random.Generator) -> np.ndarray:
    """Place ``n`` grain centres in a sphere of ``radius`` centred at 0.

    Random sequential placement with a minimum separation (0.7 x the mean spacing, relaxed by
    10 % steps if needed), so grains are similar in size.

    Parameters
    ----------
    n : int
        Number of grains.
    radius : float
        Sphere radius (Å).
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    numpy.ndarray, shape (n, 3)
        Centres (Å); the origin for one grain.
    """
    if n == 1:
        return np.zeros((1, 3))
    spacing = (4 / 3 * math.pi * radius ** 3 / n) ** (1 / 3)
    dmin = 0.7 * spacing
    pts = np.empty((0, 3))
    while len(pts) < n:
        for _ in range(200):
            cand = rng.uniform(-radius, radius, size=(64, 3))
            cand = cand[np.einsum("ij,ij->i", cand, cand) <= radius * radius]
            for c in cand:
                if len(pts) == 0 or np.min(np.sum((pts - c) ** 2, axis=1)) >= dmin * dmin:
                    pts = np.vstack([pts, c])
                    if len(pts) == n:
                        return pts
        dmin *= 0.9  # could not place all at this separation: relax it
    return pts


def grain_bounding_radii(seeds: np.ndarray, radius: float, spacing: float) -> np.ndarray:
    """Bound the distance from each seed to any point of its Voronoi cell inside the sphere.

    From a grid of sample points, plus a two-spacing margin.

    Parameters
    ----------
    seeds : numpy.ndarray, shape (G, 3)
        Grain centres (Å).
    radius : float
        Sphere radius (Å).
    spacing : float
        Grid spacing (Å).

    Returns
    -------
    numpy.ndarray, shape (G,)
        Upper bounds (Å).
    """
    if len(seeds) == 1:
        return np.array([np.linalg.norm(seeds[0]) + radius])
    h = spacing
    g = np.arange(-radius, radius + h, h)
    grid = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    grid = grid[np.einsum("ij,ij->i", grid, grid) <= (radius + h) ** 2]
    _, owner = cKDTree(seeds).query(grid)
    d = np.linalg.norm(grid - seeds[owner], axis=1)
    rmax = np.zeros(len(seeds))
    np.maximum.at(rmax, owner, d)
    far = np.linalg.norm(seeds, axis=1) + radius
    return np.minimum(rmax + 2.0 * h, far)


def polycrystal(basis_frac, kinds_symbols, a: float, seeds: np.ndarray, rots: np.ndarray,
                origins: np.ndarray, radius: float, twins=None):
    """Voronoi polycrystal filling a sphere of ``radius`` centred at 0.

    Grain g is the crystal (``rots[g]``, ``origins[g]``) restricted to the points nearer to
    ``seeds[g]`` than to any other seed. ``twins[g]`` (optional): the grain's twin lamellae
    (see :func:`lattice_in_sphere`).

    Parameters
    ----------
    basis_frac : numpy.ndarray, shape (B, 3)
        Fractional basis of the conventional cell.
    kinds_symbols : sequence of str, length B
        Element of each basis site.
    a : float
        Conventional cell edge (Å).
    seeds : numpy.ndarray, shape (G, 3)
        Grain centres (Å).
    rots : numpy.ndarray, shape (G, 3, 3)
        Rotation of each grain's crystal.
    origins : numpy.ndarray, shape (G, 3)
        Lattice origin of each grain (Å).
    radius : float
        Sphere radius (Å).
    twins : sequence, optional
        Per grain None or a ``twin`` tuple of :func:`lattice_in_sphere`.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        Symbols, shape (N,); positions, shape (N, 3) (Å); grain id of each atom, shape (N,).
    """
    tree = cKDTree(seeds)
    bound = grain_bounding_radii(seeds, radius, spacing=min(3.0, radius / 4))
    pos_all, sym_all, grain_all = [], [], []
    kinds_symbols = np.asarray(kinds_symbols)
    for g in range(len(seeds)):
        tf = twins[g] if twins is not None else None
        pos, kind = lattice_in_sphere(basis_frac, a, rots[g], origins[g], seeds[g], bound[g], tf)
        inside = np.einsum("ij,ij->i", pos, pos) <= radius * radius
        pos, kind = pos[inside], kind[inside]
        if len(seeds) > 1:
            _, owner = tree.query(pos)
            mine = owner == g
            pos, kind = pos[mine], kind[mine]
        pos_all.append(pos)
        sym_all.append(kinds_symbols[kind])
        grain_all.append(np.full(len(pos), g, dtype=int))
    return np.concatenate(sym_all), np.concatenate(pos_all), np.concatenate(grain_all)


def close_pair_removal(symbols: np.ndarray, positions: np.ndarray, priority: np.ndarray,
                       min_distance: dict = GB_MIN_DISTANCE, candidates: np.ndarray | None = None
                       ) -> np.ndarray:
    """Boolean mask of atoms to keep so that no pair is closer than ``min_distance[pair]``.

    Deterministic: pairs are visited shortest first; of each still-complete pair the atom with
    the higher ``priority`` (ties: higher index) is removed. ``candidates`` (optional mask)
    restricts which pairs count: at least one atom of the pair must be a candidate.

    Parameters
    ----------
    symbols : numpy.ndarray, shape (N,)
        Element of each atom.
    positions : numpy.ndarray, shape (N, 3)
        Positions (Å).
    priority : numpy.ndarray, shape (N,)
        Removal priority (the higher is removed).
    min_distance : dict
        (element, element) -> minimum distance (Å); default :data:`GB_MIN_DISTANCE`.
    candidates : numpy.ndarray of bool, shape (N,), optional
        Atoms whose pairs count.

    Returns
    -------
    numpy.ndarray of bool, shape (N,)
        True for atoms kept.
    """
    keep = np.ones(len(positions), dtype=bool)
    if len(positions) < 2:
        return keep
    rmax = max(min_distance.values())
    pairs = cKDTree(positions).query_pairs(rmax, output_type="ndarray")
    if len(pairs) == 0:
        return keep
    i, j = pairs[:, 0], pairs[:, 1]
    if candidates is not None:
        m = candidates[i] | candidates[j]
        i, j = i[m], j[m]
    d = np.linalg.norm(positions[i] - positions[j], axis=1)
    si, sj = symbols[i], symbols[j]
    limit = np.zeros(len(i))
    for (s1, s2), r in min_distance.items():
        limit[((si == s1) & (sj == s2)) | ((si == s2) & (sj == s1))] = r
    close = d < limit
    i, j, d = i[close], j[close], d[close]
    order = np.lexsort((j, i, d))
    for k in order:
        a, b = i[k], j[k]
        if keep[a] and keep[b]:
            pa, pb = priority[a], priority[b]
            loser = a if (pa, a) > (pb, b) else b
            keep[loser] = False
    return keep


def trim_composition(symbols: np.ndarray, positions: np.ndarray, ratio: float,
                     removable: np.ndarray | None = None) -> np.ndarray:
    """Mask keeping Li/Si = ``ratio`` (to within one Li) by removing the outermost atoms.

    Too many Si: the outermost removable Si go; then surplus Li: the outermost removable Li go.

    Parameters
    ----------
    symbols : numpy.ndarray, shape (N,)
        Element of each atom.
    positions : numpy.ndarray, shape (N, 3)
        Positions (Å); "outermost" is the distance from their mean.
    ratio : float
        Target Li/Si.
    removable : numpy.ndarray of bool, shape (N,), optional
        Atoms that may be removed (default all).

    Returns
    -------
    numpy.ndarray of bool, shape (N,)
        True for atoms kept.
    """
    keep = np.ones(len(symbols), dtype=bool)
    if removable is None:
        removable = np.ones(len(symbols), dtype=bool)
    r = np.linalg.norm(positions - positions.mean(0), axis=1)
    is_si = symbols == "Si"
    n_si, n_li = int(is_si.sum()), int((~is_si).sum())
    if ratio > 0 and n_li < ratio * n_si:
        n_drop = n_si - int(math.floor(n_li / ratio + 1e-9))
        cand = np.flatnonzero(is_si & removable)
        drop = cand[np.argsort(-r[cand], kind="stable")[:n_drop]]
        keep[drop] = False
        n_si -= len(drop)
    n_target = int(round(ratio * n_si))
    if n_li > n_target:
        cand = np.flatnonzero(~is_si & removable & keep)
        drop = cand[np.argsort(-r[cand], kind="stable")[: n_li - n_target]]
        keep[drop] = False
    return keep


def prune_si_dangling(symbols: np.ndarray, positions: np.ndarray, bond: float = 2.6,
                      min_neighbors: int = 2) -> np.ndarray:
    """Mask out loose surface Si of a crystal cut.

    Removes Si with fewer than ``min_neighbors`` Si within ``bond``, repeated until none is left.

    Parameters
    ----------
    symbols : numpy.ndarray, shape (N,)
        Element of each atom.
    positions : numpy.ndarray, shape (N, 3)
        Positions (Å).
    bond : float
        Si-Si neighbour distance (Å).
    min_neighbors : int
        Fewest Si neighbours a Si keeps.

    Returns
    -------
    numpy.ndarray of bool, shape (N,)
        True for atoms kept.
    """
    keep = np.ones(len(symbols), dtype=bool)
    si = np.flatnonzero(symbols == "Si")
    if len(si) < 2:
        return keep
    tree = cKDTree(positions[si])
    pairs = tree.query_pairs(bond, output_type="ndarray")
    alive = np.ones(len(si), dtype=bool)
    while True:
        m = alive[pairs[:, 0]] & alive[pairs[:, 1]]
        cnt = np.bincount(pairs[m].ravel(), minlength=len(si))
        bad = alive & (cnt < min_neighbors)
        if not bad.any():
            break
        alive[bad] = False
    keep[si[~alive]] = False
    return keep


def box_particle(atoms: Atoms, vacuum_nm: float) -> Atoms:
    """Centre a particle in an orthogonal box with ``vacuum_nm`` on every side; pbc False.

    Parameters
    ----------
    atoms : ase.Atoms
        The particle (changed in place).
    vacuum_nm : float
        Vacuum between the atoms' extent and each box face (nm).

    Returns
    -------
    ase.Atoms
        ``atoms`` itself.
    """
    pos = atoms.positions
    lo, hi = pos.min(0), pos.max(0)
    vac = 10.0 * vacuum_nm
    atoms.set_cell(np.diag(hi - lo + 2 * vac))
    atoms.positions = pos - (lo + hi) / 2 + atoms.cell.lengths() / 2
    atoms.pbc = False
    return atoms


def particle_diameter_nm(atoms: Atoms) -> dict:
    """Measure a particle's size.

    Parameters
    ----------
    atoms : ase.Atoms
        The particle (positions in Å).

    Returns
    -------
    dict
        ``diameter_max_nm`` (2 x the largest distance from the centroid) and
        ``diameter_gyration_nm`` (equivalent sphere from the radius of gyration, 2 sqrt(5/3) Rg),
        both in nm.
    """
    pos = atoms.positions
    c = pos.mean(0)
    r = np.linalg.norm(pos - c, axis=1)
    rg = math.sqrt(float(np.mean(r * r)))
    return {"diameter_max_nm": 2 * float(r.max()) / 10, "diameter_gyration_nm": 2 * math.sqrt(5 / 3) * rg / 10}


def grain_stats(grain: np.ndarray, volume_per_atom: float) -> dict:
    """Count grains and measure their size.

    Parameters
    ----------
    grain : numpy.ndarray of int, shape (N,)
        Grain id of each atom (-1: none).
    volume_per_atom : float
        The crystal's volume per atom (Å³).

    Returns
    -------
    dict
        ``n_grains``, ``mean_grain_size_nm`` (mean equivalent-sphere diameter over grains, from
        each grain's atom count x ``volume_per_atom``) and ``grain_size_of_mean_volume_nm``.
    """
    ids, counts = np.unique(grain[grain >= 0], return_counts=True)
    d = (6 / math.pi * counts * volume_per_atom) ** (1 / 3) / 10
    return {
        "n_grains": int(len(ids)),
        "mean_grain_size_nm": float(d.mean()) if len(d) else 0.0,
        "grain_size_of_mean_volume_nm": float((6 / math.pi * counts.mean() * volume_per_atom) ** (1 / 3) / 10)
        if len(d) else 0.0,
    }


def n_grains_for(diameter_nm: float, grain_size_nm: float) -> int:
    """Count the grains whose mean volume is that of a sphere of ``grain_size_nm`` (at least 1)."""
    return max(1, int(round((diameter_nm / grain_size_nm) ** 3)))

"""Crystalline builders: the c-Li15Si4 cell, Si and c-Li15Si4 nanoparticles.

Single crystal or Voronoi polycrystal, optional {111} twins in Si.

All are pure functions of their arguments (deterministic for a given ``seed``) that return an
``ase.Atoms``; ``atoms.info`` records the builder, its arguments, the seed and the dealloy version,
and ``atoms.arrays['grain']`` holds each atom's grain id.

References
----------
.. [MP] A. Jain et al., "Commentary: The Materials Project: A materials genome approach to
   accelerating materials innovation", APL Mater. 1 (2013) 011002, doi:10.1063/1.4812323;
   c-Li15Si4 entry mp-569849 (the I-43d sites).
.. [OC] M. N. Obrovac, L. Christensen, "Structural changes in silicon anodes during lithium
   insertion/extraction", Electrochem. Solid-State Lett. 7 (2004) A93-A96,
   doi:10.1149/1.1652421 (c-Li15Si4 identified; the room-temperature a = 10.685 Å used by
   default, see :data:`dealloy.materials.LI15SI4_A_ANGSTROM`).
.. [ZF] M. Zeilinger, V. Baran, L. van Wüllen, U. Häussermann, T. F. Fässler, "Stabilizing the
   phase Li15Si4 through lithium-aluminum substitution in Li15-xAlxSi4 (0.4 < x < 0.8) - single
   crystal X-ray structure determination of Li15Si4 and Li14.37Al0.63Si4", Chem. Mater. 25
   (2013) 4113-4121, doi:10.1021/cm402721n (Cu15Si4 type, I-43d, a = 10.6322(9) Å at 123 K).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from ase import Atoms

from dealloy import materials as M
from dealloy.build import _common as C
from dealloy.checks import check_grain
from dealloy.errors import ConfigError
from dealloy.lammps.lattice import si_lattice_constant

#: c-Li15Si4 lattice constant (Å) and sites: :mod:`dealloy.materials` (sources there).
LI15SI4_A = M.LI15SI4_A_ANGSTROM
LI15SI4_SITES = tuple((el, xyz) for el, _, xyz in M.LI15SI4_WYCKOFF_SITES)
SI_A = M.SI_A_ANGSTROM
SI_BOND = math.sqrt(3) / 4  # x a


@functools.lru_cache(maxsize=8)
def _li15si4_basis(a: float) -> tuple[np.ndarray, tuple[str, ...]]:
    cell = M.li15si4_conventional_cell(a)
    return cell.get_scaled_positions(), tuple(cell.get_chemical_symbols())


def _si_basis() -> tuple[np.ndarray, tuple[str, ...]]:
    fcc = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    return np.vstack([fcc, fcc + 0.25]), ("Si",) * 8


# ---- c-Li15Si4 cell -------------------------------------------------------------------------
def li15si4_cell(a: float = LI15SI4_A) -> Atoms:
    """Build the conventional cubic cell of c-Li15Si4: space group I-43d (No. 220), 60 Li + 16 Si.

    Li 12a (3/8, 0, 1/4), Li 48e (0.12307, 0.15391, 0.96344), Si 16c (x, x, x) with x = 0.45757
    (Materials Project mp-569849 [MP]_; the Cu15Si4 type [ZF]_). Every Si is isolated (nearest
    Si-Si 4.53 Å at a = 10.685 Å). Periodic; ``grain`` = 0 for every atom.

    Parameters
    ----------
    a : float
        Lattice constant (Å); default 10.685 Å, room temperature [OC]_.

    Returns
    -------
    ase.Atoms
        76 atoms in a cubic cell of edge ``a``; ``info`` records the builder, ``a``, the seed (0),
        the dealloy version and ``space_group`` (220).

    Raises
    ------
    ConfigError
        For ``a`` that is not a number > 0.
    """
    a = C.check_positive("a", a, " (lattice constant in Å, e.g. 10.685)")
    frac, symbols = _li15si4_basis(a)
    atoms = Atoms(symbols=list(symbols), scaled_positions=frac, cell=np.eye(3) * a, pbc=True)
    atoms.arrays["grain"] = np.zeros(len(atoms), dtype=int)
    return C.record(atoms, "li15si4_cell", {"a": a}, 0, space_group=M.LI15SI4_SPACE_GROUP)


def _resolve_si_a(lattice_constant, potential) -> float:
    if lattice_constant is not None:
        return C.check_positive("lattice_constant", lattice_constant, " (Å, e.g. 5.431)")
    if potential is not None:
        return si_lattice_constant(potential)
    return SI_A


# ---- common particle assembly ------------------------------------------------------------
def _check_particle_args(diameter_nm, grain_size_nm, a: float, kind: str):
    d = C.check_positive("diameter_nm", diameter_nm, " (particle diameter in nm)")
    g = None
    if grain_size_nm is not None:
        g = C.check_positive("grain_size_nm", grain_size_nm, " (mean grain diameter in nm)")
    check_grain(d, g, a, kind)
    return d, g


def _assemble(basis, symbols, a, radius, rng, n_grains, rot=None, twin_spacing=None,
              priority_of=None):
    """Fill a sphere of ``radius`` (Å) with ``n_grains`` Voronoi grains (1 = single crystal).

    Returns
    -------
    tuple
        Symbols, positions (Å), grain ids, number of atoms removed at boundaries, number of twin
        boundaries that cut the particle.
    """
    seeds = C.grain_seeds(n_grains, radius, rng)
    rots = C.random_rotations(n_grains, rng) if rot is None else rot[None]
    origins = seeds + (rots @ (rng.random((n_grains, 3)) * a)[:, :, None])[:, :, 0]
    twins = None
    if twin_spacing is not None:
        twins = [_twin_planes(a, twin_spacing, rots[g], origins[g], seeds[g], rng)
                 for g in range(n_grains)]
    sym, pos, grain = C.polycrystal(basis, symbols, a, seeds, rots, origins, radius, twins)
    # deterministic ordering: by grain, then position (independent of generation details)
    order = np.lexsort((pos[:, 2], pos[:, 1], pos[:, 0], grain))
    sym, pos, grain = sym[order], pos[order], grain[order]
    n_removed = 0
    if n_grains > 1 or twin_spacing is not None:
        prio = priority_of(sym) if priority_of else np.zeros(len(sym))
        keep = C.close_pair_removal(sym, pos, prio)
        n_removed = int((~keep).sum())
        sym, pos, grain = sym[keep], pos[keep], grain[keep]
    n_twin = 0
    if twins is not None:
        for g in range(n_grains):
            n, p0, period = twins[g]
            s = ((pos[grain == g] - origins[g]) @ rots[g]) @ n
            n_twin += max(0, len(np.unique(np.floor((s - p0) / period))) - 1)
    return sym, pos, grain, n_removed, n_twin


def _twin_planes(a, spacing_ang, rot, origin, seed_pos, rng):
    """(n, p0, period) of Sigma3 {111} twin lamellae ``spacing_ang`` apart in one grain.

    Planes are normal to the crystal's [111] and bisect the Si-Si bonds along [111]: the
    coherent twin is the mirror image in that bond-centre plane, so no atom pair at the boundary
    is closer than a bond. The spacing is rounded to a whole number of (111) double layers
    (a/sqrt 3 = 3.14 Å for Si); the plane set is shifted at random (from ``rng``).

    Returns
    -------
    tuple
        Unit normal n (crystal frame), first plane offset p0 (Å), period (Å).
    """
    n = np.ones(3) / math.sqrt(3)
    layer = a / math.sqrt(3)
    m = max(1, int(round(spacing_ang / layer)))
    c_seed = rot.T @ (seed_pos - origin)
    j0 = math.floor((float(c_seed @ n) - a * SI_BOND / 2) / layer) - int(rng.integers(0, m))
    return n, a * SI_BOND / 2 + j0 * layer, m * layer


def _finish_particle(sym, pos, grain, vacuum_nm) -> Atoms:
    atoms = Atoms(symbols=list(sym), positions=pos, pbc=False)
    atoms.arrays["grain"] = np.asarray(grain, dtype=int)
    return C.box_particle(atoms, vacuum_nm)


# ---- Si particle ----------------------------------------------------------------------------
CRYSTALLINITIES = M.CRYSTALLINITIES


def si_particle(diameter_nm: float, crystallinity: str = "sc", grain_size_nm: float | None = None,
                twin_spacing_nm: float | None = None, orientation=None, seed: int = 0,
                lattice_constant: float | None = None, potential: str | None = None,
                vacuum_nm: float = 2.0) -> Atoms:
    """Crystalline Si nanoparticle: a sphere of diamond Si, single crystal or polycrystal.

    ``crystallinity``: ``"sc"`` single crystal (orientation: None = random from ``seed``,
    ``"identity"``, a crystal direction [h, k, l] along z, or a 3x3 rotation matrix); ``"pc"``
    Voronoi polycrystal of randomly oriented grains whose mean equivalent-sphere diameter is
    ``grain_size_nm`` (default: diameter / 2). ``twin_spacing_nm`` puts coherent Sigma3 {111}
    twin boundaries that far apart inside every grain. Lattice constant: ``lattice_constant``
    (Å), else the potential's own (relaxed diamond cell) when ``potential`` is given, else
    5.431 Å. Atoms closer than 2.2 Å across grain boundaries are removed deterministically, and
    loose surface Si (fewer than two Si neighbours) are pruned. Centred in an orthogonal box with
    ``vacuum_nm`` (>= 1.5) of vacuum on each side, ``pbc=False``.

    Parameters
    ----------
    diameter_nm : float
        Sphere diameter (nm), at least two lattice constants.
    crystallinity : {"sc", "pc"}
        Single crystal or Voronoi polycrystal.
    grain_size_nm : float, optional
        ``pc`` only: mean equivalent-sphere grain diameter (nm), between two lattice constants
        and ``diameter_nm``; default ``diameter_nm / 2``.
    twin_spacing_nm : float, optional
        Distance between {111} twin boundaries (nm), at least two (111) double layers.
    orientation : None, str, sequence or array_like, optional
        ``sc`` only: None (random from ``seed``), ``"identity"``, a direction [h, k, l] (or
        ``"h k l"``) along z, or a 3x3 proper rotation.
    seed : int
        Random seed (>= 0): orientations, grain centres, lattice offsets, twin shifts.
    lattice_constant : float, optional
        Diamond-Si lattice constant (Å).
    potential : str, optional
        Registry potential whose relaxed diamond-Si lattice constant is used (runs LAMMPS;
        :func:`dealloy.lammps.lattice.si_lattice_constant`).
    vacuum_nm : float
        Vacuum on each side of the box (nm, >= 1.5).

    Returns
    -------
    ase.Atoms
        The particle; ``info``: builder, builder_args, seed, dealloy_version, lattice_constant,
        diameter_max_nm, diameter_gyration_nm, n_grains, mean_grain_size_nm,
        n_removed_at_boundaries, n_twin_boundaries (and orientation_matrix for ``sc``).
        ``arrays['grain']``: grain id per atom.

    Raises
    ------
    ConfigError
        One line naming the argument: a bad seed, crystallinity, vacuum, diameter, grain size,
        twin spacing, lattice constant or orientation, ``grain_size_nm`` with ``sc`` or
        ``orientation`` with ``pc``, or an unknown ``potential``.
    LammpsBuildError
        When ``potential`` is given and LAMMPS cannot be opened.
    SimulationError
        When ``potential`` is given and LAMMPS rejects the minimisation of the diamond-Si cell
        (:func:`dealloy.lammps.lattice.si_lattice_constant`).
    """
    args = dict(diameter_nm=diameter_nm, crystallinity=crystallinity, grain_size_nm=grain_size_nm,
                twin_spacing_nm=twin_spacing_nm, orientation=orientation, seed=seed,
                lattice_constant=lattice_constant, potential=potential, vacuum_nm=vacuum_nm)
    seed = C.check_seed(seed)
    if crystallinity not in CRYSTALLINITIES:
        raise ConfigError(f"crystallinity must be one of {', '.join(CRYSTALLINITIES)} (single "
                          f"crystal / polycrystal), got {crystallinity!r}")
    vacuum_nm = C.check_vacuum(vacuum_nm)
    if lattice_constant is not None:
        C.check_positive("lattice_constant", lattice_constant, " (Å, e.g. 5.431)")
    a_check = float(lattice_constant) if lattice_constant is not None else SI_A
    d, g = _check_particle_args(diameter_nm, grain_size_nm, a_check, "Si")
    if crystallinity == "sc":
        if grain_size_nm is not None:
            raise ConfigError("grain_size_nm applies only to crystallinity='pc' (sc is one grain)")
        rot = C.parse_orientation(orientation)
    else:
        if orientation is not None:
            raise ConfigError("orientation applies only to crystallinity='sc' (pc grains are "
                              "randomly oriented)")
        g = g if g is not None else d / 2
        rot = None
    if twin_spacing_nm is not None:
        t = C.check_positive("twin_spacing_nm", twin_spacing_nm, " (nm between {111} twins)")
        if t < 2 * a_check / math.sqrt(3) / 10:
            raise ConfigError(f"twin_spacing_nm must be >= {2 * a_check / math.sqrt(3) / 10:.2f} nm "
                              f"(two (111) double layers), got {twin_spacing_nm!r}")
    a = _resolve_si_a(lattice_constant, potential)
    rng = np.random.default_rng(seed)
    if rot is None and crystallinity == "sc":
        rot = C.random_rotations(1, rng)[0]
    n_grains = 1 if crystallinity == "sc" else C.n_grains_for(d, g)
    basis, symbols = _si_basis()
    sym, pos, grain, n_removed, n_twin = _assemble(
        basis, symbols, a, 5.0 * d, rng, n_grains, rot,
        None if twin_spacing_nm is None else 10.0 * float(twin_spacing_nm))
    keep = C.prune_si_dangling(sym, pos)
    sym, pos, grain = sym[keep], pos[keep], grain[keep]
    atoms = _finish_particle(sym, pos, grain, vacuum_nm)
    extra = dict(lattice_constant=a, **C.particle_diameter_nm(atoms),
                 **C.grain_stats(atoms.arrays["grain"], a ** 3 / 8),
                 n_removed_at_boundaries=n_removed, n_twin_boundaries=n_twin)
    if crystallinity == "sc":
        extra["orientation_matrix"] = rot.round(10).ravel().tolist()
    return C.record(atoms, "si_particle", args, seed, **extra)


# ---- c-Li15Si4 particle -----------------------------------------------------------------------
def li15si4_particle(diameter_nm: float, grain_size_nm: float | None = None, seed: int = 0,
                     a: float = LI15SI4_A, orientation=None, vacuum_nm: float = 2.0) -> Atoms:
    """Build a c-Li15Si4 nanoparticle, single crystal or Voronoi polycrystal.

    Single crystal when ``grain_size_nm`` is None, else randomly oriented grains with mean
    equivalent-sphere diameter ``grain_size_nm``.

    Sphere cut from the I-43d crystal (:func:`li15si4_cell`, lattice constant ``a``). Atoms closer
    than 2.1 Å (Li-Li, Li-Si) or 2.2 Å (Si-Si) across grain boundaries are removed (Li first),
    then the outermost Si or Li are trimmed so Li/Si = 3.75 to within one Li atom. Centred in an
    orthogonal box with ``vacuum_nm`` (>= 1.5) of vacuum on each side, ``pbc=False``.
    ``orientation`` (single crystal only): as for :func:`si_particle`; None = random.

    Parameters
    ----------
    diameter_nm : float
        Sphere diameter (nm), at least two lattice constants.
    grain_size_nm : float, optional
        Mean equivalent-sphere grain diameter (nm); None for a single crystal.
    seed : int
        Random seed (>= 0).
    a : float
        Lattice constant (Å); default 10.685 Å (room temperature, [OC]_).
    orientation : None, str, sequence or array_like, optional
        Single crystal only: as for :func:`si_particle`.
    vacuum_nm : float
        Vacuum on each side of the box (nm, >= 1.5).

    Returns
    -------
    ase.Atoms
        The particle; ``info``: builder, builder_args, seed, dealloy_version, lattice_constant,
        diameter_max_nm, diameter_gyration_nm, n_grains, mean_grain_size_nm,
        n_removed_at_boundaries, li_si_ratio (and orientation_matrix for a single crystal).
        ``arrays['grain']``: grain id per atom.

    Raises
    ------
    ConfigError
        One line naming the argument: a bad seed, lattice constant, vacuum, diameter, grain
        size or orientation, or ``orientation`` with a polycrystal.
    """
    args = dict(diameter_nm=diameter_nm, grain_size_nm=grain_size_nm, seed=seed, a=a,
                orientation=orientation, vacuum_nm=vacuum_nm)
    seed = C.check_seed(seed)
    a = C.check_positive("a", a, " (c-Li15Si4 lattice constant in Å, e.g. 10.685)")
    vacuum_nm = C.check_vacuum(vacuum_nm)
    d, g = _check_particle_args(diameter_nm, grain_size_nm, a, "c-Li15Si4")
    rot = None
    if g is None:
        rot = C.parse_orientation(orientation)
    elif orientation is not None:
        raise ConfigError("orientation applies only to a single crystal (grain_size_nm=None)")
    rng = np.random.default_rng(seed)
    if g is None and rot is None:
        rot = C.random_rotations(1, rng)[0]
    n_grains = 1 if g is None else C.n_grains_for(d, g)
    frac, symbols = _li15si4_basis(a)
    sym, pos, grain, n_removed, _ = _assemble(
        frac, symbols, a, 5.0 * d, rng, n_grains, rot,
        priority_of=lambda s: (s == "Li").astype(int))  # remove Li before Si at boundaries
    keep = C.trim_composition(sym, pos, M.X_LI15SI4)
    sym, pos, grain = sym[keep], pos[keep], grain[keep]
    atoms = _finish_particle(sym, pos, grain, vacuum_nm)
    n_si = int((sym == "Si").sum())
    extra = dict(lattice_constant=a, **C.particle_diameter_nm(atoms),
                 **C.grain_stats(atoms.arrays["grain"], a ** 3 / 76),
                 n_removed_at_boundaries=n_removed,
                 li_si_ratio=float((len(sym) - n_si) / max(n_si, 1)))
    if g is None:
        extra["orientation_matrix"] = rot.round(10).ravel().tolist()
    return C.record(atoms, "li15si4_particle", args, seed, **extra)

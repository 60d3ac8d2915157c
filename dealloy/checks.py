"""Checks a structure must pass before it is simulated or analysed.

A structure that no physical process made is refused with one line that names the atoms, before
LAMMPS starts and before any analysis number is computed:

- atoms closer than :data:`MIN_DISTANCE_ANGSTROM` (a bad merge, duplicated atoms, a wrong unit);
- atoms far outside the particle: fragments farther than :data:`FAR_ANGSTROM` from the rest
  (beyond any Li-Si potential's reach, so they are a gas, not part of the particle);

Empty structures and missing species are refused where they matter: analysis needs Si
(:func:`dealloy.analysis.frame.check_frame`), a run's protocol needs Li to extract and Si
(:func:`dealloy.engine.run.check_protocol`).

``dealloy run`` refuses all of them before LAMMPS starts. ``dealloy analyze`` refuses duplicated
atoms (closer than :data:`DUPLICATE_ANGSTROM`) before any number; pairs between that and
:data:`MIN_DISTANCE_ANGSTROM` and atoms far outside the particle get a loud note in the output
(``notes`` in the JSON, a ``note:`` line on screen) with the same count and closest pair, because a
trajectory may legitimately hold a hot snapshot or an evaporated atom.
"""

from __future__ import annotations

import numpy as np

from dealloy.errors import ConfigError
from dealloy.materials import least_grain_nm

#: Shortest distance two atoms may have (Å). The shortest bond in any Li-Si phase is Si-Si at
#: 2.2-2.4 Å (Si dumbbells in LiSi / Li12Si7; c-Si 2.35 Å) and Li-Si/Li-Li are ≥ 2.5 Å
#: (Materials Project structures; Zeng et al., c-Li15Si4). Even melts at 3000 K keep pairs above
#: ~1.8 Å, so 1.2 Å is half a bond length: nothing a physical process makes.
MIN_DISTANCE_ANGSTROM = 1.2
#: Pairs closer than this are the same atom twice (a duplicate, a merge of overlapping copies):
#: refused even by the analysis, which only notes pairs between this and MIN_DISTANCE_ANGSTROM
DUPLICATE_ANGSTROM = 0.5
#: A group of atoms farther than this from every other atom is outside the particle (Å): beyond
#: the cutoff of the Li-Si potentials dealloy ships (MEAM rc ≤ 5 Å), i.e. not interacting.
FAR_ANGSTROM = 6.0


def _atoms(positions, cell, pbc):
    from ase import Atoms

    return Atoms(positions=np.asarray(positions, float), cell=np.asarray(cell, float),
                 pbc=tuple(bool(p) for p in pbc))


def _pairs(positions, cell, pbc, cutoff):
    """(i, j, d) of every pair closer than ``cutoff`` (i < j), periodic images included."""
    positions = np.asarray(positions, float)
    if not any(pbc):
        from scipy.spatial import cKDTree

        tree = cKDTree(positions)
        ij = tree.query_pairs(cutoff, output_type="ndarray")
        if len(ij) == 0:
            return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
        d = np.linalg.norm(positions[ij[:, 0]] - positions[ij[:, 1]], axis=1)
        return ij[:, 0], ij[:, 1], d
    from ase.neighborlist import neighbor_list

    i, j, d = neighbor_list("ijd", _atoms(positions, cell, pbc), cutoff)
    keep = i < j
    return i[keep], j[keep], d[keep]


def close_pairs(positions, cell, pbc, min_distance_angstrom: float = MIN_DISTANCE_ANGSTROM):
    """Find the pairs of atoms closer than ``min_distance_angstrom``, periodic images included.

    Parameters
    ----------
    positions : array_like, shape (N, 3)
        Cartesian positions (Å).
    cell : array_like, shape (3, 3)
        Cell vectors as rows (Å); used along periodic axes only.
    pbc : sequence of 3 bool
        Periodicity per axis.
    min_distance_angstrom : float
        Pairs closer than this (Å) are returned; default :data:`MIN_DISTANCE_ANGSTROM`.

    Returns
    -------
    i, j : numpy.ndarray of int, shape (P,)
        The pairs' atom indices (0-based, i < j), closest pair first.
    d : numpy.ndarray, shape (P,)
        Their distances (Å), ascending.
    """
    i, j, d = _pairs(positions, cell, pbc, min_distance_angstrom)
    order = np.argsort(d, kind="stable")
    return i[order], j[order], d[order]


#: atoms closer than this are bonded in any Li-Si phase (Li-Li ≤ 3.3 Å in Li-rich phases)
_BONDED_ANGSTROM = 3.6


def far_atoms(positions, cell, pbc, far_angstrom: float = FAR_ANGSTROM) -> np.ndarray:
    """Find the atoms outside the particle.

    Atoms joined by distances below 3.6 Å form bonded groups; a group none of whose atoms is
    within ``far_angstrom`` of the largest group is outside.

    Parameters
    ----------
    positions : array_like, shape (N, 3)
        Cartesian positions (Å).
    cell : array_like, shape (3, 3)
        Cell vectors as rows (Å); used along periodic axes only.
    pbc : sequence of 3 bool
        Periodicity per axis.
    far_angstrom : float
        Distance from the largest group (Å) beyond which a group is outside; default
        :data:`FAR_ANGSTROM`.

    Returns
    -------
    numpy.ndarray of int
        0-based indices of the atoms outside (empty for one connected structure).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    positions = np.asarray(positions, float)
    n = len(positions)
    if n < 2:
        return np.zeros(0, int)
    i, j, _ = _pairs(positions, cell, pbc, _BONDED_ANGSTROM)
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    n_comp, label = connected_components(graph, directed=False)
    if n_comp == 1:
        return np.zeros(0, int)
    main = np.bincount(label).argmax()
    # distance of every other atom to the main group (periodic images along periodic axes)
    others = np.flatnonzero(label != main)
    if not any(pbc):
        from scipy.spatial import cKDTree

        d, _ = cKDTree(positions[label == main]).query(positions[others],
                                                       distance_upper_bound=far_angstrom)
        near = np.isfinite(d)
    else:
        i, j, _ = _pairs(positions, cell, pbc, far_angstrom)
        touch = np.zeros(n, bool)
        touch[i[label[j] == main]] = True
        touch[j[label[i] == main]] = True
        near = touch[others]
    near_groups = np.unique(label[others][near])
    far = others[~np.isin(label[others], near_groups)]
    return far


def check_structure(positions, cell, pbc, symbols=None, what: str = "structure",
                    min_distance_angstrom: float = MIN_DISTANCE_ANGSTROM,
                    far_angstrom: float = FAR_ANGSTROM, refuse_far: bool = True,
                    refuse_below_angstrom: float | None = None) -> list[str]:
    """Refuse a structure with atoms too close together or far outside the particle.

    Parameters
    ----------
    positions : array_like, shape (N, 3)
        Cartesian positions (Å).
    cell : array_like, shape (3, 3)
        Cell vectors as rows (Å).
    pbc : sequence of 3 bool
        Periodicity per axis; only structures with an open axis are checked for atoms far outside.
    symbols : sequence of str, length N, optional
        Element symbols, named in the message.
    what : str
        What the structure is, for the message (``particle.file``, ``frame``).
    min_distance_angstrom : float
        Pairs closer than this (Å) are reported; default :data:`MIN_DISTANCE_ANGSTROM`.
    far_angstrom : float
        Groups farther than this (Å) from the particle are outside; default :data:`FAR_ANGSTROM`.
    refuse_below_angstrom : float, optional
        Refuse only when the closest pair is below this (default: ``min_distance_angstrom``);
        closer-than-minimum pairs above it are returned as a warning line instead. The analysis
        uses :data:`DUPLICATE_ANGSTROM` here so hot (or synthetic, noisy) snapshots are analysed
        with a loud note while duplicated atoms are still refused.
    refuse_far : bool
        Refuse atoms far outside the particle (else return a warning line).

    Returns
    -------
    list of str
        Warning lines (empty when the structure is clean).

    Raises
    ------
    ConfigError
        One line: how many pairs are closer than the minimum and the closest pair (1-based
        indices, elements, distance); or how many atoms lie far outside and the first of them.
    """
    positions = np.asarray(positions, float)
    sym = (lambda k: f"{symbols[k]}{k + 1}") if symbols is not None else (lambda k: f"#{k + 1}")
    refuse_below = min_distance_angstrom if refuse_below_angstrom is None else refuse_below_angstrom
    out: list[str] = []
    i, j, d = close_pairs(positions, cell, pbc, min_distance_angstrom)
    if len(d):
        line = (f"{what}: {len(d)} pair(s) of atoms closer than {min_distance_angstrom} Å (a "
                f"physical minimum); the closest is atoms {sym(i[0])} and {sym(j[0])} (1-based) "
                f"at {d[0]:.3f} Å")
        if d[0] < refuse_below:
            raise ConfigError(f"{line} - duplicated or overlapping atoms (a bad merge?); "
                              "remove them")
        out.append(f"{line}: numbers that depend on neighbours may be off")
    if all(pbc) or len(positions) < 2:
        return out
    far = far_atoms(positions, cell, pbc, far_angstrom)
    if len(far):
        line = (f"{what}: {len(far)} atom(s) lie far outside the particle (more than "
                f"{far_angstrom} Å from the rest of it), the first is atom {sym(far[0])} at "
                f"{np.round(positions[far[0]], 2).tolist()} Å")
        if refuse_far:
            raise ConfigError(f"{line}; remove them or fix their coordinates")
        out.append(f"{line}: envelope, volume and porosity include them")
    return out


def check_dump_path(path) -> None:
    """Refuse a dump file path LAMMPS would rewrite.

    In a dump file name ``*`` becomes the timestep and ``%`` the processor number
    (https://docs.lammps.org/dump.html), with no escape.

    Parameters
    ----------
    path : str or os.PathLike
        The dump file's path.

    Raises
    ------
    ConfigError
        Naming the character and the fix.
    """
    text = str(path)
    for ch, what in (("%", "the processor number"), ("*", "the timestep")):
        if ch in text:
            raise ConfigError(f"{text}: LAMMPS replaces '{ch}' in a dump file name by {what}; "
                              f"use a directory without '%' or '*'")


def lammps_quote(value, dump: bool = False) -> str:
    """Quote ``value`` (a path) as one LAMMPS command argument, taken literally.

    LAMMPS treats quoted text as one word and performs no ``$`` variable substitution and no
    ``#`` comment stripping inside it (checked with the ``log`` command on LAMMPS 2Aug2023+):
    double quotes unless the text holds one, else single quotes, else triple quotes.

    Parameters
    ----------
    value : str or os.PathLike
        The text to quote.
    dump : bool
        The path is a dump file name: refuse ``*`` and ``%`` (see :func:`check_dump_path`).

    Returns
    -------
    str
        The quoted argument.

    Raises
    ------
    ConfigError
        If the text holds a line break, cannot be quoted (holds ``\"\"\"`` or both quote kinds and
        ends in ``"``), or, with ``dump=True``, holds ``*`` or ``%``.
    """
    text = str(value)
    if dump:
        check_dump_path(text)
    if "\n" in text:
        raise ConfigError(f"a path with a line break cannot go into a LAMMPS command: {text!r}")
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    if '"""' not in text and not text.endswith('"'):
        return f'"""{text}"""'
    raise ConfigError(f"the path {text!r} holds both kinds of quotes in a way LAMMPS cannot "
                      "quote; rename the directory")


def check_grain(diameter_nm: float, grain_size_nm: float | None, a_angstrom: float,
                kind: str) -> None:
    """Check that a crystalline particle and its grains span two lattice constants.

    The one check of the crystal builders (:mod:`dealloy.build.crystal`) and of their argument
    models (:mod:`dealloy.config.builders`).

    Parameters
    ----------
    diameter_nm : float
        Particle diameter, nm (> 0, checked before).
    grain_size_nm : float or None
        Mean grain diameter, nm (> 0, checked before); None: a single crystal.
    a_angstrom : float
        Lattice constant of the crystal, Å.
    kind : str
        The crystal's name in the message (``Si``, ``c-Li15Si4``).

    Raises
    ------
    ConfigError
        One line starting with the field's name (``diameter_nm: must be >= ...``): a particle
        narrower than :func:`dealloy.materials.least_grain_nm`, a grain larger than the particle
        or narrower than that.
    """
    least = least_grain_nm(a_angstrom)
    if diameter_nm < least:
        raise ConfigError(f"diameter_nm: must be >= {least:.2f} nm (two {kind} lattice constants) "
                          f"to hold a crystal grain, got {diameter_nm!r}; give a larger diameter")
    if grain_size_nm is not None:
        if grain_size_nm > diameter_nm:
            raise ConfigError(f"grain_size_nm: must be <= diameter_nm ({diameter_nm:g} nm): a "
                              f"grain cannot be larger than the particle, got {grain_size_nm!r}")
        if grain_size_nm < least:
            raise ConfigError(f"grain_size_nm: must be >= {least:.2f} nm (two {kind} lattice "
                              f"constants), got {grain_size_nm!r}")

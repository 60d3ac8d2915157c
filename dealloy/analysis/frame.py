"""One frame = positions + element symbols + cell + periodicity, converted at one place.

Every analysis takes a :class:`Frame`. :func:`as_frame` accepts what a notebook has at hand: an
``ase.Atoms``, an OVITO ``DataCollection`` or ``Pipeline`` (evaluated at ``frame``), a path to a
structure file, or a :class:`Frame`. OVITO is only touched here and in :mod:`.structure`.

Periodicity is decided here, per axis, from where the atoms are (:func:`infer_pbc`): an axis the
header calls periodic is analysed as open when the atoms leave a vacuum gap across it or touch
their periodic image only at a point (a sphere in a tight box), so vacuum is never pore space
whatever the header says. Isolated particles (``pbc`` all False) get a non-periodic cell around
them; slabs and wires (some axes periodic) keep their periodic cell vectors and get open, padded
ones; a fully periodic frame is analysed as bulk (porosity is then per cell). Every frame is also
checked (:func:`dealloy.checks.check_structure`) before any number is computed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase.data import atomic_numbers, chemical_symbols

from dealloy.checks import DUPLICATE_ANGSTROM, check_structure
from dealloy.errors import ConfigError
from dealloy.io import TYPE_CONVENTION
from dealloy.periodicity import PARTICLE_GAP_ANGSTROM, _height, open_axes, override_note

#: the elements dealloy analyses and their atomic numbers (from ``ase.data``)
ELEMENTS = ("Li", "Si")
ELEMENT_Z = {s: atomic_numbers[s] for s in ELEMENTS}


@dataclass
class Frame:
    """One frame: positions, element symbols, cell and periodicity, as every analysis takes it.

    Build it with :func:`as_frame` (which decides the periodicity and checks the structure).

    Parameters
    ----------
    positions : numpy.ndarray, shape (N, 3)
        Cartesian positions (Å).
    symbols : numpy.ndarray of str, shape (N,)
        Element symbols ('Li', 'Si').
    cell : numpy.ndarray, shape (3, 3)
        Cell vectors as rows (Å); zeros if there is none.
    pbc : tuple of 3 bool
        Periodicity per axis.
    time_ps : float, optional
        Simulated time of the frame (ps), if the source gives one.
    ids : numpy.ndarray of int, shape (N,), optional
        Atom ids, if the source had them (the MSD follows atoms by id).
    info : dict
        Source, frame index, unwrapped positions and other facts of the reader.
    notes : list of str
        What reading assumed or overrode, one line each.
    """

    positions: np.ndarray            # (N, 3) Å, Cartesian
    symbols: np.ndarray              # (N,) element symbols ('Li', 'Si')
    cell: np.ndarray                 # (3, 3) Å, rows are cell vectors (zeros if none)
    pbc: tuple[bool, bool, bool]
    time_ps: float | None = None
    ids: np.ndarray | None = None    # atom ids if the source had them (for MSD)
    info: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)  # what reading assumed or overrode (one line each)

    @property
    def n_atoms(self) -> int:
        """Number of atoms N."""
        return len(self.positions)

    @property
    def periodic(self) -> bool:
        """True when the frame is bulk (all three directions periodic)."""
        return all(self.pbc)

    @property
    def partially_periodic(self) -> bool:
        """True for a slab or wire (periodic along some but not all axes)."""
        return any(self.pbc) and not all(self.pbc)

    def mask(self, element: str) -> np.ndarray:
        """Select the atoms of one element.

        Parameters
        ----------
        element : str
            'Li' or 'Si'.

        Returns
        -------
        numpy.ndarray of bool, shape (N,)
            True for the atoms of ``element``.
        """
        return self.symbols == element

    def subset(self, mask: np.ndarray) -> "Frame":
        """Take the atoms selected by ``mask`` (same cell, periodicity, time, info and notes).

        Parameters
        ----------
        mask : numpy.ndarray of bool, shape (N,), or index array
            The atoms to keep.

        Returns
        -------
        Frame
            A new frame (``info`` and ``notes`` are copied).
        """
        return Frame(self.positions[mask], self.symbols[mask], self.cell, self.pbc, self.time_ps,
                     None if self.ids is None else self.ids[mask], dict(self.info),
                     list(self.notes))

    def to_ase(self):
        """Convert to ``ase.Atoms`` (positions in Å; atom ids in ``arrays["id"]`` if known).

        Returns
        -------
        ase.Atoms
            A new object.
        """
        from ase import Atoms

        atoms = Atoms(symbols=list(self.symbols), positions=self.positions, cell=self.cell,
                      pbc=self.pbc)
        if self.ids is not None:
            atoms.arrays["id"] = np.asarray(self.ids)
        return atoms

    def analysis_cell(self, margin_angstrom: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
        """Choose the cell OVITO should use for the analysis.

        The periodic cell for bulk; a box around the atoms of an isolated particle; for a slab or
        wire the periodic cell vectors, with each open one stretched to span the atoms plus
        ``margin_angstrom`` on both sides.

        Parameters
        ----------
        margin_angstrom : float
            Vacuum added on both sides of the atoms along open axes (Å).

        Returns
        -------
        cell : numpy.ndarray, shape (3, 3)
            Cell vectors as rows (Å).
        origin : numpy.ndarray, shape (3,)
            The cell's origin (Å).
        """
        if self.periodic:
            return np.asarray(self.cell, float), np.zeros(3)
        if not any(self.pbc):
            lo = self.positions.min(0) - margin_angstrom
            hi = self.positions.max(0) + margin_angstrom
            return np.diag(hi - lo), lo
        cell = np.asarray(self.cell, float).copy()
        frac = np.linalg.solve(cell.T, self.positions.T).T
        origin = np.zeros(3)
        for ax in range(3):
            if self.pbc[ax]:
                continue
            height = _height(cell, ax)
            lo = frac[:, ax].min() - margin_angstrom / height
            hi = frac[:, ax].max() + margin_angstrom / height
            origin += lo * cell[ax]
            cell[ax] = cell[ax] * (hi - lo)
        return cell, origin

    def to_ovito(self, margin_angstrom: float = 5.0):
        """Convert to an OVITO DataCollection with particle types Li (1) and Si (2).

        Parameters
        ----------
        margin_angstrom : float
            Vacuum around the atoms along open axes (Å), see :meth:`analysis_cell`.

        Returns
        -------
        ovito.data.DataCollection
            Positions (Å) and the cell of :meth:`analysis_cell`.
        """
        from ovito.data import DataCollection, SimulationCell

        data = DataCollection()
        cell, origin = self.analysis_cell(margin_angstrom)
        m = np.zeros((3, 4))
        m[:, :3] = cell.T
        m[:, 3] = origin
        data.objects.append(SimulationCell(matrix=m, pbc=tuple(bool(p) for p in self.pbc)))
        parts = data.create_particles(count=self.n_atoms)
        parts.create_property("Position", data=self.positions)
        types = parts.create_property("Particle Type")
        for i, name in enumerate(("Li", "Si"), start=1):
            types.add_type_id(i, parts, name=name)
        types[...] = np.where(self.symbols == "Si", 2, 1)
        return data


def _from_ase(atoms, time_ps=None) -> Frame:
    cell = np.asarray(atoms.cell.array, float)
    pbc = tuple(bool(p) for p in atoms.pbc)
    if any(pbc) and atoms.cell.rank < 3:
        raise ConfigError("frame is periodic but has no full 3D cell; give a cell or set pbc=False")
    ids = atoms.arrays.get("id")
    if time_ps is None:
        time_ps = atoms.info.get("time_ps")
    notes = []
    if str(atoms.info.get("species_source", "")).startswith("ASSUMED"):
        notes.append(f"species ASSUMED: {atoms.info['species_source'][9:]}")
    return Frame(np.asarray(atoms.positions, float), _symbols_of(atoms.numbers),
                 cell, pbc, time_ps, None if ids is None else np.asarray(ids),
                 {k: v for k, v in atoms.info.items() if np.isscalar(v)}, notes)


def _from_ovito_data(data, time_ps=None) -> Frame:
    parts = data.particles
    if parts is None or parts.count == 0:
        raise ConfigError("the frame contains no atoms (empty frame)")
    pos = np.asarray(parts.positions, float)
    symbols, source = _ovito_symbols(parts)
    notes = [f"species ASSUMED: {source[9:]}"] if source.startswith("ASSUMED") else []
    cell = data.cell
    if cell is not None:
        mat = np.asarray(cell[...], float)
        pbc = tuple(bool(p) for p in cell.pbc)
        cellm = mat[:, :3].T.copy()
        pos = pos - mat[:, 3]  # cell origin at 0, like ASE
    else:
        cellm, pbc = np.zeros((3, 3)), (False, False, False)
    ids = np.asarray(parts["Particle Identifier"]) if "Particle Identifier" in parts else None
    if time_ps is None:
        t = data.attributes.get("Time", data.attributes.get("time_ps"))
        time_ps = None if t is None else float(t)
    return Frame(pos, symbols, cellm, pbc, time_ps, ids, {}, notes)


def _ovito_symbols(parts) -> tuple[np.ndarray, str]:
    """Find the element symbols of OVITO particles and where they came from.

    The type names (a dump's ``element`` column, a data file's labels), else a ``Mass`` column,
    else dealloy's convention (LAMMPS type 1 = Li, 2 = Si; the source then starts with
    ``ASSUMED``).

    Returns
    -------
    symbols : numpy.ndarray of str, shape (N,)
        Element symbols.
    source : str
        Where they came from.

    Raises
    ------
    ConfigError
        When the particles have no types or masses, or a mass matches no element within 1 amu.
    """
    from ase.data import atomic_masses, chemical_symbols

    ptypes = parts.particle_types
    if ptypes is None and "Mass" not in parts:
        raise ConfigError("the frame has no particle types, elements or masses; dealloy needs "
                          "Li and Si (give an element, type or mass column)")
    if ptypes is not None:
        names = {t.id: (t.name or "") for t in ptypes.types}
        uniq, inverse = np.unique(np.asarray(ptypes), return_inverse=True)
        named = [names.get(int(u), "") for u in uniq]
        if all(n and not n.isdigit() for n in named):
            return np.asarray(named, dtype=object).astype(str)[inverse], "type names"
    if "Mass" in parts:
        mass = np.asarray(parts["Mass"], float)
        z = np.abs(mass[:, None] - np.asarray(atomic_masses)[None, 1:]).argmin(1) + 1
        off = np.abs(np.asarray(atomic_masses)[z] - mass).max()
        if off > 1.0:
            raise ConfigError(f"a mass of the dump's mass column is {off:.1f} amu from every "
                              "element's; give an element column")
        return np.asarray(chemical_symbols, dtype=object)[z].astype(str), "mass column"

    default = {"1": "Li", "2": "Si"}
    labels = [default.get(n or str(int(u)), n or str(int(u))) for n, u in zip(named, uniq)]
    return (np.asarray(labels, dtype=object).astype(str)[inverse],
            f"ASSUMED: {TYPE_CONVENTION} (the file has only a type column)")


def as_frame(obj, frame: int = 0, check: bool = True) -> Frame:
    """Convert anything frame-like to a :class:`Frame` (the one conversion point).

    The result has its periodicity decided from the atoms (:func:`infer_pbc`) and, with
    ``check``, has passed :func:`check_frame` and :func:`dealloy.checks.check_structure` (too-close
    atoms, atoms far outside the particle): a bad structure is refused before any number.
    Notes on what was assumed or overridden are issued as warnings (and kept in ``notes``).

    Parameters
    ----------
    obj : Frame, ase.Atoms, ovito.data.DataCollection, ovito.pipeline.Pipeline, str or os.PathLike
        The structure (positions in Å), or a structure/trajectory file.
    frame : int
        Frame of a pipeline or file to take (default the first).
    check : bool
        Check the structure (:func:`dealloy.checks.check_structure`): refuse duplicated atoms
        (closer than :data:`dealloy.checks.DUPLICATE_ANGSTROM`), note close pairs and atoms far
        outside.

    Returns
    -------
    Frame
        The frame, with its periodicity decided by :func:`infer_pbc`.

    Raises
    ------
    ConfigError
        For an object of another type, an unreadable file, a frame refused by :func:`check_frame`
        or duplicated atoms.
    """
    if isinstance(obj, Frame):
        out = obj
    elif isinstance(obj, (str, Path)):
        from dealloy.analysis.trajectory import read_frames  # deferred: trajectory imports frame (cycle)

        out = read_frames(obj, f"{frame}")[0]
    elif hasattr(obj, "get_chemical_symbols") and hasattr(obj, "positions"):
        out = _from_ase(obj)
    elif hasattr(obj, "compute") and hasattr(obj, "source"):  # ovito Pipeline
        out = _from_ovito_data(obj.compute(frame))
    elif hasattr(obj, "particles") and hasattr(obj, "attributes"):  # ovito DataCollection
        out = _from_ovito_data(obj)
    else:
        raise ConfigError(f"cannot analyse a {type(obj).__name__}: give ase.Atoms, an OVITO "
                          "DataCollection/Pipeline, or a structure file path")
    check_frame(out)
    if not out.info.get("_pbc_inferred"):
        out = infer_pbc(out)
        if check:
            out.notes.extend(check_structure(
                out.positions, out.cell, out.pbc, out.symbols, what=_what(out),
                refuse_below_angstrom=DUPLICATE_ANGSTROM, refuse_far=False))
    for note in out.notes:
        warnings.warn(note, stacklevel=3)
    return out


def _what(f: Frame) -> str:
    src = f.info.get("source")
    frame = f.info.get("frame")
    return " ".join(x for x in (str(src) if src else "", f"frame {frame}" if frame is not None
                                else "frame") if x)


def infer_pbc(f: Frame, gap_angstrom: float = PARTICLE_GAP_ANGSTROM) -> Frame:
    """Decide the per-axis periodicity of a frame from its atoms.

    An axis the header calls periodic stays periodic only when the material continues across the
    boundary (:func:`dealloy.periodicity.open_axes`). Open axes get the atoms made contiguous
    across the old boundary; a note says which axes were overridden and why.

    Parameters
    ----------
    f : Frame
        The frame as read.
    gap_angstrom : float
        A vacuum gap wider than this (Å) opens an axis; see
        :data:`dealloy.periodicity.PARTICLE_GAP_ANGSTROM`.

    Returns
    -------
    Frame
        ``f`` itself (marked as decided) when nothing changes, else a new frame with the new
        ``pbc``, contiguous positions and the note appended to ``notes``.
    """
    if not any(f.pbc) or f.n_atoms == 0:
        f.info["_pbc_inferred"] = True
        return f
    pbc, positions, opened = open_axes(f.cell, f.positions, f.pbc, gap_angstrom)
    if not opened:
        f.info["_pbc_inferred"] = True
        return f
    note = override_note(f.pbc, pbc, opened, "analysed") + "; vacuum is never pore space"
    unwrapped = f.info.get("unwrapped")
    info = {k: v for k, v in f.info.items() if k != "unwrapped"}
    info["_pbc_inferred"] = True
    out = Frame(positions, f.symbols, np.asarray(f.cell, float), pbc, f.time_ps, f.ids, info,
                list(f.notes) + [note])
    if unwrapped is not None:
        out.info["unwrapped"] = unwrapped
    return out


def _symbols_of(numbers: np.ndarray) -> np.ndarray:
    """Map atomic numbers to element symbols, vectorised (``ase.data.chemical_symbols``).

    With the dtype ``np.asarray(atoms.get_chemical_symbols())`` gives (the longest symbol's
    width); ASE's per-atom loop cost 0.12 s per 100k atoms.

    Returns
    -------
    numpy.ndarray of str
        The symbols, shape of ``numbers``.
    """
    numbers = np.asarray(numbers, int)
    if numbers.size == 0:
        return np.asarray([], dtype="<U1")
    width = max(len(chemical_symbols[z]) for z in np.unique(numbers))
    return np.asarray(chemical_symbols)[numbers].astype(f"<U{width}")


def check_frame(f: Frame) -> None:
    """Refuse a frame dealloy cannot analyse: empty, elements other than Li and Si, or no Si.

    Parameters
    ----------
    f : Frame
        The frame.

    Raises
    ------
    ConfigError
        One line naming the problem and the fix.
    """
    if f.n_atoms == 0:
        raise ConfigError("the frame contains no atoms (empty frame)")
    bad = sorted(set(np.unique(f.symbols)) - set(ELEMENT_Z))
    if bad:
        raise ConfigError(f"frame contains element(s) {', '.join(bad)}; dealloy analyses Li-Si "
                          "only (for a LAMMPS dump use an element column or types 1=Li, 2=Si)")
    if not np.any(f.symbols == "Si"):
        raise ConfigError("frame contains no Si atoms: Si-Si coordination, clusters and the "
                          "framework metrics need Si (is this a pure-Li frame or a wrong type map?)")

"""One frame = positions + element symbols + cell + periodicity, converted at one place.

Every analysis takes a :class:`Frame`. :func:`as_frame` accepts what a notebook has at hand: an
``ase.Atoms``, an OVITO ``DataCollection`` or ``Pipeline`` (evaluated at ``frame``), a path to a
structure file, or a :class:`Frame`. OVITO is only touched here and in :mod:`.structure`.

Isolated particles (``pbc`` all False) get a non-periodic cell around them, so OVITO never sees the
vacuum as a void; a fully periodic frame is analysed as bulk (porosity is then per cell).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dealloy.errors import ConfigError

ELEMENT_Z = {"Li": 3, "Si": 14}


@dataclass
class Frame:
    positions: np.ndarray            # (N, 3) Å, Cartesian
    symbols: np.ndarray              # (N,) element symbols ('Li', 'Si')
    cell: np.ndarray                 # (3, 3) Å, rows are cell vectors (zeros if none)
    pbc: tuple[bool, bool, bool]
    time_ps: float | None = None
    ids: np.ndarray | None = None    # atom ids if the source had them (for MSD)
    info: dict = field(default_factory=dict)

    @property
    def n_atoms(self) -> int:
        return len(self.positions)

    @property
    def periodic(self) -> bool:
        """True when the frame is bulk (all three directions periodic)."""
        return all(self.pbc)

    def mask(self, element: str) -> np.ndarray:
        return self.symbols == element

    def subset(self, mask: np.ndarray) -> "Frame":
        return Frame(self.positions[mask], self.symbols[mask], self.cell, self.pbc, self.time_ps,
                     None if self.ids is None else self.ids[mask], dict(self.info))

    def to_ase(self):
        from ase import Atoms

        atoms = Atoms(symbols=list(self.symbols), positions=self.positions, cell=self.cell,
                      pbc=self.pbc)
        if self.ids is not None:
            atoms.arrays["id"] = np.asarray(self.ids)
        return atoms

    def analysis_cell(self, margin_angstrom: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
        """(cell matrix, origin) OVITO should use: the periodic cell, or a box around the atoms."""
        if self.periodic:
            return np.asarray(self.cell, float), np.zeros(3)
        lo = self.positions.min(0) - margin_angstrom
        hi = self.positions.max(0) + margin_angstrom
        return np.diag(hi - lo), lo

    def to_ovito(self, margin_angstrom: float = 5.0):
        """An OVITO DataCollection with particle types Li (1) and Si (2)."""
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
    if any(pbc) and not all(pbc):
        warnings.warn("frame is periodic in only some directions; analysing it as an isolated "
                      "particle (non-periodic)", stacklevel=3)
        pbc = (False, False, False)
    if all(pbc) and atoms.cell.rank < 3:
        raise ConfigError("frame is periodic but has no full 3D cell; give a cell or set pbc=False")
    ids = atoms.arrays.get("id")
    if time_ps is None:
        time_ps = atoms.info.get("time_ps")
    return Frame(np.asarray(atoms.positions, float), np.asarray(atoms.get_chemical_symbols()),
                 cell, pbc, time_ps, None if ids is None else np.asarray(ids),
                 {k: v for k, v in atoms.info.items() if np.isscalar(v)})


def _from_ovito_data(data, time_ps=None) -> Frame:
    parts = data.particles
    if parts is None or parts.count == 0:
        raise ConfigError("the frame contains no atoms (empty frame)")
    pos = np.asarray(parts.positions, float)
    symbols = _ovito_symbols(parts)
    cell = data.cell
    if cell is not None:
        mat = np.asarray(cell[...], float)
        pbc = tuple(bool(p) for p in cell.pbc)
        cellm = mat[:, :3].T.copy()
        pos = pos - mat[:, 3]  # cell origin at 0, like ASE
    else:
        cellm, pbc = np.zeros((3, 3)), (False, False, False)
    if any(pbc) and not all(pbc):
        pbc = (False, False, False)
    ids = np.asarray(parts["Particle Identifier"]) if "Particle Identifier" in parts else None
    if time_ps is None:
        t = data.attributes.get("Time", data.attributes.get("time_ps"))
        time_ps = None if t is None else float(t)
    return Frame(pos, symbols, cellm, pbc, time_ps, ids)


def _ovito_symbols(parts) -> np.ndarray:
    ptypes = parts.particle_types
    if ptypes is None:
        raise ConfigError("the frame has no particle types/elements; dealloy needs Li and Si")
    names = {t.id: (t.name or str(t.id)) for t in ptypes.types}
    # LAMMPS dumps without an element column give numeric types: dealloy's order is 1=Li, 2=Si
    default = {"1": "Li", "2": "Si"}
    uniq, inverse = np.unique(np.asarray(ptypes), return_inverse=True)
    labels = [default.get(names.get(int(u), str(u)), names.get(int(u), str(u))) for u in uniq]
    return np.asarray(labels, dtype=object).astype(str)[inverse]


def as_frame(obj, frame: int = 0) -> Frame:
    """Convert anything frame-like to a :class:`Frame` (the one conversion point)."""
    if isinstance(obj, Frame):
        out = obj
    elif isinstance(obj, (str, Path)):
        from dealloy.analysis.trajectory import read_frames

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
    return detect_particle_in_box(out)


#: a periodic frame whose atoms leave a vacuum gap wider than this along all three cell axes is an
#: isolated particle in a box (analysed non-periodic, so the vacuum never looks like a pore)
PARTICLE_GAP_ANGSTROM = 6.0


def detect_particle_in_box(f: Frame, gap_angstrom: float = PARTICLE_GAP_ANGSTROM) -> Frame:
    """A periodic frame with vacuum gaps on all three axes -> the same atoms, made contiguous
    across the boundary, as a non-periodic particle (with a warning). Other frames unchanged."""
    if not f.periodic or f.n_atoms == 0:
        return f
    cell = np.asarray(f.cell, float)
    frac = np.mod(np.linalg.solve(cell.T, f.positions.T).T, 1.0)
    vol = abs(np.linalg.det(cell))
    shift = np.zeros(3)
    gaps = []
    for ax in range(3):
        u = np.sort(frac[:, ax])
        d = np.diff(np.concatenate([u, [u[0] + 1.0]]))
        k = int(np.argmax(d))
        height = vol / np.linalg.norm(np.cross(cell[(ax + 1) % 3], cell[(ax + 2) % 3]))
        gaps.append(d[k] * height)
        shift[ax] = u[(k + 1) % len(u)]  # first atom after the largest gap goes to 0
    if min(gaps) <= gap_angstrom:
        return f
    frac = np.mod(frac - shift, 1.0)
    warnings.warn(f"periodic cell with vacuum gaps of {min(gaps):.0f}+ Å on every axis: an "
                  "isolated particle in a box, analysed as non-periodic", stacklevel=3)
    return Frame(frac @ cell, f.symbols, cell, (False, False, False), f.time_ps, f.ids,
                 dict(f.info))


def check_frame(f: Frame) -> None:
    if f.n_atoms == 0:
        raise ConfigError("the frame contains no atoms (empty frame)")
    bad = sorted(set(np.unique(f.symbols)) - set(ELEMENT_Z))
    if bad:
        raise ConfigError(f"frame contains element(s) {', '.join(bad)}; dealloy analyses Li-Si "
                          "only (for a LAMMPS dump use an element column or types 1=Li, 2=Si)")
    if not np.any(f.symbols == "Si"):
        raise ConfigError("frame contains no Si atoms: Si-Si coordination, clusters and the "
                          "framework metrics need Si (is this a pure-Li frame or a wrong type map?)")

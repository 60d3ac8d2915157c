"""Structures with known answers for the analysis tests (numpy/ASE only, no dealloy builders).

No tests here: a helper module named so that it belongs to the analysis test files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk

from dealloy import materials as M

A_SI = M.SI_A_ANGSTROM
DATA = Path(__file__).parent / "data"  # frames from real runs, kept as regression cases
A_LI15SI4 = M.LI15SI4_A_ANGSTROM


def diamond_si(repeat) -> Atoms:
    return bulk("Si", "diamond", a=A_SI, cubic=True).repeat(repeat)


def sphere_from(crystal_atoms: Atoms, radius: float) -> Atoms:
    """Atoms of a (large enough) crystal within ``radius`` of its cell centre, non-periodic."""
    c = crystal_atoms.cell.array.sum(0) / 2
    keep = np.linalg.norm(crystal_atoms.positions - c, axis=1) < radius
    p = crystal_atoms[keep]
    p.positions -= c
    p.cell = np.zeros((3, 3))
    p.pbc = False
    return p


def si_sphere(radius: float) -> Atoms:
    n = int(np.ceil(2 * radius / A_SI)) + 1
    return sphere_from(diamond_si((n, n, n)), radius)


def li15si4_cell() -> Atoms:
    """c-Li15Si4, I-43d (No. 220): Li 12a, Li 48e, Si 16c (:mod:`dealloy.materials`)."""
    return M.li15si4_conventional_cell(A_LI15SI4)


def li15si4_sphere(radius: float) -> Atoms:
    n = int(np.ceil(2 * radius / A_LI15SI4)) + 1
    return sphere_from(li15si4_cell().repeat((n, n, n)), radius)


def with_cavities(atoms: Atoms, centres, radius: float) -> Atoms:
    keep = np.ones(len(atoms), bool)
    for c in centres:
        keep &= np.linalg.norm(atoms.positions - np.asarray(c), axis=1) >= radius
    return atoms[keep]


def si_slabs(n_layers: int, gap_angstrom: float, n_slabs: int = 2) -> tuple[Atoms, float, float]:
    """Periodic stack of (001) diamond-Si slabs of ``n_layers`` atomic layers separated by vacuum.

    Returns (atoms, slab thickness, gap): a slab of n layers spaced a/4 is n * a/4 thick (each
    layer owns a/4), the gap is the period minus that.
    """
    d = A_SI / 4
    unit = diamond_si((1, 1, 1))
    z = unit.positions[:, 2]
    layers = []
    n_cells = int(np.ceil(n_layers / 4)) + 1
    col = unit.repeat((1, 1, n_cells))
    zc = np.round(col.positions[:, 2] / d).astype(int)
    slab = col[zc < n_layers]
    thickness = n_layers * d
    period = thickness + gap_angstrom
    parts = []
    for k in range(n_slabs):
        s = slab.copy()
        s.positions[:, 2] += k * period
        parts.append(s)
    atoms = parts[0]
    for s in parts[1:]:
        atoms += s
    atoms.cell = [A_SI, A_SI, n_slabs * period]
    atoms.pbc = True
    atoms.positions[:, 2] += d / 2
    del z, layers
    return atoms.repeat((2, 2, 1)), thickness, gap_angstrom


def random_lisi_bulk(seed: int = 0) -> Atoms:
    """A disordered periodic Li-Si frame (diamond sites, 1/3 Li, 0.25 Å noise)."""
    rng = np.random.default_rng(seed)
    a = diamond_si((3, 3, 3))
    sym = np.array(a.get_chemical_symbols())
    sym[rng.random(len(a)) < 1 / 3] = "Li"
    a.set_chemical_symbols(sym)
    a.positions += rng.normal(0, 0.25, a.positions.shape)
    a.wrap()
    return a


def write_lammps_dump(path, frames, times_ps, with_time: bool = True, step_every: int = 100) -> None:
    """A LAMMPS text dump with an element column (as dealloy run writes: id element x y z) and
    optionally ITEM: TIME."""
    lines = []
    for step, (atoms, t) in enumerate(zip(frames, times_ps)):
        cell = atoms.cell.array
        pbc = "pp pp pp" if all(atoms.pbc) else "ss ss ss"
        if all(atoms.pbc):
            lo, hi = np.zeros(3), np.diag(cell)
        else:
            lo, hi = atoms.positions.min(0) - 1, atoms.positions.max(0) + 1
        lines += (["ITEM: TIME", f"{t}"] if with_time else [])
        lines += ["ITEM: TIMESTEP", f"{step * step_every}",
                  "ITEM: NUMBER OF ATOMS", f"{len(atoms)}", f"ITEM: BOX BOUNDS {pbc}"]
        lines += [f"{lo[i]} {hi[i]}" for i in range(3)]
        lines.append("ITEM: ATOMS id element x y z")
        ids = atoms.arrays.get("id", np.arange(1, len(atoms) + 1))
        for i, (s, p) in enumerate(zip(atoms.get_chemical_symbols(), atoms.positions)):
            lines.append(f"{ids[i]} {s} {p[0]:.5f} {p[1]:.5f} {p[2]:.5f}")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")

"""Bonds to vacuum: isolated atoms, cohesive energies and surface-Li desorption, student vs teacher.

The measurement behind potentials/README.md's "Particle stability, and the isolated atoms it
exposed" (issue 14). Every potential is evaluated by single points on the same structures:

- the isolated Li and Si atom (LAMMPS potentials through
  :func:`dealloy.potentials.validate.isolated_atom_energy_ev`, which works around ML-POD's crash on
  an atom without neighbours; the teacher on one atom in a 20 Å non-periodic box);
- bcc Li (a = 3.44 Å, 3x3x3 cubic cells) and diamond Si (a = 5.43 Å, 2x2x2) per atom, whence the
  cohesive energies E_iso - E_bulk;
- the desorption energy E(N-1) + E_iso(Li) - E(N) of each of the 12 outermost Li of a 2.5 nm
  c-Li15Si4 particle (``li15si4_particle(2.5, seed=1)``, minimised with the first LAMMPS potential
  given), unrelaxed;
- or, with ``make --particle FILE --atoms I,J``, of the 12 outermost Li and of the atoms I, J
  (0-based indices; any species) of a structure of one's own, as it is (not minimised): e.g. the
  frame of a ``validate-potential --stability`` run one sample before an atom evaporated
  (``environment_before`` of its record names the atom), to ask whether the teacher binds that
  atom as weakly as the student does.

Stages (the teacher needs the ``[fit]`` extra, the rest the base install)::

    python potentials/validation/desorption.py make    --state DIR --potentials pod-lisi-7net,meam-godet2020
    python potentials/validation/desorption.py lammps  --state DIR --potentials pod-lisi-7net,meam-godet2020
    python potentials/validation/desorption.py teacher --state DIR          # SevenNet-0
    python potentials/validation/desorption.py table   --state DIR

A fitted potential outside the package is found through ``DEALLOY_USER_POTENTIALS_DIR``. Cost:
about a minute for the LAMMPS stages and 80 s for the teacher on one core.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.io import read, write

N_LI = 12


def _chosen(state: Path) -> tuple[list[int], list[int]]:
    """Read the outermost Li and the extra atoms of ``outer.json`` (an older state holds a list)."""
    got = json.loads((state / "outer.json").read_text())
    return (got, []) if isinstance(got, list) else (got["outer"], got["extra"])


def structures(state: Path) -> dict:
    """Give the structures every potential is evaluated on (particle, minus each chosen atom, bulks)."""
    part = read(state / "particle.extxyz")
    out = {"particle": part}
    outer, extra = _chosen(state)
    for i in outer + [j for j in extra if j not in outer]:
        a = part.copy()
        del a[i]
        out[f"minus_{i}"] = a
    out["bcc_li"] = bulk("Li", "bcc", a=3.44, cubic=True).repeat(3)
    out["diamond_si"] = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    return out


def main() -> None:
    """Run one stage (module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stage", choices=["make", "lammps", "teacher", "table"])
    ap.add_argument("--state", type=Path, required=True)
    ap.add_argument("--potentials", default="pod-lisi-7net,meam-godet2020")
    ap.add_argument("--particle", type=Path, default=None,
                    help="make: a structure of one's own (ASE-readable), used as it is")
    ap.add_argument("--atoms", default="", help="make: extra atoms (0-based indices, comma-separated)")
    args = ap.parse_args()
    state = args.state
    state.mkdir(parents=True, exist_ok=True)
    pots = [p for p in args.potentials.split(",") if p]
    if args.stage == "make":
        from mpi4py import MPI  # noqa: F401 - before lammps

        from dealloy.build.crystal import li15si4_particle
        from dealloy.lammps.session import LammpsSession

        if args.particle is None:
            p = li15si4_particle(2.5, seed=1)
            with LammpsSession(p, pots[0]) as s:
                s.minimize(ftol_ev_per_angstrom=1e-3, maxiter=2000)
                p = s.get_atoms(velocities=False)
        else:
            p = read(args.particle)
        p.pbc = False
        extra = [int(i) for i in args.atoms.split(",") if i.strip()]
        if any(not 0 <= i < len(p) for i in extra):
            raise SystemExit(f"--atoms: indices must lie in 0..{len(p) - 1}")
        write(state / "particle.extxyz", p)
        r = np.linalg.norm(p.positions - p.positions.mean(0), axis=1)
        li = [int(i) for i in np.argsort(-r) if p[int(i)].symbol == "Li"][:N_LI]
        (state / "outer.json").write_text(json.dumps({"outer": li, "extra": extra}))
    elif args.stage == "lammps":
        from mpi4py import MPI  # noqa: F401

        from dealloy.lammps.potentials import get_potential
        from dealloy.lammps.session import LammpsSession
        from dealloy.potentials.validate import isolated_atom_energy_ev

        res = {}
        for pot in pots:
            e = {}
            for k, a in structures(state).items():
                with LammpsSession(a, pot) as s:
                    e[k] = s.potential_energy_ev()
            for el in ("Li", "Si"):
                e[f"iso_{el}"] = isolated_atom_energy_ev(el, get_potential(pot))
            res[pot] = e
        (state / "lammps.json").write_text(json.dumps(res, indent=1))
    elif args.stage == "teacher":
        from dealloy.fit.teacher import load_teacher

        calc = load_teacher("sevenn").calculator
        e = {}
        for k, a in structures(state).items():
            a = a.copy()
            if not a.pbc.any():
                a.center(vacuum=10.0)
            a.calc = calc
            e[k] = float(a.get_potential_energy())
        for el in ("Li", "Si"):
            iso = Atoms(el, positions=[[10, 10, 10]], cell=[20, 20, 20], pbc=False)
            iso.calc = calc
            e[f"iso_{el}"] = float(iso.get_potential_energy())
        (state / "teacher.json").write_text(json.dumps({"SevenNet-0": e}, indent=1))
    else:
        res = json.loads((state / "lammps.json").read_text())
        if (state / "teacher.json").is_file():
            res.update(json.loads((state / "teacher.json").read_text()))
        idx, extra = _chosen(state)
        part = read(state / "particle.extxyz")
        print(f"{'potential':16s} {'E_iso Li':>9s} {'E_iso Si':>9s} {'E_coh Li':>9s} {'E_coh Si':>9s}"
              "  desorption of the outer Li, eV: mean (min-max)")
        for pot, e in res.items():
            des = np.array([e[f"minus_{i}"] + e["iso_Li"] - e["particle"] for i in idx])
            coh_li = e["iso_Li"] - e["bcc_li"] / 54
            coh_si = e["iso_Si"] - e["diamond_si"] / 64
            print(f"{pot:16s} {e['iso_Li']:9.3f} {e['iso_Si']:9.3f} {coh_li:9.3f} {coh_si:9.3f}"
                  f"  {des.mean():.3f} ({des.min():.3f}-{des.max():.3f})")
        for i in extra:  # an atom of one's own: E(N-1) + E_iso(its element) - E(N)
            el = part[i].symbol
            print(f"atom {i} ({el}): removal energy, eV: " + ", ".join(
                f"{pot} {e[f'minus_{i}'] + e[f'iso_{el}'] - e['particle']:.3f}"
                for pot, e in res.items()))


if __name__ == "__main__":
    main()

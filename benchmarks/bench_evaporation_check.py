"""Cost of the stability test's evaporation check: the same particle MD with and without it.

``dealloy validate-potential --stability`` has LAMMPS look for atoms that left the particle every
10 steps (``compute coord/atom`` with the pair cutoff, an atom-style variable, ``compute reduce``,
``fix halt ... error continue``: ``LammpsSession.watch_evaporation``, which ``dealloy run`` and
:mod:`dealloy.potentials.stability` install). This times NVE MD of a
c-Li15Si4 particle at 1000 K with and without those commands, interleaved, and prints the ratio
(with / without; best of ``--repeats``)::

    python benchmarks/bench_evaporation_check.py [--potential meam-godet2020] [--diameter-nm 5]
        [--steps 200] [--repeats 2]

Measured 2026-12-01 (meam-godet2020, 4 052 atoms, 200 steps, 1 rank, the 2-core VM loaded by a
2-rank MD run): 14.25 s with, 14.40 s without (ratio 0.99): no cost visible.
"""

from __future__ import annotations

import argparse
import time

from mpi4py import MPI  # noqa: F401 - before lammps

from dealloy.build.crystal import li15si4_particle
from dealloy.lammps.session import LammpsSession


def main() -> None:
    """Time the MD with and without the check and print both and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--potential", default="meam-godet2020")
    ap.add_argument("--diameter-nm", type=float, default=5.0)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    start = li15si4_particle(args.diameter_nm, seed=1)
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.repeats):
        for check in (False, True):
            with LammpsSession(start, args.potential) as s:
                s.create_velocities(1000.0, 1)
                if check:  # what dealloy run and the stability test install
                    s.watch_evaporation()
                s.commands(["fix nve all nve", "run 10 post no"])
                t = time.perf_counter()
                s.command(f"run {args.steps} post no")
                times[check].append(time.perf_counter() - t)
    best = {k: min(v) for k, v in times.items()}
    print(f"{args.potential}, {len(start)} atoms, {args.steps} steps: with the check "
          f"{best[True]:.2f} s, without {best[False]:.2f} s, ratio {best[True] / best[False]:.3f}")


if __name__ == "__main__":
    main()

"""One galvanostatic interval (10 removals) on a thermalised 5 nm c-Li15Si4 particle, timed against
a full single point and an MD step of the same particle (1 rank). Profile it with py-spy:

    py-spy record -r 50 -f raw -o prof.raw -- python benchmarks/profile_galvanostatic.py [WORKDIR]

benchmarks/README.md ("The item-4 rate") has the numbers before and after the cluster instance.
The thermalised particle is cached in WORKDIR (default /tmp/dealloy-profile-galvanostatic).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import ase.io

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dealloy.engine.electrochem import (  # noqa: E402
    SinglePoints,
    cheapest_removals,
    li_bcc_chemical_potential_ev,
)
from dealloy.engine.particles import li15si4_sphere  # noqa: E402
from dealloy.engine.selectors import removal_candidates  # noqa: E402
from dealloy.lammps.session import LammpsSession  # noqa: E402
from dealloy.potentials import get_potential  # noqa: E402


def main() -> None:
    work = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/dealloy-profile-galvanostatic")
    work.mkdir(parents=True, exist_ok=True)
    pot = get_potential("meam-godet2020")
    mu = li_bcc_chemical_potential_ev(pot)
    f = work / "particle-5nm.extxyz"
    if not f.is_file():
        with LammpsSession(li15si4_sphere(25.0), pot) as s:
            s.minimize(maxiter=200)
            s.create_velocities(300.0, 3)
            s.md(0.2, 300.0, ensemble="nvt")
            ase.io.write(f, s.get_atoms())
    atoms = ase.io.read(f)
    with LammpsSession(atoms, pot) as s:
        s.command("run 0 post no")
        t = time.perf_counter()
        for _ in range(5):
            s.command("run 0 post no")
        t_run0 = (time.perf_counter() - t) / 5
        s.command("fix dealloy_prof all nve")
        s.command("run 10 post no")
        t = time.perf_counter()
        s.command("run 100 pre no post no")
        t_step = (time.perf_counter() - t) / 100
        s.command("unfix dealloy_prof")
        ids = s.gather("id", 0, 1).astype(int)
        types = s.gather("type", 0, 1).astype(int)
        x, v = s.gather("x", 1, 3), s.gather("v", 1, 3)
        img = s.gather("image", 0, 1).astype(int)
        table = {int(i): (x[k], v[k], int(img[k])) for k, i in enumerate(ids)}
        cand = [int(i) for i in ids[removal_candidates("surface", x, types == 1)]]
        t = time.perf_counter()
        with SinglePoints(s) as sp:
            moves, _ = cheapest_removals(sp, cand, table, 10, mu, 2 * pot.cutoff_angstrom + 0.5)
        t_cr = time.perf_counter() - t
    print(f"{len(atoms)} atoms, {len(cand)} accessible Li; run 0 {t_run0 * 1e3:.1f} ms, "
          f"MD step {t_step * 1e3:.1f} ms")
    print(f"10 removals: {t_cr:.2f} s = {t_cr / t_step:.0f} MD steps; "
          f"{sp.n_evaluations} single points of the whole particle, "
          f"{sp.n_local_evaluations} of clusters")
    print("removed (id, dE eV):", [(m.atom_id, round(m.delta_e_ev, 9)) for m in moves])


if __name__ == "__main__":
    main()

"""docs/engine.md 'Cost and caveats': single-Li removal voltages of a minimised c-Li15Si4 sphere,
at 0 K and from 300 K snapshots (meam-godet2020). Usage: python benchmarks/single_li_voltages.py [diameter_nm] (default 2.2)"""
import sys
import time

import numpy as np

from dealloy.build.crystal import li15si4_particle
from dealloy.engine.electrochem import (SinglePoints, li_bcc_chemical_potential_ev,
                                        removal_energies)
from dealloy.lammps.potentials import get_potential
from dealloy.lammps.session import LammpsSession

t0 = time.time()
d = float(sys.argv[1]) if len(sys.argv) > 1 else 2.2
pot = get_potential("meam-godet2020")
mu = li_bcc_chemical_potential_ev(pot)
atoms = li15si4_particle(d, seed=3)
n_li = int((np.array(atoms.get_chemical_symbols()) == "Li").sum())
print(f"{d} nm c-Li15Si4 sphere: {len(atoms)} atoms ({n_li} Li), mu_Li(bcc) = {mu:.5f} eV")


def table(s):
    ids = s.gather("id", 0, 1).astype(int)
    x, v = s.gather("x", 1, 3), s.gather("v", 1, 3)
    img = s.gather("image", 0, 1).astype(int)
    types = s.gather("type", 0, 1).astype(int)
    return ids, types, {int(i): (x[k], v[k], int(img[k])) for k, i in enumerate(ids)}


rng = np.random.default_rng(0)
with LammpsSession(atoms, pot) as s:
    s.minimize(ftol_ev_per_angstrom=1e-4)
    ids, types, tab = table(s)
    pick = sorted(int(i) for i in rng.choice(ids[types == 1], 20, replace=False))
    with SinglePoints(s) as sp:
        u0 = np.array([removal_energies(sp, pick, tab)[i] for i in pick]) + mu
    print(f"0 K (minimised), 20 random Li: removal voltage {u0.min():.2f}-{u0.max():.2f} V, "
          f"median {np.median(u0):.2f} V")
    s.create_velocities(600.0, 5)  # equipartition: ~300 K after the first ps
    u_t = []
    for k in range(5):
        s.md(0.5, 300.0, ensemble="nvt")
        _, _, tab = table(s)
        with SinglePoints(s) as sp:
            u_t.append([removal_energies(sp, pick, tab)[i] + mu for i in pick])
    u_t = np.array(u_t)
    diff = u_t - u0[None, :]
    print(f"300 K snapshots (5 x 0.5 ps apart), same 20 Li: mean shift {diff.mean():+.3f} V, "
          f"std over snapshots {u_t.std(0).mean():.3f} V, median {np.median(u_t):.2f} V")
print(f"wall {time.time() - t0:.0f} s")

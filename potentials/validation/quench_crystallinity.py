"""Glass or crystal: melt-quench a slowly quenched a-Li3.75Si and measure its crystalline share.

Melt-quench one validation cell (the protocol of `dealloy validate-potential --amorphous`) and print
its energy beside c-Li15Si4's and the share of it that the c-Li15Si4 matcher calls crystalline.

    python potentials/validation/quench_crystallinity.py --rate 1e13 --seed 1   # ~40 min, 1 core
    python potentials/validation/quench_crystallinity.py --rate 1e14 --seed 1   # ~7 min
"""

from __future__ import annotations

import argparse
import json

import mpi4py.MPI  # noqa: F401  (liblammps needs libmpi loaded first)

from dealloy.analysis.structure import Crystallinity, SiNetwork
from dealloy.builders import amorphous_lisi
from dealloy.lammps.potentials import get_potential
from dealloy.potentials.amorphous import VALIDATION_PROTOCOL


def _li_cna_crystalline(atoms) -> float:
    """Share of Li in fcc/hcp/bcc/icosahedral surroundings (OVITO adaptive CNA): crystalline Li."""
    import numpy as np
    from ovito.io.ase import ase_to_ovito
    from ovito.modifiers import CommonNeighborAnalysisModifier
    from ovito.pipeline import Pipeline, StaticSource

    pipe = Pipeline(source=StaticSource(data=ase_to_ovito(atoms)))
    pipe.modifiers.append(CommonNeighborAnalysisModifier())
    st = np.asarray(pipe.compute().particles["Structure Type"])
    li = np.array(atoms.get_chemical_symbols()) == "Li"
    return float((st[li] != 0).mean())


def main() -> None:
    """Parse the command line, melt-quench the cell and print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=1e13, help="quench rate, K/s")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--x", type=float, default=3.75)
    ap.add_argument("--n-si", type=int, default=128)
    ap.add_argument("--potential", default="meam-godet2020")
    ap.add_argument("--out", help="also write the cell here (extxyz)")
    a = ap.parse_args()
    proto = {**VALIDATION_PROTOCOL, "quench_rate_k_per_s": a.rate}
    atoms = amorphous_lisi(a.x, n_si=a.n_si, seed=a.seed, potential=a.potential, **proto)
    if a.out:
        atoms.write(a.out)
    from dealloy.potentials.validate import _relax_bulk, li15si4_unit_cell

    cell, e_cell = _relax_bulk(li15si4_unit_cell(), get_potential(a.potential))
    e_c = e_cell / len(cell)  # relaxed c-Li15Si4, as in the validation series
    e = float(atoms.info["potential_energy_ev_per_atom"])
    cr = Crystallinity().compute(atoms).results
    net = SiNetwork().compute(atoms).results
    li_crystalline = _li_cna_crystalline(atoms)
    print(json.dumps({
        "potential": a.potential, "x": a.x, "seed": a.seed, "quench_rate_k_per_s": a.rate,
        "energy_ev_per_atom": round(e, 5), "c_li15si4_energy_ev_per_atom": round(e_c, 5),
        "above_crystal_mev_per_atom": round(1000 * (e - e_c), 1),
        "c_li15si4_like_atoms": round(cr["crystalline_fraction_by_phase"]["c_li15si4"], 3),
        "c_li15si4_like_si": round(cr["si_crystalline_fraction_by_phase"]["c_li15si4"], 3),
        "isolated_si": round(net["si_cluster_fractions"]["isolated"], 3),
        "li_fcc_hcp_bcc_ico_by_cna": round(li_crystalline, 3),
    }, indent=1))


if __name__ == "__main__":
    main()

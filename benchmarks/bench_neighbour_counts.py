"""Neighbour counting for the ML-POD guard: ASE's ``neighbor_list`` against
``dealloy.lammps.session.neighbour_counts`` (scipy KD-tree over the periodic images), memory and time.

    python benchmarks/bench_neighbour_counts.py [--radii 14 22 35] [--reach 7.0]

``LammpsSession`` counts every atom's neighbours within cutoff + skin before it hands a structure to
an ML-POD build affected by lammps/lammps#5114 (``check_pod_neighbours``). Until 2026-11-30 it
counted with ``ase.neighborlist.neighbor_list``, which builds every candidate pair at once: that
peak was the whole of pod-lisi-7net's "3.2x MEAM's memory" in ``bench_potential.py``. Each
measurement runs in a fresh subprocess on a c-Li15Si4 sphere (``li15si4_sphere``); memory is the
peak RSS above the loaded particle (``/proc/self/clear_refs`` resets the peak), time the wall time
of one count; the counts of the two methods must be identical atom by atom.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _status_mb() -> tuple[float, float]:
    with open("/proc/self/status") as fh:
        kb = {line.split(":")[0]: int(line.split()[1]) for line in fh
              if line.startswith(("VmRSS:", "VmHWM:"))}
    return kb["VmRSS"] / 1024, kb["VmHWM"] / 1024


def child(method: str, radius: float, reach: float) -> dict:
    import gc
    import hashlib
    import time

    import numpy as np
    from ase.neighborlist import neighbor_list

    from dealloy.engine.particles import li15si4_sphere
    from dealloy.lammps.session import neighbour_counts

    atoms = li15si4_sphere(radius)
    gc.collect()
    base = _status_mb()[0]
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    t = time.perf_counter()
    if method == "ase":
        counts = np.bincount(neighbor_list("i", atoms, reach), minlength=len(atoms))
    else:
        counts = neighbour_counts(atoms, reach)
    dt = time.perf_counter() - t
    peak = _status_mb()[1]
    return {"method": method, "atoms": len(atoms), "seconds": dt, "peak_above_mb": peak - base,
            "counts_sha": hashlib.sha256(np.asarray(counts, dtype=np.int64).tobytes()).hexdigest()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--radii", type=float, nargs="+", default=[14.0, 22.0, 35.0],
                    help="particle radii (Å)")
    ap.add_argument("--reach", type=float, default=7.0, help="cutoff + skin (Å)")
    ap.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.child[0], float(a.child[1]), a.reach)))
        return 0
    print(f"c-Li15Si4 spheres, reach {a.reach:g} Å, one process per measurement")
    print("| atoms | ASE neighbor_list: peak MB above the particle | s | neighbour_counts: peak MB "
          "| s | peak ratio | same counts |")
    print("|---|---|---|---|---|---|---|")
    for radius in a.radii:
        r = {}
        for method in ("ase", "kdtree"):
            out = subprocess.run([sys.executable, __file__, "--reach", str(a.reach), "--child",
                                  method, str(radius)], capture_output=True, text=True, check=True)
            r[method] = json.loads(out.stdout.strip().splitlines()[-1])
        ase, kd = r["ase"], r["kdtree"]
        print(f"| {ase['atoms']} | {ase['peak_above_mb']:.1f} | {ase['seconds']:.2f} | "
              f"{kd['peak_above_mb']:.1f} | {kd['seconds']:.3f} | "
              f"{ase['peak_above_mb'] / max(kd['peak_above_mb'], 0.1):.0f} | "
              f"{ase['counts_sha'] == kd['counts_sha']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

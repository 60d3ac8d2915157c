"""Benchmark of the per-frame analysis (``analyze_frame``, all metrics, 1 Å voxels).

Frames: porous Si particles (diamond Si sphere with random spherical pores of 2-4 nm diameter,
porosity ~0.45, like the paper's frameworks) of ~10k, 30k, 100k, 300k atoms. Each size runs in a
fresh process (one core: OMP/NUMBA/OVITO threads = 1) so peak memory is that of one analysis.
Reports CPU and wall time (warm: the numba kernels are compiled once beforehand; on a shared
machine the CPU time is the fair figure) and peak RSS above the frame itself, per atom.

    python benchmarks/bench_analysis.py [--sizes 10000,30000,100000,300000]
    python benchmarks/bench_analysis.py --local-thickness [--sizes 10000,30000]

``--local-thickness``: the sampled local thickness (dealloy's numba kernels, 20000 points) against
porespy's ``filters.local_thickness`` (every voxel; methods ``dt`` and the default ``bf``) on the
solid and pore masks of the same porous particle: CPU time and the median/mean diameters, in one
process per size (the baseline is porespy, measured in the same run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ENV = {"OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "OVITO_THREAD_COUNT": "1",
       "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def porous_particle(n_atoms: int, porosity: float = 0.45, seed: int = 0):
    import numpy as np
    from ase.build import bulk

    rng = np.random.default_rng(seed)
    rho = 8 / 5.431**3
    radius = (3 * n_atoms / (rho * (1 - porosity)) / (4 * np.pi)) ** (1 / 3)
    n = int(np.ceil(2 * radius / 5.431)) + 1
    si = bulk("Si", "diamond", a=5.431, cubic=True).repeat((n, n, n))
    c = si.cell.array.sum(0) / 2
    pos = si.positions - c
    keep = np.linalg.norm(pos, axis=1) < radius
    pos = pos[keep]
    removed = np.zeros(len(pos), bool)
    target = porosity * len(pos)
    while removed.sum() < target:
        r = rng.uniform(10, 20)
        centre = rng.uniform(-1, 1, 3) * (radius - r - 5)
        if np.linalg.norm(centre) > radius - r - 5:
            continue
        removed |= np.linalg.norm(pos - centre, axis=1) < r
    from ase import Atoms

    return Atoms("Si" * int((~removed).sum()), positions=pos[~removed], pbc=False)


def li15si4_particle(n_atoms: int, noise_angstrom: float = 0.0, seed: int = 0):
    """A dense c-Li15Si4 sphere (I-43d cell, 76 atoms per a^3) of about n_atoms, its positions
    displaced by Gaussian noise of ``noise_angstrom`` (Å, per component) if given."""
    import numpy as np

    from dealloy import materials as M

    a = M.LI15SI4_A_ANGSTROM
    radius = (3 * n_atoms * a**3 / 76 / (4 * np.pi)) ** (1 / 3)
    n = int(np.ceil(2 * radius / a)) + 1
    cell = M.li15si4_conventional_cell(a).repeat((n, n, n))
    c = cell.cell.array.sum(0) / 2
    p = cell[np.linalg.norm(cell.positions - c, axis=1) < radius]
    p.positions -= c
    if noise_angstrom:
        p.positions += np.random.default_rng(seed).normal(0, noise_angstrom, p.positions.shape)
    p.pbc = False
    return p


def child(n_atoms: int, kind: str = "porous-si") -> None:
    import resource

    import numpy as np

    from dealloy.analysis import analyze_frame

    warm = porous_particle(3000, seed=1)
    analyze_frame(warm)  # compile numba kernels, load OVITO
    atoms = porous_particle(n_atoms) if kind == "porous-si" else li15si4_particle(n_atoms)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t = time.perf_counter()
    c = time.process_time()
    m = analyze_frame(atoms)
    wall = time.perf_counter() - t
    cpu = time.process_time() - c
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"n_atoms": len(atoms), "wall_s": wall, "cpu_s": cpu, "peak_above_bytes": peak - base,
                      "bytes_per_atom": (peak - base) / len(atoms), "porosity": m["porosity"],
                      "pore_diameter_nm": m["pore_diameter_nm"]["mean"],
                      "ligament_diameter_nm": m["ligament_diameter_nm"]["mean"],
                      "timings_s": m["timings_s"]}))


def child_local_thickness(n_atoms: int) -> None:
    import numpy as np
    import porespy as ps

    from dealloy.analysis.voxel import VoxelMetrics, local_thickness_samples, thickness_stats

    atoms = porous_particle(n_atoms)
    m = VoxelMetrics().compute(atoms, keep_fields=True).results
    solid = m["_fields"]["solid"]
    pores = m["_fields"]["envelope"] & ~solid
    local_thickness_samples(solid[:20, :20, :20], 10, np.random.default_rng(0))  # compile
    out = {"n_atoms": len(atoms), "grid": list(solid.shape)}
    for name, phase in (("ligament", solid), ("pore", pores)):
        c = time.process_time()
        radii, _ = local_thickness_samples(phase, 20000, np.random.default_rng(0))
        t_ours = time.process_time() - c
        ours = thickness_stats(radii, 1.0, 0.1)
        row = {"dealloy_cpu_s": t_ours, "dealloy_median_nm": ours["median"],
               "dealloy_mean_nm": ours["mean"]}
        for method in ("dt", "bf"):
            c = time.process_time()
            lt = ps.filters.local_thickness(phase, method=method, smooth=False)[phase]
            row[f"porespy_{method}_cpu_s"] = time.process_time() - c
            d = (2.0 * lt - 0.5) * 0.1  # porespy returns EDT radii (voxels): same conversion
            row[f"porespy_{method}_median_nm"] = float(np.median(d))
            row[f"porespy_{method}_mean_nm"] = float(np.mean(d))
        out[name] = row
    print(json.dumps(out))


def main_local_thickness(sizes) -> None:
    for n in sizes:
        res = subprocess.run([sys.executable, __file__, "--child-lt", str(n)], capture_output=True,
                             text=True, env={**os.environ, **ENV})
        if res.returncode:
            print(res.stderr[-2000:], file=sys.stderr)
            continue
        row = json.loads(res.stdout.strip().splitlines()[-1])
        for name in ("ligament", "pore"):
            r = row[name]
            print(f"{row['n_atoms']:>7d} atoms {name:8s} dealloy {r['dealloy_cpu_s']:6.2f} s "
                  f"(median {r['dealloy_median_nm']:.3f}, mean {r['dealloy_mean_nm']:.3f} nm) | "
                  f"porespy dt {r['porespy_dt_cpu_s']:6.2f} s ({r['porespy_dt_median_nm']:.3f}, "
                  f"{r['porespy_dt_mean_nm']:.3f}) | porespy bf {r['porespy_bf_cpu_s']:6.2f} s "
                  f"({r['porespy_bf_median_nm']:.3f}, {r['porespy_bf_mean_nm']:.3f})", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,30000,100000,300000")
    ap.add_argument("--kind", default="porous-si", choices=["porous-si", "li15si4"],
                    help="porous Si framework particle, or dense c-Li15Si4 particle")
    ap.add_argument("--child", type=int, default=None)
    ap.add_argument("--local-thickness", action="store_true",
                    help="dealloy's sampled local thickness vs porespy's, same masks")
    ap.add_argument("--child-lt", type=int, default=None)
    args = ap.parse_args()
    if args.child_lt:
        child_local_thickness(args.child_lt)
        return
    if args.local_thickness:
        main_local_thickness([int(s) for s in args.sizes.split(",")])
        return
    if args.child:
        child(args.child, args.kind)
        return
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        out = subprocess.run([sys.executable, __file__, "--child", str(n), "--kind", args.kind],
                             capture_output=True,
                             text=True, env={**os.environ, **ENV})
        if out.returncode:
            print(out.stderr[-2000:], file=sys.stderr)
            continue
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        t = row["timings_s"]
        print(f"{row['n_atoms']:>7d} atoms  {row['cpu_s']:6.2f} s CPU  {row['wall_s']:6.2f} s wall  "
              f"{row['bytes_per_atom'] / 1024:6.2f} KB/atom above frame   "
              f"(network {t['network']:.2f}, rdf {t['rdf']:.2f}, crystal {t['crystal']:.2f}, "
              f"voxel {t['voxel']:.2f})  porosity {row['porosity']:.3f}", flush=True)
    if len(rows) >= 2:
        import numpy as np

        n = np.array([r["n_atoms"] for r in rows], float)
        w = np.array([r["cpu_s"] for r in rows])
        slope = np.polyfit(np.log(n), np.log(w), 1)[0]
        print(f"CPU time grows as N^{slope:.2f}")


if __name__ == "__main__":
    main()

"""Benchmark of the per-frame analysis (``analyze_frame``, all metrics, 1 Å voxels).

Frames: porous Si particles (diamond Si sphere with random spherical pores of 2-4 nm diameter,
porosity ~0.45, like the paper's frameworks) of ~10k, 30k, 100k, 300k atoms. Each size runs in a
fresh process (one core: OMP/NUMBA/OVITO threads = 1) so peak memory is that of one analysis.
Reports CPU and wall time (warm: the numba kernels are compiled once beforehand; on a shared
machine the CPU time is the fair figure) and peak RSS above the frame itself, per atom.

    python benchmarks/bench_analysis.py [--sizes 10000,30000,100000,300000]
    python benchmarks/bench_analysis.py --local-thickness [--sizes 10000,30000]
    python benchmarks/bench_analysis.py --ball --sizes 100000
    python benchmarks/bench_analysis.py --record OUT [--sizes ...]; --compare A B

``--record OUT`` writes every voxel metric (all of ``VoxelMetrics``' results, fields hashed) of
the benchmark particles to OUT (JSON lines); ``--compare A B`` checks two such files value for
value. Run with ``PYTHONPATH`` at two trees to show that a change keeps every number. The same
records of the tests' own frames: ``PYTHONPATH=TREE:benchmarks DEALLOY_VOXEL_RECORD=OUT python -m
pytest -p bench_analysis tests/test_voxel_*.py tests/test_analysis_voxel.py`` (this module is
then a pytest plugin that records every ``VoxelMetrics`` and ``local_thickness_samples`` call).

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


def _plain(x):
    """JSON-able copy of a result: arrays as (shape, dtype, sha256 of the bytes)."""
    import hashlib

    import numpy as np

    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        a = np.ascontiguousarray(x)
        return {"shape": list(a.shape), "dtype": str(a.dtype),
                "sha256": hashlib.sha256(a.tobytes()).hexdigest()}
    if isinstance(x, np.generic):
        return x.item()
    return x


def _append_record(path: str, kind: str, key, result) -> None:
    with open(path, "a") as f:
        f.write(json.dumps({"kind": kind, "key": _plain(key), "result": _plain(result)},
                           sort_keys=True) + "\n")


def pytest_configure(config):  # pragma: no cover - used as ``pytest -p bench_analysis``
    """Record every voxel metric the tests compute (to ``$DEALLOY_VOXEL_RECORD``)."""
    import dataclasses

    from dealloy.analysis import voxel as V

    path = os.environ.get("DEALLOY_VOXEL_RECORD")
    if not path:
        return
    compute, lts = V.VoxelMetrics._compute, V.local_thickness_samples

    def recorded_compute(self, frame, keep_fields=False):
        res = compute(self, frame, keep_fields)
        key = {"params": dataclasses.asdict(self.params), "positions": frame.positions,
               "cell": frame.cell, "pbc": list(frame.pbc)}
        _append_record(path, "VoxelMetrics", key, res)
        return res

    def recorded_lts(phase, n_samples, rng, *args, **kwargs):
        res = lts(phase, n_samples, rng, *args, **kwargs)
        if sys._getframe(1).f_globals.get("__name__") != V.__name__:  # the tests' own calls
            _append_record(path, "local_thickness_samples", {"phase": phase, "n": n_samples},
                           res)
        return res

    V.VoxelMetrics._compute = recorded_compute
    V.local_thickness_samples = recorded_lts


def record(out: str, sizes) -> None:
    """Every voxel metric of the benchmark particles (porous Si, dense c-Li15Si4), to ``out``."""
    from dealloy.analysis.frame import as_frame
    from dealloy.analysis.voxel import VoxelMetrics

    open(out, "w").close()
    for n in sizes:
        for kind, atoms in (("porous-si", porous_particle(n)), ("li15si4", li15si4_particle(n))):
            res = VoxelMetrics().compute(as_frame(atoms), keep_fields=True).results
            _append_record(out, "VoxelMetrics", {"kind": kind, "n_atoms": len(atoms)}, res)
            print(f"{kind} {len(atoms)} atoms: porosity {res['porosity']!r}, ligament median "
                  f"{res['ligament_diameter_nm']['median']!r} nm, pore median "
                  f"{res['pore_diameter_nm']['median']!r} nm, envelope "
                  f"{res['envelope_volume_nm3']!r} nm3", flush=True)


def compare(a: str, b: str) -> int:
    """Number of records that differ (exactly: every float, every field's hash)."""
    with open(a) as fa, open(b) as fb:
        ra = [json.loads(line) for line in fa]
        rb = [json.loads(line) for line in fb]
    bad = 0 if len(ra) == len(rb) else 1
    for i, (x, y) in enumerate(zip(ra, rb)):
        if x != y:
            bad += 1
            diff = [k for k in x["result"] if x["result"].get(k) != y["result"].get(k)] \
                if isinstance(x["result"], dict) and isinstance(y["result"], dict) else "result"
            print(f"record {i} ({x['kind']}) differs: {diff}")
    print(f"{len(ra)} / {len(rb)} records, {bad} differ")
    return bad


def ball(n_atoms: int) -> None:
    """The voxel metrics' ball dilation (shifted ORs) against the float32 EDT it replaces and
    scipy's ``binary_dilation`` with the same ball, on the pore space of the benchmark particle:
    CPU time (best of 3), peak of the result's own arrays (tracemalloc), equality."""
    import tracemalloc

    import numpy as np
    from scipy import ndimage as ndi

    from dealloy.analysis.frame import as_frame
    from dealloy.analysis.voxel import VoxelMetrics, _ball_boxes, _ball_dilation, _edt

    m = VoxelMetrics().compute(as_frame(porous_particle(n_atoms)), keep_fields=True).results
    pores = m["_fields"]["envelope"] & ~m["_fields"]["solid"]
    print(f"{n_atoms} atoms, grid {pores.shape}, pore fraction {pores.mean():.2f}")

    def run(f):
        best = None
        for _ in range(3):
            c = time.process_time()
            out = f()
            t = time.process_time() - c
            best = t if best is None else min(best, t)
        tracemalloc.start()
        f()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return out, best, peak

    for r in (1.5, 3.5, 6.5):
        g = np.arange(-int(r) - 1, int(r) + 2)
        d2 = (g[:, None, None] ** 2 + g[None, :, None] ** 2 + g[None, None, :] ** 2)
        structure = np.sqrt(d2.astype(np.float32)) < np.float32(r)
        ours, t_ours, m_ours = run(lambda r=r: _ball_dilation(pores, r))
        ref, t_edt, _ = run(lambda r=r: _edt(~pores) < r)  # edt's own output is not traced
        lib, t_lib, m_lib = run(lambda s=structure: ndi.binary_dilation(pores, s))
        print(f"radius {r} vox ({len(_ball_boxes(r))} boxes, {int(structure.sum())} offsets): "
              f"shifted ORs {t_ours:.3f} s, EDT {t_edt:.3f} s + {4 * pores.size / 2**20:.0f} MB "
              f"float grid, scipy binary_dilation {t_lib:.3f} s | numpy peak MB: ours "
              f"{m_ours / 2**20:.1f}, scipy {m_lib / 2**20:.1f} | equal to EDT: "
              f"{np.array_equal(ours, ref)}, scipy equal: {np.array_equal(lib, ref)}", flush=True)


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
    ap.add_argument("--ball", action="store_true",
                    help="ball dilation (shifted ORs) vs EDT vs scipy binary_dilation")
    ap.add_argument("--record", metavar="OUT", help="write the voxel metrics of the particles")
    ap.add_argument("--ball-child", type=int, default=None)
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two --record files")
    args = ap.parse_args()
    if args.ball:
        for n in [int(x) for x in args.sizes.split(",")]:
            subprocess.run([sys.executable, __file__, "--ball-child", str(n)], check=True,
                           env={**os.environ, **ENV})
        return
    if args.ball_child:
        ball(args.ball_child)
        return
    if args.record:
        record(args.record, [int(x) for x in args.sizes.split(",")])
        return
    if args.compare:
        sys.exit(1 if compare(*args.compare) else 0)
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

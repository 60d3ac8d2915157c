"""Hand-written analysis kernels against the library that could replace them, same run, same
input, one core: CPU time ratio and how far the numbers differ.

    python benchmarks/bench_kernels.py [--sizes 10000,100000]

- q̄4/q̄6 of the c-Li15Si4 detector (``dealloy.analysis.structure._qbar``, float64 numpy on
  OVITO's neighbour pairs) against ``freud.order.Steinhardt([4, 6], average=True)`` on the same
  pairs (a freud ``NeighborList``), on a c-Li15Si4 sphere with 0.15 Å thermal noise. Reported:
  CPU seconds of each (the neighbour search is shared and not timed), max |Δq̄|, and how many Si
  change their c-Li15Si4-like flag when freud's q̄ is used.
- MSD over all time origins: ``tidynamics.msd`` (what dealloy uses, float64 FFT) against the
  former direct sum over lags and ``freud.msd.MSD`` (window mode, single precision).
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


def li15si4_sphere(n_atoms: int, noise_angstrom: float = 0.15, seed: int = 0):
    """The analysis benchmark's c-Li15Si4 sphere of about ``n_atoms``, rattled by
    ``noise_angstrom`` (Å) so that some Si lose their crystalline neighbourhood."""
    from bench_analysis import li15si4_particle

    return li15si4_particle(n_atoms, noise_angstrom, seed)


def qbar_freud(data, p, iso):
    import freud
    import numpy as np

    from dealloy.analysis.structure import _neighbors

    n = data.particles.count
    idx, vec = _neighbors(data, p.li15si4_shell_angstrom, np.flatnonzero(iso))
    keep = iso[idx[:, 1]]
    i, j, v = idx[keep, 0], idx[keep, 1], vec[keep]
    order = np.lexsort((j, i))
    c = time.process_time()
    nlist = freud.locality.NeighborList.from_arrays(n, n, i[order], j[order], v[order])
    pos = np.asarray(data.particles.positions, float)
    box = freud.box.Box.cube(2 * np.ptp(pos, axis=0).max() + 4 * p.li15si4_shell_angstrom)
    st = freud.order.Steinhardt([4, 6], average=True)
    st.compute((box, pos - pos.mean(0)), neighbors=nlist)
    q = np.nan_to_num(np.asarray(st.particle_order, float))
    return q, time.process_time() - c


def child_qbar(n_atoms: int) -> dict:
    import numpy as np

    from dealloy.analysis import structure as S
    from dealloy.analysis.frame import as_frame

    p = S.CrystallinityParams()
    f = as_frame(li15si4_sphere(n_atoms))
    data = f.subset(f.mask("Si")).to_ovito(margin_angstrom=p.li15si4_shell_angstrom + 1.0)
    S._qbar(data, p)  # warm (imports)
    qbar_freud(data, p, np.ones(data.particles.count, bool))
    # the neighbour searches inside _qbar are OVITO's and shared with the freud path: time them
    c = time.process_time()
    S._neighbors(data, p.si_si_cutoff_angstrom)
    iso_idx = np.arange(data.particles.count)
    S._neighbors(data, p.li15si4_shell_angstrom, iso_idx)
    t_nb = time.process_time() - c
    c = time.process_time()
    iso_shell, q4, q6 = S._qbar(data, p)
    t_own = time.process_time() - c - t_nb
    iso = q4 > 0
    q, t_freud = qbar_freud(data, p, iso)
    r4, r6 = S.li15si4_reference(p)
    like_own = iso_shell & (np.abs(q4 - r4) < p.qbar4_tolerance) & (np.abs(q6 - r6) < p.qbar6_tolerance)
    like_fr = iso_shell & (np.abs(q[:, 0] - r4) < p.qbar4_tolerance) \
        & (np.abs(q[:, 1] - r6) < p.qbar6_tolerance)
    return {"n_atoms": len(f.symbols), "n_si": int(data.particles.count), "own_cpu_s": t_own,
            "freud_cpu_s": t_freud, "neighbour_search_cpu_s": t_nb,
            "max_dq4": float(np.abs(q4 - q[:, 0])[iso].max()),
            "max_dq6": float(np.abs(q6 - q[:, 1])[iso].max()),
            "flag_changes": int(np.sum(like_own != like_fr)), "n_like": int(like_own.sum())}


def child_msd(n_frames: int, n_atoms: int) -> dict:
    import freud
    import numpy as np
    import tidynamics

    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(0, 0.3, (n_frames, n_atoms, 3)), axis=0) \
        + rng.uniform(0, 100, (1, n_atoms, 3))
    c = time.process_time()
    direct = np.array([np.mean(np.sum((x[k:] - x[:-k]) ** 2, axis=2)) for k in range(1, n_frames)])
    t_direct = time.process_time() - c
    c = time.process_time()
    tid = tidynamics.msd((x - x[0]).reshape(n_frames, -1))[1:] / n_atoms
    t_tid = time.process_time() - c
    c = time.process_time()
    fr = np.asarray(freud.msd.MSD(mode="window").compute(x - x.mean(0)).msd)[1:]
    t_fr = time.process_time() - c
    return {"n_frames": n_frames, "n_atoms": n_atoms, "direct_cpu_s": t_direct,
            "tidynamics_cpu_s": t_tid, "freud_cpu_s": t_fr,
            "tidynamics_max_rel": float(np.max(np.abs(tid / direct - 1))),
            "freud_max_rel": float(np.max(np.abs(fr / direct - 1)))}


def run_child(args: list[str]) -> dict | None:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         env={**os.environ, **ENV})
    if out.returncode:
        print(out.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--msd", default="200x2000,1000x2000", help="frames x atoms, comma-separated")
    ap.add_argument("--child-qbar", type=int)
    ap.add_argument("--child-msd")
    a = ap.parse_args()
    if a.child_qbar:
        print(json.dumps(child_qbar(a.child_qbar)))
        return
    if a.child_msd:
        t, n = (int(v) for v in a.child_msd.split("x"))
        print(json.dumps(child_msd(t, n)))
        return
    for n in (int(s) for s in a.sizes.split(",")):
        r = run_child(["--child-qbar", str(n)])
        if r:
            print(f"q̄  {r['n_atoms']:>7d} atoms ({r['n_si']} Si): dealloy {r['own_cpu_s']:.3f} s, "
                  f"freud {r['freud_cpu_s']:.3f} s (freud/dealloy {r['freud_cpu_s'] / r['own_cpu_s']:.2f}; "
                  f"shared neighbour search {r['neighbour_search_cpu_s']:.3f} s); max |Δq̄4| "
                  f"{r['max_dq4']:.1e}, |Δq̄6| {r['max_dq6']:.1e}; c-Li15Si4 flags changed "
                  f"{r['flag_changes']} of {r['n_like']}", flush=True)
    for spec in a.msd.split(","):
        r = run_child(["--child-msd", spec])
        if r:
            print(f"MSD {r['n_frames']} frames x {r['n_atoms']} atoms: direct {r['direct_cpu_s']:.2f} s, "
                  f"tidynamics {r['tidynamics_cpu_s']:.3f} s (max rel {r['tidynamics_max_rel']:.1e}), "
                  f"freud {r['freud_cpu_s']:.3f} s (max rel {r['freud_max_rel']:.1e})", flush=True)


if __name__ == "__main__":
    main()

"""Potential speed and memory: MD atom-steps/s and peak memory of fitted potentials as ratios to
meam-godet2020 (the current default), on the same c-Li15Si4 particle, same ranks, one invocation.

    python benchmarks/bench_potential.py POTENTIAL [POTENTIAL ...] [--radius 22] [--steps 200]
        [--repeats 2] [--json FILE]

Each measurement runs in a fresh subprocess (its own peak RSS), all potentials through the same
code: the particle (a sphere of c-Li15Si4, ``li15si4_sphere``, 2 767 atoms at the default radius)
is loaded through ``LammpsSession`` (which also runs dealloy's own pre-flight checks, e.g. the
ML-POD neighbour guard), its potential energy is computed (``potential energy eV``: compare it
between code versions, it must not change), it is given 300 K velocities, run 20 steps of NVE to
warm up, then ``--steps`` steps of NVE are timed. MEAM and the candidates are interleaved
``--repeats`` times (background load hits both alike); the table reports the best throughput of
each and its ratio to the baseline, and the largest memory figures of the repeats.

Memory, three figures per potential: ``peak RSS (process)`` is the child's ``ru_maxrss`` -- the
issue's measure, but ~82 MB of it is the interpreter, numpy/ASE/dealloy imports and the particle,
identical for every potential (``before LAMMPS``, VmRSS just before the session is opened);
``LAMMPS phase peak above it`` is the peak RSS from then on (VmHWM reset through
``/proc/self/clear_refs``): the LAMMPS library, the instance, the potential's arrays and
neighbour lists, and dealloy's checks -- the figure that grows with the particle. Measured
2026-11-30 (1 rank): pod-lisi-7net's LAMMPS phase costs ~29 MB fixed + 0.57 KB per atom against
MEAM's ~28 MB + 1.8 KB per atom (718-14 311 atoms), so its ratio falls below 1 with size. The
3.2x of earlier runs was dealloy's ML-POD guard counting neighbours with ASE's ``neighbor_list``
(+258 MB at 2 767 atoms, ~90 KB per atom; ``bench_neighbour_counts.py``), replaced by a KD-tree
count (+0.4 MB).
Target (issue 14): a fitted potential >= 0.3x meam-godet2020 atom-steps/s, memory <= 2x.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASELINE = "meam-godet2020"


def _status_mb() -> tuple[float, float]:
    """VmRSS and VmHWM (peak RSS since start or the last reset) of this process, MB."""
    with open("/proc/self/status") as fh:
        kb = {line.split(":")[0]: int(line.split()[1]) for line in fh
              if line.startswith(("VmRSS:", "VmHWM:"))}
    return kb["VmRSS"] / 1024, kb["VmHWM"] / 1024


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0, ``/proc/self/clear_refs``); False if refused."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def child(name: str, radius: float, steps: int) -> dict:
    import gc
    import time

    from dealloy.engine.particles import li15si4_sphere
    from dealloy.lammps.session import LammpsSession

    atoms = li15si4_sphere(radius)
    gc.collect()
    baseline_mb = _status_mb()[0]  # interpreter, imports, the particle: alike for every potential
    reset = _reset_peak()
    with LammpsSession(atoms, name) as s:
        pe = s.potential_energy_ev()
        s.create_velocities(300.0, 7)
        s.command("fix bench all nve")
        s.command("run 20")
        t = time.perf_counter()
        s.command(f"run {steps}")
        dt = time.perf_counter() - t
        n = s.natoms
        phase_peak_mb = _status_mb()[1] if reset else float("nan")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"potential": name, "atoms": n, "steps": steps, "seconds": dt,
            "atom_steps_per_s": n * steps / dt, "potential_energy_ev": pe,
            "max_rss_mb": rss_mb, "baseline_rss_mb": baseline_mb,
            "lammps_peak_mb": phase_peak_mb - baseline_mb}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("potentials", nargs="+")
    ap.add_argument("--radius", type=float, default=22.0, help="particle radius (Å)")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--json", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.child, a.radius, a.steps)))
        return 0
    names = [BASELINE] + [p for p in a.potentials if p != BASELINE]
    best: dict[str, dict] = {}
    for _ in range(a.repeats):
        for name in names:
            out = subprocess.run([sys.executable, __file__, name, "--child", name, "--radius",
                                  str(a.radius), "--steps", str(a.steps)],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            prev = best.get(name)
            if prev is None or r["atom_steps_per_s"] > prev["atom_steps_per_s"]:
                best[name] = r
            if prev is not None:  # memory: the largest of the repeats
                for key in ("max_rss_mb", "baseline_rss_mb", "lammps_peak_mb"):
                    best[name][key] = max(r[key], prev[key])
    base = best[BASELINE]
    print(f"c-Li15Si4 particle, radius {a.radius:g} Å, {base['atoms']} atoms, {a.steps} NVE steps, "
          f"1 rank, best of {a.repeats} (memory: largest of {a.repeats})")
    print(f"| potential | atom-steps/s | ratio to {BASELINE} | peak RSS MB (process) | ratio | "
          "before LAMMPS MB | LAMMPS phase peak above it MB | ratio | MB per 1000 atoms | "
          "potential energy eV |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        r = best[name]
        r["speed_ratio"] = r["atom_steps_per_s"] / base["atom_steps_per_s"]
        r["memory_ratio"] = r["max_rss_mb"] / base["max_rss_mb"]
        r["lammps_memory_ratio"] = r["lammps_peak_mb"] / base["lammps_peak_mb"]
        print(f"| {name} | {r['atom_steps_per_s']:.3g} | {r['speed_ratio']:.2f} | "
              f"{r['max_rss_mb']:.0f} | {r['memory_ratio']:.2f} | {r['baseline_rss_mb']:.0f} | "
              f"{r['lammps_peak_mb']:.1f} | {r['lammps_memory_ratio']:.2f} | "
              f"{1000 * r['lammps_peak_mb'] / r['atoms']:.2f} | {r['potential_energy_ev']:.8f} |")
    if a.json:
        Path(a.json).write_text(json.dumps(best, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

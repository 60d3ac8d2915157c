"""Potential speed and memory: MD atom-steps/s and peak memory of fitted potentials as ratios to
meam-godet2020 (the current default), on the same c-Li15Si4 particle, same ranks, one invocation.

    python benchmarks/bench_potential.py POTENTIAL [POTENTIAL ...] [--radius 22] [--steps 200]
        [--repeats 2] [--json FILE]

Each measurement runs in a fresh subprocess (its own peak RSS): the particle (a sphere of
c-Li15Si4, ``li15si4_sphere``, ~4000 atoms at the default radius) is loaded through
``LammpsSession``, given 300 K velocities, run 20 steps of NVE to warm up, then ``--steps`` steps
of NVE are timed. MEAM and the candidates are interleaved ``--repeats`` times (background load
hits both alike); the table reports the best throughput of each and its ratio to the baseline.
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


def child(name: str, radius: float, steps: int) -> dict:
    import time

    from dealloy.engine.particles import li15si4_sphere
    from dealloy.lammps.session import LammpsSession

    atoms = li15si4_sphere(radius)
    with LammpsSession(atoms, name) as s:
        s.create_velocities(300.0, 7)
        s.command("fix bench all nve")
        s.command("run 20")
        t = time.perf_counter()
        s.command(f"run {steps}")
        dt = time.perf_counter() - t
        n = s.natoms
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"potential": name, "atoms": n, "steps": steps, "seconds": dt,
            "atom_steps_per_s": n * steps / dt, "max_rss_mb": rss_mb}


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
            if name not in best or r["atom_steps_per_s"] > best[name]["atom_steps_per_s"]:
                best[name] = r
    base = best[BASELINE]
    print(f"c-Li15Si4 particle, radius {a.radius:g} Å, {base['atoms']} atoms, {a.steps} NVE steps, "
          f"1 rank, best of {a.repeats}")
    print(f"| potential | atom-steps/s | ratio to {BASELINE} | peak RSS MB | ratio |")
    print("|---|---|---|---|---|")
    for name in names:
        r = best[name]
        r["speed_ratio"] = r["atom_steps_per_s"] / base["atom_steps_per_s"]
        r["memory_ratio"] = r["max_rss_mb"] / base["max_rss_mb"]
        print(f"| {name} | {r['atom_steps_per_s']:.3g} | {r['speed_ratio']:.2f} | "
              f"{r['max_rss_mb']:.0f} | {r['memory_ratio']:.2f} |")
    if a.json:
        Path(a.json).write_text(json.dumps(best, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

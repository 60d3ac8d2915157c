"""Builder benchmarks (not a timed test).

    python benchmarks/bench_build.py                 # crystalline builds: time and peak memory
    python benchmarks/bench_build.py --amorphous     # + a-LixSi melt-quench table vs references

Crystalline part: a 5 nm sc-Si, pc-Si and c-Li15Si4 particle, and the 20 nm polycrystalline
c-Li15Si4 particle (~260k atoms; target < 60 s and < 2 GB). Each build runs in a fresh
subprocess so its peak RSS (ru_maxrss) is its own; tracemalloc's peak of the build is given too.

Amorphous part: amorphous_lisi at several x with the chosen protocol (default "standard":
1e13 K/s), printing density, volume per Si and Si-Si coordination next to the references
(a-Si 2.28 g/cm^3, CN 3.88; DFTB a-LixSi, Fernandez et al. PRB 108, 144201 (2023)).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CASES = [
    ("si_particle", dict(diameter_nm=5.0, crystallinity="sc")),
    ("si_particle", dict(diameter_nm=5.0, crystallinity="pc", grain_size_nm=2.5, twin_spacing_nm=1.0)),
    ("li15si4_particle", dict(diameter_nm=5.0)),
    ("li15si4_particle", dict(diameter_nm=5.0, grain_size_nm=2.5)),
    ("li15si4_particle", dict(diameter_nm=20.0, grain_size_nm=5.0)),
    ("li15si4_particle", dict(diameter_nm=20.0, grain_size_nm=14.0)),
]

CHILD = r"""
import json, resource, sys, time, tracemalloc
name, kwargs = sys.argv[1], json.loads(sys.argv[2])
from dealloy.builders import BUILDERS
fn = BUILDERS[name]
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
t = time.perf_counter()
atoms = fn(**kwargs)
dt = time.perf_counter() - t
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
t = time.perf_counter()
fn(**kwargs)  # second run without tracemalloc overhead
dt2 = time.perf_counter() - t
print(json.dumps(dict(n_atoms=len(atoms), seconds=min(dt, dt2), tracemalloc_peak_mb=peak / 2**20,
                      maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      rss_before_mb=rss0 / 1024, n_grains=atoms.info.get("n_grains"),
                      mean_grain_size_nm=atoms.info.get("mean_grain_size_nm"))))
"""


def crystalline():
    print(f"{'builder':<18} {'args':<62} {'atoms':>8} {'time s':>7} {'tracemalloc MB':>14} "
          f"{'maxrss MB':>9} {'grains':>6} {'mean grain nm':>13}")
    for name, kw in CASES:
        out = subprocess.run([sys.executable, "-c", CHILD, name, json.dumps(kw)], check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        args = ", ".join(f"{k}={v}" for k, v in kw.items())
        print(f"{name:<18} {args:<62} {r['n_atoms']:>8} {r['seconds']:>7.2f} "
              f"{r['tracemalloc_peak_mb']:>14.0f} {r['maxrss_mb']:>9.0f} {r['n_grains']:>6} "
              f"{r['mean_grain_size_nm']:>13.2f}", flush=True)


def amorphous(xs, n_si, protocol, potential, save_dir=None):
    from dealloy.builders.amorphous import amorphous_lisi
    from dealloy.io import write_structure

    print(f"\namorphous_lisi, potential {potential}, protocol {protocol}, n_si = {n_si}")
    print(f"{'x':>5} {'atoms':>6} {'time s':>7} {'rho g/cm3':>9} {'V/Si A3':>8} {'ref V/Si':>8} "
          f"{'CN SiSi':>7} {'ref CN':>6} {'melt MSD A2':>11} {'P bar':>7}")
    for x in xs:
        t = time.perf_counter()
        a = amorphous_lisi(x, n_si=n_si, protocol=protocol, potential=potential)
        i = a.info
        if save_dir:
            write_structure(f"{save_dir}/a_li{x:g}si_{protocol}_{n_si}.xyz", a)
        print(f"{x:>5.2f} {len(a):>6} {time.perf_counter() - t:>7.0f} {i['density_g_cm3']:>9.3f} "
              f"{i['volume_per_si_angstrom3']:>8.1f} {i['ref_volume_per_si_angstrom3']:>8.1f} "
              f"{i['si_si_cn']:>7.2f} {i['ref_si_si_cn']:>6.2f} {i['melt_msd_si_angstrom2']:>11.1f} "
              f"{i['pressure_bar']:>7.0f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--amorphous", action="store_true", help="also run the melt-quench table")
    ap.add_argument("--only-amorphous", action="store_true")
    ap.add_argument("--x", type=float, nargs="+", default=[0.0, 0.89, 2.0, 3.75])
    ap.add_argument("--n-si", type=int, default=32)
    ap.add_argument("--protocol", default="standard")
    ap.add_argument("--potential", default="meam-cui2012")
    ap.add_argument("--save-dir", default=None, help="write each amorphous cell here (extxyz)")
    a = ap.parse_args()
    if not a.only_amorphous:
        crystalline()
    if a.amorphous or a.only_amorphous:
        amorphous(a.x, a.n_si, a.protocol, a.potential, a.save_dir)


if __name__ == "__main__":
    main()

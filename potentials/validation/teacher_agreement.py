r"""Where two candidate teachers agree: formation energies and forces on one data set, by family.

Issue 14 asks for the teacher (or a committee) to be chosen by measurement. SevenNet-0 is
closer to PBE on the crystals; CHGNet quenches a-Li3.75Si closer to the DFTB structure
(``teacher_quench.py``). Before their labels can be mixed (per family) or averaged (a
committee), one has to know how they differ on the same configurations:

- a **constant per element** cancels in every formation energy, so it is removed by
  construction: each teacher's formation energy per atom is taken against its own single
  points of the PBE bcc Li and diamond Si cells (``../shared/reference/pbe-crystals``),
  E_f = (E − n_Li μ_Li − n_Si μ_Si) / N;
- a **smooth composition term** could be corrected for: the difference
  ΔE_f = E_f(B) − E_f(A) is fitted, over all configurations, to w · c_Li · c_Si (c the atom
  fractions; the regular-solution form, zero at both elements), and w is reported;
- what is left, the **residual** of that fit by family, is what neither a per-element shift
  nor a composition correction removes: structure-dependent disagreement. Where it is larger
  than the student's own error (issue 14's target: 10 meV/atom), mixing the two teachers'
  labels would give a student contradictory targets;
- **forces** are compared directly (per-component rms of F_B − F_A, eV/Å, beside the rms of
  F_A): the forces decide the structures MD makes.

The PBE crystals themselves are a row too (each teacher's formation energy against PBE at the
PBE geometries, :func:`dealloy.fit.evaluate.teacher_hull_single_points`).

Run in the venv with the ``[fit]`` extra; labels are cached per teacher and configuration in
``--state`` (:func:`dealloy.fit.dataset.label`), so a killed run continues::

    python potentials/validation/teacher_agreement.py \
        --data potentials/pod-lisi-7net-asi3/dataset.extxyz.xz --state DIR \
        [--teachers sevenn,chgnet] [--split test|all] [--json out.json]

Cost measured here: 178 s (SevenNet-0) and 89 s (CHGNet) on one core for 197 held-out configurations
of 10 142 atoms; potentials/README.md ("Can CHGNet and SevenNet-0 be mixed or averaged?").
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def formation_energies(labelled, mu: dict) -> np.ndarray:
    """Compute the formation energy per atom of each configuration against the given references.

    Parameters
    ----------
    labelled : list of ase.Atoms
        Configurations with a calculator holding their energy (eV).
    mu : dict
        ``{"Li": eV/atom, "Si": eV/atom}``, the same teacher's elemental references.

    Returns
    -------
    numpy.ndarray, shape (n,)
        eV/atom.
    """
    out = []
    for a in labelled:
        s = a.get_chemical_symbols()
        n_li, n_si = s.count("Li"), s.count("Si")
        out.append((a.get_potential_energy() - n_li * mu["Li"] - n_si * mu["Si"]) / len(a))
    return np.array(out)


def compare(configs, labels: dict, mus: dict) -> dict:
    """Compare the second teacher with the first, overall and by family.

    Parameters
    ----------
    configs : list of ase.Atoms
        The unlabelled configurations (``info['family']``).
    labels : dict
        Teacher name -> list of labelled copies of ``configs`` (same order); exactly two.
    mus : dict
        Teacher name -> ``{"Li", "Si"}`` elemental references, eV/atom.

    Returns
    -------
    dict
        ``w_ev_per_atom`` (the fitted c_Li c_Si coefficient of ΔE_f, eV/atom) and, per family
        and ``"all"``: configurations, mean and rms of ΔE_f, rms of its residual after the
        composition fit (eV/atom), force rms of the difference and of the first teacher's forces
        (eV/Å).
    """
    a_name, b_name = list(labels)
    ef_a = formation_energies(labels[a_name], mus[a_name])
    ef_b = formation_energies(labels[b_name], mus[b_name])
    d = ef_b - ef_a
    c_li = np.array([a.get_chemical_symbols().count("Li") / len(a) for a in configs])
    basis = c_li * (1.0 - c_li)
    w = float(basis @ d / (basis @ basis)) if basis @ basis > 0 else 0.0
    resid = d - w * basis
    fam = np.array([a.info.get("family", "other") for a in configs])
    out = {"teachers": [a_name, b_name], "w_ev_per_atom": w, "families": {}}
    for f in [*sorted(set(fam)), "all"]:
        m = np.ones(len(fam), bool) if f == "all" else fam == f
        fd = np.concatenate([(labels[b_name][i].get_forces() - labels[a_name][i].get_forces()).ravel()
                             for i in np.flatnonzero(m)])
        fa = np.concatenate([labels[a_name][i].get_forces().ravel() for i in np.flatnonzero(m)])
        out["families"][f] = {
            "configurations": int(m.sum()),
            "delta_ef_mean_ev_per_atom": float(d[m].mean()),
            "delta_ef_rms_ev_per_atom": float(np.sqrt(np.mean(d[m] ** 2))),
            "residual_rms_ev_per_atom": float(np.sqrt(np.mean(resid[m] ** 2))),
            "force_difference_rms_ev_per_angstrom": float(np.sqrt(np.mean(fd ** 2))),
            "force_rms_first_teacher_ev_per_angstrom": float(np.sqrt(np.mean(fa ** 2))),
        }
    return out


def main() -> None:
    """Parse the command line, label with each teacher (cached), print the table."""
    from dealloy.errors import ConfigError
    from dealloy.fit.dataset import default_crystals_dir, label, read_dataset, reference_crystals
    from dealloy.fit.evaluate import teacher_hull_single_points
    from dealloy.fit.teacher import load_teacher
    from dealloy.io import write_json

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="extxyz data set (dealloy potential fit/learn)")
    ap.add_argument("--state", required=True, help="label cache folder (a rerun continues)")
    ap.add_argument("--teachers", default="sevenn,chgnet", help="two comma-separated teachers")
    ap.add_argument("--split", choices=("test", "all"), default="test",
                    help="the held-out configurations only (default) or all")
    ap.add_argument("--json", default=None, help="write the numbers here")
    args = ap.parse_args()
    names = [n.strip() for n in args.teachers.split(",") if n.strip()]
    if len(names) != 2:
        ap.error(f"--teachers {args.teachers!r}: give exactly two, e.g. sevenn,chgnet")
    crystals_dir = default_crystals_dir()
    if crystals_dir is None:
        ap.error("the PBE reference crystals were not found: put ../shared beside the checkout")
    try:
        data, meta = read_dataset(args.data)
    except ConfigError as exc:
        raise SystemExit(f"--data: {exc}") from exc
    configs = data if args.split == "all" else [a for a in data if a.info.get("split") == "test"]
    if not configs:
        raise SystemExit(f"--data: {args.data} has no split = test configurations; use --split all")
    crystals = reference_crystals(crystals_dir)
    labels, mus, hulls, cost = {}, {}, {}, {}
    for n in names:
        teacher = load_teacher(n)
        t0 = time.time()
        labels[n] = label(configs, teacher, cache_dir=Path(args.state) / "labels",
                          progress=lambda *a, **k: None)
        cost[n] = time.time() - t0
        ends = label([crystals["Li"], crystals["Si"]], teacher, cache_dir=Path(args.state) / "labels")
        mus[n] = {"Li": ends[0].get_potential_energy() / len(ends[0]),
                  "Si": ends[1].get_potential_energy() / len(ends[1])}
        hulls[n] = teacher_hull_single_points(teacher, crystals)
        hulls[n]["teacher"] = teacher.ident
        print(f"{teacher.ident}: {len(configs)} configurations labelled or read in {cost[n]:.0f} s; "
              f"PBE crystals E_f rms vs PBE {1000 * hulls[n]['formation_rmse_vs_pbe_ev_per_atom']:.1f} "
              "meV/atom", flush=True)
    res = compare(configs, labels, mus)
    a, b = names
    print(f"\n{b} - {a}: formation energy per atom (each against its own bcc Li and diamond Si), "
          f"and forces\nfitted composition term w c_Li c_Si: w = {1000 * res['w_ev_per_atom']:.1f} "
          "meV/atom")
    print(f"{'family':14s} {'n':>4s} {'dEf mean':>9s} {'dEf rms':>8s} {'resid rms':>9s} "
          f"{'dF rms':>7s} {'F rms ' + a:>14s}")
    for f, r in res["families"].items():
        print(f"{f:14s} {r['configurations']:4d} {1000 * r['delta_ef_mean_ev_per_atom']:9.1f} "
              f"{1000 * r['delta_ef_rms_ev_per_atom']:8.1f} {1000 * r['residual_rms_ev_per_atom']:9.1f} "
              f"{r['force_difference_rms_ev_per_angstrom']:7.3f} "
              f"{r['force_rms_first_teacher_ev_per_angstrom']:14.3f}")
    print("(meV/atom; forces eV/A)")
    if args.json:
        write_json(Path(args.json), {
            "data": str(args.data), "data_sha256": meta.get("sha256"), "split": args.split,
            "elemental_references_ev_per_atom": mus, "comparison": res,
            "pbe_crystals": hulls, "labelling_wall_s": cost})


if __name__ == "__main__":
    main()

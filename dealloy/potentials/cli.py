"""``dealloy validate-potential``: crystal (default) or amorphous-path validation tables."""

from __future__ import annotations

import json

import click

from dealloy.progress import TaskProgress
from dealloy.potentials import POTENTIAL_NAMES


def _floats(ctx, param, value):
    if value is None:
        return None
    try:
        return tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter("give compositions as a comma-separated list, e.g. 0,1.5,3.75") from None


@click.command("validate-potential")
@click.argument("name", required=False)
@click.option("--ffield", type=click.Path(dir_okay=False), default=None,
              help="ReaxFF parameter file (for NAME = reaxff; with no NAME, adds ReaxFF)")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="also write the results as JSON to this file")
@click.option("--md-ps", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              help="crystal: length of the NPT run that checks c-Li15Si4 survives")
@click.option("--temperature-k", type=click.FloatRange(min=0, min_open=True), default=300.0,
              show_default=True, help="crystal: temperature of that run")
@click.option("--amorphous", is_flag=True,
              help="validate the amorphous path: melt-quenched a-LixSi vs DFT(B) references")
@click.option("--xs", callback=_floats, default=None,
              help="amorphous: compositions x (comma-separated; default 0,0.2,0.5,0.9,1.5,2,2.5,3.25,3.75)")
@click.option("--n-si", type=int, default=128, show_default=True, help="amorphous: Si per cell")
@click.option("--seeds", type=int, default=3, show_default=True,
              help="amorphous: independent melt-quench seeds per x")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=2, show_default=True,
              help="amorphous: cells melt-quenched in parallel (one core each)")
@click.option("--protocol", type=click.Choice(["standard", "fast"]), default=None,
              help="amorphous: builder protocol ('fast' is for smoke tests only)")
@click.option("--quench-rate-k-per-s", type=float, default=None,
              help="amorphous: quench rate (default 1e14 K/s for the series)")
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False), default=None,
              help="amorphous: write PNG plots (structure, energy, voltage, g(r)) here")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default=None,
              help="amorphous: write a Markdown report of all potentials validated")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False), default=None,
              help="amorphous: keep each cell's results here; a rerun reuses them (resume an "
                   "interrupted series, or combine potentials run separately into one report)")
@click.option("--quiet", "-q", is_flag=True, help="print only the tables (no progress)")
def validate_potential_command(name, ffield, json_path, md_ps, temperature_k, amorphous, xs, n_si,
                               seeds, jobs, protocol, quench_rate_k_per_s, plots_dir, report_path,
                               cache_dir, quiet):
    """Validate potential NAME (default: every shipped potential).

    NAME is one of: meam-godet2020 (default potential), meam-cui2012, reaxff (needs --ffield).
    Without --amorphous: lattice constants, cohesive energies, the Li15Si4 formation energy and
    bulk modulus, and whether I-43d survives relaxation and MD, beside reference values.
    With --amorphous: a-LixSi volume, Si-Si coordination, cluster classes, formation energies and
    voltages vs x over several melt-quench seeds, beside DFT(B) references.

    Time (progress with an ETA on stderr): the crystal checks take about 10 s per MEAM
    potential at the defaults, most of it the --md-ps NPT run (ReaxFF ~100x more); one process,
    MPI does not help at these sizes. --amorphous: about an hour per potential on 2 cores at the
    defaults (27 cells of 128 Si; a cell's melt-quench costs about its number of atoms, so the
    ETA counts atoms); cells run in parallel on --jobs cores, not with MPI.
    """
    from dealloy.io import rank, write_json
    from dealloy.potentials import get_potential, list_potentials

    if name:
        pots = [get_potential(name, ffield=ffield)]
    else:
        pots = list_potentials() + ([get_potential("reaxff", ffield=ffield)] if ffield else [])

    if amorphous:
        from dealloy.potentials.amorphous import (DEFAULT_XS, check_series, plot_amorphous,
                                                  validate_amorphous, write_report)

        check_series(xs or DEFAULT_XS, n_si, seeds)  # bad input fails before any MD
        results = []
        for pot in pots:
            with TaskProgress(f"[{pot.name}]", enabled=not quiet and rank() == 0) as say:
                res = validate_amorphous(pot, xs=xs or DEFAULT_XS, n_si=n_si, seeds=seeds,
                                         jobs=jobs, progress=say, cache_dir=cache_dir,
                                         protocol=protocol,
                                         quench_rate_k_per_s=quench_rate_k_per_s)
            results.append(res)
            click.echo(res.table() + "\n")
        plots = plot_amorphous(results, plots_dir) if plots_dir else []
        for p in plots:
            click.echo(f"wrote {p}")
        if report_path:
            write_report(results, report_path, plots)
            click.echo(f"wrote {report_path}")
        if json_path:
            write_json(json_path, {"amorphous": [r.as_dict() for r in results]})
            click.echo(f"wrote {json_path}")
        return

    from dealloy.potentials.validate import validate_crystals

    results = []
    for pot in pots:
        with TaskProgress(f"[{pot.name}]", enabled=not quiet and rank() == 0) as say:
            res = validate_crystals(pot, md_ps=md_ps, temperature_k=temperature_k, progress=say)
        results.append(res)
        click.echo(res.table())
        click.echo(f"known limitations: {pot.limitations}\n")
    if json_path:
        write_json(json_path, {"crystal": [r.as_dict() for r in results]})
        click.echo(f"wrote {json_path}")




# ---- dealloy potential ... ------------------------------------------------------------------
def _settings(ctx, param, values):
    out = {}
    for item in values or ():
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"give KEY=VALUE, got {item!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key.strip()] = tuple(value) if isinstance(value, list) else value
    return out


def _fmt_row(name: str, man: dict) -> list[str]:
    v = man.get("validation", {})
    test = v.get("test_errors_by_family", {})
    lines = [f"{name} ({man['kind']}, cutoff {man['cutoff_angstrom']:g} Å, "
             f"{man['provenance']['fit_settings'].get('n_coefficients', '?')} coefficients)"]
    lines.append(f"  {'family':<10} {'n':>4} {'E rmse meV/atom':>16} {'F rmse eV/Å':>12}")
    for fam, row in test.items():
        lines.append(f"  {fam:<10} {row['configurations']:>4} "
                     f"{1000 * row['energy_rmse_ev_per_atom']:>16.1f} "
                     f"{row['force_rmse_ev_per_angstrom']:>12.3f}")
    if "li15si4_formation_ev_per_atom" in v:
        t = v.get("teacher_li15si4") or {}
        lines.append(f"  c-Li15Si4: E_f {v['li15si4_formation_ev_per_atom']:.4f} eV/atom (PBE -0.243"
                     + (f", teacher {t['li15si4_formation_ev_per_atom']:.4f}" if t else "")
                     + f"), a {v['li15si4_a_angstrom']:.3f} Å (PBE 10.566"
                     + (f", teacher {t['li15si4_a_angstrom']:.3f}" if t else "") + ")")
    hull = v.get("crystal_hull", {})
    if "formation_rmse_vs_pbe_ev_per_atom" in hull:
        lines.append(f"  crystal hull E_f rms vs PBE: "
                     f"{1000 * hull['formation_rmse_vs_pbe_ev_per_atom']:.1f} meV/atom")
    if "md_speed" in v:
        lines.append(f"  MD speed: {v['md_speed']['atom_steps_per_s']:.3g} atom-steps/s (1 core)")
    if "crystal_error" in v:
        lines.append(f"  crystal checks failed: {v['crystal_error']}")
    return lines


@click.group("potential")
def potential_group():
    """Potentials: fit a LAMMPS-native Li-Si potential to a machine-learned teacher."""


@potential_group.command("fit")
@click.argument("name")
@click.option("--teacher", default="sevenn", show_default=True,
              help="labelling model: sevenn (SevenNet-0), sevenn:<model>, chgnet")
@click.option("--student", "students", multiple=True, type=click.Choice(["pod", "snap"]),
              help="student pair style(s) to fit (repeatable; default: pod and snap)")
@click.option("--data", "data_path", type=click.Path(dir_okay=False), default=None,
              help="fit to this labelled extxyz data set instead of making and labelling one")
@click.option("--preset", type=click.Choice(["tiny", "standard"]), default="standard",
              show_default=True, help="which configurations to make ('tiny' is for tests)")
@click.option("--crystals-dir", type=click.Path(file_okay=False), default=None,
              help="PBE reference crystals (default ../shared/reference/pbe-crystals if present)")
@click.option("--out-dir", type=click.Path(file_okay=False), default=None,
              help="where the potential folder goes (default: the user potentials folder; "
                   "potentials/ of the repository to ship it)")
@click.option("--work-dir", type=click.Path(file_okay=False), default=None,
              help="configurations, label cache and data set (rerun with it to resume)")
@click.option("--test-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.2,
              show_default=True, help="held-out share of each configuration family")
@click.option("--pod-setting", "pod_settings", multiple=True, callback=_settings,
              help="POD setting KEY=VALUE (e.g. rcut=5.5)")
@click.option("--snap-setting", "snap_settings", multiple=True, callback=_settings,
              help="SNAP setting KEY=VALUE (e.g. twojmax=8)")
@click.option("--teacher-crystal", is_flag=True,
              help="also relax c-Li15Si4 with the teacher (reference for the lattice target)")
@click.option("--no-validate", is_flag=True, help="skip the validation numbers")
@click.option("--force", is_flag=True, help="overwrite a fitted potential of the same name")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="write the full result (manifests, data-set provenance, cost) as JSON")
@click.option("--quiet", "-q", is_flag=True, help="no progress messages or bars")
def fit_command(name, teacher, students, data_path, preset, crystals_dir, out_dir, work_dir,
                test_fraction, pod_settings, snap_settings, teacher_crystal, no_validate, force,
                json_path, quiet):
    """Distil a teacher (universal ML potential) into LAMMPS potential(s) <student>-NAME.

    Makes configurations with dealloy's own machinery (strained PBE crystals, melt-quench
    snapshots of a-LixSi, surfaces, fragments), labels them with the teacher (cached: rerun to
    resume), fits POD (LAMMPS fitpod) and SNAP, validates, and registers the result: afterwards
    `potential = "pod-NAME"` works in `dealloy run`. Needs the [fit] extra for the teacher.

    Time (progress with an ETA for the melt-quenches and the teacher labels on stderr):
    --preset standard: about 50 min for the data set (measured: 2 451 s of MEAM melt-quenches and
    402 s of SevenNet-0 labels on the 2-core dev VM at load 6-12, potentials/README.md), then the
    fits and validation in minutes; --preset tiny ~2 min of CPU; --data skips the data set.
    A rerun with the same --work-dir resumes. One process: MPI does not help (small MD cells,
    serial labelling).
    """
    from dealloy.fit import DataSpec, fit_potential
    from dealloy.io import rank, write_json

    spec = None if data_path else DataSpec.preset(preset, crystals_dir=crystals_dir)
    with TaskProgress(f"[fit {name}]", enabled=not quiet and rank() == 0) as say:
        res = fit_potential(name, teacher=teacher, students=students or ("pod", "snap"),
                            data=data_path, spec=spec, out_dir=out_dir, work_dir=work_dir,
                            force=force, test_fraction=test_fraction,
                            settings={k: v for k, v in (("pod", pod_settings),
                                                        ("snap", snap_settings)) if v},
                            validate=not no_validate, teacher_crystal=teacher_crystal,
                            progress=say)
    fams = res["dataset"]["families"]
    click.echo("data set: " + ", ".join(f"{f} {c['configurations']}" for f, c in fams.items())
               + f" (sha256 {str(res['dataset'].get('sha256', ''))[:12]})")
    for pname, man in res["potentials"].items():
        click.echo("\n".join(_fmt_row(pname, man)))
    click.echo(f"cost: {res['cost_s']}")
    if json_path:
        write_json(json_path, res)
        click.echo(f"wrote {json_path}")


__all__ = ["fit_command", "potential_group", "validate_potential_command", "POTENTIAL_NAMES"]

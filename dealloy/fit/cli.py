"""``dealloy potential fit``: distil a teacher into LAMMPS potentials (parse, call one function, print)."""

from __future__ import annotations

import json

import click

from dealloy.progress import TaskProgress
from dealloy.fit import DataSpec, fit_potential
from dealloy.io import rank, write_json


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


__all__ = ["fit_command", "potential_group"]

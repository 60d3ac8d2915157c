"""``dealloy potential fit``: distil a teacher into LAMMPS potentials (parse, call one function, print)."""

from __future__ import annotations

import json

import click

from dealloy.errors import ConfigError
from dealloy.progress import TaskProgress
from dealloy.fit import DataSpec, fit_potential
from dealloy.fit.active import ActiveSpec, learn_potential
from dealloy.fit.workflow import DEFAULT_REFERENCE_ENERGIES, REFERENCE_ENERGIES
from dealloy.io import rank, write_json
from dealloy.potentials.recorded import recorded_validation_lines


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
    return recorded_validation_lines(man, name)


@click.group("potential")
def potential_group():
    """Potentials: fit a LAMMPS-native Li-Si potential to a machine-learned teacher."""


def _data_spec(data_paths, preset, spec_path, crystals_dir) -> DataSpec | None:
    """Resolve what `potential fit` makes: nothing (``--data``), ``--spec`` or ``--preset``.

    Parameters
    ----------
    data_paths : tuple of str
        The ``--data`` sets (empty: make one).
    preset : str or None
        ``--preset`` (None: not given; the default is ``standard``).
    spec_path : str or None
        ``--spec`` TOML file.
    crystals_dir : str or None
        ``--crystals-dir``.

    Returns
    -------
    DataSpec or None
        The specification to make, or None when the data sets are given.

    Raises
    ------
    ConfigError
        ``--data`` with ``--preset`` or ``--spec``, ``--preset`` with ``--spec``, or a bad spec file
        or preset (one line, before any work).
    """
    if data_paths and (preset or spec_path):
        raise ConfigError("--data fits labelled sets; --preset and --spec make one: give either")
    if preset and spec_path:
        raise ConfigError("--spec: give the preset as its `preset` key, not also --preset")
    if data_paths:
        return None
    if spec_path:
        spec = DataSpec.from_toml(spec_path)
        if crystals_dir:
            spec.crystals_dir = crystals_dir
        return spec
    return DataSpec.preset(preset or "standard", crystals_dir=crystals_dir)


@potential_group.command("fit")
@click.argument("name")
@click.option("--teacher", default="sevenn", show_default=True,
              help="labelling model: sevenn (SevenNet-0), sevenn:<model>, chgnet")
@click.option("--student", "students", multiple=True, type=click.Choice(["pod", "snap"]),
              help="student pair style(s) to fit (repeatable; default: pod and snap)")
@click.option("--data", "data_paths", type=click.Path(dir_okay=False), multiple=True,
              help="fit to this labelled extxyz data set instead of making and labelling one "
                   "(repeatable: the sets are joined, duplicates kept once, and written as one "
                   "set with its parents' checksums to the work dir)")
@click.option("--preset", type=click.Choice(["tiny", "standard"]), default=None,
              help="which configurations to make ('tiny' is for tests)  [default: standard]")
@click.option("--spec", "spec_path", type=click.Path(dir_okay=False), default=None,
              help="TOML file of data-set fields of one's own (an optional `preset` key is the "
                   "base; docs/fitting.md, 'A data set of one's own'), instead of --preset")
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
@click.option("--reference-energies", type=click.Choice(REFERENCE_ENERGIES),
              default=DEFAULT_REFERENCE_ENERGIES, show_default=True,
              help="fit energies relative to the teacher's isolated atoms (the student's isolated "
                   "atom then has the teacher's energy; with --data the teacher is loaded for "
                   "it), or none: the student fits its own one-body term (docs/fitting.md)")
@click.option("--no-validate", is_flag=True, help="skip the validation numbers")
@click.option("--force", is_flag=True, help="overwrite a fitted potential of the same name")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="write the full result (manifests, data-set provenance, cost) as JSON")
@click.option("--quiet", "-q", is_flag=True, help="no progress messages or bars")
def fit_command(name, teacher, students, data_paths, preset, spec_path, crystals_dir, out_dir, work_dir,
                test_fraction, pod_settings, snap_settings, teacher_crystal, reference_energies,
                no_validate, force, json_path, quiet):
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
    spec = _data_spec(data_paths, preset, spec_path, crystals_dir)
    with TaskProgress(f"[fit {name}]", enabled=not quiet and rank() == 0) as say:
        res = fit_potential(name, teacher=teacher, students=students or ("pod", "snap"),
                            data=list(data_paths) or None, spec=spec, out_dir=out_dir, work_dir=work_dir,
                            force=force, test_fraction=test_fraction,
                            settings={k: v for k, v in (("pod", pod_settings),
                                                        ("snap", snap_settings)) if v},
                            validate=not no_validate, teacher_crystal=teacher_crystal,
                            reference_energies=reference_energies, progress=say)
    fams = res["dataset"]["families"]
    click.echo("data set: " + ", ".join(f"{f} {c['configurations']}" for f, c in fams.items())
               + f" (sha256 {str(res['dataset'].get('sha256', ''))[:12]})")
    for pname, man in res["potentials"].items():
        click.echo("\n".join(_fmt_row(pname, man)))
    click.echo(f"cost: {res['cost_s']}")
    if json_path:
        write_json(json_path, res)
        click.echo(f"wrote {json_path}")


def _floats(ctx, param, value):
    if value is None:
        return None
    try:
        return tuple(float(v) for v in str(value).split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"give comma-separated numbers, got {value!r}") from None


@potential_group.command("learn")
@click.argument("name")
@click.option("--data", "data_path", type=click.Path(dir_okay=False), required=True,
              help="the labelled data set the student was fitted to (never modified)")
@click.option("--student", required=True,
              help="the POD student to start from: registry name (pod-lisi-7net) or folder")
@click.option("--state-dir", type=click.Path(file_okay=False), required=True,
              help="checkpoints of every iteration (outside the work tree); rerun to resume")
@click.option("--teacher", default="sevenn", show_default=True,
              help="labelling model: sevenn, sevenn:<model>, chgnet, lammps:<registry name>")
@click.option("--iterations", type=int, default=ActiveSpec.iterations, show_default=True,
              help="largest number of iterations (stops earlier when nothing is selected)")
@click.option("--committee", "committee_size", type=int, default=ActiveSpec.committee_size,
              show_default=True, help="POD fits on bootstrap resamples that vote")
@click.option("--force-threshold", type=float,
              default=ActiveSpec.force_threshold_ev_per_angstrom, show_default=True,
              help="select above this largest per-atom committee force deviation, eV/Å")
@click.option("--energy-threshold", type=float, default=ActiveSpec.energy_threshold_ev_per_atom,
              show_default=True, help="... or above this committee energy deviation, eV/atom")
@click.option("--max-selected", type=int, default=ActiveSpec.max_selected, show_default=True,
              help="at most this many labels per iteration (most uncertain first)")
@click.option("--xs", callback=_floats, default=None,
              help="Li/Si of the melt-quenched cells, comma-separated (default "
                   f"{','.join(f'{x:g}' for x in ActiveSpec.xs)})")
@click.option("--melt-temperatures", callback=_floats, default=None,
              help="melt temperatures in K, comma-separated (default "
                   f"{','.join(f'{t:g}' for t in ActiveSpec.melt_temperatures_k)})")
@click.option("--n-si", type=int, default=ActiveSpec.n_si, show_default=True,
              help="Si per melt-quenched cell")
@click.option("--melt-ps", type=float, default=ActiveSpec.melt_ps, show_default=True,
              help="time of each melt, ps")
@click.option("--quench-ps", type=float, default=ActiveSpec.quench_ps, show_default=True,
              help="NPT quench to 300 K, ps")
@click.option("--surface-ps", type=float, default=ActiveSpec.surface_ps, show_default=True,
              help="MD of the slabs, spheres and delithiated cells, ps (0: none)")
@click.option("--seed", type=int, default=0, show_default=True, help="random seed of the loop")
@click.option("--out-dir", type=click.Path(file_okay=False), default=None,
              help="where pod-NAME goes (default: the user potentials folder)")
@click.option("--label-cache", type=click.Path(file_okay=False), default=None,
              help="teacher label cache (default STATE_DIR/labels)")
@click.option("--teacher-crystal", is_flag=True,
              help="also relax c-Li15Si4 with the teacher for the final validation")
@click.option("--reference-energies", type=click.Choice(REFERENCE_ENERGIES),
              default=DEFAULT_REFERENCE_ENERGIES, show_default=True,
              help="fit the committee and refits relative to the teacher's isolated atoms, or "
                   "none (as dealloy potential fit)")
@click.option("--no-validate", is_flag=True, help="skip the final validation numbers")
@click.option("--force", is_flag=True, help="overwrite an existing pod-NAME")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="write the result (iteration records, final manifest) as JSON")
@click.option("--quiet", "-q", is_flag=True, help="no progress messages or bars")
def learn_command(name, data_path, student, state_dir, teacher, iterations, committee_size,
                  force_threshold, energy_threshold, max_selected, xs, melt_temperatures, n_si,
                  melt_ps, quench_ps, surface_ps, seed, out_dir, label_cache, teacher_crystal,
                  reference_energies, no_validate, force, json_path, quiet):
    """Active learning: MD with the student, label where its committee disagrees, refit.

    Starting from a labelled data set (--data) and the POD student fitted to it (--student),
    each iteration runs short MD with the student (a-LixSi melts and quenches, crystals, slabs,
    spheres, delithiated cells), scores every frame by the disagreement of a committee of POD
    fits on bootstrap resamples, labels the failures (lost atoms, close pairs, energy blow-up:
    the frames before) and the most uncertain frames with the teacher, adds them as family
    "active" and refits -- until a selection comes back empty or --iterations. The result is
    registered as pod-NAME; per-iteration records go to STATE_DIR/history.json and .csv.
    Rerun the same command to resume. docs/fitting.md has the measured cost.
    """
    kw = {k: v for k, v in (("xs", xs), ("melt_temperatures_k", melt_temperatures))
          if v is not None}
    spec = ActiveSpec(iterations=iterations, committee_size=committee_size,
                      force_threshold_ev_per_angstrom=force_threshold,
                      energy_threshold_ev_per_atom=energy_threshold, max_selected=max_selected,
                      n_si=n_si, melt_ps=melt_ps, quench_ps=quench_ps, surface_ps=surface_ps,
                      seed=seed, **kw)
    with TaskProgress(f"[learn {name}]", enabled=not quiet and rank() == 0) as say:
        res = learn_potential(name, data_path, student, teacher=teacher, state_dir=state_dir,
                              spec=spec, out_dir=out_dir, force=force, label_cache=label_cache,
                              validate=not no_validate, teacher_crystal=teacher_crystal,
                              reference_energies=reference_energies, progress=say)
    click.echo(f"{'it':>3} {'cand':>5} {'failed runs':>11} {'selected':>8} "
               f"{'F dev p90 eV/Å':>14} {'held-out E meV/atom':>19} {'F eV/Å':>7}")
    for r in res["iterations"]:
        a = r["student_test_errors"].get("all", {})
        p90 = r["force_deviation_ev_per_angstrom"]["p90"]
        click.echo(f"{r['iteration']:>3} {r['candidates']:>5} {r['runs_failed']:>11} "
                   f"{r['selected']:>8} {p90 if p90 is None else round(p90, 3)!s:>14} "
                   f"{1000 * a.get('energy_rmse_ev_per_atom', float('nan')):>19.1f} "
                   f"{a.get('force_rmse_ev_per_angstrom', float('nan')):>7.3f}")
    click.echo("converged: the last selection was empty and every MD run kept its atoms"
               if res["converged"] else
               "stalled: MD runs still fail but their frames are all labelled already "
               "(see failed_runs in history.json)" if res["stalled"] else
               f"stopped after {len(res['iterations'])} iteration(s) (not converged)")
    if res["potential"]:
        man = res["potential"]
        click.echo("\n".join(_fmt_row(man["name"], man)))
    click.echo(f"history: {res['state_dir']}/history.csv; cost {res['cost_s']:.0f} s")
    if json_path:
        write_json(json_path, res)
        click.echo(f"wrote {json_path}")


__all__ = ["fit_command", "learn_command", "potential_group"]

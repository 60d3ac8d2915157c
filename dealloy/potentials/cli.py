"""The potential workflows' commands.

``dealloy validate-potential``: crystal (default) or amorphous-path validation tables;
``dealloy diffusivity``: Li diffusivity in c- vs a-Li15Si4 (moved here from analysis/cli.py: it runs MD).
"""

from __future__ import annotations

import json

import sys

import click

from dealloy.builders.amorphous import PROTOCOLS
from dealloy.builders.checkpoint import BuildStopped
from dealloy.config import field_range
from dealloy.engine.signals import EXIT_CHECKPOINTED
from dealloy.errors import ConfigError
from dealloy.io import rank, write_json
from dealloy.lammps.potentials import MANIFEST, POTENTIAL_NAMES, get_potential, list_potentials
from dealloy.potentials.recorded import recorded_validation_lines
from dealloy.potentials.amorphous import (DEFAULT_XS, check_series, plot_amorphous, validate_amorphous,
                                          write_report)
from dealloy.potentials.diffusivity import DiffusivityParams, run_diffusivity
from dealloy.potentials.stability import StabilityParams, particle_stability, stability_table
from dealloy.potentials.validate import validate_crystals
from dealloy.progress import BuildProgress, TaskProgress


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
                   "interrupted series, or combine potentials run separately into one report); "
                   "stability: checkpoints and finished temperatures, the same command continues "
                   "(without --cache a temporary folder: nothing outlives the process)")
@click.option("--stability", is_flag=True,
              help="particle stability: Langevin then NVE MD of a c-Li15Si4 particle in vacuum "
                   "(closest pair, energy drift, evaporated atoms); MPI-parallel")
@click.option("--diameter-nm", type=float, default=StabilityParams.model_fields["diameter_nm"].default,
              show_default=True, help="stability: particle diameter, nm (5 nm: 4052 atoms at seed 1)")
@click.option("--stability-temperatures", default="300,1000", show_default=True,
              help="stability: comma-separated temperatures, K")
@click.option("--stability-ps", type=float, default=StabilityParams.model_fields["time_ps"].default,
              show_default=True, help="stability: NVE time per temperature, ps")
@click.option("--stability-equilibrate-ps", type=float,
              default=StabilityParams.model_fields["equilibrate_ps"].default, show_default=True,
              help="stability: Langevin equilibration before the NVE run, ps")
@click.option("--stability-sample-ps", type=float,
              default=StabilityParams.model_fields["sample_ps"].default, show_default=True,
              help="stability: interval of the energy samples (and checkpoints), ps")
@click.option("--quiet", "-q", is_flag=True, help="print only the tables (no progress)")
def validate_potential_command(name, ffield, json_path, md_ps, temperature_k, amorphous, xs, n_si,
                               seeds, jobs, protocol, quench_rate_k_per_s, plots_dir, report_path,
                               cache_dir, stability, diameter_nm, stability_temperatures,
                               stability_ps, stability_equilibrate_ps, stability_sample_ps, quiet):
    """Validate potential NAME (default: every shipped potential).

    NAME is any potential `dealloy info` lists: meam-godet2020 (default potential),
    meam-cui2012, pod-lisi-7net-asi3, pod-lisi-7net-eap and pod-lisi-7net (fitted,
    experimental), a potential you
    fitted with `dealloy potential fit`, or reaxff (needs --ffield).
    Without --amorphous: lattice constants, cohesive energies, the Li15Si4 formation energy and
    bulk modulus, and whether I-43d survives relaxation and MD, beside reference values.
    With --amorphous: a-LixSi volume, Si-Si coordination, cluster classes, formation energies and
    voltages vs x over several melt-quench seeds, beside DFT(B) references.
    With --stability: a c-Li15Si4 particle (--diameter-nm) is equilibrated with a Langevin
    thermostat and run in NVE at each temperature; prints the closest pair of atoms (every 5
    steps, against 1.5 A), the NVE energy drift (with what evaporated atoms carried away) and
    the atoms that evaporated: deleted when they leave the particle, recorded (time, species,
    kinetic energy, their surroundings before), and the run goes on. A temperature is `stable`
    when no closest-pair evaluation fell below 1.5 A and no atom evaporated; the drift is
    reported, not judged (issue 14's test: 100 ps NVE at 300 and at 1000 K). "detached" counts
    atoms with no neighbour within 4 A but still within the cutoff (not yet gone). Run it under
    `mpiexec -n N`; SIGTERM/SIGUSR1/Ctrl-C write a checkpoint in --cache and exit with status 75, and
    the same command continues, on any number of ranks (a finished temperature is kept there too).
    Under SLURM: `sbatch slurm/validate-stability.sbatch NAME --cache DIR --json OUT [options]`
    (`#SBATCH --signal=B:USR1@120` and `--requeue`; it passes USR1 on to the run and requeues
    itself when the run exits with 75), with --cache on storage that outlives the job.

    Time (progress with an ETA on stderr): the crystal checks take about 10 s per MEAM
    potential at the defaults, most of it the --md-ps NPT run (ReaxFF ~100x more); one process,
    MPI does not help at these sizes. --amorphous: about an hour per MEAM potential on 2 cores at
    the defaults (27 cells of 128 Si; a cell's melt-quench costs about its number of atoms, so the
    ETA counts atoms), ~8 core-hours for pod-lisi-7net-asi3 (34 min for its 608-atom cell on one
    core); cells run in parallel on --jobs cores, not with MPI. --stability at the
    defaults (4052 atoms, 110 ps per temperature), on 2 MPI ranks: pod-lisi-7net (130
    coefficients) ran 25 MD steps/s (~75 min per temperature), pod-lisi-7net-asi3 (458) 8.3
    steps/s (30 ps/h, ~3.7 h per temperature); meam-godet2020 is about twice as fast as
    pod-lisi-7net (bench_potential.py); scale others by their MD speed in potential.json.
    \f

    Raises
    ------
    ConfigError
        For an unknown NAME, reaxff without --ffield, a bad ffield, composition series or
        stability setting (before any MD).
    SimulationError
        When a relaxation, MD run or melt-quench fails.
    """  # noqa: D301 - "\f" ends click's --help text (the Raises section is for the API docs)
    if name:
        pots = [get_potential(name, ffield=ffield)]
    else:
        pots = list_potentials() + ([get_potential("reaxff", ffield=ffield)] if ffield else [])
    if stability:
        _stability(pots, diameter_nm, stability_temperatures, stability_ps,
                   stability_equilibrate_ps, stability_sample_ps, cache_dir, json_path, quiet)
        return

    if amorphous:
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

    results = []
    for pot in pots:
        with TaskProgress(f"[{pot.name}]", enabled=not quiet and rank() == 0) as say:
            res = validate_crystals(pot, md_ps=md_ps, temperature_k=temperature_k, progress=say)
        results.append(res)
        click.echo(res.table())
        manifest = pot.files[0].parent / MANIFEST if pot.files else None
        if manifest is not None and manifest.is_file():  # a fitted potential: what it records
            click.echo(f"recorded in {manifest} (at fit time, and by potentials/validation/*.py "
                       "with the commands it names):")
            click.echo("\n".join(recorded_validation_lines(json.loads(manifest.read_text()))))
        click.echo(f"known limitations: {pot.limitations}\n")
    if json_path:
        write_json(json_path, {"crystal": [r.as_dict() for r in results]})
        click.echo(f"wrote {json_path}")




def _stability(pots, diameter_nm, temperatures, time_ps, equilibrate_ps, sample_ps, cache_dir,
               json_path, quiet) -> None:
    """``validate-potential --stability``: check every setting, then run each potential."""
    if any(p.name == "reaxff" or p.kind == "reaxff" for p in pots):
        raise ConfigError("--stability: ReaxFF is not supported here (name a MEAM or fitted "
                          "potential)")
    try:
        temps = tuple(float(t) for t in temperatures.split(","))
    except ValueError as exc:
        raise ConfigError(f"--stability-temperatures '{temperatures}': give numbers in K, e.g. "
                          "300,1000") from exc
    rename = {"diameter_nm": "--diameter-nm", "temperatures_k": "--stability-temperatures",
              "time_ps": "--stability-ps", "equilibrate_ps": "--stability-equilibrate-ps",
              "sample_ps": "--stability-sample-ps", "potential": "NAME"}
    params = [StabilityParams.checked("dealloy validate-potential --stability", rename=rename,
                                      potential=p.name, diameter_nm=diameter_nm,
                                      temperatures_k=temps, time_ps=time_ps,
                                      equilibrate_ps=equilibrate_ps, sample_ps=sample_ps)
              for p in pots]  # every setting checked before any MD
    results = []
    for par in params:
        folder = None if cache_dir is None else f"{cache_dir}/stability-{par.potential}"
        with TaskProgress(f"[{par.potential}]", enabled=not quiet and rank() == 0) as say:
            try:
                res = particle_stability(par, cache_dir=folder, progress=say)
            except BuildStopped as exc:
                if rank() == 0:
                    click.echo(f"{exc}; run the same command to continue", err=True)
                sys.exit(EXIT_CHECKPOINTED)
        results.append(res)
        if rank() == 0:
            click.echo(stability_table(res) + "\n")
    if json_path:
        write_json(json_path, {"stability": results}, collective=True)
        if rank() == 0:
            click.echo(f"wrote {json_path}")


def _from_model(*decls: str, field: str, lead: str = "", **kwargs):
    """Add a ``dealloy diffusivity`` option whose default and help come from a model field.

    Parameters
    ----------
    *decls : str
        The option's names (``--time-ps``).
    field : str
        The :class:`~dealloy.potentials.diffusivity.DiffusivityParams` field it sets (also the
        command function's argument).
    lead : str
        Words put before the field's description (``comma-separated``).
    **kwargs
        Further :func:`click.option` arguments (``type``); ``default`` overrides the field's.

    Returns
    -------
    callable
        The click decorator: help is the field's description (unit) and its range, the default
        the field's, shown in ``--help``.
    """
    info = DiffusivityParams.model_fields[field]
    rng = field_range(info)
    kwargs.setdefault("default", info.default)
    return click.option(*decls, field, show_default=True,
                        help=lead + info.description + (f" ({rng})" if rng else ""), **kwargs)


def _option_names() -> dict[str, str]:
    """Map each DiffusivityParams field set by an option to the option's name, for messages."""
    return {p.name: max(p.opts, key=len) for p in diffusivity_command.params
            if isinstance(p, click.Option) and p.name in DiffusivityParams.model_fields}


@click.command("diffusivity")
@_from_model("--temperatures", field="temperatures_k", type=str, lead="comma-separated ",
             default=",".join(f"{t:g}" for t in DiffusivityParams.model_fields["temperatures_k"].default))
@_from_model("--time-ps", field="time_ps", type=float)
@_from_model("--equilibrate-ps", field="equilibrate_ps", type=float)
@_from_model("--cells", field="cells", type=int)
@_from_model("--li-vacancies", field="li_vacancies", type=int)
@_from_model("--potential", field="potential", type=str)
@_from_model("--protocol", field="amorphous_protocol", type=click.Choice(list(PROTOCOLS)))
@_from_model("--seed", field="seed", type=int)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="diffusivity",
              show_default=True, help="directory for diffusivity.json/.csv and the Arrhenius plot")
@click.option("--quiet", "-q", is_flag=True, help="no progress display or melt-quench messages")
def diffusivity_command(temperatures_k, time_ps, equilibrate_ps, cells, li_vacancies, potential,
                        amorphous_protocol, seed, out_dir, quiet):
    """Li diffusivity in c- vs a-Li15Si4 bulk: MD at several T, Arrhenius fit, 300 K extrapolation.

    The c/a ratio is the meaningful number (absolute MD values run high); the paper cites
    1e-10-1e-11 (c-Li3.75Si) vs 1e-12-1e-13 cm^2/s (a-LixSi) at room temperature.

    A D is a count of Li hops: one hop is the median nearest Li-Li distance squared over 6 x
    N_Li x --time-ps (about 1e-7 cm^2/s for 76 atoms and 20 ps). A D of fewer than 4 hops, or
    within 2 errors of 0 (the MSD fit's or the hops' Poisson error), is printed as not
    resolved with its 95 % upper limit and left out of the fit; where only one phase is
    resolved the c/a ratio is a bound per temperature. A perfect crystal has no vacancy to hop
    into: give it some with --li-vacancies and run longer.

    Time: 2 phases x len(--temperatures) MD runs of --equilibrate-ps + --time-ps each, plus one
    melt-quench of a-Li15Si4 (--protocol fast at --cells 1: 1.5 min measured at load 8). At
    the defaults (76 atoms, 8 runs of 22 ps) about 10 min on one core; each run's time scales
    with atoms x ps (--cells 2: x8). A progress bar with an ETA shows the MD runs done (stderr).
    Serial: the runs do not use MPI (a 76-atom cell would not gain from it).
    \f

    Raises
    ------
    ConfigError
        Before any MD and before anything is written: --temperatures that are not numbers, or
        any value out of its range (one line naming the option, the value and the range; the
        ranges are :class:`~dealloy.potentials.diffusivity.DiffusivityParams`').
    SimulationError
        When an MD run or the melt-quench fails.
    """  # noqa: D301 - "\f" ends click's --help text (the Raises section is for the API docs)
    try:
        temps = tuple(float(t) for t in temperatures_k.split(","))
    except ValueError as exc:
        raise ConfigError(f"--temperatures '{temperatures_k}': give numbers in K, e.g. 700,800,900") from exc
    params = DiffusivityParams.checked(
        "dealloy diffusivity", rename=_option_names(), temperatures_k=temps, time_ps=time_ps,
        equilibrate_ps=equilibrate_ps, cells=cells, li_vacancies=li_vacancies,
        potential=potential, seed=seed, amorphous_protocol=amorphous_protocol)

    quiet = quiet or rank() != 0  # under an MPI launcher every rank runs LAMMPS; rank 0 speaks
    with TaskProgress("dealloy diffusivity", enabled=not quiet) as progress:
        if quiet:
            run_diffusivity(params, out_dir, echo=click.echo, progress=None)
        else:  # the melt-quench's phases with their own estimate, above the MD runs' bar
            with BuildProgress(prefix="dealloy diffusivity", stream=progress) as build:
                def hook(msg=None, **counts):  # MD runs moving on: the build phase has ended
                    build.finish_phase()
                    progress(msg, **counts)

                hook.takes_counts = True
                run_diffusivity(params, out_dir, echo=click.echo, progress=hook)


__all__ = ["diffusivity_command", "validate_potential_command", "POTENTIAL_NAMES"]

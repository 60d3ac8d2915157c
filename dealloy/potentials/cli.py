"""``dealloy validate-potential``: crystal (default) or amorphous-path validation tables."""

from __future__ import annotations

import click

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
@click.option("--quiet", is_flag=True, help="print only the tables")
def validate_potential_command(name, ffield, json_path, md_ps, temperature_k, amorphous, xs, n_si,
                               seeds, jobs, protocol, quench_rate_k_per_s, plots_dir, report_path,
                               cache_dir, quiet):
    """Validate potential NAME (default: every shipped potential).

    NAME is one of: meam-godet2020 (default potential), meam-cui2012, reaxff (needs --ffield).
    Without --amorphous: lattice constants, cohesive energies, the Li15Si4 formation energy and
    bulk modulus, and whether I-43d survives relaxation and MD, beside reference values.
    With --amorphous: a-LixSi volume, Si-Si coordination, cluster classes, formation energies and
    voltages vs x over several melt-quench seeds, beside DFT(B) references (about an hour per
    potential on 2 cores at the defaults).
    """
    from dealloy.io import write_json
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
            say = None if quiet else (lambda msg, p=pot.name: click.echo(f"[{p}] {msg}", err=True))
            res = validate_amorphous(pot, xs=xs or DEFAULT_XS, n_si=n_si, seeds=seeds, jobs=jobs,
                                     progress=say, cache_dir=cache_dir, protocol=protocol,
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
        say = None if quiet else (lambda msg, p=pot.name: click.echo(f"[{p}] {msg} ...", err=True))
        res = validate_crystals(pot, md_ps=md_ps, temperature_k=temperature_k, progress=say)
        results.append(res)
        click.echo(res.table())
        click.echo(f"known limitations: {pot.limitations}\n")
    if json_path:
        write_json(json_path, {"crystal": [r.as_dict() for r in results]})
        click.echo(f"wrote {json_path}")


__all__ = ["validate_potential_command", "POTENTIAL_NAMES"]

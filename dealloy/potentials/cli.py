"""``dealloy validate-potential``: the crystal validation table for shipped potentials."""

from __future__ import annotations

import click

from dealloy.potentials import POTENTIAL_NAMES


@click.command("validate-potential")
@click.argument("name", required=False)
@click.option("--ffield", type=click.Path(dir_okay=False), default=None,
              help="ReaxFF parameter file (for NAME = reaxff; with no NAME, adds ReaxFF to the table)")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="also write the results as JSON to this file")
@click.option("--md-ps", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              help="length of the 300 K NPT run that checks c-Li15Si4 survives")
@click.option("--temperature-k", type=click.FloatRange(min=0, min_open=True), default=300.0,
              show_default=True)
@click.option("--quiet", is_flag=True, help="print only the tables")
def validate_potential_command(name, ffield, json_path, md_ps, temperature_k, quiet):
    """Validate potential NAME (default: every shipped potential) on bcc Li, diamond Si, c-Li15Si4.

    NAME is one of: meam-cui2012 (default potential), meam-godet2020, reaxff (needs --ffield).
    Prints lattice constants, cohesive energies, the Li15Si4 formation energy and bulk modulus,
    and whether I-43d survives relaxation and MD, beside reference values.
    """
    from dealloy.io import write_json
    from dealloy.potentials import get_potential, list_potentials
    from dealloy.potentials.validate import validate_crystals

    if name:
        pots = [get_potential(name, ffield=ffield)]
    else:
        pots = list_potentials() + ([get_potential("reaxff", ffield=ffield)] if ffield else [])
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

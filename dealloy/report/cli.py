"""``dealloy report``: the paper's observables beside the simulation's, as HTML + Markdown."""

from __future__ import annotations

import click

from dealloy.report import build_report


@click.command("report")
@click.argument("target", type=click.Path())
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="HTML file to write (the Markdown twin goes beside it; default: "
                   "report.html in the study directory, the folder, or <run>/report.html)")
@click.option("--no-analyze", is_flag=True, help="do not analyse finished runs that lack analysis")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None,
              help="the study's directory, if it was run with --dir")
def report_command(target, output, no_analyze, directory):
    """Write the report of TARGET: a study file, a run directory, or a folder of run directories.

    TARGET: a study file (workflows/*.toml), a run directory, or a folder of run directories
    (e.g. dealloy-quickstart/: reported like a small study, figures in TARGET/figures/).

    One self-contained HTML page (images embedded) and a Markdown twin: every paper observable
    the data covers beside the simulation's number with a plain verdict, the figures, virtual
    microscopy of the c- and a-path particles, run parameters, the potential's limitations and
    the compute spent.
    """
    html_path, md_path = build_report(target, output, analyze_missing=not no_analyze, echo=click.echo,
                                      directory=directory)
    click.echo(f"wrote {html_path} and {md_path}")

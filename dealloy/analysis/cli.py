"""``dealloy analyze`` (parse, call one function, print).

Messages and progress go to stderr when stdout carries JSON; progress (with an ETA) is drawn by
:class:`dealloy.progress.TaskProgress`: a live bar on a terminal, sparse lines otherwise.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from dealloy.progress import TaskProgress
from dealloy.analysis.core import AnalysisParams, flat_row
from dealloy.analysis.run import analyze_path


@click.command("analyze")
@click.argument("path", type=click.Path(path_type=str))
@click.option("--frames", "frames", default=None,
              help="frame selection: all, -1 (last), 5, 0,3,7, start:stop:step "
                   "(default: all for a run directory, -1 for a file)")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None,
              help="write metrics JSON here (+ _rdf.csv, _frames.csv beside it)")
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False), default=None,
              help="write PNG plots and virtual-microscopy images into this directory")
@click.option("--voxel", "voxel_angstrom", type=float, default=None,
              help="voxel size in Å for porosity/thickness (default 1.0)")
@click.option("--si-si-cutoff", "si_si_cutoff_angstrom", type=float, default=None,
              help="Si-Si bond cutoff in Å (default 2.9)")
@click.option("--envelope-probe", "envelope_probe_radius_angstrom", type=float, default=None,
              help="radius in Å of the probe that defines the particle envelope (default 25)")
@click.option("--skip", "skip", multiple=True, type=click.Choice(["rdf", "network", "crystal", "voxel"]),
              help="leave out a metric group (repeatable)")
@click.option("--quiet", "-q", is_flag=True, help="no progress display")
def analyze_command(path, frames, json_out, plots_dir, voxel_angstrom, si_si_cutoff_angstrom,
                    envelope_probe_radius_angstrom, skip, quiet):
    """Per-frame metrics of a structure file, trajectory, or run directory.

    Si-Si coordination and A(2 Å) index, Si cluster classes, partial g(r), porosity, ligament and
    pore sizes, pore count, specific surface area, crystalline fraction; over a trajectory also
    every metric vs time and x and the Li diffusion coefficient. A run directory gets its results
    in <run>/analysis/. A single frame without --json/--plots prints its metrics as JSON on
    stdout (messages go to stderr).

    Time: about 3 s per frame of a 4-6 nm particle (2,000-7,000 atoms; measured on the 2-core
    dev VM at load 8), plus a few seconds of start-up and of plots and images; a trajectory
    shows a progress bar with an ETA (stderr). One process: MPI does not help (analyse several
    runs side by side instead).
    """

    kwargs = {k: v for k, v in dict(voxel_angstrom=voxel_angstrom,
                                     si_si_cutoff_angstrom=si_si_cutoff_angstrom,
                                     envelope_probe_radius_angstrom=envelope_probe_radius_angstrom
                                     ).items() if v is not None}
    if skip:
        kwargs["metrics"] = tuple(m for m in ("rdf", "network", "crystal", "voxel") if m not in skip)
    params = AnalysisParams.from_kwargs(**kwargs)
    # a file's single frame without --json/--plots: its JSON goes to stdout, so keep stdout clean
    # (a run directory's results go to <run>/analysis/)
    to_stdout = json_out is None and plots_dir is None and not Path(path).is_dir()
    echo = functools.partial(click.echo, err=True) if to_stdout else click.echo
    with TaskProgress("dealloy analyze", enabled=not quiet) as progress:
        summary = analyze_path(path, frames=frames, json_out=json_out, plots_dir=plots_dir,
                               params=params, echo=echo, progress=progress)
    if to_stdout and len(summary["frames"]) == 1:
        import json

        click.echo(json.dumps(flat_row(summary["frames"][0]), indent=1, default=str))

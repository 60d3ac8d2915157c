"""``dealloy analyze`` (parse, call one function, print).

Messages and progress go to stderr when stdout carries JSON; progress (with an ETA) is drawn by
:class:`dealloy.progress.TaskProgress`: a live bar on a terminal, sparse lines otherwise.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from dealloy.config import field_range
from dealloy.config.analysis import AnalysisParams
from dealloy.progress import TaskProgress
from dealloy.analysis.core import flat_row
from dealloy.analysis.run import analyze_path, run_analysis_params

#: ``dealloy analyze`` option -> the analysis parameter it sets (dealloy.config.analysis)
ANALYZE_OPTIONS = {"--voxel": "voxel_angstrom", "--si-si-cutoff": "si_si_cutoff_angstrom",
                   "--envelope-probe": "envelope_probe_radius_angstrom"}


def _param_help(name: str, what: str) -> str:
    """Write the help of the option that sets the flat analysis parameter ``name``.

    Parameters
    ----------
    name : str
        A flat parameter name of :meth:`dealloy.config.analysis.AnalysisParams.flat_names`
        (``voxel_angstrom``); the first field it sets gives the range and default.
    what : str
        What the option sets, with its unit.

    Returns
    -------
    str
        ``what``, then the field's range and default, read from the model.
    """
    group, field = AnalysisParams.flat_names()[name][0]
    info = AnalysisParams.groups()[group].model_fields[field]
    rng = field_range(info)
    return f"{what} ({rng}; default {info.default:g}; a run directory: its [analysis] table)"


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
              help=_param_help("voxel_angstrom", "voxel size in Å for porosity/thickness"))
@click.option("--si-si-cutoff", "si_si_cutoff_angstrom", type=float, default=None,
              help=_param_help("si_si_cutoff_angstrom", "Si-Si bond cutoff in Å"))
@click.option("--envelope-probe", "envelope_probe_radius_angstrom", type=float, default=None,
              help=_param_help("envelope_probe_radius_angstrom", "radius in Å of the probe "
                               "that defines the particle envelope"))
@click.option("--skip", "skip", multiple=True, type=click.Choice(["rdf", "network", "crystal", "voxel"]),
              help="leave out a metric group (repeatable)")
@click.option("--quiet", "-q", is_flag=True, help="no progress display")
def analyze_command(path, frames, json_out, plots_dir, voxel_angstrom, si_si_cutoff_angstrom,
                    envelope_probe_radius_angstrom, skip, quiet):
    """Compute the per-frame metrics of a structure file, trajectory, or run directory.

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
    # every parameter checked here, before any frame is read: a run directory's [analysis]
    # table (its config.toml), then the options on top
    base = run_analysis_params(path) if Path(path).is_dir() else None
    params = AnalysisParams.from_kwargs(base=base, source="dealloy analyze",
                                        names={v: k for k, v in ANALYZE_OPTIONS.items()},
                                        **kwargs)
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

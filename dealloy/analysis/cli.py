"""``dealloy analyze`` and ``dealloy diffusivity`` (parse, call one function, print).

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
from dealloy.potentials import DEFAULT_POTENTIAL

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
    from dealloy.analysis.run import analyze_path, run_analysis_params

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

        from dealloy.analysis.core import flat_row

        click.echo(json.dumps(flat_row(summary["frames"][0]), indent=1, default=str))


@click.command("diffusivity")
@click.option("--temperatures", default="500,600,700,800", show_default=True,
              help="comma-separated MD temperatures in K")
@click.option("--time-ps", "time_ps", type=float, default=20.0, show_default=True,
              help="production MD per temperature and phase (ps)")
@click.option("--equilibrate-ps", "equilibrate_ps", type=float, default=2.0, show_default=True)
@click.option("--cells", type=int, default=1, show_default=True,
              help="c-Li15Si4 supercell repeats per axis (1 = 76 atoms)")
@click.option("--li-vacancies", "li_vacancies", type=int, default=0, show_default=True,
              help="Li removed from the crystal (c-Li3.75-dSi; the amorphous cell gets the same x)")
@click.option("--potential", default=DEFAULT_POTENTIAL, show_default=True)
@click.option("--protocol", "amorphous_protocol", default="fast", show_default=True,
              type=click.Choice(["fast", "standard"]),
              help="melt-quench protocol of a-Li15Si4 (fast: tests/smoke, standard: production)")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="diffusivity",
              show_default=True, help="directory for diffusivity.json/.csv and the Arrhenius plot")
@click.option("--quiet", "-q", is_flag=True, help="no progress display or melt-quench messages")
def diffusivity_command(temperatures, time_ps, equilibrate_ps, cells, li_vacancies, potential,
                        amorphous_protocol, seed, out_dir, quiet):
    """Compare Li diffusivity in c- and a-Li15Si4 bulk: MD at several T, Arrhenius fit to 300 K.

    The c/a ratio is the meaningful number (absolute MD values run high); the paper cites
    1e-10-1e-11 (c-Li3.75Si) vs 1e-12-1e-13 cm^2/s (a-LixSi) at room temperature.

    Time: 2 phases x len(--temperatures) MD runs of --equilibrate-ps + --time-ps each, plus one
    melt-quench of a-Li15Si4 (--protocol fast at --cells 1: 1.5 min measured at load 8). At
    the defaults (76 atoms, 8 runs of 22 ps) about 10 min on one core; each run's time scales
    with atoms x ps (--cells 2: x8). A progress bar with an ETA shows the MD runs done (stderr).
    Serial: the runs do not use MPI (a 76-atom cell would not gain from it).
    \f

    Raises
    ------
    ConfigError
        When ``--temperatures`` is not a comma-separated list of numbers.
    """  # noqa: D301 - "\f" ends click's --help text (the Raises section is for the API docs)
    from dealloy.analysis.diffusivity import DiffusivityParams, run_diffusivity
    from dealloy.errors import ConfigError

    try:
        temps = tuple(float(t) for t in temperatures.split(","))
    except ValueError as exc:
        raise ConfigError(f"--temperatures '{temperatures}': give numbers in K, e.g. 700,800,900") from exc
    params = DiffusivityParams(temperatures_k=temps, time_ps=time_ps, equilibrate_ps=equilibrate_ps,
                               cells=cells, li_vacancies=li_vacancies, potential=potential,
                               seed=seed,
                               amorphous_protocol=amorphous_protocol)
    from dealloy.progress import BuildProgress
    from dealloy.io import rank

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

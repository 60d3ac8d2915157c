"""``dealloy run``: parse, call the engine, print (``dealloy quickstart`` is :mod:`dealloy.quickstart`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dealloy.engine.run import EXIT_CHECKPOINTED, run
from dealloy.io import rank
from dealloy.progress import Progress
from dealloy.records import RunRecord


@click.command("run")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", "run_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="run directory (default: the config's folder if it is named "
              "config.toml, else ./<config name>/ beside it)")
@click.option("--resume", is_flag=True, help="continue from the last checkpoint (a fresh start "
              "if there is none)")
@click.option("--overwrite", is_flag=True, help="start again in a run directory that holds a run")
@click.option("--quiet", "-q", is_flag=True, help="no progress display")
def run_command(config, run_dir, resume, overwrite, quiet):
    """Run the protocol of CONFIG (TOML, see docs/run-config.md) with LAMMPS.

    Parallel: mpiexec -n N dealloy run CONFIG, or srun --mpi=pmi2 dealloy run CONFIG.
    Exits 0 when done, 75 when stopped by SIGTERM/SIGUSR1/Ctrl-C after a checkpoint (resume with
    --resume), 2 on bad input or a failed run (run.json says why).
    \f

    Raises
    ------
    ConfigError
        Bad input (the config, the particle, the run directory), before any MD starts.
    SimulationError
        LAMMPS failed during the run (run.json records ``failed`` and the reason).
    SystemExit
        With status 75 (:data:`~dealloy.engine.signals.EXIT_CHECKPOINTED`) when the run
        stopped on SIGTERM/SIGUSR1/Ctrl-C after writing a checkpoint.
    """  # noqa: D301 - "\f" ends click's --help text (the Raises section is for the API docs)
    progress = None if quiet or rank() != 0 else Progress()
    try:
        result = run(config, run_dir=run_dir, resume=resume, quiet=quiet, overwrite=overwrite,
                     progress=progress)
    finally:  # a failed run too leaves the terminal as it found it (cursor shown, stderr back)
        if progress is not None:
            progress.close()
    if rank() == 0 and not quiet:
        _print_summary(result)
    if result.status == "checkpointed":
        sys.exit(EXIT_CHECKPOINTED)


def _print_summary(r: RunRecord) -> None:
    if r.time_ps is None:  # no run.json: nothing ran (a finished checkpoint without a record)
        return
    if r.si_start is None:  # stopped while building the particle
        click.echo(f"status {r.status} while building the particle, wall "
                   f"{r.wall_time_s or 0:.1f} s", err=True)
        return
    click.echo(f"status {r.status}: t = {r.time_ps or 0:.2f} ps, "
               f"Li/Si {r.x_start or 0:.3f} -> {r.x_end or 0:.3f}, "
               f"removed {r.n_removed or 0} Li, inserted {r.n_inserted or 0} Li, "
               f"Si {r.si_start} -> {r.si_end}, wall {r.wall_time_s or 0:.1f} s",
               err=True)

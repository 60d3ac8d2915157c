"""``dealloy run`` and ``dealloy quickstart``: parse, call the engine, print."""

from __future__ import annotations

import sys
from pathlib import Path

import click


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
    Exits 0 when done, 75 when stopped by SIGTERM/SIGUSR1 after a checkpoint (resume with
    --resume), 2 on bad input or a failed run (run.json says why).
    """
    from dealloy.progress import Progress
    from dealloy.engine.run import EXIT_CHECKPOINTED, run
    from dealloy.io import rank

    progress = None if quiet or rank() != 0 else Progress()
    try:
        result = run(config, run_dir=run_dir, resume=resume, quiet=quiet, overwrite=overwrite,
                     progress=progress)
    finally:  # a failed run too leaves the terminal as it found it (cursor shown, stderr back)
        if progress is not None:
            progress.close()
    if rank() == 0 and not quiet:
        _print_summary(result)
    if result.get("status") == "checkpointed":
        sys.exit(EXIT_CHECKPOINTED)


def _print_summary(r: dict) -> None:
    if not r:
        return
    click.echo(f"status {r.get('status')}: t = {r.get('time_ps', 0):.2f} ps, "
               f"Li/Si {r.get('x_start', 0):.3f} -> {r.get('x_end', 0):.3f}, "
               f"removed {r.get('n_removed', 0)} Li, inserted {r.get('n_inserted', 0)} Li, "
               f"Si {r.get('si_start')} -> {r.get('si_end')}, wall {r.get('wall_time_s', 0):.1f} s",
               err=True)


@click.command("quickstart")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("dealloy-quickstart"), show_default=True)
@click.option("--ranks", "-n", type=int, default=None,
              help="MPI ranks (default: all cores, by relaunching itself under mpiexec)")
@click.option("--overwrite", is_flag=True, help="start again instead of continuing/reusing OUT")
@click.option("--quiet", "-q", is_flag=True)
def quickstart_command(out_dir, ranks, overwrite, quiet):
    """Dealloy a ~4 nm c-Li15Si4 and an a-Li15Si4 particle at the same rate; compare them.

    Ends with the c-vs-a report (OUT/report.html: cluster classes and porosity vs Li/Si, virtual
    HAADF side by side) and says what the comparison can and cannot show. About 5 min on 2 free
    cores (22 min measured on 2 cores shared with other jobs); MPI is used by relaunching under
    mpiexec. Re-running with the same OUT continues interrupted runs and reuses finished ones.
    """
    from dealloy.engine.quickstart import quickstart

    quickstart(out_dir, ranks=ranks, quiet=quiet, overwrite=overwrite)

"""``dealloy study plan|run|submit|status|collect``: parse, call one function, print."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.table import Table

from dealloy.config.study import load_study
from dealloy.errors import ConfigError
from dealloy.study.collect import collect
from dealloy.study.local import run_local
from dealloy.study.plan import check_directory, make_plan
from dealloy.study.prebuild import prebuild
from dealloy.study.state import run_mode, states
from dealloy.study.submit import submit

DIR_OPTION = click.option("--dir", "directory", type=click.Path(file_okay=False),
                          help="study directory (default: 'directory' in the study file, "
                               "else ./studies/<name>)")
FILE_ARG = click.argument("file", type=click.Path(dir_okay=False))


def _plan(file, directory):
    return make_plan(load_study(file), directory)


#: rich's SIMPLE_HEAD in ASCII: a dashed rule under the header, columns split by spaces
_ASCII_HEAD = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)


def _table(header: list[str], rows: list[list[str]], tty: bool | None = None) -> str:
    """``rows`` under ``header`` as a ``rich.table.Table``.

    On a terminal (``tty``; default: whether stdout is one) a bold header and rich's line rule,
    wrapped to the terminal's width; otherwise plain ASCII, one line per row however long (so
    the output can be grepped and diffed), trailing spaces stripped.

    Returns
    -------
    str
        The rendered table, without a final newline.
    """
    if tty is None:
        tty = sys.stdout.isatty()
    table = Table(box=box.SIMPLE_HEAD if tty else _ASCII_HEAD, show_edge=False, pad_edge=False,
                  header_style="bold" if tty else "")
    for h in header:
        table.add_column(str(h), no_wrap=not tty, overflow="fold" if tty else "ignore")
    for r in rows:
        table.add_row(*(str(x) for x in r))
    buf = io.StringIO()
    Console(file=buf, width=None if tty else 1_000_000, force_terminal=tty,
            color_system="auto" if tty else None, highlight=False).print(table, crop=False)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines())


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _print_states(plan, sts, queue_ok: bool) -> None:
    header = ["#", "run"] + plan.axis_names + ["status", "slurm", "note"]
    rows = [[str(s.run.index), s.run.key] + [_fmt(s.run.params.get(a)) for a in plan.axis_names]
            + [s.state, s.scheduler or "-", s.note] for s in sts]
    click.echo(_table(header, rows))
    counts: dict[str, int] = {}
    for s in sts:
        counts[s.state] = counts.get(s.state, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in counts.items())
    click.echo(f"\n{plan.study.name}: {len(sts)} runs in {plan.directory}: {summary}"
               + ("" if queue_ok or not any(s.scheduler for s in sts)
                  else " (SLURM not reachable: queue states unknown)"))


@click.group("study")
def study_group():
    """Run sweeps: expand a study file into runs, run them here or on SLURM, collect the results.

    Expand a study file (workflows/*.toml) into runs, run them here or on SLURM, follow them,
    collect one table and the standard figures.
    """


@study_group.command("plan")
@FILE_ARG
@DIR_OPTION
def plan_command(file, directory):
    """Expand FILE into runs and print them with their states (writes nothing)."""
    plan = _plan(file, directory)
    check_directory(plan)
    sts, ok = states(plan)
    _print_states(plan, sts, ok)


@study_group.command("run")
@FILE_ARG
@click.option("--local", "local", is_flag=True, help="run here (required; SLURM: study submit)")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="runs at the same time (default: [local] jobs, 1)")
@click.option("--ranks", type=click.IntRange(min=1), default=None,
              help="MPI ranks per run (default: [local] ranks, 1)")
@click.option("--retry-failed", is_flag=True, help="run failed runs again")
@click.option("--no-analyze", is_flag=True, help="do not run 'dealloy analyze' on finished runs")
@DIR_OPTION
def run_command(file, local, jobs, ranks, retry_failed, no_analyze, directory):
    """Run the study's pending runs on this machine, then analyse them.

    Finished runs are skipped, interrupted ones resume from their checkpoints.
    \f

    Raises
    ------
    ConfigError
        Without --local, or from the study (see :func:`dealloy.study.local.run_local`).
    SystemExit
        With status 1 when a run started here failed.
    """  # noqa: D301 - "\f" ends click's --help text (the Raises section is for the API docs)
    if not local:
        raise ConfigError("dealloy study run needs --local (to use SLURM: dealloy study submit)")
    plan = _plan(file, directory)
    cfg = plan.study.spec.local
    res = run_local(plan, jobs or cfg.jobs, ranks or cfg.ranks, cfg.mpiexec,
                    retry_failed=retry_failed, analyze=not no_analyze, echo=click.echo)
    click.echo("")
    sts, ok = states(plan)
    _print_states(plan, sts, ok)
    if any(s.state == "failed" and s.run.key in res for s in sts):
        raise SystemExit(1)


@study_group.command("submit")
@FILE_ARG
@click.option("--dry-run", is_flag=True, help="print the sbatch script; write and submit nothing")
@click.option("--template", type=click.Path(dir_okay=False), default=None,
              help="sbatch template (default: [slurm] template, slurm/array.sbatch)")
@click.option("--max-parallel", type=click.IntRange(min=1), default=None,
              help="at most K runs at once (--array=...%K)")
@click.option("--retry-failed", is_flag=True, help="submit failed runs again")
@DIR_OPTION
def submit_command(file, dry_run, template, max_parallel, retry_failed, directory):
    """Submit the runs that still need computing as one SLURM job array."""
    plan = _plan(file, directory)
    submit(plan, plan.study.spec.slurm, template=template, max_parallel=max_parallel,
           dry_run=dry_run, retry_failed=retry_failed, echo=click.echo)


@study_group.command("status")
@FILE_ARG
@click.option("--no-queue", is_flag=True, help="do not ask SLURM (run directories only)")
@DIR_OPTION
def status_command(file, no_queue, directory):
    """Show each run's state: pending, queued, running, done, failed, checkpointed, interrupted."""
    plan = _plan(file, directory)
    check_directory(plan)
    sts, ok = states(plan, use_queue=not no_queue)
    _print_states(plan, sts, ok)


@study_group.command("collect")
@FILE_ARG
@click.option("--no-analyze", is_flag=True, help="do not analyse finished runs that lack analysis")
@DIR_OPTION
def collect_command(file, no_analyze, directory):
    """One table (CSV + Parquet) of parameters and final analysis, plus the standard figures."""
    plan = _plan(file, directory)
    check_directory(plan)
    df, out, notes = collect(plan, analyze_missing=not no_analyze, echo=click.echo)
    n_done = int((df["status"] == "done").sum()) if len(df) else 0
    click.echo(f"{len(df)} runs ({n_done} done) -> {out / 'results.csv'}, "
               f"{out / 'results.parquet'}")
    for note in notes:
        click.echo(f"  figure: {note}")


@study_group.command("prebuild", hidden=True)
@click.argument("config", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--resume", is_flag=True, hidden=True, help="accepted for the job script; no effect")
def prebuild_command(config, resume):
    """Build the glass a run CONFIG melt-quenches into the cache (used before a study's runs).

    Run it on the ranks the run will use: mpiexec -n N dealloy study prebuild CONFIG.
    \f

    Raises
    ------
    ConfigError
        From :func:`dealloy.study.prebuild.prebuild` (no cache folder, invalid config).
    """  # noqa: D301 - "\f" ends click's --help text (the Raises section is for the API docs)
    prebuild(config)


@study_group.command("run-mode", hidden=True)
@click.argument("run_dir", type=click.Path(file_okay=False))
def run_mode_command(run_dir):
    """Print done | resume | fresh for a run directory (used by the sbatch script)."""
    click.echo(run_mode(Path(run_dir)))

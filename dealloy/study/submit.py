"""``dealloy study submit``: one sbatch job array over the runs that still need computing.

When two or more of those runs start from the same melt-quenched glass, a first array builds each
such glass once (``dealloy study prebuild``, :mod:`dealloy.study.prebuild`) and the array of
those runs waits for it (``--dependency=afterany``), so they find their glass in the study's
cache instead of each building it at the same time; the runs that share no glass go in a third
array that starts at once. ``[slurm] prebuild = false`` turns it off.

Everything is checked before anything is written or submitted: the template (known variables,
required ones present), the study directory's owner, ``sbatch`` on PATH (unless --dry-run), and
the rendered script itself (``sbatch --test-only``, also on --dry-run where sbatch exists). Every
path in the script is quoted for its place (``#SBATCH`` lines: double quotes; shell: shlex).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dealloy.checks import check_dump_path
from dealloy.config.study import SlurmSettings
from dealloy.errors import DealloyError
from dealloy.io import write_text
from dealloy.study import slurm
from dealloy.study.local import select_runs
from dealloy.study.plan import Plan, check_directory, claim_directory, prepare_run
from dealloy.study.prebuild import shared_glasses


@dataclass
class Submission:
    """One sbatch job array of a study (what :func:`submit` wrote, or would write).

    Parameters
    ----------
    script_text : str
        The rendered job script.
    script : pathlib.Path
        Where it is (or would be) written.
    manifest : pathlib.Path
        The file listing one run directory per array task.
    runs : list of dealloy.study.plan.PlannedRun
        The runs, in array order.
    job_id : str, optional
        SLURM's job id (None for a dry run).
    prebuild : Submission, optional
        The array that builds the shared glasses first (its ``runs`` are the leader runs whose
        configs name the glasses); this array, which then holds the runs that share a glass,
        waits for it.
    independent : Submission, optional
        With a prebuild: the array of the runs that share no glass, which starts at once.
    """

    script_text: str
    script: Path
    manifest: Path
    runs: list
    job_id: str | None = None
    prebuild: Submission | None = None
    independent: Submission | None = None


def submit(plan: Plan, settings: SlurmSettings, template: str | Path | None = None,
           max_parallel: int | None = None, dry_run: bool = False, retry_failed: bool = False,
           echo: Callable[[str], None] = print) -> Submission | None:
    """Submit a study's runs that are still to do as one SLURM job array.

    Everything that can fail is checked first (template, study directory, dump path, sbatch on
    PATH, ``sbatch --test-only``); then the run directories, manifest and script are written and
    the submission is recorded in ``submissions.json``. Glasses that two or more of the runs
    share are built first by a prebuild array (module docstring) that the array of those runs
    waits for; runs that share no glass go in an array of their own that starts at once. If a
    later sbatch fails, the arrays submitted before it are cancelled.

    Parameters
    ----------
    plan : dealloy.study.plan.Plan
        The study's plan.
    settings : dealloy.config.study.SlurmSettings
        Its SLURM settings.
    template : str or pathlib.Path, optional
        The sbatch template (default ``settings.template``; see
        :func:`dealloy.study.slurm.find_template`).
    max_parallel : int, optional
        Array throttle (default ``settings.max_parallel``).
    dry_run : bool
        Print the script and what would be submitted; write and submit nothing.
    retry_failed : bool
        Submit failed runs again too.
    echo : callable
        Receives the messages (and, in a dry run, the script).

    Returns
    -------
    Submission or None
        The runs' array (with ``prebuild`` and ``independent`` when glasses are shared); None
        when nothing is left to submit.

    Raises
    ------
    ConfigError
        For a missing or invalid template, a study directory that belongs to another study, or
        a directory LAMMPS cannot dump into.
    DealloyError
        When sbatch is missing (not in a dry run), rejects the script, or fails.
    """
    tmpl = slurm.find_template(template or settings.template)
    text = tmpl.read_text()
    slurm.check_template(text, str(tmpl))
    check_directory(plan)
    check_dump_path(plan.directory)  # the runs' dumps go below it: no '%' or '*'
    if not dry_run:
        slurm.sbatch_path()  # "sbatch not found ... use --dry-run" before anything is written
    todo, skipped = select_runs(plan, retry_failed)
    for run, why in skipped:
        echo(f"skip {run.key} ({run.label()}): {why}")
    if not todo:
        echo("nothing to submit: every run is done, failed, queued or running")
        return None
    sdir = plan.directory / "slurm"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    n = 0
    while (sdir / f"{stamp}-{n}.sbatch").exists():
        n += 1
    throttle = max_parallel or settings.max_parallel
    shared = shared_glasses(todo) if settings.prebuild else []
    shared_keys = {r.key for g in shared for r in g.runs}
    waiting = [r for r in todo if r.key in shared_keys]
    free = [r for r in todo if r.key not in shared_keys]

    def array(runs, suffix="", command="run", job_suffix=""):
        script, manifest = sdir / f"{stamp}-{n}{suffix}.sbatch", sdir / f"{stamp}-{n}{suffix}.runs"
        values = slurm.template_values(settings, study_name=plan.study.name,
                                       study_dir=plan.directory, manifest=manifest,
                                       n_runs=len(runs), max_parallel=throttle, command=command,
                                       job_suffix=job_suffix)
        return Submission(slurm.render(text, values, str(tmpl)), script, manifest, runs), values

    # the runs that wait for the prebuild array get the plain name; runs needing no shared glass
    # go in an array of their own that starts at once
    sub, values = array(waiting or todo)
    if shared:
        sub.prebuild = array([g.leader for g in shared], "-prebuild", "study prebuild",
                             "-prebuild")[0]
        if free:
            sub.independent = array(free, "-independent")[0]
    scripts = [s for s in (sub.prebuild, sub.independent, sub) if s is not None]
    if not dry_run:
        for s in scripts:
            slurm.sbatch_test(s.script_text)  # sbatch's own verdict before anything is written
    if dry_run:
        for s in scripts:
            echo(s.script_text)
            if shutil.which("sbatch") and slurm.slurm_env_ok():
                # the verdict of this machine's SLURM (a script meant for another cluster may
                # name a partition this one lacks): shown, not fatal
                echo(f"# {slurm.sbatch_test(s.script_text, raise_on_reject=False)}")
        echo("# dry run: nothing written or submitted. Would write "
             f"{' and '.join(str(s.script) for s in scripts)} and submit:")
        for i, g in enumerate(shared):
            echo(f"#   prebuild [{i}] glass {g.label()} (config of {g.leader.key}) for "
                 f"{len(g.runs)} runs: {', '.join(r.key for r in g.runs)}")
        if sub.independent is not None:
            echo(f"#   at once, {len(free)} run(s) that share no glass:")
            for i, run in enumerate(free):
                echo(f"#   [{i}] {run.key}  {run.label()}")
        if shared:
            echo(f"#   once the prebuild array has ended (--dependency=afterany), "
                 f"{len(sub.runs)} run(s):")
        for i, run in enumerate(sub.runs):
            echo(f"#   [{i}] {run.key}  {run.label()}")
        return sub
    claim_directory(plan)
    for run in todo:
        prepare_run(run)
    (sdir / "logs").mkdir(parents=True, exist_ok=True)
    for s in scripts:
        write_text(s.manifest, "".join(f"{run.path}\n" for run in s.runs))
        write_text(s.script, s.script_text)
        s.script.chmod(0o755)
    after = None
    submitted: list[str] = []
    try:
        if sub.prebuild is not None:
            p = sub.prebuild
            p.job_id = after = slurm.sbatch(p.script, cwd=plan.directory)
            submitted.append(p.job_id)
            slurm.record_submission(plan.directory, p.job_id, p.script, p.manifest,
                                    [r.key for r in p.runs], kind="prebuild")
            echo(f"submitted prebuild array {p.job_id} ({len(p.runs)} glass(es) shared by "
                 f"{len(waiting)} runs); script {p.script}")
        if sub.independent is not None:
            q = sub.independent
            q.job_id = slurm.sbatch(q.script, cwd=plan.directory)
            submitted.append(q.job_id)
            slurm.record_submission(plan.directory, q.job_id, q.script, q.manifest,
                                    [r.key for r in q.runs])
            echo(f"submitted job array {q.job_id} ({len(q.runs)} run(s) that share no glass); "
                 f"script {q.script}")
        sub.job_id = slurm.sbatch(sub.script, cwd=plan.directory, after=after)
    except DealloyError as exc:
        if submitted:  # the runs' array failed: take back what it would have followed
            slurm.scancel(submitted)
            raise DealloyError(f"{exc}. The job(s) {', '.join(submitted)} submitted before it "
                               "were cancelled; submit again") from None
        raise
    slurm.record_submission(plan.directory, sub.job_id, sub.script, sub.manifest,
                            [r.key for r in sub.runs], after=after)
    echo(f"submitted job array {sub.job_id} ({len(sub.runs)} run(s), --array={values['array']}"
         f"{f', after {after}' if after else ''}); script {sub.script}")
    return sub

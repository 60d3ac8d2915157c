"""SLURM: render the sbatch job-array script from a template, submit it, ask the queue.

Templates are plain text with ``{{variable}}`` placeholders (documented in ``slurm/README.md``).
Every argument goes to ``sbatch``/``squeue``/``scontrol`` as a list, never through a shell.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from dealloy.config.study import SlurmSettings
from dealloy.errors import ConfigError, DealloyError
from dealloy.io import write_json

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

# variable -> what it holds (slurm/README.md documents the same list)
VARIABLES: dict[str, str] = {
    "job_name": "the job name (default dealloy-<study name>), quoted for an #SBATCH line",
    "array": "the array index range with its throttle, e.g. 0-3%2",
    "n_runs": "number of runs in this submission",
    "nodes": "nodes per run",
    "ntasks": "MPI ranks per run",
    "cpus_per_task": "CPUs per MPI rank (OMP_NUM_THREADS)",
    "time": "time limit per run (HH:MM:SS or D-HH:MM:SS)",
    "output": "log file pattern (<study>/slurm/logs/%A_%a.out), quoted for an #SBATCH line",
    "signal": "the checkpoint signal, B:USR1@<signal_seconds>",
    "signal_seconds": "seconds before the time limit at which USR1 is sent",
    "partition": "the partition ('' if not set)",
    "account": "the account ('' if not set)",
    "qos": "the QOS ('' if not set)",
    "sbatch_options": "#SBATCH lines for partition/account/qos/extra options that are set",
    "env": "the site's environment lines (module loads, venv activation)",
    "manifest": "file listing one run directory per line (array index i = line i+1), shell-quoted",
    "study_dir": "the study directory, shell-quoted",
    "study_name": "the study's name",
    "dealloy": "the dealloy command inside the job",
    "launch": "the MPI launch prefix of 'dealloy run', e.g. srun --mpi=pmi2 dealloy run",
}
REQUIRED = ("array", "manifest", "launch", "signal")


def template_dirs() -> list[Path]:
    """List where ``template = "name"`` is looked up: ./slurm, then the repository's slurm/."""
    here = Path(__file__).resolve().parents[2] / "slurm"
    return [Path.cwd() / "slurm", here]


def find_template(name: str | Path) -> Path:
    """Find an sbatch template by path, or by file name in :func:`template_dirs`.

    Parameters
    ----------
    name : str or pathlib.Path
        A path (``~`` expanded) or a bare file name.

    Returns
    -------
    pathlib.Path
        The template, resolved.

    Raises
    ------
    ConfigError
        Naming the places looked in, when it is not found.
    """
    p = Path(name).expanduser()
    if p.is_file():
        return p.resolve()
    if not p.is_absolute() and len(p.parts) == 1:
        for d in template_dirs():
            if (d / p).is_file():
                return (d / p).resolve()
    raise ConfigError(f"sbatch template {str(name)!r} not found (looked in: "
                      f"{', '.join(str(d) for d in template_dirs())}); give a path with --template")


def check_template(text: str, source: str) -> None:
    """Refuse a template with unknown ``{{variables}}`` or without the required ones.

    Parameters
    ----------
    text : str
        The template.
    source : str
        Its name, for the message.

    Raises
    ------
    ConfigError
        Naming the unknown variables and the missing ones of :data:`REQUIRED`.
    """
    used = set(PLACEHOLDER.findall(text))
    unknown = sorted(used - set(VARIABLES))
    missing = [v for v in REQUIRED if v not in used]
    problems = []
    if unknown:
        problems.append(f"unknown variable(s) {', '.join('{{' + u + '}}' for u in unknown)}")
    if missing:
        problems.append(f"missing required variable(s) {', '.join('{{' + m + '}}' for m in missing)}")
    if problems:
        raise ConfigError(f"sbatch template {source}: {'; '.join(problems)}. "
                          f"Variables are documented in slurm/README.md")


def render(text: str, values: dict[str, str], source: str) -> str:
    """Fill a template's ``{{variables}}`` (after :func:`check_template`).

    Parameters
    ----------
    text : str
        The template.
    values : dict of str to str
        A value for every variable it uses (see :func:`template_values`).
    source : str
        Its name, for the message.

    Returns
    -------
    str
        The job script.

    Raises
    ------
    ConfigError
        From :func:`check_template`.
    """
    check_template(text, source)
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)


def array_spec(n: int, max_parallel: int | None) -> str:
    """Write sbatch's ``--array`` value for ``n`` runs.

    Parameters
    ----------
    n : int
        Number of runs, >= 1.
    max_parallel : int or None
        Throttle: at most this many tasks at once (``%k``); None for no throttle.

    Returns
    -------
    str
        E.g. ``"0-3%2"``.
    """
    spec = "0" if n == 1 else f"0-{n - 1}"
    return f"{spec}%{max_parallel}" if max_parallel else spec


def launch_prefix(s: SlurmSettings, command: str = "run") -> str:
    """Write the command that starts ``dealloy run`` (or ``command``) on the job's MPI ranks.

    Parameters
    ----------
    s : dealloy.config.study.SlurmSettings
        Its ``launch`` (used as given), else ``launcher`` (``srun`` with ``mpi``, or ``mpiexec``
        with ``ntasks * nodes`` ranks) and ``dealloy``.
    command : str
        The dealloy subcommand: ``run``, or ``study prebuild`` for the job that builds the
        study's shared glasses first (:mod:`dealloy.study.prebuild`).

    Returns
    -------
    str
        E.g. ``"srun --mpi=pmi2 --kill-on-bad-exit=1 dealloy run"``.
    """
    if s.launch:
        prefix = s.launch
    elif s.launcher == "srun":
        # --kill-on-bad-exit: a rank that dies (e.g. in MPI_Init) takes the others with it, so
        # the task fails at once instead of holding its allocation until the time limit
        prefix = f"srun --mpi={shlex.quote(s.mpi)} --kill-on-bad-exit=1"
    else:
        prefix = f"mpiexec -n {s.ntasks * s.nodes}"
    return f"{prefix} {s.dealloy} {command}"


def sbatch_quote(value: str) -> str:
    r"""Quote ``value`` as one argument of an ``#SBATCH`` line.

    In double quotes, with ``\`` and ``"`` backslash-escaped (sbatch's directive parser groups
    on double quotes, takes ``\x`` as x and starts a comment at an unquoted ``#``; it expands no
    ``$``). Plain values stay as they are.

    Parameters
    ----------
    value : str
        The argument.

    Returns
    -------
    str
        The quoted argument.
    """
    if re.fullmatch(r"[A-Za-z0-9_./:%@+=,-]+", str(value)):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def filename_pattern(directory: Path, name: str) -> str:
    """Write an sbatch ``--output`` pattern with a literal directory.

    Parameters
    ----------
    directory : pathlib.Path
        Taken literally (a ``%`` in it doubled, so SLURM does not read it as a replacement
        symbol).
    name : str
        The file name, which may use ``%A``, ``%a``.

    Returns
    -------
    str
        ``directory/name``.
    """
    return str(directory).replace("%", "%%") + "/" + name


def template_values(s: SlurmSettings, *, study_name: str, study_dir: Path, manifest: Path,
                    n_runs: int, max_parallel: int | None, command: str = "run",
                    job_suffix: str = "") -> dict[str, str]:
    """Compute the value of every template variable of :data:`VARIABLES`.

    Parameters
    ----------
    s : dealloy.config.study.SlurmSettings
        The study's SLURM settings.
    study_name : str
        The study's name.
    study_dir : pathlib.Path
        The study directory (logs go to ``<study_dir>/slurm/logs/%A_%a.out``).
    manifest : pathlib.Path
        File listing one run directory per line.
    n_runs : int
        Runs in this submission.
    max_parallel : int or None
        Array throttle.
    command : str
        What each task runs (:func:`launch_prefix`): ``run``, or ``study prebuild``.
    job_suffix : str
        Appended to the job name (``-prebuild`` for the prebuild array).

    Returns
    -------
    dict of str to str
        Variable -> text, quoted for its place (``#SBATCH`` line or shell).
    """
    opts = [f"#SBATCH --partition={sbatch_quote(s.partition)}"] if s.partition else []
    opts += [f"#SBATCH --account={sbatch_quote(s.account)}"] if s.account else []
    opts += [f"#SBATCH --qos={sbatch_quote(s.qos)}"] if s.qos else []
    opts += [f"#SBATCH {o}" for o in s.sbatch_options]
    return {
        "job_name": sbatch_quote((s.job_name or f"dealloy-{study_name}") + job_suffix),
        "array": array_spec(n_runs, max_parallel),
        "n_runs": str(n_runs),
        "nodes": str(s.nodes),
        "ntasks": str(s.ntasks),
        "cpus_per_task": str(s.cpus_per_task),
        "time": s.time,
        "output": sbatch_quote(filename_pattern(study_dir / "slurm" / "logs", "%A_%a.out")),
        "signal": f"B:USR1@{s.signal_seconds}",
        "signal_seconds": str(s.signal_seconds),
        "partition": s.partition,
        "account": s.account,
        "qos": s.qos,
        "sbatch_options": "\n".join(opts),
        "env": "\n".join(s.env) if s.env else "# (no environment lines: the submitting shell's "
                                               "environment is exported by sbatch)",
        "manifest": shlex.quote(str(manifest)),
        "study_dir": shlex.quote(str(study_dir)),
        "study_name": study_name,
        "dealloy": s.dealloy,
        "launch": launch_prefix(s, command),
    }


# ---- calling SLURM ----------------------------------------------------------------------------
def sbatch_path() -> str:
    """Find ``sbatch`` on PATH.

    Returns
    -------
    str
        Its path.

    Raises
    ------
    DealloyError
        When this machine is not a SLURM submit host.
    """
    exe = shutil.which("sbatch")
    if exe is None:
        raise DealloyError("sbatch not found on PATH: this machine is not a SLURM submit host "
                           "(or SLURM's module is not loaded). Use --dry-run to see the script "
                           "that would be submitted, or 'dealloy study run --local'")
    return exe


def sbatch(script: Path, cwd: Path, after: str | None = None) -> str:
    """Submit ``script`` with ``sbatch --parsable``.

    Parameters
    ----------
    script : pathlib.Path
        The job script.
    cwd : pathlib.Path
        Working directory of ``sbatch``.
    after : str, optional
        A job id the new job waits for (``--dependency=afterany:<id>``: it starts once that
        job has ended, however it ended).

    Returns
    -------
    str
        The job id.

    Raises
    ------
    DealloyError
        When sbatch is missing, fails, or prints no job id.
    """
    exe = sbatch_path()
    dep = [f"--dependency=afterany:{after}"] if after else []
    proc = subprocess.run([exe, "--parsable", *dep, str(script)], cwd=cwd, capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0:
        raise DealloyError(f"sbatch failed (exit {proc.returncode}): "
                           f"{(proc.stderr or proc.stdout).strip()}")
    out = proc.stdout.strip().splitlines()
    if not out:
        raise DealloyError(f"sbatch printed no job id: {proc.stderr.strip()}")
    return out[-1].split(";")[0].strip()


def sbatch_test(script_text: str, cwd: Path | None = None, raise_on_reject: bool = True) -> str:
    """Ask ``sbatch --test-only`` whether it accepts ``script_text`` (nothing is submitted).

    The script is written to a temporary file outside the study directory, so a rejected script
    leaves nothing behind.

    Parameters
    ----------
    script_text : str
        The job script.
    cwd : pathlib.Path, optional
        Working directory of ``sbatch`` (default the temporary directory).
    raise_on_reject : bool
        Raise when sbatch rejects the script (else return its verdict).

    Returns
    -------
    str
        sbatch's verdict in one line (with ``raise_on_reject=False`` also a rejection).

    Raises
    ------
    DealloyError
        With sbatch's own message when it rejects the script (``raise_on_reject``), or when
        sbatch is missing.
    """
    import tempfile

    exe = sbatch_path()
    with tempfile.TemporaryDirectory(prefix="dealloy-sbatch-") as tmp:
        script = Path(tmp) / "job.sbatch"
        script.write_text(script_text)
        try:
            proc = subprocess.run([exe, "--test-only", str(script)], cwd=cwd or tmp,
                                  capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DealloyError(f"sbatch --test-only could not run: {exc}") from None
    msg = " ".join((proc.stderr or proc.stdout).split())
    if proc.returncode != 0:
        if raise_on_reject:
            raise DealloyError(f"sbatch rejects the job script (sbatch --test-only, exit "
                               f"{proc.returncode}): {msg}. Nothing was written or submitted")
        return f"sbatch --test-only rejects this script here (exit {proc.returncode}): {msg}"
    return "sbatch --test-only accepts this script"


def scancel(job_ids: list[str]) -> None:
    """Cancel jobs with ``scancel`` (best effort: a failure is ignored).

    Parameters
    ----------
    job_ids : list of str
        Job ids.
    """
    exe = shutil.which("scancel")
    if exe and job_ids:
        try:
            subprocess.run([exe, *job_ids], capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            pass


@dataclass
class TaskState:
    """The SLURM state of one array task.

    Parameters
    ----------
    job : str
        ``"<array job id>_<task id>"``.
    state : str
        SLURM's state: PENDING, RUNNING, CANCELLED, ...
    reason : str
        SLURM's reason (e.g. why a task is pending).
    """

    job: str  # "<array job id>_<task id>"
    state: str  # SLURM state: PENDING, RUNNING, CANCELLED, ...
    reason: str = ""


def queue_states(job_ids: list[str]) -> dict[str, TaskState] | None:
    """Ask SLURM for the state of every array task of ``job_ids``.

    Live tasks from squeue, ended ones that slurmctld still remembers from scontrol.

    Parameters
    ----------
    job_ids : list of str
        Array job ids.

    Returns
    -------
    dict of str to TaskState, or None
        ``"<job>_<task>"`` -> state; None if SLURM cannot be asked (no squeue, or it fails).
    """
    if not job_ids:
        return {} if shutil.which("squeue") else None
    squeue = shutil.which("squeue")
    if squeue is None:
        return None
    try:
        proc = subprocess.run([squeue, "-h", "-r", "-j", ",".join(job_ids), "-o", "%i|%T|%r"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    states: dict[str, TaskState] = {}
    if proc.returncode != 0 and "Invalid job id" not in proc.stderr:
        return None
    for line in proc.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) >= 2:
            states[parts[0]] = TaskState(parts[0], parts[1], parts[2] if len(parts) > 2 else "")
    scontrol = shutil.which("scontrol")
    if scontrol:
        for jid in job_ids:
            try:
                p = subprocess.run([scontrol, "-o", "show", "job", jid], capture_output=True,
                                   text=True, timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                continue
            for line in p.stdout.splitlines():
                f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
                tid, st = f.get("ArrayTaskId", ""), f.get("JobState", "")
                if not tid or not tid.isdigit():
                    continue
                name = f"{f.get('ArrayJobId', jid)}_{tid}"
                if name not in states:
                    states[name] = TaskState(name, st, f.get("Reason", ""))
    return states


# ---- submissions record -----------------------------------------------------------------------
def submissions_path(study_dir: Path) -> Path:
    """Locate the study's record of submissions.

    Parameters
    ----------
    study_dir : pathlib.Path
        The study directory.

    Returns
    -------
    pathlib.Path
        ``<study_dir>/submissions.json``.
    """
    return study_dir / "submissions.json"


def read_submissions(study_dir: Path) -> list[dict]:
    """Read the study's record of submissions.

    Parameters
    ----------
    study_dir : pathlib.Path
        The study directory.

    Returns
    -------
    list of dict
        One per submission: ``job_id``, ``script``, ``manifest``, ``submitted`` (ISO time),
        ``runs`` (run keys in array order), ``kind`` (``runs`` or ``prebuild``; absent in records
        older than the prebuild array: ``runs``) and ``after`` (the job it waited for, if any);
        [] if none is recorded or the file is unreadable.
    """
    try:
        return json.loads(submissions_path(study_dir).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return []


def record_submission(study_dir: Path, job_id: str, script: Path, manifest: Path,
                      keys: list[str], kind: str = "runs", after: str | None = None) -> None:
    """Append a submission to the study's record (written atomically).

    Parameters
    ----------
    study_dir : pathlib.Path
        The study directory.
    job_id : str
        The array job id.
    script : pathlib.Path
        The submitted job script.
    manifest : pathlib.Path
        Its run manifest.
    keys : list of str
        The run keys, in array order (task i runs ``keys[i]``; for a prebuild array, task i
        builds the glass of run ``keys[i]``).
    kind : {"runs", "prebuild"}
        What the array's tasks do.
    after : str, optional
        The job id this array waits for.
    """
    subs = read_submissions(study_dir)
    entry = {"job_id": job_id, "script": str(script), "manifest": str(manifest),
             "submitted": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": keys, "kind": kind}
    if after:
        entry["after"] = after
    subs.append(entry)
    write_json(submissions_path(study_dir), subs)


def latest_task_of_run(study_dir: Path) -> dict[str, str]:
    """Map each run key to the array task of its most recent submission.

    Parameters
    ----------
    study_dir : pathlib.Path
        The study directory.

    Returns
    -------
    dict of str to str
        Run key -> ``"<job>_<index>"``.
    """
    out: dict[str, str] = {}
    for sub in read_submissions(study_dir):
        if sub.get("kind", "runs") != "runs":  # a prebuild task builds a glass, not the run
            continue
        for i, key in enumerate(sub.get("runs", [])):
            out[key] = f"{sub['job_id']}_{i}"
    return out


def log_of_task(study_dir: Path, task: str) -> Path:
    """Locate the SLURM log of an array task.

    Parameters
    ----------
    study_dir : pathlib.Path
        The study directory.
    task : str
        ``"<job>_<index>"``.

    Returns
    -------
    pathlib.Path
        ``<study_dir>/slurm/logs/<task>.out`` (it may not exist).
    """
    return study_dir / "slurm" / "logs" / f"{task}.out"


def slurm_env_ok() -> bool:
    """Tell whether a SLURM configuration is present (``$SLURM_CONF`` or /etc/slurm/slurm.conf)."""
    return bool(os.environ.get("SLURM_CONF")) or Path("/etc/slurm/slurm.conf").exists()

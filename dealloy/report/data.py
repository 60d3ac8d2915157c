"""Load what a report reads: one table row per run, each run's per-frame metrics, figures, images."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dealloy.analysis.results import read_run_frames
from dealloy.config import load_toml
from dealloy.config.study import load_study
from dealloy.errors import ConfigError
from dealloy.rundir import RunDir
from dealloy.study.axes import pathway  # noqa: F401  (re-exported for notebooks)
from dealloy.study.collect import collect, derived, figures, final_metrics, run_info
from dealloy.study.plan import PlannedRun, check_directory, make_plan
from dealloy.analysis.run import analyze_path

MICROSCOPY_PREFIXES = ("haadf_", "slices_", "render")


@dataclass
class ReportData:
    """Everything a report shows, read from a study, a run directory or a folder of runs.

    Parameters
    ----------
    title : str
        Heading of the report.
    kind : str
        ``"study"`` (a study or a folder of runs) or ``"run"``.
    source : pathlib.Path
        The study file, run directory or folder.
    table : pandas.DataFrame
        One row per run: status, derived settings, run info and final metrics.
    frames : dict of str to list of dict
        Run key -> per-frame metrics (``analysis/metrics.json``).
    figures : list of pathlib.Path
        Study figures (PNG).
    images : dict of str to list of pathlib.Path
        Run key -> virtual-microscopy PNGs.
    configs : dict of str to dict
        Run key -> resolved run config.
    extras : dict
        Optional inputs: ``diffusivity`` (and its source), ``study_dir``.
    """

    title: str
    kind: str                                   # "study" | "run"
    source: Path
    table: Any                                  # pandas.DataFrame, one row per run
    frames: dict[str, list[dict]] = field(default_factory=dict)      # run key -> per-frame metrics
    figures: list[Path] = field(default_factory=list)               # study figures
    images: dict[str, list[Path]] = field(default_factory=dict)     # run key -> microscopy PNGs
    configs: dict[str, dict] = field(default_factory=dict)          # run key -> resolved config
    extras: dict[str, Any] = field(default_factory=dict)            # diffusivity, validation

    @property
    def done(self):
        """The rows of ``table`` whose status is ``done``."""
        return self.table[self.table["status"] == "done"]


def _run_images(rd: RunDir) -> list[Path]:
    plots = rd.analysis_dir / "plots"
    if not plots.is_dir():
        return []
    return sorted(p for p in plots.glob("*.png") if p.name.startswith(MICROSCOPY_PREFIXES))


def _load_study(path: Path, analyze_missing: bool, echo, directory=None) -> ReportData:

    study = load_study(path)
    plan = make_plan(study, find_study_directory(study, directory, path))
    check_directory(plan)
    df, out, _ = collect(plan, analyze_missing=analyze_missing, echo=echo)
    if not len(df) or not (df["status"] == "done").any():
        raise ConfigError(f"study '{plan.study.name}' has no finished runs yet: run `dealloy study "
                          f"run {path} --local` (or submit it and wait; `dealloy study status {path}` "
                          "shows progress), then `dealloy report` again")
    data = ReportData(title=f"{plan.study.name}: {plan.study.spec.description}".rstrip(": "),
                      kind="study", source=path, table=df)
    data.figures = sorted((out / "figures").glob("*.png"))
    data.extras["study_dir"] = plan.directory
    for run in plan.runs:
        rd = run.rundir
        data.frames[run.key] = read_run_frames(rd.metrics_json)
        data.images[run.key] = _run_images(rd)
        data.configs[run.key] = load_toml(rd.config) if rd.config.is_file() else run.config
    _load_extras(data, plan.directory)
    return data


def study_directory_candidates(study, directory=None) -> list[Path]:
    """List where a study's runs may be, in order.

    ``directory`` if given (``--dir``, ``$DEALLOY_STUDY_DIR``), else the study file's own
    ``directory``, else ``studies/<name>`` under the current folder (where ``dealloy study run``
    puts it by default), under its parent (a notebook in ``analysis/`` of a study run from the
    repository root) and beside the study file's folder (``<repo>/workflows/x.toml`` ->
    ``<repo>/studies/<name>``).

    Parameters
    ----------
    study : dealloy.config.study.Study
        The loaded study.
    directory : str or os.PathLike, optional
        The directory given on the command line or in the environment.

    Returns
    -------
    list of pathlib.Path
        Candidates, without repeats (only one when a directory is given or the study names one).
    """
    first = study.directory(directory)
    if directory or study.spec.directory:
        return [first]
    name = study.spec.name
    cands = [first, (Path.cwd().parent / "studies" / name).resolve(),
             (study.path.resolve().parent.parent / "studies" / name).resolve()]
    return list(dict.fromkeys(cands))


def find_study_directory(study, directory=None, path=None) -> Path:
    """Find the first existing directory of :func:`study_directory_candidates`.

    Parameters
    ----------
    study : dealloy.config.study.Study
        The loaded study.
    directory : str or os.PathLike, optional
        The directory given on the command line or in the environment.
    path : str or os.PathLike, optional
        The study file as the user named it (for the message; default ``study.path``).

    Returns
    -------
    pathlib.Path
        The study directory.

    Raises
    ------
    ConfigError
        Naming every place looked at, when none exists (only then is running the study advised).
    """
    cands = study_directory_candidates(study, directory)
    for c in cands:
        if c.is_dir():
            return c
    path = path or study.path
    where = ", ".join(str(c) for c in cands)
    raise ConfigError(f"study '{study.spec.name}': no study directory at {where}. If it was run "
                      f"with --dir DIR, point at it (`dealloy report {path} --dir DIR`, or "
                      f"DEALLOY_STUDY_DIR=DIR for a notebook); if it has not been run yet: "
                      f"`dealloy study run {path} --local` or `dealloy study submit {path}`")


def _load_run(path: Path, analyze_missing: bool, echo) -> ReportData:
    import pandas as pd


    rd = RunDir(path)
    status = rd.status
    if status != "done":
        raise ConfigError(f"run {path} is '{status}', not finished: run `dealloy run {rd.config}` "
                          "(or `--resume` it) first, then `dealloy report` again")
    if analyze_missing and not read_run_frames(rd.metrics_json):
        echo(f"analysing {path} ...")
        analyze_path(path, echo=echo)
    cfg = load_toml(rd.config)
    key = path.name
    row = {"run": key, "status": status}
    row.update(derived(PlannedRun(0, key, {}, cfg, path)))
    row.update(run_info(rd))
    row.update(final_metrics(rd))
    row["path"] = str(path)
    data = ReportData(title=f"run {key}", kind="run", source=path, table=pd.DataFrame([row]))
    data.frames[key] = read_run_frames(rd.metrics_json)
    data.images[key] = _run_images(rd)
    data.configs[key] = cfg
    _load_extras(data, path)
    return data


def run_dirs_in(folder: Path) -> list[Path]:
    """List the run directories directly inside ``folder``.

    A folder of runs such as ``dealloy quickstart``'s output (``<out>/c-Li15Si4/``,
    ``<out>/a-Li15Si4/``).

    Parameters
    ----------
    folder : str or os.PathLike
        An existing directory.

    Returns
    -------
    list of pathlib.Path
        Sub-directories holding a ``config.toml`` or ``run.json``, sorted by name.
    """
    return sorted(d for d in Path(folder).iterdir() if d.is_dir() and RunDir(d).is_run_dir())


def _load_folder(path: Path, analyze_missing: bool, echo) -> ReportData:
    """Load a folder of run directories, reported like a small study.

    One table row per run, the study figures (cluster classes and porosity vs Li/Si per path,
    ...) drawn into ``<folder>/figures/``, virtual microscopy of the c- and a-path side by side.

    Returns
    -------
    ReportData
        The folder's data.

    Raises
    ------
    ConfigError
        When none of its runs has finished.
    """
    import pandas as pd

    rows, runs = [], []
    for i, d in enumerate(run_dirs_in(path)):
        rd = RunDir(d)
        status = rd.status
        if status == "done" and analyze_missing and not read_run_frames(rd.metrics_json):
            echo(f"analysing {d} ...")
            analyze_path(d, echo=echo)
        cfg = load_toml(rd.config) if rd.config.is_file() else {}
        run = PlannedRun(i, d.name, {}, cfg, d)
        runs.append(run)
        row = {"run": d.name, "status": status}
        row.update(derived(run))
        row.update(run_info(rd))
        row.update(final_metrics(rd))
        row["path"] = str(d)
        rows.append(row)
    df = pd.DataFrame(rows)
    if not (df["status"] == "done").any():
        raise ConfigError(f"{path}: none of its {len(rows)} run directories "
                          f"({', '.join(r['run'] for r in rows)}) has finished; finish them "
                          "(`dealloy run CONFIG --resume`, or re-run the command that made them), "
                          "then `dealloy report` again")
    notes = figures(None, df, path / "figures", name=path.name, runs=runs)
    for note in notes:  # a figure the folder has no data for is skipped quietly
        if "not drawn" in note:
            echo(f"note: figure {note}")
    data = ReportData(title=f"{path.name}: {len(rows)} run(s) ({', '.join(df['run'])})",
                      kind="study", source=path, table=df)
    drawn = [n for n in notes if n.endswith(".png")]
    data.figures = [path / "figures" / n for n in drawn]
    data.extras["study_dir"] = path
    for run in runs:
        data.frames[run.key] = read_run_frames(run.rundir.metrics_json)
        data.images[run.key] = _run_images(run.rundir)
        data.configs[run.key] = run.config
    _load_extras(data, path)
    return data


def _load_extras(data: ReportData, directory: Path) -> None:
    """Add the optional inputs found beside the data: ``diffusivity/*.json`` (dealloy diffusivity)."""
    for cand in sorted(directory.glob("diffusivity*/*.json")):
        try:
            data.extras["diffusivity"] = json.loads(cand.read_text())
            data.extras["diffusivity_source"] = str(cand)
            break
        except (OSError, json.JSONDecodeError):
            continue


def load_report_data(target, analyze_missing: bool = True, echo=print, directory=None) -> ReportData:
    """Load what a report shows of a study, a run directory or a folder of run directories.

    Parameters
    ----------
    target : str or os.PathLike
        A study file (``.toml``), a run directory, or a folder of run directories (e.g.
        ``dealloy quickstart``'s output).
    analyze_missing : bool
        Analyse finished runs that have no ``analysis/metrics.json`` yet.
    echo : callable
        Receives progress lines.
    directory : str or os.PathLike, optional
        The study's directory, if it was run with ``--dir``.

    Returns
    -------
    ReportData
        The table, per-frame metrics, figures, images and configs.

    Raises
    ------
    ConfigError
        For a missing target, a file that is not a study, a directory that is neither a run nor
        a folder of runs, a study without a directory or without finished runs, or an unfinished
        run.
    """
    path = Path(target)
    if not path.exists():
        raise ConfigError(f"{path} does not exist: give a study file (workflows/*.toml) or a run "
                          "directory written by `dealloy run`")
    if path.is_file():
        if path.suffix != ".toml":
            raise ConfigError(f"{path}: expected a study file (.toml) or a run directory")
        return _load_study(path, analyze_missing, echo, directory)
    if RunDir(path).is_run_dir():
        return _load_run(path, analyze_missing, echo)
    if run_dirs_in(path):
        return _load_folder(path, analyze_missing, echo)
    raise ConfigError(f"{path} is neither a study file nor a run directory, nor a folder of run "
                      "directories (no config.toml or run.json in it or its subfolders)")

"""Expand a study into runs; name each run directory by a stable hash of its resolved config.

The hash is taken over the run config as the run-config schema resolves it (defaults omitted, so
writing a default explicitly or leaving it out gives the same run; paths made absolute; a
structure file's content hashed in). Same parameters -> same directory -> never computed twice;
a changed parameter -> a new directory, and the old one stays untouched.

Study directory::

    <study>/study.json          which study owns the directory (name, study file)
    <study>/plan.json           the current plan: run key -> parameters (written by plan/run/submit)
    <study>/runs/<key>/         one run directory per run (layout: dealloy.rundir)
    <study>/slurm/              rendered sbatch scripts, their run manifests, logs/
    <study>/submissions.json    every sbatch submission: job id, script, run keys by array index
    <study>/logs/               logs of local runs
    <study>/results/            collect: results.csv, results.parquet, figures/*.png
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dealloy import __version__
from dealloy.config import dump_toml, load_toml
from dealloy.config.builders import builder_args_model, check_builder_args
from dealloy.config.run import KEY_NEUTRAL_WHEN_UNSET, RunConfig, parse_run_config, resolved_dict
from dealloy.config.study import Study
from dealloy.errors import ConfigError
from dealloy.io import write_json, write_text
from dealloy.rundir import RunDir
from dealloy.study import axes

KEY_LENGTH = 12


@dataclass
class PlannedRun:
    """One run of a study: its sweep point, resolved config and directory.

    Parameters
    ----------
    index : int
        Position in the sweep.
    key : str
        The run's key, :func:`run_key` of its config (its directory's name).
    params : dict
        The sweep point (dotted parameter name -> value).
    config : dict
        The resolved run config (what ``config.toml`` holds).
    path : pathlib.Path
        The run directory, ``<study>/runs/<key>``.
    """

    index: int
    key: str
    params: dict[str, Any]
    config: dict[str, Any]  # resolved run config (what config.toml holds)
    path: Path = field(default=Path("."))

    @property
    def rundir(self) -> RunDir:
        """The run directory's files (:class:`dealloy.rundir.RunDir`)."""
        return RunDir(self.path)

    @property
    def config_path(self) -> Path:
        """Path of the run's ``config.toml``."""
        return self.path / "config.toml"

    def label(self) -> str:
        """Describe the run by its sweep point.

        Returns
        -------
        str
            ``name=value`` pairs, e.g. ``"diameter_nm=6 temperature_k=300"``.
        """
        return " ".join(f"{k}={_fmt(v)}" for k, v in self.params.items())


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


@dataclass
class Plan:
    """A study expanded into its runs (:func:`make_plan`); nothing is written.

    Parameters
    ----------
    study : dealloy.config.study.Study
        The loaded study.
    directory : pathlib.Path
        The study directory.
    runs : list of PlannedRun
        The runs, in sweep order.
    axis_names : list of str
        The swept parameter names.
    """

    study: Study
    directory: Path
    runs: list[PlannedRun]
    axis_names: list[str]

    def by_key(self) -> dict[str, PlannedRun]:
        """Index the runs by key.

        Returns
        -------
        dict of str to PlannedRun
            Run key -> run.
        """
        return {r.key: r for r in self.runs}


# --------------------------------------------------------------------------------------------
def sweep_points(study: Study) -> list[dict[str, Any]]:
    """List every point of the sweep: each [[runs]] entry combined with the product of [axes].

    Parameters
    ----------
    study : dealloy.config.study.Study
        The loaded study.

    Returns
    -------
    list of dict
        Parameter name -> value, one dict per run.

    Raises
    ------
    ConfigError
        When a [[runs]] entry sets an [axes] parameter, or the sweep is empty.
    """
    spec = study.spec
    names = list(spec.axes)
    product = [dict(zip(names, values)) for values in itertools.product(*spec.axes.values())]
    entries = spec.runs if spec.runs is not None else [{}]
    points = []
    for i, entry in enumerate(entries):
        clash = sorted(set(entry) & set(names))
        if clash:
            raise ConfigError(f"{study.path}: runs[{i}] sets {', '.join(clash)}, which is also an "
                              f"[axes] entry; give each parameter in one place")
        for combo in product:
            points.append({**entry, **combo})
    if not points:
        raise ConfigError(f"{study.path}: the sweep is empty")
    return points


def load_base(study: Study) -> dict[str, Any]:
    """Read the study's base run config, with its file paths made absolute.

    ``particle.file`` and ``ffield`` are resolved against the base config's folder.

    Parameters
    ----------
    study : dealloy.config.study.Study
        The loaded study.

    Returns
    -------
    dict
        The base config as written (not yet validated).
    """
    base = load_toml(study.base_path)
    base_dir = study.base_path.parent
    particle = base.get("particle") or {}
    if isinstance(particle.get("file"), str):
        p = Path(particle["file"]).expanduser()
        particle["file"] = str(p if p.is_absolute() else (base_dir / p).resolve())
    if isinstance(base.get("ffield"), str) and base["ffield"]:
        p = Path(base["ffield"]).expanduser()
        base["ffield"] = str(p if p.is_absolute() else (base_dir / p).resolve())
    return base


def resolve(study: Study, base: dict, params: dict, where: str) -> dict[str, Any]:
    """Resolve one run's config: base + [set] + one sweep point, validated.

    Parameters
    ----------
    study : dealloy.config.study.Study
        The loaded study.
    base : dict
        The base run config (:func:`load_base`).
    params : dict
        The sweep point (dotted names, study axes and presets).
    where : str
        The point's name, for messages.

    Returns
    -------
    dict
        The run config with every default filled in.

    Raises
    ------
    ConfigError
        One line naming the point: an unknown parameter or builder, a builder argument the
        builder does not take, or an invalid run config.
    """
    cfg = copy.deepcopy(base)
    for path, value in study.spec.set.items():
        axes.check_axis_name(path, f"{study.path}: [set]")
    cfg = axes.apply_params(cfg, dict(study.spec.set), f"{study.path}: [set]")
    cfg = axes.apply_params(cfg, params, where)
    _check_builder_args(cfg, where)
    return resolved_dict(parse_run_config(cfg, source=where))


def _check_builder_args(cfg: dict, where: str) -> None:
    """Check ``cfg['particle']``'s builder and arguments against the builders' models, on one line.

    The one implementation is :func:`dealloy.config.builders.check_builder_args` (names and types;
    a study point may leave a required argument to the base config, so ``complete=False``); this
    puts the study point's name at the head of its message. The run config's own check, which
    follows, reports every other problem.

    Parameters
    ----------
    cfg : dict
        The run config of one study point, before validation.
    where : str
        The point's name (``<study>: run 3 (seed=1)``), the head of the message.

    Raises
    ------
    ConfigError
        ``<where>: particle.builder: unknown builder ...`` (listing the builders), or
        ``<where>: particle.args.<key>: ...`` for an argument the builder does not take or of
        the wrong type (listing its arguments).
    """
    particle = cfg.get("particle")
    if not isinstance(particle, dict) or not particle.get("builder"):
        return
    try:
        builder_args_model(particle["builder"])
    except ValueError as exc:
        raise ConfigError(f"{where}: particle.builder: {exc}") from None
    args = particle.get("args") or {}
    if not isinstance(args, dict):  # not a table: the run config's check says so
        return
    try:
        check_builder_args(particle["builder"], args, where=f"{where}: particle.args",
                           complete=False)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def run_key(config: dict, legacy: bool = False) -> str:
    """Hash a resolved run config into a stable run key.

    Every field counts, defaults filled in, so a changed package default -- e.g. the default
    potential -- gives new runs instead of reusing old ones. A structure file counts by its
    content (sha256), not by where it lies: a study whose repository or data folder moved keeps
    its runs.

    Parameters
    ----------
    config : dict
        A resolved run config (:func:`resolve`).
    legacy : bool
        The key of dealloy before 2026-11-30, which also hashed the file's absolute path
        (:func:`make_plan` still finds run directories made under it).

    Returns
    -------
    str
        The first :data:`KEY_LENGTH` hex digits of the SHA-256 of its canonical JSON.
    """
    canon = _canonical(config)
    particle = config.get("particle") or {}
    if particle.get("file"):
        p = Path(particle["file"])
        canon["particle"]["file_sha256"] = (hashlib.sha256(p.read_bytes()).hexdigest()
                                            if p.is_file() else "missing")
        if not legacy:
            canon["particle"].pop("file", None)
    blob = json.dumps(canon, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:KEY_LENGTH]


def _canonical(config: dict) -> dict:
    model = RunConfig.model_validate(config)
    d = model.model_dump(mode="json")
    d.setdefault("particle", {})
    for k, unset in KEY_NEUTRAL_WHEN_UNSET.items():
        if d.get(k) == unset:
            d.pop(k)
    return _norm(d)


def _norm(obj):
    """1 and 1.0 hash alike; key order never matters (sorted at dump)."""
    if isinstance(obj, dict):
        return {k: _norm(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_norm(v) for v in obj]
    if isinstance(obj, float) and obj.is_integer():
        return int(obj)
    return obj


def make_plan(study: Study, directory: str | Path | None = None) -> Plan:
    """Expand ``study`` into its runs, each validated against the run-config schema.

    Nothing is written.

    Parameters
    ----------
    study : dealloy.config.study.Study
        The loaded study.
    directory : str or os.PathLike, optional
        The study directory (default the study's own, see ``Study.directory``).

    Returns
    -------
    Plan
        The runs in sweep order.

    Raises
    ------
    ConfigError
        For an invalid sweep point (see :func:`resolve`) or two points with the same config.
    """
    base = load_base(study)
    points = sweep_points(study)
    root = study.directory(directory)
    runs: list[PlannedRun] = []
    seen: dict[str, int] = {}
    for i, params in enumerate(points):
        where = f"{study.path}: run {i} ({' '.join(f'{k}={_fmt(v)}' for k, v in params.items())})"
        cfg = resolve(study, base, params, where)
        key = run_key(cfg)
        if (cfg.get("particle") or {}).get("file") and not (root / "runs" / key).exists():
            old = run_key(cfg, legacy=True)  # a run directory made before the path left the key
            if (root / "runs" / old).exists():
                key = old
        if key in seen:
            j = seen[key]
            raise ConfigError(f"{study.path}: runs {j} ({runs[j].label()}) and {i} "
                              f"({where.split('(', 1)[1][:-1]}) resolve to the same run config; "
                              f"remove the duplicate")
        seen[key] = i
        runs.append(PlannedRun(i, key, params, cfg, root / "runs" / key))
    names = list(dict.fromkeys(k for p in points for k in p))
    return Plan(study, root, runs, names)


# ---- the study directory ----------------------------------------------------------------------
def check_directory(plan: Plan) -> None:
    """Refuse a study directory that belongs to another study or is not a study directory.

    Parameters
    ----------
    plan : Plan
        The study's plan.

    Raises
    ------
    ConfigError
        When its ``study.json`` names another study or is unreadable, or it is a non-empty
        directory without one.
    """
    d = plan.directory
    meta = d / "study.json"
    if meta.is_file():
        try:
            owner = json.loads(meta.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{meta}: unreadable ({exc}); fix or remove it") from None
        if owner.get("name") != plan.study.name:
            raise ConfigError(
                f"study directory {d} belongs to study {owner.get('name')!r} "
                f"(from {owner.get('study_file')}), not {plan.study.name!r}: choose another "
                f"directory (--dir, or 'directory' in the study file) or rename the study")
    elif d.exists() and any(d.iterdir()):
        raise ConfigError(f"{d} exists and is not a dealloy study directory (no study.json); "
                          f"choose another directory with --dir")


def claim_directory(plan: Plan) -> None:
    """Create the study directory (after :func:`check_directory`) and write the current plan.

    Writes ``study.json`` once and ``plan.json`` every time, atomically.

    Parameters
    ----------
    plan : Plan
        The study's plan.

    Raises
    ------
    ConfigError
        From :func:`check_directory`.
    """
    check_directory(plan)
    d = plan.directory
    d.mkdir(parents=True, exist_ok=True)
    meta = d / "study.json"
    if not meta.is_file():
        write_json(meta, {"name": plan.study.name, "study_file": str(plan.study.path),
                          "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                          "dealloy_version": __version__})
    write_json(d / "plan.json", {
        "name": plan.study.name, "study_file": str(plan.study.path), "axes": plan.axis_names,
        "runs": [{"index": r.index, "key": r.key, "params": r.params} for r in plan.runs]})


def prepare_run(run: PlannedRun) -> None:
    """Write the run's config.toml; once the run has started, never again.

    A run that has not started (no checkpoint, no build checkpoint, not done) gets the plan's
    text again when it differs: same key, so the same simulation, but e.g. a structure file
    that moved with its repository has a new path, and the old one would not be found.

    Parameters
    ----------
    run : PlannedRun
        The run (its directory is created if missing).
    """
    run.path.mkdir(parents=True, exist_ok=True)
    text = f"# dealloy study run {run.key}: {run.label()}\n" + dump_toml(run.config)
    if not run.config_path.exists():
        write_text(run.config_path, text)
        return
    rd = run.rundir
    started = (rd.status == "done" or rd.build_checkpoint_dir.is_dir()
               or (rd.checkpoint_dir.is_dir() and any(rd.checkpoint_dir.iterdir())))
    if not started and run.config_path.read_text() != text:
        write_text(run.config_path, text)

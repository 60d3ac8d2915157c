"""Schema of a study file (``workflows/*.toml``): a base run config and the axes to sweep.

A study names a base run config (``base``, a ``dealloy run`` TOML, relative to the study file),
fixed overrides (``[set]``), and what varies: ``[axes]`` (full product of the listed values) and/or
``[[runs]]`` (explicit combinations; each is combined with the product of ``[axes]``). Axis names
are the friendly names of :mod:`dealloy.study.axes` (``state``, ``dod``, ``rate_fraction_per_ns``,
``rate_li_per_ps``, ``selector``, ``temperature_k``, ``diameter_nm``, ``grain_size_nm``,
``potential``, ``seed``) or any run-config key by dotted path (``stages.extract.interval_ps``).

``[local]`` and ``[slurm]`` hold how runs are executed; command-line options override them.
See ``docs/studies.md`` for the whole format.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from dealloy.config import StrictModel, load_toml, validate
from dealloy.errors import ConfigError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TIME = re.compile(r"^(\d+-)?\d+(:\d{1,2}){0,2}$")


class LocalSettings(StrictModel):
    """``dealloy study run --local``: how many runs at once and MPI ranks per run.

    Attributes
    ----------
    jobs : int
        Runs at the same time (>= 1).
    ranks : int
        MPI ranks per run (``mpiexec -n``, >= 1).
    mpiexec : str
        MPI launcher used when ``ranks > 1``.
    """

    jobs: int = Field(1, ge=1, description="runs at the same time")
    ranks: int = Field(1, ge=1, description="MPI ranks per run (mpiexec -n)")
    mpiexec: str = Field("mpiexec", description="MPI launcher used when ranks > 1")


class SlurmSettings(StrictModel):
    """``dealloy study submit``: the values that fill the sbatch template (see slurm/README.md).

    Attributes
    ----------
    template : str
        A file in ``slurm/`` or a path.
    job_name : str
        SLURM job name; empty: ``dealloy-<study name>``.
    nodes : int
        Nodes per run (>= 1).
    ntasks : int
        MPI ranks per run (>= 1).
    cpus_per_task : int
        CPUs per MPI rank (>= 1).
    time : str
        Time limit per array task, ``MM``, ``HH:MM:SS`` or ``D-HH:MM:SS``.
    partition, account, qos : str
        ``#SBATCH`` values; empty: the cluster's default.
    max_parallel : int or None
        Array throttle (``--array=...%K``); None: no throttle.
    signal_seconds : int
        Seconds before the time limit at which the job gets USR1 (checkpoint and stop), >= 10.
    launcher : {"srun", "mpiexec"}
        MPI launcher inside the job.
    launch : str
        Full launch prefix instead of ``launcher``, e.g. ``"srun --mpi=pmix"``.
    mpi : str
        ``srun --mpi=`` plugin.
    env : list of str
        Shell lines run before the runs (module loads, venv activation).
    sbatch_options : list of str
        Extra long ``#SBATCH`` options (``--mem=4G``).
    dealloy : str
        The ``dealloy`` command inside the job.
    prebuild : bool
        Build each melt-quenched glass that two or more runs start from once, in a job array
        submitted first, and let the runs' array wait for it (``--dependency=afterany``;
        :mod:`dealloy.study.prebuild`). Off: every array task builds its own glass (tasks that
        start together do not share it).
    """

    template: str = Field("array.sbatch", description="a file in slurm/ or a path")
    job_name: str = ""  # default: dealloy-<study name>
    nodes: int = Field(1, ge=1)
    ntasks: int = Field(2, ge=1, description="MPI ranks per run")
    cpus_per_task: int = Field(1, ge=1)
    time: str = "01:00:00"
    partition: str = ""
    account: str = ""
    qos: str = ""
    max_parallel: int | None = Field(None, ge=1, description="array throttle: --array=...%K")
    signal_seconds: int = Field(120, ge=10, description="USR1 this long before the time limit")
    launcher: Literal["srun", "mpiexec"] = "srun"
    launch: str = ""  # full launch prefix instead of launcher, e.g. "srun --mpi=pmix"
    mpi: str = "pmi2"  # srun --mpi=...
    env: list[str] = Field(default_factory=list, description="module loads, venv activation")
    sbatch_options: list[str] = Field(default_factory=list, description="extra #SBATCH options")
    dealloy: str = "dealloy"  # the command inside the job
    prebuild: bool = True  # shared glasses built once, in a job array the runs wait for

    @field_validator("time")
    @classmethod
    def _time(cls, v: str) -> str:
        if not _TIME.match(v):
            raise ValueError(f"{v!r} is not a SLURM time (MM, HH:MM:SS or D-HH:MM:SS)")
        return v

    @field_validator("sbatch_options")
    @classmethod
    def _opts(cls, v: list[str]) -> list[str]:
        for opt in v:
            if not opt.startswith("--"):
                raise ValueError(f"{opt!r}: give long sbatch options, e.g. '--mem=4G'")
        return v


class StudyFile(StrictModel):
    """The schema of a study file (``workflows/*.toml``; docs/studies.md).

    Attributes
    ----------
    name : str
        Study name (letters, digits, ``-``, ``_``, ``.``): it names the study directory.
    description : str
        One line for the report's title.
    base : str
        The base run config (a ``dealloy run`` TOML), relative to the study file.
    directory : str
        The study directory; empty: ``./studies/<name>``.
    set : dict
        Fixed overrides of the base config: dotted run-config path -> value.
    axes : dict
        Axis name -> list of values; the runs are their full product.
    runs : list of dict or None
        Explicit combinations (axis name -> value), each combined with the product of ``axes``.
    local : LocalSettings
        ``[local]``: how ``dealloy study run --local`` runs.
    slurm : SlurmSettings
        ``[slurm]``: the sbatch template's values.
    """

    name: str
    description: str = ""
    base: str  # the base run config (relative to the study file)
    directory: str = ""  # the study directory; default ./studies/<name>
    set: dict[str, Any] = Field(default_factory=dict)  # fixed overrides: dotted path -> value
    axes: dict[str, list[Any]] = Field(default_factory=dict)
    runs: list[dict[str, Any]] | None = None
    local: LocalSettings = Field(default_factory=LocalSettings)
    slurm: SlurmSettings = Field(default_factory=SlurmSettings)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"{v!r}: use letters, digits, '-', '_', '.' (it names a directory)")
        return v

    @field_validator("axes")
    @classmethod
    def _axes(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for name, values in v.items():
            if len(values) == 0:
                raise ValueError(f"axis {name!r} has no values: an empty sweep runs nothing")
        return v

    @field_validator("runs")
    @classmethod
    def _runs(cls, v):
        if v is not None and len(v) == 0:
            raise ValueError("runs = [] is an empty sweep: list at least one run or drop the key")
        return v


class Study:
    """A validated study file and where it lives.

    Parameters
    ----------
    spec : StudyFile
        The validated contents.
    path : pathlib.Path
        The study file (relative paths inside it are relative to its folder).
    """

    def __init__(self, spec: StudyFile, path: Path):
        self.spec = spec
        self.path = Path(path).resolve()

    @property
    def name(self) -> str:
        """The study's name (``name`` of the file)."""
        return self.spec.name

    @property
    def base_path(self) -> Path:
        """The base run config, absolute (``base`` relative to the study file's folder)."""
        p = Path(self.spec.base).expanduser()
        return p if p.is_absolute() else (self.path.parent / p).resolve()

    def directory(self, override: str | Path | None = None) -> Path:
        """Give the study directory.

        Parameters
        ----------
        override : str or pathlib.Path, optional
            A directory given on the command line; wins over the file's ``directory``.

        Returns
        -------
        pathlib.Path
            ``override``, else ``directory`` (relative to the study file), else
            ``./studies/<name>`` in the working directory; absolute.
        """
        if override:
            return Path(override).expanduser().resolve()
        if self.spec.directory:
            p = Path(self.spec.directory).expanduser()
            return p if p.is_absolute() else (self.path.parent / p).resolve()
        return (Path.cwd() / "studies" / self.spec.name).resolve()


def load_study(path: str | Path) -> Study:
    """Read and validate a study file.

    Parameters
    ----------
    path : str or pathlib.Path
        The study TOML.

    Returns
    -------
    Study
        The validated study.

    Raises
    ------
    ConfigError
        When the file is missing or not TOML, a key is unknown or invalid, nothing is swept
        (no ``[axes]`` and no ``[[runs]]``), or the base run config does not exist.
    """
    path = Path(path)
    data = load_toml(path)
    spec = validate(StudyFile, data, source=str(path))
    if not spec.axes and spec.runs is None:
        raise ConfigError(f"{path}: nothing to sweep: give [axes] and/or [[runs]]")
    study = Study(spec, path)
    if not study.base_path.is_file():
        raise ConfigError(f"{path}: base = {spec.base!r}: run config not found at {study.base_path}")
    return study

"""The results of the analyses as versioned models, written and read through the same class.

- :class:`Results`: what an analysis' ``compute`` leaves in ``results`` -- a dict with attribute
  access (``rdf.results.si_si`` is ``rdf.results["si_si"]``), as MDAnalysis' ``Results``.
- :class:`FrameMetrics`: one frame's metrics (:func:`dealloy.analysis.core.analyze_frame`), typed
  where the study and report read them, every other key kept as it is (``extra="allow"``).
- :class:`LiDiffusion`: the Li diffusion record of a trajectory
  (:func:`dealloy.analysis.diffusivity.li_diffusion`).
- :class:`MetricsFile`: the file ``dealloy analyze`` writes (``<run>/analysis/metrics.json``):
  ``schema_version``, ``source``, the frames, ``warnings``, ``li_diffusion``, ``li_msd``.
  :meth:`MetricsFile.write` writes it atomically (:func:`dealloy.io.write_json`);
  :meth:`MetricsFile.read` reads it, migrating older versions and refusing newer ones.

Versions of metrics.json:

- 0: dealloy before this schema (no ``schema_version`` key); read as version 1 unchanged.
- 1: the same content with ``"schema_version": 1`` as its first key.

The per-frame metrics are a model with typed known fields plus extra keys allowed (not a closed
schema): a new metric of :mod:`dealloy.analysis` appears in the file without a schema change.
Every model keeps the key order it was made from, so a file written through it has the bytes of
the dict it was made from (plus the version key).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Optional, Union

from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, ValidationError,
                      model_serializer, model_validator)

from dealloy.errors import ConfigError, NotJSONError
from dealloy.io import write_json

#: the version :meth:`MetricsFile.write` writes; files without the key are version 0
SCHEMA_VERSION = 1

# int stays int and float stays float (pydantic's smart union), so a file reads and writes back
# to the same bytes
Num = Union[float, int]


class Results(dict):
    """A dict whose keys are also attributes (``r.si_si`` is ``r["si_si"]``), as MDAnalysis' ``Results``.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`dict`.
    """

    def __getattr__(self, name: str) -> Any:
        """Return the item ``name``.

        Parameters
        ----------
        name : str
            A key.

        Returns
        -------
        object
            Its value.

        Raises
        ------
        AttributeError
            When there is no such key.
        """
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"results have no {name!r} (keys: {', '.join(self)})") from None

    def __setattr__(self, name: str, value: Any) -> None:
        """Set the item ``name`` to ``value``.

        Parameters
        ----------
        name : str
            A key.
        value : object
            Its value.
        """
        self[name] = value

    def __dir__(self):
        """List the keys beside the dict's methods (tab completion)."""
        return [*super().__dir__(), *(k for k in self if isinstance(k, str))]


class _Record(BaseModel):
    """A model that keeps the key order it was made from and also reads like a dict."""

    model_config = ConfigDict(extra="allow")
    _order: list = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_order(cls, data, handler):
        inst = handler(data)
        if isinstance(data, dict):
            inst._order = list(data)
        return inst

    @model_serializer(mode="wrap")
    def _in_order(self, handler):
        d = handler(self)
        head = {k: d[k] for k in self._order if k in d}
        return {**head, **{k: v for k, v in d.items() if k not in head}}

    def to_dict(self) -> dict:
        """Return the JSON-ready dict of this record (only the keys it was made with).

        Returns
        -------
        dict
            In the order of the dict it was made from.
        """
        return self.model_dump(mode="json", exclude_unset=True)

    def __getitem__(self, key: str) -> Any:
        """Return the value of ``key`` (dict-style access, as before these models).

        Parameters
        ----------
        key : str
            A field or extra key.

        Returns
        -------
        object
            Its value.

        Raises
        ------
        KeyError
            When the record has no such key.
        """
        if key not in self:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: str) -> bool:
        """Tell whether the record holds ``key`` (a field that was set, or an extra key).

        Parameters
        ----------
        key : str
            A key.

        Returns
        -------
        bool
            True when present.
        """
        return key in self.model_fields_set or key in (self.__pydantic_extra__ or {})

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value of ``key``, or ``default`` when the record does not hold it.

        Parameters
        ----------
        key : str
            A key.
        default : object
            Returned when absent.

        Returns
        -------
        object
            The value or ``default``.
        """
        return getattr(self, key) if key in self else default


class FrameMetrics(_Record):
    """One frame's metrics (:func:`dealloy.analysis.core.analyze_frame`; docs/analysis.md).

    Typed fields are the ones read by :mod:`dealloy.study` and :mod:`dealloy.report`; every other
    metric stays an extra key (``frame.model_extra``). A field the frame does not have is None.
    Fields marked ``column`` are the scalar summary columns of a run's final frame
    (:func:`dealloy.study.collect.final_metrics`), in this order.

    Parameters
    ----------
    **data
        The metrics, as in metrics.json.
    """

    n_atoms: Optional[int] = None
    x: Optional[Num] = Field(None, description="Li/Si", json_schema_extra={"column": True})
    n_si: Optional[int] = Field(None, json_schema_extra={"column": True})
    n_li: Optional[int] = Field(None, json_schema_extra={"column": True})
    time_ps: Optional[Num] = Field(None, description="simulation time (ps); None for a structure")
    kind: Optional[str] = Field(None, description="bulk, slab, wire or particle")
    frame: Optional[int] = Field(None, description="index in the trajectory")
    porosity: Optional[Num] = Field(None, json_schema_extra={"column": True})
    porosity_low: Optional[Num] = Field(None, json_schema_extra={"column": True})
    porosity_high: Optional[Num] = Field(None, json_schema_extra={"column": True})
    smallest_pore_diameter_nm: Optional[Num] = Field(None, json_schema_extra={"column": True})
    a2_index: Optional[Num] = Field(None, json_schema_extra={"column": True})
    si_si_coordination_mean: Optional[Num] = Field(None, json_schema_extra={"column": True})
    largest_si_cluster_fraction: Optional[Num] = Field(None, json_schema_extra={"column": True})
    pore_count: Optional[int] = Field(None, json_schema_extra={"column": True})
    specific_surface_area_m2_per_g: Optional[Num] = Field(None, json_schema_extra={"column": True})
    crystalline_fraction: Optional[Num] = Field(None, json_schema_extra={"column": True})
    crystalline_fraction_by_phase: Optional[dict[str, Any]] = Field(
        None, json_schema_extra={"column": True})
    si_cluster_count: Optional[int] = Field(None, json_schema_extra={"column": True})
    si_cluster_fractions: Optional[dict[str, Any]] = Field(
        None, description="fraction of Si in each cluster class")
    ligament_diameter_nm: Optional[Union[dict[str, Any], Num]] = Field(
        None, description="mean, median, std (nm) and their convention band")
    pore_diameter_nm: Optional[Union[dict[str, Any], Num]] = Field(
        None, description="mean, median, std (nm) and their convention band")
    rdf: Optional[dict[str, Any]] = Field(
        None, description="r_angstrom, si_si, li_si, li_li (lists)")
    notes: list[str] = Field(default_factory=list)
    timings_s: dict[str, Num] = Field(default_factory=dict, description="seconds per group")

    @classmethod
    def columns(cls) -> list[str]:
        """List the fields that are summary columns of a run (marked ``column``), in order.

        Returns
        -------
        list of str
            Field names.
        """
        return [n for n, f in cls.model_fields.items()
                if (f.json_schema_extra or {}).get("column")]


class LiDiffusion(_Record):
    """The Li tracer diffusion record of a trajectory (:func:`~dealloy.analysis.diffusivity.li_diffusion`).

    Fields a criterion cut short are absent (unset); the order is the one the record is built in.

    Parameters
    ----------
    reported : bool
        Whether D is reported (all criteria hold).
    why_not : str or None
        Which criterion failed; None when reported.
    diffusion_cm2_per_s : float or None
        D (cm²/s); None when not reported.
    criteria : dict
        The thresholds applied (``fixed_composition``, ``min_li_atoms``,
        ``min_evenly_spaced_frames``, ``drift_removed``, ``resolved``).
    n_atoms : int, optional
        Li atoms in the fixed-composition window.
    window_ps : list of float, optional
        First and last time of that window (ps).
    n_frames : int, optional
        Evenly spaced frames in it.
    d_single_hop_cm2_per_s : float, optional
        The resolution floor: D of one Li hop of the median nearest Li-Li distance over the
        window (cm²/s; :func:`~dealloy.analysis.diffusivity.single_hop_diffusivity`).
    diffusion_upper_limit_cm2_per_s : float, optional
        95 % upper limit of an unresolved D (cm²/s;
        :func:`~dealloy.analysis.diffusivity.hop_statistics`).
    diffusion_stderr_cm2_per_s : float, optional
        Standard error of D (cm²/s).
    fit_window_ps : list of float, optional
        First and last lag of the fit (ps).
    drift_removed_angstrom : float, optional
        Centre-of-mass drift subtracted over the window (Å).
    rotation_removed_deg : float, optional
        Largest rotation of an isolated particle's Si removed over the window (degrees).
    drift_of : str, optional
        Whose motion was removed: ``the Si (translation and rotation)`` (isolated particles),
        ``all atoms`` or ``the Li`` (centre of mass).
    window : str, optional
        The fixed-composition window in words.
    """

    reported: bool = False
    why_not: Optional[str] = None
    diffusion_cm2_per_s: Optional[Num] = None
    criteria: dict[str, Any] = Field(default_factory=dict)
    n_atoms: Optional[int] = None
    window_ps: Optional[list[Num]] = None
    n_frames: Optional[int] = None
    d_single_hop_cm2_per_s: Optional[Num] = None
    diffusion_upper_limit_cm2_per_s: Optional[Num] = None
    diffusion_stderr_cm2_per_s: Optional[Num] = None
    fit_window_ps: Optional[list[Num]] = None
    drift_removed_angstrom: Optional[Num] = None
    rotation_removed_deg: Optional[Num] = None
    drift_of: Optional[str] = None
    window: Optional[str] = None


class LiMSD(_Record):
    """The fitted Li MSD summary (:meth:`dealloy.analysis.trajectory.MSDResult.as_dict`).

    Parameters
    ----------
    diffusion_cm2_per_s : float
        D = slope / 6 (cm²/s).
    diffusion_stderr_cm2_per_s : float
        Its standard error (cm²/s).
    fit_window_ps : list of float
        First and last lag of the fit (ps).
    n_atoms : int
        Atoms averaged over.
    """

    diffusion_cm2_per_s: Num
    diffusion_stderr_cm2_per_s: Num
    fit_window_ps: list[Num]
    n_atoms: int


_FILE_KEYS = ("schema_version", "source", "warnings", "li_diffusion", "li_msd")


class MetricsFile(_Record):
    """The metrics file of ``dealloy analyze`` (``<run>/analysis/metrics.json``), versioned.

    On disk a selection of several frames is ``{"schema_version", "source", "frames": [...],
    "warnings", "li_diffusion", "li_msd"}``; a single frame (``--frames -1`` or a structure
    file) is that frame's metrics with ``source`` (and ``warnings``) beside them. Both read into
    the same model: :attr:`frames` always lists the frames, :attr:`single` says which layout.

    Parameters
    ----------
    schema_version : int
        The file's version (:data:`SCHEMA_VERSION` when written by this dealloy).
    source : str
        The analysed structure, trajectory or run directory.
    frames : list of FrameMetrics
        Each analysed frame's metrics, in the order analysed.
    warnings : list of str, optional
        Why the file was read only in part (a cut trajectory).
    li_diffusion : LiDiffusion, optional
        The Li diffusion record (several frames).
    li_msd : LiMSD, optional
        The fitted MSD (when D is reported).
    single : bool
        Written as one frame's metrics (a single selected frame) rather than a ``frames`` list.
    """

    schema_version: int = SCHEMA_VERSION
    source: Optional[str] = None
    frames: list[FrameMetrics] = Field(default_factory=list)
    warnings: Optional[list[str]] = None
    li_diffusion: Optional[LiDiffusion] = None
    li_msd: Optional[LiMSD] = None
    single: bool = Field(False, exclude=True)

    #: the file name inside ``<run>/analysis/``
    NAME: ClassVar[str] = "metrics.json"

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data):
        """Bring a file of an older version to this one; refuse a newer one."""
        if not isinstance(data, dict):
            return data
        version = data.get("schema_version", 0)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ValueError(f"schema_version {version!r} is newer than this dealloy reads "
                             f"({SCHEMA_VERSION}): upgrade dealloy or analyse again "
                             "(`dealloy analyze`)")
        data = dict(data)
        if version == 0:  # before the schema: same content, no version key
            data["schema_version"] = 1
        if "frames" not in data and "n_atoms" in data:  # one frame's metrics at the top
            frame = {k: v for k, v in data.items() if k not in _FILE_KEYS}
            data = {k: data[k] for k in _FILE_KEYS if k in data}
            data.update(frames=[frame], single=True)
        return data

    @model_serializer(mode="wrap")
    def _layout(self, handler):
        d = handler(self)
        d = {"schema_version": d.pop("schema_version", SCHEMA_VERSION), **d}
        if self.single and len(d.get("frames") or ()) == 1:
            frame = d.pop("frames")[0]
            d = {"schema_version": d.pop("schema_version"), **frame, **d}
        return d

    def write(self, path) -> Path:
        """Write the file atomically (:func:`dealloy.io.write_json`, temp file + rename).

        Parameters
        ----------
        path : str or os.PathLike
            The file (e.g. ``RunDir(run).metrics_json``).

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        path = Path(path)
        write_json(path, self.model_dump(mode="json", exclude_unset=True))
        return path

    @classmethod
    def read(cls, path) -> "MetricsFile":
        """Read a metrics file of this or an older version (older ones are migrated).

        Parameters
        ----------
        path : str or os.PathLike
            The file.

        Returns
        -------
        MetricsFile
            Its content at :data:`SCHEMA_VERSION`.

        Raises
        ------
        FileNotFoundError
            When there is no such file.
        NotJSONError
            One line naming the file, when it is not JSON (a ConfigError).
        ConfigError
            One line naming the file: a ``schema_version`` newer than this dealloy reads, or a
            field of the wrong type.
        """
        path = Path(path)
        raw = path.read_bytes()
        try:
            data = json.loads(raw)  # bytes: UTF-8/16/32 detected, as JSON allows
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise NotJSONError(f"{path}: not valid JSON ({e}); analyse again "
                               "(`dealloy analyze`)") from None
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "schema_version"
            msg = err["msg"].removeprefix("Value error, ")
            raise ConfigError(f"{path}: {where}: {msg}") from None


def read_run_frames(metrics_json) -> list[FrameMetrics]:
    """Read the per-frame metrics of a metrics file, [] when it is missing or unreadable.

    Parameters
    ----------
    metrics_json : str or os.PathLike
        E.g. ``RunDir(run).metrics_json``.

    Returns
    -------
    list of FrameMetrics
        The frames ([] for a missing file or one that is not JSON).

    Raises
    ------
    ConfigError
        For a file of a newer ``schema_version`` or a field of the wrong type (one line).
    """
    try:
        return MetricsFile.read(metrics_json).frames
    except (FileNotFoundError, NotJSONError):
        return []

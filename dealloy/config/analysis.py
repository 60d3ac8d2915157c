"""The parameters of each analysis (:mod:`dealloy.analysis`): one pydantic model per analysis.

Every model states its units in the field names and its accepted range in the field bounds, and
is checked where the parameters enter, before any frame is read:

- a run config's ``[analysis]`` table (:class:`AnalysisParams`, nested per analysis:
  ``[analysis.voxel] voxel_angstrom = 0.5``) when the config loads (``dealloy run``, and every
  run of a study at ``dealloy study plan/run/submit``, before anything is written);
  ``dealloy analyze RUNDIR`` analyses with the run's table;
- ``dealloy analyze`` options (:meth:`AnalysisParams.from_kwargs`), before any frame is read;
- the analyses' own constructors (``VoxelMetrics(voxel_angstrom=0.5)``), in notebooks.

A bad value is a :class:`dealloy.errors.ConfigError` of one line per problem naming the field, the
value and the accepted range. The analyses and the meaning of each parameter: docs/analysis.md.
The models live in the config layer (below :mod:`dealloy.analysis`) so the run config can hold
them; :mod:`dealloy.analysis.structure`, :mod:`dealloy.analysis.voxel` re-export them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from dealloy import materials as M
from dealloy.errors import ConfigError

#: the per-frame metric groups of ``dealloy analyze`` (``--skip`` leaves one out)
METRIC_GROUPS = ("rdf", "network", "crystal", "voxel")


class AnalysisModel(BaseModel):
    """Base of every analysis' parameters: unknown names are refused, assignments re-validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @classmethod
    def checked(cls, source: str = "", rename: dict | None = None, **values):
        """``cls(**values)`` with a validation error turned into one ConfigError line per
        problem (``<source>.<field>: <what> (got <value>); <field's description>``); ``rename``
        maps a field's path (``voxel.voxel_angstrom``) to the name the user gave it (``--voxel``).
        """
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ConfigError(describe_errors(exc, source or cls.__name__, cls, rename)) from None


def _field_of(model, loc: tuple):
    """The FieldInfo at ``loc`` in ``model`` (None if not a field path)."""
    info = None
    for p in loc:
        fields = getattr(model, "model_fields", None)
        if not fields or p not in fields:
            return info if isinstance(p, str) and info is not None else None
        info = fields[p]
        model = info.annotation
    return info


def describe_errors(exc: ValidationError, source: str, model=None,
                    rename: dict | None = None) -> str:
    """One line per problem of ``exc``: ``<source>.<field>: <message> (got <value>); <the
    field's description (units)>``; an unknown name is named as such."""
    lines: list[str] = []
    said: set[tuple] = set()
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc)
        where = (rename or {}).get(key) or (f"{source}.{key}" if key else source)
        if err["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown parameter (typo?); remove it")
            continue
        msg = err["msg"].replace("Value error, ", "")
        got = f" (got {err['input']!r})" if "input" in err and err["type"] != "value_error" else ""
        if (where, msg, got) in said:  # one option setting two fields (--si-si-cutoff)
            continue
        said.add((where, msg, got))
        info = _field_of(model, loc) if model is not None else None
        desc = f"; {info.description}" if info is not None and info.description else ""
        lines.append(f"{where}: {msg}{got}{desc}")
    return "; ".join(lines)


class RDFParams(AnalysisModel):
    """:class:`dealloy.analysis.structure.PartialRDF`: partial g(r) of Si-Si, Li-Si, Li-Li."""

    cutoff_angstrom: float = Field(8.0, gt=0, le=50, allow_inf_nan=False,
                                   description="largest pair distance of g(r), Å")
    bins: int = Field(200, ge=2, le=100000, description="number of r bins of g(r)")


class SiNetworkParams(AnalysisModel):
    """:class:`dealloy.analysis.structure.SiNetwork`: Si-Si coordination, A(2 Å) index and the
    Si cluster classes (isolated, dumbbells, small clusters, network)."""

    si_si_cutoff_angstrom: float = Field(
        2.9, gt=0, le=6, allow_inf_nan=False,
        description="Si-Si bond cutoff, Å (first minimum of a-Si's g(r))")
    small_cluster_max: int = Field(
        10, ge=3, description="largest Si cluster (Si atoms) counted as 'small'; 3..this")
    cn_max: int = Field(12, ge=4, le=64, description="last bin of the Si-Si coordination histogram")


class CrystallinityParams(AnalysisModel):
    """:class:`dealloy.analysis.structure.Crystallinity`: c-Si (diamond identification) and
    c-Li15Si4 (isolated Si with the crystal's q̄4, q̄6) shares of the atoms."""

    si_si_cutoff_angstrom: float = Field(
        2.9, gt=0, le=6, allow_inf_nan=False,
        description="an Si with an Si neighbour within this (Å) is not c-Li15Si4-like")
    li15si4_shell_angstrom: float = Field(
        5.5, gt=0, le=12, allow_inf_nan=False,
        description="Si-Si shell of c-Li15Si4 for q̄4, q̄6, Å (11 Si at 4.53-4.80 Å)")
    qbar4_tolerance: float = Field(0.03, gt=0, le=1, description="largest deviation of q̄4 from I-43d's")
    qbar6_tolerance: float = Field(0.07, gt=0, le=1, description="largest deviation of q̄6 from "
                                   "I-43d's (thermal noise ~0.03)")
    li_si_cutoff_angstrom: float = Field(
        3.2, gt=0, le=6, allow_inf_nan=False,
        description="a Li is crystalline if all its Si within this (Å) are")
    min_shell_si: int = Field(8, ge=1, le=11, description="isolated Si needed in the shell "
                              "(11 in the crystal)")

    @model_validator(mode="after")
    def _shell_beyond_bond(self):
        if self.li15si4_shell_angstrom <= self.si_si_cutoff_angstrom:
            raise ValueError(f"li15si4_shell_angstrom = {self.li15si4_shell_angstrom} must exceed "
                             f"si_si_cutoff_angstrom = {self.si_si_cutoff_angstrom} (the shell "
                             "holds the Si beyond the bond; default 5.5 Å)")
        return self


def _default_atomic_volumes() -> dict[str, float]:
    return {"Li": M.OMEGA_LI_ANGSTROM3, "Si": M.OMEGA_SI_ANGSTROM3}


class VoxelParams(AnalysisModel):
    """:class:`dealloy.analysis.voxel.VoxelMetrics`: porosity, ligament and pore local thickness,
    pore count, specific surface area (definitions: :mod:`dealloy.analysis.voxel`)."""

    voxel_angstrom: float = Field(1.0, gt=0, le=5, allow_inf_nan=False,
                                  description="voxel edge of the grid, Å")
    atomic_volume_angstrom3: dict[Literal["Li", "Si"], float] = Field(
        default_factory=_default_atomic_volumes,
        description="volume each atom carries, Å³ (c-Si a³/8; Li from c-Li15Si4)")
    density_width_angstrom: float = Field(
        1.5, ge=0.3, le=5, allow_inf_nan=False,
        description="standard deviation of each atom's Gaussian volume, Å")
    boundary_band_angstrom: float = Field(
        1.0, ge=0, le=5, allow_inf_nan=False,
        description="the convention band moves the solid's boundary by -/+ this, Å (0: no band)")
    min_pore_diameter_angstrom: float = Field(
        6.0, ge=0, le=100, allow_inf_nan=False,
        description="smallest ball a pore must hold, Å")
    envelope_probe_radius_angstrom: float = Field(
        25.0, ge=0, le=500, allow_inf_nan=False,
        description="radius of the probe that defines the particle envelope, Å")
    envelope_voxel_angstrom: float = Field(2.0, gt=0, le=20, allow_inf_nan=False,
                                           description="voxel edge of the envelope's grid, Å")
    thickness_samples: int = Field(20000, ge=1, description="points sampled for local thickness")
    band_thickness_samples: int = Field(5000, ge=1,
                                        description="points sampled for the band's thickness")
    min_pore_volume_angstrom3: float = Field(8.0, ge=0, allow_inf_nan=False,
                                             description="smallest pore counted, Å³")
    histogram_bin_nm: float = Field(0.1, gt=0, le=10, allow_inf_nan=False,
                                    description="bin width of the thickness histograms, nm")
    seed: int = Field(0, ge=0, description="seed of the thickness sampling")

    @field_validator("atomic_volume_angstrom3")
    @classmethod
    def _positive_volumes(cls, v: dict) -> dict:
        bad = sorted(s for s in ("Li", "Si") if not v.get(s, 0) > 0)
        if bad:
            raise ValueError(f"give a positive atomic volume (Å³) for {', '.join(bad)}, e.g. "
                             f"{_default_atomic_volumes()}")
        return v


class MicroscopyParams(AnalysisModel):
    """:func:`dealloy.analysis.microscopy.write_images`: virtual Z-contrast projection and
    slices (``dealloy analyze --plots``)."""

    axis: Literal["x", "y", "z"] = Field("z", description="projection axis")
    n_slices: int = Field(6, ge=1, le=60, description="number of thin slices")
    slice_thickness_angstrom: float = Field(5.0, gt=0, le=500, allow_inf_nan=False,
                                            description="thickness of each slice, Å")


class VoltageParams(AnalysisModel):
    """:func:`dealloy.analysis.voltage.write_voltage_outputs`: U vs x and dQ/dV of a run with
    electrochemical stages."""

    bin_v: float = Field(0.02, gt=0, le=1, allow_inf_nan=False,
                         description="dQ/dV bin width, V")
    window: int | None = Field(None, ge=1, description="running-median window of "
                                  "galvanostatic voltages (moves); default max(5, 2 % of them)")


#: flat names (``dealloy analyze`` options, :func:`dealloy.analysis.analyze_frame` keywords) that
#: are not a field name of exactly one group: name -> [(group, field), ...]
FLAT_ALIASES: dict[str, list[tuple[str, str]]] = {
    "rdf_cutoff_angstrom": [("rdf", "cutoff_angstrom")],
    "rdf_bins": [("rdf", "bins")],
    # the Si-Si bond cutoff is shared by the network and crystallinity analyses
    "si_si_cutoff_angstrom": [("network", "si_si_cutoff_angstrom"),
                              ("crystal", "si_si_cutoff_angstrom")],
}


class AnalysisParams(AnalysisModel):
    """All parameters of ``dealloy analyze`` (:func:`dealloy.analysis.analyze_frame`, plots,
    voltage curve), one model per analysis; a run config's ``[analysis]`` table."""

    rdf: RDFParams = Field(default_factory=RDFParams)
    network: SiNetworkParams = Field(default_factory=SiNetworkParams)
    crystal: CrystallinityParams = Field(default_factory=CrystallinityParams)
    voxel: VoxelParams = Field(default_factory=VoxelParams)
    microscopy: MicroscopyParams = Field(default_factory=MicroscopyParams)
    voltage: VoltageParams = Field(default_factory=VoltageParams)
    metrics: tuple[Literal[METRIC_GROUPS], ...] = Field(
        METRIC_GROUPS, description="per-frame metric groups computed")

    @classmethod
    def groups(cls) -> dict[str, type[AnalysisModel]]:
        """Group name (``voxel``) -> its parameter model."""
        return {k: f.annotation for k, f in cls.model_fields.items() if k != "metrics"}

    @classmethod
    def flat_names(cls) -> dict[str, list[tuple[str, str]]]:
        """Every flat parameter name -> the (group, field) pairs it sets."""
        names: dict[str, list[tuple[str, str]]] = {}
        for group, model in cls.groups().items():
            for name in model.model_fields:
                names.setdefault(name, []).append((group, name))
        ambiguous = {n for n, v in names.items() if len(v) > 1} - set(FLAT_ALIASES)
        for n in ambiguous:  # e.g. 'seed' of voxel only; keep unambiguous names only
            names.pop(n)
        return {**names, **FLAT_ALIASES}

    @classmethod
    def from_kwargs(cls, base: AnalysisParams | dict | None = None,
                    source: str = "analysis", names: dict[str, str] | None = None,
                    **kwargs: Any) -> AnalysisParams:
        """Flat names (``voxel_angstrom=0.5``, ``metrics=("voxel",)``) routed to the group that
        has them, on top of ``base`` (e.g. a run's ``[analysis]`` table), validated. ``names``
        maps a flat name to what the user typed (``{"voxel_angstrom": "--voxel"}``), for the
        messages.

        Raises
        ------
        ConfigError
            An unknown name, or a value out of its range (one line naming each).
        """
        data = (base.model_dump() if isinstance(base, AnalysisParams)
                else dict(base or {}))
        data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
        known = cls.flat_names()
        rename: dict[str, str] = {}
        for key, value in kwargs.items():
            if key == "metrics":
                data["metrics"] = tuple(value)
                continue
            if key not in known:
                raise ConfigError(f"{source}: unknown analysis parameter {key!r}; known: "
                                  f"{', '.join(sorted(known))}")
            for group, name in known[key]:
                data.setdefault(group, {})[name] = value
                rename[f"{group}.{name}"] = (names or {}).get(key, f"{source}: {key}")
        return cls.checked(source, rename=rename, **data)


__all__ = [
    "METRIC_GROUPS",
    "AnalysisModel",
    "AnalysisParams",
    "CrystallinityParams",
    "MicroscopyParams",
    "RDFParams",
    "SiNetworkParams",
    "VoltageParams",
    "VoxelParams",
    "describe_errors",
]

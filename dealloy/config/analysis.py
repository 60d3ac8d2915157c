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
    """Base of every analysis' parameters: unknown names are refused, assignments re-validated.

    A subclass declares its parameters as pydantic fields (units in the names, accepted range in
    the bounds, meaning in the description) and is built with :meth:`checked` where user input
    enters, so that a bad value is a one-line :class:`~dealloy.errors.ConfigError`.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @classmethod
    def checked(cls, source: str = "", rename: dict | None = None, **values):
        """Build ``cls(**values)``, turning a validation error into a one-line ConfigError.

        Parameters
        ----------
        source : str
            Where the values came from (``dealloy analyze``, ``<config.toml>: analysis``), the
            head of each problem's name; default: the model's class name.
        rename : dict of str to str, optional
            A field's dotted path (``voxel.voxel_angstrom``) -> the name the user gave it
            (``--voxel``), used instead of ``<source>.<path>`` in the message.
        **values
            The model's fields, in their units (names as in the model, groups as dicts).

        Returns
        -------
        AnalysisModel
            The validated instance of ``cls``.

        Raises
        ------
        ConfigError
            A value out of its range, of the wrong type or an unknown name: one message, one
            ``<source>.<field>: <what> (got <value>); <field's description>`` part per problem
            (:func:`describe_errors`).
        """
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ConfigError(describe_errors(exc, source or cls.__name__, cls, rename)) from None


def _field_of(model, loc: tuple):
    """Return the FieldInfo at ``loc`` in ``model`` (None if not a field path)."""
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
    """Describe each problem of a validation error on one line, naming the field and its range.

    Parameters
    ----------
    exc : pydantic.ValidationError
        The error of validating ``model``.
    source : str
        Where the values came from (``dealloy analyze``, ``<config.toml>: analysis``), the head
        of each problem's name.
    model : type of pydantic.BaseModel, optional
        The model validated; when given, each problem ends with its field's description (the
        meaning and units).
    rename : dict of str to str, optional
        A field's dotted path (``voxel.voxel_angstrom``) -> the name the user gave it
        (``--voxel``), used instead of ``<source>.<path>``.

    Returns
    -------
    str
        ``<source>.<field>: <message> (got <value>); <field's description (units)>`` per problem,
        joined by ``"; "``; an unknown name is reported as ``unknown parameter (typo?)``; a
        problem repeated under the same name (one option setting two fields) is said once.
    """
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
    """Parameters of :class:`dealloy.analysis.structure.PartialRDF`.

    The partial radial distribution functions g(r) of Si-Si, Li-Si and Li-Li pairs.

    Attributes
    ----------
    cutoff_angstrom : float
        Largest pair distance of g(r), Å (> 0, <= 50; default 8).
    bins : int
        Number of r bins of g(r) (2..100000; default 200).
    """

    cutoff_angstrom: float = Field(8.0, gt=0, le=50, allow_inf_nan=False,
                                   description="largest pair distance of g(r), Å")
    bins: int = Field(200, ge=2, le=100000, description="number of r bins of g(r)")


class SiNetworkParams(AnalysisModel):
    """Parameters of :class:`dealloy.analysis.structure.SiNetwork`.

    Si-Si coordination, A(2 Å) index and the Si cluster classes (isolated, dumbbells, small
    clusters, network).

    Attributes
    ----------
    si_si_cutoff_angstrom : float
        Si-Si bond cutoff, Å (> 0, <= 6; default 2.9, the first minimum of the a-Si / a-LixSi
        Si-Si g(r), :data:`dealloy.materials.SI_SI_CN_CUTOFF_ANGSTROM`).
    small_cluster_max : int
        Largest Si cluster (number of Si atoms) counted as "small"; small clusters have 3 to
        this many Si (>= 3; default 10).
    cn_max : int
        Last bin of the Si-Si coordination histogram (4..64; default 12).
    """

    si_si_cutoff_angstrom: float = Field(
        M.SI_SI_CN_CUTOFF_ANGSTROM, gt=0, le=6, allow_inf_nan=False,
        description="Si-Si bond cutoff, Å (first minimum of a-Si's g(r))")
    small_cluster_max: int = Field(
        10, ge=3, description="largest Si cluster (Si atoms) counted as 'small'; 3..this")
    cn_max: int = Field(12, ge=4, le=64, description="last bin of the Si-Si coordination histogram")


class CrystallinityParams(AnalysisModel):
    """Parameters of :class:`dealloy.analysis.structure.Crystallinity`.

    The shares of the atoms in c-Si (diamond identification) and in c-Li15Si4 (isolated Si
    whose Si shell has the crystal's averaged bond-order parameters q̄4, q̄6).

    Attributes
    ----------
    si_si_cutoff_angstrom : float
        An Si with another Si within this distance (Å) is not c-Li15Si4-like (> 0, <= 6;
        default 2.9, the Si-Si bond cutoff).
    li15si4_shell_angstrom : float
        Radius of the Si-Si shell over which q̄4, q̄6 are averaged, Å (> 0, <= 12; default 5.5:
        the ideal I-43d cell has 11 Si at 4.53-4.80 Å); must exceed ``si_si_cutoff_angstrom``.
    qbar4_tolerance : float
        Largest deviation of an Si's q̄4 from that of ideal c-Li15Si4 (I-43d), dimensionless
        (> 0, <= 1; default 0.03).
    qbar6_tolerance : float
        Largest deviation of q̄6 from I-43d's, dimensionless (> 0, <= 1; default 0.07; thermal
        noise is about 0.03).
    li_si_cutoff_angstrom : float
        A Li is crystalline if all its Si within this distance (Å) are (> 0, <= 6; default 3.2).
    min_shell_si : int
        Isolated Si needed in the shell (1..11; default 8; 11 in the ideal crystal).

    Raises
    ------
    pydantic.ValidationError
        On construction or assignment, a value out of its range or
        ``li15si4_shell_angstrom <= si_si_cutoff_angstrom`` (:meth:`AnalysisModel.checked`
        turns it into a ConfigError).

    References
    ----------
    W. Lechner, C. Dellago, "Accurate determination of crystal structures based on averaged local
    bond order parameters", J. Chem. Phys. 129 (2008) 114707, doi:10.1063/1.2977970 (q̄4, q̄6).
    """

    si_si_cutoff_angstrom: float = Field(
        M.SI_SI_CN_CUTOFF_ANGSTROM, gt=0, le=6, allow_inf_nan=False,
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
    """Parameters of :class:`dealloy.analysis.voxel.VoxelMetrics`.

    Porosity, ligament and pore local thickness, pore count and specific surface area
    (definitions: :mod:`dealloy.analysis.voxel`).

    Attributes
    ----------
    voxel_angstrom : float
        Voxel edge of the grid, Å (> 0, <= 5; default 1).
    atomic_volume_angstrom3 : dict of {"Li", "Si"} to float
        Volume each atom carries, Å³, both positive; default Si: a³/8 of c-Si
        (:data:`dealloy.materials.OMEGA_SI_ANGSTROM3`), Li: from c-Li15Si4 with the Si at its
        c-Si volume (:data:`dealloy.materials.OMEGA_LI_ANGSTROM3`).
    density_width_angstrom : float
        Standard deviation of each atom's Gaussian volume, Å (0.3..5; default 1.5).
    boundary_band_angstrom : float
        The convention band moves the solid's boundary by -/+ this, Å (0..5; default 1; 0: no
        band).
    min_pore_diameter_angstrom : float
        Diameter of the smallest ball a pore must hold, Å (0..100; default 6).
    envelope_probe_radius_angstrom : float
        Radius of the probe that defines the particle envelope, Å (0..500; default 25).
    envelope_voxel_angstrom : float
        Voxel edge of the envelope's grid, Å (> 0, <= 20; default 2).
    thickness_samples : int
        Points sampled for the local thickness (>= 1; default 20000).
    band_thickness_samples : int
        Points sampled for the band's local thickness (>= 1; default 5000).
    min_pore_volume_angstrom3 : float
        Smallest pore counted, Å³ (>= 0; default 8).
    histogram_bin_nm : float
        Bin width of the thickness histograms, nm (> 0, <= 10; default 0.1).
    seed : int
        Seed of the thickness sampling (>= 0; default 0).

    Raises
    ------
    pydantic.ValidationError
        On construction or assignment, a value out of its range or a missing or non-positive
        Li or Si atomic volume (:meth:`AnalysisModel.checked` turns it into a ConfigError).

    References
    ----------
    T. Hildebrand, P. Rüegsegger, J. Microsc. 185 (1997) 67-75,
    doi:10.1046/j.1365-2818.1997.1340694.x (local thickness).
    """

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
    """Parameters of :func:`dealloy.analysis.microscopy.write_images`.

    The virtual Z-contrast projection and slices of ``dealloy analyze --plots``.

    Attributes
    ----------
    axis : {"x", "y", "z"}
        Projection axis (default ``"z"``).
    n_slices : int
        Number of thin slices (1..60; default 6).
    slice_thickness_angstrom : float
        Thickness of each slice, Å (> 0, <= 500; default 5).
    """

    axis: Literal["x", "y", "z"] = Field("z", description="projection axis")
    n_slices: int = Field(6, ge=1, le=60, description="number of thin slices")
    slice_thickness_angstrom: float = Field(5.0, gt=0, le=500, allow_inf_nan=False,
                                            description="thickness of each slice, Å")


class VoltageParams(AnalysisModel):
    """Parameters of :func:`dealloy.analysis.voltage.write_voltage_outputs`.

    The voltage curve U vs x and dQ/dV of a run with electrochemical (potentiostatic,
    galvanostatic) stages.

    Attributes
    ----------
    bin_v : float
        dQ/dV bin width, V (> 0, <= 1; default 0.02).
    window : int, optional
        Running-median window of the galvanostatic constant-current removal voltages (CV-hold
        rows are not smoothed), in moves (>= 1); default (None):
        max(5, 2 % of the moves).
    """

    bin_v: float = Field(0.02, gt=0, le=1, allow_inf_nan=False,
                         description="dQ/dV bin width, V")
    window: int | None = Field(None, ge=1, description="running-median window of "
                                  "galvanostatic constant-current voltages (moves); default max(5, 2 % of them)")


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
    """All parameters of ``dealloy analyze``, one model per analysis; a run config's ``[analysis]``.

    Used by :func:`dealloy.analysis.analyze_frame`, the plots and the voltage curve; each group
    is a nested table of the run config (``[analysis.voxel] voxel_angstrom = 0.5``).

    Attributes
    ----------
    rdf : RDFParams
        Partial g(r).
    network : SiNetworkParams
        Si-Si coordination, A(2 Å) index, Si cluster classes.
    crystal : CrystallinityParams
        c-Si and c-Li15Si4 shares.
    voxel : VoxelParams
        Porosity, local thickness, pores, specific surface area.
    microscopy : MicroscopyParams
        Virtual-microscopy images.
    voltage : VoltageParams
        Voltage curve and dQ/dV.
    metrics : tuple of {"rdf", "network", "crystal", "voxel"}
        The per-frame metric groups computed (default: all of :data:`METRIC_GROUPS`).
    """

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
        """Build parameters from flat names, each routed to the group(s) that have it.

        Flat names are a group's field names where only one group has them (``voxel_angstrom``)
        and the aliases of :data:`FLAT_ALIASES` (``rdf_bins``; ``si_si_cutoff_angstrom`` sets
        both the network's and the crystallinity's cutoff).

        Parameters
        ----------
        base : AnalysisParams or dict, optional
            The parameters the names are set on top of (e.g. a run's ``[analysis]`` table, as a
            model or nested dict); default: the defaults.
        source : str
            Where the values came from (``dealloy analyze``), the head of each problem's name.
        names : dict of str to str, optional
            A flat name -> what the user typed (``{"voxel_angstrom": "--voxel"}``), for the
            messages.
        **kwargs
            Flat parameter names and values in the fields' units (``voxel_angstrom=0.5``), and
            ``metrics``: an iterable of metric group names (``("voxel",)``).

        Returns
        -------
        AnalysisParams
            ``base`` with the given values set, validated.

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

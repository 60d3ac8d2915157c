"""The parameters of each particle builder (:mod:`dealloy.builders`): one pydantic model per builder.

A run config's ``particle.args`` are checked against the model of ``particle.builder`` when the
config loads (:class:`dealloy.config.run.ParticleSpec`), so a misspelt or mistyped argument fails
before anything runs, naming the key. The same models say which arguments exist to study axes
(:mod:`dealloy.study.axes`, :mod:`dealloy.study.plan`) and to ``dealloy build``
(:mod:`dealloy.builders.cli`); ``tests/test_config_builders.py`` holds them to the builders'
signatures and their checks. Each field carries the builder's own bounds and choices (``gt=0``
diameters, a vacuum of at least 1.5 nm, ``Literal`` crystallinities and protocols, registry
potentials) with strict types (no ``"4"`` -> 4.0, no bool as a number), and the combinations the
builders refuse (a grain larger than the particle, ``orientation`` with a polycrystal, ``dod`` above
``x_shell / 3.75``) are model validators, so a run config is refused at load, one line naming
``particle.args.<field>``, before anything is written or any MD starts. The builders keep their
own checks (they are the API of Python users); the limits they check against
(:mod:`dealloy.materials`) and the grain check (:func:`dealloy.checks.check_grain`) are one source
for both.

A field left out (or None) is the builder's own default, documented with the builder
(docs/builders.md); only the arguments given are passed on.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dealloy import materials as M
from dealloy.checks import check_grain
from dealloy.lammps import potentials as registry  # registry.POTENTIAL_NAMES follows the registry
# the builders' limits, from their one source (config sits below the builders in the layers)
from dealloy.materials import (CRYSTALLINITIES, MAX_QUENCH_RATE_K_PER_S,
                               MIN_AMORPHOUS_DIAMETER_NM, MIN_CORE_SHELL_DIAMETER_NM,
                               MIN_VACUUM_NM)

#: Largest Li/Si of the amorphous builders (c-Li15Si4's 3.75; dealloy.builders.amorphous.X_MAX).
X_MAX = M.X_LI15SI4
#: The melt-quench protocols (the keys of dealloy.builders.amorphous.PROTOCOLS).
PROTOCOL_NAMES = ("standard", "fast")

Protocol = Literal["standard", "fast"]
Crystallinity = Literal["sc", "pc"]

# an orientation: None (random from seed), "identity", a direction [h, k, l] along z, or a 3x3
# rotation matrix
Orientation = Optional[Union[str, list[float], list[list[float]]]]

# Each field's description gives its unit and the builder's default (the value a field left out
# gets; tests/test_config_builders.py holds them to the builders' signatures). `dealloy build`
# shows them as its options' help (dealloy.builders.cli).
D_DIAMETER = "particle diameter, nm"
D_GRAIN = "mean grain diameter of a polycrystal, nm; default none (single crystal)"
D_ORIENTATION = ("single crystal: identity | 'h k l' (along z) | JSON 3x3 matrix; "
                 "default random from the seed")
D_SEED = "random seed (same seed -> identical structure); default 0"
D_A = "c-Li15Si4 lattice constant, Å; default 10.685"
D_X = "Li/Si ratio x of a-LixSi, in [0, 3.75]"
D_VACUUM = "vacuum on each side of the particle, nm (>= 1.5); default 2"
D_POTENTIAL = ("registry potential of the MD (melt-quench; si_particle: the relaxed lattice "
               "constant); default meam-godet2020 (si_particle: none)")
# the melt-quench protocol's own values (dealloy.builders.amorphous.PROTOCOLS, standard / fast)
_PROTOCOL_DEFAULTS = {
    "melt_temperature_k": (3000, 3000), "melt_ps": (20, 3), "quench_rate_k_per_s": (1e13, 2e14),
    "quench_npt_below_k": (1500, 1500), "relax_temperature_k": (300, 300), "relax_ps": (20, 3),
    "particle_relax_ps": (10, 1), "min_melt_msd_angstrom2": (5, 5)}


def _mq(what: str, key: str) -> str:
    std, fast = _PROTOCOL_DEFAULTS[key]
    return f"{what}; default: the protocol's ({std:g} standard, {fast:g} fast)"


_POS = dict(gt=0, allow_inf_nan=False)  # a finite number > 0


def _check_potential(v: Optional[str]) -> Optional[str]:
    if v is None:
        return v
    name = v.split(":", 1)[0]
    if name not in registry.POTENTIAL_NAMES or v == "reaxff":
        raise ValueError(f"unknown potential {v!r}; choose one of "
                         f"{', '.join(n for n in registry.POTENTIAL_NAMES if n != 'reaxff')} "
                         "(or reaxff:/path/to/ffield)")
    return v


class BuilderArgs(BaseModel):
    """Base of the builder parameter models: unknown arguments are refused, types are strict.

    Strict: a float field takes an int or a float (not ``"4"`` nor a bool), an int field an int
    (not ``4.0`` nor a bool), a list a list.

    Attributes
    ----------
    builder : str
        The registry name of the builder the model describes (a class constant, not a field).
    """

    model_config = ConfigDict(extra="forbid", strict=True)
    builder: ClassVar[str]


class Li15Si4CellArgs(BuilderArgs):
    """:func:`dealloy.builders.li15si4_cell`: the c-Li15Si4 unit cell.

    Attributes
    ----------
    a : float, optional
        Lattice constant, Å, > 0 (default the builder's room-temperature 10.685 Å).
    """

    builder: ClassVar[str] = "li15si4_cell"
    a: Optional[float] = Field(None, description=D_A, **_POS)


class SiParticleArgs(BuilderArgs):
    """:func:`dealloy.builders.si_particle`: a crystalline Si sphere.

    Attributes
    ----------
    diameter_nm : float
        Particle diameter, nm, at least two lattice constants (required).
    crystallinity : {"sc", "pc"}, optional
        ``"sc"`` single crystal or ``"pc"`` Voronoi polycrystal.
    grain_size_nm : float, optional
        ``pc`` only: mean equivalent-sphere grain diameter, nm, between two lattice constants and
        ``diameter_nm``.
    twin_spacing_nm : float, optional
        Distance between coherent Sigma3 {111} twin boundaries inside each grain, nm, at least
        two (111) double layers.
    orientation : str or list, optional
        ``sc`` only: None (random from ``seed``), ``"identity"``, a crystal direction [h, k, l]
        along z, or a 3x3 rotation matrix.
    seed : int, optional
        Random seed, >= 0 (orientation, grains).
    lattice_constant : float, optional
        Diamond-Si lattice constant, Å, > 0 (default: the potential's own when ``potential`` is
        given, else 5.431 Å).
    potential : str, optional
        Registry name of the potential whose relaxed Si lattice constant is used.
    vacuum_nm : float, optional
        Vacuum on each side of the particle in its box, nm, >= 1.5.
    """

    builder: ClassVar[str] = "si_particle"
    diameter_nm: float = Field(description=D_DIAMETER, **_POS)
    crystallinity: Optional[Crystallinity] = Field(None, description="sc (single crystal) | pc "
                                                   "(polycrystal); default sc")
    grain_size_nm: Optional[float] = Field(None, description="mean grain diameter of a pc "
                                           "particle, nm; default diameter / 2", **_POS)
    twin_spacing_nm: Optional[float] = Field(None, description="{111} twin spacing of a "
                                             "twinned Si particle, nm; default none (no twins)",
                                             **_POS)
    orientation: Orientation = Field(None, description=D_ORIENTATION)
    seed: Optional[int] = Field(None, description=D_SEED, ge=0)
    lattice_constant: Optional[float] = Field(None, description="Si lattice constant, Å; "
                                              "default: the potential's relaxed one when "
                                              "potential is given, else 5.431", **_POS)
    potential: Optional[str] = Field(None, description=D_POTENTIAL)
    vacuum_nm: Optional[float] = Field(None, description=D_VACUUM, ge=MIN_VACUUM_NM,
                                       allow_inf_nan=False)

    _potential = field_validator("potential")(_check_potential)

    @model_validator(mode="after")
    def _combinations(self):
        a = self.lattice_constant if self.lattice_constant is not None else M.SI_A_ANGSTROM
        check_grain(self.diameter_nm, self.grain_size_nm, a, "Si")
        if self.crystallinity in (None, "sc") and self.grain_size_nm is not None:
            raise ValueError("grain_size_nm: applies only to crystallinity = 'pc' (sc is one "
                             "grain); remove it or set crystallinity = 'pc'")
        if self.crystallinity == "pc" and self.orientation is not None:
            raise ValueError("orientation: applies only to crystallinity = 'sc' (pc grains are "
                             "randomly oriented); remove it")
        if self.twin_spacing_nm is not None and self.twin_spacing_nm < 2 * a / math.sqrt(3) / 10:
            raise ValueError(f"twin_spacing_nm: must be >= {2 * a / math.sqrt(3) / 10:.2f} nm "
                             f"(two (111) double layers), got {self.twin_spacing_nm!r}")
        return self


class Li15Si4ParticleArgs(BuilderArgs):
    """:func:`dealloy.builders.li15si4_particle`: a c-Li15Si4 sphere (single or polycrystal).

    Attributes
    ----------
    diameter_nm : float
        Particle diameter, nm, at least two lattice constants (2.14 nm at the default ``a``;
        required).
    grain_size_nm : float, optional
        Mean equivalent-sphere grain diameter, nm, between two lattice constants and
        ``diameter_nm``; None for a single crystal.
    seed : int, optional
        Random seed, >= 0 (orientation, grains).
    a : float, optional
        Lattice constant, Å, > 0.
    orientation : str or list, optional
        Single crystal only: as for :class:`SiParticleArgs`.
    vacuum_nm : float, optional
        Vacuum on each side of the particle in its box, nm, >= 1.5.
    """

    builder: ClassVar[str] = "li15si4_particle"
    diameter_nm: float = Field(description=D_DIAMETER, **_POS)
    grain_size_nm: Optional[float] = Field(None, description=D_GRAIN, **_POS)
    seed: Optional[int] = Field(None, description=D_SEED, ge=0)
    a: Optional[float] = Field(None, description=D_A, **_POS)
    orientation: Orientation = Field(None, description=D_ORIENTATION)
    vacuum_nm: Optional[float] = Field(None, description=D_VACUUM, ge=MIN_VACUUM_NM,
                                       allow_inf_nan=False)

    @model_validator(mode="after")
    def _combinations(self):
        a = self.a if self.a is not None else M.LI15SI4_A_ANGSTROM
        check_grain(self.diameter_nm, self.grain_size_nm, a, "c-Li15Si4")
        if self.grain_size_nm is not None and self.orientation is not None:
            raise ValueError("orientation: applies only to a single crystal (grain_size_nm not "
                             "given); remove one of them")
        return self


class MeltQuenchArgs(BuilderArgs):
    """Melt-quench protocol keywords (override the named ``protocol``'s values).

    The protocols and their values are :data:`dealloy.builders.amorphous.PROTOCOLS`; every
    override is > 0, the quench at most 1e15 K/s, the melt above the relaxation temperature.

    Attributes
    ----------
    protocol : {"standard", "fast"}, optional
        ``"standard"`` (production: quench at 1e13 K/s) or ``"fast"`` (tests only).
    melt_temperature_k : float, optional
        Melt temperature, K.
    melt_ps : float, optional
        Time in the melt, ps.
    quench_rate_k_per_s : float, optional
        Cooling rate of the quench, K/s.
    quench_npt_below_k : float, optional
        Temperature below which the quench runs at constant pressure (NPT), K.
    relax_temperature_k : float, optional
        Temperature of the final relaxation, K.
    relax_ps : float, optional
        Time of the final NPT relaxation, ps.
    min_melt_msd_angstrom2 : float, optional
        Smallest mean-squared displacement that proves the cell melted, Å^2.
    """

    protocol: Optional[Protocol] = Field(None, description="melt-quench protocol: standard | "
                                         "fast; default standard")
    melt_temperature_k: Optional[float] = Field(None, description=_mq(
        "melt temperature, K", "melt_temperature_k"), **_POS)
    melt_ps: Optional[float] = Field(None, description=_mq("time in the melt, ps", "melt_ps"),
                                     **_POS)
    quench_rate_k_per_s: Optional[float] = Field(None, description=_mq(
        "quench rate, K/s", "quench_rate_k_per_s"), le=MAX_QUENCH_RATE_K_PER_S, **_POS)
    quench_npt_below_k: Optional[float] = Field(None, description=_mq(
        "quench at constant pressure below this temperature, K", "quench_npt_below_k"), **_POS)
    relax_temperature_k: Optional[float] = Field(None, description=_mq(
        "relaxation temperature after the quench, K", "relax_temperature_k"), **_POS)
    relax_ps: Optional[float] = Field(None, description=_mq("relaxation time, ps", "relax_ps"),
                                      **_POS)
    min_melt_msd_angstrom2: Optional[float] = Field(None, description=_mq(
        "least Si mean-squared displacement that proves the melt, Å²", "min_melt_msd_angstrom2"),
        **_POS)

    @model_validator(mode="after")
    def _melt_above_relax(self):
        i = PROTOCOL_NAMES.index(self.protocol or "standard")
        melt = (self.melt_temperature_k if self.melt_temperature_k is not None
                else _PROTOCOL_DEFAULTS["melt_temperature_k"][i])
        relax = (self.relax_temperature_k if self.relax_temperature_k is not None
                 else _PROTOCOL_DEFAULTS["relax_temperature_k"][i])
        if melt <= relax:
            raise ValueError(f"melt_temperature_k: must be above relax_temperature_k ({melt:g} <= "
                             f"{relax:g} K); raise the melt or lower the relaxation temperature")
        return self


class AmorphousLiSiArgs(MeltQuenchArgs):
    """:func:`dealloy.builders.amorphous_lisi`: a periodic a-LixSi cell (melt-quench).

    Attributes
    ----------
    x : float
        Li/Si of the cell, 0 <= x <= 3.75 (required).
    n_si : int, optional
        Si atoms in the cell, >= 1.
    seed : int, optional
        Random seed, >= 0 (packing, velocities).
    potential : str, optional
        Registry name of the potential the melt-quench runs with.
    """

    builder: ClassVar[str] = "amorphous_lisi"
    x: float = Field(description=D_X, ge=0, le=X_MAX, allow_inf_nan=False)
    n_si: Optional[int] = Field(None, description="number of Si atoms of the cell; default 64",
                                ge=1)
    seed: Optional[int] = Field(None, description=D_SEED, ge=0)
    potential: Optional[str] = Field(None, description=D_POTENTIAL)

    _potential = field_validator("potential")(_check_potential)


class _ParticleMeltQuenchArgs(MeltQuenchArgs):
    particle_relax_ps: Optional[float] = Field(None, description=_mq(
        "relaxation of the carved particle, ps", "particle_relax_ps"), **_POS)
    seed: Optional[int] = Field(None, description=D_SEED, ge=0)
    potential: Optional[str] = Field(None, description=D_POTENTIAL)
    bulk_n_si: Optional[int] = Field(None, description="Si atoms of the melt-quenched bulk cell "
                                     "tiled into the particle; default: from the diameter", ge=1)
    vacuum_nm: Optional[float] = Field(None, description=D_VACUUM, ge=MIN_VACUUM_NM,
                                       allow_inf_nan=False)

    _potential = field_validator("potential")(_check_potential)


class AmorphousLiSiParticleArgs(_ParticleMeltQuenchArgs):
    """:func:`dealloy.builders.amorphous_lisi_particle`: an a-LixSi sphere (melt-quench).

    Besides the fields below, the melt-quench keywords of :class:`MeltQuenchArgs` and
    ``particle_relax_ps`` (Langevin relaxation of the cut particle, ps), ``seed``, ``potential``,
    ``bulk_n_si`` (Si in the melt-quenched bulk cell that is tiled) and ``vacuum_nm`` (nm).

    Attributes
    ----------
    diameter_nm : float
        Particle diameter, nm, >= 1.0 (required).
    x : float
        Li/Si of the particle, 0 <= x <= 3.75 (required).
    """

    builder: ClassVar[str] = "amorphous_lisi_particle"
    diameter_nm: float = Field(description=D_DIAMETER, ge=MIN_AMORPHOUS_DIAMETER_NM,
                               allow_inf_nan=False)
    x: float = Field(description=D_X, ge=0, le=X_MAX, allow_inf_nan=False)


class CoreShellParticleArgs(_ParticleMeltQuenchArgs):
    """:func:`dealloy.builders.core_shell_particle`: c-Si core in an a-LixSi shell (partial DOD).

    Besides the fields below, the keywords listed for :class:`AmorphousLiSiParticleArgs`
    (melt-quench, ``particle_relax_ps``, ``seed``, ``potential``, ``bulk_n_si``, ``vacuum_nm``).

    Attributes
    ----------
    diameter_nm : float
        Particle diameter, nm, >= 1.5 (required).
    dod : float
        Depth of discharge of the starting state, 0 < dod <= 1: overall Li/Si = 3.75 dod
        (required).
    x_shell : float, optional
        Li/Si of the amorphous shell (3.75 dod <= x_shell <= 3.75).
    """

    builder: ClassVar[str] = "core_shell_particle"
    diameter_nm: float = Field(description=D_DIAMETER, ge=MIN_CORE_SHELL_DIAMETER_NM,
                               allow_inf_nan=False)
    dod: float = Field(description="depth of discharge of the starting state, in (0, 1]",
                       gt=0, le=1, allow_inf_nan=False)
    x_shell: Optional[float] = Field(None, description="Li/Si ratio of the a-LixSi shell; "
                                     "default 3.5", gt=0, le=X_MAX, allow_inf_nan=False)

    @model_validator(mode="after")
    def _dod_below_shell(self):
        x_shell = self.x_shell if self.x_shell is not None else 3.5
        if X_MAX * self.dod > x_shell + 1e-12:
            raise ValueError(f"dod: must be <= x_shell/3.75 = {x_shell / X_MAX:.3f} (overall Li/Si "
                             f"3.75 dod cannot exceed the shell's x_shell = {x_shell:g}), got "
                             f"{self.dod!r}; raise x_shell (<= 3.75) or lower dod")
        return self


#: builder name -> its parameter model (the names of :data:`dealloy.builders.BUILDERS`)
BUILDER_ARGS: dict[str, type[BuilderArgs]] = {m.builder: m for m in (
    Li15Si4CellArgs, SiParticleArgs, Li15Si4ParticleArgs, AmorphousLiSiArgs,
    AmorphousLiSiParticleArgs, CoreShellParticleArgs)}


def builder_key(name: str) -> str:
    """Give the registry name of a builder (hyphens allowed: ``li15si4-particle``).

    Parameters
    ----------
    name : str
        A builder name as a user writes it.

    Returns
    -------
    str
        The name with hyphens replaced by underscores (``li15si4_particle``).
    """
    return str(name).replace("-", "_")


def builder_args_model(name: str) -> type[BuilderArgs]:
    """Return the parameter model of builder ``name``.

    Parameters
    ----------
    name : str
        Builder name (hyphens or underscores).

    Returns
    -------
    type of BuilderArgs
        The model, e.g. :class:`SiParticleArgs`.

    Raises
    ------
    ValueError
        Unknown builder (the message lists the builders).
    """
    model = BUILDER_ARGS.get(builder_key(name))
    if model is None:
        raise ValueError(f"unknown builder {name!r}; choose one of: {', '.join(BUILDER_ARGS)}")
    return model


def builder_parameters(name: str) -> dict[str, Any]:
    """Map each argument of builder ``name`` to its pydantic FieldInfo.

    Parameters
    ----------
    name : str
        Builder name (hyphens or underscores).

    Returns
    -------
    dict
        Argument name -> :class:`pydantic.fields.FieldInfo` (type, default); empty for an
        unknown builder.
    """
    model = BUILDER_ARGS.get(builder_key(name))
    return dict(model.model_fields) if model is not None else {}


def check_builder_args(name: str, args: dict, where: str = "particle.args",
                       complete: bool = True) -> None:
    """Check ``args`` against builder ``name``'s model.

    Names, strict types, bounds, choices and the combinations the builder refuses (the model's
    validators); ``complete=True`` (a run config as it loads, and before a builder is called) also
    that every required argument is given, ``complete=False`` (a partial set, e.g. a study's
    base before its sweep fills arguments in) not.

    Parameters
    ----------
    name : str
        Builder name (hyphens or underscores).
    args : dict
        The builder's keyword arguments as given (e.g. a run config's ``particle.args``).
    where : str
        Dotted path of ``args`` in the config, the head of each error line.
    complete : bool
        Also require every argument without a default.

    Raises
    ------
    ValueError
        One line per problem: ``<where>.<key>: <what>``, listing the builder's arguments for an
        unknown or missing one.
    """
    model = builder_args_model(name)
    try:
        model.model_validate(args)
    except ValidationError as exc:
        problems, seen = [], set()
        errors = exc.errors()
        for err in errors:
            if err["type"] == "missing" and not complete:
                continue
            key = ".".join(str(p) for p in err["loc"][:1])  # a union's member name dropped
            if key and key in seen:
                continue
            seen.add(key)
            if key and sum(1 for e in errors if e["loc"][:1] == err["loc"][:1]) > 1:
                # a union (orientation): no member matched
                field = model.model_fields[key]
                problems.append(f"{where}.{key}: not one of its forms ({field.description}) "
                                f"(got {err.get('input')!r})")
                continue
            if err["type"] == "extra_forbidden":
                msg = f"builder {model.builder!r} takes no argument {key!r}; remove it"
            elif err["type"] == "missing":
                msg = f"builder {model.builder!r} needs {key!r}; add it"
            elif not key:  # a model validator: its message starts with the field's name
                problems.append(f"{where}.{err['msg'].removeprefix('Value error, ')}")
                continue
            elif err["type"] in _BOUNDS:
                msg = f"must be {_BOUNDS[err['type']]} {_bound(err)} (got {err.get('input')!r})"
            else:
                msg = f"{err['msg'].removeprefix('Value error, ')} (got {err.get('input')!r})"
            problems.append(f"{where}.{key}: {msg}")
        if not problems:
            return
        names = any(e["type"] in ("extra_forbidden", "missing") for e in errors)
        raise ValueError("; ".join(problems) + (f" (its arguments: "
                         f"{', '.join(model.model_fields)})" if names else "")) from None


#: pydantic's bound errors, said the way the builders and the other models say them ("> 0")
_BOUNDS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
           "less_than_equal": "<="}


def _bound(err: dict) -> str:
    """Return the limit of a pydantic bound error (its ``ctx``) as text."""
    ctx = err.get("ctx") or {}
    return str(next(iter(ctx.values()), "?"))


__all__ = ["BUILDER_ARGS", "BuilderArgs", "builder_args_model", "builder_key",
           "builder_parameters", "check_builder_args"]

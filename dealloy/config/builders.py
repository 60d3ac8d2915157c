"""The parameters of each particle builder (:mod:`dealloy.builders`): one pydantic model per builder.

A run config's ``particle.args`` are checked against the model of ``particle.builder`` when the
config loads (:class:`dealloy.config.run.ParticleSpec`), so a misspelt or mistyped argument fails
before anything runs, naming the key. The same models say which arguments exist to study axes
(:mod:`dealloy.study.axes`, :mod:`dealloy.study.plan`) and to ``dealloy build``
(:mod:`dealloy.builders.cli`); ``tests/test_config_builders.py`` holds them to the builders'
signatures. Ranges and combinations are checked by the builders themselves, before they build.

A field left out (or None) is the builder's own default, documented with the builder
(docs/builders.md); only the arguments given are passed on.
"""

from __future__ import annotations

from typing import Any, ClassVar, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


class BuilderArgs(BaseModel):
    """Base of the builder parameter models: unknown arguments are refused.

    Attributes
    ----------
    builder : str
        The registry name of the builder the model describes (a class constant, not a field).
    """

    model_config = ConfigDict(extra="forbid")
    builder: ClassVar[str]


class Li15Si4CellArgs(BuilderArgs):
    """:func:`dealloy.builders.li15si4_cell`: the c-Li15Si4 unit cell.

    Attributes
    ----------
    a : float, optional
        Lattice constant, Å (default the builder's room-temperature 10.685 Å).
    """

    builder: ClassVar[str] = "li15si4_cell"
    a: Optional[float] = Field(None, description=D_A)


class SiParticleArgs(BuilderArgs):
    """:func:`dealloy.builders.si_particle`: a crystalline Si sphere.

    Attributes
    ----------
    diameter_nm : float
        Particle diameter, nm (required).
    crystallinity : str, optional
        ``"sc"`` single crystal or ``"pc"`` Voronoi polycrystal.
    grain_size_nm : float, optional
        Mean equivalent-sphere grain diameter of a polycrystal, nm.
    twin_spacing_nm : float, optional
        Distance between coherent Sigma3 {111} twin boundaries inside each grain, nm.
    orientation : str or list, optional
        None (random from ``seed``), ``"identity"``, a crystal direction [h, k, l] along z, or a
        3x3 rotation matrix.
    seed : int, optional
        Random seed (orientation, grains).
    lattice_constant : float, optional
        Diamond-Si lattice constant, Å (default: the potential's own when ``potential`` is
        given, else 5.431 Å).
    potential : str, optional
        Registry name of the potential whose relaxed Si lattice constant is used.
    vacuum_nm : float, optional
        Vacuum on each side of the particle in its box, nm.
    """

    builder: ClassVar[str] = "si_particle"
    diameter_nm: float = Field(description=D_DIAMETER)
    crystallinity: Optional[str] = Field(None, description="sc (single crystal) | pc "
                                         "(polycrystal); default sc")
    grain_size_nm: Optional[float] = Field(None, description="mean grain diameter of a pc "
                                           "particle, nm; default diameter / 2")
    twin_spacing_nm: Optional[float] = Field(None, description="{111} twin spacing of a "
                                             "twinned Si particle, nm; default none (no twins)")
    orientation: Orientation = Field(None, description=D_ORIENTATION)
    seed: Optional[int] = Field(None, description=D_SEED)
    lattice_constant: Optional[float] = Field(None, description="Si lattice constant, Å; "
                                              "default: the potential's relaxed one when "
                                              "potential is given, else 5.431")
    potential: Optional[str] = Field(None, description=D_POTENTIAL)
    vacuum_nm: Optional[float] = Field(None, description=D_VACUUM)


class Li15Si4ParticleArgs(BuilderArgs):
    """:func:`dealloy.builders.li15si4_particle`: a c-Li15Si4 sphere (single or polycrystal).

    Attributes
    ----------
    diameter_nm : float
        Particle diameter, nm (required).
    grain_size_nm : float, optional
        Mean equivalent-sphere grain diameter, nm; None for a single crystal.
    seed : int, optional
        Random seed (orientation, grains).
    a : float, optional
        Lattice constant, Å.
    orientation : str or list, optional
        As for :class:`SiParticleArgs`.
    vacuum_nm : float, optional
        Vacuum on each side of the particle in its box, nm.
    """

    builder: ClassVar[str] = "li15si4_particle"
    diameter_nm: float = Field(description=D_DIAMETER)
    grain_size_nm: Optional[float] = Field(None, description=D_GRAIN)
    seed: Optional[int] = Field(None, description=D_SEED)
    a: Optional[float] = Field(None, description=D_A)
    orientation: Orientation = Field(None, description=D_ORIENTATION)
    vacuum_nm: Optional[float] = Field(None, description=D_VACUUM)


class MeltQuenchArgs(BuilderArgs):
    """Melt-quench protocol keywords (override the named ``protocol``'s values).

    The protocols and their values are :data:`dealloy.builders.amorphous.PROTOCOLS`.

    Attributes
    ----------
    protocol : str, optional
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

    protocol: Optional[str] = Field(None, description="melt-quench protocol: standard | fast; "
                                    "default standard")
    melt_temperature_k: Optional[float] = Field(None, description=_mq("melt temperature, K",
                                                                      "melt_temperature_k"))
    melt_ps: Optional[float] = Field(None, description=_mq("time in the melt, ps", "melt_ps"))
    quench_rate_k_per_s: Optional[float] = Field(None, description=_mq(
        "quench rate, K/s", "quench_rate_k_per_s"))
    quench_npt_below_k: Optional[float] = Field(None, description=_mq(
        "quench at constant pressure below this temperature, K", "quench_npt_below_k"))
    relax_temperature_k: Optional[float] = Field(None, description=_mq(
        "relaxation temperature after the quench, K", "relax_temperature_k"))
    relax_ps: Optional[float] = Field(None, description=_mq("relaxation time, ps", "relax_ps"))
    min_melt_msd_angstrom2: Optional[float] = Field(None, description=_mq(
        "least Si mean-squared displacement that proves the melt, Å²", "min_melt_msd_angstrom2"))


class AmorphousLiSiArgs(MeltQuenchArgs):
    """:func:`dealloy.builders.amorphous_lisi`: a periodic a-LixSi cell (melt-quench).

    Attributes
    ----------
    x : float
        Li/Si of the cell, 0 <= x <= 3.75 (required).
    n_si : int, optional
        Si atoms in the cell.
    seed : int, optional
        Random seed (packing, velocities).
    potential : str, optional
        Registry name of the potential the melt-quench runs with.
    """

    builder: ClassVar[str] = "amorphous_lisi"
    x: float = Field(description=D_X)
    n_si: Optional[int] = Field(None, description="number of Si atoms of the cell; default 64")
    seed: Optional[int] = Field(None, description=D_SEED)
    potential: Optional[str] = Field(None, description=D_POTENTIAL)


class _ParticleMeltQuenchArgs(MeltQuenchArgs):
    particle_relax_ps: Optional[float] = Field(None, description=_mq(
        "relaxation of the carved particle, ps", "particle_relax_ps"))
    seed: Optional[int] = Field(None, description=D_SEED)
    potential: Optional[str] = Field(None, description=D_POTENTIAL)
    bulk_n_si: Optional[int] = Field(None, description="Si atoms of the melt-quenched bulk cell "
                                     "tiled into the particle; default: from the diameter")
    vacuum_nm: Optional[float] = Field(None, description=D_VACUUM)


class AmorphousLiSiParticleArgs(_ParticleMeltQuenchArgs):
    """:func:`dealloy.builders.amorphous_lisi_particle`: an a-LixSi sphere (melt-quench).

    Besides the fields below, the melt-quench keywords of :class:`MeltQuenchArgs` and
    ``particle_relax_ps`` (Langevin relaxation of the cut particle, ps), ``seed``, ``potential``,
    ``bulk_n_si`` (Si in the melt-quenched bulk cell that is tiled) and ``vacuum_nm`` (nm).

    Attributes
    ----------
    diameter_nm : float
        Particle diameter, nm (required).
    x : float
        Li/Si of the particle, 0 <= x <= 3.75 (required).
    """

    builder: ClassVar[str] = "amorphous_lisi_particle"
    diameter_nm: float = Field(description=D_DIAMETER)
    x: float = Field(description=D_X)


class CoreShellParticleArgs(_ParticleMeltQuenchArgs):
    """:func:`dealloy.builders.core_shell_particle`: c-Si core in an a-LixSi shell (partial DOD).

    Besides the fields below, the keywords listed for :class:`AmorphousLiSiParticleArgs`
    (melt-quench, ``particle_relax_ps``, ``seed``, ``potential``, ``bulk_n_si``, ``vacuum_nm``).

    Attributes
    ----------
    diameter_nm : float
        Particle diameter, nm (required).
    dod : float
        Depth of discharge of the starting state, 0 < dod <= 1: overall Li/Si = 3.75 dod
        (required).
    x_shell : float, optional
        Li/Si of the amorphous shell (3.75 dod <= x_shell <= 3.75).
    """

    builder: ClassVar[str] = "core_shell_particle"
    diameter_nm: float = Field(description=D_DIAMETER)
    dod: float = Field(description="depth of discharge of the starting state, in (0, 1]")
    x_shell: Optional[float] = Field(None, description="Li/Si ratio of the a-LixSi shell; "
                                     "default 3.5")


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

    ``complete=False`` (a run config as it loads: a study may still fill arguments in) checks
    names and types only; ``complete=True`` (before the builder is called) also that every
    required argument is given.

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
        problems = []
        for err in exc.errors():
            if err["type"] == "missing" and not complete:
                continue
            key = ".".join(str(p) for p in err["loc"])
            if err["type"] == "extra_forbidden":
                msg = f"builder {model.builder!r} takes no argument {key!r}"
            elif err["type"] == "missing":
                msg = f"builder {model.builder!r} needs {key!r}"
            else:
                msg = f"{err['msg']} (got {err.get('input')!r})"
            problems.append(f"{where}.{key}: {msg}")
        if not problems:
            return
        raise ValueError("; ".join(problems) + f" (its arguments: "
                         f"{', '.join(model.model_fields)})") from None


__all__ = ["BUILDER_ARGS", "BuilderArgs", "builder_args_model", "builder_key",
           "builder_parameters", "check_builder_args"]

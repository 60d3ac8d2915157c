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

from pydantic import BaseModel, ConfigDict, ValidationError

# an orientation: None (random from seed), "identity", a direction [h, k, l] along z, or a 3x3
# rotation matrix
Orientation = Optional[Union[str, list[float], list[list[float]]]]


class BuilderArgs(BaseModel):
    """Base: unknown arguments are refused."""

    model_config = ConfigDict(extra="forbid")
    builder: ClassVar[str]


class Li15Si4CellArgs(BuilderArgs):
    """:func:`dealloy.builders.li15si4_cell`: the c-Li15Si4 unit cell."""

    builder: ClassVar[str] = "li15si4_cell"
    a: Optional[float] = None  # lattice constant, Å


class SiParticleArgs(BuilderArgs):
    """:func:`dealloy.builders.si_particle`: a crystalline Si sphere."""

    builder: ClassVar[str] = "si_particle"
    diameter_nm: float
    crystallinity: Optional[str] = None  # "sc" | "pc"
    grain_size_nm: Optional[float] = None
    twin_spacing_nm: Optional[float] = None
    orientation: Orientation = None
    seed: Optional[int] = None
    lattice_constant: Optional[float] = None  # Å
    potential: Optional[str] = None
    vacuum_nm: Optional[float] = None


class Li15Si4ParticleArgs(BuilderArgs):
    """:func:`dealloy.builders.li15si4_particle`: a c-Li15Si4 sphere (single or polycrystal)."""

    builder: ClassVar[str] = "li15si4_particle"
    diameter_nm: float
    grain_size_nm: Optional[float] = None
    seed: Optional[int] = None
    a: Optional[float] = None  # lattice constant, Å
    orientation: Orientation = None
    vacuum_nm: Optional[float] = None


class MeltQuenchArgs(BuilderArgs):
    """Melt-quench protocol keywords (override the named ``protocol``'s values)."""

    protocol: Optional[str] = None  # "standard" | "fast"
    melt_temperature_k: Optional[float] = None
    melt_ps: Optional[float] = None
    quench_rate_k_per_s: Optional[float] = None
    quench_npt_below_k: Optional[float] = None
    relax_temperature_k: Optional[float] = None
    relax_ps: Optional[float] = None
    min_melt_msd_angstrom2: Optional[float] = None


class AmorphousLiSiArgs(MeltQuenchArgs):
    """:func:`dealloy.builders.amorphous_lisi`: a periodic a-LixSi cell (melt-quench)."""

    builder: ClassVar[str] = "amorphous_lisi"
    x: float  # Li/Si
    n_si: Optional[int] = None
    seed: Optional[int] = None
    potential: Optional[str] = None


class _ParticleMeltQuenchArgs(MeltQuenchArgs):
    particle_relax_ps: Optional[float] = None
    seed: Optional[int] = None
    potential: Optional[str] = None
    bulk_n_si: Optional[int] = None
    vacuum_nm: Optional[float] = None


class AmorphousLiSiParticleArgs(_ParticleMeltQuenchArgs):
    """:func:`dealloy.builders.amorphous_lisi_particle`: an a-LixSi sphere (melt-quench)."""

    builder: ClassVar[str] = "amorphous_lisi_particle"
    diameter_nm: float
    x: float  # Li/Si


class CoreShellParticleArgs(_ParticleMeltQuenchArgs):
    """:func:`dealloy.builders.core_shell_particle`: c-Si core in an a-LixSi shell (partial DOD)."""

    builder: ClassVar[str] = "core_shell_particle"
    diameter_nm: float
    dod: float  # depth of discharge of the starting state, 0 < dod <= 1
    x_shell: Optional[float] = None  # Li/Si of the shell


#: builder name -> its parameter model (the names of :data:`dealloy.builders.BUILDERS`)
BUILDER_ARGS: dict[str, type[BuilderArgs]] = {m.builder: m for m in (
    Li15Si4CellArgs, SiParticleArgs, Li15Si4ParticleArgs, AmorphousLiSiArgs,
    AmorphousLiSiParticleArgs, CoreShellParticleArgs)}


def builder_key(name: str) -> str:
    """The registry name of a builder (hyphens allowed: ``li15si4-particle``)."""
    return str(name).replace("-", "_")


def builder_args_model(name: str) -> type[BuilderArgs]:
    """The parameter model of builder ``name``.

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
    """Argument name -> pydantic FieldInfo of builder ``name`` (empty if unknown)."""
    model = BUILDER_ARGS.get(builder_key(name))
    return dict(model.model_fields) if model is not None else {}


def check_builder_args(name: str, args: dict, where: str = "particle.args",
                       complete: bool = True) -> None:
    """Check ``args`` against builder ``name``'s model.

    ``complete=False`` (a run config as it loads: a study may still fill arguments in) checks
    names and types only; ``complete=True`` (before the builder is called) also that every
    required argument is given.

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

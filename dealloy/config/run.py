"""Run config (``dealloy run CONFIG.toml``): the typed schema of docs/run-config.md.

Everything a run needs is validated here, before any LAMMPS starts: unknown keys (typos), unknown
stage types / selectors / potentials, non-positive times and rates, a particle given both as file
and builder. Checks that need the particle itself (x_final below the starting x, a particle
without Li for extraction) run in :func:`dealloy.engine.run.prepare`, still before LAMMPS.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import Field, ValidationError, field_validator, model_validator

from dealloy.config import StrictModel, dump_toml, load_toml
from dealloy.errors import ConfigError
from dealloy.potentials import DEFAULT_POTENTIAL

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]

SELECTORS = ("surface", "shell", "random")
STAGE_TYPES = ("minimize", "equilibrate", "extract", "insert", "hold", "anneal")


class ParticleSpec(StrictModel):
    """The starting structure: exactly one of ``file`` or ``builder`` (+ ``args``)."""

    file: Optional[str] = None
    builder: Optional[str] = None
    args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_source(self):
        if (self.file is None) == (self.builder is None):
            raise ValueError("give exactly one of particle.file (a structure file) or "
                             "particle.builder (a dealloy.build builder name)")
        if self.file is not None and self.args:
            raise ValueError("particle.args only applies to particle.builder; remove it")
        return self


class MinimizeStage(StrictModel):
    type: Literal["minimize"]
    ftol_ev_per_angstrom: PositiveFloat = 1e-4
    maxiter: Annotated[int, Field(gt=0)] = 2000


class _TimedStage(StrictModel):
    time_ps: PositiveFloat = 20.0
    temperature_k: Optional[PositiveFloat] = None  # default: the run's temperature_k


class EquilibrateStage(_TimedStage):
    type: Literal["equilibrate"]


class HoldStage(_TimedStage):
    type: Literal["hold"]


class AnnealStage(StrictModel):
    type: Literal["anneal"]
    temperature_start_k: PositiveFloat = 300.0
    temperature_end_k: PositiveFloat = 600.0
    time_ps: PositiveFloat = 50.0


class _ExchangeStage(StrictModel):
    """Common keys of extract/insert: a batch of Li every interval_ps, at a rate."""

    x_final: NonNegFloat = 0.0
    interval_ps: PositiveFloat = 0.5
    batch: Optional[Annotated[int, Field(gt=0)]] = None
    rate_li_per_ps: Optional[PositiveFloat] = None
    rate_fraction_per_ns: Optional[PositiveFloat] = None
    max_time_ps: Optional[PositiveFloat] = None
    temperature_k: Optional[PositiveFloat] = None
    probe_radius_angstrom: PositiveFloat = 3.0  # electrolyte probe: closest approach to an atom
    voxel_angstrom: Annotated[float, Field(gt=0.2, le=2.0)] = 0.7

    @model_validator(mode="after")
    def _one_rate(self):
        given = [k for k in ("batch", "rate_li_per_ps", "rate_fraction_per_ns")
                 if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give only one of batch, rate_li_per_ps, rate_fraction_per_ns "
                             f"(got {', '.join(given)})")
        return self

    def li_per_interval(self, li_reference: int) -> float:
        """Mean Li exchanged per interval (may be fractional; the engine carries the remainder)."""
        if self.rate_li_per_ps is not None:
            return self.rate_li_per_ps * self.interval_ps
        if self.rate_fraction_per_ns is not None:
            return self.rate_fraction_per_ns * li_reference * self.interval_ps / 1000.0
        return float(self.batch if self.batch is not None else 10)


class ExtractStage(_ExchangeStage):
    type: Literal["extract"]
    selector: Literal["surface", "shell", "random"] = "surface"
    shell_width_nm: PositiveFloat = 0.5
    surface_depth_angstrom: NonNegFloat = 1.0  # tolerance of the surface criterion (> voxel)
    patience_intervals: Annotated[int, Field(gt=0)] = 40  # stop after this many empty intervals


class InsertStage(_ExchangeStage):
    type: Literal["insert"]
    x_final: NonNegFloat  # required: the target Li/Si
    site_distance_angstrom: PositiveFloat = 2.6  # new Li at this distance from the nearest atom
    patience_intervals: Annotated[int, Field(gt=0)] = 40


Stage = Annotated[
    Union[MinimizeStage, EquilibrateStage, ExtractStage, InsertStage, HoldStage, AnnealStage],
    Field(discriminator="type"),
]


def default_stages() -> list:
    return [
        MinimizeStage(type="minimize"),
        EquilibrateStage(type="equilibrate", time_ps=20.0),
        ExtractStage(type="extract", x_final=0.0, selector="surface"),
        HoldStage(type="hold", time_ps=20.0),
    ]


class RunConfig(StrictModel):
    potential: str = DEFAULT_POTENTIAL
    ffield: str = ""
    temperature_k: PositiveFloat = 300.0
    timestep_ps: Optional[PositiveFloat] = None
    thermostat: Literal["langevin", "nose-hoover"] = "langevin"
    damping_ps: PositiveFloat = 0.1
    seed: Annotated[int, Field(ge=0)] = 1
    dump_interval_ps: NonNegFloat = 1.0
    thermo_interval_ps: PositiveFloat = 0.1
    checkpoint_ps: PositiveFloat = 10.0
    allow_atom_loss: bool = False
    particle: ParticleSpec
    stages: list[Stage] = Field(default_factory=default_stages)

    @field_validator("potential")
    @classmethod
    def _known_potential(cls, v: str) -> str:
        from dealloy.potentials import POTENTIAL_NAMES

        name = v.split(":", 1)[0]
        if name not in POTENTIAL_NAMES:
            raise ValueError(f"unknown potential '{v}'; choose one of {', '.join(POTENTIAL_NAMES)}")
        return v

    @model_validator(mode="after")
    def _checks(self):
        if self.potential == "reaxff" and not self.ffield:
            raise ValueError("potential = 'reaxff' needs ffield = '/path/to/ffield'")
        if not self.stages:
            raise ValueError("stages is empty; give at least one [[stages]] or omit the key for "
                             "the default protocol")
        return self

    # ---- derived ------------------------------------------------------------------------
    def resolved_timestep_ps(self) -> float:
        if self.timestep_ps is not None:
            return self.timestep_ps
        from dealloy.potentials import get_potential

        return get_potential(self.potential, self.ffield or None).timestep_ps

    def stage_temperature(self, stage) -> float:
        t = getattr(stage, "temperature_k", None)
        return t if t is not None else self.temperature_k


def _loc(loc: tuple, data: dict) -> str:
    """('stages', 2, 'extract', 'interval_ps') -> 'stages[2].interval_ps (extract stage)'."""
    parts: list[str] = []
    suffix = ""
    i = 0
    while i < len(loc):
        p = loc[i]
        if p == "stages" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            parts.append(f"stages[{loc[i + 1]}]")
            i += 2
            if i < len(loc) and loc[i] in STAGE_TYPES:
                suffix = f" ({loc[i]} stage)"
                i += 1
            continue
        parts.append(str(p))
        i += 1
    return ".".join(parts) + suffix


_HINTS = {
    "greater_than": "must be > 0",
    "greater_than_equal": "must be >= 0",
}


def format_errors(exc: ValidationError, source: str, data: dict) -> str:
    lines = [f"{source}: {exc.error_count()} problem(s):"]
    for err in exc.errors():
        where = _loc(tuple(err["loc"]), data) or "(top level)"
        typ = err["type"]
        if typ == "extra_forbidden":
            allowed = _allowed_keys(tuple(err["loc"][:-1]))
            msg = "unknown key (typo?); remove it" + (f" - valid keys here: {', '.join(allowed)}"
                                                       if allowed else "")
        elif typ == "union_tag_invalid":
            msg = (f"unknown stage type {err.get('input', {}).get('type')!r}; "
                   f"use one of {', '.join(STAGE_TYPES)}")
        elif typ == "union_tag_not_found":
            msg = f"stage has no 'type'; add type = one of {', '.join(STAGE_TYPES)}"
        elif typ == "literal_error":
            msg = f"{err['msg']} (got {err.get('input')!r})"
        elif typ == "missing":
            msg = "required key is missing; add it"
        else:
            msg = err["msg"].replace("Value error, ", "")
            if typ in ("greater_than", "greater_than_equal"):
                msg = f"{msg} (got {err.get('input')!r}); give a positive value"
        lines.append(f"  - {where}: {msg}")
    return "\n".join(lines)


def _allowed_keys(loc: tuple) -> list[str]:
    model: Any = RunConfig
    stage_models = {m.model_fields["type"].annotation.__args__[0]: m for m in
                    (MinimizeStage, EquilibrateStage, ExtractStage, InsertStage, HoldStage,
                     AnnealStage)}
    i = 0
    while i < len(loc):
        p = loc[i]
        if p == "stages":
            i += 2  # skip the index
            if i < len(loc) and loc[i] in stage_models:
                model = stage_models[loc[i]]
                i += 1
                continue
            return []
        if p == "particle":
            model = ParticleSpec
        else:
            return []
        i += 1
    return sorted(model.model_fields)


def parse_run_config(data: dict, source: str = "run config", base_dir: Path | None = None) -> RunConfig:
    """Validate a run-config dict; ``particle.file`` is made absolute relative to ``base_dir``."""
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, source, data)) from None
    if cfg.particle.file is not None and base_dir is not None:
        p = Path(cfg.particle.file).expanduser()
        if not p.is_absolute():
            p = (Path(base_dir) / p).resolve()
        cfg.particle.file = str(p)
    if cfg.ffield and base_dir is not None and not Path(cfg.ffield).is_absolute():
        cfg.ffield = str((Path(base_dir) / cfg.ffield).resolve())
    return cfg


def load_run_config(path: str | Path) -> RunConfig:
    path = Path(path)
    return parse_run_config(load_toml(path), source=str(path), base_dir=path.parent)


def resolved_dict(cfg: RunConfig) -> dict:
    """The config with every default filled in (timestep resolved), as written to config.toml."""
    d = cfg.model_dump(mode="json")
    d["timestep_ps"] = cfg.resolved_timestep_ps()
    return d


def dump_run_config(cfg: RunConfig) -> str:
    return dump_toml(resolved_dict(cfg))


def steps_of(time_ps: float, dt_ps: float) -> int:
    return max(1, int(math.floor(time_ps / dt_ps + 0.5)))


__all__ = [
    "RunConfig", "ParticleSpec", "MinimizeStage", "EquilibrateStage", "ExtractStage",
    "InsertStage", "HoldStage", "AnnealStage", "SELECTORS", "STAGE_TYPES", "default_stages",
    "parse_run_config", "load_run_config", "resolved_dict", "dump_run_config",
]

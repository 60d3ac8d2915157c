"""Run config (``dealloy run CONFIG.toml``): the typed schema of docs/run-config.md.

Everything a run needs is validated here, before any LAMMPS starts: unknown keys (typos), unknown
stage types / selectors / potentials, non-positive times and rates, a particle given both as file
and builder. Checks that need the particle itself (x_final below the starting x, a particle
without Li for extraction) run in :mod:`dealloy.engine.prepare`, still before LAMMPS.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import Field, ValidationError, field_validator, model_validator

from dealloy.config import StrictModel, dump_toml, load_toml
from dealloy.config.builders import builder_args_model, check_builder_args
from dealloy.errors import ConfigError
from dealloy.lammps.potentials import DEFAULT_POTENTIAL
from dealloy.lammps import potentials as registry  # registry.POTENTIAL_NAMES follows the registry
from dealloy.lammps.potentials import get_potential

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]

SELECTORS = ("surface", "shell", "random")
STAGE_TYPES = ("minimize", "equilibrate", "extract", "insert", "hold", "anneal",
               "potentiostatic", "galvanostatic")
ELECTROCHEM_TYPES = ("potentiostatic", "galvanostatic")
VOLTAGE_RANGE_V = (-0.5, 3.0)  # applied potentials accepted, V vs Li/Li+


class ParticleSpec(StrictModel):
    """The starting structure: exactly one of ``file`` or ``builder`` (+ ``args``, checked against
    the builder's parameter model in :mod:`dealloy.config.builders` when the config loads)."""

    file: Optional[str] = None
    builder: Optional[str] = None
    args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_source(self):
        if (self.file is None) == (self.builder is None):
            raise ValueError("give exactly one of particle.file (a structure file) or "
                             "particle.builder (a dealloy.builders builder name)")
        if self.file is not None and self.args:
            raise ValueError("particle.args only applies to particle.builder; remove it")
        if self.builder is not None:
            try:
                builder_args_model(self.builder)
            except ValueError as exc:
                raise ValueError(f"particle.builder: {exc}") from None
            # names and types against the builder's parameter model (dealloy.config.builders;
            # required ones are checked before the builder runs); args are kept as given
            check_builder_args(self.builder, self.args, complete=False)
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


def _li_per_interval(stage, li_reference: int, default_batch: int) -> float:
    """Li per interval of a stage with ``interval_ps`` and one of ``rate_li_per_ps``,
    ``rate_fraction_per_ns`` (of ``li_reference``) or ``batch`` (else ``default_batch``)."""
    if stage.rate_li_per_ps is not None:
        return stage.rate_li_per_ps * stage.interval_ps
    if stage.rate_fraction_per_ns is not None:
        return stage.rate_fraction_per_ns * li_reference * stage.interval_ps / 1000.0
    return float(stage.batch if stage.batch is not None else default_batch)


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
        return _li_per_interval(self, li_reference, default_batch=10)


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


# ---- electrochemical extraction (docs/engine.md, "Electrochemical extraction") ---------------
def _check_voltage(v: float, key: str) -> float:
    lo, hi = VOLTAGE_RANGE_V
    if not math.isfinite(v) or not lo <= v <= hi:
        raise ValueError(f"{key} = {v} V is outside [{lo:g}, {hi:g}] V vs Li/Li+; give a potential "
                         "in that window (the paper dealloys between 0.01 and 1.5 V)")
    return v


class VoltageSegment(StrictModel):
    """One piece of a potentiostatic schedule: a hold (``voltage_end_v`` omitted or equal) or a
    linear ramp from ``voltage_start_v`` to ``voltage_end_v``, lasting ``time_ps`` or set by a
    signed ``sweep_rate_mv_per_ps``."""

    voltage_start_v: float
    voltage_end_v: Optional[float] = None
    time_ps: Optional[PositiveFloat] = None
    sweep_rate_mv_per_ps: Optional[float] = None

    @model_validator(mode="after")
    def _valid(self):
        _check_voltage(self.voltage_start_v, "voltage_start_v")
        if self.voltage_end_v is not None:
            _check_voltage(self.voltage_end_v, "voltage_end_v")
        if (self.time_ps is None) == (self.sweep_rate_mv_per_ps is None):
            raise ValueError("give exactly one of time_ps or sweep_rate_mv_per_ps for each "
                             "schedule segment")
        if self.sweep_rate_mv_per_ps is not None:
            end = self.voltage_end_v if self.voltage_end_v is not None else self.voltage_start_v
            dv = end - self.voltage_start_v
            r = self.sweep_rate_mv_per_ps
            if dv == 0 or r == 0 or (dv > 0) != (r > 0):
                raise ValueError(f"a ramp from {self.voltage_start_v} V at {r} mV/ps never reaches "
                                 f"voltage_end_v = {end} V; give a rate of the sign of "
                                 f"(voltage_end_v - voltage_start_v), or time_ps for a hold")
        return self

    @property
    def end_v(self) -> float:
        return self.voltage_end_v if self.voltage_end_v is not None else self.voltage_start_v

    def duration_ps(self) -> float:
        if self.time_ps is not None:
            return self.time_ps
        return abs(self.end_v - self.voltage_start_v) * 1000.0 / abs(self.sweep_rate_mv_per_ps)


class _ElectrochemStage(StrictModel):
    """Keys common to potentiostatic and galvanostatic extraction."""

    x_final: NonNegFloat = 0.0
    interval_ps: PositiveFloat = 0.5  # MD between two MC passes / removal batches
    temperature_k: Optional[PositiveFloat] = None
    max_time_ps: Optional[PositiveFloat] = None
    accessible: Literal["surface", "all"] = "surface"  # which Li may leave
    probe_radius_angstrom: PositiveFloat = 3.0
    voxel_angstrom: Annotated[float, Field(gt=0.2, le=2.0)] = 0.7
    surface_depth_angstrom: NonNegFloat = 1.0
    patience_intervals: Annotated[int, Field(gt=0)] = 40
    # Si mobility (docs/engine.md, "Si mobility"): tfMC between exchanges, anneal windows
    tfmc_steps_per_interval: Annotated[int, Field(ge=0)] = 0
    tfmc_delta_angstrom: PositiveFloat = 0.1
    tfmc_temperature_k: Optional[PositiveFloat] = None
    anneal_every_ps: Optional[PositiveFloat] = None
    anneal_window_ps: Optional[PositiveFloat] = None
    anneal_temperature_k: Optional[PositiveFloat] = None

    def _set_apart_from_default(self) -> set[str]:
        """Keys given with a value other than their default (a resolved config.toml writes every
        default explicitly; that must load again)."""
        return {k for k in self.model_fields_set
                if getattr(self, k) != type(self).model_fields[k].default}

    @model_validator(mode="after")
    def _consistent(self):
        given = self._set_apart_from_default()
        if self.accessible == "all":
            geo = sorted(given & {"probe_radius_angstrom", "voxel_angstrom",
                                  "surface_depth_angstrom"})
            if geo:
                raise ValueError(f"{', '.join(geo)} only apply to accessible = 'surface' (with "
                                 "'all' every Li may leave); remove them or use 'surface'")
        if self.tfmc_steps_per_interval == 0:
            tf = sorted(given & {"tfmc_delta_angstrom", "tfmc_temperature_k"})
            if tf:
                raise ValueError(f"{', '.join(tf)} set but tfmc_steps_per_interval = 0 (tfMC off); "
                                 "set tfmc_steps_per_interval > 0 or remove them")
        an = [self.anneal_every_ps, self.anneal_window_ps, self.anneal_temperature_k]
        if any(v is not None for v in an) and not all(v is not None for v in an):
            raise ValueError("anneal windows need all of anneal_every_ps, anneal_window_ps and "
                             "anneal_temperature_k")
        if self.anneal_every_ps is not None and self.anneal_window_ps >= self.anneal_every_ps:
            raise ValueError(f"anneal_window_ps = {self.anneal_window_ps} must be shorter than "
                             f"anneal_every_ps = {self.anneal_every_ps}")
        return self


class PotentiostaticStage(_ElectrochemStage):
    """Li leaves (and, with ``reinsertion``, returns) by grand-canonical Metropolis moves at an
    applied potential: constant ``voltage_v`` for ``time_ps``, or a ``schedule`` of holds/ramps."""

    type: Literal["potentiostatic"]
    voltage_v: Optional[float] = None
    time_ps: Optional[PositiveFloat] = None
    schedule: Optional[list[VoltageSegment]] = None
    reinsertion: bool = False
    attempts_per_interval: Annotated[int, Field(ge=0)] = 20  # 0: every exchange site once
    site_distance_angstrom: PositiveFloat = 1.8  # a vacancy is free if no atom is closer

    @model_validator(mode="after")
    def _schedule(self):
        if (self.voltage_v is None) == (self.schedule is None):
            raise ValueError("give exactly one of voltage_v (with time_ps) or schedule "
                             "(a list of holds/ramps)")
        if self.voltage_v is not None:
            _check_voltage(self.voltage_v, "voltage_v")
            if self.time_ps is None:
                raise ValueError("voltage_v needs time_ps (how long to hold it): without it the "
                                 "stage ends only at x_final, which a potential below the "
                                 "extraction voltage never reaches")
        else:
            if not self.schedule:
                raise ValueError("schedule is empty; give at least one segment")
            if self.time_ps is not None:
                raise ValueError("time_ps applies to voltage_v; a schedule's segments carry "
                                 "their own time_ps / sweep_rate_mv_per_ps")
        if "site_distance_angstrom" in self._set_apart_from_default() and not self.reinsertion:
            raise ValueError("site_distance_angstrom applies to re-insertion; set reinsertion = "
                             "true or remove it")
        return self

    def duration_ps(self) -> float:
        if self.voltage_v is not None:
            return float(self.time_ps)
        return float(sum(seg.duration_ps() for seg in self.schedule))

    def voltage_at(self, t_ps: float) -> float:
        """Applied potential (V vs Li/Li+) ``t_ps`` into the stage (the last value after the end)."""
        if self.voltage_v is not None:
            return float(self.voltage_v)
        t = max(0.0, float(t_ps))
        for seg in self.schedule:
            d = seg.duration_ps()
            if t <= d:
                return seg.voltage_start_v + (seg.end_v - seg.voltage_start_v) * t / d
            t -= d
        return float(self.schedule[-1].end_v)


class GalvanostaticStage(_ElectrochemStage):
    """Constant current: at a fixed rate the accessible Li with the lowest removal energy leaves;
    its removal voltage is recorded. Optional cutoff voltage, then a CV hold (CC-then-CV)."""

    type: Literal["galvanostatic"]
    batch: Optional[Annotated[int, Field(gt=0)]] = None
    rate_li_per_ps: Optional[PositiveFloat] = None
    rate_fraction_per_ns: Optional[PositiveFloat] = None
    max_candidates: Annotated[int, Field(ge=0)] = 0  # 0: every accessible Li is evaluated
    cutoff_voltage_v: Optional[float] = None
    cv_time_ps: Optional[PositiveFloat] = None
    cv_attempts_per_interval: Annotated[int, Field(ge=0)] = 20

    @model_validator(mode="after")
    def _cc(self):
        given = [k for k in ("batch", "rate_li_per_ps", "rate_fraction_per_ns")
                 if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give only one of batch, rate_li_per_ps, rate_fraction_per_ns "
                             f"(got {', '.join(given)})")
        if self.cutoff_voltage_v is not None:
            _check_voltage(self.cutoff_voltage_v, "cutoff_voltage_v")
        if self.cv_time_ps is not None and self.cutoff_voltage_v is None:
            raise ValueError("cv_time_ps (the constant-voltage hold) needs cutoff_voltage_v: the "
                             "CV phase holds the cutoff the CC phase ends at")
        if ("cv_attempts_per_interval" in self._set_apart_from_default()
                and self.cv_time_ps is None):
            raise ValueError("cv_attempts_per_interval applies to the CV hold; set cv_time_ps or "
                             "remove it")
        return self

    def li_per_interval(self, li_reference: int) -> float:
        """Mean Li removed per interval (default 1; the engine carries the remainder)."""
        return _li_per_interval(self, li_reference, default_batch=1)


#: every stage model (the members of :data:`Stage`)
STAGE_MODELS = (MinimizeStage, EquilibrateStage, ExtractStage, InsertStage, HoldStage, AnnealStage,
                PotentiostaticStage, GalvanostaticStage)

Stage = Annotated[Union[STAGE_MODELS], Field(discriminator="type")]


def default_stages() -> list:
    return [
        MinimizeStage(type="minimize"),
        EquilibrateStage(type="equilibrate", time_ps=20.0),
        ExtractStage(type="extract", x_final=0.0, selector="surface"),
        HoldStage(type="hold", time_ps=20.0),
    ]


#: extra per-atom dump columns on request (``dump_columns``) -> the LAMMPS dump field; values in
#: the potential's LAMMPS units (metal: Å/ps, eV/Å, eV; real for ReaxFF: Å/fs, kcal/mol/Å, kcal/mol)
DUMP_COLUMNS = {"type": "type", "vx": "vx", "vy": "vy", "vz": "vz", "fx": "fx", "fy": "fy",
                "fz": "fz", "pe": "c_dealloy_pe", "ix": "ix", "iy": "iy", "iz": "iz"}

#: LAMMPS commands a ``lammps_commands`` entry may not give: they would change the system, the
#: potential, the clock or the files behind the engine's back (its checkpoints, run.json and
#: trajectory would then describe another simulation). IDs starting ``dealloy_`` are the engine's.
FORBIDDEN_LAMMPS_COMMANDS = frozenset({
    "run", "minimize", "rerun", "clear", "units", "atom_style", "boundary", "read_data",
    "read_restart", "read_dump", "create_box", "create_atoms", "delete_atoms", "replicate",
    "reset_timestep", "reset_atoms", "timestep", "pair_style", "pair_coeff", "pair_modify",
    "mass", "change_box", "displace_atoms", "set", "write_restart", "restart", "log", "quit",
    "shell", "include", "jump", "label", "next", "python", "plugin"})
LAMMPS_COMMAND_POINTS = ("setup", "each_stage")


class LammpsCommands(StrictModel):
    """Extra LAMMPS commands (the escape hatch), applied at a named point of the run:

    - ``setup``: once the particle, potential and trajectory dump are set up, before the first
      stage (again after every resume: a resumed run rebuilds its LAMMPS instance);
    - ``each_stage``: at the start of every stage (of a resumed stage, too).

    For computes, fixes and outputs of your own (``compute msd``, ``fix ave/time``, ``fix print``,
    ``thermo_modify``, ``dump`` of your own, ``variable``); refused at load: commands that change
    the system, potential, clock or the engine's files, and IDs starting ``dealloy_``.
    """

    at: Literal["setup", "each_stage"] = "setup"
    commands: list[str] = Field(min_length=1)

    @field_validator("commands")
    @classmethod
    def _allowed(cls, v: list[str]) -> list[str]:
        for line in v:
            words = line.split("#", 1)[0].split()
            if not words:
                raise ValueError("an empty LAMMPS command; remove it")
            if words[0] in FORBIDDEN_LAMMPS_COMMANDS:
                raise ValueError(f"'{line}': {words[0]!r} would change the system, potential, clock "
                                 "or files behind the engine's back; use the run config's own keys "
                                 "(stages, potential, timestep_ps, dump_columns, lammps_restart)")
            if any(w.startswith("dealloy_") or "_dealloy_" in w for w in words[1:]):
                raise ValueError(f"'{line}': IDs starting 'dealloy_' belong to the engine; "
                                 "name yours otherwise")
        return v


class RunConfig(StrictModel):
    potential: str = DEFAULT_POTENTIAL
    ffield: str = ""
    temperature_k: PositiveFloat = 300.0
    timestep_ps: Optional[PositiveFloat] = None
    thermostat: Literal["langevin", "nose-hoover"] = "langevin"
    damping_ps: PositiveFloat = 0.1
    # issue 15 (echem): None = fixed volume (NVT); a number = isotropic NPT at this pressure
    # (bar), periodic bulk cells only (checked with the particle, before any MD)
    pressure_bar: Optional[Annotated[float, Field(ge=-1e5, le=1e5, allow_inf_nan=False)]] = None
    pressure_damping_ps: PositiveFloat = 1.0
    seed: Annotated[int, Field(ge=0)] = 1
    dump_interval_ps: NonNegFloat = 1.0
    thermo_interval_ps: PositiveFloat = 0.1
    checkpoint_ps: PositiveFloat = 10.0
    allow_atom_loss: bool = False
    dump_columns: list[Literal[tuple(DUMP_COLUMNS)]] = Field(default_factory=list)
    lammps_commands: list[LammpsCommands] = Field(default_factory=list)
    lammps_restart: bool = False
    particle: ParticleSpec
    stages: list[Stage] = Field(default_factory=default_stages)

    @field_validator("potential")
    @classmethod
    def _known_potential(cls, v: str) -> str:
        name = v.split(":", 1)[0]
        if name not in registry.POTENTIAL_NAMES:
            raise ValueError(f"unknown potential '{v}'; choose one of {', '.join(registry.POTENTIAL_NAMES)}")
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


# keys that belong to one extraction mode: given in another stage they contradict its mode
_RATE_HINT = (("extract", "insert", "galvanostatic"),
              "a rate drives the geometric and galvanostatic modes; a potentiostatic stage is "
              "driven by voltage_v or schedule")
_MODE_KEYS = {
    "selector": (("extract",), "geometric selectors belong to 'extract'; the electrochemical "
                              "stages choose by energy among the Li given by accessible = "
                              "'surface' | 'all'"),
    "shell_width_nm": (("extract",), "it belongs to the geometric 'shell' selector"),
    "batch": _RATE_HINT, "rate_li_per_ps": _RATE_HINT, "rate_fraction_per_ns": _RATE_HINT,
    "voltage_v": (("potentiostatic",), "an applied potential belongs to 'potentiostatic' "
                                       "(galvanostatic: cutoff_voltage_v)"),
    "schedule": (("potentiostatic",), "a voltage schedule belongs to 'potentiostatic'"),
    "reinsertion": (("potentiostatic",), "re-insertion needs an applied potential "
                                         "(potentiostatic); galvanostatic only removes"),
    "cutoff_voltage_v": (("galvanostatic",), "CC-then-CV belongs to 'galvanostatic'"),
    "cv_time_ps": (("galvanostatic",), "CC-then-CV belongs to 'galvanostatic'"),
    "accessible": (ELECTROCHEM_TYPES, "the geometric extract stage uses selector"),
}

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
            key = str(err["loc"][-1])
            stype = next((p for p in err["loc"] if p in STAGE_TYPES), None)
            owner = _MODE_KEYS.get(key)
            if owner and stype and stype not in owner[0]:
                msg = f"does not apply to this {stype} stage: {owner[1]}; remove it"
            else:
                msg = "unknown key (typo?); remove it" + (
                    f" - valid keys here: {', '.join(allowed)}" if allowed else "")
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
    stage_models = {m.model_fields["type"].annotation.__args__[0]: m for m in STAGE_MODELS}
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


#: output-side keys added after studies hashed every field: left out of a study's run key while
#: unset, so run keys (and finished runs) of studies that do not use them stay the same
KEY_NEUTRAL_WHEN_UNSET = {"dump_columns": [], "lammps_commands": [], "lammps_restart": False}


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
    "InsertStage", "HoldStage", "AnnealStage", "PotentiostaticStage", "GalvanostaticStage",
    "VoltageSegment", "ELECTROCHEM_TYPES", "VOLTAGE_RANGE_V", "SELECTORS", "STAGE_TYPES",
    "default_stages",
    "parse_run_config", "load_run_config", "resolved_dict", "dump_run_config",
]

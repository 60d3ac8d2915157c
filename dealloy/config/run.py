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
from dealloy.config.analysis import AnalysisParams
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
    """The starting structure: exactly one of ``file`` or ``builder`` (+ ``args``).

    ``args`` are checked against the builder's parameter model in :mod:`dealloy.config.builders`
    when the config loads: names, strict types, bounds, choices and required arguments (the
    model is selected by ``builder`` in a model validator; ``args`` stay a dict as given).

    Attributes
    ----------
    file : str, optional
        A structure file any ASE reader takes; relative to the config file.
    builder : str, optional
        A :mod:`dealloy.builders` builder name (``li15si4_particle``, ...).
    args : dict
        Keyword arguments of the builder (units in their names: ``diameter_nm``, ...).
    """

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
            # the run config is complete at load: names, strict types, bounds, choices and
            # required arguments against the builder's parameter model (dealloy.config.builders),
            # before anything is written; args are kept as given (run keys hash them)
            check_builder_args(self.builder, self.args, complete=True)
        return self


class MinimizeStage(StrictModel):
    """Energy minimisation of the positions (LAMMPS ``minimize``).

    Attributes
    ----------
    type : {"minimize"}
        The stage type.
    ftol_ev_per_angstrom : float
        Force tolerance, eV/Å.
    maxiter : int
        Most minimiser iterations.
    """

    type: Literal["minimize"]
    ftol_ev_per_angstrom: PositiveFloat = 1e-4
    maxiter: Annotated[int, Field(gt=0)] = 2000


class _TimedStage(StrictModel):
    """MD at fixed composition for ``time_ps`` (ps) at ``temperature_k`` (K; default the run's)."""

    time_ps: PositiveFloat = 20.0
    temperature_k: Optional[PositiveFloat] = None  # default: the run's temperature_k


class EquilibrateStage(_TimedStage):
    """Equilibration MD at fixed composition.

    Attributes
    ----------
    type : {"equilibrate"}
        The stage type.
    time_ps : float
        Duration, ps.
    temperature_k : float, optional
        Thermostat target, K; default the run's ``temperature_k``.
    """

    type: Literal["equilibrate"]


class HoldStage(_TimedStage):
    """MD at fixed composition after exchange (relaxation of the dealloyed structure).

    Attributes
    ----------
    type : {"hold"}
        The stage type.
    time_ps : float
        Duration, ps.
    temperature_k : float, optional
        Thermostat target, K; default the run's ``temperature_k``.
    """

    type: Literal["hold"]


class AnnealStage(StrictModel):
    """MD with a linear thermostat-temperature ramp.

    Attributes
    ----------
    type : {"anneal"}
        The stage type.
    temperature_start_k : float
        Target temperature at the start, K.
    temperature_end_k : float
        Target temperature at the end, K.
    time_ps : float
        Duration of the ramp, ps.
    """

    type: Literal["anneal"]
    temperature_start_k: PositiveFloat = 300.0
    temperature_end_k: PositiveFloat = 600.0
    time_ps: PositiveFloat = 50.0


def _li_per_interval(stage, li_reference: int, default_batch: int) -> float:
    """Li per interval: from ``rate_li_per_ps``, ``rate_fraction_per_ns`` or ``batch``."""
    # rate_fraction_per_ns is a fraction of li_reference; without any, default_batch
    if stage.rate_li_per_ps is not None:
        return stage.rate_li_per_ps * stage.interval_ps
    if stage.rate_fraction_per_ns is not None:
        return stage.rate_fraction_per_ns * li_reference * stage.interval_ps / 1000.0
    return float(stage.batch if stage.batch is not None else default_batch)


class _ExchangeStage(StrictModel):
    """Common keys of extract/insert: a batch of Li every interval_ps, at a rate.

    At most one of ``batch``, ``rate_li_per_ps`` and ``rate_fraction_per_ns`` is given.
    """

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
        """Give the mean Li exchanged per interval (fractional; the engine carries the remainder).

        Parameters
        ----------
        li_reference : int
            Li count that ``rate_fraction_per_ns`` refers to (the Li at the stage's start for
            extract, the target Li for insert).

        Returns
        -------
        float
            ``rate_li_per_ps * interval_ps``, ``rate_fraction_per_ns * li_reference *
            interval_ps / 1000``, or ``batch`` (default 10).
        """
        return _li_per_interval(self, li_reference, default_batch=10)


class ExtractStage(_ExchangeStage):
    """Geometric dealloying: a batch of Li chosen by ``selector`` is removed every interval.

    Attributes
    ----------
    type : {"extract"}
        The stage type.
    x_final : float
        Stop when Li/Si reaches this value (>= 0).
    interval_ps : float
        MD time between two exchange batches, ps.
    batch : int, optional
        Li per interval (default 10); or give one of the rates instead.
    rate_li_per_ps : float, optional
        Li per ps (a batch of ``rate * interval_ps``, fractional batches carried over).
    rate_fraction_per_ns : float, optional
        Fraction of the reference Li per ns (the Li at the stage's start for extract, the
        target Li for insert).
    max_time_ps : float, optional
        Stop after this much simulated time in the stage, ps.
    temperature_k : float, optional
        Thermostat target of the stage, K; default the run's ``temperature_k``.
    probe_radius_angstrom : float
        Electrolyte probe: closest approach of its centre to an atom, Å.
    voxel_angstrom : float
        Grid spacing of the accessible-surface calculation, Å (0.2 < v <= 2).
    selector : {"surface", "shell", "random"}
        Which Li leave: those at the probe-accessible surface, those in an outer shell, or any.
    shell_width_nm : float
        Width of the outer shell of the ``shell`` selector, nm.
    surface_depth_angstrom : float
        Li within this depth of the probe-accessible surface count as surface Li, Å.
    patience_intervals : int
        Stop after this many intervals in a row with no removable Li.
    """

    type: Literal["extract"]
    selector: Literal["surface", "shell", "random"] = "surface"
    shell_width_nm: PositiveFloat = 0.5
    surface_depth_angstrom: NonNegFloat = 1.0  # tolerance of the surface criterion (> voxel)
    patience_intervals: Annotated[int, Field(gt=0)] = 40  # stop after this many empty intervals


class InsertStage(_ExchangeStage):
    """Lithiation: a batch of Li is added at accessible surface sites every interval.

    Attributes
    ----------
    type : {"insert"}
        The stage type.
    x_final : float
        The target Li/Si (required).
    interval_ps : float
        MD time between two exchange batches, ps.
    batch : int, optional
        Li per interval (default 10); or give one of the rates instead.
    rate_li_per_ps : float, optional
        Li per ps (a batch of ``rate * interval_ps``, fractional batches carried over).
    rate_fraction_per_ns : float, optional
        Fraction of the reference Li per ns (the Li at the stage's start for extract, the
        target Li for insert).
    max_time_ps : float, optional
        Stop after this much simulated time in the stage, ps.
    temperature_k : float, optional
        Thermostat target of the stage, K; default the run's ``temperature_k``.
    probe_radius_angstrom : float
        Electrolyte probe: closest approach of its centre to an atom, Å.
    voxel_angstrom : float
        Grid spacing of the accessible-surface calculation, Å (0.2 < v <= 2).
    site_distance_angstrom : float
        New Li are placed at this distance (+-0.25 Å) from the nearest atom, Å.
    patience_intervals : int
        Stop after this many intervals in a row without a free site.
    """

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
    """One piece of a potentiostatic schedule: a hold or a linear ramp.

    A hold has ``voltage_end_v`` omitted (or equal to the start); a ramp goes linearly from
    ``voltage_start_v`` to ``voltage_end_v``. Exactly one of ``time_ps`` or
    ``sweep_rate_mv_per_ps`` sets its duration. Potentials lie in :data:`VOLTAGE_RANGE_V`.

    Attributes
    ----------
    voltage_start_v : float
        Applied potential at the start, V vs Li/Li+.
    voltage_end_v : float, optional
        Applied potential at the end, V vs Li/Li+; default: a hold at ``voltage_start_v``.
    time_ps : float, optional
        Duration, ps.
    sweep_rate_mv_per_ps : float, optional
        Signed sweep rate, mV/ps (its sign that of ``voltage_end_v - voltage_start_v``).
    """

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
        """Applied potential at the end of the segment, V vs Li/Li+."""
        return self.voltage_end_v if self.voltage_end_v is not None else self.voltage_start_v

    def duration_ps(self) -> float:
        """Give the duration of the segment.

        Returns
        -------
        float
            ``time_ps``, or ``|end - start| * 1000 / |sweep_rate_mv_per_ps|``, ps.
        """
        if self.time_ps is not None:
            return self.time_ps
        return abs(self.end_v - self.voltage_start_v) * 1000.0 / abs(self.sweep_rate_mv_per_ps)


class _ElectrochemStage(StrictModel):
    """Keys common to potentiostatic and galvanostatic extraction (docs/engine.md).

    Attributes
    ----------
    x_final : float
        Also stop when Li/Si reaches this value (>= 0).
    interval_ps : float
        MD time between two Monte Carlo passes / removal batches, ps.
    temperature_k : float, optional
        Thermostat target of the stage, K; default the run's ``temperature_k``.
    max_time_ps : float, optional
        Stop after this much simulated time in the stage, ps.
    accessible : {"surface", "all"}
        Which Li may leave: probe-accessible surface Li, or every Li (fast-diffusion limit).
    probe_radius_angstrom : float
        Electrolyte probe: closest approach of its centre to an atom, Å (``surface`` only).
    voxel_angstrom : float
        Grid spacing of the accessible-surface calculation, Å, 0.2 < v <= 2 (``surface`` only).
    surface_depth_angstrom : float
        Li within this depth of the accessible surface are accessible, Å (``surface`` only).
    patience_intervals : int
        Stop after this many intervals in a row with no exchange.
    tfmc_steps_per_interval : int
        Si mobility: time-stamped force-bias Monte Carlo steps (LAMMPS ``fix tfmc``) after each
        pass; 0 turns tfMC off.
    tfmc_delta_angstrom : float
        Maximal tfMC displacement, Å.
    tfmc_temperature_k : float, optional
        tfMC temperature, K; default the stage's.
    anneal_every_ps : float, optional
        Si mobility: period of the anneal windows, ps (all three anneal keys or none).
    anneal_window_ps : float, optional
        Length of each window (the last part of every period, no exchange inside), ps; shorter
        than ``anneal_every_ps``.
    anneal_temperature_k : float, optional
        Thermostat target inside a window, K.
    """

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
        """Keys given with a value other than their default."""
        # a resolved config.toml writes every default explicitly; that must load again
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
    """Li leaves (and, with ``reinsertion``, returns) by grand-canonical Metropolis moves.

    At an applied potential: either a constant ``voltage_v`` for ``time_ps``, or a ``schedule``
    of holds and ramps. The keys of :class:`_ElectrochemStage` (``x_final``, ``interval_ps``,
    ``accessible``, the surface and Si-mobility keys) apply too.

    Attributes
    ----------
    type : {"potentiostatic"}
        The stage type.
    voltage_v : float, optional
        Constant applied potential, V vs Li/Li+, in :data:`VOLTAGE_RANGE_V` (with ``time_ps``).
    time_ps : float, optional
        How long ``voltage_v`` is held, ps.
    schedule : list of VoltageSegment, optional
        Holds and linear ramps, in order (instead of ``voltage_v``).
    reinsertion : bool
        Vacated, free, accessible sites may be re-filled.
    attempts_per_interval : int
        Exchange sites visited per Monte Carlo pass; 0: every site once.
    site_distance_angstrom : float
        With ``reinsertion``: a vacated site is free if no atom is closer than this, Å.
    """

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
        """Give the duration of the stage.

        Returns
        -------
        float
            ``time_ps`` with ``voltage_v``, else the sum of the schedule's segments, ps.
        """
        if self.voltage_v is not None:
            return float(self.time_ps)
        return float(sum(seg.duration_ps() for seg in self.schedule))

    def voltage_at(self, t_ps: float) -> float:
        """Give the applied potential ``t_ps`` into the stage.

        Parameters
        ----------
        t_ps : float
            Time since the start of the stage, ps (negative values count as 0).

        Returns
        -------
        float
            Applied potential, V vs Li/Li+ (linear inside a ramp; the last value after the end).
        """
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
    """Constant current: at a fixed rate the accessible Li with the lowest removal energy leaves.

    Its removal voltage is recorded. Optional cutoff voltage, then a constant-voltage hold
    (CC-then-CV). The keys of :class:`_ElectrochemStage` apply too; at most one of ``batch``,
    ``rate_li_per_ps`` and ``rate_fraction_per_ns`` is given.

    Attributes
    ----------
    type : {"galvanostatic"}
        The stage type.
    batch : int, optional
        Li removed per interval (default 1).
    rate_li_per_ps : float, optional
        Li removed per ps.
    rate_fraction_per_ns : float, optional
        Fraction of the Li at the stage's start removed per ns.
    max_candidates : int
        Accessible Li whose removal energy is evaluated per removal; 0: all of them, N: a
        random N.
    cutoff_voltage_v : float, optional
        End of the CC phase, V vs Li/Li+: the cheapest Li needs more than this.
    cv_time_ps : float, optional
        Then hold the cutoff potentiostatically this long, ps (needs ``cutoff_voltage_v``).
    cv_attempts_per_interval : int
        Exchange sites visited per Monte Carlo pass of the CV hold.
    """

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
        """Give the mean Li removed per interval (the engine carries the fractional remainder).

        Parameters
        ----------
        li_reference : int
            The Li count at the stage's start (``rate_fraction_per_ns`` refers to it).

        Returns
        -------
        float
            From the rate given, else ``batch`` (default 1).
        """
        return _li_per_interval(self, li_reference, default_batch=1)


#: every stage model (the members of :data:`Stage`)
STAGE_MODELS = (MinimizeStage, EquilibrateStage, ExtractStage, InsertStage, HoldStage, AnnealStage,
                PotentiostaticStage, GalvanostaticStage)

Stage = Annotated[Union[STAGE_MODELS], Field(discriminator="type")]


def default_stages() -> list:
    """Give the default protocol: minimize, equilibrate 20 ps, extract to x = 0, hold 20 ps.

    Returns
    -------
    list
        Four new stage models (the extraction with the surface selector).
    """
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
    """Extra LAMMPS commands (the escape hatch), applied at a named point of the run.

    - ``setup``: once the particle, potential and trajectory dump are set up, before the first
      stage (again after every resume: a resumed run rebuilds its LAMMPS instance);
    - ``each_stage``: at the start of every stage (of a resumed stage, too).

    For computes, fixes and outputs of your own (``compute msd``, ``fix ave/time``, ``fix print``,
    ``thermo_modify``, ``dump`` of your own, ``variable``); refused at load: commands that change
    the system, potential, clock or the engine's files, and IDs starting ``dealloy_``.

    Attributes
    ----------
    at : {"setup", "each_stage"}
        When the commands run.
    commands : list of str
        LAMMPS input lines, at least one; checked against :data:`FORBIDDEN_LAMMPS_COMMANDS`.
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
    """A run config (``dealloy run CONFIG.toml``; docs/run-config.md is the contract).

    Attributes
    ----------
    potential : str
        Registry name of the interatomic potential (:data:`dealloy.potentials.POTENTIAL_NAMES`).
    ffield : str
        ReaxFF force-field file (only for ``potential = "reaxff"``), relative to the config.
    temperature_k : float
        Thermostat target of the MD stages, K.
    timestep_ps : float, optional
        MD timestep, ps; default the potential's recommended one.
    thermostat : {"langevin", "nose-hoover"}
        Thermostat of the MD stages.
    damping_ps : float
        Thermostat damping time, ps.
    pressure_bar : float, optional
        None: fixed volume (NVT); a number: isotropic NPT at this pressure, bar, |p| <= 1e5
        (periodic bulk cells only).
    pressure_damping_ps : float
        Barostat damping time, ps.
    seed : int
        Random seed (velocities, thermostat noise, selector choices), >= 0.
    dump_interval_ps : float
        Trajectory frame interval, ps; 0: only the first and last frame.
    thermo_interval_ps : float
        ``thermo.csv`` row interval, ps.
    checkpoint_ps : float
        Checkpoint every this much simulated time, ps (also on SIGTERM/SIGUSR1/Ctrl-C).
    allow_atom_loss : bool
        Atoms lost by LAMMPS, or that leave the particle during MD
        (:func:`dealloy.lammps.session.evaporated`), are deleted, logged (``lost`` events) and
        counted instead of failing the run.
    dump_columns : list of str
        Extra per-atom trajectory columns (keys of :data:`DUMP_COLUMNS`), in the potential's
        LAMMPS units (metal: Å/ps, eV/Å, eV).
    lammps_commands : list of LammpsCommands
        Extra LAMMPS commands at named points of the run.
    lammps_restart : bool
        Also write LAMMPS' own restart file and an input that continues the run in plain LAMMPS.
    particle : ParticleSpec
        The starting structure.
    stages : list
        The protocol, in order (stage models discriminated by ``type``); default
        :func:`default_stages`.
    """

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
    # `dealloy analyze RUNDIR`'s parameters, one table per analysis ([analysis.voxel] ...;
    # dealloy.config.analysis, docs/analysis.md); checked here, before any MD
    analysis: AnalysisParams = Field(default_factory=AnalysisParams)

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
        """Give the MD timestep: ``timestep_ps``, else the potential's recommended one.

        Returns
        -------
        float
            Timestep, ps.

        Raises
        ------
        ConfigError
            When the potential cannot be resolved from the registry.
        """
        if self.timestep_ps is not None:
            return self.timestep_ps

        return get_potential(self.potential, self.ffield or None).timestep_ps

    def stage_temperature(self, stage) -> float:
        """Give a stage's thermostat target: its own ``temperature_k``, else the run's.

        Parameters
        ----------
        stage : object
            A stage model (one without ``temperature_k`` gets the run's).

        Returns
        -------
        float
            Temperature, K.
        """
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
    """Turn a run-config validation error into the lines a user reads, one per problem.

    Each line names the key as the user wrote it (``stages[2].interval_ps (extract stage)``) and
    the fix: an unknown key lists the valid keys there, a key of another stage type says which
    type it belongs to, an unknown stage type lists the types.

    Parameters
    ----------
    exc : pydantic.ValidationError
        The error of :meth:`RunConfig.model_validate`.
    source : str
        What the config came from (a file path), the head of the message.
    data : dict
        The config as given.

    Returns
    -------
    str
        ``<source>: N problem(s):`` followed by one ``  - <key>: <what>`` line per problem.
    """
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
            if msg.startswith(f"{where}."):  # names its own key (particle.args.<field>: ...)
                lines.append(f"  - {msg}")
                continue
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
        elif p == "analysis":
            model = AnalysisParams
        elif model is AnalysisParams and p in AnalysisParams.groups():
            model = AnalysisParams.groups()[p]
        else:
            return []
        i += 1
    return sorted(model.model_fields)


def parse_run_config(data: dict, source: str = "run config", base_dir: Path | None = None) -> RunConfig:
    """Validate a run-config dict; relative paths are made absolute against ``base_dir``.

    Parameters
    ----------
    data : dict
        The config (e.g. a parsed TOML file).
    source : str
        What the config came from, the head of an error message.
    base_dir : pathlib.Path, optional
        Folder that relative ``particle.file`` and ``ffield`` paths refer to (the config's);
        None leaves them as given.

    Returns
    -------
    RunConfig
        The validated config.

    Raises
    ------
    ConfigError
        One line per problem (:func:`format_errors`), before anything runs.
    """
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
    """Read and validate a run config file.

    Parameters
    ----------
    path : str or pathlib.Path
        The run-config TOML; relative paths inside it are relative to its folder.

    Returns
    -------
    RunConfig
        The validated config.

    Raises
    ------
    ConfigError
        When the file is missing or not TOML, or the config is invalid (one line per problem).
    """
    path = Path(path)
    return parse_run_config(load_toml(path), source=str(path), base_dir=path.parent)


#: output-side keys added after studies hashed every field: left out of a study's run key while
#: unset, so run keys (and finished runs) of studies that do not use them stay the same
KEY_NEUTRAL_WHEN_UNSET = {"dump_columns": [], "lammps_commands": [], "lammps_restart": False,
                          "analysis": AnalysisParams().model_dump(mode="json")}


def resolved_dict(cfg: RunConfig) -> dict:
    """Fill in every default of a config (timestep resolved), as written to config.toml.

    Parameters
    ----------
    cfg : RunConfig
        A validated config.

    Returns
    -------
    dict
        JSON-compatible dict of every key, ``timestep_ps`` resolved (ps).

    Raises
    ------
    ConfigError
        When the potential cannot be resolved from the registry.
    """
    d = cfg.model_dump(mode="json")
    d["timestep_ps"] = cfg.resolved_timestep_ps()
    return d


def dump_run_config(cfg: RunConfig) -> str:
    """Write a config as TOML with every default filled in (the run directory's config.toml).

    Parameters
    ----------
    cfg : RunConfig
        A validated config.

    Returns
    -------
    str
        The TOML document of :func:`resolved_dict`.

    Raises
    ------
    ConfigError
        When the potential cannot be resolved from the registry.
    """
    return dump_toml(resolved_dict(cfg))


def steps_of(time_ps: float, dt_ps: float) -> int:
    """Give the number of MD steps in a duration, rounded to the nearest, at least 1.

    Parameters
    ----------
    time_ps : float
        Duration, ps.
    dt_ps : float
        Timestep, ps.

    Returns
    -------
    int
        ``max(1, round(time_ps / dt_ps))`` (halves round up).
    """
    return max(1, int(math.floor(time_ps / dt_ps + 0.5)))


__all__ = [
    "RunConfig", "ParticleSpec", "MinimizeStage", "EquilibrateStage", "ExtractStage",
    "InsertStage", "HoldStage", "AnnealStage", "PotentiostaticStage", "GalvanostaticStage",
    "VoltageSegment", "ELECTROCHEM_TYPES", "VOLTAGE_RANGE_V", "SELECTORS", "STAGE_TYPES",
    "default_stages",
    "parse_run_config", "load_run_config", "resolved_dict", "dump_run_config",
]

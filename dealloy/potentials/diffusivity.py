"""``dealloy diffusivity``: Li diffusion coefficient in c- vs a-Li15Si4 bulk by MD.

MD at several temperatures, Arrhenius fit, extrapolation to 300 K, and the c/a ratio.

The paper cites (Ding et al., Solid State Ionics 180, 222 (2009)) ~1e-10-1e-11 cm²/s for
c-Li3.75Si and ~1e-12-1e-13 cm²/s for a-LixSi at room temperature: the crystal conducts Li about
two orders of magnitude faster. Classical MD at a few hundred ps overestimates absolute values;
the c/a ratio is the number to compare.

Route per phase and temperature: LammpsSession (registry potential) -> velocities -> NPT
equilibration (P = 0) -> NVT production with Li positions recorded (unwrapped with LAMMPS image
flags, centre-of-mass drift removed) -> MSD over all time origins -> D with fit window and
uncertainty (:func:`dealloy.analysis.trajectory.msd`). The crystal is checked after each run with
:class:`Crystallinity`: a run in which it melted or amorphised is reported and left out of the fit.
A D of fewer than 4 Li hops' worth over the run (one hop: the median nearest Li-Li distance
squared over 6 N_Li t, :func:`dealloy.analysis.diffusivity.single_hop_diffusivity`) or within 2
of its errors of zero (the MSD fit's, or the Poisson counting error of that many hops,
:func:`~dealloy.analysis.diffusivity.hop_statistics`) is reported as not resolved, with its 95 %
upper limit, and left out too; where only one phase's D is resolved the c/a ratio is given as a
bound per temperature.

References
----------
N. Ding et al., Solid State Ionics 180 (2009) 222, as the paper cites it (the room-temperature D;
title and DOI not checked here). A. Einstein, Ann. Phys. 17 (1905)
549 (MSD = 6 D t); S. Arrhenius, Z. Phys. Chem. 4 (1889) 226 (the fit): see
:mod:`dealloy.analysis.diffusivity`.
"""

from __future__ import annotations

import csv
import io
import math
import time
from pathlib import Path

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from dealloy.analysis.diffusivity import arrhenius, hop_statistics, predict, single_hop_diffusivity
from dealloy.analysis.structure import Crystallinity
from dealloy.analysis.trajectory import msd
from dealloy.build.crystal import li15si4_cell
from dealloy.builders.amorphous import PROTOCOLS, amorphous_lisi
from dealloy.config.analysis import AnalysisModel
from dealloy.errors import ConfigError
from dealloy.io import progress_hook, write_json, write_text
from dealloy.lammps.potentials import DEFAULT_POTENTIAL, get_potential
from dealloy.lammps.session import LammpsSession


#: the phases ``dealloy diffusivity`` compares (:attr:`DiffusivityParams.phases`)
PHASES = ("crystalline", "amorphous")
#: a crystal run whose final crystalline fraction (Crystallinity) is below this melted or
#: amorphised: it is reported and left out of the crystal's fit
MIN_CRYSTALLINE_FRACTION = 0.5
#: a glass run whose final crystalline fraction is at or above this crystallised: it is reported
#: and left out of the glass's fit and of the c/a ratio (its D is a crystal's, not the glass's)
MAX_GLASS_CRYSTALLINE_FRACTION = 0.5
#: an Arrhenius fit whose chi^2 test of linearity gives a p-value below this does not describe
#: its points: its extrapolation is flagged (``extrapolation_linear`` False) and the report's
#: row 11 does not judge it
MIN_LINEARITY_P = 0.01
#: highest MD temperature accepted, K: the melt-quench's melt temperature
#: (:data:`dealloy.builders.amorphous.PROTOCOLS`); above it there is no solid to compare
MAX_TEMPERATURE_K = 3000.0


def check_temperatures(v: tuple[float, ...]) -> tuple[float, ...]:
    """Check a series of MD temperatures (a pydantic field validator's body).

    Parameters
    ----------
    v : tuple of float
        Temperatures, K.

    Returns
    -------
    tuple of float
        ``v``, unchanged.

    Raises
    ------
    ValueError
        No temperature, one not in (0, :data:`MAX_TEMPERATURE_K`] (NaN included), or one twice.
    """
    if not v:
        raise ValueError("no temperature given")
    bad = [t for t in v if not (math.isfinite(t) and 0 < t <= MAX_TEMPERATURE_K)]
    if bad:
        raise ValueError(f"{', '.join(f'{t:g}' for t in bad)} K out of range (0, "
                         f"{MAX_TEMPERATURE_K:g}]")
    if len(set(v)) < len(v):
        twice = sorted({t for t in v if v.count(t) > 1})
        raise ValueError(f"{', '.join(f'{t:g}' for t in twice)} K given twice")
    return v


def check_at_least_a_timestep(v: float, info: ValidationInfo) -> float:
    """Check that an interval (ps) is no shorter than the potential's MD timestep (a validator's body).

    Parameters
    ----------
    v : float
        The interval, ps.
    info : pydantic.ValidationInfo
        The validation context; ``info.data["potential"]`` is the model's potential when that
        field passed (if it failed, its own error says why and this check is skipped).

    Returns
    -------
    float
        ``v``, unchanged.

    Raises
    ------
    ValueError
        ``v`` is shorter than the potential's timestep.
    """
    if "potential" in info.data:
        dt = get_potential(info.data["potential"]).timestep_ps
        if v < dt:
            raise ValueError(f"{v:g} ps is shorter than the MD timestep of "
                             f"{info.data['potential']}, {dt:g} ps")
    return v


def check_potential_name(v: str) -> str:
    """Check a registry potential name (a pydantic field validator's body).

    Parameters
    ----------
    v : str
        A name :func:`dealloy.lammps.potentials.get_potential` takes (ReaxFF as
        ``reaxff:/path/to/ffield``).

    Returns
    -------
    str
        ``v``, unchanged.

    Raises
    ------
    ValueError
        Bare ``reaxff`` (no force field), an unknown name or missing parameter files.
    """
    if v == "reaxff":
        raise ValueError("reaxff needs its force field: name it reaxff:/path/to/ffield")
    try:
        get_potential(v)  # unknown name or missing parameter files
    except ConfigError as exc:
        raise ValueError(str(exc).rstrip(".")) from None
    return v


class DiffusivityParams(AnalysisModel):
    """Parameters of ``dealloy diffusivity``: units in the names, ranges checked when it is made.

    A pydantic model like the analyses' (:mod:`dealloy.config.analysis`): every value is checked
    when the model is built or a field assigned, so a bad value never reaches the MD.
    :meth:`~dealloy.config.analysis.AnalysisModel.checked` (used by the command line, with the
    option names) turns the problems into one ``ConfigError`` line per problem naming the field,
    the value and the accepted range. The ``dealloy diffusivity`` options take their defaults,
    choices and help from these fields (:mod:`dealloy.potentials.cli`).

    Attributes
    ----------
    temperatures_k : tuple of float
        MD temperatures, K: at least one, distinct, each > 0 and <= 3000 (default 500, 600,
        700, 800).
    potential : str
        Registry potential (:data:`dealloy.lammps.potentials.POTENTIAL_NAMES`; ReaxFF as
        ``reaxff:/path/to/ffield``); default meam-godet2020.
    record_every_ps : float
        Interval between recorded Li positions, ps: > 0 and at least the potential's MD
        timestep (default 0.1).
    time_ps : float
        Production NVT time per temperature and phase, ps; long enough for 8 recorded frames,
        ``time_ps >= 8 record_every_ps`` (default 20).
    equilibrate_ps : float
        NPT equilibration (P = 0) before the production, ps (>= 0; default 2).
    cells : int
        c-Li15Si4 conventional cells per axis, 76 atoms each (1..10; default 1); the amorphous
        cell has as many Si.
    li_vacancies : int
        Li removed at random from the crystal (c-Li(3.75-d)Si), 0 .. 60 cells³ - 1 (default
        0); the amorphous cell gets the same Li/Si ratio x.
    seed : int
        Random seed of the velocities, the vacancies and the melt-quench (>= 0; default 1).
    amorphous_protocol : str
        Melt-quench protocol of the amorphous cell, a key of
        :data:`dealloy.builders.amorphous.PROTOCOLS`: ``fast`` (tests, smoke runs; default) or
        ``standard`` (production).
    fit_window : (float, float)
        Fractions of the longest lag fitted for D, 0 <= start < end <= 1 (default 0.2, 0.8).
    extrapolate_to_k : float
        Temperature the Arrhenius fits are extrapolated to, K (> 0, <= 3000; default 300).
    phases : tuple of str
        Phases simulated: ``crystalline`` and/or ``amorphous``, each once (default both).

    Raises
    ------
    pydantic.ValidationError
        On construction or assignment, a value out of its range, an unknown potential,
        protocol or phase, fewer than 8 recorded frames or too many vacancies
        (:meth:`~dealloy.config.analysis.AnalysisModel.checked` turns it into a ConfigError).
    """

    temperatures_k: tuple[float, ...] = Field(
        (500.0, 600.0, 700.0, 800.0),
        description=f"MD temperatures, K, each > 0 and <= {MAX_TEMPERATURE_K:g}, distinct")
    potential: str = Field(DEFAULT_POTENTIAL, description="registry potential (`dealloy "
                           "validate-potential` lists them; ReaxFF as reaxff:/path/to/ffield)")
    record_every_ps: float = Field(
        0.1, gt=0, allow_inf_nan=False,
        description="interval between recorded Li positions, ps, at least the MD timestep")
    time_ps: float = Field(
        20.0, gt=0, allow_inf_nan=False,
        description="production NVT MD per temperature and phase, ps, for at least 8 "
                    "recorded frames")
    equilibrate_ps: float = Field(2.0, ge=0, allow_inf_nan=False,
                                  description="NPT equilibration (P = 0) before each run, ps")
    cells: int = Field(1, ge=1, le=10, description="c-Li15Si4 supercell repeats per axis, 76 "
                       "atoms each; the amorphous cell has as many Si")
    li_vacancies: int = Field(0, ge=0, description="Li removed at random from the crystal "
                              "(c-Li3.75-dSi), fewer than its 60 cells³ Li; the amorphous cell "
                              "gets the same x")
    seed: int = Field(1, ge=0, description="random seed (velocities, vacancies, melt-quench)")
    amorphous_protocol: str = Field(
        "fast", description="melt-quench protocol of a-Li15Si4: fast (tests, smoke runs) | "
                            "standard (production)")
    fit_window: tuple[float, float] = Field(
        (0.2, 0.8), description="fractions of the longest lag fitted for D, 0 <= start < end <= 1")
    extrapolate_to_k: float = Field(
        300.0, gt=0, le=MAX_TEMPERATURE_K, allow_inf_nan=False,
        description="temperature the Arrhenius fits are extrapolated to, K")
    phases: tuple[str, ...] = Field(PHASES, description="phases simulated: crystalline and/or "
                                    "amorphous, each once")

    @field_validator("temperatures_k")
    @classmethod
    def _temperatures(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        return check_temperatures(v)

    @field_validator("potential")
    @classmethod
    def _known_potential(cls, v: str) -> str:
        return check_potential_name(v)

    @field_validator("record_every_ps")
    @classmethod
    def _at_least_a_timestep(cls, v: float, info: ValidationInfo) -> float:
        return check_at_least_a_timestep(v, info)

    @field_validator("time_ps")
    @classmethod
    def _eight_frames(cls, v: float, info: ValidationInfo) -> float:
        every = info.data.get("record_every_ps")
        if every and v / every < 8:
            raise ValueError(f"{v:g} ps gives {int(round(v / every))} recorded frames at "
                             f"record_every_ps = {every:g} ps; give >= {8 * every:g} ps (8 frames)")
        return v

    @field_validator("li_vacancies")
    @classmethod
    def _fewer_than_the_li(cls, v: int, info: ValidationInfo) -> int:
        cells = info.data.get("cells")
        if cells and v >= 60 * cells**3:
            raise ValueError(f"{v} is not below the {60 * cells**3} Li of {cells}³ cells; "
                             f"give 0..{60 * cells**3 - 1} or more cells")
        return v

    @field_validator("amorphous_protocol")
    @classmethod
    def _known_protocol(cls, v: str) -> str:
        if v not in PROTOCOLS:
            raise ValueError(f"unknown protocol {v!r}")
        return v

    @field_validator("fit_window")
    @classmethod
    def _window(cls, v: tuple[float, float]) -> tuple[float, float]:
        lo, hi = v
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi <= 1):
            raise ValueError(f"({lo:g}, {hi:g}) is not a window")
        return v

    @field_validator("phases")
    @classmethod
    def _known_phases(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [p for p in v if p not in PHASES]
        if unknown:
            raise ValueError(f"unknown phase {unknown[0]!r}")
        if not v or len(set(v)) < len(v):
            raise ValueError("no phase given" if not v else f"{list(v)} repeats a phase")
        return v


def bulk_structure(phase: str, p: DiffusivityParams, echo=print):
    """Build the periodic cell of one phase.

    Parameters
    ----------
    phase : {"crystalline", "amorphous"}
        c-Li15Si4 (``p.cells`` per axis, ``p.li_vacancies`` Li removed at random) or a-LixSi of
        the same composition by melt-quench (:func:`dealloy.builders.amorphous.amorphous_lisi`).
    p : DiffusivityParams
        The parameters.
    echo : callable
        Prints a message before the melt-quench.

    Returns
    -------
    ase.Atoms
        The periodic cell (Å).

    Raises
    ------
    ConfigError
        From the amorphous builder (bad arguments, unknown potential).
    SimulationError
        When the melt-quench fails.
    """
    if phase == "crystalline":
        atoms = li15si4_cell().repeat((p.cells,) * 3)
        if p.li_vacancies:
            li = np.flatnonzero(np.array(atoms.get_chemical_symbols()) == "Li")
            rng = np.random.default_rng(p.seed)
            del atoms[sorted(rng.choice(li, p.li_vacancies, replace=False).tolist())]
        return atoms

    n_si = 16 * p.cells**3
    x = (60 * p.cells**3 - p.li_vacancies) / n_si  # same composition as the crystal
    echo(f"building a-Li{x:.3g}Si ({n_si} Si, melt-quench protocol '{p.amorphous_protocol}') ...")
    return amorphous_lisi(x, n_si=n_si, seed=p.seed, potential=p.potential,
                          protocol=p.amorphous_protocol)


def li_diffusion_md(atoms, temperature_k: float, p: DiffusivityParams, tick=None):
    """Run one MD of Li diffusion and fit its MSD.

    NPT equilibration (P = 0) for ``p.equilibrate_ps``, then NVT (Nosé-Hoover, 0.1 ps damping)
    for ``p.time_ps`` with the Li positions recorded every ``p.record_every_ps`` (unwrapped,
    centre-of-mass drift removed).

    Parameters
    ----------
    atoms : ase.Atoms
        Periodic cell (Å).
    temperature_k : float
        Temperature (K).
    p : DiffusivityParams
        The parameters.
    tick : callable, optional
        Called as ``tick(fraction)`` with the share of the production MD done after every
        recorded frame.

    Returns
    -------
    (dealloy.analysis.trajectory.MSDResult, ase.Atoms)
        The MSD fit (D in cm²/s) and the final configuration.

    Raises
    ------
    ConfigError
        For an unknown potential name.
    SimulationError
        When LAMMPS fails.
    """
    with LammpsSession(atoms, p.potential) as s:
        s.create_velocities(temperature_k, p.seed)
        if p.equilibrate_ps > 0:
            s.md(p.equilibrate_ps, temperature_k, ensemble="npt")
        fid = s.new_id("dnvt")
        s.command(f"fix {fid} all nvt temp {temperature_k} {temperature_k} "
                  f"{s.units.to_native_time(0.1)}")
        every = s.steps(p.record_every_ps)
        n_rec = int(round(p.time_ps / p.record_every_ps))
        types = s.gather("type", 0, 1).astype(int)
        ids = s.gather("id", 0, 1).astype(int)
        order = np.argsort(ids)
        li = (types[order] == 1)  # dealloy type order: 1 = Li, 2 = Si
        frames, times = [], []
        for k in range(n_rec + 1):
            if k:
                s.command(f"run {every}")
            x = s.unwrapped_positions()
            x -= x.mean(axis=0)  # remove centre-of-mass drift (equal-mass-free: tiny)
            frames.append(x[li])
            times.append(k * every * s.dt_ps)
            if tick is not None:
                tick(k / max(n_rec, 1))
        s.command(f"unfix {fid}")
        final = s.get_atoms(velocities=False)
    return msd(times, np.array(frames), p.fit_window), final


#: what a run that is not kept lost, by phase (printed and drawn)
LOST = {"crystalline": "crystal lost", "amorphous": "glass crystallised"}


def phase_kept(phase: str, crystalline_fraction: float) -> bool:
    """Say whether a run still measured its phase when it ended.

    Parameters
    ----------
    phase : {"crystalline", "amorphous"}
        The phase the run started as.
    crystalline_fraction : float
        Share of its atoms in crystalline surroundings at the end of the run
        (:class:`~dealloy.analysis.structure.Crystallinity`), 0-1.

    Returns
    -------
    bool
        False for a crystal below :data:`MIN_CRYSTALLINE_FRACTION` (it melted or amorphised)
        and for a glass at or above :data:`MAX_GLASS_CRYSTALLINE_FRACTION` (it crystallised):
        such a run's D is not its phase's, so it is reported and left out of the fits and ratios.

    Raises
    ------
    ValueError
        For a phase other than those of :data:`PHASES`.
    """
    if phase == "crystalline":
        return crystalline_fraction >= MIN_CRYSTALLINE_FRACTION
    if phase == "amorphous":
        return crystalline_fraction < MAX_GLASS_CRYSTALLINE_FRACTION
    raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")


def _ratio_by_temperature(rows: list[dict]) -> dict:
    """Compute the c/a ratio per temperature where both D are resolved, else its bounds.

    Only temperatures where both runs are kept (:func:`phase_kept`: the crystal still
    crystalline, the glass not crystallised) count. Upper bound where the crystal is not
    resolved and the glass is: the crystal's 95 % upper limit over the glass's D minus twice its
    error; lower bound where the glass is not resolved and the crystal is: the crystal's D minus
    twice its error over the glass's upper limit
    (:func:`~dealloy.analysis.diffusivity.hop_statistics`).

    Returns
    -------
    dict
        ``c_over_a_ratio_by_temperature``, ``c_over_a_upper_bound_by_temperature`` and
        ``c_over_a_lower_bound_by_temperature``: each ``{str(T in K): value}``.
    """
    per_t: dict = {}
    for x in rows:
        per_t.setdefault(x["temperature_k"], {})[x["phase"]] = x
    ratio, upper, lower = {}, {}, {}
    for t, v in per_t.items():
        c, a = v.get("crystalline"), v.get("amorphous")
        if not (c and a and c["kept"] and a.get("kept", True)):
            continue
        if c["resolved"] and a["resolved"]:
            ratio[str(t)] = c["diffusion_cm2_per_s"] / a["diffusion_cm2_per_s"]
        elif a["resolved"]:
            upper[str(t)] = c["upper_limit_cm2_per_s"] / (
                a["diffusion_cm2_per_s"] - 2.0 * a["stderr_with_counting_cm2_per_s"])
        elif c["resolved"]:
            lower[str(t)] = (c["diffusion_cm2_per_s"] - 2.0 * c["stderr_with_counting_cm2_per_s"]
                             ) / a["upper_limit_cm2_per_s"]
    return {"c_over_a_ratio_by_temperature": ratio, "c_over_a_upper_bound_by_temperature": upper,
            "c_over_a_lower_bound_by_temperature": lower}


def summarize_diffusivity(rows: list[dict], p: DiffusivityParams, echo=print) -> dict:
    """Fit and compare the runs of :func:`run_diffusivity`: Arrhenius fits, ratios and bounds.

    Pure (no MD): ``run_diffusivity`` calls it on the runs it made, and it can be called again
    on the ``runs`` of a ``diffusivity.json`` written by dealloy 2cfcb9d or later (rows with
    ``kept``, ``resolved`` and ``stderr_with_counting_cm2_per_s``) to refresh the summary.

    Parameters
    ----------
    rows : list of dict
        One per phase and temperature, as ``run_diffusivity`` records them.
    p : DiffusivityParams
        The parameters of those runs (phases, ``extrapolate_to_k``).
    echo : callable
        Prints one line per fit and the ratio.

    Returns
    -------
    dict
        The summary of :func:`run_diffusivity` without ``wall_s``.
    """
    summary = {"params": p.model_dump(mode="json"), "runs": rows, "fits": {}}
    for phase in p.phases:
        r = [x for x in rows if x["phase"] == phase and x["used_in_fit"]]
        fit = arrhenius([x["temperature_k"] for x in r], [x["diffusion_cm2_per_s"] for x in r],
                        [x["stderr_with_counting_cm2_per_s"] for x in r])
        if fit:
            d300, sig = predict(fit, p.extrapolate_to_k)
            fit.update({"d_at_extrapolation_cm2_per_s": d300,
                        "d_at_extrapolation_range_cm2_per_s": [d300 * math.exp(-sig),
                                                                d300 * math.exp(sig)]})
            echo(f"{phase:12s} Ea = {fit['activation_energy_ev']:.3f} ± "
                 f"{fit['activation_energy_stderr_ev']:.3f} eV, D({p.extrapolate_to_k:.0f} K) = "
                 f"{d300:.2e} cm^2/s (x/÷ {math.exp(sig):.1f})")
            if fit.get("linearity_p_value", 1.0) < MIN_LINEARITY_P:
                echo(f"{phase:12s} one Arrhenius line does not fit these points (chi^2/dof "
                     f"{fit['reduced_chi2']:.1f}, p = {fit['linearity_p_value']:.1g}): the "
                     "extrapolation is not a measurement")
        else:
            echo(f"{phase:12s} too few usable temperatures for an Arrhenius fit")
        summary["fits"][phase] = fit
    fc, fa = summary["fits"].get("crystalline"), summary["fits"].get("amorphous")
    if fc and fa:
        ratio = fc["d_at_extrapolation_cm2_per_s"] / fa["d_at_extrapolation_cm2_per_s"]
        summary["c_over_a_ratio_at_extrapolation"] = ratio
        linear = min(fc.get("linearity_p_value", 1.0), fa.get("linearity_p_value", 1.0))
        summary["extrapolation_linear"] = linear >= MIN_LINEARITY_P
        echo(f"c/a ratio at {p.extrapolate_to_k:.0f} K: {ratio:.2g} (paper: ~10-1000; "
             "absolute MD values run high, the ratio is the number to compare)"
             + ("" if summary["extrapolation_linear"] else
                "; NOT a measurement: an Arrhenius line does not fit (above)"))
    summary.update(_ratio_by_temperature(rows))
    if summary["c_over_a_upper_bound_by_temperature"] or summary["c_over_a_lower_bound_by_temperature"]:
        echo("c/a bounds where one phase's D is not resolved: " + ", ".join(
            [f"< {b:.2g} at {float(t):.0f} K"
             for t, b in summary["c_over_a_upper_bound_by_temperature"].items()]
            + [f"> {b:.2g} at {float(t):.0f} K"
               for t, b in summary["c_over_a_lower_bound_by_temperature"].items()]))
    return summary


def run_diffusivity(p: DiffusivityParams | dict, out_dir, echo=print, progress=None) -> dict:
    """Run MD of each phase at each temperature, fit Arrhenius laws, write files in ``out_dir``.

    Writes ``diffusivity.json`` (the summary), ``diffusivity.csv`` (one row per run) and
    ``arrhenius.png`` atomically.

    Parameters
    ----------
    p : DiffusivityParams or dict
        The parameters: a model (checked when it was built) or its fields as a dict (checked
        here, before any MD, by :meth:`DiffusivityParams.checked`).
    out_dir : str or os.PathLike
        Output directory.
    echo : callable
        Prints one line per run and per fit.
    progress : callable, optional
        Called as ``progress(done=..., total=n_runs, task="MD runs")`` with the (fractional)
        number of MD runs done, after every recorded frame (:class:`dealloy.progress.TaskProgress`
        draws it with an ETA).

    Returns
    -------
    dict
        ``params``, ``runs`` (per phase and temperature: ``diffusion_cm2_per_s``, its stderr,
        ``d_single_hop_cm2_per_s`` (the resolution floor,
        :func:`~dealloy.analysis.diffusivity.single_hop_diffusivity` of the start structure),
        ``hops``, ``stderr_with_counting_cm2_per_s``, ``upper_limit_cm2_per_s`` and
        ``resolved`` (:func:`~dealloy.analysis.diffusivity.hop_statistics`: at least 4 hops'
        worth and above twice the errors), ``crystalline_fraction_end``, ``kept``
        (:func:`phase_kept`: False for a crystal that melted or amorphised and for a glass that
        crystallised), ``used_in_fit`` (kept and resolved), ...), ``fits``
        (per phase: the :func:`~dealloy.analysis.diffusivity.arrhenius` fit of the runs used,
        weighted by the counting errors, with Ea in eV and ``d_at_extrapolation_cm2_per_s``),
        ``c_over_a_ratio_at_extrapolation`` and ``extrapolation_linear`` (when both fits
        exist: False when either fit fails its linearity test, p < :data:`MIN_LINEARITY_P`),
        ``c_over_a_ratio_by_temperature`` (where both D are resolved),
        ``c_over_a_upper_bound_by_temperature`` and ``c_over_a_lower_bound_by_temperature``
        (where only one is, :func:`_ratio_by_temperature`) and
        ``wall_s``.

    Raises
    ------
    ConfigError
        For a dict of bad parameters (before any MD and before anything is written: one line
        per problem naming the field, e.g. ``run_diffusivity.time_ps: ...``), or from the
        amorphous builder.
    SimulationError
        When an MD run or the melt-quench fails.
    """
    if not isinstance(p, DiffusivityParams):
        p = DiffusivityParams.checked("run_diffusivity", **dict(p))
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    rows = []
    n_runs = len(p.phases) * len(p.temperatures_k)
    say = progress_hook(progress)
    say(done=0, total=n_runs, task="MD runs")
    for phase in p.phases:
        start = bulk_structure(phase, p, echo)
        floor = single_hop_diffusivity(start, p.time_ps)
        for temp in p.temperatures_k:
            t1 = time.perf_counter()
            k_run = len(rows)
            res, final = li_diffusion_md(start, temp, p, tick=lambda f, k=k_run: say(
                done=round(k + f, 3), total=n_runs, task="MD runs"))
            cryst = Crystallinity().compute(final).results["crystalline_fraction"]
            d, err = res.diffusion_cm2_per_s, res.diffusion_stderr_cm2_per_s
            kept = phase_kept(phase, cryst)
            hs = hop_statistics(d, err, floor)
            rows.append({"phase": phase, "temperature_k": temp,
                         "diffusion_cm2_per_s": d, "diffusion_stderr_cm2_per_s": err,
                         "d_single_hop_cm2_per_s": floor, "hops": hs["hops"],
                         "stderr_with_counting_cm2_per_s": hs["stderr_with_counting_cm2_per_s"],
                         "upper_limit_cm2_per_s": hs["upper_limit_cm2_per_s"],
                         "resolved": hs["resolved"],
                         "fit_window_ps": f"{res.fit_window_ps[0]:.2f}-{res.fit_window_ps[1]:.2f}",
                         "crystalline_fraction_end": cryst, "kept": kept,
                         "used_in_fit": kept and hs["resolved"],
                         "n_li": res.n_atoms, "wall_s": round(time.perf_counter() - t1, 1)})
            why = ("" if kept else f"  ({LOST[phase]}: left out of the fit)") + (
                "" if hs["resolved"] else f"  (not resolved: {hs['hops']:.1f} hops' worth, "
                f"95 % upper limit {hs['upper_limit_cm2_per_s']:.1e}; left out of the fit)")
            echo(f"{phase:12s} {temp:6.0f} K  D = {d:.2e} ± {hs['stderr_with_counting_cm2_per_s']:.1e}"
                 f" cm^2/s  crystalline {cryst:.2f}{why}")
    summary = summarize_diffusivity(rows, p, echo)
    summary["wall_s"] = round(time.perf_counter() - t0, 1)
    write_json(out_dir / "diffusivity.json", summary)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_text(out_dir / "diffusivity.csv", buf.getvalue())
    plot_arrhenius(summary, out_dir / "arrhenius.png")
    echo(f"wrote {out_dir / 'diffusivity.json'}, diffusivity.csv, arrhenius.png")
    return summary


def plot_arrhenius(summary: dict, path) -> dict:
    """Draw the Arrhenius figure of a :func:`run_diffusivity` summary; no point claims more than it is.

    Resolved runs used in the fit: filled circles with the larger of the MSD fit's and the Li-hop
    counting error. Unresolved runs: open down-triangles at their 95 % upper limit (a bound, not
    a value). Runs whose crystal was lost: grey crosses (left out of the fit). A fit is drawn
    solid over its temperatures and dashed down to ``extrapolate_to_k``; dotted, and so labelled,
    where one Arrhenius line does not fit its points (``linearity_p_value`` <
    :data:`MIN_LINEARITY_P`). The paper's room-temperature ranges (c-Li3.75Si 1e-11..1e-10,
    a-LixSi 1e-13..1e-12 cm²/s) are drawn as bands at 300 K.

    Parameters
    ----------
    summary : dict
        ``diffusivity.json`` as :func:`run_diffusivity` writes it (``params``, ``runs``, ``fits``).
    path : str or pathlib.Path
        The PNG to write (atomically).

    Returns
    -------
    dict
        Per phase, the temperatures (K) drawn as ``measured`` points, ``upper_limits`` and
        ``lost`` crystals.
    """
    from dealloy.analysis.plots import figures, save_figure  # deferred: matplotlib (~0.7 s), only to plot

    extrapolate_to_k = summary["params"]["extrapolate_to_k"]
    drawn = {}
    plt = figures()
    fig, ax = plt.subplots(figsize=(5, 3.8))
    for phase, color in (("crystalline", "tab:red"), ("amorphous", "tab:blue")):
        r = [x for x in summary["runs"] if x["phase"] == phase]
        if not r:
            continue
        used = [x for x in r if x.get("used_in_fit", True) and x["diffusion_cm2_per_s"] > 0]
        bound = [x for x in r if x.get("kept", True) and not x.get("resolved", True)]
        lost = [x for x in r if not x.get("kept", True) and x["diffusion_cm2_per_s"] > 0]
        drawn[phase] = {"measured": [x["temperature_k"] for x in used],
                        "upper_limits": [x["temperature_k"] for x in bound],
                        "lost": [x["temperature_k"] for x in lost]}
        if used:
            ax.errorbar([1000 / x["temperature_k"] for x in used],
                        [x["diffusion_cm2_per_s"] for x in used],
                        yerr=[x.get("stderr_with_counting_cm2_per_s",
                                    x["diffusion_stderr_cm2_per_s"]) for x in used],
                        fmt="o", color=color, label=f"{phase} Li15Si4")
        if bound:
            ax.plot([1000 / x["temperature_k"] for x in bound],
                    [x["upper_limit_cm2_per_s"] for x in bound], "v", mfc="none", color=color,
                    label=f"{phase}: not resolved (95 % upper limit)")
        if lost:
            ax.plot([1000 / x["temperature_k"] for x in lost],
                    [x["diffusion_cm2_per_s"] for x in lost], "x", color="0.5",
                    label=f"{phase}: {LOST[phase]} (left out)")
        fit = summary["fits"].get(phase)
        if fit:
            temps = [x["temperature_k"] for x in used]
            linear = fit.get("linearity_p_value", 1.0) >= MIN_LINEARITY_P
            inside = np.linspace(min(temps), max(temps), 20)
            ax.plot(1000 / inside, [predict(fit, x)[0] for x in inside],
                    "-" if linear else ":", color=color)
            outside = np.linspace(extrapolate_to_k, min(temps), 30)
            ax.plot(1000 / outside, [predict(fit, x)[0] for x in outside], "--" if linear else ":",
                    color=color,
                    label=None if linear else f"{phase}: not one Arrhenius line (p < {MIN_LINEARITY_P:g})")
    x300 = 1000 / 300.0
    ax.fill_between([x300 - 0.08, x300 + 0.08], 1e-11, 1e-10, color="tab:red", alpha=0.25,
                    label="paper c-Li3.75Si (300 K)")
    ax.fill_between([x300 - 0.08, x300 + 0.08], 1e-13, 1e-12, color="tab:blue", alpha=0.25,
                    label="paper a-LixSi (300 K)")
    ax.set_yscale("log")
    ax.set(xlabel="1000 / T (1/K)", ylabel="Li D (cm²/s)", title="Li diffusivity, Arrhenius")
    ax.legend(fontsize=7)
    save_figure(fig, Path(path), [])
    return drawn

"""Study axes: how one point of a sweep becomes a complete run config.

Friendly axes (the paper's parameter space) and what they set in the run config
(``docs/run-config.md``):

=====================  ===========================================================================
axis                   sets
=====================  ===========================================================================
state                  the starting particle: ``particle.builder`` + its args (see ``STATES``)
dod                    depth of discharge of the starting state (x = 3.75 DOD); needs a state
                       that depends on it (a-lixsi, core-shell; c-li15si4* are DOD 1.0)
rate_fraction_per_ns   ``stages.extract.rate_fraction_per_ns`` (replaces batch / rate_li_per_ps)
rate_li_per_ps         ``stages.extract.rate_li_per_ps`` (replaces batch / rate_fraction_per_ns)
selector               ``stages.extract.selector``
temperature_k          ``temperature_k``
diameter_nm            ``particle.args.diameter_nm``
grain_size_nm          ``particle.args.grain_size_nm``
potential              ``potential`` (and ``particle.args.potential`` of melt-quench builders)
seed                   ``seed`` and ``particle.args.seed`` (independent replicas)
extraction             the extraction mode: ``geometric`` (an ``extract`` stage), ``potentiostatic``
                       or ``galvanostatic``; the protocol's extraction stage is replaced by one of
                       that type keeping x_final, interval_ps, temperature_k, max_time_ps and the
                       accessible Li (selector surface <-> accessible surface, random <-> all)
voltage_v              ``stages.potentiostatic.voltage_v`` (applied potential, V vs Li/Li+)
=====================  ===========================================================================

Any other axis name must be a run-config key by dotted path, e.g. ``stages.extract.interval_ps``
(a stage is addressed by its ``type``: the first stage of that type).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from dealloy.config import run as rc
from dealloy.config.analysis import AnalysisParams
from dealloy.config.builders import BUILDER_ARGS
from dealloy.config.builders import builder_parameters as builder_parameter_fields
from dealloy.errors import ConfigError
from dealloy.lammps.potentials import DEFAULT_POTENTIAL
from dealloy.materials import X_LI15SI4  # Li/Si of c-Li15Si4 = DOD 100 %


@dataclass(frozen=True)
class StatePreset:
    """A starting state of the ``state`` axis: the builder that makes it and how it takes a DOD.

    Parameters
    ----------
    builder : str
        The :mod:`dealloy.builders` builder's name.
    description : str
        One line for the docs and tables.
    args : tuple of str
        Keyword arguments the builder takes (from the builders' parameter models).
    dod : str
        ``"fixed"`` (DOD 1 only), ``"x"`` (the builder takes x = 3.75 DOD) or ``"dod"`` (it takes
        the DOD).
    needs : tuple of str
        Arguments the state requires (e.g. ``grain_size_nm``).
    """

    builder: str
    description: str
    args: tuple[str, ...]  # keyword arguments the builder takes (from the builders' contract)
    dod: str  # "fixed" (DOD 1 only) | "x" (x = 3.75 dod) | "dod" (passes dod)
    needs: tuple[str, ...] = ()


STATES: dict[str, StatePreset] = {
    "c-li15si4": StatePreset(
        "li15si4_particle", "single-crystal c-Li15Si4 particle (DOD 100 %, sc after 4 cycles)",
        ("diameter_nm", "seed"), "fixed"),
    "c-li15si4-pc": StatePreset(
        "li15si4_particle", "polycrystalline c-Li15Si4 particle (DOD 100 %, pc-Si 1st cycle)",
        ("diameter_nm", "grain_size_nm", "seed"), "fixed", needs=("grain_size_nm",)),
    "a-lixsi": StatePreset(
        "amorphous_lisi_particle", "amorphous a-LixSi particle, x = 3.75 DOD (melt-quench)",
        ("diameter_nm", "x", "seed", "potential"), "x"),
    "core-shell": StatePreset(
        "core_shell_particle", "c-Si core in an a-LixSi shell, overall Li/Si = 3.75 DOD",
        ("diameter_nm", "dod", "x_shell", "seed", "potential"), "dod"),
}

def pathway(state) -> str:
    """Name the paper's route a starting state belongs to.

    Parameters
    ----------
    state : str or None
        A state name of :data:`STATES` or a builder name.

    Returns
    -------
    str
        'c-path' (a crystalline c-Li15Si4 start: particle or periodic cell), 'a-path' (an
        amorphous a-LixSi start: particle, periodic cell or core-shell) or 'other'.
    """
    s = str(state or "").lower().replace("-", "_")
    preset = STATES.get(str(state or "").lower())
    builder = preset.builder if preset else s
    if builder in ("li15si4_particle", "li15si4_cell"):
        return "c-path"
    if builder in ("amorphous_lisi_particle", "amorphous_lisi", "core_shell_particle"):
        return "a-path"
    return "other"


# builder name -> (args, dod handling) for a base config's own particle (state not given)
_BUILDER_DOD = {p.builder: p for p in STATES.values() if p.dod != "fixed"}

EXTRACT_RATE_KEYS = ("batch", "rate_li_per_ps", "rate_fraction_per_ns")

FRIENDLY_AXES: dict[str, str] = {
    "state": "starting state: " + ", ".join(STATES),
    "dod": "depth of discharge of the starting state, 0 < dod <= 1",
    "rate_fraction_per_ns": "stages.extract.rate_fraction_per_ns",
    "rate_li_per_ps": "stages.extract.rate_li_per_ps",
    "selector": "stages.extract.selector",
    "temperature_k": "temperature_k",
    "diameter_nm": "particle.args.diameter_nm",
    "grain_size_nm": "particle.args.grain_size_nm",
    "potential": "potential (+ particle.args.potential of melt-quench builders)",
    "seed": "seed and particle.args.seed",
    "extraction": "extraction mode: geometric | potentiostatic | galvanostatic",
    "voltage_v": "stages.potentiostatic.voltage_v",
}
EXTRACTION_MODES = {"geometric": "extract", "potentiostatic": "potentiostatic",
                    "galvanostatic": "galvanostatic"}
_EXTRACTION_TYPES = tuple(EXTRACTION_MODES.values())
# keys an extraction stage keeps when its mode changes
_MODE_COMMON = ("x_final", "interval_ps", "temperature_k", "max_time_ps", "probe_radius_angstrom",
                "voxel_angstrom", "surface_depth_angstrom")

# run-config keys a study may address (from the run-config schema and the builders' models)
PARTICLE_KEYS = set(rc.ParticleSpec.model_fields)
BUILDER_ARG_NAMES = {k for m in BUILDER_ARGS.values() for k in m.model_fields}


def check_axis_name(name: str, where: str) -> None:
    """Refuse an axis name that is neither a friendly axis nor a run-config key by dotted path.

    Parameters
    ----------
    name : str
        E.g. ``"dod"``, ``"stages.extract.interval_ps"``, ``"particle.args.diameter_nm"``.
    where : str
        The study point, for messages.

    Raises
    ------
    ConfigError
        Listing the friendly axes and the dotted-path form.
    """
    if name in FRIENDLY_AXES:
        return
    top, stage_keys = run_config_keys()
    parts = name.split(".")
    ok = False
    if len(parts) == 1:
        ok = name in top
    elif parts[0] == "particle":
        ok = parts[1] in PARTICLE_KEYS and (len(parts) == 2 or (parts[1] == "args" and len(parts) == 3
                                                                and parts[2] in BUILDER_ARG_NAMES))
    elif parts[0] == "stages" and len(parts) == 3:
        ok = parts[1] in stage_keys and parts[2] in stage_keys[parts[1]]
    elif parts[0] == "analysis":  # `dealloy analyze`'s parameters (dealloy.config.analysis)
        groups = AnalysisParams.groups()
        ok = (parts[1:] == ["metrics"] or (len(parts) == 3 and parts[1] in groups
                                           and parts[2] in groups[parts[1]].model_fields))
    if not ok:
        raise ConfigError(
            f"{where}: unknown axis or parameter {name!r}. Axes: {', '.join(FRIENDLY_AXES)}; or a "
            f"run-config key by dotted path (docs/run-config.md), e.g. 'stages.extract.interval_ps', "
            f"'particle.args.diameter_nm', 'temperature_k', 'analysis.voxel.voxel_angstrom'")


def run_config_keys() -> tuple[set[str], dict[str, set[str]]]:
    """List the run config's keys, from its schema (dealloy.config.run).

    Returns
    -------
    top : set of str
        Top-level keys (without ``particle``, ``stages`` and ``analysis``).
    stages : dict of str to set of str
        Stage type -> its keys (without ``type``).
    """
    top = set(rc.RunConfig.model_fields) - {"particle", "stages", "analysis"}
    stages = {}
    for model in rc.STAGE_MODELS:
        stage_type = model.model_fields["type"].annotation.__args__[0]
        stages[stage_type] = set(model.model_fields) - {"type"}
    return top, stages


# --------------------------------------------------------------------------------------------
def set_dotted(cfg: dict, path: str, value: Any) -> None:
    """Set a value in ``cfg`` by dotted path.

    Setting one rate key of an ``extract``/``insert`` stage removes the others (one way to give
    the rate).

    Parameters
    ----------
    cfg : dict
        A run config as written (changed in place).
    path : str
        ``a.b.c``; ``stages.<type>.<key>`` addresses the first stage of that type (the default
        protocol is filled in if the config has none).
    value : object
        The value.

    Raises
    ------
    ConfigError
        For a malformed stage path, a missing stage type, or a path through a non-table.
    """
    parts = path.split(".")
    if parts[0] == "stages":
        if len(parts) != 3:
            raise ConfigError(f"{path!r}: address a stage key as stages.<type>.<key>")
        stage = find_stage(cfg, parts[1], path)
        if parts[1] in ("extract", "insert") and parts[2] in EXTRACT_RATE_KEYS:
            for k in EXTRACT_RATE_KEYS:  # one way to give the rate
                stage.pop(k, None)
        stage[parts[2]] = value
        return
    node = cfg
    for p in parts[:-1]:
        nxt = node.setdefault(p, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"{path!r}: {p!r} is not a table in the run config")
        node = nxt
    node[parts[-1]] = value


def default_stages() -> list[dict[str, Any]]:
    """Return the engine's default protocol as plain dicts (non-default keys and ``type``)."""
    return [st.model_dump(mode="json", exclude_defaults=True) | {"type": st.type}
            for st in rc.default_stages()]


def find_stage(cfg: dict, stage_type: str, path: str) -> dict:
    """Find the first stage of a type in ``cfg`` (filling in the default protocol if it has none).

    Parameters
    ----------
    cfg : dict
        A run config as written (changed in place).
    stage_type : str
        E.g. ``"extract"``.
    path : str
        The dotted path being set, for the message.

    Returns
    -------
    dict
        The stage (a reference into ``cfg``).

    Raises
    ------
    ConfigError
        When the protocol has no stage of that type.
    """
    stages = cfg.get("stages")
    if not stages:
        stages = cfg["stages"] = default_stages()
    for st in stages:
        if st.get("type") == stage_type:
            return st
    types = [s.get("type") for s in stages]
    raise ConfigError(f"{path!r}: the base protocol has no {stage_type!r} stage (stages: {types})")


def apply_state(cfg: dict, state: str | None, dod: float | None, where: str) -> None:
    """Point ``cfg['particle']`` at the starting state's builder, with its DOD.

    Parameters
    ----------
    cfg : dict
        A run config as written (changed in place).
    state : str or None
        A name of :data:`STATES`; None keeps the base config's builder.
    dod : float or None
        Depth of discharge in (0, 1]: x = 3.75 DOD for a-lixsi, passed as ``dod`` to core-shell,
        1.0 only for the c-Li15Si4 states.
    where : str
        The study point, for messages.

    Raises
    ------
    ConfigError
        For an unknown state, a DOD out of (0, 1], a DOD the state cannot take, or a state that
        needs a DOD without one.
    """
    particle = cfg.setdefault("particle", {})
    if state is None:
        if dod is None:
            return
        preset = _BUILDER_DOD.get(particle.get("builder", ""))
        if preset is None and dod == 1.0:
            preset = preset_for(cfg)
        if preset is None:
            raise ConfigError(
                f"{where}: dod = {dod} needs a starting state that depends on it: add a 'state' "
                f"axis (a-lixsi, core-shell) or use such a builder in the base config")
    else:
        preset = STATES.get(state)
        if preset is None:
            raise ConfigError(f"{where}: unknown state {state!r}; states: {', '.join(STATES)}")
        old = particle.get("args", {}) or {}
        particle.pop("file", None)
        particle["builder"] = preset.builder
        accepted = set(preset.args) | builder_parameters(preset.builder)
        particle["args"] = {k: v for k, v in old.items() if k in accepted}
    args = particle.setdefault("args", {})
    if dod is not None:
        if not isinstance(dod, (int, float)) or not 0 < dod <= 1:
            raise ConfigError(f"{where}: dod = {dod!r} must be in (0, 1]")
    if preset.dod == "fixed":
        if dod is not None and abs(dod - 1.0) > 1e-12:
            raise ConfigError(f"{where}: state {state!r} is the DOD 100 % state; dod must be 1.0 "
                              f"(got {dod}); partial DOD: a-lixsi or core-shell")
    elif preset.dod == "x":
        if dod is not None:
            args["x"] = round(X_LI15SI4 * dod, 6)
        elif "x" not in args:
            raise ConfigError(f"{where}: state {state!r} needs a dod (x = 3.75 dod)")
    else:
        if dod is not None:
            args["dod"] = dod
        elif "dod" not in args:
            raise ConfigError(f"{where}: state {state!r} needs a dod")


def builder_parameters(name: str) -> set[str]:
    """List the arguments of a dealloy.builders builder, from its parameter model.

    Parameters
    ----------
    name : str
        The builder's name.

    Returns
    -------
    set of str
        Its argument names (empty if unknown).
    """
    return set(builder_parameter_fields(name))


def preset_for(cfg: dict, state: str | None = None) -> StatePreset | None:
    """Find the named state's preset, else one describing the base config's builder.

    Parameters
    ----------
    cfg : dict
        A run config.
    state : str, optional
        A name of :data:`STATES`.

    Returns
    -------
    StatePreset or None
        None for an unknown state or a builder no state uses.
    """
    if state is not None:
        return STATES.get(state)
    b = (cfg.get("particle") or {}).get("builder")
    matches = [p for p in STATES.values() if p.builder == b]
    if not matches:
        return None
    args = tuple(dict.fromkeys(a for p in matches for a in p.args))
    return StatePreset(b, matches[0].description, args, matches[-1].dod)


ORDER = ("potential", "temperature_k", "state", "dod", "diameter_nm", "grain_size_nm", "seed",
         "extraction", "voltage_v", "selector", "rate_fraction_per_ns", "rate_li_per_ps")


def apply_params(cfg: dict, params: dict[str, Any], where: str) -> dict:
    """Return a copy of ``cfg`` with one sweep point's ``params`` applied.

    Friendly axes are applied in a fixed order (potential, temperature, state/DOD, particle
    arguments, extraction mode, stage keys), then every dotted-path parameter.

    Parameters
    ----------
    cfg : dict
        A run config as written (not changed).
    params : dict
        Axis name -> value.
    where : str
        The study point, for messages.

    Returns
    -------
    dict
        The new config.

    Raises
    ------
    ConfigError
        For an unknown axis, a state or DOD that does not fit, or a parameter the state's
        builder does not take.
    """
    cfg = copy.deepcopy(cfg)
    for name in params:
        check_axis_name(name, where)
    if "potential" in params:
        cfg["potential"] = params["potential"]
    if "temperature_k" in params:
        cfg["temperature_k"] = params["temperature_k"]
    if "state" in params or "dod" in params:
        apply_state(cfg, params.get("state"), params.get("dod"), where)
    args = (cfg.setdefault("particle", {})).setdefault("args", {})
    if "diameter_nm" in params:
        args["diameter_nm"] = params["diameter_nm"]
    if "grain_size_nm" in params:
        preset = preset_for(cfg, params.get("state"))
        if preset is not None and "grain_size_nm" not in preset.args:
            raise ConfigError(f"{where}: grain_size_nm does not apply to builder "
                              f"{preset.builder!r} of this state (use state = 'c-li15si4-pc')")
        args["grain_size_nm"] = params["grain_size_nm"]
    if "seed" in params:
        cfg["seed"] = params["seed"]
        if cfg["particle"].get("builder"):
            args["seed"] = params["seed"]
    if "extraction" in params:
        apply_extraction(cfg, params["extraction"], where)
    if "voltage_v" in params:
        set_dotted(cfg, "stages.potentiostatic.voltage_v", params["voltage_v"])
    if "selector" in params:
        set_dotted(cfg, "stages.extract.selector", params["selector"])
    for key in ("rate_fraction_per_ns", "rate_li_per_ps"):
        if key in params:
            set_dotted(cfg, f"stages.extract.{key}", params[key])
    for name, value in params.items():
        if name not in FRIENDLY_AXES:
            set_dotted(cfg, name, value)
    finish_particle(cfg, params.get("state"), where)
    if not cfg["particle"].get("args"):
        cfg["particle"].pop("args", None)
    return cfg


def apply_extraction(cfg: dict, mode: str, where: str) -> None:
    """Replace the protocol's extraction stage by one of ``mode`` (see the axis table).

    Parameters
    ----------
    cfg : dict
        A run config as written (changed in place).
    mode : str
        ``geometric``, ``potentiostatic`` or ``galvanostatic``.
    where : str
        The study point, for messages.

    Raises
    ------
    ConfigError
        For an unknown mode, a protocol without an extraction stage, or a ``shell`` selector
        (which the electrochemical modes do not have).
    """
    if mode not in EXTRACTION_MODES:
        raise ConfigError(f"{where}: extraction = {mode!r}; use one of "
                          f"{', '.join(EXTRACTION_MODES)}")
    stages = cfg.get("stages") or default_stages()
    cfg["stages"] = stages
    k = next((i for i, st in enumerate(stages) if st.get("type") in _EXTRACTION_TYPES), None)
    if k is None:
        raise ConfigError(f"{where}: extraction = {mode!r} needs an extraction stage in the base "
                          f"protocol (extract, potentiostatic or galvanostatic)")
    old = stages[k]
    new_type = EXTRACTION_MODES[mode]
    if old.get("type") == new_type:
        return
    new = {"type": new_type, **{key: old[key] for key in _MODE_COMMON if key in old}}
    sel = old.get("selector", "surface") if old.get("type") == "extract" else None
    acc = old.get("accessible", "surface") if old.get("type") != "extract" else None
    if new_type == "extract":
        new["selector"] = "random" if acc == "all" else "surface"
    else:
        if sel == "shell":
            raise ConfigError(f"{where}: extraction = {mode!r} has no 'shell' selector; the "
                              "electrochemical modes take accessible = 'surface' or 'all'")
        new["accessible"] = "all" if (sel == "random" or acc == "all") else "surface"
        if new["accessible"] == "all":
            for key in ("probe_radius_angstrom", "voxel_angstrom", "surface_depth_angstrom"):
                new.pop(key, None)
    if new_type == "galvanostatic":
        for key in EXTRACT_RATE_KEYS:
            if key in old:
                new[key] = old[key]
    stages[k] = new


def finish_particle(cfg: dict, state: str | None, where: str) -> None:
    """Fill what a state needs from the run itself (melt-quench builders use the run's potential).

    Parameters
    ----------
    cfg : dict
        A run config as written (changed in place).
    state : str or None
        The point's state (None: the base config's builder).
    where : str
        The study point, for messages.

    Raises
    ------
    ConfigError
        When the state needs an argument (e.g. ``grain_size_nm``) the point does not give.
    """
    preset = preset_for(cfg, state)
    if preset is None:
        return
    args = cfg["particle"].setdefault("args", {})
    if "potential" in preset.args:
        args["potential"] = cfg.get("potential", DEFAULT_POTENTIAL)
    for need in preset.needs:
        if need not in args:
            raise ConfigError(f"{where}: builder {preset.builder!r} of this state needs {need} "
                              f"(add a '{need}' axis or set particle.args.{need})")

"""One parameter model per builder (dealloy.config.builders): held to the builders, checked when a
run config loads, and the one list of builder arguments for studies and ``dealloy build``."""

from __future__ import annotations

import inspect

import pytest

from conftest import run_dealloy
from dealloy.builders import BUILDERS
from dealloy.builders.amorphous import PROTOCOLS
from dealloy.builders.cli import build_command
from dealloy.config.builders import BUILDER_ARGS
from dealloy.config.run import parse_run_config
from dealloy.engine.run import run
from dealloy.errors import ConfigError
from dealloy.rundir import RunDir
from dealloy.study.axes import check_axis_name, run_config_keys


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_model_matches_the_builder(name):
    """Every argument the builder takes is a field (its ``**protocol_overrides``: the melt-quench
    protocol keys), and the required ones are required."""
    params = inspect.signature(BUILDERS[name]).parameters
    named = {k for k, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        named |= set(PROTOCOLS["standard"])
    required = {k for k, p in params.items() if k in named and p.default is p.empty}
    model = BUILDER_ARGS[name]
    assert set(model.model_fields) == named
    assert {k for k, f in model.model_fields.items() if f.is_required()} == required
    assert set(BUILDER_ARGS) == set(BUILDERS)


@pytest.mark.parametrize("args, words", [
    ({"diameter_nm": 3.0, "colour": "red"}, ["particle.args.colour", "takes no argument",
                                              "grain_size_nm"]),
    ({"diameter_nm": "big"}, ["particle.args.diameter_nm", "valid number", "'big'"]),
    ({"diameter_nm": 3.0, "seed": [1]}, ["particle.args.seed"]),
])
def test_bad_builder_args_refused_at_load(args, words):
    """Checked with the run config, before the builder (or anything else) runs."""
    with pytest.raises(ConfigError) as exc:
        parse_run_config({"particle": {"builder": "li15si4-particle", "args": args}})
    for w in words:
        assert w in str(exc.value), str(exc.value)


def test_missing_builder_args_refused_before_the_builder_runs(tmp_path):
    """A config may load without a required argument (a study fills it in); the run refuses it
    before building, naming it, and says so in run.json."""
    cfg = parse_run_config({"particle": {"builder": "li15si4_particle",
                                         "args": {"grain_size_nm": 1.0}}})
    with pytest.raises(ConfigError, match=r"particle.args.diameter_nm: builder 'li15si4_particle' "
                                          r"needs 'diameter_nm'"):
        run(cfg, run_dir=tmp_path / "r", quiet=True)
    info = RunDir(tmp_path / "r").record()
    assert info.status == "failed" and info.before_md is True


def test_good_builder_args_kept_as_given():
    """Validation does not rewrite the arguments (study run keys hash them as given)."""
    args = {"diameter_nm": 3, "x": 1, "melt_ps": 2, "protocol": "fast"}
    cfg = parse_run_config({"particle": {"builder": "amorphous_lisi_particle", "args": args}})
    assert cfg.particle.args == args and type(cfg.particle.args["diameter_nm"]) is int


def test_study_axes_know_every_run_config_and_builder_key():
    """The keys the old hand-kept list missed, from the schema; builder arguments from the models."""
    _, stages = run_config_keys()
    for key in ("probe_radius_angstrom", "patience_intervals", "surface_depth_angstrom"):
        assert key in stages["extract"]
        check_axis_name(f"stages.extract.{key}", "test")
    check_axis_name("particle.args.x_shell", "test")
    with pytest.raises(ConfigError, match="particle.args.colour"):
        check_axis_name("particle.args.colour", "test")


def test_build_cli_options_are_builder_arguments():
    """Every builder option of ``dealloy build`` sets an argument some builder's model has."""
    fields = {k for m in BUILDER_ARGS.values() for k in m.model_fields}
    own = {"kind", "output", "fmt", "extra", "quiet"}
    options = {p.name for p in build_command.params} - own
    assert options <= fields, options - fields


def _default_text(value) -> str:
    return f"default {value:g}" if isinstance(value, (int, float)) else f"default {value}"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_field_descriptions_state_the_builders_defaults(name):
    """``dealloy build --help`` shows each field's description: the default it states is the
    builder's (and the melt-quench keys' the protocols')."""
    from dealloy.config.builders import _PROTOCOL_DEFAULTS

    model = BUILDER_ARGS[name]
    for key, p in inspect.signature(BUILDERS[name]).parameters.items():
        if key not in model.model_fields or p.default in (p.empty, None):
            continue
        assert _default_text(p.default) in model.model_fields[key].description, (key, p.default)
    for key, (std, fast) in _PROTOCOL_DEFAULTS.items():
        assert (PROTOCOLS["standard"][key], PROTOCOLS["fast"][key]) == (std, fast), key


def test_build_help_derived_from_the_models():
    """Every argument of every builder has its own option (on main the melt-quench keys had none,
    only --arg), typed as its field, with the field's description (unit, default) as help."""
    from dealloy.builders.cli import option_name

    by_name = {p.name: p for p in build_command.params}
    for model in BUILDER_ARGS.values():
        for key, info in model.model_fields.items():
            assert option_name(key) == "--" + key.replace("_", "-"), key
            assert info.description and info.description in by_name[key].help, key
    assert by_name["n_si"].type.name == "integer" and by_name["melt_ps"].type.name == "float"
    res = run_dealloy("build", "--help")
    assert "--quench-rate-k-per-s" in res.stdout and "K/s" in res.stdout
    assert "--diameter-nm" in res.stdout and "nm" in res.stdout


def test_build_values_checked_against_the_model(tmp_path):
    """A value of the wrong type given through --arg: one line naming the argument, nothing
    written (now from the model, before the builder is called; on main the builder's own check
    caught this one)."""
    res = run_dealloy("build", "li15si4-particle", "-d", "3", "--arg", 'seed="abc"', "-o",
                      tmp_path / "out.xyz", cwd=tmp_path)
    assert res.returncode == 2 and "seed" in res.stderr and "integer" in res.stderr, res.stderr
    assert not (tmp_path / "out.xyz").exists()


def test_state_presets_name_only_their_builders_arguments():
    """The study states list arguments of their builder's model (no shadow list to drift)."""
    from dealloy.study.axes import STATES

    for state, preset in STATES.items():
        assert set(preset.args) <= set(BUILDER_ARGS[preset.builder].model_fields), state


def test_study_axes_hand_lists_are_schema_keys():
    """The few key lists study axes keep (what an extraction stage keeps when its mode changes,
    the rate keys, the run-config paths the friendly axes set) are keys of the run-config schema:
    a renamed key fails here instead of drifting."""
    import re

    from dealloy.config import run as rc
    from dealloy.study import axes

    _, stages = run_config_keys()
    for stage_type in axes._EXTRACTION_TYPES:
        assert set(axes._MODE_COMMON) <= stages[stage_type] | {"accessible"}, stage_type
    for stage_type in ("extract", "insert", "galvanostatic"):
        assert set(axes.EXTRACT_RATE_KEYS) <= stages[stage_type], stage_type
    for what in axes.FRIENDLY_AXES.values():
        for path in re.findall(r"\b(?:stages|particle)\.[a-z_.]+[a-z]", what):
            check_axis_name(path, "FRIENDLY_AXES")
    assert set(axes.EXTRACTION_MODES.values()) <= set(rc.STAGE_TYPES)

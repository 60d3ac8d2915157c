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


def test_missing_builder_args_refused_at_load():
    """The run config is complete at load: a missing required argument is refused there, naming
    ``particle.args.<field>`` and the fix (on 814007a it loaded and failed only when the run
    built the particle, e.g. under SLURM in every run of a study)."""
    with pytest.raises(ConfigError) as exc:
        parse_run_config({"particle": {"builder": "li15si4_particle",
                                       "args": {"grain_size_nm": 3.0}}})
    msg = str(exc.value)
    assert "particle.args.diameter_nm: builder 'li15si4_particle' needs 'diameter_nm'; add it" \
        in msg, msg
    assert "particle: particle.args" not in msg  # the key is named once


def test_bad_builder_args_refused_by_dealloy_run_nothing_written(tmp_path):
    """``dealloy run`` with a missing and with an out-of-range builder argument: exit 2, the
    field named, nothing written (no run directory), before any MD."""
    for args, words in (("{ seed = 1 }", ["particle.args.diameter_nm", "needs"]),
                        ("{ diameter_nm = 1.0 }", ["particle.args.diameter_nm", "2.14"])):
        cfg = tmp_path / "run.toml"
        cfg.write_text(f'[particle]\nbuilder = "li15si4_particle"\nargs = {args}\n')
        res = run_dealloy("run", cfg, "-o", tmp_path / "r", "-q", cwd=tmp_path)
        assert res.returncode == 2, (res.returncode, res.stderr)
        for w in words:
            assert w in res.stderr, res.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["run.toml"]


def test_unchecked_args_refused_before_the_builder_runs(tmp_path):
    """A ParticleSpec made in Python without validation (model_construct): the run still checks
    the arguments before building, naming the missing one, and says so in run.json."""
    from dealloy.config.run import ParticleSpec

    cfg = parse_run_config({"particle": {"builder": "li15si4_particle",
                                         "args": {"diameter_nm": 3.0}}})
    cfg = cfg.model_copy(update={"particle": ParticleSpec.model_construct(
        builder="li15si4_particle", args={"grain_size_nm": 1.0}, file=None)})
    with pytest.raises(ConfigError, match=r"particle.args.diameter_nm: builder 'li15si4_particle' "
                                          r"needs 'diameter_nm'"):
        run(cfg, run_dir=tmp_path / "r", quiet=True)
    info = RunDir(tmp_path / "r").record()
    assert info.status == "failed" and info.before_md is True


# (builder, args, the field named, whether the builder's own check refuses it too: the models
# are stricter on types - no "4" -> 4.0 - and agree with the builders on bounds and choices)
_BAD = [
    ("li15si4_cell", {"a": -1.0}, "a", True),
    ("li15si4_cell", {"a": "10.685"}, "a", False),
    ("si_particle", {"diameter_nm": "4"}, "diameter_nm", False),
    ("si_particle", {"diameter_nm": 1.0}, "diameter_nm", True),  # < 2 x 5.431 Å
    ("si_particle", {"diameter_nm": 3.0, "crystallinity": "amorphous"}, "crystallinity", True),
    ("si_particle", {"diameter_nm": 3.0, "seed": True}, "seed", True),
    ("si_particle", {"diameter_nm": 3.0, "seed": -1}, "seed", True),
    ("si_particle", {"diameter_nm": 3.0, "vacuum_nm": 1.0}, "vacuum_nm", True),
    ("si_particle", {"diameter_nm": 3.0, "grain_size_nm": 1.5}, "grain_size_nm", True),  # sc
    ("si_particle", {"diameter_nm": 3.0, "crystallinity": "pc", "grain_size_nm": 4.0},
     "grain_size_nm", True),
    ("si_particle", {"diameter_nm": 3.0, "crystallinity": "pc", "orientation": "identity"},
     "orientation", True),
    ("si_particle", {"diameter_nm": 3.0, "twin_spacing_nm": 0.5}, "twin_spacing_nm", True),
    ("si_particle", {"diameter_nm": 3.0, "lattice_constant": 0.0}, "lattice_constant", True),
    ("si_particle", {"diameter_nm": 3.0, "potential": "no-such-potential"}, "potential", True),
    ("si_particle", {"diameter_nm": 3.0, "orientation": 5}, "orientation", True),
    ("li15si4_particle", {"diameter_nm": "4", "seed": True}, "seed", True),
    ("li15si4_particle", {"diameter_nm": 2.0}, "diameter_nm", True),  # < 2.14 nm
    ("li15si4_particle", {"diameter_nm": float("nan")}, "diameter_nm", True),
    ("li15si4_particle", {"diameter_nm": 4.0, "grain_size_nm": 1.0}, "grain_size_nm", True),
    ("li15si4_particle", {"diameter_nm": 4.0, "grain_size_nm": 2.5, "orientation": "identity"},
     "orientation", True),
    ("li15si4_particle", {"diameter_nm": 4.0, "seed": 1.0}, "seed", True),
    ("li15si4_particle", {"diameter_nm": 4.0, "vacuum_nm": 0.5}, "vacuum_nm", True),
    ("amorphous_lisi", {"x": 4.0}, "x", True),
    ("amorphous_lisi", {"x": 1.0, "n_si": 0}, "n_si", True),
    ("amorphous_lisi", {"x": 1.0, "n_si": 64.0}, "n_si", True),
    ("amorphous_lisi", {"x": 1.0, "protocol": "slow"}, "protocol", True),
    ("amorphous_lisi", {"x": 1.0, "quench_rate_k_per_s": 1e16}, "quench_rate_k_per_s", True),
    ("amorphous_lisi", {"x": 1.0, "melt_temperature_k": 200.0}, "melt_temperature_k", True),
    ("amorphous_lisi", {"x": 1.0, "potential": "reaxff"}, "potential", True),  # no ffield
    ("amorphous_lisi_particle", {"diameter_nm": 0.5, "x": 1.0}, "diameter_nm", True),
    ("amorphous_lisi_particle", {"diameter_nm": 2.0, "x": -0.1}, "x", True),
    ("amorphous_lisi_particle", {"diameter_nm": 2.0, "x": 1.0, "bulk_n_si": 0}, "bulk_n_si", True),
    ("amorphous_lisi_particle", {"diameter_nm": 2.0, "x": 1.0, "particle_relax_ps": 0.0},
     "particle_relax_ps", True),
    ("core_shell_particle", {"diameter_nm": 1.2, "dod": 0.5}, "diameter_nm", True),
    ("core_shell_particle", {"diameter_nm": 3.0, "dod": 0.0}, "dod", True),
    ("core_shell_particle", {"diameter_nm": 3.0, "dod": 1.0}, "dod", True),  # > 3.5 / 3.75
    ("core_shell_particle", {"diameter_nm": 3.0, "dod": 0.5, "x_shell": 4.0}, "x_shell", True),
]


@pytest.mark.parametrize("name, args, field, builder_refuses", _BAD,
                         ids=[f"{b}-{f}-{i}" for i, (b, _, f, _) in enumerate(_BAD)])
def test_bad_bound_choice_or_type_refused_at_load(name, args, field, builder_refuses):
    """Each builder's bounds, choices and strict types are its model's: refused when the run
    config loads, one line naming particle.args.<field>; the builder's own check (the Python
    API) refuses the same bound or choice, before it builds anything."""
    with pytest.raises(ConfigError) as exc:
        parse_run_config({"particle": {"builder": name, "args": args}})
    msg = str(exc.value)
    assert f"particle.args.{field}: " in msg, msg
    head, line = msg.splitlines()  # the head and one line
    assert line.startswith("  - particle.args."), msg
    if builder_refuses:
        with pytest.raises(ConfigError, match=field):
            BUILDERS[name](**args)


def test_model_constants_are_the_builders():
    """The bounds the models check (config sits below build/builders in the layers) are the
    builders' own."""
    from dealloy.build import _common, crystal
    from dealloy.builders import amorphous
    from dealloy.config import builders as cb

    # one source: the limits are dealloy.materials' objects, not copies
    for name in ("MIN_VACUUM_NM", "MIN_AMORPHOUS_DIAMETER_NM", "MIN_CORE_SHELL_DIAMETER_NM",
                 "MAX_QUENCH_RATE_K_PER_S", "CRYSTALLINITIES"):
        assert getattr(cb, name) is getattr(cb.M, name), name
    assert _common.MIN_VACUUM_NM is cb.M.MIN_VACUUM_NM
    assert crystal.CRYSTALLINITIES is cb.M.CRYSTALLINITIES
    assert cb.X_MAX == amorphous.X_MAX
    assert cb.PROTOCOL_NAMES == tuple(amorphous.PROTOCOLS)
    assert set(cb.Protocol.__args__) == set(amorphous.PROTOCOLS)
    assert set(cb.Crystallinity.__args__) == set(crystal.CRYSTALLINITIES)
    assert inspect.signature(crystal.li15si4_particle).parameters["a"].default == \
        cb.M.LI15SI4_A_ANGSTROM
    assert crystal.SI_A == cb.M.SI_A_ANGSTROM
    assert inspect.signature(amorphous.core_shell_particle).parameters["x_shell"].default == 3.5


@pytest.mark.parametrize("args", [
    {"diameter_nm": 2.0, "seed": 1},  # narrower than two c-Li15Si4 lattice constants
    {"diameter_nm": 4.0, "grain_size_nm": 5.0, "seed": 1},  # grain larger than the particle
    {"diameter_nm": 4.0, "grain_size_nm": 1.5, "seed": 1},  # grain narrower than two a
])
def test_grain_check_is_the_builders_own(args):
    """The model and the builder refuse a grain with one check (dealloy.checks.check_grain),
    hence the same words; the builder refuses before building anything."""
    from dealloy import checks
    from dealloy.build import crystal
    from dealloy.config import builders as cb
    from dealloy.config.builders import check_builder_args

    with pytest.raises(ValueError) as model:
        check_builder_args("li15si4_particle", args, where="particle.args")
    with pytest.raises(ConfigError) as builder:
        crystal.li15si4_particle(**args)
    assert str(model.value) == f"particle.args.{builder.value}"
    assert cb.check_grain is crystal.check_grain is checks.check_grain


def test_check_builder_args_partial_and_valid():
    """``complete=False`` still skips missing arguments (a study's base) but checks the rest;
    valid arguments pass unchanged."""
    from dealloy.config.builders import check_builder_args

    check_builder_args("li15si4_particle", {"seed": 1}, complete=False)
    with pytest.raises(ValueError, match="particle.args.seed"):
        check_builder_args("li15si4_particle", {"seed": True}, complete=False)
    with pytest.raises(ValueError, match="particle.args.diameter_nm"):
        check_builder_args("li15si4_particle", {"seed": 1})
    with pytest.raises(ValueError, match="dealloy build.seed"):  # the review's example
        check_builder_args("li15si4_particle", {"diameter_nm": "4", "seed": True},
                           where="dealloy build", complete=True)
    args = {"diameter_nm": 4, "seed": 1, "orientation": [1, 1, 1]}
    check_builder_args("li15si4_particle", args)
    assert args == {"diameter_nm": 4, "seed": 1, "orientation": [1, 1, 1]}


def test_prepare_calls_the_builder_with_the_validated_values(monkeypatch):
    """The engine passes the model's values of the arguments given (not the defaults of the
    others: the builder's own apply)."""
    from dealloy import builders
    from dealloy.engine.prepare import build_particle

    seen = {}

    def fake(**kwargs):
        seen.update(kwargs)
        raise ConfigError("stop")

    monkeypatch.setitem(builders.BUILDERS, "li15si4_particle", fake)
    cfg = parse_run_config({"particle": {"builder": "li15si4_particle",
                                         "args": {"diameter_nm": 3, "seed": 2}}})
    with pytest.raises(ConfigError, match="particle.args: stop"):
        build_particle(cfg)
    assert seen == {"diameter_nm": 3.0, "seed": 2} and type(seen["diameter_nm"]) is float


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

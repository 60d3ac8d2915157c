"""One parameter model per builder (dealloy.config.builders): held to the builders, checked when a
run config loads, and the one list of builder arguments for studies and ``dealloy build``."""

from __future__ import annotations

import inspect

import pytest

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
    info = RunDir(tmp_path / "r").read_run_json()
    assert info["status"] == "failed" and info["before_md"] is True


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

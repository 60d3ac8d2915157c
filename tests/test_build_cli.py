"""``dealloy build``: every builder's missing or invalid arguments are one line, before any MD.

The builders and their required arguments are read from the registry and the signatures, so a
new builder is covered without touching this file.
"""

from __future__ import annotations

import inspect

import pytest

from conftest import run_dealloy
from dealloy.builders import BUILDERS


def _required(fn) -> list[str]:
    return [k for k, p in inspect.signature(fn).parameters.items()
            if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


def _flag(param: str) -> str:
    from dealloy.builders.cli import option_name

    return option_name(param)


def _one_line_error(res, tmp_path) -> str:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    err = res.stderr.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert not (tmp_path / "out.xyz").exists(), "nothing is written on bad input"
    return err


def test_every_builder_with_a_required_argument_is_covered():
    assert {k for k, fn in BUILDERS.items() if _required(fn)} >= {
        "si_particle", "li15si4_particle", "amorphous_lisi", "amorphous_lisi_particle",
        "core_shell_particle"}


@pytest.mark.parametrize("kind", [k for k, fn in BUILDERS.items() if _required(fn)])
def test_missing_arguments_are_one_line_naming_the_options(kind, tmp_path):
    required = _required(BUILDERS[kind])
    kind_cli = kind.replace("_", "-")
    res = run_dealloy("build", kind_cli, "-o", tmp_path / "out.xyz", cwd=tmp_path)
    err = _one_line_error(res, tmp_path)
    for param in required:  # every missing one named by its option, with an example
        assert _flag(param) in err, err
    assert f"dealloy build {kind_cli} " in err
    # one given, the others still missing: only those are named
    if len(required) > 1:
        first = _flag(required[0])
        res = run_dealloy("build", kind_cli, *first.split(), "3", "-o", tmp_path / "out.xyz",
                          cwd=tmp_path)
        err = _one_line_error(res, tmp_path)
        assert f"missing {first}" not in err and _flag(required[1]) in err, err


@pytest.mark.parametrize("kind", [k for k, fn in BUILDERS.items() if _required(fn)])
def test_invalid_arguments_are_one_line_before_any_md(kind, tmp_path):
    """Every required number negative: the builder's own check names one, before LAMMPS."""
    args = []
    for param in _required(BUILDERS[kind]):
        args += [*_flag(param).split(), "-1"]
    res = run_dealloy("build", kind.replace("_", "-"), *args, "-o", tmp_path / "out.xyz",
                      cwd=tmp_path, timeout=60)
    err = _one_line_error(res, tmp_path)
    assert any(p in err for p in _required(BUILDERS[kind])), err


@pytest.mark.parametrize("args, words", [
    (["si-particle", "-d", "abc"], ["--diameter-nm", "not a valid float"]),
    (["si-particle", "-d", "3", "--no-such-option", "1"], ["--no-such-option"]),
    (["si-particle", "-d", "3", "--arg", "melt_ps=1"], ["melt_ps", "--crystallinity"]),
])
def test_click_usage_errors_are_one_line(tmp_path, args, words):
    res = run_dealloy("build", *args, "-o", tmp_path / "out.xyz", cwd=tmp_path)
    err = _one_line_error(res, tmp_path)
    for w in words:
        assert w in err, err


def test_protocol_keywords_reach_the_particle_builders(tmp_path):
    """--arg with a melt-quench keyword is passed on (the builder checks it), not refused as an
    unknown option of a builder that takes **protocol_overrides."""
    res = run_dealloy("build", "amorphous-lisi-particle", "-d", "2", "--x", "1",
                      "--arg", "melt_pss=3", "-o", tmp_path / "out.xyz", cwd=tmp_path)
    err = _one_line_error(res, tmp_path)
    # the builder's arguments, each with its own option (derived from its parameter model)
    assert "melt_pss" in err and "--melt-ps," in err


def test_build_progress_estimates_and_calibrates():
    """A phase that announces its MD gets an estimate; a finished part re-estimates it at the
    measured throughput; plain messages are relayed as they are."""
    import io
    import logging

    from dealloy.progress import PRIOR_ATOM_STEPS_PER_S_PER_RANK, BuildProgress

    out = io.StringIO()
    log = logging.getLogger("dealloy.builders.amorphous")
    with BuildProgress(ranks=1, stream=out, tty=False) as bp:
        log.info("melt-quench of 1000 atoms", extra={"phase": "melt-quench", "atoms": 1000,
                                                     "md_ps": 10.0, "timestep_ps": 0.001})
        est = 1000 * 10.0 / 0.001 / PRIOR_ATOM_STEPS_PER_S_PER_RANK
        assert f"estimated 0:{int(est) // 60:02d}:" in out.getvalue().splitlines()[0]
        log.info("melt done", extra={"md_ps_done": 2.0, "elapsed_s": 100.0})
        assert bp.rate == pytest.approx(1000 * 2.0 / 0.001 / 100.0)  # 20 katom-steps/s measured
        assert "measured 20 katom-steps/s: about 0:06:40 left" in out.getvalue()
        log.info("a plain phase message")
    lines = out.getvalue().splitlines()
    assert lines[-2] == "dealloy build: a plain phase message"
    assert lines[-1].startswith("dealloy build: melt-quench took ")
    assert not logging.getLogger("dealloy.builders").handlers  # detached afterwards


def test_amorphous_build_speaks_with_an_estimate(tmp_path):
    res = run_dealloy("build", "amorphous-lisi", "--x", "3.75", "--n-si", "16", "--protocol", "fast",
                      "--arg", "melt_ps=2", "--arg", "quench_rate_k_per_s=1e15", "--arg",
                      "relax_ps=0.5", "-o", tmp_path / "out.xyz", cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stderr
    err = res.stderr
    assert "dealloy build: melt-quench of 76 atoms" in err and "(estimated 0:" in err
    assert "measured" in err and "katom-steps/s: about" in err  # re-estimated after the melt
    assert "melt-quench took" in err
    assert "76 atoms (Li 60, Si 16)" in res.stdout and "rank(s))" in res.stdout

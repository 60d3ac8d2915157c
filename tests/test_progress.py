"""Progress of the long commands (issue 17 item 5): rich on a terminal, readable lines in a log,
an ETA everywhere, nothing on stdout that is not the command's own output."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from dealloy import progress as progress_module
from dealloy.engine.state import EngineState, StageProgress

DEALLOY = [sys.executable, "-m", "dealloy.cli"]


def Progress(*a, **k):  # noqa: N802 - looked up at call time (tests run on older code too)
    return progress_module.Progress(*a, **k)


def TaskProgress(*a, **k):  # noqa: N802
    return progress_module.TaskProgress(*a, **k)


# ---- dealloy run's progress line ------------------------------------------------------------
def fake_engine(stage_index: int = 2, steps_done: int = 50, md_step: int = 400):
    """What Progress reads of an Engine: 4 stages, in the 3rd (extract), 100 of 200 Li left."""
    stages = [SimpleNamespace(type="minimize"), SimpleNamespace(type="equilibrate", time_ps=1.0),
              SimpleNamespace(type="extract", interval_ps=0.1, max_time_ps=None,
                              li_per_interval=lambda li_ref: 10),
              SimpleNamespace(type="hold", time_ps=1.0)]
    st = EngineState.model_construct(
        stage_index=stage_index, md_step=md_step, n_li=100, n_si=50,
        stage=StageProgress(steps_done=steps_done, li0=200, li_ref=200))
    return SimpleNamespace(cfg=SimpleNamespace(stages=stages), st=st, dt=0.001,
                           t_ps=md_step * 0.001, _x=lambda: 2.0, _target=lambda stage: 0)


def test_run_progress_lines_in_a_log_number_stages_as_the_warnings():
    out = io.StringIO()
    p = Progress(stream=out, tty=False, interval_s=0)
    eng = fake_engine()
    p.update(eng)
    time.sleep(0.05)
    eng.st.md_step += 100
    p.update(eng)
    p.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all(line.startswith("stage 3/4 extract") for line in lines)
    assert "Li/Si= 2.000" in lines[-1] and "atoms=    150" in lines[-1]
    # 100 Li left at 10 Li per 0.1 ps = 1 ps = 1000 steps at the measured pace: an ETA, not '--'
    assert "stage ETA 0:00:" in lines[-1] and "\r" not in out.getvalue()
    assert progress_module.Progress.fraction(eng) == pytest.approx((2 + 0.5) / 4)


def test_run_progress_on_a_terminal_is_a_rich_bar_with_the_same_line():
    out = io.StringIO()
    p = Progress(stream=out, tty=True, interval_s=0)
    eng = fake_engine()
    p.update(eng)
    p.update(eng)
    p.close()
    text = out.getvalue()
    assert "━" in text and "62%" in text  # rich's bar and percentage (2.5 of 4 stages)
    assert "stage 3/4 extract" in text and "stage ETA" in text
    assert "  0%" not in text  # the first frame drawn already shows the share done
    assert text.replace("\x1b[?25h", "").endswith("\n")  # the terminal is left on a fresh line


# ---- TaskProgress: the hook of analyze, validate-potential, diffusivity, potential fit --------
def test_task_progress_lines_carry_counts_and_an_eta_from_the_pace():
    out = io.StringIO()
    p = TaskProgress("dealloy x", stream=out, tty=False, interval_s=1e9)
    p("starting")
    p(done=2, total=6, task="cells")  # two found done (cached): not part of the pace
    time.sleep(0.2)
    p("cell 3 done", done=3, total=6, task="cells")
    p(done=4, total=6, task="cells")  # a count alone: no line within interval_s
    p(done=6, total=6, task="cells")  # ... except the last
    lines = out.getvalue().splitlines()
    assert lines[0] == "dealloy x: starting"
    eta = lines[1].split("ETA ")[1].rstrip(")")
    assert lines[1].startswith("dealloy x: cell 3 done (3/6, ETA 0:00:0")
    _, _, s = (int(v) for v in eta.split(":"))
    assert 0 <= s <= 1  # 3 cells left at 0.2 s each
    assert lines[2] == "dealloy x: cells: 6/6" and len(lines) == 3
    q = io.StringIO()
    quiet = TaskProgress("dealloy x", stream=q, tty=False, enabled=False)
    quiet("nothing", done=1, total=2, task="cells")
    assert q.getvalue() == ""


def test_task_progress_share_and_live_bar_and_plain_hooks():
    from dealloy.io import progress_hook

    out = io.StringIO()
    with TaskProgress("dealloy y", stream=out, tty=True) as p:
        p("a line above the bar")
        p(done=0.0, total=1.0, task="checks")
        p(done=0.5, total=1.0, task="checks")
    text = out.getvalue()
    assert "dealloy y: a line above the bar" in text and "checks" in text and "50 %" in text
    assert "ETA" in text or "done" in text
    said = []
    say = progress_hook(said.append)  # a plain callable gets the messages only
    say("hello", done=1, total=2, task="t")
    say(done=2, total=2, task="t")
    assert said == ["hello"]
    assert progress_hook(p) is p
    progress_hook(None)("ignored", done=1, total=1)


# ---- the commands ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def particle_file(tmp_path_factory):
    from test_analysis_structures import li15si4_sphere

    from dealloy.io import write_structure

    path = tmp_path_factory.mktemp("p") / "particle.extxyz"
    write_structure(path, li15si4_sphere(9.0))
    return path


def test_analyze_single_frame_prints_only_json_on_stdout(particle_file):
    res = subprocess.run(DEALLOY + ["analyze", str(particle_file)], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    m = json.loads(res.stdout)  # the frame's messages went to stderr
    assert m["n_si"] > 0 and "frame 0:" in res.stderr
    assert "Warning" not in res.stderr and ".py:" not in res.stderr


def test_analyze_trajectory_progress_and_each_note_once(tmp_path):
    """Several frames: a count with the ETA on stderr; a note that every frame gives (here: a Li
    far outside, at a different place in each frame) is printed once, with how many frames."""
    import numpy as np
    from ase import Atom
    from test_analysis_structures import si_sphere, write_lammps_dump

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.toml").write_text("# test run\n")
    frames = []
    for k in range(4):
        a = si_sphere(8.0)
        a.append(Atom("Li", a.positions.mean(axis=0) + [0.0, 0.0, 25.0 + k]))
        frames.append(a)
    write_lammps_dump(run / "traj.lammpstrj", frames, [0.0, 1.0, 2.0, 3.0])
    res = subprocess.run(DEALLOY + ["analyze", str(run), "--skip", "rdf", "--skip", "crystal"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "dealloy analyze: frames: 0/4" in res.stderr
    assert "dealloy analyze: frames: 4/4" in res.stderr
    # once in all (it used to come again from each picture that looks at the last frame)
    far = [line for line in (res.stdout + res.stderr).splitlines() if "lie far outside" in line]
    assert len(far) == 1 and far[0].endswith("(in 4 of 4 frames)"), res.stdout + res.stderr
    assert "Warning" not in res.stderr + res.stdout and ".py:" not in res.stderr
    quiet = subprocess.run(DEALLOY + ["analyze", str(run), "-q", "--skip", "rdf", "--skip",
                                      "crystal"], capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0 and "frames:" not in quiet.stderr
    assert np.isfinite(json.loads((run / "analysis" / "metrics.json").read_text())
                       ["frames"][-1]["x"])


def test_validate_potential_crystal_checks_show_progress_on_stderr():
    res = subprocess.run(DEALLOY + ["validate-potential", "meam-godet2020", "--md-ps", "0.2"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    err = res.stderr.splitlines()
    assert err[0] == "[meam-godet2020]: bcc Li (0 %)"
    assert any("c-Li15Si4 0.2 ps NPT at 300 K (" in line and "ETA 0:" in line for line in err)
    assert err[-1] == "[meam-godet2020]: meam-godet2020 checks: 100 %"
    assert res.stdout.startswith("Crystal validation of 'meam-godet2020'")
    quiet = subprocess.run(DEALLOY + ["validate-potential", "meam-godet2020", "--md-ps", "0.2",
                                      "-q"], capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_diffusivity_reports_md_runs_done_with_an_eta(tmp_path):
    from dealloy.potentials.diffusivity import DiffusivityParams, run_diffusivity

    out = io.StringIO()
    p = DiffusivityParams(temperatures_k=(700.0, 800.0), time_ps=0.4, equilibrate_ps=0.0,
                          record_every_ps=0.05,
                          potential="meam-cui2012", phases=("crystalline",))
    with TaskProgress("dealloy diffusivity", stream=out, tty=False, interval_s=0) as prog:
        run_diffusivity(p, tmp_path, echo=lambda m: None, progress=prog)
    lines = out.getvalue().splitlines()
    assert lines[0] == "dealloy diffusivity: MD runs: 0/2"
    done = [float(line.split(": ")[2].split("/")[0]) for line in lines]
    assert done == sorted(done) and done[-1] == 2.0 and len(done) > 4  # within each run too
    assert any(", ETA 0:" in line for line in lines)


def test_fit_labels_report_new_labels_with_an_eta(tmp_path):
    """The teacher-free path of `dealloy potential fit`'s labelling: cached labels are not part
    of the count, so the ETA is the pace of new ones."""
    from ase.build import bulk
    from ase.calculators.lj import LennardJones

    from dealloy.fit import load_teacher
    from dealloy.fit.dataset import label

    configs = []
    for k in range(5):
        a = bulk("Si", "diamond", a=5.43 + 0.01 * k)
        configs.append(a)
    teacher = load_teacher(lambda: LennardJones(sigma=2.0, epsilon=0.1, rc=5.0))
    label(configs[:2], teacher, cache_dir=tmp_path)  # two cached
    out = io.StringIO()
    with TaskProgress("[fit t]", stream=out, tty=False, interval_s=0) as prog:
        label(configs, teacher, cache_dir=tmp_path, progress=prog)
    text = out.getvalue()
    assert "[fit t]: teacher labels: 0/3" in text and "teacher labels: 3/3" in text
    assert "labels: 2 cached, 3 computed" in text

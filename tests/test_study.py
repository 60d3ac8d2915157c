"""Studies without MD: expansion, hashing, study directories, templates, bad input, states."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dealloy.config.study import load_study
from dealloy.errors import ConfigError, DealloyError
from dealloy.study import slurm
from dealloy.study.plan import check_directory, claim_directory, make_plan, prepare_run
from dealloy.study.state import run_mode, states
from dealloy.study.submit import submit

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
SMOKE_BASE = WORKFLOWS / "base" / "smoke-run.toml"


def write_study(tmp_path: Path, body: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(f'base = "{SMOKE_BASE}"\ndirectory = "{tmp_path / "study"}"\n' + body)
    return p


def plan_of(path, directory=None):
    return make_plan(load_study(path), directory)


def test_smoke_plan_expands_product_with_stable_hashes(tmp_path):
    plan = plan_of(WORKFLOWS / "smoke.toml", tmp_path / "st")
    assert len(plan.runs) == 4
    assert plan.axis_names == ["selector", "seed"]
    keys = [r.key for r in plan.runs]
    assert len(set(keys)) == 4
    # same parameters -> same directory, every time
    assert keys == [r.key for r in plan_of(WORKFLOWS / "smoke.toml", tmp_path / "other").runs]
    for r in plan.runs:
        assert r.path == tmp_path / "st" / "runs" / r.key
        ext = next(s for s in r.config["stages"] if s["type"] == "extract")
        assert ext["selector"] == r.params["selector"]
        assert r.config["seed"] == r.params["seed"] == r.config["particle"]["args"]["seed"]


def test_hash_follows_parameters_not_spelling(tmp_path):
    a = write_study(tmp_path, 'name = "a"\n[axes]\nseed = [1]\n', "a.toml")
    # writing a default explicitly (thermostat) or an int for a float changes nothing
    b = write_study(tmp_path, 'name = "a"\n[set]\nthermostat = "langevin"\ntemperature_k = 300\n'
                    '[axes]\nseed = [1]\n', "b.toml")
    # a changed parameter gives a new directory
    c = write_study(tmp_path, 'name = "a"\n[set]\ntemperature_k = 310.0\n[axes]\nseed = [1]\n',
                    "c.toml")
    ka, kb, kc = (plan_of(p).runs[0].key for p in (a, b, c))
    assert ka == kb
    assert ka != kc


def test_hash_carries_the_value_of_a_package_default():
    """A run that left a setting at its default must not be reused once the default changes
    (e.g. the default potential): the key is built from the filled-in value, not its absence."""
    from dealloy.lammps.potentials import DEFAULT_POTENTIAL
    from dealloy.study.plan import _canonical, run_key

    cfg = {"particle": {"builder": "li15si4_particle", "args": {"diameter_nm": 2.2}}}
    assert _canonical(cfg)["potential"] == DEFAULT_POTENTIAL
    assert _canonical(cfg)["timestep_ps"] is None and _canonical(cfg)["temperature_k"] == 300
    assert run_key(cfg) == run_key({**cfg, "potential": DEFAULT_POTENTIAL})
    other = next(n for n in ("meam-cui2012", "meam-godet2020") if n != DEFAULT_POTENTIAL)
    assert run_key(cfg) != run_key({**cfg, "potential": other})


def test_explicit_runs_combined_with_axes_and_dotted_paths(tmp_path):
    p = write_study(tmp_path, '''name = "r"
[axes]
seed = [1, 2]
"stages.extract.interval_ps" = [0.1]
[[runs]]
rate_li_per_ps = 10.0
[[runs]]
rate_fraction_per_ns = 500.0
diameter_nm = 2.5
''')
    plan = plan_of(p)
    assert len(plan.runs) == 4
    ext = [next(s for s in r.config["stages"] if s["type"] == "extract") for r in plan.runs]
    assert all(e["interval_ps"] == 0.1 for e in ext)
    # a rate axis replaces the base's batch (one way to give the rate)
    assert ext[0]["rate_li_per_ps"] == 10.0 and ext[0].get("batch") is None
    assert ext[2]["rate_fraction_per_ns"] == 500.0 and ext[2].get("batch") is None
    assert plan.runs[2].config["particle"]["args"]["diameter_nm"] == 2.5


def test_states_map_to_builders(tmp_path):
    p = write_study(tmp_path, '''name = "st"
[[runs]]
state = "c-li15si4"
[[runs]]
state = "c-li15si4-pc"
grain_size_nm = 2.5
diameter_nm = 4.0
''')
    plan = plan_of(p)
    sc, pc = (r.config["particle"] for r in plan.runs)
    assert sc["builder"] == pc["builder"] == "li15si4_particle"
    assert "grain_size_nm" not in sc["args"] and pc["args"]["grain_size_nm"] == 2.5


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.toml")))
def test_shipped_studies_plan(tmp_path, name):
    from dealloy.builders import BUILDERS
    from dealloy.study.axes import STATES

    study = load_study(WORKFLOWS / name)
    needed = {STATES[s].builder for s in study.spec.axes.get("state", [])}
    needed |= {STATES[r["state"]].builder for r in study.spec.runs or [] if "state" in r}
    assert needed <= set(BUILDERS), f"{name} needs unknown builders {sorted(needed - set(BUILDERS))}"
    plan = make_plan(study, tmp_path / "st")
    assert len(plan.runs) >= 2
    text = (WORKFLOWS / name).read_text()
    assert "Reproduces" in text and "Needs" in text  # the comment block


# ---- bad input: clear errors, nothing written ---------------------------------------------------
@pytest.mark.parametrize("body, words", [
    ('name = "x"\n[axes]\ncolour = [1]\n', ["unknown axis", "colour"]),
    ('name = "x"\n[axes]\n"stages.extract.speed" = [1]\n', ["unknown axis", "stages.extract.speed"]),
    ('name = "x"\n[axes]\nseed = []\n', ["seed", "empty sweep"]),
    ('name = "x"\nruns = []\n', ["empty sweep"]),
    ('name = "x"\n', ["nothing to sweep"]),
    ('name = "x"\nbogus = 1\n[axes]\nseed = [1]\n', ["bogus", "unknown key"]),
    ('name = "x"\n[axes]\nselector = ["sideways"]\n', ["selector"]),
    ('name = "x"\n[axes]\nstate = ["liquid"]\n', ["unknown state", "liquid"]),
    ('name = "x"\n[[runs]]\nstate = "c-li15si4"\ndod = 0.8\n', ["dod must be 1.0"]),
    ('name = "x"\n[axes]\nseed = [1, 1]\n', ["same run config"]),
    ('name = "x"\n[axes]\n"particle.args.colour" = ["red"]\n', ["colour"]),
    ('name = "x"\n[axes]\nseed = [1]\n[[runs]]\nseed = 2\n', ["also an [axes] entry"]),
])
def test_bad_study_input(tmp_path, body, words):
    p = write_study(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        plan_of(p)
    for w in words:
        assert w in str(err.value), str(err.value)
    assert not (tmp_path / "study").exists()


@pytest.mark.parametrize("axis, value, words", [
    # a name another builder takes (so the axis is known) but this one does not
    ('"particle.args.x"', "3.75", ["particle.args.x", "takes no argument 'x'", "diameter_nm"]),
    # the builder's own model checks the type, on one line naming the point
    ('"particle.args.diameter_nm"', '"big"', ["particle.args.diameter_nm", "valid number"]),
    ('"particle.builder"', '"bogus"', ["particle.builder", "unknown builder 'bogus'",
                                       "li15si4_particle"]),
])
def test_builder_argument_errors_name_the_point_on_one_line(tmp_path, axis, value, words):
    """The study checks a point's builder arguments with the builders' models
    (dealloy.config.builders.check_builder_args): one line, the point and the argument named."""
    p = write_study(tmp_path, f'name = "x"\n[axes]\n{axis} = [{value}]\n')
    with pytest.raises(ConfigError) as err:
        plan_of(p)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{p}: run 0 ("), msg
    for w in words:
        assert w in msg, msg
    assert not (tmp_path / "study").exists()


def test_study_directory_of_another_study_is_refused(tmp_path):
    a = write_study(tmp_path, 'name = "alpha"\n[axes]\nseed = [1]\n', "a.toml")
    b = write_study(tmp_path, 'name = "beta"\n[axes]\nseed = [1]\n', "b.toml")
    claim_directory(plan_of(a))
    with pytest.raises(ConfigError, match="belongs to study 'alpha'"):
        check_directory(plan_of(b))
    other = tmp_path / "not-a-study"
    other.mkdir()
    (other / "x.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a dealloy study directory"):
        check_directory(plan_of(a, other))


def test_template_checks(tmp_path):
    good = slurm.find_template("array.sbatch").read_text()
    slurm.check_template(good, "array.sbatch")
    with pytest.raises(ConfigError, match=r"missing required variable\(s\) \{\{launch\}\}"):
        slurm.check_template(good.replace("{{launch}}", "srun dealloy run"), "t")
    with pytest.raises(ConfigError, match=r"unknown variable\(s\) \{\{colour\}\}"):
        slurm.check_template(good + "\n# {{colour}}\n", "t")


def test_dry_run_prints_the_array_and_writes_nothing(tmp_path):
    p = write_study(tmp_path, '''name = "dry"
[axes]
seed = [1, 2, 3]
[slurm]
ntasks = 4
time = "02:00:00"
partition = "compute"
account = "proj42"
qos = "normal"
env = ["module load mpich", "source /opt/venv/bin/activate"]
launcher = "mpiexec"
''')
    plan = plan_of(p)
    lines: list[str] = []
    sub = submit(plan, plan.study.spec.slurm, max_parallel=2, dry_run=True, echo=lines.append)
    text = sub.script_text
    for want in ("#SBATCH --array=0-2%2", "#SBATCH --ntasks=4", "#SBATCH --time=02:00:00",
                 "#SBATCH --partition=compute", "#SBATCH --account=proj42", "#SBATCH --qos=normal",
                 "#SBATCH --signal=B:USR1@120", "#SBATCH --requeue", "module load mpich",
                 "source /opt/venv/bin/activate", "mpiexec -n 4 dealloy run"):
        assert want in text, want
    assert "{{" not in text
    assert not (tmp_path / "study").exists()  # a dry run writes nothing


def test_custom_template_missing_variable_fails_before_anything(tmp_path):
    p = write_study(tmp_path, 'name = "t"\n[axes]\nseed = [1]\n')
    bad = tmp_path / "bad.sbatch"
    bad.write_text("#!/bin/bash\n#SBATCH --array={{array}}\n{{launch}} x\n")
    plan = plan_of(p)
    with pytest.raises(ConfigError, match="manifest"):
        submit(plan, plan.study.spec.slurm, template=bad, echo=lambda s: None)
    assert not (tmp_path / "study").exists()


def test_sbatch_missing_says_so_and_suggests_dry_run(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    p = write_study(tmp_path, 'name = "t"\n[axes]\nseed = [1]\n')
    plan = plan_of(p)
    with pytest.raises(DealloyError) as err:
        submit(plan, plan.study.spec.slurm, echo=lambda s: None)
    assert "sbatch not found" in str(err.value) and "--dry-run" in str(err.value)
    assert not (tmp_path / "study").exists()


def test_cli_reports_bad_input_in_one_line(tmp_path, dealloy_cli):
    p = write_study(tmp_path, 'name = "x"\n[axes]\ncolour = [1]\n')
    res = dealloy_cli("study", "plan", p)
    assert res.returncode == 2
    assert "unknown axis or parameter 'colour'" in res.stderr
    assert "Traceback" not in res.stderr


def test_states_from_run_directories_and_finished_runs_are_kept(tmp_path):
    p = write_study(tmp_path, 'name = "s"\n[axes]\nseed = [1, 2, 3, 4]\n')
    plan = plan_of(p)
    claim_directory(plan)
    done, failed, ckpt, pending = plan.runs
    for r, st in ((done, "done"), (failed, "failed"), (ckpt, "checkpointed")):
        prepare_run(r)
        info = {"status": st}
        if st == "failed":
            info["error"] = "SimulationError: lost atoms\nSi not conserved: 71 of 72 Si left"
        r.rundir.run_json.write_text(json.dumps(info))
    (ckpt.rundir.checkpoint_dir).mkdir()
    (ckpt.rundir.checkpoint_dir / "state.json").write_text("{}")
    got = {s.run.key: s for s in states(plan, use_queue=False)[0]}
    assert got[done.key].state == "done"
    assert got[failed.key].state == "failed"
    assert got[failed.key].note == "Si not conserved: 71 of 72 Si left"
    assert got[ckpt.key].state == "checkpointed"
    assert got[pending.key].state == "pending"
    assert run_mode(done.path) == "done" and run_mode(ckpt.path) == "resume"
    assert run_mode(pending.path) == "fresh"
    # a finished run's files are never rewritten
    before = done.config_path.read_text()
    done.config["seed"] = 99
    prepare_run(done)
    assert done.config_path.read_text() == before


def test_study_help_lists_commands(dealloy_cli):
    res = dealloy_cli("study", "--help")
    assert res.returncode == 0
    for cmd in ("plan", "run", "submit", "status", "collect"):
        assert cmd in res.stdout


@pytest.mark.slow
@pytest.mark.mpi
def test_local_run_interrupt_resume_analyse_skip(tmp_path, dealloy_cli):
    """study run --local on 2 ranks; SIGTERM to the runner checkpoints the run; the next call
    resumes it to the right event count and analyses it; a third call leaves it alone."""
    p = write_study(tmp_path, 'name = "loc"\n[set]\n"stages.extract.interval_ps" = 0.5\n'
                    '[axes]\nseed = [3]\n')
    plan = plan_of(p)
    (run,) = plan.runs
    exe = Path(sys.executable).with_name("dealloy")
    runner = subprocess.Popen([str(exe), "study", "run", str(p), "--local", "--ranks", "2"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    t0 = time.time()
    while time.time() - t0 < 300:
        info = run.rundir.record()
        if (info.n_removed or 0) > 0 and (info.checkpoints or 0) >= 1:
            break
        assert runner.poll() is None, runner.stdout.read()
        time.sleep(0.5)
    runner.send_signal(signal.SIGTERM)
    out = runner.communicate(timeout=120)[0]
    assert "asking the runs to checkpoint" in out, out
    assert [s.state for s in states(plan)[0]] == ["checkpointed"]
    removed_before = run.rundir.record().n_removed

    res = dealloy_cli("study", "run", p, "--local", "-j", "1", "--ranks", "2", timeout=900)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "[resume]" in res.stdout
    info = run.rundir.record()
    assert info.status == "done" and info.ranks == 2
    assert removed_before < info.n_removed == info.li_start - info.li_end
    assert info.n_removed == len(run.rundir.events_csv.read_text().splitlines()) - 1
    # the finished run was handed to `dealloy analyze`, and the resumed trajectory (two
    # segments joined at the checkpoint) analyses: every frame of both segments, times rising
    log = (tmp_path / "study" / "logs" / f"{run.key}.log").read_text()
    assert "dealloy analyze" in log
    # the engine says what it builds before the first stage (a melt-quench can take an hour)
    assert "building the particle: li15si4_particle(" in log and "particle built in" in log
    assert f"analysis of {run.key} failed" not in res.stdout, res.stdout
    frames = run.rundir.analysis_frames()
    assert len(frames) >= 2
    times = [f["time_ps"] for f in frames]
    assert times == sorted(times) and len(set(times)) == len(times), times
    mtime = run.rundir.run_json.stat().st_mtime_ns
    again = dealloy_cli("study", "run", p, "--local")
    assert again.returncode == 0 and "nothing to run" in again.stdout and "1 done" in again.stdout
    assert run.rundir.run_json.stat().st_mtime_ns == mtime  # a finished run is left alone
    res = dealloy_cli("study", "collect", p, "--no-analyze")
    assert res.returncode == 0, res.stderr
    import pandas as pd

    table = pd.read_parquet(tmp_path / "study" / "results" / "results.parquet")
    assert table.loc[0, "status"] == "done" and table.loc[0, "si_conserved"]
    assert table.loc[0, "n_removed"] == table.loc[0, "n_events"] == info.n_removed


def test_standard_figures_from_a_table(tmp_path):
    """porosity/a2 vs DOD and sizes vs rate are drawn from the collected columns."""
    import pandas as pd

    from dealloy.study.collect import figures

    plan = plan_of(WORKFLOWS / "smoke.toml", tmp_path / "st")
    rows = []
    for state, dods in (("a-lixsi", (0.7, 0.8, 0.9)), ("c-li15si4-pc", (1.0,))):
        for dod in dods:
            rows.append({"starting_state": state, "dod_resolved": dod, "porosity": 0.5 * dod,
                         "a2_index": 1 - dod / 2, "rate_fraction_per_ns_resolved": None})
    for rate in (0.5, 5.0, 50.0):
        rows.append({"starting_state": "c-li15si4-pc", "dod_resolved": 1.0,
                     "rate_fraction_per_ns_resolved": rate, "ligament_diameter_mean_nm": 1.8,
                     "ligament_diameter_std_nm": 0.4, "pore_diameter_mean_nm": 3 + rate / 50,
                     "pore_diameter_std_nm": 0.8})
    notes = figures(plan, pd.DataFrame(rows), tmp_path / "fig")
    assert notes[0] == "porosity_a2_vs_dod.png" and notes[1] == "sizes_vs_rate.png", notes
    for name in notes[:2]:
        assert (tmp_path / "fig" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "skipped" in notes[2]  # no analysed trajectories in this plan


def test_structure_file_content_is_part_of_the_hash(tmp_path):
    from ase import Atoms
    from ase.io import write

    xyz = tmp_path / "p.extxyz"
    base = tmp_path / "base.toml"
    base.write_text('[particle]\nfile = "p.extxyz"\n')
    study = tmp_path / "s.toml"
    study.write_text(f'name = "f"\nbase = "{base}"\n[axes]\nseed = [1]\n')
    write(xyz, Atoms("LiSi", positions=[[0, 0, 0], [2.5, 0, 0]], cell=[30, 30, 30]))
    one = plan_of(study).runs[0]
    assert one.config["particle"]["file"] == str(xyz)  # made absolute
    write(xyz, Atoms("LiSi", positions=[[0, 0, 0], [2.6, 0, 0]], cell=[30, 30, 30]))
    assert plan_of(study).runs[0].key != one.key


def test_status_table_plain_when_not_a_terminal():
    """Not a TTY: ASCII, no escape codes, one line per run however long its note, columns
    aligned (each header starts where its values start)."""
    from dealloy.study.cli import _table

    note = "checkpointed at x = 2.5; " * 12
    out = _table(["#", "run", "status", "note"], [["0", "r-000", "done", ""],
                                                  ["1", "r-001", "failed", note]], tty=False)
    lines = out.splitlines()
    assert len(lines) == 4 and out.isascii() and "\x1b" not in out
    assert set(lines[1]) == {"-"}
    assert lines[3].endswith(note.rstrip())
    col = lines[0].index("status")
    assert lines[2][col:] == "done" and lines[3][col:].startswith("failed ")


ECHEM_WORKFLOWS = sorted(p.name for p in WORKFLOWS.glob("*.toml")
                         if "potentiostatic" in p.read_text() or "galvanostatic" in p.read_text())


@pytest.mark.parametrize("name", ECHEM_WORKFLOWS)
def test_shipped_voltage_sweeps_start_low_and_say_how_they_remove(tmp_path, name):
    """Every potentiostatic run of a shipped study plans and validates, starts its sweep at
    <= 0.05 V (a higher start empties every Li whose removal voltage lies below it in the first
    intervals: an artificial first dQ/dV bin) and its header states the re-insertion choice."""
    from dealloy.config.run import parse_run_config

    assert {"echem-comparison.toml", "echem-bulk-c.toml", "echem-bulk-a.toml"} <= set(ECHEM_WORKFLOWS)
    plan = make_plan(load_study(WORKFLOWS / name), tmp_path / "st")
    pots = []
    for run in plan.runs:
        cfg = parse_run_config(run.config, source=run.key)
        pots += [st for st in cfg.stages if st.type == "potentiostatic"]
    assert pots, f"{name}: no potentiostatic run planned"
    for st in pots:
        assert st.voltage_at(0.0) <= 0.05, (name, st.voltage_at(0.0))
    header = "".join(line for line in (WORKFLOWS / name).read_text().splitlines(True)
                     if line.startswith("#"))
    assert "reinsertion" in header and "attempts_per_interval" in header


def test_collected_table_names_each_runs_extraction_mode(tmp_path):
    """results.csv's extraction_resolved is the mode of the run's own extraction stage (the
    report splits its rows by it): the comparison study's axis value, for every planned run."""
    from dealloy.study.collect import derived

    plan = make_plan(load_study(WORKFLOWS / "echem-comparison.toml"), tmp_path / "st")
    modes = [derived(r)["extraction_resolved"] for r in plan.runs]
    assert modes == [r.params["extraction"] for r in plan.runs]
    assert set(modes) == {"geometric", "galvanostatic", "potentiostatic"}
    smoke = make_plan(load_study(WORKFLOWS / "smoke.toml"), tmp_path / "sm")
    assert {derived(r)["extraction_resolved"] for r in smoke.runs} == {"geometric"}


def test_a_moved_structure_file_keeps_its_runs_and_old_run_directories_are_found(tmp_path):
    # the key holds the file's content, not its path: a study whose data folder (or the whole
    # repository clone) moved plans the same runs; a run directory made under the old key (with
    # the path) is still found in place
    import shutil

    from ase import Atoms
    from ase.io import write

    from dealloy.study.plan import run_key

    def study_in(folder):
        folder.mkdir()
        write(folder / "p.extxyz", Atoms("LiSi", positions=[[0, 0, 0], [2.5, 0, 0]],
                                         cell=[30, 30, 30]))
        (folder / "base.toml").write_text('[particle]\nfile = "p.extxyz"\n')
        (folder / "s.toml").write_text(f'name = "f"\nbase = "base.toml"\ndirectory = '
                                       f'"{tmp_path / "study"}"\n[axes]\nseed = [1]\n')
        return folder / "s.toml"

    here, there = plan_of(study_in(tmp_path / "a")).runs[0], plan_of(study_in(tmp_path / "b")).runs[0]
    assert here.config["particle"]["file"] != there.config["particle"]["file"]
    assert here.key == there.key
    legacy = run_key(here.config, legacy=True)
    assert legacy != here.key
    (tmp_path / "study" / "runs" / legacy).mkdir(parents=True)
    assert plan_of(tmp_path / "a" / "s.toml").runs[0].key == legacy  # the old directory is used
    shutil.rmtree(tmp_path / "study" / "runs" / legacy)
    assert plan_of(tmp_path / "a" / "s.toml").runs[0].key == here.key
    # a run not yet started is given the moved file's path (else its config.toml would name a
    # file that is gone); a started one keeps its config.toml as written
    prepare_run(here)
    assert str(tmp_path / "a" / "p.extxyz") in here.config_path.read_text()
    shutil.rmtree(tmp_path / "a")
    prepare_run(there)
    assert str(tmp_path / "b" / "p.extxyz") in there.config_path.read_text()
    (there.path / "checkpoint").mkdir()
    (there.path / "checkpoint" / "state.json").write_text("{}")
    moved_again = plan_of(study_in(tmp_path / "c")).runs[0]
    prepare_run(moved_again)
    assert str(tmp_path / "b" / "p.extxyz") in there.config_path.read_text()

"""Build checkpoints: a particle build under ``dealloy run`` survives SIGUSR1/SIGTERM and kill -9.

Real LAMMPS on a 24-atom a-Li0.5Si glass (fast protocol, a 6 ps melt): ``dealloy run`` stops the
melt-quench at its next safe point on SIGUSR1 with a build checkpoint and exit 75, ``--resume``
continues it (not from scratch) and the run completes; a changed config is refused; the
builders without a control (``dealloy build``) are unchanged, bit for bit.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dealloy.builders import amorphous
from dealloy.builders.amorphous import amorphous_lisi, amorphous_lisi_particle
from dealloy.builders.cache import CACHE_ENV
from dealloy.builders.checkpoint import BuildControl, BuildStopped, build_control
from dealloy.engine.run import run
from dealloy.engine.signals import EXIT_CHECKPOINTED
from dealloy.errors import SimulationError
from dealloy.rundir import RunDir
from dealloy.study.state import run_mode

DEALLOY = [sys.executable, "-m", "dealloy.cli"]
GLASS = dict(x=0.5, n_si=16, seed=3, protocol="fast", melt_ps=6.0)  # 8 Li + 16 Si


def _config(path: Path, **args) -> Path:
    a = {**GLASS, **args}
    lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in a.items())
    path.write_text(f"""seed = 3
checkpoint_ps = 2.0
thermo_interval_ps = 0.02
dump_interval_ps = 0.05
[particle]
builder = "amorphous_lisi"
[particle.args]
{lines}
[[stages]]
type = "equilibrate"
time_ps = 0.05
""")
    return path


def _wait_for(pred, proc, timeout=120.0) -> bool:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def _route_files(rd: RunDir) -> list[Path]:
    return sorted(p for p in rd.build_checkpoint_dir.glob("melt_quench-*.npz")
                  if not p.name.endswith(".done.npz"))


def _route_meta(rd: RunDir) -> dict | None:
    for p in _route_files(rd):
        try:
            with np.load(p) as z:
                return json.loads(str(z["meta"]))
        except (OSError, ValueError, KeyError):  # replaced while read
            return None
    return None


def _resume(cfg: Path) -> subprocess.CompletedProcess:
    return subprocess.run(DEALLOY + ["run", str(cfg), "--resume"], capture_output=True, text=True,
                          timeout=600)


def test_usr1_during_the_build_checkpoints_and_resume_finishes_it(tmp_path):
    cfg = _config(tmp_path / "g.toml")
    rd = RunDir(tmp_path / "g")
    proc = subprocess.Popen(DEALLOY + ["run", str(cfg), "--quiet"])
    assert _wait_for(lambda: bool(_route_files(rd)), proc), "the build wrote no checkpoint"
    proc.send_signal(signal.SIGUSR1)  # the old engine died of it here (no handler yet)
    assert proc.wait(timeout=120) == EXIT_CHECKPOINTED
    rec = rd.record()
    assert rec.status == "checkpointed" and rec.time_ps == 0 and rec.si_start is None
    assert rec.build_wall_time_s > 0 and rec.wall_time_s == rec.build_wall_time_s
    stopped = _route_meta(rd)
    assert stopped["route"] == "melt_quench" and stopped["step"] > 0  # past the minimisation
    build = json.loads((rd.build_checkpoint_dir / "build.json").read_text())
    assert build["config"]["particle"]["args"]["melt_ps"] == 6.0
    assert not rd.checkpoint_dir.exists() and run_mode(rd.path) == "resume"  # SLURM requeues
    # without --resume the build checkpoint is protected
    out = subprocess.run(DEALLOY + ["run", str(cfg)], capture_output=True, text=True)
    assert out.returncode == 2 and "build checkpoint" in out.stderr and "--resume" in out.stderr
    # a changed config is refused in one line, and nothing is lost
    _config(tmp_path / "g.toml", melt_ps=7.0)
    out = _resume(cfg)
    err = out.stderr.strip()
    assert out.returncode == 2 and "\n" not in err and "Traceback" not in err, err
    assert "config changed since the build checkpoint (particle)" in err
    assert _route_meta(rd) == stopped and rd.record().status == "checkpointed"
    # restored: --resume continues the melt-quench where it stopped and the run completes
    _config(tmp_path / "g.toml")
    out = _resume(cfg)
    assert out.returncode == 0, out.stderr
    assert (f"the build continued from its checkpoint: melt_quench from segment "
            f"{stopped['segment']}") in out.stderr
    assert f"LAMMPS step {stopped['step']}" in out.stderr
    rec = rd.record()
    assert rec.status == "done" and (rec.li_start, rec.si_start) == (8, 16)
    assert rec.build_resumed is True
    assert rec.wall_time_s > rec.build_wall_time_s > build["wall_s"] > 0
    assert not rd.build_checkpoint_dir.exists()  # gone once the particle is in checkpoint/


def test_kill9_mid_build_then_resume_continues_from_the_last_build_checkpoint(tmp_path):
    cfg = _config(tmp_path / "k.toml")
    rd = RunDir(tmp_path / "k")
    proc = subprocess.Popen(DEALLOY + ["run", str(cfg), "--quiet"])
    # a checkpoint past the melt (segment >= 1: a boundary or a periodic one in the quench)
    assert _wait_for(lambda: (_route_meta(rd) or {}).get("segment", 0) >= 1, proc), \
        "the build ended before the kill"
    last = _route_meta(rd)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert rd.record().status == "running" and run_mode(rd.path) == "resume"
    out = _resume(cfg)
    assert out.returncode == 0, out.stderr
    line = [ln for ln in out.stderr.splitlines() if "the build continued from its checkpoint" in ln]
    assert line, out.stderr
    # it did not start over: it continued from the last checkpoint it wrote (or a later one
    # written between the read and the kill)
    seg = int(line[0].split("from segment ")[1].split()[0])
    step = int(line[0].split("LAMMPS step ")[1])
    assert seg >= last["segment"] >= 1 and step >= last["step"] > 0
    assert "melt done" not in out.stderr  # the melt was not run again
    rec = rd.record()
    assert rec.status == "done" and (rec.li_start, rec.si_start) == (8, 16) and rec.build_resumed
    assert not rd.build_checkpoint_dir.exists()


def test_a_control_that_never_stops_changes_nothing_and_a_resumed_glass_is_not_cached(
        tmp_path, monkeypatch):
    # without a control (dealloy build, the Python API) and with one that never stops: the
    # same glass bit for bit (the chunked segments run the same ramps)
    plain = amorphous_lisi(**GLASS)
    control = BuildControl(tmp_path / "never", stop_requested=lambda: 0, checkpoint_ps=1.0)
    with build_control(control):
        ctl = amorphous_lisi(**GLASS)
    assert np.array_equal(plain.positions, ctl.positions)
    assert np.array_equal(plain.cell.array, ctl.cell.array)
    assert "build_resumed" not in plain.info and "build_resumed" not in ctl.info
    assert [p.name.endswith(".done.npz") for p in (tmp_path / "never").iterdir()] == [True]
    # stopped in the quench, resumed: not bit-identical to the uninterrupted build its key
    # stands for, so it is used, not cached; a particle cut from it says so
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    polls = []

    def stop_at_the_20th():
        polls.append(1)
        return signal.SIGUSR1 if len(polls) == 20 else 0

    control = BuildControl(tmp_path / "b", stop_requested=stop_at_the_20th, checkpoint_ps=1.0)
    with build_control(control), pytest.raises(BuildStopped, match="signal 10"):
        amorphous_lisi(**GLASS)
    assert not (tmp_path / "cache" / "melt_quench").exists()  # nothing cached from a stopped build
    control = BuildControl(tmp_path / "b", stop_requested=lambda: 0, checkpoint_ps=1.0)
    with build_control(control):
        resumed = amorphous_lisi(**GLASS)
    (r,) = control.resumed
    assert r["route"] == "melt_quench" and r["step"] > 0
    assert resumed.info["build_resumed"] is True and resumed.info["melt_quench_resumed"] is True
    assert len(resumed) == len(plain) and resumed.info["cache_hit"] is False
    assert "cache_entry" not in resumed.info
    assert not list((tmp_path / "cache").rglob("*.npz"))
    # an uninterrupted build is cached, bit-identical to the plain one
    again = amorphous_lisi(**GLASS)
    assert again.info["cache_hit"] is False and np.array_equal(again.positions, plain.positions)
    monkeypatch.setattr(amorphous, "melt_quench", None)  # a rebuild would fail: must be a hit
    hit = amorphous_lisi(**GLASS)
    assert hit.info["cache_hit"] is True and np.array_equal(hit.positions, plain.positions)
    from dealloy.builders.amorphous import _cache_note

    assert _cache_note(resumed) == {"bulk_cache_hit": False, "bulk_melt_quench_resumed": True}
    assert _cache_note(hit) == {"bulk_cache_hit": True}


def test_a_build_stopped_in_the_particle_relaxation_does_not_melt_again(tmp_path):
    args = dict(diameter_nm=1.2, x=2.0, seed=1, bulk_n_si=8, protocol="fast")
    polls = []
    control = BuildControl(tmp_path / "ref", stop_requested=lambda: polls.append(1) or 0,
                           checkpoint_ps=1.0)
    with build_control(control):
        ref = amorphous_lisi_particle(**args)
    n_polls = len(polls)
    # the last polls are the particle relaxation's (1 ps in 0.5 ps chunks): stop at the one
    # between its two chunks
    polls.clear()
    control = BuildControl(tmp_path / "b", checkpoint_ps=1.0,
                           stop_requested=lambda: polls.append(1) or (15 if len(polls) == n_polls - 1
                                                                      else 0))
    with build_control(control), pytest.raises(BuildStopped, match="relax_particle"):
        amorphous_lisi_particle(**args)
    names = sorted(p.name.split("-")[0] + ("(done)" if ".done" in p.name else "")
                   for p in (tmp_path / "b").glob("*.npz"))
    assert names == ["melt_quench(done)", "relax_particle"]
    control = BuildControl(tmp_path / "b", stop_requested=lambda: 0, checkpoint_ps=1.0)
    with build_control(control):
        resumed = amorphous_lisi_particle(**args)
    # the melt-quench had finished: its exact result is taken back, which is not "resumed"
    assert control.reused == ["melt_quench"]
    assert [(r["route"], r["segment"]) for r in control.resumed] == [("relax_particle", 0)]
    assert "bulk_melt_quench_resumed" not in resumed.info
    assert resumed.info["build_resumed"] is True and "build_resumed" not in ref.info
    # the same glass, cut the same way: the same atoms; only the relaxation's end differs
    assert resumed.get_chemical_symbols() == ref.get_chemical_symbols()
    assert resumed.info["bulk_density_g_cm3"] == ref.info["bulk_density_g_cm3"]


@pytest.mark.mpi
def test_two_ranks_stop_the_build_together_and_resume_it(tmp_path):
    # USR1 reaches the launcher (as from SLURM's batch script), which passes it on; the ranks
    # agree at the next chunk (an allreduce), write one checkpoint and exit 75 together
    if shutil.which("mpiexec") is None:
        pytest.skip("no mpiexec")
    cfg = _config(tmp_path / "m.toml")
    rd = RunDir(tmp_path / "m")
    launch = ["mpiexec", "-n", "2"] + DEALLOY
    proc = subprocess.Popen(launch + ["run", str(cfg), "--quiet"])
    assert _wait_for(lambda: bool(_route_files(rd)), proc), "the build wrote no checkpoint"
    proc.send_signal(signal.SIGUSR1)
    assert proc.wait(timeout=120) == EXIT_CHECKPOINTED
    rec = rd.record()
    assert rec.status == "checkpointed" and rec.ranks == 2 and len(_route_files(rd)) == 1
    stopped = _route_meta(rd)
    out = subprocess.run(launch + ["run", str(cfg), "--resume"], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    assert f"LAMMPS step {stopped['step']}" in out.stderr
    rec = rd.record()
    assert rec.status == "done" and rec.build_resumed and (rec.li_start, rec.si_start) == (8, 16)
    assert rec.build_core_time_s == pytest.approx(2 * rec.build_wall_time_s, rel=0.01)
    assert not rd.build_checkpoint_dir.exists()


RESTORE_FAR = '''
import sys
from pathlib import Path

import numpy as np
from ase import Atoms
from mpi4py import MPI

from dealloy.builders.checkpoint import BuildControl, BuildRoute
from dealloy.lammps.potentials import get_potential
from dealloy.lammps.session import LammpsSession

folder = Path(sys.argv[1])
comm = MPI.COMM_WORLD
rng = np.random.default_rng(0)
L = np.array([48.0, 9.0, 9.0])  # LAMMPS splits a long box along x: 4 x 1 x 1 on 4 ranks
n = 24
pos = np.column_stack([np.linspace(1, 47, n), rng.uniform(1, 8, n), rng.uniform(1, 8, n)])
start = Atoms(["Si", "Li"] * (n // 2), positions=pos, cell=L, pbc=True)
moved = start.copy()
moved.positions[:, 0] = (moved.positions[:, 0] + L[0] / 2) % L[0]  # every atom 2 subdomains on
pot = get_potential("meam-godet2020")
control = BuildControl(folder=folder, stop_requested=lambda: 0, comm=comm)
key = lambda: {"test": "restore4"}  # noqa: E731
with LammpsSession(moved, pot, comm=comm) as s:
    BuildRoute("t", key, control).save(s, 0, None, None)
route = BuildRoute("t", key, control)
with LammpsSession(start, pot, comm=comm) as s:
    s.command("thermo_modify lost error")
    assert route.restore(s)
    s.command("run 0 post no")
    x = s.gather("x", 1, 3)[np.argsort(s.gather("id", 0, 1))]
    natoms = s.lmp.get_natoms()
if comm.rank == 0:
    print(f"natoms {natoms} max_dev {np.abs(x - moved.positions).max():.3e}")
'''


@pytest.mark.mpi
def test_a_checkpoint_restores_atoms_that_moved_across_several_subdomains(tmp_path):
    """4 ranks split a long cell 4 x 1 x 1; every atom of the checkpoint sits two subdomains
    from its start position. A run only passes atoms to neighbouring subdomains, so without
    the migration in restore() LAMMPS loses them ("Lost atoms: original 24 current 0")."""
    if shutil.which("mpiexec") is None:
        pytest.skip("no mpiexec")
    script = tmp_path / "restore_far.py"
    script.write_text(RESTORE_FAR)
    (tmp_path / "ckpt").mkdir()
    res = subprocess.run(["mpiexec", "-n", "4", sys.executable, str(script), str(tmp_path / "ckpt")],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr[-2000:]
    natoms, dev = res.stdout.split()[1], float(res.stdout.split()[3])
    assert natoms == "24" and dev < 1e-9, res.stdout


def test_a_build_that_fails_after_its_first_checkpoint_says_so_in_run_json(tmp_path):
    # run.json says "running" from the build's first checkpoint on; a failing build must not
    # leave it there
    cfg = _config(tmp_path / "f.toml", melt_ps=1.0, min_melt_msd_angstrom2=1e6)
    with pytest.raises(SimulationError, match="melt not liquid"):
        run(cfg, quiet=True)
    rec = RunDir(tmp_path / "f").record()
    assert rec.status == "failed" and "melt not liquid" in rec.error
    assert rec.build_wall_time_s > 0


def test_a_protocol_refused_after_a_resumed_build_is_recorded_as_failed(tmp_path):
    """Stopped mid-build, resumed: the build finishes, then check_protocol refuses the stage
    (x_final above the particle's x). run.json says failed, before MD, with the build's cost;
    a --resume refused earlier (a changed config) leaves the stopped build's record alone."""
    cfg = _config(tmp_path / "p.toml")
    cfg.write_text(cfg.read_text().replace(
        '[[stages]]\ntype = "equilibrate"\ntime_ps = 0.05\n',
        '[[stages]]\ntype = "extract"\nselector = "random"\nx_final = 0.9\n'))
    rd = RunDir(tmp_path / "p")
    proc = subprocess.Popen(DEALLOY + ["run", str(cfg), "--quiet"])
    assert _wait_for(lambda: bool(_route_files(rd)), proc), "the build wrote no checkpoint"
    proc.send_signal(signal.SIGUSR1)
    assert proc.wait(timeout=120) == EXIT_CHECKPOINTED
    assert rd.record().status == "checkpointed"
    changed = tmp_path / "p.toml"
    text = changed.read_text()
    changed.write_text(text.replace("seed = 3\ncheckpoint_ps", "seed = 4\ncheckpoint_ps", 1))
    out = _resume(changed)
    assert out.returncode == 2 and "config changed since the build checkpoint" in out.stderr
    assert rd.record().status == "checkpointed"  # still resumable with the right config
    changed.write_text(text)
    out = _resume(cfg)
    assert out.returncode == 2 and "x_final" in out.stderr, out.stderr[-1500:]
    rec = rd.record()
    assert rec.status == "failed" and rec.before_md and "x_final" in rec.error
    assert rec.build_wall_time_s and rec.build_wall_time_s > 0 and rec.build_resumed is True


def _halting_route(stop_after_step: int):
    """A 342-atom particle in NVE for 50 steps with a fix halt that fires after a given step."""
    from dealloy.build.crystal import li15si4_particle
    from dealloy.builders.checkpoint import BuildRoute, MdSegment
    from dealloy.lammps.session import LammpsSession

    s = LammpsSession(li15si4_particle(2.2, seed=1), "meam-godet2020")
    s.create_velocities(300.0, 1)
    s.commands(["variable dealloy_t_step equal step",
                f"fix dealloy_t_halt all halt 10 v_dealloy_t_step > {stop_after_step} "
                "error continue message no"])
    return s, BuildRoute("halt-test", lambda: {}), [MdSegment("nve", 0.05, 300.0, 300.0, "nve")]


def test_a_run_that_lammps_ends_early_goes_to_after_chunk_and_then_to_its_end():
    # no caller to tell: a run that LAMMPS' fix halt ended early is an error, not a silent skip
    s, route, segments = _halting_route(15)
    with s, pytest.raises(SimulationError, match="ended a run at step 20, before its step 50"):
        route.run(s, segments)
    # with one: it sees the halt, removes its cause, and the segment goes on to its last step
    s, route, segments = _halting_route(15)
    seen = []

    def after_chunk(i, halted):
        seen.append((int(s.lmp.extract_global("ntimestep")), halted))
        if halted:
            s.command("unfix dealloy_t_halt")
        return halted

    with s:
        route.run(s, segments, after_chunk=after_chunk)
        assert seen == [(20, True), (50, False)]
    # a halt on the last step ends the run normally: after_chunk is still called there
    s, route, segments = _halting_route(45)
    seen.clear()
    with s:
        route.run(s, segments, after_chunk=after_chunk)
        assert seen == [(50, False)]

"""The extraction engine (`dealloy run`) on tiny particles with real LAMMPS (MEAM Cui 2012)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import ase.io
import numpy as np
import pytest

from dealloy.config.run import parse_run_config
from dealloy.engine.particles import li15si4_sphere
from dealloy.engine.run import EXIT_CHECKPOINTED, check_protocol, run
from dealloy.engine.selectors import choose, insertion_sites, removal_candidates
from dealloy.errors import ConfigError, SimulationError
from dealloy.rundir import RunDir

DEALLOY = [sys.executable, "-m", "dealloy.cli"]
R_SMALL = 10.0  # 270 atoms: 211 Li + 59 Si


@pytest.fixture(scope="module")
def particle(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("particle")
    p = d / "li15si4.extxyz"
    ase.io.write(p, li15si4_sphere(R_SMALL))
    return p


def toml(path: Path, particle: Path, body: str, **top) -> Path:
    head = "\n".join(f"{k} = {json.dumps(v)}" for k, v in {
        "seed": 3, "dump_interval_ps": 0.05, "thermo_interval_ps": 0.02,
        "checkpoint_ps": 0.1, **top}.items())
    path.write_text(f'{head}\n[particle]\nfile = "{particle}"\n{body}')
    return path


def read_csv(path: Path) -> list[dict]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


EXTRACT = """
[[stages]]
type = "minimize"
maxiter = 50
[[stages]]
type = "equilibrate"
time_ps = 0.04
[[stages]]
type = "extract"
selector = "{selector}"
x_final = {x_final}
interval_ps = 0.02
batch = {batch}
[[stages]]
type = "hold"
time_ps = 0.02
"""


# ---- a whole run ----------------------------------------------------------------------------
def test_extract_reaches_x_final_si_conserved_and_outputs(particle, tmp_path):
    cfg = toml(tmp_path / "x.toml", particle,
               EXTRACT.format(selector="surface", x_final=2.5, batch=15))
    res = run(cfg, quiet=True)
    rd = RunDir(tmp_path / "x")
    assert res.status == "done" and rd.status == "done"
    n_si = res.si_start
    assert res.si_end == n_si == 59
    assert res.li_end == int(np.floor(2.5 * n_si + 1e-9))  # exactly at x_final
    assert res.n_removed == res.li_start - res.li_end
    assert res.ranks == 1 and res.seed == 3 and res.potential.file_hashes
    assert res.versions["lammps"] and res.wall_time_s > 0
    # events: one row per removed Li, all Li, all during extract
    ev = read_csv(rd.events_csv)
    assert len(ev) == res.n_removed
    assert {e["species"] for e in ev} == {"Li"} and {e["stage"] for e in ev} == {"extract"}
    assert len({e["id"] for e in ev}) == len(ev)
    # thermo: monotonic time, Si column constant, x ends at x_final
    th = read_csv(rd.thermo_csv)
    t = [float(r["time_ps"]) for r in th]
    assert t == sorted(t) and len(set(t)) == len(t)
    assert {int(r["n_si"]) for r in th} == {n_si}
    assert float(th[-1]["x"]) == pytest.approx(res.li_end / n_si, abs=1e-4)
    # structures and trajectory (element column) readable by ASE
    final = ase.io.read(rd.final_structure)
    assert final.get_chemical_symbols().count("Si") == n_si
    assert final.get_chemical_symbols().count("Li") == res.li_end
    removed = {int(e["id"]) for e in ev}
    assert not removed & set(final.arrays["id"].tolist())
    data = ase.io.read(rd.final_data, format="lammps-data", atom_style="atomic")
    assert len(data) == len(final)
    frames = ase.io.read(rd.trajectory, index=":", format="lammps-dump-text")
    assert rd.trajectory.name.endswith(".gz")
    assert len(frames[0]) == res.li_start + n_si and len(frames[-1]) == len(final)
    assert set(frames[-1].get_chemical_symbols()) == {"Li", "Si"}
    assert (rd.checkpoint_dir / "state.json").is_file() and rd.lammps_log.is_file()
    assert "timestep_ps" in rd.config.read_text()


def _dump_times(path: Path) -> list[float]:
    import gzip

    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt") as fh:
        lines = fh.read().splitlines()
    return [float(lines[i + 1]) for i, line in enumerate(lines) if line.strip() == "ITEM: TIME"]


def test_trajectory_time_rises_through_a_minimisation(particle, tmp_path):
    """LAMMPS counts minimiser iterations as elapsed time and writes a frame when a minimisation
    converges (before maxiter): one converged in 392 iterations made that frame read 0.392 ps
    and the next MD frame 0.108 ps (time running backwards). The dump's TIME is the simulated
    time: the relaxed structure is t = 0, a later minimisation adds no time, time always rises."""
    body = """
[[stages]]
type = "minimize"
[[stages]]
type = "equilibrate"
time_ps = 0.12
[[stages]]
type = "minimize"
[[stages]]
type = "hold"
time_ps = 0.06
"""
    res = run(toml(tmp_path / "m.toml", particle, body), quiet=True)
    assert res.status == "done"
    times = _dump_times(RunDir(tmp_path / "m").trajectory)
    assert times[0] == 0.0
    assert all(b > a for a, b in zip(times, times[1:])), times
    assert times[-1] == pytest.approx(0.18, abs=1e-9)


def test_dump_columns_lammps_commands_and_restart(particle, tmp_path):
    """Issue 17 item 9: per-atom velocities, forces and energies in the dump on request; extra
    LAMMPS commands applied at their named point (and recorded in run.json); a LAMMPS restart
    file plus an input that continues the run in plain LAMMPS at the run's final energy."""
    body = f"""
[[lammps_commands]]
at = "setup"
commands = ["compute my_msd all msd", "variable my_m equal c_my_msd[4]",
            'fix my_print all print 10 "${{my_m}}" file {tmp_path}/msd.txt screen no']
[[lammps_commands]]
at = "each_stage"
commands = ['print "stage starts" append {tmp_path}/stages.txt screen no']
[[stages]]
type = "minimize"
[[stages]]
type = "equilibrate"
time_ps = 0.05
[[stages]]
type = "hold"
time_ps = 0.02
"""
    cfg = toml(tmp_path / "c.toml", particle, body,
               dump_columns=["vx", "vy", "vz", "fx", "fy", "fz", "pe"], lammps_restart=True)
    res = run(cfg, quiet=True)
    rd = RunDir(tmp_path / "c")
    assert res.status == "done"
    assert [e["at"] for e in res.config["lammps_commands"]] == ["setup", "each_stage"]
    assert (tmp_path / "stages.txt").read_text().count("stage starts") == 3
    assert len((tmp_path / "msd.txt").read_text().split()) >= 5
    frames = ase.io.read(rd.trajectory, index=":", format="lammps-dump-text")
    import gzip
    with gzip.open(rd.trajectory, "rt") as fh:
        header = next(line for line in fh if line.startswith("ITEM: ATOMS"))
    assert header.split()[2:] == ["id", "element", "x", "y", "z", "vx", "vy", "vz", "fx", "fy",
                                  "fz", "c_dealloy_pe"]
    # the per-atom energies of the last frame add up to the run's final potential energy
    with gzip.open(rd.trajectory, "rt") as fh:
        last = fh.read().rsplit("ITEM: ATOMS", 1)[1].splitlines()[1:]
    pe_atoms = sum(float(line.split()[-1]) for line in last if line.strip())
    pe_final = float(read_csv(rd.thermo_csv)[-1]["pe_ev"])
    assert pe_atoms == pytest.approx(pe_final, rel=1e-6)
    assert len(frames[-1]) == len(last)
    # plain LAMMPS continues from the restart at the same energy
    script = rd.path / "lammps-continue.in"
    assert (rd.checkpoint_dir / "lammps.restart").is_file() and script.is_file()
    from dealloy.lammps.instance import open_lammps

    cwd = os.getcwd()
    os.chdir(rd.path)
    try:
        lmp = open_lammps(packages=())
        lmp.file(str(script))
        pe = lmp.get_thermo("pe")
        lmp.close()
    finally:
        os.chdir(cwd)
    assert pe == pytest.approx(pe_final, rel=1e-6)


@pytest.mark.parametrize("entry,words", [
    ('dump_columns = ["q"]', ["dump_columns", "pe"]),
    ('[[lammps_commands]]\ncommands = ["run 100"]', ["lammps_commands", "'run'", "stages"]),
    ('[[lammps_commands]]\ncommands = ["unfix dealloy_th"]', ["lammps_commands", "dealloy_"]),
    ('[[lammps_commands]]\nat = "end"\ncommands = ["print hi"]', ["lammps_commands", "at"]),
])
def test_bad_extras_refused_at_load(tmp_path, particle, entry, words):
    from dealloy.config.run import load_run_config

    head, _, table = entry.partition("\n")
    top = head if not head.startswith("[[") else ""
    tables = entry if head.startswith("[[") else ""
    p = tmp_path / "bad.toml"
    p.write_text(f'{top}\n{tables}\n[particle]\nfile = "{particle}"\n')
    with pytest.raises(ConfigError) as exc:
        load_run_config(p)
    msg = str(exc.value)
    for w in words:
        assert w in msg, msg


def test_study_run_keys_unchanged_by_unset_extras():
    """Output-side keys added later do not change the run keys of studies that leave them unset
    (studies hash every field); set, they do."""
    from dealloy.study.plan import run_key

    base = {"particle": {"builder": "si_particle", "args": {"diameter_nm": 2.0}}}
    assert run_key(base) == run_key({**base, "dump_columns": [], "lammps_restart": False,
                                     "lammps_commands": []})
    assert run_key(base) != run_key({**base, "dump_columns": ["vx"]})


# ---- selectors: each removes only what it should ---------------------------------------------
@pytest.fixture(scope="module")
def big():
    a = li15si4_sphere(18.0)  # 1512 atoms, no LAMMPS needed
    c = a.positions.mean(0)
    return a, np.linalg.norm(a.positions - c, axis=1), np.array(a.get_chemical_symbols()) == "Li"


def test_surface_selector_never_touches_the_core(big):
    a, r, is_li = big
    cand = removal_candidates("surface", a.positions, is_li)
    assert cand.size > 100 and is_li[cand].all()
    assert r[cand].min() > 18.0 - 4.0  # only the outer atomic layers
    outer = np.flatnonzero(is_li & (r > 17.0))
    assert np.isin(outer, cand).mean() > 0.9  # and nearly all of the outermost Li


def test_shell_selector_depth_and_random_only_li(big):
    a, r, is_li = big
    shell = removal_candidates("shell", a.positions, is_li, shell_width_angstrom=6.0)
    surf = removal_candidates("surface", a.positions, is_li)
    assert set(surf) <= set(shell) and r[shell].min() > 18.0 - 6.0 - 4.0
    assert r[shell].min() < r[surf].min()
    rnd = removal_candidates("random", a.positions, is_li)
    assert np.array_equal(rnd, np.flatnonzero(is_li))
    pick = choose(rnd, 50, np.random.default_rng(0))
    assert len(set(pick)) == 50 and is_li[pick].all()
    assert (r[pick] < 10).any()  # random reaches the core


def test_insertion_sites_sit_just_outside(big):
    a, r, _ = big
    sites = insertion_sites(a.positions, 30, np.random.default_rng(1))
    assert len(sites) == 30
    d = np.linalg.norm(sites[:, None] - a.positions[None], axis=2).min(1)
    assert np.all(np.abs(d - 2.6) < 0.3)
    pair = np.linalg.norm(sites[:, None] - sites[None], axis=2) + np.eye(30) * 99
    assert pair.min() >= 2.6 - 1e-9


def test_surface_run_removes_only_outer_li(tmp_path):
    p = tmp_path / "p12.extxyz"
    ase.io.write(p, li15si4_sphere(12.0))
    cfg = toml(tmp_path / "s.toml", p, EXTRACT.format(selector="surface", x_final=3.2, batch=10))
    res = run(cfg, quiet=True)
    init = ase.io.read(tmp_path / "s" / "initial.extxyz")
    r0 = np.linalg.norm(init.positions - init.positions.mean(0), axis=1)
    removed = [int(e["id"]) for e in read_csv(tmp_path / "s" / "events.csv")]
    assert len(removed) == res.n_removed > 0
    assert r0[np.array(removed) - 1].min() > 12.0 - 4.5


def test_insertion_reaches_target(tmp_path):
    from dealloy.builders import si_particle

    si = si_particle(diameter_nm=2.0, seed=0)
    p = tmp_path / "si.extxyz"
    ase.io.write(p, si)
    n_si = len(si)
    body = """
[[stages]]
type = "insert"
x_final = 0.4
interval_ps = 0.02
batch = 12
[[stages]]
type = "hold"
time_ps = 0.02
"""
    res = run(toml(tmp_path / "ins.toml", p, body), quiet=True)
    assert res.status == "done"
    assert res.si_end == n_si
    assert res.li_end == int(np.ceil(0.4 * n_si - 1e-9)) == res.n_inserted
    ev = read_csv(tmp_path / "ins" / "events.csv")
    assert len(ev) == res.n_inserted and {e["event"] for e in ev} == {"insert"}
    final = ase.io.read(tmp_path / "ins" / "final.extxyz")
    assert final.get_chemical_symbols().count("Li") == res.li_end


# ---- checkpoint / resume / signals -----------------------------------------------------------
KILL_BODY = """
[[stages]]
type = "equilibrate"
time_ps = 0.02
[[stages]]
type = "extract"
selector = "random"
x_final = 1.0
interval_ps = 0.05
batch = 5
[[stages]]
type = "hold"
time_ps = 0.02
"""


def _wait_for(pred, timeout=120.0, proc=None):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def _n_lines(path: Path) -> int:
    try:
        return sum(1 for _ in open(path)) - 1
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_sigkill_then_resume_matches_uninterrupted(particle, tmp_path):
    ref = run(toml(tmp_path / "ref.toml", particle, KILL_BODY), quiet=True)
    cfg = toml(tmp_path / "k.toml", particle, KILL_BODY)
    rd = RunDir(tmp_path / "k")
    proc = subprocess.Popen(DEALLOY + ["run", str(cfg), "--quiet"])
    # kill after the first checkpoint and some events past it
    assert _wait_for(lambda: (rd.checkpoint_dir / "state.json").is_file()
                     and _n_lines(rd.events_csv) >= 60, proc=proc), "run ended before the kill"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert rd.status == "running"
    out = subprocess.run(DEALLOY + ["run", str(cfg), "--resume", "--quiet"], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    res = rd.record()
    assert res.status == "done"
    for key in ("n_removed", "n_batches", "li_end", "si_end"):
        assert getattr(res, key) == getattr(ref, key), key
    ev = read_csv(rd.events_csv)
    ev_ref = read_csv(tmp_path / "ref" / "events.csv")
    assert len(ev) == len(ev_ref)
    assert [e["time_ps"] for e in ev] == [e["time_ps"] for e in ev_ref]  # same schedule
    assert [e["id"] for e in ev] == [e["id"] for e in ev_ref]  # same random stream (random)
    t = [float(r["time_ps"]) for r in read_csv(rd.thermo_csv)]
    assert t == sorted(t) and len(set(t)) == len(t)  # no duplicated rows after the resume
    frames = ase.io.read(rd.trajectory, index=":", format="lammps-dump-text")
    frames_ref = ase.io.read(tmp_path / "ref" / "traj.lammpstrj.gz", index=":",
                             format="lammps-dump-text")
    assert [len(f) for f in frames] == [len(f) for f in frames_ref]

    def times(path):  # ITEM: TIME = simulated ps, also across the resume
        import gzip

        lines = gzip.open(path, "rt").read().splitlines()
        return [float(lines[i + 1]) for i, ln in enumerate(lines) if ln.strip() == "ITEM: TIME"]

    t_res, t_ref = times(rd.trajectory), times(tmp_path / "ref" / "traj.lammpstrj.gz")
    assert t_res == pytest.approx(t_ref) and t_res[-1] == pytest.approx(res.time_ps)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGUSR1, signal.SIGINT],
                         ids=["TERM", "USR1", "INT"])
def test_sigterm_writes_checkpoint_and_status(particle, tmp_path, sig):
    body = """
[[stages]]
type = "equilibrate"
time_ps = 0.8
"""
    cfg = toml(tmp_path / "t.toml", particle, body)
    rd = RunDir(tmp_path / "t")
    proc = subprocess.Popen(DEALLOY + ["run", str(cfg), "--quiet"])
    assert _wait_for(lambda: _n_lines(rd.thermo_csv) >= 3, proc=proc)
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == EXIT_CHECKPOINTED
    info = rd.record()
    assert info.status == "checkpointed" and 0 < info.time_ps < 0.8
    state = json.loads((rd.checkpoint_dir / "state.json").read_text())
    assert state["md_step"] == round(info.time_ps / 0.001)
    # the checkpoint holds each atom's own velocity: its kinetic temperature is the thermo one
    with np.load(rd.checkpoint_dir / state["atoms_file"]) as z:
        m = np.where(z["types"] == 1, 6.941, 28.086)
        ke_ev = 0.5 * (m[:, None] * z["v"] ** 2).sum() * 1.0364269e-4
        t_ckpt = 2 * ke_ev / ((3 * len(m) - 3) * 8.617333e-5)
    row = [r for r in read_csv(rd.thermo_csv) if float(r["time_ps"]) == info.time_ps]
    assert row and t_ckpt == pytest.approx(float(row[0]["temperature_k"]), rel=1e-3)
    # without --resume the checkpoint is protected
    out = subprocess.run(DEALLOY + ["run", str(cfg)], capture_output=True, text=True)
    assert out.returncode == 2 and "--resume" in out.stderr
    # resumed on 2 ranks after 1 (USR1 case): a checkpoint moves between rank counts, and the
    # core time counts each segment at its own ranks
    wall_ckpt = state["wall_s"]
    stage_ckpt = state["stage"]["wall_s"]  # the interrupted stage's wall time up to the checkpoint
    assert 0 < stage_ckpt <= wall_ckpt
    ranks = 2 if sig == signal.SIGUSR1 and shutil.which("mpiexec") else 1
    launch = ["mpiexec", "-n", "2"] if ranks == 2 else []
    out = subprocess.run(launch + DEALLOY + ["run", str(cfg), "--resume", "-q"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    info = rd.record()
    assert info.status == "done" and info.time_ps == pytest.approx(0.8)
    assert info.ranks == ranks and state["core_s"] == pytest.approx(wall_ckpt)
    assert info.core_time_s == pytest.approx(
        wall_ckpt + ranks * (info.wall_time_s - wall_ckpt), abs=0.01)
    # the resumed stage's wall time counts both segments
    assert info.stages[state["stage_index"]].wall_s > stage_ckpt
    t = [float(r["time_ps"]) for r in read_csv(rd.thermo_csv)]
    assert t == sorted(t) and len(set(t)) == len(t) and t[-1] == pytest.approx(0.8)


@pytest.mark.slow
@pytest.mark.mpi
def test_two_ranks_end_at_same_composition_as_one(particle, tmp_path):
    if shutil.which("mpiexec") is None:
        pytest.skip("no mpiexec")
    body = EXTRACT.format(selector="surface", x_final=2.0, batch=20)
    one = run(toml(tmp_path / "one.toml", particle, body), quiet=True)
    cfg = toml(tmp_path / "two.toml", particle, body)
    out = subprocess.run(["mpiexec", "-n", "2"] + DEALLOY + ["run", str(cfg), "-q"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    two = RunDir(tmp_path / "two").record()
    assert two.status == "done" and two.ranks == 2
    for key in ("li_end", "si_end", "n_removed"):
        assert getattr(two, key) == getattr(one, key)
    ev = read_csv(tmp_path / "two" / "events.csv")
    assert len(ev) == two.n_removed  # rank 0 wrote each event once


def test_ctrl_c_asks_for_a_checkpoint_and_twice_aborts():
    """The first SIGINT is a stop request (like SIGTERM); the second raises KeyboardInterrupt."""
    from dealloy.engine.signals import StopSignals

    before = signal.getsignal(signal.SIGINT)  # Python's default handler, or SIG_IGN when the
    sig = StopSignals()                       # suite was started in the background by a shell
    sig.install()
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs in the main thread at the next bytecode
        assert sig.signum == signal.SIGINT
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
    finally:
        sig.restore()
    assert signal.getsignal(signal.SIGINT) is before  # restore puts back what was there


def test_an_interrupted_build_or_run_says_so_in_run_json(particle, tmp_path, monkeypatch):
    """KeyboardInterrupt (Ctrl-C twice) leaves run.json 'failed' and saying why, not 'running'."""
    import dealloy.engine.run as R
    from dealloy.builders.checkpoint import current_control

    def build_then_interrupt(cfg, comm=None):
        current_control().on_save()  # a build checkpoint: run.json announces the build
        raise KeyboardInterrupt

    monkeypatch.setattr(R, "build_particle", build_then_interrupt)
    cfg = toml(tmp_path / "b.toml", particle, "")
    cfg.write_text(cfg.read_text().replace(
        f'file = "{particle}"', 'builder = "li15si4_particle"\n[particle.args]\ndiameter_nm = 2.2'))
    with pytest.raises(KeyboardInterrupt):
        run(cfg, run_dir=tmp_path / "b", quiet=True)
    rec = RunDir(tmp_path / "b").record()
    assert rec.status == "failed" and "interrupted" in rec.error and "--resume" in rec.error
    monkeypatch.undo()

    monkeypatch.setattr(R.Engine, "_protocol", lambda self: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        run(toml(tmp_path / "m.toml", particle, ""), run_dir=tmp_path / "m", quiet=True)
    rec = RunDir(tmp_path / "m").record()
    assert rec.status == "failed" and "interrupted" in rec.error


# ---- failures ---------------------------------------------------------------------------------
def test_detached_atom_fails_loudly_unless_allowed(particle, tmp_path):
    a = ase.io.read(particle)
    a += ase.Atoms("Li", positions=[a.positions.max(0) + 6.0])
    p = tmp_path / "stray.extxyz"
    ase.io.write(p, a)
    body = '[[stages]]\ntype = "hold"\ntime_ps = 0.01\n'
    # issue 16: an atom far outside the particle is refused before LAMMPS starts ...
    with pytest.raises(ConfigError, match=r"1 atom\(s\) lie far outside the particle"):
        run(toml(tmp_path / "f.toml", p, body), quiet=True)
    rd = RunDir(tmp_path / "f")
    assert rd.status == "failed" and rd.record().before_md
    assert not rd.lammps_log.exists()
    # ... unless atom loss is allowed: then MD detects it as detached and reports it lost
    res = run(toml(tmp_path / "ok.toml", p, body, allow_atom_loss=True), quiet=True)
    assert res.status == "done" and res.n_lost == {"Li": 1, "Si": 0}
    assert res.si_end == res.si_start


def test_lammps_error_names_the_stage(particle, tmp_path, monkeypatch):
    from dealloy.engine import run as run_mod

    def bad_thermostat(self, t0, t1):
        self.cmd("fix dealloy_th all langevin 300 300 -1 1")  # LAMMPS rejects the damping
        return ["dealloy_th"]

    monkeypatch.setattr(run_mod.Engine, "_thermostat", bad_thermostat)
    body = '[[stages]]\ntype = "minimize"\nmaxiter = 5\n[[stages]]\ntype = "equilibrate"\n'
    with pytest.raises(SimulationError) as exc:
        run(toml(tmp_path / "e.toml", particle, body), quiet=True)
    msg = str(exc.value)
    assert "stage 2/2 (equilibrate)" in msg and "ERROR" in msg and "langevin" in msg
    assert RunDir(tmp_path / "e").status == "failed"


# ---- bad input: caught before LAMMPS, naming the key ------------------------------------------
BAD = [
    ({"stages": [{"type": "extrat"}]}, "stages[0]: unknown stage type 'extrat'"),
    ({"stages": [{"type": "extract", "selector": "core"}]}, "stages[0].selector (extract stage)"),
    ({"potential": "meam-foo"}, "unknown potential 'meam-foo'"),
    ({"stages": [{"type": "extract", "interval_ps": 0}]}, "stages[0].interval_ps"),
    ({"stages": [{"type": "extract", "rate_li_per_ps": -2}]}, "stages[0].rate_li_per_ps"),
    ({"stages": [{"type": "extract", "rate_fraction_per_ns": 0}]}, "rate_fraction_per_ns"),
    ({"stages": [{"type": "hold", "time_ps": -1}]}, "stages[0].time_ps (hold stage)"),
    ({"stages": [{"type": "extract", "batch": 0}]}, "stages[0].batch"),
    ({"checkpoint_ps": 0}, "checkpoint_ps"),
    ({"temprature_k": 300}, "temprature_k: unknown key"),
    ({"stages": [{"type": "hold", "tme_ps": 3}]}, "stages[0].tme_ps (hold stage): unknown key"),
    ({"stages": [{"type": "extract", "batch": 3, "rate_li_per_ps": 1}]}, "only one of"),
    ({"stages": [{"type": "insert"}]}, "stages[0].x_final (insert stage): required"),
    ({"particle": {"file": "a.xyz", "builder": "si_particle"}}, "exactly one of particle.file"),
    ({"stages": []}, "stages is empty"),
]


@pytest.mark.parametrize("patch,expect", BAD, ids=[b[1][:30] for b in BAD])
def test_bad_config_names_the_key(patch, expect):
    data = {"particle": {"file": "p.extxyz"}, **patch}
    with pytest.raises(ConfigError) as exc:
        parse_run_config(data)
    assert expect in str(exc.value)


def _no_lammps_started(rd: Path):
    assert not (rd / "lammps.log").exists()


def test_missing_structure_file(tmp_path):
    cfg = tmp_path / "m.toml"
    cfg.write_text('[particle]\nfile = "nope.extxyz"\n')
    with pytest.raises(ConfigError, match=r"particle.file: .*nope.extxyz"):
        run(cfg, quiet=True)
    _no_lammps_started(tmp_path / "m")
    info = RunDir(tmp_path / "m").record()
    assert info.status == "failed" and "nope.extxyz" in info.error


def test_x_final_not_below_start_and_no_li(particle, tmp_path):
    cfg = toml(tmp_path / "a.toml", particle, EXTRACT.format(selector="surface", x_final=3.9,
                                                              batch=5))
    with pytest.raises(ConfigError, match=r"stages\[2\] \(extract stage\)\.x_final = 3\.9 is not "
                                          r"below the starting x"):
        run(cfg, quiet=True)
    _no_lammps_started(tmp_path / "a")
    si = ase.Atoms("Si8", positions=np.random.default_rng(0).random((8, 3)) * 6)
    p = tmp_path / "si.extxyz"
    ase.io.write(p, si)
    cfg = toml(tmp_path / "b.toml", p, EXTRACT.format(selector="surface", x_final=0, batch=5))
    with pytest.raises(ConfigError, match="no Li to extract"):
        run(cfg, quiet=True)
    c = parse_run_config({"particle": {"file": "x"},
                          "stages": [{"type": "insert", "x_final": 1.0}]})
    with pytest.raises(ConfigError, match=r"stages\[0\] \(insert stage\)\.x_final = 1.0 is not above"):
        check_protocol(c, 300, 100)


def test_unknown_builder_and_bad_builder_args(tmp_path):
    cfg = tmp_path / "u.toml"
    cfg.write_text('[particle]\nbuilder = "li15si4_blob"\n')
    with pytest.raises(ConfigError, match=r"particle.builder: .*li15si4_blob"):
        run(cfg, quiet=True)
    cfg.write_text('[particle]\nbuilder = "si_particle"\nargs = { diameter = 2.0 }\n')
    with pytest.raises(ConfigError, match=r"particle.args"):
        run(cfg, quiet=True)


def test_cli_bad_input_is_one_clear_line(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('temperature = 300\n[particle]\nfile = "p.extxyz"\n')
    out = subprocess.run(DEALLOY + ["run", str(cfg)], capture_output=True, text=True)
    assert out.returncode == 2
    assert "temperature: unknown key" in out.stderr and "Traceback" not in out.stderr


def test_quickstart_configs_validate_and_table():
    from dealloy.builders import BUILDERS
    from dealloy import quickstart as qs

    for name, spec in qs.PARTICLES.items():
        cfg = parse_run_config(qs.run_config(name))
        assert cfg.particle.builder in BUILDERS
    summary = {"diameter_nm": 4.0, "ranks": 2, "wall_time_s": 1.0, "particles": {
        n: {"atoms_start": 2000, "n_si": 400, "x_start": 3.75, "x_end": 0.1, "li_removed": 1460,
            "time_ps": 30.0, "si_si_cn": 3.1, "largest_si_cluster": 0.9, "porosity": None,
            "stop": "x_final reached"} for n in qs.PARTICLES}}
    md = qs._table(summary)
    assert "c-Li15Si4" in md and "a-Li15Si4" in md and "n/a" in md


def test_resume_refuses_a_changed_config(particle, tmp_path):
    body = '[[stages]]\ntype = "hold"\ntime_ps = 0.01\n'
    cfg = toml(tmp_path / "c.toml", particle, body)
    assert run(cfg, quiet=True).status == "done"
    assert run(cfg, quiet=True, resume=True).status == "done"  # nothing to do
    toml(tmp_path / "c.toml", particle, body, seed=4)
    with pytest.raises(ConfigError, match=r"config changed since the checkpoint \(seed\)"):
        run(cfg, quiet=True, resume=True)
    with pytest.raises(ConfigError, match="already holds a run"):
        run(cfg, quiet=True)
    assert run(cfg, quiet=True, overwrite=True).seed == 4


def test_resume_follows_a_moved_particle_file(particle, tmp_path):
    """A run's particle file moved (a repository or data folder moved): the same bytes, or a
    file that gives the run's starting structure again, resume; another structure is refused."""
    import shutil

    body = '[[stages]]\ntype = "hold"\ntime_ps = 0.01\n'
    first = tmp_path / "a" / "p.extxyz"
    first.parent.mkdir()
    shutil.copy(particle, first)
    cfg = toml(tmp_path / "c.toml", first, body)
    assert run(cfg, quiet=True).status == "done"
    copy = tmp_path / "b" / "p.extxyz"  # same bytes elsewhere, the first one still there
    copy.parent.mkdir()
    shutil.copy(first, copy)
    toml(cfg, copy, body)
    assert run(cfg, quiet=True, resume=True).status == "done"
    # the first file gone; the new one is written anew (other bytes), same structure
    first.unlink()
    atoms = ase.io.read(copy)
    atoms.info["note"] = "moved"
    moved = tmp_path / "elsewhere" / "p.extxyz"
    moved.parent.mkdir()
    ase.io.write(moved, atoms)
    assert moved.read_bytes() != copy.read_bytes()
    toml(cfg, moved, body)
    assert run(cfg, quiet=True, resume=True).status == "done"
    # another structure under the moved name: a changed simulation
    atoms.positions[0] += 0.1
    ase.io.write(moved, atoms)
    with pytest.raises(ConfigError, match=r"config changed since the checkpoint \(particle\)"):
        run(cfg, quiet=True, resume=True)


@pytest.mark.parametrize("rate,expect", [("rate_li_per_ps = 150.0", 15),
                                         ("rate_fraction_per_ns = 500.0", 10)])
def test_rates_and_max_time(particle, tmp_path, rate, expect):
    # 5 intervals of 0.02 ps: 3 Li each at 150 Li/ps; 500/ns x 211 Li x 0.02 ps = 2.11 Li each,
    # the fractions carried over -> floor(5 x 2.11) = 10
    body = f"""
[[stages]]
type = "extract"
selector = "random"
x_final = 0.0
interval_ps = 0.02
{rate}
max_time_ps = 0.1
"""
    res = run(toml(tmp_path / "r.toml", particle, body), quiet=True)
    assert res.n_removed == expect
    st = res.stages[0]
    assert st.stop_reason == "max_time_ps reached" and st.warning is not None
    assert res.time_ps == pytest.approx(0.1)


def test_anneal_with_nose_hoover(particle, tmp_path):
    body = """
[[stages]]
type = "anneal"
temperature_start_k = 300
temperature_end_k = 900
time_ps = 0.1
"""
    res = run(toml(tmp_path / "a.toml", particle, body, thermostat="nose-hoover",
                   dump_interval_ps=0.0), quiet=True)
    assert res.status == "done" and res.time_ps == pytest.approx(0.1)
    frames = ase.io.read(tmp_path / "a" / "traj.lammpstrj.gz", index=":",
                         format="lammps-dump-text")
    assert len(frames) == 2  # dump_interval_ps = 0: first and last frame only
    th = read_csv(tmp_path / "a" / "thermo.csv")
    assert {r["stage"] for r in th} == {"anneal"} and len(th) == 5
    log = (tmp_path / "a" / "lammps.log").read_text()
    assert "fix dealloy_th all nvt temp 300.0 900.0" in log and "start 0 stop 100" in log

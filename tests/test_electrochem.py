"""Electrochemical extraction (potentiostatic / galvanostatic) with real LAMMPS (meam-godet2020)."""

from __future__ import annotations

import csv
import json
import math
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import ase.io
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from dealloy.config.run import parse_run_config
from dealloy.engine.electrochem import (KB_EV, SinglePoints, cheapest_removals,
                                       li_bcc_chemical_potential_ev, potentiostatic_sweep,
                                       removal_voltage_v)
from dealloy.engine.particles import li15si4_sphere
from dealloy.engine.run import run
from dealloy.engine.selectors import removal_candidates
from dealloy.lammps.session import LammpsSession
from dealloy.errors import ConfigError
from dealloy.lammps.potentials import get_potential, potentials_dir
from dealloy.rundir import RunDir
from test_engine import _n_lines

DEALLOY = [sys.executable, "-m", "dealloy.cli"]
POT = "meam-godet2020"


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A 1.6 nm c-Li15Si4 sphere (108 Li + 24 Si)."""
    p = tmp_path_factory.mktemp("ec") / "c.extxyz"
    ase.io.write(p, li15si4_sphere(8.0))
    return p


def toml(path: Path, particle: Path, body: str, **top) -> Path:
    head = "\n".join(f"{k} = {json.dumps(v)}" for k, v in {
        "seed": 3, "potential": POT, "dump_interval_ps": 0.1, "thermo_interval_ps": 0.05,
        "checkpoint_ps": 0.1, **top}.items())
    path.write_text(f'{head}\n[particle]\nfile = "{particle}"\n{body}')
    return path


def read_csv(path: Path) -> list[dict]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def dump_frames(path: Path):
    """(TIME ps, ids, elements, positions) of every frame of a dealloy trajectory."""
    from dealloy.engine.recorder import _read_tolerant, complete_frames

    for _, text in complete_frames(_read_tolerant(Path(path))):
        lines = text.splitlines()
        t = float(lines[lines.index("ITEM: TIME") + 1])
        k = next(i for i, ln in enumerate(lines) if ln.startswith("ITEM: ATOMS"))
        cols = lines[k].split()[2:]
        rows = [ln.split() for ln in lines[k + 1:]]
        ids = np.array([int(r[cols.index("id")]) for r in rows])
        el = np.array([r[cols.index("element")] for r in rows])
        pos = np.array([[float(r[cols.index(c)]) for c in "xyz"] for r in rows])
        yield t, ids, el, pos


# ---- bad input: one line per problem, before any MD ------------------------------------------
BASE = {"particle": {"builder": "li15si4_particle", "args": {"diameter_nm": 3.0}}}


@pytest.mark.parametrize("stage, needle", [
    ({"type": "potentiostatic", "voltage_v": 3.5, "time_ps": 1}, "voltage_v = 3.5 V is outside [-0.5, 3]"),
    ({"type": "potentiostatic", "schedule": [{"voltage_start_v": -0.7, "time_ps": 1}]},
     "voltage_start_v = -0.7 V is outside"),
    ({"type": "galvanostatic", "cutoff_voltage_v": 4.0}, "cutoff_voltage_v = 4.0 V is outside"),
    ({"type": "potentiostatic", "schedule": [{"voltage_start_v": 0.2, "voltage_end_v": 0.8,
                                              "sweep_rate_mv_per_ps": -5}]},
     "never reaches voltage_end_v = 0.8"),
    ({"type": "potentiostatic", "voltage_v": 0.4}, "voltage_v needs time_ps"),
    ({"type": "galvanostatic", "cv_time_ps": 5}, "cv_time_ps (the constant-voltage hold) needs "
                                                 "cutoff_voltage_v"),
    ({"type": "potentiostatic", "voltage_v": 0.4, "time_ps": 1, "selector": "surface"},
     "selector (potentiostatic stage): does not apply"),
    ({"type": "potentiostatic", "voltage_v": 0.4, "time_ps": 1, "batch": 3},
     "batch (potentiostatic stage): does not apply"),
    ({"type": "galvanostatic", "reinsertion": True}, "reinsertion (galvanostatic stage): does not"),
    ({"type": "extract", "voltage_v": 0.4}, "voltage_v (extract stage): does not apply"),
    ({"type": "galvanostatic", "accessible": "all", "surface_depth_angstrom": 2.0},
     "surface_depth_angstrom only apply to accessible = 'surface'"),
    ({"type": "galvanostatic", "tfmc_delta_angstrom": 0.2}, "tfmc_steps_per_interval = 0"),
    ({"type": "galvanostatic", "anneal_every_ps": 5}, "anneal windows need all of"),
    ({"type": "galvanostatic", "batch": 1, "rate_li_per_ps": 2.0}, "give only one of batch"),
])
def test_bad_electrochemical_input_is_one_line_at_load(stage, needle):
    with pytest.raises(ConfigError) as exc:
        parse_run_config({**BASE, "stages": [stage]})
    lines = str(exc.value).splitlines()
    assert len(lines) == 2, lines  # header + exactly one problem line
    assert needle in lines[1], lines[1]
    assert lines[1].lstrip().startswith("- stages[0]")


@pytest.mark.parametrize("stage", [
    {"type": "potentiostatic", "voltage_v": 0.4, "time_ps": 5, "accessible": "all"},
    {"type": "potentiostatic", "schedule": [{"voltage_start_v": 0.1, "voltage_end_v": 0.5,
                                             "sweep_rate_mv_per_ps": 10}], "reinsertion": True},
    {"type": "galvanostatic", "rate_li_per_ps": 2.0, "accessible": "all"},
    {"type": "galvanostatic", "cutoff_voltage_v": 0.9, "cv_time_ps": 5, "tfmc_steps_per_interval": 3,
     "anneal_every_ps": 5, "anneal_window_ps": 1, "anneal_temperature_k": 500},
])
def test_resolved_config_loads_again(stage, tmp_path):
    # <run>/config.toml writes every default explicitly; re-running or resuming reads it back
    from dealloy.config.run import dump_run_config, load_run_config

    cfg = parse_run_config({**BASE, "stages": [stage]})
    (tmp_path / "config.toml").write_text(dump_run_config(cfg))
    again = load_run_config(tmp_path / "config.toml")
    assert again.stages[0] == cfg.stages[0]


def test_schedule_voltage_and_duration():
    cfg = parse_run_config({**BASE, "stages": [{"type": "potentiostatic", "schedule": [
        {"voltage_start_v": 0.1, "time_ps": 2.0},
        {"voltage_start_v": 0.1, "voltage_end_v": 0.7, "sweep_rate_mv_per_ps": 100.0},
        {"voltage_start_v": 0.7, "time_ps": 1.0}]}]})
    st = cfg.stages[0]
    assert st.duration_ps() == pytest.approx(2.0 + 6.0 + 1.0)
    assert st.voltage_at(1.0) == 0.1
    assert st.voltage_at(5.0) == pytest.approx(0.4)
    assert st.voltage_at(8.5) == pytest.approx(0.7)


def test_mu_li_bcc_is_the_validated_reference():
    # potentials/validation/amorphous.json: mu_li_ev of the same potential (box-relaxed bcc Li)
    ref = json.loads((potentials_dir() / "validation" / "amorphous.json").read_text())
    mu_ref = next(e["mu_li_ev"] for e in ref["amorphous"] if e["potential"] == POT)
    assert li_bcc_chemical_potential_ev(get_potential(POT)) == pytest.approx(mu_ref, abs=2e-4)


def test_potential_without_bound_li_fails_before_md(small, tmp_path, monkeypatch):
    # a copy of the shipped files with bcc Li made unbound (negative cohesive energy)
    d = tmp_path / "pots"
    shutil.copytree(potentials_dir(), d, ignore=shutil.ignore_patterns("validation"))
    lib = d / "library.meam.godet2020"
    lines = lib.read_text().splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.startswith("'Li'")) + 1
    parts = lines[i].split()
    parts[6] = "-1.65"  # esub: the cohesive energy of the reference bcc lattice
    lines[i] = " ".join(parts)
    lib.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("DEALLOY_POTENTIALS_DIR", str(d))
    cfg = toml(tmp_path / "u.toml", small, """
[[stages]]
type = "potentiostatic"
voltage_v = 0.4
time_ps = 0.2
""")
    with pytest.raises(ConfigError, match=r"mu_Li\(bcc\) cannot be computed \(bcc Li is not bound"):
        run(cfg, quiet=True)
    rd = RunDir(tmp_path / "u")
    info = rd.record()
    assert info.status == "failed" and info.before_md
    assert not rd.thermo_csv.exists() and not rd.trajectory.exists()


# ---- far above / far below the extraction voltage ------------------------------------------------
SINGLE_PASS = """
[[stages]]
type = "potentiostatic"
voltage_v = {u}
time_ps = 0.1
interval_ps = 0.1
attempts_per_interval = 0
"""


@pytest.mark.parametrize("u, all_leave", [(3.0, True), (-0.5, False)])
def test_far_above_every_accessible_li_leaves_far_below_none(small, tmp_path, u, all_leave):
    cfg = toml(tmp_path / "p.toml", small, SINGLE_PASS.format(u=u))
    res = run(cfg, quiet=True)
    rd = RunDir(tmp_path / "p")
    assert res.status == "done" and res.si_end == res.si_start == 24
    ev = read_csv(rd.events_csv)
    assert ev and {e["time_ps"] for e in ev} == {"0.1"}
    # the electrolyte-accessible Li of the frame the pass started from (dumped at 0.1 ps,
    # before the pass)
    t, ids, el, pos = next(f for f in dump_frames(rd.trajectory) if f[0] == pytest.approx(0.1))
    cand = removal_candidates("surface", pos, el == "Li")
    accessible = {int(i) for i in ids[cand]}
    assert 20 < len(accessible) < 108
    assert {int(e["id"]) for e in ev} == accessible  # every accessible Li tried exactly once
    assert len(ev) == len(accessible)
    for e in ev:
        u_rem = float(e["delta_e_ev"]) + res.electrochem.mu_li_bcc_ev
        assert float(e["voltage_v"]) == u
        if all_leave:
            assert e["event"] == "remove" and e["accepted"] == "1" and u_rem < u
        else:
            assert e["event"] == "reject-remove" and e["accepted"] == "0" and u_rem > u
    moves = res.electrochem.moves.remove
    assert moves.model_dump() == {"accepted": len(ev) if all_leave else 0,
                     "rejected": 0 if all_leave else len(ev)}
    assert res.li_end == 108 - (len(accessible) if all_leave else 0)
    assert res.n_removed == moves.accepted


# ---- galvanostatic: the recorded ΔE is an exact single-point difference -----------------------------
def _energy(atoms, pot) -> float:
    with LammpsSession(atoms, pot) as s:
        return s.potential_energy_ev()


@pytest.mark.parametrize("name, radius_angstrom", [(POT, 8.0), ("pod-lisi-7net", 13.0)])
def test_galvanostatic_delta_e_equals_independent_single_points(name, radius_angstrom):
    # pod-lisi-7net on a 2.6 nm sphere: most removal energies come from the small second
    # instance (LocalEnergies), which used to open with one lone Li that the ML-POD guard
    # refuses (lammps/lammps#5114): every galvanostatic ML-POD run failed at its first interval
    pot = get_potential(name)
    mu = li_bcc_chemical_potential_ev(pot)
    atoms = li15si4_sphere(radius_angstrom)
    with LammpsSession(atoms, pot) as s:
        s.minimize(maxiter=200)
        relaxed = s.get_atoms(velocities=False)
        ids = s.gather("id", 0, 1).astype(int)
        x, v = s.gather("x", 1, 3), s.gather("v", 1, 3)
        img = s.gather("image", 0, 1).astype(int)
        types = s.gather("type", 0, 1).astype(int)
        table = {int(i): (x[k], v[k], int(img[k])) for k, i in enumerate(ids)}
        cand = [int(i) for i in ids[removal_candidates("surface", x, types == 1)]]
        with SinglePoints(s) as sp:
            moves, cut = cheapest_removals(sp, cand, table, 3, mu, 2 * pot.cutoff_angstrom + 0.5)
            n_local = sp.n_local_evaluations
    assert len(moves) == 3 and not cut
    assert n_local > 0 or name == POT  # the ML-POD case goes through the local instance
    # independent: fresh LAMMPS sessions on ASE structures with and without each removed Li
    current = relaxed.copy()
    for m in moves:
        keep = current.arrays["id"] != m.atom_id
        de = _energy(current[keep], pot) - _energy(current, pot)
        assert m.delta_e_ev == pytest.approx(de, abs=1e-6)
        assert m.voltage_v == pytest.approx(removal_voltage_v(de, mu), abs=1e-6)
        current = current[keep]
    # and the first removal was the cheapest of all accessible Li
    e0 = _energy(relaxed, pot)
    others = [_energy(relaxed[relaxed.arrays["id"] != i], pot) - e0 for i in cand[:40]]
    assert moves[0].delta_e_ev <= min(others) + 1e-6
    assert moves[0].delta_e_ev <= moves[1].delta_e_ev + 0.5  # sanity: removal costs stay close


def test_reaxff_galvanostatic_delta_e_equals_independent_single_points(small, reaxff_ffield):
    """ReaxFF: every Li of the sphere a candidate, two removals (108 + 107 delete/re-create
    cycles in one session, every candidate re-evaluated after a removal: charge equilibration
    has no finite reach). Each recorded ΔE equals the difference of two fresh LAMMPS sessions.
    Before ReaxFF's pair style was re-created after each create_atoms
    (Potential.after_create_commands), LAMMPS stopped here with "bondchk failed": a re-created
    interior Li inherited the bond-list slot of a poorly bonded atom."""
    pot = get_potential("reaxff", ffield=reaxff_ffield)
    mu = -1.9  # any reference: it shifts every voltage alike
    atoms = ase.io.read(small)
    atoms.arrays["id"] = np.arange(1, len(atoms) + 1)
    with LammpsSession(atoms, pot) as s:
        start = s.get_atoms(velocities=False)
        ids = s.gather("id", 0, 1).astype(int)
        x, v = s.gather("x", 1, 3), s.gather("v", 1, 3)
        img = s.gather("image", 0, 1).astype(int)
        types = s.gather("type", 0, 1).astype(int)
        table = {int(i): (x[k], v[k], int(img[k])) for k, i in enumerate(ids)}
        cand = [int(i) for i in ids[types == 1]]
        with SinglePoints(s) as sp:
            moves, cut = cheapest_removals(sp, cand, table, 2, mu, 2 * pot.cutoff_angstrom + 0.5)
            n_eval = sp.n_evaluations
            e_left = sp.energy_ev()
    assert len(moves) == 2 and not cut
    assert n_eval >= 1 + 108 + 107  # every candidate evaluated, and again after the removal
    current = start.copy()
    for m in moves:
        keep = current.arrays["id"] != m.atom_id
        de = _energy(current[keep], pot) - _energy(current, pot)
        assert m.delta_e_ev == pytest.approx(de, abs=1e-6)
        assert m.voltage_v == pytest.approx(removal_voltage_v(de, mu), abs=1e-6)
        current = current[keep]
    assert e_left == pytest.approx(_energy(current, pot), abs=1e-6)  # nothing else changed


REAXFF_STAGES = """
[[stages]]
type = "potentiostatic"
voltage_v = 1.0
time_ps = 0.02
interval_ps = 0.01
accessible = "all"
reinsertion = true
[[stages]]
type = "galvanostatic"
batch = 1
interval_ps = 0.01
max_time_ps = 0.02
accessible = "all"
"""


def test_reaxff_potentiostatic_and_galvanostatic_stages_run(small, tmp_path, reaxff_ffield):
    """Both electrochemical modes with ReaxFF through the engine, every Li accessible (interior
    Li re-created after rejected removals: LAMMPS stopped with "bondchk failed" in the first
    interval before Potential.after_create_commands). Every move is in events.csv and counted."""
    cfg = toml(tmp_path / "r.toml", small, REAXFF_STAGES, potential="reaxff",
               ffield=str(reaxff_ffield), dump_interval_ps=0.01, checkpoint_ps=0.01)
    res = run(cfg, quiet=True)
    assert res.status == "done" and res.si_end == res.si_start == 24
    ev = read_csv(RunDir(tmp_path / "r").events_csv)
    pot = [e for e in ev if e["stage"] == "potentiostatic"]
    gal = [e for e in ev if e["stage"] == "galvanostatic"]
    assert {e["time_ps"] for e in pot} == {"0.01", "0.02"} and len(gal) == 2
    mv = res.electrochem.moves
    assert (mv.remove.accepted + mv.remove.rejected + mv.insert.accepted + mv.insert.rejected
            == len(ev))
    assert sum(e["event"] == "reject-remove" for e in pot) > 0  # restores happened
    mu = res.electrochem.mu_li_bcc_ev
    for e in gal:
        assert float(e["voltage_v"]) == pytest.approx(float(e["delta_e_ev"]) + mu, abs=1e-6)
    assert res.li_end == 108 - res.n_removed + res.n_inserted


# ---- detailed balance: two Li sites in c-Si, Boltzmann occupations ----------------------------------
def test_metropolis_samples_the_grand_canonical_distribution():
    pot = get_potential(POT)
    mu_bcc = li_bcc_chemical_potential_ev(pot)
    si = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    sites = np.array([[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]) * 5.431
    sites[0] += [0, 0, 0]  # tetrahedral interstitial (Td) at (1/2,1/2,1/2) a
    sites[1] = np.array([0.5, 0.5, 0.5]) * 5.431 + np.array([5.431, 5.431, 0.0])  # a second Td
    sites[1] += [0.25, -0.1, 0.15]  # displaced: a different energy
    li_ids = [65, 66]

    def structure(occ):
        a = si.copy()
        for k, o in enumerate(occ):
            if o:
                a += Atoms("Li", positions=[sites[k]])
        return a

    energies = {occ: _energy(structure(occ), pot) for occ in
                ((0, 0), (1, 0), (0, 1), (1, 1))}
    u1 = energies[(0, 1)] + mu_bcc - energies[(1, 1)]
    u2 = energies[(1, 0)] + mu_bcc - energies[(1, 1)]
    voltage = 0.5 * (u1 + u2)
    t_k = max(300.0, abs(u1 - u2) / (1.2 * KB_EV))  # both sites partly occupied
    omega = {occ: e - sum(occ) * (mu_bcc - voltage) for occ, e in energies.items()}
    w = {occ: math.exp(-(o - min(omega.values())) / (KB_EV * t_k)) for occ, o in omega.items()}
    z = sum(w.values())
    exact = {occ: w[occ] / z for occ in w}
    assert min(exact.values()) > 0.05, exact

    start = structure((1, 1))
    start.arrays["id"] = np.arange(1, len(start) + 1)
    rng = np.random.default_rng(7)
    counts = {occ: 0 for occ in exact}
    n_sweeps = 2500
    with LammpsSession(start, pot) as s:
        occ_id = {0: 65, 1: 66}
        next_id = 67
        zero = np.zeros(3)
        with SinglePoints(s) as sp:
            for _ in range(n_sweeps):
                occupied = [i for i in occ_id.values() if i is not None]
                table = {}
                for k, i in occ_id.items():
                    if i is not None:
                        table[i] = (sites[k], zero, 0)
                vac = [sites[k] for k, i in occ_id.items() if i is None]
                moves, next_id = potentiostatic_sweep(
                    sp, occupied, table, vac, voltage, mu_bcc, t_k, rng, None, next_id,
                    lambda r: zero)
                for m in moves:
                    if not m.accepted:
                        continue
                    k = int(np.argmin(np.linalg.norm(sites - m.position, axis=1)))
                    occ_id[k] = None if m.kind == "remove" else m.atom_id
                state = tuple(int(occ_id[k] is not None) for k in (0, 1))
                counts[state] += 1
            assert sp.energy_ev() == pytest.approx(energies[state], abs=1e-6)
    assert li_ids  # ids 65/66 are the Li of the start structure
    emp = {occ: c / n_sweeps for occ, c in counts.items()}
    for occ in exact:
        assert emp[occ] == pytest.approx(exact[occ], abs=0.04), (emp, exact)


# ---- galvanostatic run, CC-then-CV, Si mobility options --------------------------------------------
def test_galvanostatic_cc_then_cv_with_tfmc_and_anneal_windows(small, tmp_path):
    cfg = toml(tmp_path / "g.toml", small, """
[[stages]]
type = "minimize"
[[stages]]
type = "galvanostatic"
batch = 3
interval_ps = 0.1
max_time_ps = 2.0
cutoff_voltage_v = 0.15
cv_time_ps = 0.4
cv_attempts_per_interval = 5
tfmc_steps_per_interval = 10
anneal_every_ps = 0.5
anneal_window_ps = 0.2
anneal_temperature_k = 700
""")
    res = run(cfg, quiet=True)
    rd = RunDir(tmp_path / "g")
    assert res.status == "done" and res.si_end == 24
    st = res.stages[1]
    ev = read_csv(rd.events_csv)
    cc = [e for e in ev if e["event"] == "remove" and float(e["time_ps"]) <= st.cv_start_ps]
    assert cc and all(float(e["voltage_v"]) <= 0.15 + 1e-9 for e in cc)  # CC: below the cutoff
    assert st.stop_reason == "CV hold at cutoff_voltage_v done"
    cv = [e for e in ev if float(e["time_ps"]) > st.cv_start_ps]
    assert cv and all(float(e["voltage_v"]) == 0.15 for e in cv)  # CV: held at the cutoff
    # no exchange inside an anneal window (stage time 0.3-0.5, 0.8-1.0, ...)
    for e in ev:
        tau = round(float(e["time_ps"]) % 0.5, 6)
        assert not (0.3 < tau < 0.5 - 1e-9), e["time_ps"]
    temps = [(float(r["time_ps"]), float(r["temperature_k"])) for r in read_csv(rd.thermo_csv)
             if r["stage"] == "galvanostatic"]
    hot = [t for tt, t in temps if 0.4 <= round(tt % 0.5, 6) <= 0.5 - 1e-9 or
           round(tt % 0.5, 6) == 0]
    assert max(hot) > 450  # the windows heat towards 700 K
    n_int = sum(1 for e in {e["time_ps"] for e in ev})
    assert res.electrochem.tfmc_steps >= 10 * n_int
    times = [float(r["time_ps"]) for r in read_csv(rd.thermo_csv)]
    assert times == sorted(times)


# ---- kill -9 and resume: the MC stream continues exactly ---------------------------------------------
STREAM = """
[[stages]]
type = "minimize"
[[stages]]
type = "potentiostatic"
accessible = "all"
interval_ps = 0.02
attempts_per_interval = 6
x_final = 2.0
schedule = [{voltage_start_v = -0.5, time_ps = 0.3}, {voltage_start_v = 3.0, time_ps = 1.5}]
"""


@pytest.mark.slow
def test_sigkill_resume_continues_the_mc_stream(small, tmp_path):
    ref = run(toml(tmp_path / "ref.toml", small, STREAM), quiet=True)
    cfg = toml(tmp_path / "k.toml", small, STREAM)
    rd = RunDir(tmp_path / "k")
    proc = subprocess.Popen(DEALLOY + ["run", str(cfg), "--quiet"])
    t0 = time.time()
    while time.time() - t0 < 300 and proc.poll() is None:
        if (rd.checkpoint_dir / "state.json").is_file() and _n_lines(rd.events_csv) >= 90:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "run ended before the kill"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert rd.status == "running"
    out = subprocess.run(DEALLOY + ["run", str(cfg), "--resume", "--quiet"], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    res = rd.record()
    assert res.status == "done" and res.si_end == res.si_start == 24
    ev, ev_ref = read_csv(rd.events_csv), read_csv(tmp_path / "ref" / "events.csv")
    # far below nothing leaves, far above everything does: which Li is tried when is set by the
    # random stream alone, so the resumed run makes exactly the reference's moves
    key = lambda e: (e["time_ps"], e["event"], e["id"], e["voltage_v"], e["accepted"])  # noqa: E731
    assert [key(e) for e in ev] == [key(e) for e in ev_ref]
    for k in ("li_end", "n_removed", "n_inserted"):
        assert getattr(res, k) == getattr(ref, k), k
    assert res.electrochem.moves == ref.electrochem.moves
    state = json.loads((rd.checkpoint_dir / "state.json").read_text())
    state_ref = json.loads((tmp_path / "ref" / "checkpoint" / "state.json").read_text())
    assert state["rng"] == state_ref["rng"]
    # run.json counts every move that events.csv holds
    mv = res.electrochem.moves.remove
    assert mv.accepted == sum(e["event"] == "remove" for e in ev) == res.n_removed
    assert mv.rejected == sum(e["event"] == "reject-remove" for e in ev) > 0
    assert res.li_end == res.li_start - res.n_removed


# ---- outputs: U vs x, dQ/dV, report row 12; study axes ---------------------------------------------
def test_voltage_curve_dqdv_and_report_row(small, tmp_path):
    import pandas as pd

    from dealloy.analysis.voltage import dqdv, voltage_curve, write_voltage_outputs
    from dealloy.report.observables import _voltage_row

    cfg = toml(tmp_path / "v.toml", small, """
[[stages]]
type = "galvanostatic"
batch = 4
interval_ps = 0.05
x_final = 3.5
""")
    res = run(cfg, quiet=True)
    rd = RunDir(tmp_path / "v")
    summary = write_voltage_outputs(rd.path)
    rows = voltage_curve(rd.path)
    n_rm = res.n_removed
    assert len(rows) == n_rm == 108 - math.floor(3.5 * 24)
    x = [r["x"] for r in rows]
    assert x == sorted(x, reverse=True) and x[-1] == pytest.approx(res.x_end)
    mu = res.electrochem.mu_li_bcc_ev
    for r in rows:  # galvanostatic: the recorded voltage is the removal voltage
        assert r["voltage_v"] == pytest.approx(r["delta_e_ev"] + mu, abs=2e-6)
    centres, d = dqdv(rows, 24, 0.02)
    assert float(np.sum(d) * 0.02) == pytest.approx(n_rm / 24)  # integral of dQ/dV = capacity
    for name in ("voltage.csv", "dqdv.csv", "voltage.json", "plots/voltage.png"):
        assert (rd.analysis_dir / name).is_file(), name
    assert summary["potential_c_to_a_voltage_v"] == pytest.approx(0.477, abs=0.01)
    row = _voltage_row(pd.DataFrame([{"path": str(rd.path), "_path": "c-path"}]))
    assert row.number == 12 and row.verdict != "not covered"
    assert f"{summary['dqdv_peak_v']:.2f} V" in row.simulation and "c→a 0.48 V" in row.simulation


def test_study_axes_switch_the_extraction_mode():
    from dealloy.study.axes import apply_params

    base = {"particle": {"builder": "li15si4_particle", "args": {"diameter_nm": 3.0}},
            "stages": [{"type": "minimize"},
                       {"type": "extract", "selector": "surface", "x_final": 1.0,
                        "rate_li_per_ps": 2.0, "interval_ps": 0.25}]}
    g = apply_params(base, {"extraction": "galvanostatic"}, "t")["stages"][1]
    assert g == {"type": "galvanostatic", "x_final": 1.0, "interval_ps": 0.25,
                 "accessible": "surface", "rate_li_per_ps": 2.0}
    p = apply_params(base, {"extraction": "potentiostatic", "voltage_v": 0.45,
                            "stages.potentiostatic.time_ps": 50.0}, "t")
    parse_run_config(p)  # a valid run config
    assert p["stages"][1]["voltage_v"] == 0.45 and "rate_li_per_ps" not in p["stages"][1]
    with pytest.raises(ConfigError, match="extraction = 'cv'"):
        apply_params(base, {"extraction": "cv"}, "t")


# ---- kill -9 and resume, galvanostatic: the removal stream continues exactly -------------------
# Nose-Hoover: deterministic MD, so the resumed run must choose the same Li with the same ΔE as
# the uninterrupted one (under Langevin LAMMPS deals its noise in atom storage order, which a
# resume from the id-sorted checkpoint permutes). max_candidates draws the candidates from the
# run's random stream, so the test also sees whether the generator continues.
GALVANO_STREAM = """
[[stages]]
type = "minimize"
[[stages]]
type = "galvanostatic"
batch = 2
interval_ps = 0.05
max_candidates = 16
x_final = 3.5
"""


def test_sigkill_resume_continues_the_galvanostatic_removals(small, tmp_path):
    top = {"thermostat": "nose-hoover", "dump_interval_ps": 0}
    ref = run(toml(tmp_path / "ref.toml", small, GALVANO_STREAM, **top), quiet=True)
    assert ref.status == "done" and ref.n_removed == 108 - 84
    cfg = toml(tmp_path / "k.toml", small, GALVANO_STREAM, **top)
    rd = RunDir(tmp_path / "k")
    proc = subprocess.Popen(DEALLOY + ["run", str(cfg), "--quiet"])
    t0 = time.time()
    while time.time() - t0 < 300 and proc.poll() is None:
        if (rd.checkpoint_dir / "state.json").is_file() and _n_lines(rd.events_csv) >= 8:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "run ended before the kill"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert rd.status == "running"
    killed_at = json.loads((rd.checkpoint_dir / "state.json").read_text())["md_step"]
    assert killed_at > 0  # resumed from a checkpoint inside the stage, not from the start
    out = subprocess.run(DEALLOY + ["run", str(cfg), "--resume", "--quiet"], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    res = rd.record()
    assert res.status == "done" and res.si_end == res.si_start == 24
    ev, ev_ref = read_csv(rd.events_csv), read_csv(tmp_path / "ref" / "events.csv")
    key = lambda e: (e["time_ps"], e["event"], e["id"])  # noqa: E731
    assert [key(e) for e in ev] == [key(e) for e in ev_ref]  # same Li, same order, same times
    for a, b in zip(ev, ev_ref):
        assert float(a["delta_e_ev"]) == pytest.approx(float(b["delta_e_ev"]), abs=1e-8)
        assert float(a["voltage_v"]) == pytest.approx(float(b["voltage_v"]), abs=1e-8)
        assert a["accepted"] == b["accepted"] == "1"
    for k in ("li_end", "n_removed", "si_end"):
        assert getattr(res, k) == getattr(ref, k), k
    assert res.electrochem.moves == ref.electrochem.moves
    # run.json counts every removal events.csv holds (galvanostatic removals are never rejected)
    assert res.electrochem.moves.remove.model_dump() == {"accepted": len(ev), "rejected": 0}
    assert res.n_removed == len(ev)
    assert res.li_end == res.li_start - res.n_removed
    state = json.loads((rd.checkpoint_dir / "state.json").read_text())
    state_ref = json.loads((tmp_path / "ref" / "checkpoint" / "state.json").read_text())
    assert state["rng"] == state_ref["rng"]


# ---- galvanostatic: what the removal voltage is, and the energy balance beside it ----------------
def test_galvanostatic_removal_is_the_minimum_of_its_candidates_and_energy_balance(small,
                                                                                   tmp_path):
    """Each constant-current removal records how many Li were ranked and their median removal
    voltage (the removal voltage is their minimum: a lower order statistic); the stage report
    carries the energy-balance voltage from its minimised start and end structures."""
    from dealloy.analysis.voltage import write_voltage_outputs

    cfg = toml(tmp_path / "e.toml", small, """
[[stages]]
type = "minimize"
[[stages]]
type = "galvanostatic"
batch = 4
interval_ps = 0.05
x_final = 3.5
""")
    res = run(cfg, quiet=True)
    rd = RunDir(tmp_path / "e")
    ev = read_csv(rd.events_csv)
    assert len(ev) == res.n_removed == 108 - 84
    for e in ev:
        assert e["applied_voltage_v"] == ""  # constant current: nothing applied
        assert float(e["removal_voltage_v"]) == pytest.approx(float(e["voltage_v"]), abs=1e-8)
        assert int(e["n_candidates"]) >= 1
        assert float(e["voltage_v"]) <= float(e["candidates_median_voltage_v"]) + 1e-9
    assert any(float(e["candidates_median_voltage_v"]) > float(e["voltage_v"]) + 0.05
               for e in ev)  # with many candidates the minimum lies well below the median
    st = res.stages[1]
    mu = res.electrochem.mu_li_bcc_ev
    assert st.n_removed_net == 24
    # independent: the final structure minimised in a fresh session; the start is the
    # minimised particle the minimize stage left (its last thermo row)
    pot = get_potential(POT)
    final = ase.io.read(rd.final_structure)
    final.arrays.pop("id", None)
    with LammpsSession(final, pot) as s:
        e_end = s.minimize(ftol_ev_per_angstrom=1e-4)
    assert st.e_end_minimised_ev == pytest.approx(e_end, abs=2e-3)
    pe_min = [float(r["pe_ev"]) for r in read_csv(rd.thermo_csv) if r["stage"] == "minimize"]
    assert st.e_start_minimised_ev == pytest.approx(pe_min[-1], abs=2e-3)
    want = (st.e_end_minimised_ev - st.e_start_minimised_ev) / 24 + mu
    assert st.energy_balance_voltage_v == pytest.approx(want, abs=1e-9)
    summary = write_voltage_outputs(rd.path)
    assert summary["energy_balance_voltage_v"] == pytest.approx(want, abs=1e-9)
    assert summary["median_candidates_median_voltage_v"] > summary["median_removal_voltage_v"]

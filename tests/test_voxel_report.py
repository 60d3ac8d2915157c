"""The convention band and the smallest resolvable pore travel from the per-frame metrics into
the study table (collect) and the report (observables rows 2-5 and the run table)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from dealloy.report import ReportData, observables
from dealloy.report.render import _run_rows
from dealloy.rundir import RunDir
from dealloy.study.collect import final_metrics


def _frame(porosity, lo, hi, lig=(1.8, 1.6, 2.0), pore=(3.2, 3.0, 3.4)):
    def sizes(v):
        return {"mean": v[0], "median": v[0], "std": 0.3, "n_samples": 100,
                "mean_low": v[1], "mean_high": v[2], "median_low": v[1], "median_high": v[2]}
    return {"time_ps": 10.0, "x": 0.1, "porosity": porosity, "porosity_low": lo,
            "porosity_high": hi, "smallest_pore_diameter_nm": 0.739, "pore_count": 3,
            "ligament_diameter_nm": sizes(lig), "pore_diameter_nm": sizes(pore)}


def test_collect_carries_the_band_and_smallest_pore(tmp_path):
    rd = RunDir(tmp_path / "run")
    rd.analysis_dir.mkdir(parents=True)
    rd.metrics_json.write_text(json.dumps({"frames": [_frame(0.45, 0.40, 0.50)]}))
    row = final_metrics(rd)
    assert (row["porosity"], row["porosity_low"], row["porosity_high"]) == (0.45, 0.40, 0.50)
    assert row["smallest_pore_diameter_nm"] == 0.739
    assert row["ligament_diameter_median_low_nm"] == 1.6
    assert row["ligament_diameter_mean_high_nm"] == 2.0
    assert row["pore_diameter_mean_low_nm"] == 3.0 and row["pore_diameter_median_high_nm"] == 3.4


def _data(rows) -> ReportData:
    base = {"status": "done", "si_conserved": True, "x_end": 0.0, "potential_resolved": "x"}
    df = pd.DataFrame([{**base, "run": f"r{i}", **r} for i, r in enumerate(rows)])
    return ReportData(title="t", kind="study", source=Path("t.toml"), table=df)


def _row(frame, state):
    rd_row = {"starting_state": state, "largest_si_cluster_fraction": 0.99}
    for k, v in frame.items():
        if isinstance(v, dict):
            short = k.split("_")[0]
            for stat in ("mean", "median"):
                rd_row[f"{short}_diameter_{stat}_nm"] = v[stat]
                for end in ("low", "high"):
                    rd_row[f"{short}_diameter_{stat}_{end}_nm"] = v[f"{stat}_{end}"]
        else:
            rd_row[k] = v
    return rd_row


def test_report_shows_values_with_their_band():
    data = _data([_row(_frame(0.45, 0.40, 0.50), "c-li15si4"),
                  _row(_frame(0.0, 0.0, 0.03), "a-lixsi")])
    by = {o.number: o for o in observables(data)}
    assert "0.450 [convention band 0.400–0.500]" in by[5].simulation
    assert "1.80 nm [convention band 1.60–2.00 nm]" in by[3].simulation
    assert "3.20 nm [convention band 3.00–3.40 nm]" in by[4].simulation
    # a dense a-path particle: porosity 0, and the report says what it cannot see
    assert "0.000 [convention band 0.000–0.030]" in by[2].simulation
    assert "voids below 0.74 nm are invisible" in by[2].simulation
    header, rows = _run_rows(data)
    cells = dict(zip(header, rows[0]))
    assert cells["porosity"] == "0.45 [0.4–0.5]"
    assert cells["wire (nm)"] == "1.8 [1.6–2]" and cells["pore (nm)"] == "3.2 [3–3.4]"
    assert cells["smallest pore (nm)"] == "0.739"


def test_report_of_a_dense_c_path_names_the_invisible_pores():
    data = _data([_row(_frame(0.0, 0.0, 0.02), "c-li15si4") | {"pore_diameter_mean_nm": None}])
    by = {o.number: o for o in observables(data)}
    assert "no pores" in by[4].simulation and "0.74 nm are invisible" in by[4].simulation
    assert "invisible" in by[5].simulation


@pytest.mark.parametrize("key", ["porosity", "ligament_diameter_mean_nm"])
def test_tables_without_a_band_still_render(key):
    """Tables collected before the band existed have no *_low/*_high columns."""
    data = _data([{"starting_state": "c-li15si4", "porosity": 0.45,
                   "ligament_diameter_mean_nm": 1.8, "pore_diameter_mean_nm": 3.2}])
    header, rows = _run_rows(data)
    label = {"porosity": "porosity", "ligament_diameter_mean_nm": "wire (nm)"}[key]
    assert "[" not in dict(zip(header, rows[0]))[label]
    assert all("convention band" not in o.simulation for o in observables(data))

"""``dealloy quickstart`` end to end on tiny particles: runs, analysis, summary, report, figures."""

from __future__ import annotations

import json

import pytest

from conftest import run_dealloy

PNG = b"\x89PNG\r\n\x1a\n"

# the quickstart's two routes at a test size: a 2.2 nm c-Li15Si4 and a 2 nm a-Li15Si4 cut from a
# 16-Si melt-quench with a shortened fast protocol; a short extraction at a high rate
PARTICLES = {
    "c-Li15Si4": {"builder": "li15si4_particle",
                  "args": {"diameter_nm": 2.2, "seed": 0, "vacuum_nm": 1.5}},
    "a-Li15Si4": {"builder": "amorphous_lisi_particle",
                  "args": {"diameter_nm": 2.2, "x": 3.75, "seed": 0, "protocol": "fast",
                           "bulk_n_si": 16, "vacuum_nm": 1.5, "melt_ps": 2.0,
                           "quench_rate_k_per_s": 1e15, "relax_ps": 0.5,
                           "particle_relax_ps": 0.2}},
}
STAGES = [
    {"type": "minimize", "maxiter": 50},
    {"type": "equilibrate", "time_ps": 0.2},
    {"type": "extract", "selector": "surface", "x_final": 0.0, "interval_ps": 0.2,
     "rate_fraction_per_ns": 300.0, "max_time_ps": 2.6, "patience_intervals": 4},
    {"type": "hold", "time_ps": 0.2},
]


QUICKSTART_SCRIPT = """
import sys
import test_quickstart as t
import dealloy.quickstart as qs
from dealloy.cli import main
qs.PARTICLES, qs.STAGES = t.PARTICLES, t.STAGES
main(["quickstart", "-o", sys.argv[1], "--ranks", "1"])
"""


@pytest.fixture(scope="module")
def tiny_quickstart_cli(tmp_path_factory):
    """`dealloy quickstart --ranks 1` at the test size, as a user runs it (its output kept)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path_factory.mktemp("quickstart") / "qs"
    tests = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tests.parent), str(tests), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run([sys.executable, "-c", QUICKSTART_SCRIPT, str(out)],
                         capture_output=True, text=True, env=env, timeout=1800)
    assert res.returncode == 0, res.stderr
    return out, json.loads((out / "summary.json").read_text()), res


@pytest.fixture(scope="module")
def tiny_quickstart(tiny_quickstart_cli):
    out, summary, _ = tiny_quickstart_cli
    return out, summary


@pytest.mark.slow
def test_quickstart_ends_with_report_and_figures(tiny_quickstart):
    out, summary = tiny_quickstart
    html, md = out / "report.html", out / "report.md"
    assert summary["report"] == {"html": str(html), "md": str(md)}
    for fig in ("clusters_vs_x.png", "porosity_vs_x.png"):
        assert (out / "figures" / fig).read_bytes()[:8] == PNG, fig
    text = md.read_text()
    # the figures and the c- and a-path virtual HAADF side by side
    assert "clusters_vs_x" in text and "porosity_vs_x" in text
    assert "### a-path: run a-Li15Si4" in text and "### c-path: run c-Li15Si4" in text
    assert text.count("haadf_z") >= 2
    assert "data:image/png;base64," in html.read_text()
    for name in PARTICLES:  # every run analysed frame by frame (the figures' source)
        metrics = json.loads((out / name / "analysis" / "metrics.json").read_text())
        frames = metrics["frames"]
        assert len(frames) >= 3 and frames[0]["x"] > frames[-1]["x"]
        # Li left during the run: no diffusion coefficient, and the reason is given
        diff = metrics["li_diffusion"]
        assert diff["reported"] is False and "extraction" in diff["why_not"]
        assert "li_msd" not in metrics


@pytest.mark.slow
def test_final_structure_carries_time_x_and_potential(tiny_quickstart):
    from ase.io import read

    out, summary = tiny_quickstart
    for name in PARTICLES:
        atoms = read(out / name / "final.extxyz")
        info, row = atoms.info, summary["particles"][name]
        assert info["time_ps"] == pytest.approx(row["time_ps"])
        assert info["x"] == pytest.approx(row["x_end"], abs=1e-4)
        assert info["potential"] == "meam-godet2020" and info["li_removed"] == row["li_removed"]
        assert info["builder"] == PARTICLES[name]["builder"]


@pytest.mark.slow
def test_quickstart_says_what_it_shows_and_what_it_cannot(tiny_quickstart):
    out, summary = tiny_quickstart
    md = (out / "summary.md").read_text()
    assert "What this shows" in md and "What it cannot show" in md
    assert "2.2 nm" in md and "300 x the initial Li per ns" in md and "meam-godet2020" in md
    assert "docs/results/first-result/" in md and "workflows/first-result.toml" in md
    # numbers of the table come from the runs' own analysis
    for name in PARTICLES:
        row = summary["particles"][name]
        assert row["porosity"] is not None and 0.0 <= row["porosity"] < 1.0
        assert row["x_end"] < row["x_start"]


@pytest.mark.slow
def test_quickstart_rerun_keeps_wall_time_and_report_cli_reads_the_folder(tiny_quickstart):
    from dealloy.quickstart import _quickstart

    out, first = tiny_quickstart
    again = _quickstart(out, quiet=True, particles=PARTICLES, stages=STAGES)  # reuses both runs
    assert again["runs_wall_time_s"] == first["runs_wall_time_s"] > 1.0
    assert again["this_invocation_s"] < first["this_invocation_s"]
    (out / "report.html").unlink()
    res = run_dealloy("report", out, "--no-analyze")
    assert res.returncode == 0, res.stderr
    assert (out / "report.html").is_file() and f"wrote {out / 'report.html'}" in res.stdout


def test_report_of_a_folder_without_runs_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    res = run_dealloy("report", tmp_path / "empty")
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "folder of run directories" in res.stderr


@pytest.mark.slow
def test_quickstart_output_says_each_note_once_and_no_raw_warnings(tiny_quickstart_cli):
    """What a user reads (issue 17 items 5, 8): the progress lines number stages as the
    warnings do, each distinct analysis note comes once for both runs, and no Python warning
    with a source path appears."""
    _, _, res = tiny_quickstart_cli
    err = res.stderr.splitlines()
    notes = [line for line in err if line.startswith("dealloy quickstart: note:")]
    assert notes and len(notes) == len(set(notes)), res.stderr
    assert sum("no pore resolved" in n for n in notes) <= 1  # both runs give it: said once
    assert not any("Warning:" in line or ".py:" in line for line in err), res.stderr
    stage_lines = [line for line in err if line.startswith("stage ")]
    warn = [line for line in err if "warning: stage" in line]
    assert warn and all("stage 3/4 (extract)" in w for w in warn)
    assert all(line.split()[1].endswith("/4") for line in stage_lines)
    assert "Open the report:" in res.stdout


def test_summary_without_analysis_measures_the_final_structure(tmp_path):
    """A run with no analysed frame still gets its Si-Si coordination and largest Si cluster in
    the summary, from the analysis' own SiNetwork on final.extxyz (not a private copy of it)."""
    from dealloy.build import si_particle
    from dealloy.io import write_structure
    from dealloy.quickstart import _summarise
    from dealloy.records import RunRecord

    atoms = si_particle(diameter_nm=2.0, seed=0)
    (tmp_path / "c-Si").mkdir()
    write_structure(tmp_path / "c-Si" / "final.extxyz", atoms, format="extxyz")
    res = RunRecord(li_start=0, si_start=len(atoms), si_end=len(atoms), x_start=0.0, x_end=0.0,
                    n_removed=0, time_ps=0.0, status="done")  # what run() returns
    row = _summarise(tmp_path, {"c-Si": res})["particles"]["c-Si"]
    assert 2.0 < row["si_si_cn"] < 4.0  # diamond Si: 4 inside, fewer at the surface
    assert row["largest_si_cluster"] == 1.0  # one connected crystal
    assert row["porosity"] is None

"""dealloy report: real smoke-study output in, self-contained HTML + Markdown out; verdict logic
on tables with known answers; bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from dealloy.errors import ConfigError
from dealloy.report import ReportData, build_report, observables
from dealloy.report.observables import AGREES, DISAGREES, NOT_COVERED, PARTLY


@pytest.mark.slow
def test_report_of_smoke_study(smoke_study, tmp_path, dealloy_cli):
    study, directory = smoke_study
    out = tmp_path / "smoke.html"
    dealloy_cli("report", study, "--dir", directory, "-o", out, check=True)
    html = out.read_text()
    md = out.with_suffix(".md").read_text()
    # self-contained: every image is embedded, nothing is loaded from disk or network
    srcs = re.findall(r"src='([^']*)'", html)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    # every paper observable has a row with a verdict, in both twins
    for n in range(1, 14):
        assert f"<tr><td>{n}</td>" in html and f"| {n} |" in md
    # smoke runs stop at x = 2: the report must not compare them with the dealloyed end state
    assert "not comparable with the paper's end state" in md
    assert "Si conserved in 4/4 runs" in md
    for ref in re.findall(r"\]\(([^)]+\.png)\)", md):
        assert (out.parent / ref).is_file()
    import tomllib
    smoke_base = Path(__file__).parents[1] / "workflows" / "base" / "smoke-run.toml"
    potential = tomllib.loads(smoke_base.read_text())["potential"]
    assert potential in md and "core-hours" in md  # the potential the runs used, and their cost


@pytest.mark.slow
def test_report_of_one_run_directory(smoke_study, tmp_path):
    _, directory = smoke_study
    run_dir = next(p for p in (directory / "runs").iterdir() if (p / "run.json").is_file())
    html, md = build_report(run_dir, tmp_path / "run.html", echo=lambda *_: None)
    assert "Si conserved in 1/1 runs" in md.read_text()
    assert html.stat().st_size > 10_000


def _data(rows) -> ReportData:
    base = {"status": "done", "si_conserved": True, "x_end": 0.0, "potential_resolved": "meam-cui2012"}
    df = pd.DataFrame([{**base, "run": f"r{i}", **r} for i, r in enumerate(rows)])
    return ReportData(title="t", kind="study", source=Path("t.toml"), table=df)


def test_verdicts_follow_the_numbers():
    good = observables(_data([
        {"starting_state": "c-li15si4", "largest_si_cluster_fraction": 0.99, "porosity": 0.47,
         "ligament_diameter_mean_nm": 1.7, "pore_diameter_mean_nm": 3.5},
        {"starting_state": "a-lixsi", "porosity": 0.02},
    ]))
    v = {o.number: o.verdict for o in good}
    assert v[1] == v[2] == v[3] == v[4] == v[5] == v[8] == AGREES
    bad = observables(_data([
        {"starting_state": "c-li15si4", "largest_si_cluster_fraction": 0.3, "porosity": 0.05,
         "ligament_diameter_mean_nm": 5.0, "pore_diameter_mean_nm": 0.5, "si_conserved": False},
        {"starting_state": "a-lixsi", "porosity": 0.4},
    ]))
    v = {o.number: o.verdict for o in bad}
    assert v[1] == v[2] == v[3] == v[4] == v[5] == v[8] == DISAGREES
    assert v[11] == NOT_COVERED


def test_a_dense_connected_particle_is_no_framework():
    """Connected Si without porosity is the collapse, not the framework: its 'ligament diameter'
    is the particle's own thickness and must not pass as a sub-2 nm wire."""
    rows = observables(_data([
        {"starting_state": "c-li15si4", "largest_si_cluster_fraction": 0.99, "porosity": 0.0,
         "ligament_diameter_mean_nm": 2.3, "pore_diameter_mean_nm": float("nan"), "x_end": 0.15,
         "x_start": 3.75},
    ]))
    by = {o.number: o for o in rows}
    assert "96.0 % of the Li extracted" in by[8].simulation  # the MD Coulombic efficiency
    assert by[1].verdict == by[3].verdict == by[4].verdict == by[5].verdict == DISAGREES
    assert "dense" in by[1].simulation and "no pores" in by[4].simulation
    assert "thickness" in by[3].simulation and "2.30 nm" in by[3].simulation
    # one framework and one dense particle: partly
    mixed = observables(_data([
        {"starting_state": "c-li15si4", "largest_si_cluster_fraction": 0.99, "porosity": 0.45,
         "ligament_diameter_mean_nm": 1.8, "pore_diameter_mean_nm": 3.2},
        {"starting_state": "c-li15si4", "largest_si_cluster_fraction": 0.99, "porosity": 0.02,
         "ligament_diameter_mean_nm": 3.0},
    ]))
    by = {o.number: o for o in mixed}
    assert by[1].verdict == PARTLY and by[3].verdict == AGREES  # the wire size of the porous one


def test_report_bad_inputs(tmp_path, repo_dir):
    with pytest.raises(ConfigError, match="does not exist"):
        build_report(tmp_path / "missing")
    with pytest.raises(ConfigError, match="neither a study file nor a run directory"):
        build_report(tmp_path)
    with pytest.raises(ConfigError, match="dealloy study run"):
        build_report(repo_dir / "workflows" / "smoke.toml", directory=tmp_path / "never-run")


def test_a2_row_reads_the_dealloyed_si_by_dod():
    """Fig. S5: A(2 Å) of the fully dealloyed Si falls with DOD, most steeply into DOD 100 %."""
    def rows(a2_100):
        pts = [(0.5, 0.9), (0.7, 0.85), (0.9, 0.8), (1.0, a2_100)]
        return [{"starting_state": "c-li15si4" if d == 1.0 else "core-shell", "dod_resolved": d,
                 "a2_index": v} for d, v in pts]

    assert {o.number: o.verdict for o in observables(_data(rows(0.5)))}[6] == AGREES
    assert {o.number: o.verdict for o in observables(_data(rows(0.78)))}[6] != AGREES  # no abrupt drop
    assert {o.number: o.verdict for o in observables(_data(rows(0.95)))}[6] == DISAGREES
    # two DODs show a fall but cannot show the abrupt step: partly, and the row says why
    two = {o.number: o for o in observables(_data(rows(0.5)[2:]))}[6]
    assert two.verdict == PARTLY and "≥ 3 DODs" in two.simulation
    # the paper's DOD 100 % state is c-Li15Si4: an a-Li3.75Si run at DOD 100 % does not enter
    # the row when c-path runs exist
    mixed = rows(0.5) + [{"starting_state": "a-lixsi", "dod_resolved": 1.0, "a2_index": 0.95}]
    six = {o.number: o for o in observables(_data(mixed))}[6]
    assert six.verdict == AGREES and "DOD 100%: 0.50" in six.simulation


def test_cost_counts_each_run_at_its_core_time():
    """A run resumed on other ranks has core time != wall x last ranks; runs from before core time
    was recorded fall back to wall x ranks."""
    from dealloy.report.render import _cost

    table = pd.DataFrame({"wall_time_s": [3600.0, 1800.0, float("nan")],
                          "ranks": [1, 2, 4], "core_time_s": [5400.0, float("nan"), float("nan")]})
    text = _cost(ReportData(title="t", kind="study", source=Path("."), table=table))
    assert text == "2 runs, wall time 1.50 h in all, 2.50 core-hours"
    # the particle builds, where run.json records them, are said apart
    table["build_core_time_s"] = [1800.0, float("nan"), float("nan")]
    text = _cost(ReportData(title="t", kind="study", source=Path("."), table=table))
    assert text.endswith("2.50 core-hours, of which 0.50 core-hours building the particles "
                         "(1 of the runs record it)")


def test_report_reads_the_diffusivity_summary_that_dealloy_diffusivity_writes(tmp_path,
                                                                              diffusivity_without_md):
    """Row 11 reads diffusivity.json as run_diffusivity writes it (the writer's own code runs;
    only the MD is replaced by D values on two Arrhenius lines whose c/a ratio at 300 K is known)."""
    import math

    import numpy as np

    from dealloy.build.crystal import li15si4_cell
    from dealloy.builders.amorphous import random_packing
    from dealloy.potentials import diffusivity as dmod
    from dealloy.report.data import _load_extras

    ea = {"crystalline": 0.25, "amorphous": 0.45}  # eV
    kb = 8.617333262e-5
    # each phase still itself at the end (crystal crystalline, glass not): every run is fitted
    final = {"crystalline": li15si4_cell(),
             "amorphous": random_packing(60, 16, 76 * 17.0, np.random.default_rng(0))}

    def result(phase, temperature_k):
        d = 1e-1 * math.exp(-ea[phase] / (kb * temperature_k))  # all far above the one-hop floor
        return d, 0.01 * d, final[phase]

    diffusivity_without_md(result)
    out = tmp_path / "diffusivity"
    dmod.run_diffusivity({"temperatures_k": (600.0, 700.0, 800.0)}, out, echo=lambda m: None)
    data = _data([{"starting_state": "c-li15si4"}])
    _load_extras(data, tmp_path)
    row = next(o for o in observables(data) if o.number == 11)
    expected = math.exp(-(ea["crystalline"] - ea["amorphous"]) / (kb * 300.0))
    assert row.verdict == AGREES, row  # ratio ~2300 > 3; NOT_COVERED before the key was read
    assert "300 K" in row.simulation and f"{expected:.3g}" in row.simulation, (row.simulation,
                                                                               expected)


def test_row_11_gives_bounds_not_a_ratio_when_a_d_is_not_resolved(tmp_path):
    """Without both Arrhenius fits the row quotes the per-temperature ratios and bounds and
    judges them; a perfect crystal's unresolved D is no comparison (no verdict)."""
    from dealloy.io import write_json
    from dealloy.report.data import _load_extras

    def row(summary):
        write_json(tmp_path / "diffusivity" / "diffusivity.json", summary)
        data = _data([{"starting_state": "c-li15si4"}])
        _load_extras(data, tmp_path)
        return next(o for o in observables(data) if o.number == 11)

    runs = [{"temperature_k": t} for t in (600.0, 700.0, 800.0)]
    slower = {"params": {"li_vacancies": 3}, "runs": runs, "c_over_a_ratio_by_temperature": {"800.0": 0.2},
              "c_over_a_upper_bound_by_temperature": {"700.0": 0.02}}
    r = row(slower)
    assert r.verdict == DISAGREES, r
    assert "< 0.02 at 700 K" in r.simulation and "0.2 at 800 K" in r.simulation
    assert "no ratio at 600 K" in r.simulation  # a temperature without either is named
    r = row({**slower, "params": {"li_vacancies": 0}})  # perfect crystal: no hop to make
    assert r.verdict == NOT_COVERED and "--li-vacancies" in r.criterion
    faster = {"params": {"li_vacancies": 3}, "c_over_a_lower_bound_by_temperature": {"800.0": 5.0},
              "c_over_a_ratio_by_temperature": {"700.0": 12.0}}
    assert row(faster).verdict == AGREES
    mixed = {"params": {"li_vacancies": 3}, "c_over_a_ratio_by_temperature": {"700.0": 12.0, "800.0": 0.5}}
    assert row(mixed).verdict == NOT_COVERED
    r = row({**mixed, "c_over_a_ratio_at_extrapolation": 25.0, "params": {"extrapolate_to_k": 300.0}})
    assert r.verdict == AGREES and "25" in r.simulation and "0.5 at 800 K" in r.simulation
    # the same extrapolation from fits that are not straight lines is not judged
    r = row({**mixed, "c_over_a_ratio_at_extrapolation": 25.0, "extrapolation_linear": False,
             "params": {"extrapolate_to_k": 300.0, "li_vacancies": 3}})
    assert r.verdict == NOT_COVERED and "not judged" in r.simulation
    r = row({"params": {"li_vacancies": 3}, "runs": runs})
    assert r.verdict == NOT_COVERED and "no temperature resolved" in r.simulation


def test_docs_cite_fig1_dqdv_panels_and_no_bias_against_the_paper(repo_dir):
    """The paper's Fig. 1 caption puts dQ/dV in D (pc-SiNP) and H (sc-SiNP); G is the
    capacity-voltage panel. The report, the study figures, workflows and README cite D/H."""
    caption = (Path("/work/shared/paper/si-framework-paper.txt"))
    if caption.is_file():
        text = caption.read_text()
        assert "(H) dQ/dV profiles" in text and "(G) Capacity-voltage profiles" in text
    files = [repo_dir / "README.md", *sorted((repo_dir / "workflows").glob("*.toml")),
             *sorted((repo_dir / "dealloy" / "report").glob("*.py")),
             repo_dir / "dealloy" / "study" / "collect.py",
             *sorted((repo_dir / "docs" / "results").rglob("*.md"))]
    wrong = [str(f) for f in files if re.search(r"1D/1G|1D and 1G|Fig\. 1G's", f.read_text())]
    assert not wrong, wrong
    # the paper's 0.43 V is a hysteretic measured plateau, not a calibration of the potential's
    # 0 K c->a voltage: nothing calls their difference a bias of the potential
    biased = [str(f) for f in files
              if re.search(r"bias[^.\n]*(vs|against) the paper|V against the\s+paper's 0\.43",
                           f.read_text())]
    assert not biased, biased


# ---- extraction modes: geometric vs voltage-controlled, never pooled ----------------------------
MIXED = [  # c- and a-path runs under two protocols whose outcomes differ
    {"starting_state": "c-li15si4", "largest_si_cluster_fraction": 0.99, "porosity": 0.02,
     "ligament_diameter_mean_nm": 3.0, "x_start": 3.75, "x_end": 0.1},
    {"starting_state": "c-li15si4", "largest_si_cluster_fraction": 0.99, "porosity": 0.03,
     "ligament_diameter_mean_nm": 3.1, "x_start": 3.75, "x_end": 0.2},
    {"starting_state": "a-lixsi", "porosity": 0.02, "dod_resolved": 1.0},
    {"starting_state": "c-li15si4", "largest_si_cluster_fraction": 0.98, "porosity": 0.45,
     "ligament_diameter_mean_nm": 1.8, "pore_diameter_mean_nm": 3.3, "x_start": 3.75, "x_end": 0.0},
    {"starting_state": "c-li15si4", "largest_si_cluster_fraction": 0.97, "porosity": 0.47,
     "ligament_diameter_mean_nm": 1.7, "pore_diameter_mean_nm": 3.6, "x_start": 3.75, "x_end": 0.0},
    {"starting_state": "a-lixsi", "porosity": 0.30, "dod_resolved": 1.0},
]
MODES = ["geometric"] * 3 + ["potentiostatic"] * 3


def test_one_mode_or_no_mode_column_leaves_the_report_unchanged():
    """A study without the extraction column (collected before it existed, or a table without
    modes) and one whose runs all share a mode get the rows they always got: one per number."""
    plain = observables(_data(MIXED))
    assert [o.number for o in plain] == list(range(1, 14))
    assert all(o.extraction == "" for o in plain)
    for col in ("extraction_resolved", "extraction"):
        one = observables(_data([{**r, col: "geometric"} for r in MIXED]))
        assert one == plain, col
    # runs that did not finish do not make a second mode
    pending = _data([{**r, "extraction_resolved": "geometric"} for r in MIXED]
                    + [{"starting_state": "c-li15si4", "status": "pending",
                        "extraction_resolved": "galvanostatic"}])
    assert [o.number for o in observables(pending)] == list(range(1, 14))


def test_rows_are_given_per_extraction_mode_when_a_study_mixes_them():
    """Geometric and voltage-controlled runs of one path are different protocols: each row that
    depends on the extraction comes once per mode, from that mode's runs (pooled, the dense
    geometric and porous potentiostatic c-path runs made a 'partly' framework)."""
    pooled = {o.number: o for o in observables(_data(MIXED))}
    assert pooled[1].verdict == PARTLY  # what the pooled report said
    rows = observables(_data([{**r, "extraction_resolved": m} for r, m in zip(MIXED, MODES)]))
    by = {(o.number, o.extraction): o for o in rows}
    assert [o.number for o in rows] == sorted(o.number for o in rows)
    for n in range(1, 14):
        if n in (11, 13):  # the diffusivity and the starting particles do not depend on the mode
            assert (n, "") in by and (n, "geometric") not in by
        else:
            assert {(n, "geometric"), (n, "potentiostatic")} <= set(by), n
            assert by[(n, "geometric")].name.endswith("[geometric extraction]")
    assert by[(1, "geometric")].verdict == DISAGREES and "dense" in by[(1, "geometric")].simulation
    assert by[(1, "potentiostatic")].verdict == AGREES
    assert by[(2, "geometric")].verdict == AGREES and by[(2, "potentiostatic")].verdict == DISAGREES
    assert by[(3, "potentiostatic")].verdict == AGREES and "1.75 ± 0.07 nm" in by[(3, "potentiostatic")].simulation
    assert "Si conserved in 3/3 runs" in by[(8, "geometric")].simulation
    # the study's own axis column works as well as the collected one
    axis = observables(_data([{**r, "extraction": m} for r, m in zip(MIXED, MODES)]))
    assert [(o.number, o.extraction, o.verdict) for o in axis] == [
        (o.number, o.extraction, o.verdict) for o in rows]


def _voltage_runs(tmp_path, runs):
    """Run directories holding only a voltage summary (analysis/voltage.json, as the analysis
    writes it), and the table rows that point at them."""
    import json

    rows = []
    for i, (state, mode, peak, share, pot, own) in enumerate(runs):
        d = tmp_path / f"v{i}"
        (d / "analysis").mkdir(parents=True)
        (d / "analysis" / "voltage.json").write_text(json.dumps(
            {"dqdv_peak_v": peak, "plateau_share": share, "potential": pot,
             "potential_c_to_a_voltage_v": own, "paper_c_plateau_v": 0.43}))
        rows.append({"starting_state": state, "extraction_resolved": mode, "path": str(d),
                     "potential_resolved": pot})
    return rows


def test_voltage_row_judges_each_mode_against_the_potentials_own_voltage(tmp_path):
    """Row 12 groups by (path, extraction mode) and judges the c-path peak against the
    potential's own c→a voltage, with the paper's 0.43 V beside it, never as the criterion."""
    g = "meam-godet2020"
    rows = _voltage_runs(tmp_path / "a", [
        ("c-li15si4", "galvanostatic", 0.75, 0.20, g, 0.477),
        ("c-li15si4", "potentiostatic", 0.50, 0.40, g, 0.477),
        ("a-lixsi", "galvanostatic", 0.60, 0.10, g, 0.477),
        ("a-lixsi", "potentiostatic", 0.45, 0.20, g, 0.477)])
    twelve = {o.extraction: o for o in observables(_data(rows)) if o.number == 12}
    assert set(twelve) == {"galvanostatic", "potentiostatic"}
    galv, pot = twelve["galvanostatic"], twelve["potentiostatic"]
    assert pot.verdict == AGREES  # 0.50 V is 0.02 V from the potential's 0.48 V
    assert galv.verdict == PARTLY  # 0.27 V above it; the a-path is still the broader
    assert "c-path, potentiostatic: dQ/dV peak 0.50 V" in pot.simulation
    assert "c-path, galvanostatic" not in pot.simulation  # never pooled
    assert "c→a 0.48 V" in pot.simulation and "paper 0.43 V" in pot.simulation
    assert "+0.02 V" in pot.simulation and "bias" not in pot.simulation
    assert "hysteretic" in pot.paper and "own" in pot.criterion

    # the paper's value is not the criterion: a peak at exactly 0.43 V disagrees with a
    # potential whose own c→a voltage is 0.60 V, a peak at 0.58 V agrees with it
    def verdict(peak, own, pot="x-pot"):
        rs = _voltage_runs(tmp_path / f"p{peak}-{own}", [
            ("c-li15si4", "potentiostatic", peak, 0.5, pot, own),
            ("a-lixsi", "potentiostatic", 0.3, 0.1, pot, own)])
        return next(o for o in observables(_data(rs)) if o.number == 12)

    assert verdict(0.43, 0.60).verdict == PARTLY
    assert verdict(0.58, 0.60).verdict == AGREES
    # a potential without a c→a voltage of its own is not judged on the c-path peak
    unknown = verdict(0.43, None, pot="no-such-potential")
    assert unknown.verdict == PARTLY and "not judged" in unknown.simulation


def test_readme_reproducing_table_lists_every_paper_study(repo_dir):
    """Every shipped study but the smoke test has a row in the README's "Reproducing the paper"
    table, with its status when it has not been run; the Limitations name the unrelaxed
    galvanostatic voltages (the strict xfail) and the Si that cannot relax within MD time."""
    readme = (repo_dir / "README.md").read_text()
    section = readme.split("## Reproducing the paper", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    for f in sorted((repo_dir / "workflows").glob("*.toml")):
        if f.name != "smoke.toml":
            assert f"`workflows/{f.name}`" in table, f.name
    echem = [line for line in table.splitlines() if "echem-" in line]
    assert echem and all("core-hours" in line for line in echem)
    for line in echem:  # each says it has not been run, or points at results that exist
        results = re.findall(r"`(docs/results/[^`]+)`", line)
        assert "not yet run" in line or (results and all((repo_dir / r).exists() for r in results)), line
    assert "1D/1H" in table
    limits = readme.split("## Limitations", 1)[1].split("\n## ", 1)[0]
    assert "tests/test_electrochem_bulk.py" in limits and "Si mobility" in limits


def test_run_table_shows_the_extraction_mode_only_when_runs_differ_in_it():
    from dealloy.report.render import _run_rows

    one, _ = _run_rows(_data([{**r, "extraction_resolved": "geometric"} for r in MIXED]))
    assert "extraction" not in one and one == _run_rows(_data(MIXED))[0]
    mixed, rows = _run_rows(_data([{**r, "extraction_resolved": m} for r, m in zip(MIXED, MODES)]))
    k = mixed.index("extraction")
    assert [r[k] for r in rows] == MODES


def test_summary_counts_each_extraction_mode_on_its_own():
    from dealloy.report.render import _summary

    plain = _summary(observables(_data(MIXED)))
    assert plain.split()[1:6] == ["observable(s)", "agree", "with", "the", "paper,"]
    assert "extraction" not in plain  # one mode: the summary it always had
    text = _summary(observables(_data([{**r, "extraction_resolved": m}
                                       for r, m in zip(MIXED, MODES)])))
    assert text.startswith("Per extraction mode") and "geometric: " in text
    assert "potentiostatic: " in text and "independent of the mode: " in text

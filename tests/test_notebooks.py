"""The analysis/ notebooks run against the smoke study's output, so they cannot rot."""

from __future__ import annotations

import re

import nbformat
import pytest

from conftest import REPO

NOTEBOOKS = sorted((REPO / "analysis").glob("*.ipynb"))


def _execute(path, env, monkeypatch):
    """Run a notebook with ``env`` set for its kernel (the parameter cell reads it)."""
    from nbclient import NotebookClient

    for k, v in env.items():
        monkeypatch.setenv(k, str(v))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def test_one_notebook_per_paper_figure():
    names = {p.stem for p in NOTEBOOKS}
    assert {"fig1-morphology", "fig2-slices", "fig4-rates", "figS5-a2-index",
            "figS10-cluster-classes", "li-diffusivity"} <= names
    for p in NOTEBOOKS:  # each has a tagged parameter cell pointing at the data
        nb = nbformat.read(p, as_version=4)
        assert "parameters" in nb.cells[1].metadata.get("tags", []), p.name
        for c in nb.cells:  # every cell that draws is tagged, so the image check covers it
            if c.cell_type == "code" and ("plt." in c.source or "display(Image" in c.source):
                assert "figure" in c.metadata.get("tags", []), (p.name, c.source[:60])


def test_no_library_module_chooses_the_matplotlib_backend():
    """matplotlib.use() in library code switches a notebook's kernel away from its inline
    backend (figures vanish): only the caller may choose."""
    offenders = [str(f.relative_to(REPO)) for f in (REPO / "dealloy").rglob("*.py")
                 if re.search(r"matplotlib\.use\(|pyplot\.switch_backend\(|plt\.switch_backend\(",
                              f.read_text())]
    assert not offenders, offenders


def test_library_plots_keep_the_callers_backend(tmp_path):
    import matplotlib

    matplotlib.use("svg")  # stands for a notebook's inline backend
    from dealloy.analysis.plots import write_plots
    from dealloy.study.collect import figures

    frames = [{"x": x, "porosity": 0.1, "a2_index": 0.5, "largest_si_cluster_fraction": 1.0,
               "time_ps": float(i), "si_cluster_fractions": dict.fromkeys(
                   ("isolated", "dumbbell", "small", "network"), 0.25)}
              for i, x in enumerate((3.0, 2.0, 1.0))]
    written = write_plots(frames, None, tmp_path / "plots", title="run-a")
    assert {p.name for p in written} >= {"clusters_vs_x.png", "metrics_vs_x.png"}
    import pandas as pd

    figures(None, pd.DataFrame([{"dod_resolved": 1.0}]), tmp_path / "fig", name="s", runs=[])
    assert matplotlib.get_backend() == "svg"
    import matplotlib.pyplot as plt

    assert not plt.get_fignums(), "library figures are never left open in pyplot"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_smoke_study(path, smoke_study, monkeypatch):
    study, directory = smoke_study
    nb = _execute(path, {"DEALLOY_STUDY": study, "DEALLOY_STUDY_DIR": directory}, monkeypatch)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    # the load cell prints "<title>: N finished run(s)": the smoke study has finished runs
    counts = [int(m) for o in outputs for m in re.findall(r"(\d+) finished run", o.get("text", ""))]
    assert counts and counts[0] > 0, counts
    for c in nb.cells:  # every figure cell drew (inline backend kept: nothing switched it)
        if "figure" in c.metadata.get("tags", []):
            assert any("image/png" in o.get("data", {}) for o in c.get("outputs", [])), \
                (path.name, c.source[:80], [o.get("text", o.get("data", {}).get("text/plain"))
                                             for o in c.get("outputs", [])])


@pytest.mark.slow
def test_notebook_finds_a_study_run_from_the_repository_root(smoke_study, tmp_path, monkeypatch):
    """A study run from the repository root lives in <root>/studies/<name>; a notebook (run in
    analysis/) given only the study file finds it there, as `dealloy report` does."""
    import shutil

    study, directory = smoke_study
    root = tmp_path / "repo"
    shutil.copytree(REPO / "workflows", root / "workflows")
    shutil.copytree(REPO / "analysis", root / "analysis")
    shutil.copytree(directory, root / "studies" / "smoke")
    (root / "studies" / "smoke" / "study.json").write_text(
        (directory / "study.json").read_text().replace(str(study), str(root / "workflows" /
                                                                       "smoke.toml")))
    monkeypatch.delenv("DEALLOY_STUDY_DIR", raising=False)
    nb = _execute(root / "analysis" / "figS10-cluster-classes.ipynb",
                  {"DEALLOY_STUDY": "../workflows/smoke.toml", "DEALLOY_STUDY_DIR": ""},
                  monkeypatch)
    text = " ".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                    for o in c.get("outputs", []))
    assert re.search(r"smoke: .*: [1-9]\d* finished run", text), text


@pytest.mark.slow
def test_notebook_pointed_at_missing_study_says_what_to_run(tmp_path, monkeypatch):
    from nbclient.exceptions import CellExecutionError

    with pytest.raises(CellExecutionError, match="dealloy study run") as err:
        _execute(NOTEBOOKS[0], {"DEALLOY_STUDY": REPO / "workflows" / "smoke.toml",
                                "DEALLOY_STUDY_DIR": tmp_path / "not-run"}, monkeypatch)
    assert str(tmp_path / "not-run") in str(err.value)  # says where it looked

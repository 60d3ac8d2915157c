"""The analysis/ notebooks run against the smoke study's output, so they cannot rot."""

from __future__ import annotations

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


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_smoke_study(path, smoke_study, monkeypatch):
    study, directory = smoke_study
    nb = _execute(path, {"DEALLOY_STUDY": study, "DEALLOY_STUDY_DIR": directory}, monkeypatch)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("finished run" in o.get("text", "") for o in outputs)


@pytest.mark.slow
def test_notebook_pointed_at_missing_study_says_what_to_run(tmp_path, monkeypatch):
    from nbclient.exceptions import CellExecutionError

    with pytest.raises(CellExecutionError, match="dealloy study run"):
        _execute(NOTEBOOKS[0], {"DEALLOY_STUDY": REPO / "workflows" / "smoke.toml",
                                "DEALLOY_STUDY_DIR": tmp_path / "not-run"}, monkeypatch)

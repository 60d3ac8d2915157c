"""What the per-run pictures say (issue 17 item 8): the run's name in every title, labelled metric
axes, a pristine alloy's solid not called a Si framework, slices with their thickness and what
is bright."""

from __future__ import annotations

import pytest

from dealloy.analysis import analyze_frame
from dealloy.analysis import plots as plots_module


@pytest.fixture
def figures(monkeypatch):
    """Every figure the plotting code saves: file name -> all its texts (titles, labels, legend)."""
    seen = {}
    real = plots_module.save_figure

    def save(fig, path, written):
        texts = [t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text"))]
        seen[path.name] = " | ".join(t for t in texts if t)
        real(fig, path, written)

    monkeypatch.setattr(plots_module, "save_figure", save)
    return seen


def test_pictures_of_a_pristine_alloy_run(tmp_path, figures):
    from test_analysis_structures import li15si4_sphere

    from dealloy.analysis.microscopy import write_images

    atoms = li15si4_sphere(10.0)
    m0 = analyze_frame(atoms)
    m0["frame"], m0["time_ps"] = 0, 0.0
    m1 = dict(m0, frame=1, time_ps=1.0)
    plots_module.write_plots([m0, m1], None, tmp_path, title="c-Li15Si4")
    write_images(atoms, tmp_path, echo=lambda m: None)
    size = figures["size_distributions.png"]
    assert "ligament (Si framework)" not in size and "solid (Li–Si, Li/Si = 3.5" in size
    for name in ("metrics_vs_x.png", "metrics_vs_time.png", "rdf.png", "clusters_vs_x.png"):
        assert "c-Li15Si4" in figures[name], name
    assert "porosity_" not in figures["metrics_vs_x.png"]  # labels, not raw keys
    assert "0.5 nm thick slices" in figures["slices_z.png"]
    assert "bright = Si" in figures["slices_z.png"]

"""PNG plots of a run's analysis.

g(r), CN histogram, pore/solid size distributions, cluster classes / porosity / coordination vs x
and vs time, Li MSD.

Figures are drawn on :class:`matplotlib.figure.Figure` objects (no pyplot), so library code never
chooses or switches the caller's backend (a notebook keeps its inline figures) and never leaves
figures open.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from dealloy.io import atomic_path

#: readable axis labels of the per-frame metrics plotted vs x and vs time
METRIC_LABELS = {"porosity": "porosity", "a2_index": "A(2 Å) index",
                 "largest_si_cluster_fraction": "Si in largest\nSi cluster",
                 "crystalline_fraction": "crystalline\nfraction",
                 "si_si_coordination_mean": "Si–Si CN"}


#: below this Li/Si the solid of a dealloyed particle is called a ligament (Si framework)
LIGAMENT_MAX_X = 0.5


class _Figures:
    """``subplots`` like pyplot's, on a backend-free :class:`Figure`."""

    @staticmethod
    def subplots(nrows: int = 1, ncols: int = 1, figsize=None, **kwargs):
        fig = Figure(figsize=figsize)
        return fig, fig.subplots(nrows, ncols, **kwargs)


def figures() -> _Figures:
    """Return a figure factory whose ``subplots`` works like pyplot's, without pyplot.

    ``figures().subplots(nrows, ncols, figsize=..., **kwargs)`` returns ``(fig, axes)`` on a new
    :class:`matplotlib.figure.Figure`, so the caller's backend is never chosen or switched.

    Returns
    -------
    object
        The factory (its only method is ``subplots``).
    """
    return _Figures()


def save_figure(fig, path: Path, written: list) -> None:
    """Write ``fig`` to ``path`` as a PNG (120 dpi) atomically and record the path.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : pathlib.Path
        The PNG file; written through a temp file and renamed, so it is never half-written.
    written : list of pathlib.Path
        Appended with ``path`` once the file is in place.
    """
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    written.append(path)


def write_plots(per_frame: list[dict], msd=None, out: Path = Path("plots"),
                title: str | None = None) -> list[Path]:
    """Write the per-run PNGs into ``out``, atomically; ``title`` heads every figure.

    Parameters
    ----------
    per_frame : list of dict
        The per-frame metrics of :func:`dealloy.analysis.core.analyze_frame`, in frame order; the
        last frame's g(r), CN histogram and size distributions are plotted, and every frame's
        cluster classes and :data:`METRIC_LABELS` metrics vs x (Li/Si) and vs time (ps).
    msd : dealloy.analysis.trajectory.MSDResult, optional
        A Li MSD to plot (Å² vs lag in ps, with its fit window and D in cm²/s), or None (not
        plotted: see :func:`dealloy.analysis.diffusivity.diffusion_validity`).
    out : pathlib.Path
        Directory for the PNGs (created if missing).
    title : str, optional
        E.g. the run's name.

    Returns
    -------
    list of pathlib.Path
        The files written (only the plots whose data the frames hold).
    """
    plt = figures()
    head = f"{title}: " if title else ""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    last = per_frame[-1]
    if last.get("rdf"):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        r = np.asarray(last["rdf"]["r_angstrom"])
        for key, label in (("si_si", "Si–Si"), ("li_si", "Li–Si"), ("li_li", "Li–Li")):
            ax.plot(r, np.asarray(last["rdf"][key]), label=label)
        ax.set(xlabel="r (Å)", ylabel="g(r)", title=f"{head}partial g(r), frame {last.get('frame', 0)}")
        ax.legend()
        save_figure(fig, out / "rdf.png", written)
    if "si_si_coordination_histogram" in last:
        h = last["si_si_coordination_histogram"]
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.bar(h["cn"], h["fraction"], color="tab:blue")
        ax.set(xlabel="Si–Si coordination number", ylabel="fraction of Si",
               title=f"{head}mean {last['si_si_coordination_mean']:.2f}, "
                     f"A(2 Å) {last['a2_index']:.2f}")
        save_figure(fig, out / "cn_histogram.png", written)
    if "ligament_diameter_nm" in last:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        # the solid is a Si framework (ligament) only once the Li is gone; before, it is the alloy
        x_last = last.get("x")
        solid = ("ligament (Si framework)" if x_last is not None and x_last < LIGAMENT_MAX_X
                 else f"solid (Li–Si, Li/Si = {x_last:.2f})" if x_last is not None else "solid")
        for key, label in (("ligament_diameter_nm", solid), ("pore_diameter_nm", "pore")):
            hist = last[key]["histogram"]
            if hist["fraction"]:
                e = np.asarray(hist["bin_edges"])
                ax.stairs(hist["fraction"], e, label=f"{label}: {last[key]['mean']:.2f} ± "
                                                      f"{last[key]['std']:.2f} nm")
        ax.set(xlabel="local thickness (nm)", ylabel="volume fraction",
               title=f"{head}porosity {last['porosity']:.3f}")
        ax.legend(fontsize=8)
        save_figure(fig, out / "size_distributions.png", written)
    if len(per_frame) > 1:
        x = np.array([m["x"] for m in per_frame])
        t = np.array([np.nan if m.get("time_ps") is None else m["time_ps"] for m in per_frame])
        if "si_cluster_fractions" in last:
            fig, ax = plt.subplots(figsize=(5, 3.5))
            for cls in ("isolated", "dumbbell", "small", "network"):
                ax.plot(x, [m["si_cluster_fractions"][cls] for m in per_frame], "o-", ms=3, label=cls)
            ax.set(xlabel="x in LixSi", ylabel="fraction of Si", title=f"{head}Si cluster classes")
            ax.invert_xaxis()
            ax.legend(fontsize=8)
            save_figure(fig, out / "clusters_vs_x.png", written)
        keys = [k for k in ("porosity", "a2_index", "largest_si_cluster_fraction",
                            "crystalline_fraction") if k in last]
        for axis_name, axis_vals in (("x", x), ("time", t)):
            if axis_name == "time" and np.all(np.isnan(t)):
                continue
            fig, axes = plt.subplots(len(keys), 1, figsize=(5, 1.8 * len(keys)), sharex=True,
                                     squeeze=False)
            for ax, k in zip(axes[:, 0], keys):
                ax.plot(axis_vals, [m.get(k) if m.get(k) is not None else np.nan
                                    for m in per_frame], "o-", ms=3)
                ax.set_ylabel(METRIC_LABELS.get(k, k.replace("_", " ")), fontsize=8)
            axes[0, 0].set_title(f"{title or 'run'}: metrics vs "
                                 f"{'Li/Si' if axis_name == 'x' else 'time'}", fontsize=9)
            axes[-1, 0].set_xlabel("x in LixSi" if axis_name == "x" else "time (ps)")
            if axis_name == "x":
                axes[-1, 0].invert_xaxis()
            save_figure(fig, out / f"metrics_vs_{axis_name}.png", written)
    if msd is not None:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot(msd.lag_ps, msd.msd_angstrom2, "o", ms=3)
        lo, hi = msd.fit_window_ps
        ax.axvspan(lo, hi, color="0.9", label="fit window")
        ax.set(xlabel="lag (ps)", ylabel="Li MSD (Å²)",
               title=f"{head}D = {msd.diffusion_cm2_per_s:.2e} ± "
                     f"{msd.diffusion_stderr_cm2_per_s:.1e} cm²/s")
        ax.legend()
        save_figure(fig, out / "li_msd.png", written)
    return written

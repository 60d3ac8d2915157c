"""Virtual microscopy images of a frame.

A Z-contrast projection (STEM-HAADF-like: intensity ∝ Σ Z^1.7 over each column, blurred by a
Gaussian probe), a stack of thin slices (tomography-like), both as PNG with a nm scale bar; and an
OVITO 3D render when a Vulkan driver is present.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dealloy.analysis.frame import ELEMENT_Z, Frame, as_frame
from dealloy.analysis import plots  # plots.save_figure looked up at call time (tests record figures)

AXES = {"x": 0, "y": 1, "z": 2}


def zcontrast_image(frame, axis: str = "z", pixel_angstrom: float = 0.5,
                    probe_fwhm_angstrom: float = 1.5, exponent: float = 1.7,
                    slab_angstrom: tuple[float, float] | None = None) -> tuple[np.ndarray, tuple]:
    """Project the intensity Σ Z^exponent per column, blurred by a Gaussian probe.

    Parameters
    ----------
    frame : dealloy.analysis.frame.Frame, ase.Atoms, path, ...
        Anything :func:`~dealloy.analysis.frame.as_frame` accepts (positions in Å).
    axis : {"x", "y", "z"}
        Projection direction (Cartesian).
    pixel_angstrom : float
        Pixel size (Å).
    probe_fwhm_angstrom : float
        Full width at half maximum of the Gaussian probe (Å).
    exponent : float
        Z-contrast exponent: each atom adds Z**exponent (Li Z = 3, Si Z = 14).
    slab_angstrom : tuple of float, optional
        ``(lo, hi)``: keep only atoms with lo <= coordinate < hi along ``axis`` (a thin slice, Å).

    Returns
    -------
    image : numpy.ndarray, shape (n_v, n_u)
        Intensity (arbitrary units), rows along the second in-plane axis (``imshow`` with
        ``origin="lower"``).
    extent : tuple of 4 float
        ``(u_min, u_max, v_min, v_max)`` in Å: the atoms plus 3 probe widths on every side.

    Raises
    ------
    ConfigError
        From :func:`~dealloy.analysis.frame.as_frame`, for a frame it refuses.
    """
    from scipy.ndimage import gaussian_filter

    f = as_frame(frame)
    ax = AXES[axis]
    u, v = [i for i in range(3) if i != ax]
    pos = f.positions
    keep = np.ones(len(pos), bool)
    if slab_angstrom is not None:
        keep = (pos[:, ax] >= slab_angstrom[0]) & (pos[:, ax] < slab_angstrom[1])
    z = np.array([ELEMENT_Z[s] for s in ("Li", "Si")], float) ** exponent
    w = np.where(f.symbols == "Si", z[1], z[0])
    lo = pos[:, [u, v]].min(0) - 3 * probe_fwhm_angstrom
    hi = pos[:, [u, v]].max(0) + 3 * probe_fwhm_angstrom
    bins = np.maximum(np.ceil((hi - lo) / pixel_angstrom).astype(int), 1)
    img, _, _ = np.histogram2d(pos[keep, u], pos[keep, v], bins=bins,
                               range=[[lo[0], lo[0] + bins[0] * pixel_angstrom],
                                      [lo[1], lo[1] + bins[1] * pixel_angstrom]],
                               weights=w[keep])
    sigma = probe_fwhm_angstrom / 2.3548 / pixel_angstrom
    img = gaussian_filter(img, sigma)
    return img.T, (lo[0], lo[0] + bins[0] * pixel_angstrom, lo[1], lo[1] + bins[1] * pixel_angstrom)


def _scale_bar(ax, extent, color="white"):
    width_nm = (extent[1] - extent[0]) / 10
    bar = max(1, int(round(width_nm / 4)))
    for nice in (1, 2, 5, 10, 20, 50, 100):
        if nice >= bar:
            bar = nice
            break
    x0 = extent[0] + 0.05 * (extent[1] - extent[0])
    y0 = extent[2] + 0.06 * (extent[3] - extent[2])
    ax.plot([x0, x0 + bar * 10], [y0, y0], color=color, lw=3)
    ax.text(x0 + bar * 5, y0 + 0.03 * (extent[3] - extent[2]), f"{bar} nm", color=color,
            ha="center", va="bottom", fontsize=8)


def write_images(frame, out: Path, axis: str = "z", n_slices: int = 6,
                 slice_thickness_angstrom: float = 5.0, echo=print) -> list[Path]:
    """Write the virtual-microscopy PNGs of one frame into ``out``, atomically.

    ``haadf_<axis>.png`` (the Z-contrast projection), ``slices_<axis>.png`` (``n_slices`` thin
    slices, evenly spread through the particle) and ``render_3d.png`` (see :func:`render_3d`).

    Parameters
    ----------
    frame : dealloy.analysis.frame.Frame, ase.Atoms, path, ...
        Anything :func:`~dealloy.analysis.frame.as_frame` accepts.
    out : pathlib.Path
        Directory (created if missing).
    axis : {"x", "y", "z"}
        Viewing direction.
    n_slices : int
        Number of slices.
    slice_thickness_angstrom : float
        Thickness of each slice (Å).
    echo : callable
        Receives the one-line note when the 3D render is skipped.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    plt = plots.figures()
    f = as_frame(frame)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    img, ext = zcontrast_image(f, axis)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.imshow(img, origin="lower", extent=ext, cmap="gray")
    _scale_bar(ax, ext)
    ax.set_axis_off()
    ax.set_title(f"Z-contrast projection along {axis}", fontsize=9)
    plots.save_figure(fig, out / f"haadf_{axis}.png", written)
    a = AXES[axis]
    lo, hi = f.positions[:, a].min(), f.positions[:, a].max()
    centres = np.linspace(lo, hi, n_slices + 2)[1:-1]
    cols = min(n_slices, 3)
    rows = int(np.ceil(n_slices / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows), squeeze=False)
    for k, (axx, c) in enumerate(zip(axes.ravel(), centres)):
        s_img, s_ext = zcontrast_image(f, axis, slab_angstrom=(c - slice_thickness_angstrom / 2,
                                                                c + slice_thickness_angstrom / 2))
        axx.imshow(s_img, origin="lower", extent=ext if s_ext is None else s_ext, cmap="copper")
        _scale_bar(axx, s_ext)
        axx.set_title(f"{axis} = {c / 10:.1f} nm", fontsize=8)
        axx.set_axis_off()
    for axx in axes.ravel()[n_slices:]:
        axx.set_axis_off()
    fig.suptitle(f"{slice_thickness_angstrom / 10:g} nm thick slices along {axis} (Z-contrast "
                 "Σ Z^1.7: bright = Si (Z 14), dark = Li (Z 3) or empty)", fontsize=8)
    plots.save_figure(fig, out / f"slices_{axis}.png", written)
    written += render_3d(f, out, echo=echo)
    return written


def vulkan_available() -> bool:
    """Tell whether a Vulkan library (libvulkan) is installed, which OVITO's renderer needs.

    Returns
    -------
    bool
        True if ``ctypes.util.find_library("vulkan")`` finds it.
    """
    import ctypes.util

    return ctypes.util.find_library("vulkan") is not None


def render_3d(frame: Frame, out: Path, echo=print) -> list[Path]:
    """Render the particle in 3D with OVITO (its default element colours) to ``render_3d.png``.

    Skipped with one line to ``echo`` when no Vulkan driver (libvulkan) is installed or
    rendering fails.

    Parameters
    ----------
    frame : dealloy.analysis.frame.Frame
        The frame.
    out : pathlib.Path
        Directory of the PNG (must exist).
    echo : callable
        Receives the note when the render is skipped.

    Returns
    -------
    list of pathlib.Path
        ``[out / "render_3d.png"]``, or [] when skipped.
    """
    if not vulkan_available():
        echo("3D render skipped: no Vulkan driver (install libvulkan1 mesa-vulkan-drivers)")
        return []
    try:
        from ovito.pipeline import Pipeline, StaticSource
        from ovito.vis import OpenGLRenderer, Viewport

        data = frame.to_ovito()
        data.cell.vis.enabled = False
        pipe = Pipeline(source=StaticSource(data=data))
        pipe.add_to_scene()
        vp = Viewport(type=Viewport.Type.Perspective, camera_dir=(-1, -1, -1))
        vp.zoom_all(size=(800, 800))
        path = out / "render_3d.png"
        # OVITO's OpenGL renderer draws off-screen through the Vulkan driver on headless machines
        vp.render_image(size=(800, 800), filename=str(path), renderer=OpenGLRenderer())
        pipe.remove_from_scene()
        return [path]
    except Exception as exc:  # a driver that is present but unusable
        echo(f"3D render skipped: {exc}")
        return []

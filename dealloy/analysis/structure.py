"""Atom-level metrics with OVITO's pipeline.

Partial g(r), Si-Si coordination and the A(2 Å) index, Si cluster classes, crystallinity (c-Si by
diamond identification, c-Li15Si4 by local order).

Each OVITO pipeline gets its own DataCollection (made once in :meth:`Frame.to_ovito`), so no
modifier can overwrite another's output (e.g. ``Coordination``). Isolated particles are
non-periodic boxes around the atoms; bulk frames keep their periodic cell.
"""

from __future__ import annotations

import numpy as np

from dealloy import materials as M
from dealloy.analysis.base import Analysis
from dealloy.analysis.frame import Frame
# the parameter models (units, bounds) live in the config layer: a run config's [analysis] holds them
from dealloy.config.analysis import CrystallinityParams, RDFParams, SiNetworkParams
from dealloy.errors import ConfigError
from dealloy.analysis.frame import as_frame

PAIRS = ("Si-Si", "Li-Si", "Li-Li")


def _pipeline(data, *modifiers):
    from ovito.pipeline import Pipeline, StaticSource

    p = Pipeline(source=StaticSource(data=data))
    for m in modifiers:
        p.modifiers.append(m)
    return p.compute()


def particle_volume_angstrom3(frame: Frame) -> float:
    """Measure the volume a frame's atoms occupy.

    Parameters
    ----------
    frame : dealloy.analysis.frame.Frame
        The frame (positions in Å).

    Returns
    -------
    float
        Å³: the periodic cell's volume for bulk; for a slab or wire the periodic lengths times the
        atoms' extent along the open axes; for an isolated particle its convex hull's volume
        (NaN if the atoms span no volume).
    """
    if frame.periodic:
        return float(abs(np.linalg.det(frame.cell)))
    if frame.partially_periodic:  # slab or wire: periodic lengths x the atoms' extent when open
        cell, _ = frame.analysis_cell(0.0)
        return float(abs(np.linalg.det(cell)))
    from scipy.spatial import ConvexHull, QhullError

    try:
        return float(ConvexHull(frame.positions).volume)
    except (QhullError, ValueError):
        return float("nan")


class PartialRDF(Analysis):
    """Partial g(r) for Si-Si, Li-Si, Li-Li (OVITO ``CoordinationAnalysisModifier(partial=True)``).

    Bulk: the usual normalisation by the cell's number densities. Isolated particle: densities are
    N/V with V the particle's convex-hull volume (documented in docs/analysis.md), so g(r) -> ~1
    inside a dense particle; the first-shell counts (coordination) do not depend on this choice.
    Slabs and wires are normalised like isolated particles, with their analysis cell's volume.

    ``results``: ``r_angstrom`` (bin centres, shape (bins,)) and ``si_si``, ``li_si``, ``li_li``
    (g(r), each shape (bins,); zeros for an absent element). :meth:`compute` raises
    :class:`~dealloy.errors.ConfigError` for ``cutoff_angstrom <= 0`` or ``bins < 2``.

    Parameters
    ----------
    params : RDFParams, optional
        Default ``RDFParams(**kwargs)``.
    **kwargs
        Fields of :class:`RDFParams`.
    """

    Params = RDFParams

    def _compute(self, frame: Frame) -> dict:
        from ovito.modifiers import CoordinationAnalysisModifier

        p = self.params
        if p.cutoff_angstrom <= 0 or p.bins < 2:
            raise ConfigError("rdf cutoff_angstrom must be > 0 and bins >= 2")
        data = frame.to_ovito(margin_angstrom=p.cutoff_angstrom + 1.0)
        out = _pipeline(data, CoordinationAnalysisModifier(
            cutoff=p.cutoff_angstrom, number_of_bins=p.bins, partial=True))
        table = out.tables["coordination-rdf"]
        r = np.asarray(table.xy()[:, 0], float)
        y = np.asarray(table.y, float).reshape(len(r), -1)
        names = list(table.y.component_names) if y.shape[1] > 1 else []
        scale = 1.0
        if not frame.periodic:
            cell, _ = frame.analysis_cell(p.cutoff_angstrom + 1.0)
            v_part = particle_volume_angstrom3(frame)
            if np.isfinite(v_part) and v_part > 0:
                scale = abs(np.linalg.det(cell)) / v_part
        res = {"r_angstrom": r}
        for pair in PAIRS:
            a, b = pair.split("-")
            key = pair.lower().replace("-", "_")
            for cand in (f"{a}-{b}", f"{b}-{a}"):
                if cand in names:
                    res[key] = y[:, names.index(cand)] / scale
                    break
            else:
                res[key] = np.zeros_like(r)  # element absent
        return res


class SiNetwork(Analysis):
    """Si-Si coordination (+ histogram), A(2 Å) index = mean CN / 4, and Si cluster classes.

    The mean counts every Si, surface included (as EXAFS does); ``..._interior_mean`` counts only
    Si deeper than two cutoffs below the particle's convex hull (all Si in a bulk cell).

    Runs OVITO's ``CoordinationAnalysisModifier`` and ``ClusterAnalysisModifier`` on the Si atoms
    only (Li removed first), so ``Coordination`` counts Si neighbours of Si.

    ``results``: ``si_si_coordination_mean``, ``si_si_coordination_interior_mean`` (None when no
    Si is that deep), ``si_si_coordination_histogram`` (``cn``, ``fraction``), ``a2_index``,
    ``si_cluster_fractions`` (share of Si that is ``isolated``, ``dumbbell``, ``small``,
    ``network``), ``largest_si_cluster_fraction``, ``si_cluster_count`` and ``per_atom`` (arrays
    of shape (n_Si,): ``coordination``, ``cluster_size``). :meth:`compute` raises
    :class:`~dealloy.errors.ConfigError` for ``si_si_cutoff_angstrom <= 0`` or
    ``small_cluster_max < 3``.

    Parameters
    ----------
    params : SiNetworkParams, optional
        Default ``SiNetworkParams(**kwargs)``.
    **kwargs
        Fields of :class:`SiNetworkParams`.

    References
    ----------
    K. Ogata, D.-S. Ko et al., "Spontaneous and mass-conserved formation of continuous Si
    frameworks" (the paper dealloy reproduces; ../shared/paper), Fig. S5: the normalised
    integral of the 2 Å Si-Si EXAFS peak, A(2 Å Si-Si).
    """

    Params = SiNetworkParams

    def _compute(self, frame: Frame) -> dict:
        from ovito.modifiers import ClusterAnalysisModifier, CoordinationAnalysisModifier

        p = self.params
        if p.si_si_cutoff_angstrom <= 0 or p.small_cluster_max < 3:
            raise ConfigError("si_si_cutoff_angstrom must be > 0 and small_cluster_max >= 3")
        si = frame.subset(frame.mask("Si"))
        out = _pipeline(si.to_ovito(margin_angstrom=p.si_si_cutoff_angstrom + 1.0),
                        CoordinationAnalysisModifier(cutoff=p.si_si_cutoff_angstrom, number_of_bins=2),
                        ClusterAnalysisModifier(cutoff=p.si_si_cutoff_angstrom, sort_by_size=True))
        cn = np.asarray(out.particles["Coordination"], int)
        cluster = np.asarray(out.particles["Cluster"], int)
        _, inverse, sizes = np.unique(cluster, return_inverse=True, return_counts=True)
        size_of_atom = sizes[inverse]
        n = len(cn)
        fractions = {
            "isolated": float(np.mean(size_of_atom == 1)),
            "dumbbell": float(np.mean(size_of_atom == 2)),
            "small": float(np.mean((size_of_atom >= 3) & (size_of_atom <= p.small_cluster_max))),
            "network": float(np.mean(size_of_atom > p.small_cluster_max)),
        }
        hist = np.bincount(np.minimum(cn, p.cn_max), minlength=p.cn_max + 1)
        mean_cn = float(cn.mean())
        depth = None
        if frame.partially_periodic:
            depth = _depth_along_open_axes(si)
        elif not frame.periodic:
            depth = _depth_below_hull(si)
        interior = cn if depth is None else cn[depth > 2 * p.si_si_cutoff_angstrom]
        return {
            "si_si_coordination_mean": mean_cn,
            "si_si_coordination_interior_mean": float(interior.mean()) if len(interior) else None,
            "si_si_coordination_histogram": {"cn": list(range(p.cn_max + 1)),
                                             "fraction": (hist / n).tolist()},
            "a2_index": mean_cn / 4.0,
            "si_cluster_fractions": fractions,
            "largest_si_cluster_fraction": float(sizes.max() / n),
            "si_cluster_count": int(len(sizes)),
            "per_atom": {"coordination": cn, "cluster_size": size_of_atom},
        }


def _depth_along_open_axes(frame: Frame):
    """Measure the distance of each atom below the surfaces of a slab or wire (Å).

    Measured along the open cell axes only (the periodic directions have no surface).

    Returns
    -------
    numpy.ndarray, shape (N,)
        Depth (Å).
    """
    cell, origin = frame.analysis_cell(0.0)
    frac = np.linalg.solve(cell.T, (frame.positions - origin).T).T
    depth = np.full(frame.n_atoms, np.inf)
    for ax in range(3):
        if frame.pbc[ax]:
            continue
        vol = abs(np.linalg.det(cell))
        height = vol / np.linalg.norm(np.cross(cell[(ax + 1) % 3], cell[(ax + 2) % 3]))
        depth = np.minimum(depth, np.minimum(frac[:, ax], 1.0 - frac[:, ax]) * height)
    return depth


def _depth_below_hull(frame: Frame):
    """Approximate the distance of each atom below its convex hull (Å).

    The smallest distance to the planes of the 8 hull facets whose centroids are nearest.

    Returns
    -------
    numpy.ndarray, shape (N,), or None
        Depth (Å); None if there is no hull (flat or tiny).
    """
    from scipy.spatial import ConvexHull, QhullError, cKDTree

    try:
        hull = ConvexHull(frame.positions)
    except (QhullError, ValueError):
        return None
    eq = hull.equations  # n.x + d <= 0 inside
    centroids = frame.positions[hull.simplices].mean(axis=1)
    k = min(8, len(centroids))
    _, idx = cKDTree(centroids).query(frame.positions, k=k)
    idx = idx.reshape(len(frame.positions), k)
    dist = -(np.einsum("nkj,nj->nk", eq[idx, :3], frame.positions) + eq[idx, 3])
    return dist.min(axis=1)


class Crystallinity(Analysis):
    """Share of atoms in crystalline surroundings.

    - c-Si: OVITO ``IdentifyDiamondModifier`` on the Si atoms (cubic/hexagonal diamond incl. first
      and second neighbours).
    - c-Li15Si4 (I-43d): local order of the Si sublattice. An Si is c-Li15Si4-like when it has no
      Si within ``si_si_cutoff_angstrom`` (isolated, as Si4- in the crystal) and the averaged
      bond-orientational order of its Si shell (Lechner-Dellago q̄4, q̄6 over the Si within
      ``li15si4_shell_angstrom``: 11 Si at 4.53-4.80 Å in the crystal; at least ``min_shell_si``
      of them isolated) matches the ideal I-43d
      cell's within ``qbar4_tolerance``/``qbar6_tolerance``. A Li atom counts as crystalline when it has Si within
      ``li_si_cutoff_angstrom`` and all of them are. Amorphous Li15Si4 has isolated Si too, but
      not the crystal's q̄4/q̄6.

    ``results``: ``crystalline_fraction`` (share of all atoms), ``crystalline_fraction_by_phase``
    (``c_si``, ``c_li15si4``, shares of all atoms) and ``si_crystalline_fraction_by_phase``
    (shares of the Si).

    Parameters
    ----------
    params : CrystallinityParams, optional
        Default ``CrystallinityParams(**kwargs)``.
    **kwargs
        Fields of :class:`CrystallinityParams`.

    References
    ----------
    W. Lechner, C. Dellago, "Accurate determination of crystal structures based on averaged local
    bond order parameters", J. Chem. Phys. 129 (2008) 114707, doi:10.1063/1.2977970.
    Diamond identification: OVITO's ``IdentifyDiamondModifier`` (the method and its reference are
    in OVITO's manual, "Identify diamond structure").
    """

    Params = CrystallinityParams

    def _compute(self, frame: Frame) -> dict:
        from ovito.modifiers import IdentifyDiamondModifier

        p = self.params
        si_mask = frame.mask("Si")
        si = frame.subset(si_mask)
        data = si.to_ovito(margin_angstrom=p.li15si4_shell_angstrom + 1.0)
        out = _pipeline(data, IdentifyDiamondModifier())
        c_si = np.asarray(out.particles["Structure Type"]) != 0
        lis = _li15si4_like(out, p)
        n = frame.n_atoms
        c_lisi_li = 0
        li_mask = frame.mask("Li")
        if li_mask.any() and lis.any():
            c_lisi_li = _crystalline_li(frame, si_mask, li_mask, lis, p.li_si_cutoff_angstrom)
        n_c_si = int(c_si.sum())
        n_c_lisi = int(lis.sum()) + int(c_lisi_li)
        return {
            "crystalline_fraction": (n_c_si + n_c_lisi) / n,
            "crystalline_fraction_by_phase": {"c_si": n_c_si / n, "c_li15si4": n_c_lisi / n},
            "si_crystalline_fraction_by_phase": {"c_si": float(c_si.mean()),
                                                 "c_li15si4": float(lis.mean())},
        }


def _neighbors(data, cutoff, indices=None):
    from ovito.data import CutoffNeighborFinder

    finder = CutoffNeighborFinder(cutoff, data)
    idx, vec = finder.find_all(indices) if indices is not None else finder.find_all()
    return np.asarray(idx), np.asarray(vec, float)


def _qbar(data, p: CrystallinityParams):
    """Compute the isolated-Si flag and Lechner-Dellago averaged q4, q6 of each isolated Si.

    Averaged over the isolated Si of its shell (non-isolated Si are not c-Li15Si4-like and get 0;
    skipping them keeps Si frameworks cheap).

    Returns
    -------
    isolated : numpy.ndarray of bool, shape (n,)
        Isolated Si with at least ``min_shell_si`` isolated Si in the shell.
    qbar4, qbar6 : numpy.ndarray, shape (n,)
        The averaged order parameters.

    Notes
    -----
    This is ``freud.order.Steinhardt([4, 6], average=True)`` on the same neighbour pairs
    (tests/test_analysis.py::test_qbar_agrees_with_freud_steinhardt). It stays in numpy because
    freud works in single precision (|Δq̄| up to 5e-6 on a 100k-atom c-Li15Si4 sphere, against
    tolerances the flags are cut at) and needs a periodic box, where OVITO's neighbour finder
    takes any cell; freud is not faster (0.91x the CPU time, benchmarks/bench_kernels.py).

    References
    ----------
    W. Lechner, C. Dellago, "Accurate determination of crystal structures based on averaged local
    bond order parameters", J. Chem. Phys. 129 (2008) 114707, doi:10.1063/1.2977970.
    """
    from scipy.special import sph_harm_y

    n = data.particles.count
    q4o, q6o = np.zeros(n), np.zeros(n)
    bonds, _ = _neighbors(data, p.si_si_cutoff_angstrom)
    iso = np.bincount(bonds[:, 0], minlength=n) == 0 if len(bonds) else np.ones(n, bool)
    if not iso.any():
        return iso, q4o, q6o
    idx, vec = _neighbors(data, p.li15si4_shell_angstrom, np.flatnonzero(iso))
    if len(idx) == 0:
        return np.zeros(n, bool), q4o, q6o
    d = np.linalg.norm(vec, axis=1)
    keep = iso[idx[:, 1]]
    i, j, v, dd = idx[keep, 0], idx[keep, 1], vec[keep], d[keep]
    nb = np.bincount(i, minlength=n)
    theta = np.arccos(np.clip(v[:, 2] / dd, -1, 1))
    phi = np.arctan2(v[:, 1], v[:, 0])
    out = []
    for ell in (4, 6):
        # m >= 0 only: |Y_l^-m| = |Y_l^m|, so sum_m |q_lm|^2 = |q_l0|^2 + 2 sum_{m>0} |q_lm|^2
        q = np.zeros((n, ell + 1), complex)
        for m in range(ell + 1):
            y = sph_harm_y(ell, m, theta, phi)
            q[:, m] = np.bincount(i, weights=y.real, minlength=n) \
                + 1j * np.bincount(i, weights=y.imag, minlength=n)
        q /= np.maximum(nb, 1)[:, None]
        qbar = q.copy()
        for m in range(ell + 1):
            qbar[:, m] += np.bincount(i, weights=q[j, m].real, minlength=n) \
                + 1j * np.bincount(i, weights=q[j, m].imag, minlength=n)
        qbar /= (nb + 1)[:, None]
        w = np.array([1.0] + [2.0] * ell)
        out.append(np.sqrt(4 * np.pi / (2 * ell + 1) * np.sum(w * np.abs(qbar) ** 2, axis=1)))
    return iso & (nb >= p.min_shell_si), out[0], out[1]


_REFERENCE: dict = {}


def li15si4_reference(p: CrystallinityParams) -> tuple[float, float]:
    """Compute q̄4, q̄6 of Si in the ideal c-Li15Si4 cell (I-43d, a = 10.685 Å), once per setting.

    Parameters
    ----------
    p : CrystallinityParams
        Its ``li15si4_shell_angstrom`` and ``si_si_cutoff_angstrom`` are used.

    Returns
    -------
    tuple of float
        (q̄4, q̄6), the mean over the cell's Si (all equivalent by symmetry).

    References
    ----------
    W. Lechner, C. Dellago, J. Chem. Phys. 129 (2008) 114707, doi:10.1063/1.2977970; the cell:
    :func:`dealloy.materials.li15si4_conventional_cell`.
    """
    key = (p.li15si4_shell_angstrom, p.si_si_cutoff_angstrom)
    if key not in _REFERENCE:
        f = as_frame(M.li15si4_conventional_cell(M.LI15SI4_A_ANGSTROM))
        _, q4, q6 = _qbar(f.subset(f.mask("Si")).to_ovito(), p)
        _REFERENCE[key] = (float(np.mean(q4)), float(np.mean(q6)))
    return _REFERENCE[key]


def _li15si4_like(data, p: CrystallinityParams) -> np.ndarray:
    isolated, q4, q6 = _qbar(data, p)
    r4, r6 = li15si4_reference(p)
    return isolated & (np.abs(q4 - r4) < p.qbar4_tolerance) & (np.abs(q6 - r6) < p.qbar6_tolerance)


def _crystalline_li(frame, si_mask, li_mask, lis, cutoff) -> int:
    """Count the Li with at least one Si within ``cutoff`` whose Si there are all c-Li15Si4-like.

    Neighbours come from OVITO's ``CutoffNeighborFinder`` on the frame's own cell, so periodic
    images are exact for any cell shape and orientation (general triclinic included); an earlier
    version wrapped into the cell's diagonal, which is wrong for triclinic cells and made the
    crystalline fraction depend on how the cell was oriented.

    Returns
    -------
    int
        The count.
    """
    data = frame.to_ovito(margin_angstrom=cutoff + 1.0)
    idx, _ = _neighbors(data, cutoff, np.flatnonzero(li_mask))
    n = frame.n_atoms
    if len(idx) == 0:
        return 0
    i, j = idx[:, 0], idx[:, 1]
    to_si = si_mask[j]
    i, j = i[to_si], j[to_si]
    si_ord = np.cumsum(si_mask) - 1  # frame index -> index among the Si (the order of ``lis``)
    n_si = np.bincount(i, minlength=n)
    n_bad = np.bincount(i, weights=~lis[si_ord[j]], minlength=n)
    return int(np.sum(li_mask & (n_si > 0) & (n_bad == 0)))

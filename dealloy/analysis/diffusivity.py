"""Li diffusion coefficients from positions over time.

The per-run D of ``dealloy analyze`` (:func:`li_diffusion`, reported only where it means
something) and the Arrhenius fit of D(T) (:func:`arrhenius`, :func:`predict`).

The MD workflow that produces D(T) for c- and a-Li15Si4 (``dealloy diffusivity``) is
:mod:`dealloy.potentials.diffusivity`, one layer up: it runs LAMMPS, this module only analyses.

References
----------
.. [Einstein1905] A. Einstein, "Über die von der molekularkinetischen Theorie der Wärme
   geforderte Bewegung von in ruhenden Flüssigkeiten suspendierten Teilchen", Ann. Phys. 17
   (1905) 549 (the Einstein relation MSD = 6 D t in 3D; DOI not checked here).
.. [Arrhenius1889] S. Arrhenius, "Über die Reaktionsgeschwindigkeit bei der Inversion von
   Rohrzucker durch Säuren", Z. Phys. Chem. 4 (1889) 226 (D = D0 exp(-Ea / kB T); DOI not
   checked here).
"""

from __future__ import annotations

import math

import numpy as np

from dealloy import materials as M
from dealloy.analysis.results import LiDiffusion
from dealloy.analysis.trajectory import MSDResult, evenly_spaced_subset, msd, unwrap
from dealloy.materials import MASSES_AMU

KB_EV = M.UNITS["kB"]  # eV/K, CODATA 2018


def arrhenius(temps_k, d_cm2_s, d_err) -> dict:
    """Fit ln D = ln D0 - Ea / (kB T) by weighted least squares (Arrhenius).

    Weights are 1 / sigma(ln D)^2 with sigma(ln D) = d_err / D (0.3 where no error is given,
    at least 0.05); with more than two points the covariance is scaled by the reduced chi^2
    when that exceeds 1. Points with D <= 0 are left out.

    Parameters
    ----------
    temps_k : array_like, shape (n,)
        Temperatures (K).
    d_cm2_s : array_like, shape (n,)
        Diffusion coefficients (cm²/s).
    d_err : array_like, shape (n,)
        Their standard errors (cm²/s; 0 for unknown).

    Returns
    -------
    dict
        ``ln_d0`` (ln of D0 in cm²/s), ``activation_energy_ev`` (eV),
        ``activation_energy_stderr_ev``, ``cov`` (2x2 covariance of (ln D0, Ea), nested lists)
        and ``n_points``; with more than two points also ``reduced_chi2`` and
        ``linearity_p_value`` (the chi^2 test of the straight line against the given errors: a
        small p says one Arrhenius law does not describe the points, e.g. a glass that relaxes
        or melts above some temperature); {} with fewer than two positive D.

    References
    ----------
    S. Arrhenius, Z. Phys. Chem. 4 (1889) 226 (module references).
    """
    t = np.asarray(temps_k, float)
    d = np.asarray(d_cm2_s, float)
    e = np.asarray(d_err, float)
    ok = d > 0
    if ok.sum() < 2:
        return {}
    x = 1.0 / (KB_EV * t[ok])
    y = np.log(d[ok])
    sig = np.where(e[ok] > 0, e[ok] / d[ok], 0.3)
    w = 1.0 / np.maximum(sig, 0.05) ** 2
    A = np.vstack([np.ones_like(x), -x]).T
    W = np.diag(w)
    cov = np.linalg.inv(A.T @ W @ A)
    coef = cov @ A.T @ W @ y
    extra = {}
    if ok.sum() > 2:  # scale by the reduced chi^2 when it says the errors are too small
        from scipy.stats import chi2 as chi2_dist

        dof = int(ok.sum()) - 2
        chi2 = float(((y - A @ coef) ** 2 * w).sum() / dof)
        cov = cov * max(chi2, 1.0)
        extra = {"reduced_chi2": chi2, "linearity_p_value": float(chi2_dist.sf(chi2 * dof, dof))}
    return {"ln_d0": float(coef[0]), "activation_energy_ev": float(coef[1]),
            "activation_energy_stderr_ev": float(math.sqrt(cov[1, 1])), "cov": cov.tolist(),
            "n_points": int(ok.sum()), **extra}


def predict(fit: dict, temperature_k: float) -> tuple[float, float]:
    """Predict D at a temperature from an Arrhenius fit.

    Parameters
    ----------
    fit : dict
        A non-empty result of :func:`arrhenius`.
    temperature_k : float
        Temperature (K).

    Returns
    -------
    (float, float)
        D (cm²/s) and the 1-sigma uncertainty of ln D (so D is uncertain by a factor exp of it).

    Raises
    ------
    KeyError
        For an empty fit (fewer than two points were fitted).
    """
    a = np.array([1.0, -1.0 / (KB_EV * temperature_k)])
    ln_d = fit["ln_d0"] + a[1] * fit["activation_energy_ev"]
    var = float(a @ np.asarray(fit["cov"]) @ a)
    return float(math.exp(ln_d)), float(math.sqrt(max(var, 0.0)))


def single_hop_diffusivity(atoms, time_ps: float) -> float:
    """Return the Li diffusion coefficient of one Li hop in a whole run: the resolution floor.

    One Li moving by one nearest-neighbour distance ``d`` during a run of length ``t`` raises
    the Li MSD (a mean over the ``N`` Li) by ``d^2 / N``, i.e. by the Einstein relation
    [Einstein1905]_ a D of ``d^2 / (6 N t)``. A fitted D of a few times that is a few hops: a
    counting measurement (:func:`hop_statistics`), not a smooth MSD. ``d`` is the median over
    Li of the distance to the nearest other Li in ``atoms`` (minimum image along periodic
    directions; a Li with no other Li within 6 Å of a periodic cell is left out of the median
    and still counts in ``N``).

    Parameters
    ----------
    atoms : ase.Atoms
        The structure the run starts from (positions in Å), with at least two Li; a periodic
        direction needs its cell vector (an isolated particle needs no cell).
    time_ps : float
        Length of the production run (ps), > 0.

    Returns
    -------
    float
        ``d^2 / (6 N_Li t)`` in cm²/s.

    Raises
    ------
    ValueError
        With fewer than two Li, no Li pair within 6 Å in a periodic cell, a periodic
        direction without a cell vector, or ``time_ps <= 0``.
    """
    if not time_ps > 0:
        raise ValueError(f"time_ps {time_ps}: give the run's length in ps, > 0")
    li = np.array(atoms.get_chemical_symbols()) == "Li"
    if li.sum() < 2:
        raise ValueError(f"{int(li.sum())} Li: the hop floor needs at least two")
    sub = atoms[li]
    if not any(sub.pbc):  # isolated: a k-d tree (ASE's cell-less binning would be O(N^2))
        from scipy.spatial import cKDTree

        nearest = cKDTree(sub.positions).query(sub.positions, k=2)[0][:, 1]
    else:
        from ase.neighborlist import neighbor_list

        if any(np.linalg.norm(sub.cell.array[k]) == 0 for k in range(3) if sub.pbc[k]):
            raise ValueError("a periodic direction without a cell vector: give the cell")
        if sub.cell.rank < 3:  # a slab or wire: close the cell along the open directions
            sub = sub.copy()
            span = np.ptp(sub.positions, axis=0) + 20.0
            sub.cell = [sub.cell.array[k] if sub.pbc[k] else np.eye(3)[k] * span[k]
                        for k in range(3)]
        i, d = neighbor_list("id", sub, 6.0)
        if not len(i):
            raise ValueError("no Li pair within 6 Å: not a Li-rich structure")
        nearest = np.full(len(sub), np.inf)
        np.minimum.at(nearest, i, d)
    d_nn = float(np.median(nearest[np.isfinite(nearest)]))
    return d_nn ** 2 / (6.0 * int(li.sum()) * time_ps) * 1e-4  # Å^2/ps -> cm^2/s


#: one-sided confidence of the upper limits (Poisson, :func:`hop_statistics`)
UPPER_LIMIT_CONFIDENCE = 0.95


def hop_statistics(d_cm2_per_s: float, stderr_cm2_per_s: float, floor_cm2_per_s: float) -> dict:
    """Judge a fitted D against its single-hop floor as a counting measurement.

    ``n = D / floor`` is the number of nearest-neighbour hops of one Li that the MSD amounts to.
    A few hops scatter as a Poisson count: relative error ``1 / sqrt(n)``, far more than the
    MSD fit's own standard error says (its points are not independent). So the error used is
    ``max(stderr, sqrt(D * floor))`` (= D / sqrt(n)), D is resolved when it exceeds twice that
    (so at least 4 hops' worth) and twice the fit's standard error, and an unresolved D has the
    upper limit ``max(n_up * floor, D + 2 * error)`` with ``n_up`` the one-sided 95 % Poisson
    upper limit for the observed ``n`` (``chi2.ppf(0.95, 2 (n + 1)) / 2``: 3.0 hops for none;
    Gehrels 1986).

    Parameters
    ----------
    d_cm2_per_s : float
        The fitted D (cm²/s; may be negative).
    stderr_cm2_per_s : float
        Its standard error from the MSD fit (cm²/s).
    floor_cm2_per_s : float
        :func:`single_hop_diffusivity` of the run (cm²/s), > 0.

    Returns
    -------
    dict
        ``resolved`` (bool), ``hops`` (``max(D, 0) / floor``), ``stderr_with_counting_cm2_per_s``
        and ``upper_limit_cm2_per_s`` (the 95 % upper limit; for a resolved D the same formula,
        ``D + 2 * error``).

    References
    ----------
    N. Gehrels, "Confidence limits for small numbers of events in astrophysical data",
    Astrophys. J. 303 (1986) 336, doi:10.1086/164079 (Poisson upper limits).
    """
    from scipy.stats import chi2

    d, err, floor = float(d_cm2_per_s), float(stderr_cm2_per_s), float(floor_cm2_per_s)
    hops = max(d, 0.0) / floor
    err_c = max(err, math.sqrt(max(d, 0.0) * floor))
    resolved = bool(d > 2.0 * err_c and d > 2.0 * err)
    n_up = float(chi2.ppf(UPPER_LIMIT_CONFIDENCE, 2.0 * (hops + 1.0)) / 2.0)
    return {"resolved": resolved, "hops": hops, "stderr_with_counting_cm2_per_s": err_c,
            "upper_limit_cm2_per_s": max(n_up * floor, d + 2.0 * err_c)}


# ---- Li diffusion coefficient of a trajectory, reported only where it means something ----------
#: fewest Li atoms present in every frame of the fit window: the MSD of fewer atoms scatters by
#: more than ~15 % (relative error of a mean over N independent walkers ~ 1/sqrt(N))
MIN_LI_FOR_D = 50
#: fewest evenly spaced frames at fixed composition (the fit uses lags 0.2-0.8 of the longest)
MIN_FRAMES_FOR_D = 8


def _fixed_composition_window(frames) -> tuple[int, int]:
    """[start, stop) of the longest stretch of frames holding the same atoms (Li ids or counts)."""
    def key(f):
        li = f.mask("Li")
        if f.ids is not None:
            return (tuple(np.sort(f.ids[li]).tolist()), int((~li).sum()))
        return (int(li.sum()), int((~li).sum()))

    keys = [key(f) for f in frames]
    best, start = (0, 0), 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = i
    return best


def li_diffusion(frames, fit_window=(0.2, 0.8)) -> tuple[LiDiffusion, MSDResult | None]:
    """Li tracer diffusion coefficient of a trajectory, only where it means something.

    Criteria (all must hold, else ``reported`` is False and ``why_not`` says which failed):

    1. fixed composition: the fit uses the longest stretch of consecutive frames holding the same
       atoms (same Li ids; during extraction or insertion Li leave or enter, and the MSD of the
       survivors is not a diffusion coefficient of any one composition);
    2. enough atoms: at least :data:`MIN_LI_FOR_D` Li in that stretch;
    3. enough time: at least :data:`MIN_FRAMES_FOR_D` evenly spaced frames in it;
    4. drift removed: in an isolated particle (no periodic direction, at least 3 Si) the Li are
       followed in the frame of the Si, whose centroid and rotation (Kabsch) are removed frame
       by frame -- a thermostatted particle turns as well as drifts, and its rotation alone adds
       a linear MSD of order kT / (N m gamma); otherwise each frame's centre-of-mass
       displacement (of all atoms, from ``info['com_angstrom']`` when the frames carry it,
       else of the Li themselves, a 1/N_Li bias) is subtracted. The drift (and rotation)
       removed is reported;
    5. resolved: at least 4 Li hops' worth of MSD over the window and above twice its error
       (:func:`hop_statistics` with the :func:`single_hop_diffusivity` of the window's first
       frame; the error is the larger of the fit's and the Poisson counting error of that many
       hops); else ``why_not`` quotes D and its 95 % upper limit.

    The MSD and fit are :func:`dealloy.analysis.trajectory.msd` (all time origins, least squares
    over ``fit_window``, D = slope / 6, the Einstein relation [Einstein1905]_).

    Parameters
    ----------
    frames : list of dealloy.analysis.frame.Frame
        Time-ordered frames (``time_ps`` set; positions in Å; Li positions unwrapped in
        ``info['unwrapped']`` for periodic cells, or wrapped and unwrapped here by minimum
        image; optional ``info['com_angstrom']``, shape (3,)).
    fit_window : (float, float)
        Fractions of the longest lag fitted.

    Returns
    -------
    record : dealloy.analysis.results.LiDiffusion
        The record (``li_diffusion`` of metrics.json): ``reported``, ``why_not`` (None when
        reported), ``diffusion_cm2_per_s`` (None when not), ``criteria`` (the thresholds), and as
        far as the criteria got: ``n_atoms`` (Li in the window), ``window_ps`` (its first and last
        time), ``n_frames`` (evenly spaced frames in it), then
        ``d_single_hop_cm2_per_s`` (the floor of criterion 5), then
        ``diffusion_upper_limit_cm2_per_s`` when it fails, or when reported
        ``diffusion_stderr_cm2_per_s`` (with the counting error), ``fit_window_ps``,
        ``drift_removed_angstrom``, ``rotation_removed_deg`` (isolated particles),
        ``drift_of`` (``the Si (translation and rotation)``, ``all atoms`` or ``the Li``) and
        ``window`` (the fixed-composition window in words). D in cm²/s, times in ps, drift in Å.
    msd : dealloy.analysis.trajectory.MSDResult or None
        The MSD curve and fit when reported, else None.
    """
    criteria = {"fixed_composition": True, "min_li_atoms": MIN_LI_FOR_D,
                "min_evenly_spaced_frames": MIN_FRAMES_FOR_D, "drift_removed": True,
                "resolved": "D >= 4 Li hops over the window and D > 2 errors (fit, counting)"}
    out = {"reported": False, "why_not": None, "diffusion_cm2_per_s": None, "criteria": criteria}
    if len(frames) < 2:
        out["why_not"] = "a single frame has no time evolution"
        return LiDiffusion.model_validate(out), None
    if any(f.time_ps is None for f in frames):
        out["why_not"] = "the frames carry no simulation time"
        return LiDiffusion.model_validate(out), None
    a, b = _fixed_composition_window(frames)
    win = frames[a:b]
    n_li = int(win[0].mask("Li").sum())
    if b - a < len(frames):
        n0, n1 = int(frames[0].mask("Li").sum()), int(frames[-1].mask("Li").sum())
        comp = (f"the atoms change between frames (Li {n0} -> {n1}: extraction or insertion); "
                f"the longest stretch at fixed composition is {b - a} frame(s), "
                f"t = {win[0].time_ps:g}-{win[-1].time_ps:g} ps, with {n_li} Li")
    else:
        comp = f"all {len(frames)} frames at fixed composition ({n_li} Li)"
    out.update(n_atoms=n_li, window_ps=[float(win[0].time_ps), float(win[-1].time_ps)])
    if n_li < MIN_LI_FOR_D:
        out["why_not"] = f"{comp}: fewer than {MIN_LI_FOR_D} Li to average over"
        return LiDiffusion.model_validate(out), None
    t = np.array([f.time_ps for f in win], float)
    keep = evenly_spaced_subset(t)
    out["n_frames"] = int(len(keep))
    if len(keep) < MIN_FRAMES_FOR_D:
        out["why_not"] = (f"{comp}: {len(keep)} evenly spaced frame(s), fewer than "
                          f"{MIN_FRAMES_FOR_D} (dump more often or run longer at fixed composition)")
        return LiDiffusion.model_validate(out), None
    win = [win[i] for i in keep]
    pos, coms, si_pos = [], [], []
    for f in win:
        li = f.mask("Li")
        p = np.asarray(f.info.get("unwrapped", f.positions))[li]
        q = np.asarray(f.positions)[~li]
        if f.ids is not None:
            p = p[np.argsort(f.ids[li])]
            q = q[np.argsort(f.ids[~li])]
        pos.append(p)
        si_pos.append(q)
        coms.append(f.info.get("com_angstrom"))
    periodic = win[0].periodic and "unwrapped" not in win[0].info
    x = unwrap(pos, win[0].cell if periodic else None)
    rotation_deg = None
    if not any(win[0].pbc) and len(si_pos[0]) >= 3:
        # an isolated particle also turns (Langevin fixes its momentum, not its angular
        # momentum): follow the Si frame, translation and rotation (Kabsch on the Si)
        si_arr = np.asarray(si_pos, float)
        x, rotation_deg = _in_si_frame(x, si_arr)
        drift = float(np.linalg.norm(si_arr[-1].mean(axis=0) - si_arr[0].mean(axis=0)))
        drift_of = "the Si (translation and rotation)"
    else:
        if all(c is not None for c in coms):
            com = np.asarray(coms, float)
            drift_of = "all atoms"
        else:
            com = x.mean(axis=1)
            drift_of = "the Li"
        x = x - com[:, None, :]
        drift = float(np.linalg.norm(com[-1] - com[0]))
    res = msd(t[keep], x, fit_window)
    from ase import Atoms

    f0 = win[0]
    first = Atoms(["Li"] * len(pos[0]), positions=pos[0], pbc=f0.pbc,
                  cell=f0.cell if any(f0.pbc) else None)
    try:
        floor = single_hop_diffusivity(first, float(t[keep][-1] - t[keep][0]))
    except ValueError as e:
        out["why_not"] = f"{comp}: no resolution floor ({e})"
        return LiDiffusion.model_validate(out), None
    out["d_single_hop_cm2_per_s"] = floor
    hs = hop_statistics(res.diffusion_cm2_per_s, res.diffusion_stderr_cm2_per_s, floor)
    if not hs["resolved"]:
        out["diffusion_upper_limit_cm2_per_s"] = hs["upper_limit_cm2_per_s"]
        out["why_not"] = (f"{comp}: D = {res.diffusion_cm2_per_s:.2e} cm²/s is not resolved "
                          f"({hs['hops']:.1f} Li hops' worth over the window, fewer than 4, or "
                          f"within 2 errors of 0; 95 % upper limit {hs['upper_limit_cm2_per_s']:.1e}"
                          " cm²/s): run longer at fixed composition")
        return LiDiffusion.model_validate(out), None
    out.update(reported=True, diffusion_cm2_per_s=res.diffusion_cm2_per_s,
               diffusion_stderr_cm2_per_s=hs["stderr_with_counting_cm2_per_s"],
               fit_window_ps=list(res.fit_window_ps), n_atoms=res.n_atoms,
               drift_removed_angstrom=drift,
               drift_of=drift_of, window=comp,
               **({"rotation_removed_deg": rotation_deg} if rotation_deg is not None else {}))
    return LiDiffusion.model_validate(out), res


def _in_si_frame(li: np.ndarray, si: np.ndarray) -> tuple[np.ndarray, float]:
    """Li positions in the frame of the Si: each frame's Si centroid at 0, rotated onto frame 0.

    ``li`` (n_frames, n_li, 3) and ``si`` (n_frames, n_si, 3), same atoms in the same order in
    every frame. The rotation of each frame onto the first is the least-squares (Kabsch) one of
    the centred Si (:meth:`scipy.spatial.transform.Rotation.align_vectors`).

    Returns
    -------
    (numpy.ndarray, float)
        The Li positions in the Si frame, shape of ``li`` (Å), and the largest rotation removed
        (degrees).
    """
    from scipy.spatial.transform import Rotation

    ref = si[0] - si[0].mean(axis=0)
    out = np.empty_like(li)
    largest = 0.0
    for k in range(len(li)):
        c = si[k].mean(axis=0)
        rot = Rotation.align_vectors(ref, si[k] - c)[0]
        out[k] = rot.apply(li[k] - c)
        largest = max(largest, float(np.degrees(rot.magnitude())))
    return out, largest


def center_of_mass_angstrom(frame) -> np.ndarray | None:
    """Compute the mass-weighted centre of all atoms of a frame.

    From the unwrapped positions when the frame has them (``info['unwrapped']``).

    Parameters
    ----------
    frame : dealloy.analysis.frame.Frame
        The frame (positions in Å).

    Returns
    -------
    numpy.ndarray or None
        Shape (3,), Å; None for a periodic frame without unwrapped positions (a wrapped centre
        of mass jumps).
    """
    if "unwrapped" in frame.info:
        pos = np.asarray(frame.info["unwrapped"])
    elif not frame.periodic:
        pos = frame.positions
    else:
        return None
    m = np.array([MASSES_AMU[s] for s in frame.symbols])
    return (m[:, None] * pos).sum(0) / m.sum()

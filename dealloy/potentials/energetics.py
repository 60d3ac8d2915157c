"""Formation energies and average voltages of LixSi from total energies (pure functions).

Conventions (per Si, against the potential's own end members):

    E_f(x) per Si   = [E(Li_n Si_m) - n * mu_Li - m * mu_Si] / m,      x = n / m
    E_f(x) per atom = E_f(x) per Si / (1 + x)

``mu_Li`` is the energy per atom of bcc Li, ``mu_Si`` that of the potential's own a-Si (for the
amorphous series) or diamond Si. The average voltage between two compositions on the lower convex
hull of E_f per Si vs x is V = -dE_f/dx (eV per Li = V vs Li/Li+).

References
----------
M. K. Aydinol, A. F. Kohan, G. Ceder, K. Cho, J. Joannopoulos, "Ab initio study of lithium
intercalation in metal oxides and metal dichalcogenides", Phys. Rev. B 56 (1997) 1354 (the
average voltage from total energies; DOI not checked here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def formation_energy_per_si(e_total_ev: float, n_li: int, n_si: int, mu_li_ev: float,
                            mu_si_ev: float) -> float:
    """Compute the formation energy per Si of Li_n Si_m against the end members.

    Parameters
    ----------
    e_total_ev : float
        Total energy of the structure (eV).
    n_li, n_si : int
        Numbers of Li and Si in it.
    mu_li_ev, mu_si_ev : float
        Energy per atom of the Li and Si end members (eV/atom; bcc Li, a-Si or diamond Si).

    Returns
    -------
    float
        E_f per Si (eV/Si); divide by 1 + x for eV/atom.

    Raises
    ------
    ValueError
        Without Si (``n_si <= 0``).
    """
    if n_si <= 0:
        raise ValueError("formation energy per Si needs at least one Si")
    return (e_total_ev - n_li * mu_li_ev - n_si * mu_si_ev) / n_si


def lower_hull(x, e) -> tuple[np.ndarray, np.ndarray]:
    """Lower convex hull of points (x, e) by Andrew's monotone chain.

    Parameters
    ----------
    x, e : array_like, shape (n,)
        Compositions and energies (e.g. formation energy per Si, eV); n >= 1. Repeated x keep
        their lowest e.

    Returns
    -------
    hx, he : numpy.ndarray, shape (m,)
        Hull vertices sorted by x; points on a hull segment (collinear) are not vertices.

    Notes
    -----
    Kept rather than ``scipy.spatial.ConvexHull`` for correctness, not speed: Qhull raises on
    fewer than three points and on collinear sets (a composition on the chord of its neighbours),
    both of which a composition series can produce. tests/test_energetics.py checks the two
    against each other on random sets.

    References
    ----------
    A. M. Andrew, "Another efficient algorithm for convex hulls in two dimensions", Inf.
    Process. Lett. 9 (1979) 216-219 (DOI not verified, left out).
    """
    pts = sorted(set(zip(map(float, x), map(float, e))))
    # keep the lowest energy per x
    best: dict[float, float] = {}
    for xi, ei in pts:
        best[xi] = min(ei, best.get(xi, np.inf))
    pts = sorted(best.items())
    hull: list[tuple[float, float]] = []
    for p in pts:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            # remove hull[-1] if it lies on or above the segment hull[-2] -> p
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) <= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    hx, he = zip(*hull)
    return np.array(hx), np.array(he)


@dataclass
class VoltageStep:
    """One step of a voltage profile: the average voltage between two hull compositions.

    Parameters
    ----------
    x_from, x_to : float
        Li/Si at the ends of the step.
    voltage_v : float
        Average voltage (V vs Li/Li+).
    """

    x_from: float
    x_to: float
    voltage_v: float


def voltage_profile(x, e_form_per_si) -> list[VoltageStep]:
    """Compute the average voltage steps V = -dE_f/dx between consecutive lower-hull compositions.

    Parameters
    ----------
    x : array_like, shape (n,)
        Li/Si of each structure.
    e_form_per_si : array_like, shape (n,)
        Formation energy per Si (eV/Si).

    Returns
    -------
    list of VoltageStep
        In order of increasing x (V vs Li/Li+); empty for a single hull point.
    """
    hx, he = lower_hull(x, e_form_per_si)
    return [VoltageStep(float(hx[i]), float(hx[i + 1]),
                        float(-(he[i + 1] - he[i]) / (hx[i + 1] - hx[i])))
            for i in range(len(hx) - 1)]


def average_voltage(x_from: float, e_from: float, x_to: float, e_to: float) -> float:
    """Compute the average voltage of the reaction between two compositions.

    Parameters
    ----------
    x_from, x_to : float
        Li/Si at the two ends.
    e_from, e_to : float
        Formation energy per Si at each (eV/Si).

    Returns
    -------
    float
        -(e_to - e_from) / (x_to - x_from) (V vs Li/Li+).

    Raises
    ------
    ValueError
        When the two compositions are equal.
    """
    if x_to == x_from:
        raise ValueError("average voltage needs two different compositions")
    return float(-(e_to - e_from) / (x_to - x_from))


def interpolate(x, e, x0: float) -> float:
    """Interpolate E_f per Si linearly at x0 (points sorted or not).

    Parameters
    ----------
    x : array_like, shape (n,)
        Li/Si of each point.
    e : array_like, shape (n,)
        Formation energy per Si (eV/Si).
    x0 : float
        Li/Si to evaluate at (constant beyond the ends).

    Returns
    -------
    float
        E_f per Si at x0 (eV/Si).
    """
    order = np.argsort(x)
    return float(np.interp(x0, np.asarray(x, float)[order], np.asarray(e, float)[order]))

"""Voltage-capacity curves and dQ/dV of runs with electrochemical stages (``events.csv``).

Each accepted move of a ``potentiostatic`` or ``galvanostatic`` stage changes Li/Si by 1/N_Si
(``dealloy/engine/electrochem.py`` for the conventions). The curve is U against x (Li/Si after
the move) and against the extracted capacity Q:

* galvanostatic, constant current: U = removal voltage of each removal, (ΔE + mu_Li(bcc)) / e,
  the MD analogue of a constant-current curve: the lowest unrelaxed single point among the
  candidates (a lower order statistic, not the plateau; docs/engine.md). It fluctuates from Li
  to Li, so ``voltage_smoothed_v`` is its running median over ``window`` of the stage's
  constant-current removals (default 2 % of them, at least 5); nothing else is smoothed;
* potentiostatic, and the CV hold of a galvanostatic stage: U = the applied potential at the
  move (the curve of a voltage sweep).

The energy-balance voltage of each stage, (E_end - E_start)/n + mu_Li(bcc) from minimised start
and end structures (run.json's stage reports), is the quantity comparable with
``validate-potential``'s c->a voltage (:func:`energy_balance`).

dQ/dV (Li per Si per V, and mAh g⁻¹(Si) V⁻¹) is the histogram of the (smoothed) voltages of the
accepted moves weighted by their capacity (+ removal, - re-insertion), ``bin_v`` wide: the
quantity of the paper's Fig. 1D/1H. Capacity: 1 Li per Si = F / M_Si = 954.3 mAh g⁻¹ of Si
(F = 96485.33 C/mol, M_Si = 28.0855 g/mol).

The paper's reference (si-framework paper, Fig. 1D/1H and Methods): c-Li15Si4 decomposes on a
flat plateau at ~0.43 V (a sharp dQ/dV peak; a hysteretic process, so an overpotential is in
it); a-LixSi dealloys in two broad processes at ~0.30 and ~0.55 V. The potential's own scale is
its c-Li15Si4 -> a-Li1.1Si voltage from ``dealloy validate-potential --amorphous``
(potentials/validation/amorphous.json); compare a run's energy-balance voltage with that, not
with the paper's number.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_left
import json
import math
from pathlib import Path

import numpy as np

from dealloy import materials as M
from dealloy.io import atomic_path, write_json, write_text
from dealloy.lammps.potentials import potentials_dir
from dealloy.rundir import RunDir

#: 954.3 mAh/g per Li/Si: F / M_Si in mAh/g (F = e N_A, CODATA 2018 via ase.units; M_Si in
#: dealloy.materials)
MAH_PER_G_SI_PER_LI = M.UNITS["_e"] * M.UNITS["_Nav"] / M.SI_MOLAR_MASS_G_PER_MOL / 3.6
PAPER_C_PLATEAU_V = M.PAPER_C_PLATEAU_V  # the paper's voltages, once, in dealloy.materials
PAPER_A_PROCESSES_V = M.PAPER_A_PROCESSES_V
PLATEAU_HALF_WIDTH_V = 0.05
ELECTROCHEM_STAGES = ("potentiostatic", "galvanostatic")


def _running_median(v: np.ndarray, window: int) -> np.ndarray:
    if len(v) == 0 or window <= 1:
        return v.copy()
    from scipy.ndimage import median_filter

    return median_filter(v, size=window, mode="nearest")


def _stage_blocks(times, stages, reports) -> list:
    """Label rows (stage type, index of the first stage report ending at or after their t)."""
    # a stage's moves fall in (t_start_ps, t_end_ps] (the first exchange follows an interval of
    # MD); moves after the last report belong to the stage still running
    ends = [r.t_end_ps for r in reports]
    return [(st, bisect_left(ends, t - 1e-9)) for t, st in zip(times, stages)]


def _opt_float(text) -> float:
    return float(text) if text not in (None, "") else math.nan


def voltage_curve(run_dir, window: int | None = None) -> list[dict]:
    """Build the voltage curve of a run: one row per accepted electrochemical move.

    Reads ``events.csv`` with its ``applied_voltage_v`` / ``removal_voltage_v`` columns, or an
    older file with only ``voltage_v``: there a potentiostatic row's ``voltage_v`` is applied,
    and a galvanostatic row's is applied when it falls in the stage's CV hold (after its
    ``cv_start_ps`` in run.json), else it is the constant-current removal voltage.

    Parameters
    ----------
    run_dir : str or os.PathLike
        A run directory written by ``dealloy run`` (its ``events.csv`` and ``run.json``).
    window : int, optional
        Running-median window (moves) for constant-current voltages; default max(5, 2 % of the
        stage's constant-current removals).

    Returns
    -------
    list of dict
        Keys ``time_ps``, ``stage``, ``stage_block`` (which stage: the index of its report in
        run.json, or the number of reports for the stage still running), ``event``
        (``remove``/``insert``), ``control`` (``"current"``: a constant-current removal of a
        galvanostatic stage; ``"voltage"``: a move at an applied potential, potentiostatic or
        CV hold), ``x`` (Li/Si after the move), ``voltage_v`` (V vs Li/Li+: the applied U, or
        the removal voltage of a constant-current removal), ``applied_voltage_v`` (NaN for
        constant-current rows), ``delta_e_ev`` (the move's energy change, eV),
        ``removal_voltage_v`` (V; NaN without mu_Li(bcc)), ``n_candidates`` and
        ``candidates_median_voltage_v`` (constant-current removals of runs that record them,
        else NaN), ``voltage_smoothed_v`` (the running median over the stage's constant-current
        rows, which alone are smoothed; the applied U elsewhere), ``capacity_li_per_si`` and
        ``capacity_mah_per_g`` (extracted since the start, per g of Si); [] when the run has no
        electrochemical moves.
    """
    rd = RunDir(run_dir)
    info = rd.record()
    if not rd.events_csv.is_file() or not info.si_start:
        return []
    mu = info.mu_li_bcc_ev
    n_si = float(info.si_start)
    li = float(info.li_start)
    rows = []
    with open(rd.events_csv) as fh:
        reader = csv.DictReader(fh)
        split = "applied_voltage_v" in (reader.fieldnames or [])
        for e in reader:
            if e.get("event") in ("remove", "lost") and e.get("species") == "Li":
                li -= 1
            elif e.get("event") == "insert":
                li += 1
            else:
                continue
            if e.get("stage") not in ELECTROCHEM_STAGES or e["event"] == "lost":
                continue
            de = float(e["delta_e_ev"])
            x = li / n_si
            u_rem = ((de + mu if e["event"] == "remove" else mu - de) if mu is not None
                     else math.nan)
            if split and e.get("removal_voltage_v") not in (None, ""):
                u_rem = float(e["removal_voltage_v"])
            rows.append({"time_ps": float(e["time_ps"]), "stage": e["stage"], "event": e["event"],
                         "x": x, "voltage_v": float(e["voltage_v"]),
                         "applied_voltage_v": (_opt_float(e.get("applied_voltage_v")) if split
                                               else None),
                         "delta_e_ev": de, "removal_voltage_v": u_rem,
                         "n_candidates": _opt_float(e.get("n_candidates")),
                         "candidates_median_voltage_v":
                             _opt_float(e.get("candidates_median_voltage_v"))})
    if not rows:
        return []
    blocks = _stage_blocks([r["time_ps"] for r in rows], [r["stage"] for r in rows],
                           info.stages)
    for r, b in zip(rows, blocks):
        r["stage_block"] = b[1]
        if r["applied_voltage_v"] is None:  # an events.csv without the split columns
            cv = None
            if r["stage"] == "galvanostatic" and b[1] < len(info.stages):
                cv = info.stages[b[1]].cv_start_ps
            applied = r["stage"] == "potentiostatic" or (cv is not None
                                                         and r["time_ps"] > cv + 1e-9)
            r["applied_voltage_v"] = r["voltage_v"] if applied else math.nan
        r["control"] = "voltage" if math.isfinite(r["applied_voltage_v"]) else "current"
    x0 = float(info.li_start) / n_si
    v = np.array([r["voltage_v"] for r in rows])
    sm = v.copy()
    key = np.array([r["stage_block"] if r["control"] == "current" else -1 for r in rows])
    for b in sorted(set(key.tolist()) - {-1}):  # each stage's constant-current rows alone
        cc = key == b
        w = window or max(5, int(round(0.02 * cc.sum())))
        sm[cc] = _running_median(v[cc], w)
    for r, s_ in zip(rows, sm):
        r["voltage_smoothed_v"] = float(s_)
        r["capacity_li_per_si"] = x0 - r["x"]
        r["capacity_mah_per_g"] = r["capacity_li_per_si"] * MAH_PER_G_SI_PER_LI
    return rows


def dqdv(rows: list[dict], n_si: int, bin_v: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Histogram the accepted moves' smoothed voltages into dQ/dV.

    Parameters
    ----------
    rows : list of dict
        The rows of :func:`voltage_curve` (N accepted moves), each with ``voltage_smoothed_v``
        (V vs Li/Li+) and ``event`` (``"remove"`` or an insertion).
    n_si : int
        Si atoms of the run (a move is 1/n_si Li per Si: + removal, - insertion).
    bin_v : float
        Bin width (V).

    Returns
    -------
    centres : numpy.ndarray
        Shape (B,): bin centres (V vs Li/Li+), B bins of ``bin_v`` spanning the smoothed
        voltages; shape (0,) when ``rows`` is empty.
    dqdv : numpy.ndarray
        Shape (B,), one value per bin: dQ/dV (Li per Si per V); multiply by
        :data:`MAH_PER_G_SI_PER_LI` for mAh g⁻¹ V⁻¹.
    """
    if not rows:
        return np.empty(0), np.empty(0)
    u = np.array([r["voltage_smoothed_v"] for r in rows])
    w = np.array([1.0 if r["event"] == "remove" else -1.0 for r in rows]) / n_si
    lo = math.floor(u.min() / bin_v) * bin_v
    hi = math.ceil(u.max() / bin_v) * bin_v + bin_v
    edges = np.arange(lo, hi + 0.5 * bin_v, bin_v)
    hist, edges = np.histogram(u, bins=edges, weights=w)
    return 0.5 * (edges[1:] + edges[:-1]), hist / bin_v


def known_c_to_a_voltage_v(potential: str) -> float | None:
    """Look up the potential's c-Li15Si4 -> a-Li1.1Si voltage from ``validate-potential``.

    Parameters
    ----------
    potential : str
        A registry name (``dealloy info`` lists them).

    Returns
    -------
    float or None
        V, from ``potentials/validation/amorphous.json``; None if it has no entry.
    """
    path = potentials_dir() / "validation" / "amorphous.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    for e in data.get("amorphous", []):
        if e.get("potential") == potential:
            return (e.get("li15si4") or {}).get("voltage_to_a_li1.1si_v")
    return None


#: a dQ/dV peak found among fewer accepted moves than this is flagged uncertain
DQDV_PEAK_MIN_MOVES = 50


def peak_search_mask(rows: list[dict], bin_v: float = 0.02) -> np.ndarray:
    """Mark the moves the dQ/dV peak search uses: all but a potentiostatic sweep's opening transient.

    A potentiostatic stage whose applied U takes values more than ``bin_v`` apart (a sweep or
    a schedule) starts at U0 on a structure that was never held there: every Li whose removal
    voltage is below U0 leaves in its first intervals, at U0, and piles into the first dQ/dV
    bin whatever the material's own voltage profile. Rule: the moves of such a stage made
    while its applied U is still within ``bin_v`` of the stage's first applied U are left out
    of the peak search (they stay in the curve, in dQ/dV and in the capacity). A potentiostatic
    stage held at one U, constant-current removals and CV holds are all searched.

    Parameters
    ----------
    rows : list of dict
        The rows of :func:`voltage_curve` (N moves).
    bin_v : float
        dQ/dV bin width (V).

    Returns
    -------
    numpy.ndarray
        Shape (N,), bool: True where a move enters the peak search.
    """
    keep = np.ones(len(rows), bool)
    blocks: dict = {}
    for k, r in enumerate(rows):
        if r["stage"] == "potentiostatic":
            blocks.setdefault(r.get("stage_block", 0), []).append(k)
    for ks in blocks.values():
        u = np.array([rows[k]["applied_voltage_v"] for k in ks])
        if np.ptp(u) > bin_v:
            keep[np.array(ks)[np.abs(u - u[0]) < bin_v]] = False
    return keep


def energy_balance(run_dir) -> dict:
    """Collect the energy-balance voltages of a run's electrochemical stages from run.json.

    Each stage's U = (E_end - E_start) / n + mu_Li(bcc) with E the energies of its start and end
    structures minimised in a separate LAMMPS instance (0 K, the convention of mu_Li(bcc) and of
    ``validate-potential``'s c -> a voltage) and n the Li it removed net
    (:func:`dealloy.engine.electrochem.energy_balance_voltage_v`).

    Parameters
    ----------
    run_dir : str or os.PathLike
        A run directory.

    Returns
    -------
    dict
        ``energy_balance_stages`` (list of {``stage_index``, ``type``, ``n_removed_net``,
        ``energy_balance_voltage_v``}), ``energy_balance_voltage_v`` (the stages' values
        weighted by their n: the run's total energy change per Li net + mu_Li(bcc); None if no
        stage has one) and ``energy_balance_convention``.
    """
    info = RunDir(run_dir).record()
    stages = [{"stage_index": r.index, "type": r.type, "n_removed_net": r.n_removed_net,
               "energy_balance_voltage_v": r.energy_balance_voltage_v}
              for r in info.stages if r.type in ELECTROCHEM_STAGES]
    have = [st for st in stages if st["energy_balance_voltage_v"] is not None]
    n = sum(st["n_removed_net"] for st in have)
    run_v = (sum(st["energy_balance_voltage_v"] * st["n_removed_net"] for st in have) / n
             if have and n > 0 else None)
    return {"energy_balance_stages": stages, "energy_balance_voltage_v": run_v,
            "energy_balance_convention": ENERGY_BALANCE_CONVENTION}


ENERGY_BALANCE_CONVENTION = (
    "(E_end - E_start)/n_removed_net + mu_Li(bcc) per stage; E: the stage's start and end "
    "structures minimised (conjugate gradients, 0 K; cell relaxed when the run has "
    "pressure_bar) in a separate LAMMPS instance, the convention of mu_Li(bcc) and of "
    "validate-potential's c->a voltage")


def summarize(rows: list[dict], n_si: int, bin_v: float = 0.02) -> dict:
    """Summarise a voltage curve: main dQ/dV peak, plateau share, mean voltage.

    Parameters
    ----------
    rows : list of dict
        The rows of :func:`voltage_curve`.
    n_si : int
        Si atoms of the run.
    bin_v : float
        dQ/dV bin width (V).

    Returns
    -------
    dict
        ``dqdv_peak_v`` (V vs Li/Li+; the peak of dQ/dV over the moves :func:`peak_search_mask`
        keeps), ``dqdv_peak_li_per_si_per_v``, ``dqdv_peak_n_moves`` (accepted moves searched)
        and ``dqdv_peak_uncertain`` (fewer than :data:`DQDV_PEAK_MIN_MOVES`, or no move left
        after the transient), ``plateau_share`` (share of the *net* capacity, removals minus
        re-insertions, whose smoothed voltage lies within :data:`PLATEAU_HALF_WIDTH_V` of the
        peak), ``mean_voltage_v`` of the removals, ``median_removal_voltage_v`` of the
        constant-current removals and ``median_candidates_median_voltage_v`` (the median, over
        those removals, of each one's candidates' median removal voltage; NaN when not
        recorded), ``capacity_li_per_si``, ``n_moves`` and ``bin_v``; {} without rows.
    """
    if not rows:
        return {}
    keep = peak_search_mask(rows, bin_v)
    searched = [r for r, k in zip(rows, keep) if k]
    uncertain = len(searched) < DQDV_PEAK_MIN_MOVES
    centres, d = dqdv(searched or rows, n_si, bin_v)
    k = int(np.argmax(d))
    peak = float(centres[k])
    u = np.array([r["voltage_smoothed_v"] for r in rows])
    w = np.array([1.0 if r["event"] == "remove" else -1.0 for r in rows])
    net = float(w.sum())
    share = (float(w[np.abs(u - peak) <= PLATEAU_HALF_WIDTH_V].sum() / net) if net > 0
             else math.nan)
    rem = u[w > 0]
    cc = [r for r in rows if r.get("control") == "current"]
    cand_med = np.array([r.get("candidates_median_voltage_v", math.nan) for r in cc], float)
    return {"dqdv_peak_v": round(peak, 4), "dqdv_peak_li_per_si_per_v": float(d[k]),
            "dqdv_peak_n_moves": len(searched), "dqdv_peak_uncertain": bool(uncertain),
            "plateau_share": share, "mean_voltage_v": float(np.mean(rem)) if len(rem) else math.nan,
            "median_removal_voltage_v": (float(np.median([r["voltage_v"] for r in cc]))
                                         if cc else math.nan),
            "median_candidates_median_voltage_v": (float(np.median(cand_med))
                                                   if len(cand_med) and np.isfinite(cand_med).all()
                                                   else math.nan),
            "capacity_li_per_si": float(rows[-1]["capacity_li_per_si"]),
            "n_moves": len(rows), "bin_v": bin_v}


def summary_line(summary: dict) -> str:
    """Format a voltage summary as one console line with its reference and comparison voltages.

    Parameters
    ----------
    summary : dict
        :func:`write_voltage_outputs`' summary.

    Returns
    -------
    str
        E.g. ``voltage curve (V vs Li/Li+, mu_Li(bcc) = -1.6472 eV/atom of meam-godet2020):
        dQ/dV peak at 1.010 V [uncertain: 32 moves < 50], the potential's c->a 0.477 V;
        plateau share 0.33 of the net capacity; energy balance 0.575 V``.
    """
    mu, pot = summary.get("mu_li_bcc_ev"), summary.get("potential") or "?"
    ref = (f"V vs Li/Li+, mu_Li(bcc) = {mu:.4f} eV/atom of {pot}" if mu is not None
           else "V vs Li/Li+")
    flag = (f" [uncertain: {summary.get('dqdv_peak_n_moves')} moves < {DQDV_PEAK_MIN_MOVES}]"
            if summary.get("dqdv_peak_uncertain") else "")
    c2a = summary.get("potential_c_to_a_voltage_v")
    c2a_text = (f", the potential's c->a {c2a:.3f} V" if c2a is not None
                else ", the potential's c->a voltage unknown (run validate-potential --amorphous)")
    eb = summary.get("energy_balance_voltage_v")
    eb_text = f"; energy balance {eb:.3f} V (minimised start/end)" if eb is not None else ""
    return (f"voltage curve ({ref}): dQ/dV peak at {summary['dqdv_peak_v']:.3f} V{flag}"
            f"{c2a_text}; plateau share {summary['plateau_share']:.2f} of the net capacity"
            f"{eb_text}")


def write_voltage_outputs(run_dir, bin_v: float = 0.02, window: int | None = None) -> dict:
    """Write a run's voltage curve, dQ/dV, summary and plot into its ``analysis/`` directory.

    ``analysis/voltage.csv``, ``analysis/dqdv.csv``, ``analysis/voltage.json`` and
    ``analysis/plots/voltage.png``, each atomically.

    Parameters
    ----------
    run_dir : str or os.PathLike
        A run directory with electrochemical stages.
    bin_v : float
        dQ/dV bin width (V).
    window : int, optional
        Running-median window (moves) of galvanostatic voltages (:func:`voltage_curve`);
        default: :func:`voltage_curve`'s.

    Returns
    -------
    dict
        The summary (:func:`summarize` plus ``mu_li_bcc_ev``, ``potential``,
        ``potential_c_to_a_voltage_v`` and the paper's reference voltages); {} and nothing
        written when the run has no electrochemical moves.
    """
    rd = RunDir(run_dir)
    rows = voltage_curve(rd.path, window)
    if not rows:
        return {}
    info = rd.record()
    n_si = int(info.si_start)
    out = rd.analysis_dir
    out.mkdir(parents=True, exist_ok=True)
    keys = list(rows[0])
    text = ",".join(keys) + "\n" + "".join(
        ",".join(f"{r[k]:.6g}" if isinstance(r[k], float) else str(r[k]) for k in keys) + "\n"
        for r in rows)
    write_text(out / "voltage.csv", text)
    centres, d = dqdv(rows, n_si, bin_v)
    write_text(out / "dqdv.csv", "voltage_v,dqdv_li_per_si_per_v,dqdv_mah_per_g_per_v\n" + "".join(
        f"{c:.4f},{v:.6g},{v * MAH_PER_G_SI_PER_LI:.6g}\n" for c, v in zip(centres, d)))
    potential = info.config_potential
    summary = {**summarize(rows, n_si, bin_v),
               **energy_balance(rd.path),
               "voltage_reference": "V vs Li/Li+ (mu_Li(bcc) of the run's potential, 0 K)",
               "mu_li_bcc_ev": info.mu_li_bcc_ev,
               "potential": potential,
               "potential_c_to_a_voltage_v": (known_c_to_a_voltage_v(potential) if potential
                                              else None),
               "paper_c_plateau_v": PAPER_C_PLATEAU_V,
               "paper_a_processes_v": list(PAPER_A_PROCESSES_V)}
    write_json(out / "voltage.json", summary)
    _plot(rows, centres, d, summary, out / "plots" / "voltage.png")
    return summary


def load_summary(run_dir) -> dict:
    """Read a run's voltage summary, or compute it from its events.

    Parameters
    ----------
    run_dir : str or os.PathLike
        A run directory.

    Returns
    -------
    dict
        ``analysis/voltage.json`` if written, else :func:`summarize` of ``events.csv`` with the
        potential's c->a voltage; {} without electrochemical moves.
    """
    rd = RunDir(run_dir)
    p = rd.analysis_dir / "voltage.json"
    if p.is_file():
        try:
            return json.loads(p.read_text())
        except json.JSONDecodeError:
            pass
    rows = voltage_curve(rd.path)
    if not rows:
        return {}
    info = rd.record()
    potential = info.config_potential
    return {**summarize(rows, int(info.si_start)),
            **energy_balance(rd.path),
            "mu_li_bcc_ev": info.mu_li_bcc_ev,
            "potential": potential,
            "potential_c_to_a_voltage_v": known_c_to_a_voltage_v(potential) if potential else None}


def _plot(rows, centres, d, summary, path: Path) -> None:
    from matplotlib.figure import Figure  # no pyplot: library code never chooses the backend


    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(9, 3.6))
    a1, a2 = fig.subplots(1, 2)
    x = [r["x"] for r in rows]
    a1.plot(x, [r["voltage_v"] for r in rows], ".", ms=2, alpha=0.4, label="per move")
    a1.plot(x, [r["voltage_smoothed_v"] for r in rows], "-", lw=1.2, label="smoothed")
    a1.axhline(PAPER_C_PLATEAU_V, color="k", ls="--", lw=0.8, label="paper c-path 0.43 V")
    for v in PAPER_A_PROCESSES_V:
        a1.axhline(v, color="grey", ls=":", lw=0.8)
    if summary.get("potential_c_to_a_voltage_v") is not None:
        a1.axhline(summary["potential_c_to_a_voltage_v"], color="tab:red", ls="-.", lw=0.8,
                   label=f"{summary.get('potential')} c→a")
    a1.invert_xaxis()
    a1.set_xlabel("x = Li/Si")
    a1.set_ylabel("U (V vs Li/Li+)")
    a1.legend(fontsize=7)
    a2.plot(centres, d, "-")
    a2.set_xlabel("U (V vs Li/Li+)")
    a2.set_ylabel("dQ/dV (Li per Si per V)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")


def write_study_voltage(runs: list[dict], outdir, name: str, bin_v: float = 0.02) -> str:
    """Draw the study-level voltage figure: U vs x and dQ/dV vs U of every electrochemical run.

    One row of panels per path, the runs of a path overlaid (one colour per starting state, one
    line style per run), beside the paper's 0.43 V c-path plateau and 0.30/0.55 V a-path
    processes and each potential's own c->a voltage.

    Writes ``<outdir>/voltage_vs_x.png`` and its data, ``<outdir>/voltage_vs_x.csv`` (long
    format: run, path, starting_state, kind = "curve" rows (x, voltage_v smoothed) and "dqdv"
    rows (voltage_v, dqdv_li_per_si_per_v)).

    Parameters
    ----------
    runs : list of dict
        One per run: ``run`` (unique name, the CSV's key), ``label`` (legend, optional), ``path`` ("c-path", "a-path" or other), ``state``
        (starting state) and ``run_dir``.
    outdir : str or os.PathLike
        Directory for the PNG and CSV (created if missing).
    name : str
        Study name (figure title).
    bin_v : float
        dQ/dV bin width (V).

    Returns
    -------
    str
        The file name, or a "skipped (...)" note when no run has electrochemical moves.
    """
    outdir = Path(outdir)
    data = []
    for r in runs:
        rows = voltage_curve(r["run_dir"])
        if not rows:
            continue
        info = RunDir(r["run_dir"]).record()
        centres, d = dqdv(rows, int(info.si_start), bin_v)
        data.append({**r, "rows": rows, "centres": centres, "dqdv": d,
                     "potential": info.config_potential})
    if not data:
        return "voltage_vs_x.png: skipped (no run with potentiostatic/galvanostatic moves)"
    from matplotlib.figure import Figure


    paths = list(dict.fromkeys(r["path"] for r in data))
    states = list(dict.fromkeys(r["state"] for r in data))
    colour = {st: f"C{k % 10}" for k, st in enumerate(states)}
    styles = ("-", "--", ":", "-.")
    fig = Figure(figsize=(10, 3.6 * len(paths)))
    axs = fig.subplots(len(paths), 2, squeeze=False)
    refs = {r["potential"]: known_c_to_a_voltage_v(r["potential"]) for r in data
            if r["potential"]}
    table = [("run", "path", "starting_state", "kind", "x", "voltage_v", "dqdv_li_per_si_per_v")]
    for (a1, a2), path in zip(axs, paths):
        mine = [r for r in data if r["path"] == path]
        states = list(dict.fromkeys(r["state"] for r in mine))
        seen: dict[str, int] = {}
        for r in mine:
            k = seen[r["state"]] = seen.get(r["state"], -1) + 1
            ls, c = styles[k % len(styles)], colour[r["state"]]
            # one state in the row: it goes in the row's title, the legend names the runs
            lab = (r.get("label") or r["run"] if len(states) == 1
                   else f"{r['state']}: {r.get('label') or r['run']}")
            x = [row["x"] for row in r["rows"]]
            u = [row["voltage_smoothed_v"] for row in r["rows"]]
            a1.plot(x, u, ls, color=c, lw=1.0, label=lab)
            a2.plot(r["centres"], r["dqdv"], ls, color=c, lw=1.0, label=lab)
            table += [(r["run"], path, r["state"], "curve", f"{xx:.6g}", f"{uu:.6g}", "")
                      for xx, uu in zip(x, u)]
            table += [(r["run"], path, r["state"], "dqdv", "", f"{cc:.4f}", f"{dd:.6g}")
                      for cc, dd in zip(r["centres"], r["dqdv"])]
        for ax, horizontal in ((a1, True), (a2, False)):
            line = ax.axhline if horizontal else ax.axvline
            line(PAPER_C_PLATEAU_V, color="k", ls="--", lw=0.8, label="paper c-path 0.43 V")
            for i, v in enumerate(PAPER_A_PROCESSES_V):
                line(v, color="grey", ls=":", lw=0.8,
                     label="paper a-path " + "/".join(f"{w:.2f}" for w in PAPER_A_PROCESSES_V)
                     + " V" if i == 0 else None)
            for pot, v in refs.items():
                if v is not None:
                    line(v, color="tab:red", ls="-.", lw=0.8, label=f"{pot} c→a {v:.2f} V")
        a1.invert_xaxis()
        a1.set_xlabel("x = Li/Si")
        a1.set_ylabel("U (V vs Li/Li+), running median")
        # a short title per row (a long one made tight_layout squeeze the panels); the study's
        # name goes on top of the figure
        a1.set_title(f"{path}: {len(mine)} run(s)" + (f" of {states[0]}" if len(states) == 1
                                                        else ""), fontsize=9, loc="left")
        a2.set_xlabel("U (V vs Li/Li+)")
        a2.set_ylabel("dQ/dV (Li per Si per V)")
        a2.legend(fontsize=6)
    fig.suptitle(name, fontsize=10)
    fig.tight_layout()
    outdir.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(table)
    write_text(outdir / "voltage_vs_x.csv", buf.getvalue())
    with atomic_path(outdir / "voltage_vs_x.png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    return "voltage_vs_x.png"


__all__ = ["voltage_curve", "dqdv", "summarize", "summary_line", "peak_search_mask",
           "energy_balance", "DQDV_PEAK_MIN_MOVES", "write_voltage_outputs", "load_summary",
           "write_study_voltage",
           "known_c_to_a_voltage_v", "MAH_PER_G_SI_PER_LI", "PAPER_C_PLATEAU_V",
           "PAPER_A_PROCESSES_V"]

"""Amorphous-path validation of a potential: a-LixSi structure, energetics and voltage vs x.

``validate_amorphous(potential)`` melt-quenches periodic bulk a-LixSi with the amorphous builder
(:func:`dealloy.builders.amorphous_lisi`) at each x for several independent seeds, and measures with
the analysis suite (:class:`dealloy.analysis.structure.SiNetwork`, :class:`PartialRDF`):

- volume per Si and density (box-relaxed cell after the 300 K NPT relaxation);
- Si-Si coordination (2.9 Å) and its distribution, cluster classes (isolated / dumbbell / small /
  network), the largest Si cluster, partial g(r);
- the formation energy per atom against bcc Li and the potential's own a-Si (x = 0 of the same
  series), the lower convex hull and the average voltage steps V = -dE_f/dx;
- c-Li15Si4: its formation energy (against a-Si and against diamond Si), the average Li
  extraction energy to diamond Si, and the voltage of c-Li15Si4 -> a-Li1.1Si (the paper's 430 mV
  plateau);
- the melt's liquid check (Si mean-squared displacement in the melt, from the builder);

mean and spread over seeds for every number, printed beside the DFT(B) references.

References
----------
.. [FE] F. Fernandez, M. Otero, M. B. Oviedo, D. E. Barraco, S. A. Paz, E. P. M. Leiva, Phys.
   Rev. B 108 (2023) 144201, doi:10.1103/PhysRevB.108.144201 (DFTB a-LixSi: volume per Si, Si-Si
   CN, isolated-Si fraction; :data:`dealloy.materials.DFTB_A_LIXSI`).
.. [OV] M. B. Oviedo, F. Fernandez, M. Otero, E. P. M. Leiva, S. A. Paz, J. Phys. Chem. A 127
   (2023) 2637-2645, doi:10.1021/acs.jpca.3c00075 (PBE c-Li15Si4 formation energy
   -0.243 eV/atom and Li extraction energy 0.307 eV/Li, Materials Project settings).
.. [Ogata] K. Ogata, D.-S. Ko et al., "Spontaneous and mass-conserved formation of continuous Si
   frameworks" (the paper dealloy reproduces; ../shared/paper): the 0.43 V c-path plateau and
   the 0.30 / 0.55 V a-path processes (:data:`REF_VOLTAGES`).
The a-Si density (2.28 g/cm³) and Si-Si CN (3.88) are those of reference/paper-observables.md
(:mod:`dealloy.materials`).
"""

from __future__ import annotations

import hashlib
import json
import math
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from dealloy import materials as M
from dealloy.errors import ConfigError, SimulationError
from dealloy.io import progress_hook
from dealloy.lammps.potentials import DEFAULT_POTENTIAL, Potential, get_potential
from dealloy.potentials.energetics import (average_voltage, formation_energy_per_si, interpolate,
                                           voltage_profile)
from dealloy import __version__
from dealloy.analysis.structure import PartialRDF, SiNetwork
from dealloy.builders import amorphous_lisi
from dealloy.io import atomic_path, write_json, write_text
from dealloy.potentials.validate import li15si4_unit_cell, relax_bulk

DEFAULT_XS = (0.0, 0.2, 0.5, 0.9, 1.5, 2.0, 2.5, 3.25, 3.75)
X_MAX = M.X_LI15SI4
#: fewer Si than this gives cluster fractions in steps of > 3 % and a meaningless CN histogram
MIN_N_SI = 32
#: the production series (>= 128 Si per cell, >= 3 seeds) -- smaller settings are for tests
PRODUCTION_N_SI = 128
PRODUCTION_SEEDS = 3

#: The melt-quench used by the validation series: the builder's "standard" route with a shorter
#: melt and relaxation and a 1e14 K/s quench, so the full series fits in about an hour on 2 cores
#: (the builder's standard 1e13 K/s is 10x slower; pass quench_rate_k_per_s=1e13 to use it).
VALIDATION_PROTOCOL = dict(protocol="standard", melt_temperature_k=2500.0, melt_ps=10.0,
                           quench_rate_k_per_s=1e14, relax_ps=10.0)

#: DFTB a-LixSi: x -> (volume per Si Å^3, Si-Si CN, isolated Si fraction); source in
#: :data:`dealloy.materials.DFTB_A_LIXSI`
REF_DFTB = M.DFTB_A_LIXSI
REF_A_SI = {"density_g_cm3": M.A_SI_DENSITY_G_PER_CM3, "si_si_cn": M.A_SI_SI_SI_CN,
            "c_si_volume_per_si_angstrom3": 20.02}
REF_LI15SI4 = {"formation_ev_per_atom": M.LI15SI4_FORMATION_PBE_EV_PER_ATOM,
               "extraction_ev_per_li": M.LI15SI4_EXTRACTION_PBE_EV_PER_LI}
REF_VOLTAGES = {"c_path_plateau_v": M.PAPER_C_PLATEAU_V, "a_path_v": M.PAPER_A_PROCESSES_V}
A_LI11SI_X = 1.1  # product of the c-Li15Si4 two-phase plateau (paper)


def reference_at(x: float) -> dict | None:
    """Interpolate the reference a-LixSi structure at x.

    Parameters
    ----------
    x : float
        Li/Si.

    Returns
    -------
    dict or None
        ``volume_per_si_angstrom3`` (Å³), ``si_si_cn`` and ``isolated`` (fraction of Si): DFTB
        [FE]_ interpolated inside the table, the a-Si values at x = 0; None outside the table.
    """
    if x == 0:
        return {"volume_per_si_angstrom3": M.SI_MOLAR_MASS_G_PER_MOL / REF_A_SI["density_g_cm3"]
                                           / (M.UNITS["_Nav"] * 1e-24),
                "si_si_cn": REF_A_SI["si_si_cn"], "isolated": 0.0}
    xs = sorted(REF_DFTB)
    if x < xs[0] or x > xs[-1]:
        return None
    cols = np.array([REF_DFTB[k] for k in xs])
    return {"volume_per_si_angstrom3": float(np.interp(x, xs, cols[:, 0])),
            "si_si_cn": float(np.interp(x, xs, cols[:, 1])),
            "isolated": float(np.interp(x, xs, cols[:, 2]))}


def check_series(xs, n_si: int, seeds: int) -> tuple[float, ...]:
    """Check a composition series before any MD.

    Parameters
    ----------
    xs : iterable of float
        Compositions Li/Si, each in [0, 3.75].
    n_si : int
        Si per cell (>= :data:`MIN_N_SI`).
    seeds : int
        Melt-quench seeds per x (>= 1).

    Returns
    -------
    tuple of float
        The sorted, unique compositions, with x = 0 (a-Si, the Si end member) added.

    Raises
    ------
    ConfigError
        One line naming the field: no composition, x outside [0, 3.75], too few Si or seeds.
    """
    xs = tuple(float(x) for x in xs)
    if not xs:
        raise ConfigError("xs: give at least one composition (0 <= x <= 3.75)")
    bad = [x for x in xs if not 0.0 <= x <= X_MAX]
    if bad:
        raise ConfigError(f"x must lie in [0, 3.75] (x = 3.75 * DOD; 0 is a-Si), got {bad}")
    if int(n_si) < MIN_N_SI:
        raise ConfigError(f"n_si = {n_si} is too few Si for statistics: use at least {MIN_N_SI} "
                          f"(the production series uses >= {PRODUCTION_N_SI})")
    if int(seeds) < 1:
        raise ConfigError("seeds must be >= 1 (the production series uses >= 3)")
    if 0.0 not in xs:
        xs = (0.0, *xs)  # a-Si is the Si end member of the formation energies
    return tuple(sorted(set(xs)))


def _one(job: dict) -> dict:
    """Melt-quench and measure one (x, seed) cell; runs in a worker process."""
    atoms = amorphous_lisi(job["x"], n_si=job["n_si"], seed=job["seed"],
                           potential=job["potential"], **job["protocol"])
    info = atoms.info
    sym = np.array(atoms.get_chemical_symbols())
    n_si, n_li = int((sym == "Si").sum()), int((sym == "Li").sum())
    net = SiNetwork().compute(atoms).results
    rdf = PartialRDF(cutoff_angstrom=8.0, bins=160).compute(atoms).results
    return {
        "x": job["x"], "seed": job["seed"], "n_si": n_si, "n_li": n_li,
        "x_actual": n_li / n_si,
        "energy_ev_per_atom": float(info["potential_energy_ev_per_atom"]),
        "volume_per_si_angstrom3": float(atoms.get_volume() / n_si),
        "density_g_cm3": float(info["density_g_cm3"]),
        "pressure_bar": float(info.get("pressure_bar", float("nan"))),
        "melt_msd_si_angstrom2": float(info.get("melt_msd_si_angstrom2", float("nan"))),
        "melt_msd_li_angstrom2": float(info.get("melt_msd_li_angstrom2", float("nan"))),
        "si_si_cn": net["si_si_coordination_mean"],
        "si_si_cn_histogram": net["si_si_coordination_histogram"]["fraction"],
        "cluster_fractions": net["si_cluster_fractions"],
        "largest_si_cluster_fraction": net["largest_si_cluster_fraction"],
        "rdf": {k: np.asarray(v).tolist() for k, v in rdf.items()},
    }


def _sample_key(job: dict, pot: Potential) -> str:
    """Cache key of one cell: the job and the bytes of the potential's files (never stale)."""
    files = hashlib.sha256()
    for f in pot.files:
        files.update(Path(f).read_bytes())
    blob = json.dumps({"job": job, "potential_files_sha256": files.hexdigest(), "schema": 1},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _one_or_failure(job: dict) -> dict:
    """Run :func:`_one`; a melt-quench the potential cannot finish is a result, not an abort.

    Returns
    -------
    dict
        :func:`_one`'s measurements, or ``{"x", "seed", "n_si", "failed"}`` with the
        :class:`~dealloy.errors.SimulationError`'s message (LAMMPS lost atoms, a melt that did not
        melt, an isolated atom ML-POD cannot take): the same job with the same potential files
        fails the same way, so a failure is cached like a result.
    """
    try:
        return _one(job)
    except SimulationError as exc:
        return {"x": job["x"], "seed": job["seed"], "n_si": job["n_si"],
                "failed": f"{type(exc).__name__}: {exc}"}


def _run_jobs(work: list[dict], pot: Potential, jobs: int, cache_dir, say) -> list[dict]:
    """Run (or load from ``cache_dir``) every cell, caching each as soon as it exists.

    Returns
    -------
    list of dict
        One per job, in ``work``'s order: its measurements, or a failure record with ``failed``
        (:func:`_one_or_failure`), after which the series goes on.
    """
    cache = Path(cache_dir) if cache_dir else None
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
    done, todo = {}, []
    for i, job in enumerate(work):
        path = cache / f"{_sample_key(job, pot)}.json" if cache else None
        if path and path.exists():
            done[i] = json.loads(path.read_text())
            say(f"x = {job['x']:.2f} seed {job['seed']}: cached ({path.name})")
        else:
            todo.append((i, job, path))

    # the ETA counts atoms (a cell's melt-quench costs about its number of atoms): cells differ
    # from n_si to (1 + x_max) n_si atoms, and the biggest go first
    size = {i: job["n_si"] * (1 + job["x"]) for i, job, _ in todo}
    work_total = sum(size.values())
    work_done = 0.0
    if todo:
        # the first cell can take half an hour (1e13 K/s quench): say what is under way
        say(f"{len(todo)} cell(s) to melt-quench on {min(jobs, len(todo))} worker(s), biggest "
            f"first ({len(done)} cached); each prints a line when done")
        say(done=0, total=round(work_total), task="melt-quenched atoms")

    def finish(i, job, path, res):
        nonlocal work_done
        done[i] = res
        if path:
            write_json(path, {**res, "job": job})
        work_done += size[i]
        what = (f"FAILED ({res['failed']})" if "failed" in res
                else f"CN {res['si_si_cn']:.2f}")
        say(f"x = {res['x']:.2f} seed {res['seed']}: {what} "
            f"[{len(done)}/{len(work)} cells]", done=round(work_done), total=round(work_total),
            task="melt-quenched atoms")

    if jobs > 1 and len(todo) > 1:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(_one_or_failure, job): (i, job, path) for i, job, path in todo}
            for fut in as_completed(futures):
                finish(*futures[fut], fut.result())
    else:
        for i, job, path in todo:
            finish(i, job, path, _one_or_failure(job))
    return [{k: v for k, v in done[i].items() if k != "job"} for i in range(len(work))]


def _fmt(value, spec: str, missing: str = "-") -> str:
    """``format(value, spec)``, or ``missing`` for a deviation with no reference (None)."""
    return missing if value is None else format(value, spec)


def _stats(values) -> dict:
    v = np.asarray(values, float)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "n": int(len(v))}


@dataclass
class AmorphousValidation:
    """The amorphous-path figures of one potential (:func:`validate_amorphous`).

    Parameters
    ----------
    potential : str
        Registry name.
    n_si : int
        Si per cell.
    seeds : int
        Melt-quench seeds per x.
    protocol : dict
        Melt-quench keywords used.
    per_x : list of dict
        Per composition, each quantity's ``mean``/``std``/``n`` over seeds: ``x_actual``,
        ``volume_per_si_angstrom3`` (Å³), ``density_g_cm3``, ``si_si_cn``, cluster classes,
        ``largest_si_cluster_fraction``, ``formation_ev_per_atom`` / ``_per_si`` (eV), melt MSDs
        (Å²), ``pressure_bar``; plus ``si_si_cn_histogram`` and ``failed_seeds`` (seeds whose
        melt-quench failed, left out of the means: ``n`` counts the others).
    samples : list of dict
        One per (x, seed), g(r) dropped; a cell whose melt-quench failed has only ``x``,
        ``seed``, ``n_si`` and ``failed`` (the error message).
    mu_li_ev, mu_a_si_ev, mu_c_si_ev : float
        Energy per atom (eV) of bcc Li, the series' a-Si and diamond Si.
    li15si4 : dict
        c-Li15Si4: formation energy vs diamond and a-Si (eV/atom), extraction energy (eV/Li),
        voltage to a-Li1.1Si (V vs Li/Li+), energy per atom (eV).
    voltage_steps : list of dict
        Lower-hull voltage steps (``x_from``, ``x_to``, ``voltage_v``).
    rdf : dict
        x -> seed-averaged partial g(r).
    notes : list of str
        Remarks (failed melt-quenches, melt not liquid, c-Li15Si4 vs a-Li3.75Si).
    """

    potential: str
    n_si: int
    seeds: int
    protocol: dict
    per_x: list[dict]                # aggregated over seeds
    samples: list[dict]              # one per (x, seed), g(r) dropped
    mu_li_ev: float
    mu_a_si_ev: float
    mu_c_si_ev: float
    li15si4: dict
    voltage_steps: list[dict]
    rdf: dict = field(default_factory=dict)   # x -> seed-averaged partial g(r)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Return the figures as a plain dict, with :meth:`deviations`, for ``--json``."""
        return {**asdict(self), "deviations": self.deviations()}

    def deviations(self) -> dict:
        """Summarise how far this potential is from the references over the x series.

        The numbers the default-potential choice rests on (see potentials/README.md).

        Returns
        -------
        dict
            ``n_compositions``; volume per Si mean and max relative deviation; Si-Si CN rms
            deviation (and at a-Si and x = 3.75, None without that x); isolated-Si rms
            deviation (and at x = 3.75); c-Li15Si4 formation energy (eV/atom), extraction energy
            (eV/Li) and c-path voltage (V) deviations from [OV]_ and [Ogata]_.
        """
        vol, cn, iso = [], [], []
        for row in self.per_x:
            ref = reference_at(row["x"])
            if ref is None:
                continue
            vol.append(row["volume_per_si_angstrom3"]["mean"] / ref["volume_per_si_angstrom3"] - 1)
            cn.append(row["si_si_cn"]["mean"] - ref["si_si_cn"])
            iso.append(row["isolated"]["mean"] - ref["isolated"])
        at = {r["x"]: r for r in self.per_x}
        c = self.li15si4
        rms = lambda v: float(np.sqrt(np.mean(np.square(v)))) if v else float("nan")  # noqa: E731
        return {
            "n_compositions": len(vol),
            "volume_per_si_mean_abs_rel": float(np.mean(np.abs(vol))) if vol else float("nan"),
            "volume_per_si_max_abs_rel": float(np.max(np.abs(vol))) if vol else float("nan"),
            "si_si_cn_rms": rms(cn),
            "si_si_cn_a_si": at[0.0]["si_si_cn"]["mean"] - REF_A_SI["si_si_cn"] if 0.0 in at else None,
            "si_si_cn_x3.75": (at[3.75]["si_si_cn"]["mean"] - REF_DFTB[3.75][1]) if 3.75 in at else None,
            "isolated_rms": rms(iso),
            "isolated_x3.75": (at[3.75]["isolated"]["mean"] - REF_DFTB[3.75][2]) if 3.75 in at else None,
            "li15si4_formation_ev_per_atom": c["formation_ev_per_atom_vs_c_si"] - REF_LI15SI4["formation_ev_per_atom"],
            "li15si4_extraction_ev_per_li": c["extraction_ev_per_li"] - REF_LI15SI4["extraction_ev_per_li"],
            "c_path_voltage_v": c["voltage_to_a_li1.1si_v"] - REF_VOLTAGES["c_path_plateau_v"],
        }

    def table(self) -> str:
        """Format the series beside the references.

        Returns
        -------
        str
            A plain-text table per x, then the c-Li15Si4 figures, voltage steps, deviations and
            notes.
        """
        head = (f"Amorphous validation of '{self.potential}' ({self.n_si} Si per cell, "
                f"{self.seeds} seed(s); mean ± spread over seeds; DFTB refs: Fernandez et al. 2023)")
        lines = [head, f"{'x':>5} {'V/Si (Å³)':>14} {'ref':>6} {'CN Si-Si':>12} {'ref':>5} "
                       f"{'isolated':>11} {'ref':>5} {'network':>8} {'largest':>8} "
                       f"{'E_f (eV/at)':>13} {'melt MSD Si/Li (Å²)':>19}"]
        for row in self.per_x:
            ref = reference_at(row["x"]) or {}
            f = lambda s, d=3: f"{s['mean']:.{d}f}±{s['std']:.{d}f}"  # noqa: E731
            r = lambda k, d=2: f"{ref[k]:.{d}f}" if k in ref else "-"  # noqa: E731
            lines.append(
                f"{row['x']:>5.2f} {f(row['volume_per_si_angstrom3'], 1):>14} {r('volume_per_si_angstrom3', 1):>6} "
                f"{f(row['si_si_cn'], 2):>12} {r('si_si_cn'):>5} {f(row['isolated'], 2):>11} "
                f"{r('isolated'):>5} {row['network']['mean']:>8.2f} "
                f"{row['largest_si_cluster_fraction']['mean']:>8.2f} "
                f"{f(row['formation_ev_per_atom'], 3):>13} "
                f"{row['melt_msd_si_angstrom2']['mean']:>9.1f}/{row['melt_msd_li_angstrom2']['mean']:<9.1f}")
        c = self.li15si4
        lines += [
            "",
            f"bcc Li mu = {self.mu_li_ev:.4f} eV/atom; a-Si mu = {self.mu_a_si_ev:.4f} eV/atom "
            f"(diamond {self.mu_c_si_ev:.4f}; a-Si excess {self.mu_a_si_ev - self.mu_c_si_ev:+.3f} eV/atom)",
            f"c-Li15Si4 formation energy: {c['formation_ev_per_atom_vs_c_si']:+.3f} eV/atom vs diamond Si "
            f"(PBE {REF_LI15SI4['formation_ev_per_atom']}), {c['formation_ev_per_atom_vs_a_si']:+.3f} vs a-Si",
            f"c-Li15Si4 average Li extraction energy (to diamond Si): {c['extraction_ev_per_li']:.3f} eV/Li "
            f"(DFT {REF_LI15SI4['extraction_ev_per_li']})",
            f"voltage c-Li15Si4 -> a-Li{A_LI11SI_X}Si: {c['voltage_to_a_li1.1si_v']:.3f} V "
            f"(paper plateau ~{REF_VOLTAGES['c_path_plateau_v']} V)",
            "a-LixSi voltage steps on the lower hull (paper a-path: broad processes near 0.30 and 0.55 V):",
        ]
        lines += [f"  x {s['x_from']:.2f} -> {s['x_to']:.2f}: {s['voltage_v']:.3f} V" for s in self.voltage_steps]
        d = self.deviations()
        lines += [
            f"departure from the references ({d['n_compositions']} compositions with a reference): "
            f"V/Si {100 * d['volume_per_si_mean_abs_rel']:.1f} % mean |dev| "
            f"(max {100 * d['volume_per_si_max_abs_rel']:.1f} %); Si-Si CN rms {d['si_si_cn_rms']:.2f} "
            f"(a-Si {_fmt(d['si_si_cn_a_si'], '+.2f')}, x = 3.75 {_fmt(d['si_si_cn_x3.75'], '+.2f')}); "
            f"isolated-Si rms {d['isolated_rms']:.2f} (x = 3.75 {_fmt(d['isolated_x3.75'], '+.2f')}); "
            f"c-Li15Si4 E_f {d['li15si4_formation_ev_per_atom']:+.3f} eV/atom, extraction "
            f"{d['li15si4_extraction_ev_per_li']:+.3f} eV/Li, c-path voltage {d['c_path_voltage_v']:+.2f} V",
        ]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def validate_amorphous(potential: Potential | str = DEFAULT_POTENTIAL, xs=DEFAULT_XS,
                       n_si: int = PRODUCTION_N_SI, seeds: int = PRODUCTION_SEEDS, jobs: int = 1,
                       progress=None, cache_dir=None, **protocol) -> AmorphousValidation:
    """Run the amorphous series (see module docstring).

    Parameters
    ----------
    potential : Potential or str
        Registry potential or name.
    xs : iterable of float
        Compositions Li/Si (checked by :func:`check_series`; x = 0 is added).
    n_si : int
        Si per cell.
    seeds : int
        Melt-quench seeds per x.
    jobs : int
        Cells melt-quenched in parallel (worker processes, one core each).
    progress : callable, optional
        Progress hook (:func:`dealloy.io.progress_hook`).
    cache_dir : str or os.PathLike, optional
        Keep each melt-quenched cell's measurements there (one JSON per potential files, x,
        seed, cell size and protocol); a rerun reuses them, so an interrupted series resumes and
        a combined report of several potentials costs nothing once each has been run.
    **protocol
        Overrides of :data:`VALIDATION_PROTOCOL` (any keyword of
        :func:`dealloy.builders.amorphous_lisi`; None values are ignored).

    Returns
    -------
    AmorphousValidation
        The series, its hull and voltages, the c-Li15Si4 figures and notes.

    Raises
    ------
    ConfigError
        For a bad series or an unknown potential (before any MD).
    SimulationError
        When a relaxation of the reference crystals fails, or when every a-Si (x = 0)
        melt-quench does. A cell whose melt-quench fails at any other x (or at x = 0 with
        another seed left) does not abort the series: it is kept in ``samples`` with its
        ``failed`` message (and cached), left out of the means, and named in ``notes``; a
        composition with no surviving seed is dropped from the table, hull and voltages.
    """
    from ase.build import bulk

    pot = get_potential(potential) if isinstance(potential, str) else potential
    if pot.kind == "reaxff":  # workers look potentials up by name; ReaxFF by its ffield
        spec = f"reaxff:{pot.files[0]}"
    else:
        spec = pot.name
    xs = check_series(xs, n_si, seeds)
    proto = {**VALIDATION_PROTOCOL, **{k: v for k, v in protocol.items() if v is not None}}
    say = progress_hook(progress)
    work = [{"x": x, "seed": s, "n_si": int(n_si), "potential": spec, "protocol": proto}
            for s in range(int(seeds)) for x in sorted(xs, reverse=True)]  # big cells first
    samples = _run_jobs(work, pot, int(jobs), cache_dir, say)
    failed = [s for s in samples if "failed" in s]
    samples = [s for s in samples if "failed" not in s]
    if not any(s["x"] == 0.0 for s in samples):
        raise SimulationError("every a-Si (x = 0) melt-quench failed, so there is no a-Si "
                              "reference for the formation energies: "
                              + next(f["failed"] for f in failed if f["x"] == 0.0))
    notes = [f"x = {s['x']:g} seed {s['seed']}: the melt-quench failed ({s['failed']}); left "
             "out of the means" for s in failed]
    lost_x = sorted({s["x"] for s in failed} - {s["x"] for s in samples})
    if lost_x:
        notes.append(f"no seed survived at x = {', '.join(f'{x:g}' for x in lost_x)}: those "
                     "compositions are missing from the table, hull and voltages")
        xs = tuple(x for x in xs if x not in lost_x)

    li, e_li = relax_bulk(bulk("Li", "bcc", a=M.LI_BCC_A_ANGSTROM, cubic=True).repeat(4), pot)
    mu_li = e_li / len(li)
    csi, e_csi = relax_bulk(bulk("Si", "diamond", a=M.SI_A_ANGSTROM, cubic=True).repeat(2), pot)
    mu_c_si = e_csi / len(csi)
    a_si = [s for s in samples if s["x"] == 0.0]
    mu_a_si = float(np.mean([s["energy_ev_per_atom"] for s in a_si]))

    for s in samples:
        e_tot = s["energy_ev_per_atom"] * (s["n_li"] + s["n_si"])
        ef_si = formation_energy_per_si(e_tot, s["n_li"], s["n_si"], mu_li, mu_a_si)
        s["formation_ev_per_si"] = ef_si
        s["formation_ev_per_atom"] = ef_si / (1 + s["x_actual"])

    per_x, rdf = [], {}
    for x in xs:
        group = [s for s in samples if s["x"] == x]
        row = {"x": x}
        for key in ("x_actual", "volume_per_si_angstrom3", "density_g_cm3", "si_si_cn",
                    "largest_si_cluster_fraction", "formation_ev_per_atom", "formation_ev_per_si",
                    "melt_msd_si_angstrom2", "melt_msd_li_angstrom2", "pressure_bar"):
            # .get: cells cached before a quantity was recorded count as not measured (nan)
            row[key] = _stats([g.get(key, float("nan")) for g in group])
        for cls in ("isolated", "dumbbell", "small", "network"):
            row[cls] = _stats([g["cluster_fractions"][cls] for g in group])
        row["failed_seeds"] = [f["seed"] for f in failed if f["x"] == x]
        row["si_si_cn_histogram"] = np.mean([g["si_si_cn_histogram"] for g in group], axis=0).tolist()
        per_x.append(row)
        rdf[f"{x:g}"] = {k: np.mean([g["rdf"][k] for g in group], axis=0).tolist()
                         for k in group[0]["rdf"]}

    hull_x = [r["x_actual"]["mean"] for r in per_x]
    hull_e = [r["formation_ev_per_si"]["mean"] for r in per_x]
    steps = [asdict(s) for s in voltage_profile(hull_x, hull_e)]

    lisi, e_lisi = relax_bulk(li15si4_unit_cell(), pot)
    n_li_c, n_si_c = 60, 16
    ef_c_vs_a = formation_energy_per_si(e_lisi, n_li_c, n_si_c, mu_li, mu_a_si)
    ef_c_vs_c = formation_energy_per_si(e_lisi, n_li_c, n_si_c, mu_li, mu_c_si)
    ef_a_11 = interpolate(hull_x, hull_e, A_LI11SI_X)
    li15si4 = {
        "formation_ev_per_atom_vs_c_si": ef_c_vs_c / 4.75,
        "formation_ev_per_atom_vs_a_si": ef_c_vs_a / 4.75,
        "extraction_ev_per_li": -ef_c_vs_c / 3.75,
        "voltage_to_a_li1.1si_v": average_voltage(A_LI11SI_X, ef_a_11, 3.75, ef_c_vs_a),
        "energy_ev_per_atom": e_lisi / len(lisi),
    }
    a_row = [r for r in per_x if r["x"] == 3.75]
    if a_row:
        e_a375 = a_row[0]["formation_ev_per_si"]["mean"]
        notes.append(f"c-Li15Si4 lies {1000 * (ef_c_vs_a - e_a375) / 4.75:+.1f} meV/atom from a-Li3.75Si "
                     "(negative: the crystal is the stable end state, as in experiment)")
    for row in per_x:
        for species in ("si", "li"):
            msd = row[f"melt_msd_{species}_angstrom2"]["mean"]
            if math.isfinite(msd) and msd < 10:
                notes.append(f"x = {row['x']:g}: {species.title()} moved only {msd:.1f} Å² in the "
                             "melt; check it was liquid")
    return AmorphousValidation(
        potential=pot.name, n_si=int(n_si), seeds=int(seeds), protocol=proto, per_x=per_x,
        samples=[{k: v for k, v in s.items() if k != "rdf"} for s in samples] + failed,
        mu_li_ev=mu_li, mu_a_si_ev=mu_a_si, mu_c_si_ev=mu_c_si, li15si4=li15si4,
        voltage_steps=steps, rdf=rdf, notes=notes)


def plot_amorphous(results: list[AmorphousValidation], out_dir) -> list:
    """Plot every potential's series beside the references (PNG).

    Parameters
    ----------
    results : list of AmorphousValidation
        The series to plot.
    out_dir : str or os.PathLike
        Directory for the PNGs (created).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from pathlib import Path

    import matplotlib.pyplot as plt  # the caller's backend (never chosen here)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ref_x = sorted(REF_DFTB)
    ref = np.array([REF_DFTB[x] for x in ref_x])
    panels = [
        ("volume_per_si_angstrom3", "volume per Si (Å³)", ref[:, 0]),
        ("si_si_cn", "Si–Si coordination (2.9 Å)", ref[:, 1]),
        ("isolated", "isolated Si fraction", ref[:, 2]),
        ("formation_ev_per_atom", "formation energy (eV/atom)", None),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(10, 8))
    for ax, (key, label, refv) in zip(axes.ravel(), panels):
        for res in results:
            xs = [r["x"] for r in res.per_x]
            ax.errorbar(xs, [r[key]["mean"] for r in res.per_x], yerr=[r[key]["std"] for r in res.per_x],
                        marker="o", capsize=3, label=res.potential)
        if refv is not None:
            ax.plot(ref_x, refv, "k--", marker="s", label="DFTB (Fernandez 2023)")
        if key == "formation_ev_per_atom":
            for res in results:
                ax.plot([3.75], [res.li15si4["formation_ev_per_atom_vs_a_si"]], "*", ms=12,
                        label=f"c-Li15Si4 ({res.potential})")
            ax.plot([3.75], [REF_LI15SI4["formation_ev_per_atom"]], "k*", ms=12, label="c-Li15Si4 PBE")
        ax.set_xlabel("x in LixSi")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
    fig.tight_layout()
    paths = []
    p = out_dir / "amorphous-structure-energy.png"
    with atomic_path(p) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    paths.append(p)

    fig, ax = plt.subplots(figsize=(6, 4))
    for res in results:
        xs, vs = [], []
        for s in res.voltage_steps:
            xs += [s["x_from"], s["x_to"]]
            vs += [s["voltage_v"], s["voltage_v"]]
        (line,) = ax.plot(xs, vs, label=f"{res.potential} (a-LixSi hull)")
        ax.axhline(res.li15si4["voltage_to_a_li1.1si_v"], ls=":", color=line.get_color(),
                   label=f"{res.potential} c-Li15Si4 → a-Li1.1Si")
    ax.axhline(REF_VOLTAGES["c_path_plateau_v"], color="k", ls="--", label="paper c-path plateau 0.43 V")
    for i, v in enumerate(REF_VOLTAGES["a_path_v"]):
        ax.axhline(v, color="grey", ls="--", label="paper a-path processes" if i == 0 else None)
    ax.set_xlabel("x in LixSi")
    ax.set_ylabel("average voltage vs Li (V)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    p = out_dir / "amorphous-voltage.png"
    with atomic_path(p) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    paths.append(p)

    for res in results:
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
        for ax, pair in zip(axes, ("si_si", "li_si", "li_li")):
            for xkey, g in res.rdf.items():
                if pair in g and np.any(g[pair]):
                    ax.plot(g["r_angstrom"], g[pair], label=f"x = {xkey}")
            ax.set_title(f"{res.potential}: g(r) {pair.replace('_', '–').title()}")
            ax.set_xlabel("r (Å)")
        axes[0].legend(fontsize=6)
        fig.tight_layout()
        p = out_dir / f"amorphous-rdf-{res.potential}.png"
        with atomic_path(p) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
        plt.close(fig)
        paths.append(p)
    return paths


def write_report(results: list[AmorphousValidation], path, plots=()) -> None:
    """Write a Markdown page with every potential's table (for potentials/README.md to link).

    Parameters
    ----------
    results : list of AmorphousValidation
        The series to report.
    path : str or os.PathLike
        The Markdown file (written atomically).
    plots : list of pathlib.Path, optional
        PNGs to link (linked by their path relative to the page).
    """
    import os
    from pathlib import Path

    path = Path(path)
    parts = ["# Amorphous-path validation of the Li–Si potentials", "",
             f"Generated by `dealloy validate-potential --amorphous` (dealloy {__version__}).", ""]
    if results:
        parts += ["## Departure from the references, per potential", "",
                  "| potential | V/Si mean (max) abs. dev. | Si–Si CN rms dev. | CN dev. a-Si | "
                  "CN dev. x = 3.75 | isolated-Si rms dev. | c-Li15Si4 E_f dev. (eV/atom) | "
                  "extraction dev. (eV/Li) | c-path voltage dev. (V) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for res in results:
            d = res.deviations()
            parts.append(
                f"| {res.potential} | {100 * d['volume_per_si_mean_abs_rel']:.1f} % "
                f"({100 * d['volume_per_si_max_abs_rel']:.1f} %) | {d['si_si_cn_rms']:.2f} | "
                f"{_fmt(d['si_si_cn_a_si'], '+.2f', '–')} | {_fmt(d['si_si_cn_x3.75'], '+.2f', '–')} | "
                f"{d['isolated_rms']:.2f} | {d['li15si4_formation_ev_per_atom']:+.3f} | "
                f"{d['li15si4_extraction_ev_per_li']:+.3f} | {d['c_path_voltage_v']:+.2f} |")
        parts += ["", "References: DFTB a-LixSi (Fernandez et al., PRB 108, 144201 (2023)), a-Si "
                  "2.28 g/cm³ and CN 3.88, c-Li15Si4 PBE −0.243 eV/atom and 0.307 eV/Li, the paper's "
                  "0.43 V c-path plateau.", ""]
    for res in results:
        parts += [f"## {res.potential}", "", f"Protocol: `{res.protocol}`", "", "```",
                  res.table(), "```", ""]
    for p in plots:
        rel = os.path.relpath(p, path.parent)
        parts += [f"![{Path(p).stem}]({rel})", ""]
    write_text(path, "\n".join(parts))

"""Active learning: run MD with the student, label what it extrapolates on, refit, repeat.

``dealloy potential learn`` and :func:`learn_potential`. One iteration:

1. **explore** -- short MD with the current student (:func:`explore`): melt and quench of
   a-LixSi over ``xs`` (random packings of the amorphous builder, NVT melts at each of
   ``melt_temperatures_k``, NPT quench to 300 K), c-Li15Si4 and diamond Si (box relaxed with
   the student) at ``crystal_temperatures_k``, and from each melt-quench's last frame an a-LixSi slab and a
   sphere in vacuum (``surface``, ``fragment``) and a cell with a third of its Li removed
   (``delithiated``), each at ``surface_temperature_k``. Every ``frames_per_run``-th of a run is
   a candidate. A run *fails* when LAMMPS loses atoms or errors, a pair comes closer than
   ``min_pair_angstrom``, or the energy per atom drops by more than ``blowup_ev_per_atom`` below
   the start; the failing stretch is rerun from the last good frame in ten short pieces, and the
   last frames before the failure are selected unconditionally (``reason="md-failure"``).
2. **committee** -- ``committee_size`` POD fits (fitpod, the student's own settings) on bootstrap
   resamples of the training configurations (drawn with replacement within each family and
   composition, one random stream per member).
3. **score** -- each candidate's committee disagreement: the largest per-atom force deviation
   ``max_i sqrt(<|F_i,k - <F_i>|^2>_k)`` (eV/Å) and the standard deviation of the energy per
   atom (eV/atom) over the members, the measures of DP-GEN [DPGEN]_.
4. **select** (:func:`select_candidates`) -- failures first, then candidates with force
   deviation above ``force_threshold_ev_per_angstrom`` or energy deviation above
   ``energy_threshold_ev_per_atom``, most uncertain first (the larger of the two ratios to their
   thresholds), de-duplicated (configurations already in the data set, and at most
   ``per_trajectory_max`` frames of one MD run: neighbouring frames of one run are correlated),
   at most ``max_selected`` in all. Frames with a pair closer than half ``min_pair_angstrom``
   are recorded but never labelled (no teacher is meaningful there).
5. **label and refit** -- the teacher labels the selection (label cache by configuration hash,
   shared with ``dealloy potential fit``), the configurations join the data set as family
   ``"active"`` (``info``: ``explore`` = the exploration kind, ``active_iteration``, ``reason``,
   ``source``; a ``test_fraction`` of the committee-selected ones held out, failures always
   trained on), and the student is refitted on the grown training split.

The loop stops when a selection comes back empty -- *converged* if no MD run failed, else
*stalled* (the failures' frames are all in the data set already and the refit did not cure
them) -- or after ``iterations``. All state
lives in ``state_dir`` (one folder per iteration: candidates, committee, scores, selection,
data set, refitted student, record), each stage skipped when its output exists, so rerunning
the same command after an interruption continues without repeating MD, fits or labels.
``history.json`` and ``history.csv`` hold one row per iteration: candidates, failed runs,
selected count by reason, disagreement statistics, the held-out errors of the student that
explored, labels computed, wall time per stage.

References
----------
.. [DPGEN] Y. Zhang, H. Wang, W. Chen, J. Zeng, L. Zhang, H. Wang, W. E, "DP-GEN: A concurrent
   learning platform for the generation of reliable deep learning based potential energy
   models", Comput. Phys. Commun. 253 (2020) 107206, doi:10.1016/j.cpc.2020.107206 (committee
   force deviation, trust levels, the explore-select-label-train loop).
.. [POD] N. C. Nguyen, A. Rohskopf, "Proper orthogonal descriptors for efficient and accurate
   interatomic potentials", J. Comput. Phys. 480 (2023) 112030, doi:10.1016/j.jcp.2023.112030.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import ase.io
import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.neighborlist import neighbor_list

from dealloy import __version__
from dealloy.builders.amorphous import random_packing, ref_volume_per_si
from dealloy.errors import ConfigError, SimulationError
from dealloy.fit import evaluate as ev
from dealloy.fit.dataset import (_label_path, check_dataset, config_hash, family_counts, file_sha256,
                                 label, read_dataset, teacher_isolated_atoms, write_dataset)
from dealloy.fit.students import POD_DEFAULTS, fit_pod
from dealloy.fit.teacher import DEFAULT_TEACHER, check_teacher_name, load_teacher
from dealloy.fit.workflow import (DEFAULT_REFERENCE_ENERGIES, check_reference_choice,
                                  check_request, check_teacher_labels, fit_potential)
from dealloy.io import atomic_path, progress_hook, write_json, write_structure
from dealloy.lammps.potentials import (MANIFEST, Potential, fitted_potential, get_potential,
                                       user_potentials_dir)
from dealloy.lammps.session import LammpsSession
from dealloy.materials import X_LI15SI4
from dealloy.potentials.validate import li15si4_unit_cell

_STATE_SCHEMA = 1
#: settings that only steer the selection of iterations still to come: a resume may change them
#: (each iteration's selection.json records the thresholds it used)
_FREE_ON_RESUME = ("iterations", "force_threshold_ev_per_angstrom", "energy_threshold_ev_per_atom",
                   "max_selected", "per_trajectory_max")


@dataclass
class ActiveSpec:
    """Settings of the active-learning loop (temperatures in K, times in ps, lengths in Å).

    Attributes
    ----------
    iterations : int
        Largest number of iterations (>= 1); the loop stops earlier on an empty selection.
    committee_size : int
        POD fits on bootstrap resamples of the training set (>= 2).
    force_threshold_ev_per_angstrom : float
        Select a candidate whose largest per-atom committee force deviation exceeds this (> 0).
    energy_threshold_ev_per_atom : float
        ... or whose committee energy deviation per atom exceeds this (> 0).
    max_selected : int
        At most this many configurations labelled per iteration (>= 1).
    per_trajectory_max : int
        At most this many frames of one MD run per iteration (>= 1).
    min_pair_angstrom : float
        An MD run fails when a pair comes closer (> 0); frames closer than half of it are never
        labelled.
    blowup_ev_per_atom : float
        An MD run fails when its energy per atom drops this far below the start (> 0).
    xs : tuple of float
        Li/Si of the melt-quenched a-LixSi cells, each in [0, 3.75].
    n_si : int
        Si per a-LixSi cell (>= 2).
    melt_temperatures_k : tuple of float
        NVT melts of every x at each of these temperatures.
    melt_ps : float
        Time of each melt.
    quench_ps : float
        NPT quench from the melt to 300 K (0: no quench).
    crystal_temperatures_k : tuple of float
        NVT of c-Li15Si4 and diamond Si at each (empty: no crystals).
    crystal_ps : float
        Time of each crystal run.
    crystal_box_relax : bool
        Relax the crystal cells with the student first (its own lattice constant); False: MD at
        the builders' cells (c-Li15Si4 a = 10.56 Å, diamond Si 2x2x2 a = 5.45 Å).
    surface_temperature_k : float
        NVT of the slabs, spheres and delithiated cells.
    surface_ps : float
        Their MD time (0: none of them).
    frames_per_run : int
        Candidate frames per MD stage (>= 1).
    vacuum_angstrom : float
        Vacuum around slabs and spheres.
    fragment_radius_angstrom : float
        Radius of the spheres cut from the quenched cells.
    test_fraction : float
        Share of the committee-selected configurations held out, in [0, 1).
    seed : int
        Random seed of the loop (starts, velocities, bootstrap, split).
    """

    iterations: int = 3
    committee_size: int = 4
    force_threshold_ev_per_angstrom: float = 0.35
    energy_threshold_ev_per_atom: float = 0.01
    max_selected: int = 40
    per_trajectory_max: int = 3
    min_pair_angstrom: float = 1.5
    blowup_ev_per_atom: float = 1.0
    xs: tuple = (0.0, 1.0, 2.0, 3.0, 3.75)
    n_si: int = 12
    melt_temperatures_k: tuple = (1500.0, 2500.0)
    melt_ps: float = 1.0
    quench_ps: float = 1.0
    crystal_temperatures_k: tuple = (300.0, 900.0)
    crystal_ps: float = 1.0
    crystal_box_relax: bool = True
    surface_temperature_k: float = 900.0
    surface_ps: float = 0.5
    frames_per_run: int = 4
    vacuum_angstrom: float = 6.0
    fragment_radius_angstrom: float = 5.0
    test_fraction: float = 0.1
    seed: int = 0

    def check(self) -> None:
        """Check the settings before any MD.

        Raises
        ------
        ConfigError
            One line naming the first bad setting and what it must be.
        """
        def bad(field, must, got):
            raise ConfigError(f"{field} must be {must}, got {got!r}")

        if int(self.iterations) < 1:
            bad("iterations", ">= 1", self.iterations)
        if int(self.committee_size) < 2:
            bad("committee_size", ">= 2 (a committee of one cannot disagree)",
                self.committee_size)
        for f in ("force_threshold_ev_per_angstrom", "energy_threshold_ev_per_atom",
                  "min_pair_angstrom", "blowup_ev_per_atom", "vacuum_angstrom",
                  "fragment_radius_angstrom"):
            v = getattr(self, f)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                bad(f, "> 0", v)
        for f in ("max_selected", "per_trajectory_max", "frames_per_run"):
            if int(getattr(self, f)) < 1:
                bad(f, ">= 1", getattr(self, f))
        for f in ("melt_ps", "quench_ps", "surface_ps", "crystal_ps"):
            if not getattr(self, f) >= 0:
                bad(f, ">= 0 ps", getattr(self, f))
        if self.crystal_temperatures_k and self.crystal_ps <= 0:
            bad("crystal_ps", "> 0 ps when crystal_temperatures_k are given", self.crystal_ps)
        if self.xs and self.melt_ps <= 0:
            bad("melt_ps", "> 0 ps when xs are given", self.melt_ps)
        out = [x for x in self.xs if not 0.0 <= float(x) <= X_LI15SI4]
        if out:
            bad("xs", f"in [0, {X_LI15SI4}]", out)
        if self.n_si < 2:
            bad("n_si", ">= 2", self.n_si)
        temps = list(self.melt_temperatures_k) + list(self.crystal_temperatures_k) + \
            [self.surface_temperature_k]
        if any(not t > 0 for t in temps):
            bad("temperatures", "> 0 K", temps)
        if self.xs and not self.melt_temperatures_k:
            bad("melt_temperatures_k", "non-empty when xs are given", self.melt_temperatures_k)
        if not 0.0 <= self.test_fraction < 1.0:
            bad("test_fraction", "in [0, 1)", self.test_fraction)
        if not self.xs and not self.crystal_temperatures_k:
            raise ConfigError("xs and crystal_temperatures_k are both empty: nothing to explore")


# ---- the student and its committee -----------------------------------------------------------
def resolve_student(student) -> Potential:
    """Find the starting student: a registry name or a fitted potential's folder; POD only.

    Parameters
    ----------
    student : str, os.PathLike or Potential
        ``"pod-lisi-7net"``, a folder with ``potential.json``, or a Potential.

    Returns
    -------
    Potential
        The student.

    Raises
    ------
    ConfigError
        Not found, or not a POD potential (the loop refits with fitpod).
    """
    if isinstance(student, Potential):
        pot = student
    elif student is None or str(student) == "":
        raise ConfigError("student: give the fitted potential to start from (--student "
                          "pod-lisi-7net or a folder with potential.json)")
    elif Path(student).is_dir():
        pot = fitted_potential(student)
    else:
        try:
            pot = get_potential(str(student))
        except ConfigError as exc:
            raise ConfigError(f"student '{student}' not found: give a registry name (dealloy "
                              "potentials) or a folder with potential.json") from exc
    if pot.kind != "pod":
        raise ConfigError(f"student '{pot.name}' is a {pot.kind} potential; active learning "
                          "refits with fitpod, so start from a POD student (e.g. pod-lisi-7net)")
    return pot


def student_settings(pot: Potential) -> dict:
    """Read the fit settings of a POD student from its manifest (the keys of ``POD_DEFAULTS``).

    Parameters
    ----------
    pot : Potential
        A fitted POD potential (its folder holds ``potential.json``).

    Returns
    -------
    dict
        The settings its coefficients were fitted with (defaults where the manifest is silent).
    """
    man = json.loads((Path(pot.files[0]).parent / MANIFEST).read_text())
    used = man.get("provenance", {}).get("fit_settings", {})
    return {k: used[k] for k in POD_DEFAULTS if k in used}


def _fit_folder(folder: Path, name: str, train, settings: dict, note: dict,
                reference_energies: dict | None = None) -> Potential:
    """Fit POD to ``train`` into ``folder`` with a manifest (reused when it exists)."""
    if (folder / MANIFEST).is_file():
        return fitted_potential(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    files, used, errors = fit_pod(train, tmp, name, settings, work_dir=tmp / "work",
                                  reference_energies=reference_energies)
    write_json(tmp / MANIFEST, {
        "name": name, "kind": "pod", "files": [f.name for f in files],
        "description": f"POD fitted by dealloy active learning ({note.get('role', '')})",
        "cutoff_angstrom": float(used["rcut"]), "timestep_ps": 0.001,
        "citation": "dealloy potential learn", "doi": "",
        "provenance": {"dealloy_version": __version__, "fit_settings": used,
                       "training_errors": errors,
                       "reference_energies": ({"method": "teacher-atoms",
                                               "isolated_atom_ev": reference_energies}
                                              if reference_energies else {"method": "none"}),
                       **note}})
    tmp.rename(folder)
    return fitted_potential(folder)


def fit_committee(train, settings: dict, folder, size: int, seed,
                  reference_energies: dict | None = None) -> list[Potential]:
    """Fit ``size`` POD potentials on bootstrap resamples of ``train`` (resumable per member).

    The resampling is stratified: configurations are drawn with replacement within each group
    of one family and one composition (Li/Si to 0.01), each group keeping its size, so no member
    misses a whole phase (a plain bootstrap of a few dozen configurations can draw no bcc Li at
    all, and that member then disagrees by eV/atom on Li -- measured).

    Parameters
    ----------
    train : list of ase.Atoms
        Labelled training configurations.
    settings : dict
        POD settings (``POD_DEFAULTS`` keys; the student's own).
    folder : str or pathlib.Path
        One sub-folder per member (``m0``, ``m1``, ...); an existing member is reused.
    size : int
        Number of members.
    seed : int or sequence of int
        Seed of the resampling (member k draws from ``default_rng([*seed, k])``).
    reference_energies : dict, optional
        The teacher's isolated-atom energies per element, eV: every member is fitted relative to
        them (:func:`~dealloy.fit.students.fit_pod`), so the members agree on an isolated atom;
        None: each member fits its own one-body term.

    Returns
    -------
    list of Potential
        The members.

    Raises
    ------
    SimulationError
        fitpod fails.

    References
    ----------
    Bootstrap committees of linear potentials as uncertainty estimate: [DPGEN]_ uses an ensemble
    of independently trained models; for a linear model (POD [POD]_) resampling the training set
    is what makes the members differ.
    """
    folder = Path(folder)
    seed = list(np.atleast_1d(seed))
    out = []
    groups: dict = {}
    for i, a in enumerate(train):
        sym = a.get_chemical_symbols()
        x = round(sym.count("Li") / max(1, sym.count("Si")), 2) if "Si" in sym else "Li"
        groups.setdefault((a.info.get("family", "other"), x), []).append(i)
    for k in range(size):
        rng = np.random.default_rng([*seed, k])
        idx = [int(i) for g in groups.values() for i in rng.choice(g, size=len(g))]
        out.append(_fit_folder(folder / f"m{k}", f"committee-m{k}", [train[i] for i in idx],
                               settings, {"role": f"committee member {k}", "bootstrap_seed":
                                          [int(s) for s in seed] + [k]},
                               reference_energies))
    return out


def committee_disagreement(frames, members) -> list[dict]:
    """Score each frame by the committee's disagreement [DPGEN]_.

    Parameters
    ----------
    frames : list of ase.Atoms
        Candidate configurations (N_j atoms each).
    members : list of Potential
        The committee (>= 2).

    Returns
    -------
    list of dict
        Per frame: ``force_deviation_ev_per_angstrom`` (largest over atoms of the rms over members
        of ``|F_i,k - <F_i>|``), ``energy_deviation_ev_per_atom`` (standard deviation over members
        of the energy per atom), ``committee_ok`` (False when a member's single point failed: then
        both are inf).
    """
    out = []
    for a in frames:
        try:
            res = [ev.single_point(a, m) for m in members]
        except SimulationError:
            out.append({"force_deviation_ev_per_angstrom": math.inf,
                        "energy_deviation_ev_per_atom": math.inf, "committee_ok": False})
            continue
        e = np.array([r[0] for r in res]) / len(a)
        f = np.stack([r[1] for r in res])  # (members, N, 3)
        dev = np.sqrt(np.mean(np.sum((f - f.mean(0)) ** 2, axis=2), axis=0))
        ok = bool(np.all(np.isfinite(e)) and np.all(np.isfinite(dev)))
        out.append({"force_deviation_ev_per_angstrom": float(dev.max()) if ok else math.inf,
                    "energy_deviation_ev_per_atom": float(np.std(e)) if ok else math.inf,
                    "committee_ok": ok})
    return out


# ---- exploration ------------------------------------------------------------------------------
def min_pair_distance(atoms: Atoms, cutoff: float = 3.0) -> float:
    """Give the shortest interatomic distance (Å; minimum image), ``cutoff`` if none is shorter.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure.
    cutoff : float
        Search radius, Å.

    Returns
    -------
    float
        The shortest distance, Å.
    """
    d = neighbor_list("d", atoms, cutoff)
    return float(d.min()) if d.size else float(cutoff)


def _frame(s: LammpsSession, velocities: bool = False) -> Atoms:
    a = s.get_atoms(velocities=velocities)
    a.arrays.pop("id", None)
    return a


class _Run:
    """One exploration MD run: chunks of MD with failure checks after each."""

    def __init__(self, start: Atoms, pot, spec: ActiveSpec, tag: str, explore: str, rng):
        self.pot, self.spec, self.tag, self.explore, self.rng = pot, spec, tag, explore, rng
        self.frames: list[Atoms] = []
        self.failed: str | None = None
        self.atoms = start
        self.n0 = len(start)
        self.e0 = None

    def _check(self, s, a) -> str | None:
        if s.natoms != self.n0:
            return f"{self.n0 - s.natoms} atoms lost"
        e = s.potential_energy_ev() / self.n0
        if not math.isfinite(e):
            return "non-finite energy"
        if self.e0 is not None and e < self.e0 - self.spec.blowup_ev_per_atom:
            return f"energy blow-up ({e:.2f} eV/atom, start {self.e0:.2f})"
        d = min_pair_distance(a)
        if d < self.spec.min_pair_angstrom:
            return f"pair at {d:.2f} A"
        return None

    def _add(self, a, what, reason=None):
        a = Atoms(a.get_chemical_symbols(), positions=a.positions, cell=a.cell, pbc=True)
        a.wrap()
        a.info = {"family": "active", "explore": self.explore, "source": f"{self.tag}, {what}",
                  "trajectory": self.tag}
        if reason:
            a.info["reason"] = reason
        a.info["config_id"] = config_hash(a)
        self.frames.append(a)

    def minimise(self, box: bool = False):
        """Minimise in pieces of 25 steps, checking after each; on failure keep the frames before."""
        good, bad, why = [], None, None
        with LammpsSession(self.atoms, self.pot) as s:
            e_prev = None
            for _ in range(20):
                try:
                    e = s.minimize(ftol_ev_per_angstrom=1e-2, maxiter=25, box=box)
                    a = _frame(s)
                    why = self._check(s, a)
                except SimulationError as exc:
                    why, a = f"LAMMPS: {str(exc).splitlines()[0][:80]}", None
                if why:
                    if a is not None and s.natoms == self.n0 and math.isfinite(e):
                        bad = a
                    break
                good.append(a)
                if e_prev is not None and abs(e - e_prev) < 1e-4 * self.n0:
                    break
                e_prev = e
            if not why:
                self.e0 = s.potential_energy_ev() / self.n0
                self.atoms = _frame(s)
                return
        self.failed = f"minimisation: {why}"
        for a in ([self.atoms] + good)[-2:]:
            self._add(a, "minimisation, before failure", "md-failure")
        if bad is not None and min_pair_distance(bad) >= 0.5 * self.spec.min_pair_angstrom:
            self._add(bad, "minimisation, at failure", "md-failure")

    def md(self, time_ps, t0, t1=None, ensemble="nvt", what=""):
        """MD in ``frames_per_run`` chunks from ``self.atoms``; stops at the first failure."""
        if self.failed or time_ps <= 0:
            return
        n = self.spec.frames_per_run
        velocities = bool(np.any(self.atoms.get_momenta()))
        with LammpsSession(self.atoms, self.pot) as s:
            if self.e0 is None:
                self.e0 = s.potential_energy_ev() / self.n0
            if not velocities:
                s.create_velocities(t0, int(self.rng.integers(1, 2**30)))
            last = _frame(s, velocities=True)
            t1 = t0 if t1 is None else t1
            for k in range(n):
                ta = t0 + (t1 - t0) * k / n
                tb = t0 + (t1 - t0) * (k + 1) / n
                try:
                    s.md(time_ps / n, ta, tb, ensemble=ensemble)
                    a = _frame(s, velocities=True)
                    why = self._check(s, a)
                except SimulationError as exc:
                    why = f"LAMMPS: {str(exc).splitlines()[0][:80]}"
                if why:
                    self.failed = f"{what} at {ta:.0f}-{tb:.0f} K: {why}"
                    self._refine(last, time_ps / n, ta, tb, ensemble, what)
                    return
                self._add(a, f"{what} {tb:.0f} K")
                last = a
            self.atoms = last

    def _refine(self, last, time_ps, t0, t1, ensemble, what):
        """Rerun the failing stretch from ``last`` in ten pieces; keep the frames before failure."""
        good = [last]
        bad = None
        try:
            with LammpsSession(last, self.pot) as s:
                for k in range(10):
                    s.md(time_ps / 10, t0 + (t1 - t0) * k / 10, t0 + (t1 - t0) * (k + 1) / 10,
                         ensemble=ensemble)
                    a = _frame(s)
                    why = self._check(s, a)
                    if why:
                        if s.natoms == self.n0 and math.isfinite(s.potential_energy_ev()):
                            bad = a
                        break
                    good.append(a)
        except SimulationError:
            pass
        for a in good[-2:]:
            self._add(a, f"{what}, before failure", "md-failure")
        if bad is not None and min_pair_distance(bad) >= 0.5 * self.spec.min_pair_angstrom:
            self._add(bad, f"{what}, at failure", "md-failure")


def explore(pot: Potential, spec: ActiveSpec, seed=0, progress=None) -> tuple[list[Atoms], list[dict]]:
    """Run the exploration MD of one iteration with ``pot`` and collect candidate frames.

    Parameters
    ----------
    pot : Potential
        The student (any registry potential runs; the loop passes its current POD student).
    spec : ActiveSpec
        What to run (module docstring, step 1).
    seed : int or sequence of int
        Random seed (packings, velocities, Li removal).
    progress : callable, optional
        Progress sink (:func:`dealloy.io.progress_hook`).

    Returns
    -------
    frames : list of ase.Atoms
        Candidates (``info``: family ``"active"``, ``explore`` kind, ``source``,
        ``trajectory``, ``config_id``; ``reason="md-failure"`` on frames before a failure).
    runs : list of dict
        One per MD run: ``trajectory``, ``explore``, ``atoms``, ``frames``, ``failed`` (None or
        why).

    Raises
    ------
    ConfigError
        Invalid ``spec``.
    """
    say = progress_hook(progress)
    spec.check()
    rng = np.random.default_rng(list(np.atleast_1d(seed)))
    runs: list[_Run] = []
    ends = []
    jobs = [(x, t) for x in spec.xs for t in spec.melt_temperatures_k]
    n_total = len(jobs) + 2 * len(spec.crystal_temperatures_k)
    t_start = time.time()
    say(done=0, total=n_total, task="exploration MD")
    for x, t_melt in jobs:
        n_li = int(round(x * spec.n_si))
        start = random_packing(n_li, spec.n_si, spec.n_si * ref_volume_per_si(x), rng)
        r = _Run(start, pot, spec, f"a-Li{x:g}Si melt {t_melt:g} K", "melt-quench", rng)
        r.minimise()
        r.md(spec.melt_ps, t_melt, what=f"melt {t_melt:g} K")
        r.md(spec.quench_ps, t_melt, 300.0, ensemble="npt", what="quench")
        runs.append(r)
        if not r.failed:
            end = r.atoms.copy()
            end.info["x"] = x
            ends.append(end)
        say(f"explore: {r.tag}: {len(r.frames)} frames" + (f", FAILED ({r.failed})"
                                                           if r.failed else ""),
            done=len(runs), total=n_total, task="exploration MD")
    for t in spec.crystal_temperatures_k:
        for name, c in (("c-Li15Si4", li15si4_unit_cell(10.56)),
                        ("c-Si", bulk("Si", "diamond", a=5.45, cubic=True).repeat(2))):
            r = _Run(c, pot, spec, f"{name} {t:g} K", "crystal", rng)
            r.minimise(box=spec.crystal_box_relax)
            r.md(spec.crystal_ps, t, what=f"NVT {t:g} K")
            runs.append(r)
            say(f"explore: {r.tag}: {len(r.frames)} frames" + (f", FAILED ({r.failed})"
                                                               if r.failed else ""),
                done=len(runs), total=n_total, task="exploration MD")
    if spec.surface_ps > 0:
        t = spec.surface_temperature_k
        for end in ends:
            x = end.info["x"]
            slab = end.copy()
            slab.center(vacuum=spec.vacuum_angstrom, axis=2)
            starts = [("surface", f"a-Li{x:g}Si slab {t:g} K", slab)]
            frag = _sphere(end, spec)
            if frag is not None:
                starts.append(("fragment", f"a-Li{x:g}Si sphere {t:g} K", frag))
            li = [i for i, s in enumerate(end.get_chemical_symbols()) if s == "Li"]
            if len(li) >= 3:
                drop = set(rng.choice(li, size=len(li) // 3, replace=False).tolist())
                starts.append(("delithiated", f"a-Li{x:g}Si minus {len(drop)} Li {t:g} K",
                               end[[i for i in range(len(end)) if i not in drop]]))
            for kind, tag, a in starts:
                a = Atoms(a.get_chemical_symbols(), positions=a.positions, cell=a.cell, pbc=True)
                r = _Run(a, pot, spec, tag, kind, rng)
                r.minimise()
                r.md(spec.surface_ps, t, what=f"NVT {t:g} K")
                runs.append(r)
        say(f"explore: slabs, spheres, delithiated cells of {len(ends)} quenched cells done")
    frames = [f for r in runs for f in r.frames]
    failed = [r for r in runs if r.failed]
    say(f"explore: {len(runs)} MD runs, {len(frames)} frames, {len(failed)} failed "
        f"({time.time() - t_start:.0f} s)")
    records = [{"trajectory": r.tag, "explore": r.explore, "atoms": r.n0,
                "frames": len(r.frames), "failed": r.failed} for r in runs]
    return frames, records


def _sphere(end: Atoms, spec: ActiveSpec) -> Atoms | None:
    R = spec.fragment_radius_angstrom
    big = end.repeat([max(1, int(math.ceil(2 * R / ln))) for ln in end.cell.lengths()])
    centre = big.cell.lengths() / 2
    keep = np.linalg.norm(big.positions - centre, axis=1) <= R
    if keep.sum() < 2:
        return None
    frag = Atoms(np.array(big.get_chemical_symbols())[keep], positions=big.positions[keep])
    frag.center(vacuum=spec.vacuum_angstrom)
    frag.pbc = True
    return frag


# ---- selection --------------------------------------------------------------------------------
def select_candidates(frames, scores, spec: ActiveSpec, known_ids=()) -> list[dict]:
    """Choose the configurations to label: failures, then the most uncertain, de-duplicated.

    Parameters
    ----------
    frames : list of ase.Atoms
        Candidates (``info``: ``config_id``, ``trajectory``, optional ``reason``).
    scores : list of dict
        Their committee disagreement (:func:`committee_disagreement`), in the same order.
    spec : ActiveSpec
        Thresholds and caps (``force_threshold_ev_per_angstrom``,
        ``energy_threshold_ev_per_atom``, ``max_selected``, ``per_trajectory_max``,
        ``min_pair_angstrom``).
    known_ids : iterable of str
        ``config_id`` of configurations already in the data set (never selected again).

    Returns
    -------
    list of dict
        The selection, most urgent first: ``index`` (into ``frames``), ``config_id``,
        ``reason`` (``"md-failure"``, ``"force"`` or ``"energy"``), ``score`` (the larger of
        deviation / threshold; inf for a failed committee single point),
        ``force_deviation_ev_per_angstrom``, ``energy_deviation_ev_per_atom``, ``trajectory``.
    """
    known = set(known_ids)
    rows = []
    for i, (a, sc) in enumerate(zip(frames, scores)):
        fd, ed = sc["force_deviation_ev_per_angstrom"], sc["energy_deviation_ev_per_atom"]
        ratio = max(fd / spec.force_threshold_ev_per_angstrom,
                    ed / spec.energy_threshold_ev_per_atom)
        if a.info.get("reason") == "md-failure":
            reason = "md-failure"
        elif ratio > 1.0:
            reason = "force" if fd / spec.force_threshold_ev_per_angstrom >= \
                ed / spec.energy_threshold_ev_per_atom else "energy"
        else:
            continue
        rows.append({"index": i, "config_id": a.info.get("config_id") or config_hash(a),
                     "reason": reason, "score": float(ratio),
                     "force_deviation_ev_per_angstrom": float(fd),
                     "energy_deviation_ev_per_atom": float(ed),
                     "trajectory": a.info.get("trajectory", "")})
    rows.sort(key=lambda r: (r["reason"] != "md-failure", -r["score"]))
    out, per_traj = [], {}
    for r in rows:
        if len(out) >= spec.max_selected:
            break
        if r["config_id"] in known:
            continue
        if per_traj.get(r["trajectory"], 0) >= spec.per_trajectory_max:
            continue
        if min_pair_distance(frames[r["index"]]) < 0.5 * spec.min_pair_angstrom:
            continue  # overlapping atoms: no teacher label is meaningful
        known.add(r["config_id"])
        per_traj[r["trajectory"]] = per_traj.get(r["trajectory"], 0) + 1
        out.append(r)
    return out


def _stats(values) -> dict:
    v = np.array([x for x in values if math.isfinite(x)])
    if v.size == 0:
        return {"median": None, "p90": None, "max": None}
    return {"median": float(np.median(v)), "p90": float(np.percentile(v, 90)),
            "max": float(v.max())}


def _stage_s(path: Path):
    """Wall seconds a finished stage recorded (so a resumed iteration reports its real cost)."""
    try:
        return json.loads(path.read_text())["s"]
    except (OSError, KeyError, ValueError):
        return None


def _split(a: Atoms, spec: ActiveSpec) -> str:
    if a.info.get("reason") == "md-failure" or spec.test_fraction <= 0:
        return "train"
    u = int(a.info["config_id"][:8], 16) / 16 ** 8  # deterministic in the configuration
    return "test" if u < spec.test_fraction else "train"


# ---- the loop ---------------------------------------------------------------------------------
def _state_doc(spec: ActiveSpec, data_sha: str, student: Potential, settings: dict,
               teacher_id: str, reference_energies: str) -> dict:
    s = {k: v for k, v in asdict(spec).items() if k not in _FREE_ON_RESUME}
    return json.loads(json.dumps({"schema": _STATE_SCHEMA, "spec": s, "data_sha256": data_sha,
                                  "student": student.name,
                                  "student_coefficients_sha256": _sha(student.files[-1]),
                                  "pod_settings": settings, "teacher": teacher_id,
                                  "reference_energies": reference_energies},
                                 default=str))


def _sha(path) -> str:
    return file_sha256(path)


def name_pod(name: str) -> str:
    """Give the registry name of the loop's result, ``pod-<name>``.

    Parameters
    ----------
    name : str
        The base name (kept as is if it already starts with ``pod-``).

    Returns
    -------
    str
        The registry name.
    """
    return name if name.startswith("pod-") else f"pod-{name}"


def _written_by(folder: Path, state: Path) -> bool:
    """Tell whether ``folder`` is a potential this loop (this ``state``) wrote: a rerun may replace it."""
    try:
        man = json.loads((folder / MANIFEST).read_text())
        al = man["provenance"]["dataset"]["active_learning"]
        return al["state_dir"] == str(state.resolve())
    except (OSError, KeyError, TypeError, ValueError):
        return False


def _write_history(state: Path, records: list[dict]) -> None:
    write_json(state / "history.json", {"iterations": records})
    cols = ["iteration", "candidates", "runs", "runs_failed", "selected", "selected_md_failure",
            "selected_force", "selected_energy", "labels_computed", "force_dev_median",
            "force_dev_p90", "force_dev_max", "energy_dev_median", "energy_dev_max",
            "student_test_e_rmse_mev_per_atom", "student_test_f_rmse_ev_per_angstrom",
            "dataset_configurations", "wall_s"]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(cols)
    for r in records:
        allr = r.get("student_test_errors", {}).get("all", {})
        w.writerow([r["iteration"], r["candidates"], r["runs"], r["runs_failed"], r["selected"],
                    r["selected_by_reason"].get("md-failure", 0),
                    r["selected_by_reason"].get("force", 0),
                    r["selected_by_reason"].get("energy", 0), r["labels_computed"],
                    r["force_deviation_ev_per_angstrom"]["median"],
                    r["force_deviation_ev_per_angstrom"]["p90"],
                    r["force_deviation_ev_per_angstrom"]["max"],
                    r["energy_deviation_ev_per_atom"]["median"],
                    r["energy_deviation_ev_per_atom"]["max"],
                    round(1000 * allr["energy_rmse_ev_per_atom"], 2) if allr else "",
                    round(allr["force_rmse_ev_per_angstrom"], 4) if allr else "",
                    r["dataset_configurations"], r["wall_s"]["total"]])
    with atomic_path(state / "history.csv") as tmp:
        Path(tmp).write_text(buf.getvalue())


def learn_potential(name: str, data, student, teacher=DEFAULT_TEACHER, state_dir=None,
                    spec: ActiveSpec | None = None, out_dir=None, force: bool = False,
                    label_cache=None, validate: bool = True, teacher_crystal: bool = False,
                    reference_energies: str = DEFAULT_REFERENCE_ENERGIES, progress=None) -> dict:
    """Grow a data set by active learning and refit the POD student until nothing is selected.

    Parameters
    ----------
    name : str
        Base name of the result (registered as ``pod-<name>`` in ``out_dir``; lower-case
        letters, digits, ``.``, ``_``, ``-``).
    data : str or pathlib.Path
        The labelled starting data set (extxyz; :func:`~dealloy.fit.dataset.read_dataset`,
        checksum verified). Never modified.
    student : str, os.PathLike or Potential
        The POD student fitted to ``data`` (registry name or folder); its fit settings are
        reused for the committee and the refits.
    teacher : str or callable
        Labelling model (:func:`~dealloy.fit.teacher.load_teacher`: ``"sevenn"``, ``"chgnet"``,
        ``"lammps:<registry name>"``, or a callable returning an ASE calculator).
    state_dir : str or pathlib.Path
        Where every iteration is checkpointed (rerun with the same one to resume); required.
    spec : ActiveSpec, optional
        Loop settings (default ``ActiveSpec()``).
    out_dir : str or pathlib.Path, optional
        Where ``pod-<name>`` goes (default the user potentials folder).
    force : bool
        Overwrite an existing ``pod-<name>``.
    label_cache : str or pathlib.Path, optional
        Teacher label cache (default ``<state_dir>/labels``; the one of ``dealloy potential
        fit`` can be shared).
    validate : bool
        Validate the final potential (:func:`~dealloy.fit.workflow.fit_potential`).
    teacher_crystal : bool
        Also relax c-Li15Si4 with the teacher for the validation.
    reference_energies : str
        ``"teacher-atoms"`` (default): the committee, the refits and the final fit are fitted
        relative to the teacher's isolated-atom energies; ``"none"``: POD fits its own one-body
        term (:func:`~dealloy.fit.workflow.fit_potential`). A state directory of a run before
        this option resumes with ``"none"`` only.
    progress : callable, optional
        Progress sink (:func:`dealloy.io.progress_hook`).

    Returns
    -------
    dict
        ``iterations`` (the per-iteration records, also in ``<state_dir>/history.json`` and
        ``history.csv``), ``converged`` (a selection came back empty and no MD run failed),
        ``stalled`` (nothing new to label although MD runs still fail), ``dataset`` (path of the
        final data set), ``potential`` (the final manifest, or None when the loop stopped at
        the starting student), ``cost_s``.

    Raises
    ------
    ConfigError
        Bad settings, a missing data set or student, a non-POD student, a missing teacher
        package (names the ``[fit]`` extra), an existing name without ``force``, no
        ``state_dir``, or a ``state_dir`` of a run with other settings -- all before any MD.
    SimulationError
        fitpod or LAMMPS fails outside the exploration MD (whose failures are data).

    References
    ----------
    The loop and its disagreement measures follow DP-GEN [DPGEN]_; the student is POD [POD]_.
    """
    say = progress_hook(progress)
    spec = spec or ActiveSpec()
    spec.check()
    check_reference_choice(reference_energies)
    if not state_dir:
        raise ConfigError("state_dir: give a folder for the checkpoints (--state-dir), outside "
                          "the work tree; rerun with the same one to resume")
    out_dir = Path(out_dir) if out_dir else user_potentials_dir()
    state = Path(state_dir)
    full = check_request(name, ["pod"], out_dir, force or _written_by(out_dir / name_pod(name),
                                                                      state))[0]
    check_teacher_name(teacher)
    pot0 = resolve_student(student)
    atoms0, meta0 = read_dataset(data)
    data_sha = meta0.get("sha256") or _sha(data)
    settings = student_settings(pot0)
    teacher_obj = load_teacher(teacher)
    if reference_energies == "teacher-atoms":
        check_teacher_labels(atoms0, teacher_obj.ident)
    doc = _state_doc(spec, data_sha, pot0, settings, teacher_obj.ident, reference_energies)
    state_file = state / "state.json"
    if state_file.is_file():
        old = json.loads(state_file.read_text())
        old.setdefault("reference_energies", "none")  # a state made before the option
        diff = [k for k in doc if old.get(k) != doc[k]]
        diff += [f"spec.{k}" for k in doc["spec"] if old.get("spec", {}).get(k) != doc["spec"][k]]
        diff = [d for d in diff if d != "spec"]
        if diff:
            raise ConfigError(f"state_dir {state} belongs to a run with other settings "
                              f"({', '.join(diff)}); rerun with those or give a new --state-dir")
        say(f"resuming from {state}")
    else:
        state.mkdir(parents=True, exist_ok=True)
        write_json(state_file, doc)
    cache = Path(label_cache) if label_cache else state / "labels"
    say(f"teacher {teacher_obj.ident}; student {pot0.name}; {len(atoms0)} configurations")
    ref = (teacher_isolated_atoms(teacher_obj, cache_dir=cache)
           if reference_energies == "teacher-atoms" else None)

    t_all = time.time()
    records = []
    atoms, pot, data_path = atoms0, pot0, Path(data)
    converged = stalled = False
    for it in range(1, spec.iterations + 1):
        d = state / f"iter-{it:03d}"
        rec_path = d / "record.json"
        if rec_path.is_file():  # finished before: reload its outputs
            rec = json.loads(rec_path.read_text())
            records.append(rec)
            if rec["selected"] == 0:
                converged = rec["runs_failed"] == 0
                stalled = not converged
                break
            data_path = d / "dataset.extxyz"
            atoms, _ = read_dataset(data_path)
            pot = fitted_potential(d / "student")
            continue
        d.mkdir(parents=True, exist_ok=True)
        wall = {}
        t0 = time.time()
        say(f"iteration {it}: student {pot.name}")
        # the student's held-out errors before this iteration's data
        err_path = d / "student_test_errors.json"
        if err_path.is_file():
            errs = json.loads(err_path.read_text())
        else:
            errs = ev.errors_by_family(pot, atoms, "test")
            write_json(err_path, errs)
            write_json(d / "wall-errors.json", {"s": round(time.time() - t0, 1)})
        wall["errors_s"] = _stage_s(d / "wall-errors.json")
        # explore
        t1 = time.time()
        cand_path, runs_path = d / "candidates.extxyz", d / "runs.json"
        if cand_path.is_file() and runs_path.is_file():
            frames = ase.io.read(cand_path, index=":") if cand_path.stat().st_size else []
            runs = json.loads(runs_path.read_text())["runs"]
            say(f"iteration {it}: {len(frames)} candidates (resumed)")
        else:
            frames, runs = explore(pot, spec, seed=[spec.seed, it], progress=say)
            if frames:
                write_structure(cand_path, frames, format="extxyz")
            else:
                cand_path.write_text("")
            write_json(runs_path, {"runs": runs, "wall_s": round(time.time() - t1, 1)})
        wall["explore_s"] = json.loads(runs_path.read_text()).get("wall_s")
        # committee and scores
        t1 = time.time()
        score_path = d / "scores.json"
        if score_path.is_file():
            scores = json.loads(score_path.read_text())["scores"]
        else:
            train = [a for a in atoms if a.info.get("split", "train") == "train"]
            members = fit_committee(train, settings, d / "committee", spec.committee_size,
                                    [spec.seed, it], reference_energies=ref)
            say(f"iteration {it}: committee of {len(members)} fitted; scoring "
                f"{len(frames)} candidates")
            scores = committee_disagreement(frames, members)
            write_json(score_path, {"scores": scores, "wall_s": round(time.time() - t1, 1)})
        wall["committee_s"] = json.loads(score_path.read_text()).get("wall_s")
        # select
        sel_path = d / "selection.json"
        if sel_path.is_file():
            selection = json.loads(sel_path.read_text())["selected"]
        else:
            selection = select_candidates(frames, scores, spec,
                                          known_ids={a.info["config_id"] for a in atoms})
            write_json(sel_path, {"selected": selection,
                                  "thresholds": {"force_ev_per_angstrom":
                                                 spec.force_threshold_ev_per_angstrom,
                                                 "energy_ev_per_atom":
                                                 spec.energy_threshold_ev_per_atom}})
        by_reason = {}
        for r in selection:
            by_reason[r["reason"]] = by_reason.get(r["reason"], 0) + 1
        n_failed = sum(1 for r in runs if r["failed"])
        say(f"iteration {it}: selected {len(selection)} of {len(frames)} "
            + (f"({', '.join(f'{k} {v}' for k, v in by_reason.items())})" if selection else
               "-- nothing to learn: converged" if not n_failed else
               f"-- nothing new to label, but {n_failed} MD run(s) still fail: stalled"))
        rec = {"iteration": it, "student": pot.name, "candidates": len(frames),
               "runs": len(runs), "runs_failed": sum(1 for r in runs if r["failed"]),
               "failed_runs": [f"{r['trajectory']}: {r['failed']}" for r in runs if r["failed"]],
               "selected": len(selection), "selected_by_reason": by_reason,
               "force_deviation_ev_per_angstrom": _stats(
                   s["force_deviation_ev_per_angstrom"] for s in scores),
               "energy_deviation_ev_per_atom": _stats(
                   s["energy_deviation_ev_per_atom"] for s in scores),
               "student_test_errors": errs, "labels_computed": 0}
        if selection:
            # label (cached per configuration), grow the data set, refit
            t1 = time.time()
            picked = []
            for r in selection:
                a = frames[r["index"]].copy()
                a.info.update({"family": "active", "active_iteration": it,
                               "reason": r["reason"]})
                a.info["split"] = _split(a, spec)
                picked.append(a)
            rec["labels_computed"] = sum(
                1 for a in picked if not _label_path(cache, teacher_obj.ident, a).exists())
            labelled = label(picked, teacher_obj, cache_dir=cache, progress=say)
            wall["label_s"] = round(time.time() - t1, 1)
            for a in labelled:
                a.info.pop("trajectory", None)
            atoms = atoms + labelled
            check_dataset(atoms)
            data_path = d / "dataset.extxyz"
            write_dataset(data_path, atoms, {
                "parent_sha256": data_sha if it == 1 else records[-1]["dataset_sha256"],
                "active_learning": {"iteration": it, "added": len(labelled),
                                    "teacher": teacher_obj.provenance(),
                                    "state_dir": str(state.resolve()),
                                    "starting_student": pot0.name,
                                    "settings": asdict(spec)},
                "made_by": f"dealloy {__version__} (dealloy.fit.active)"})
            rec["dataset_sha256"] = _sha(data_path)
            t1 = time.time()
            train = [a for a in atoms if a.info.get("split", "train") == "train"]
            pot = _fit_folder(d / "student", f"student-iter{it}", train, settings,
                              {"role": f"student after iteration {it}",
                               "dataset_sha256": rec["dataset_sha256"]}, ref)
            wall["refit_s"] = round(time.time() - t1, 1)
        else:
            rec["dataset_sha256"] = data_sha if it == 1 else records[-1]["dataset_sha256"]
            converged = rec["runs_failed"] == 0
            stalled = not converged
        rec["dataset_configurations"] = len(atoms)
        wall["total"] = round(sum(v for v in wall.values() if v), 1)
        rec["wall_s"] = wall
        write_json(rec_path, rec)
        records.append(rec)
        _write_history(state, records)
        say(f"iteration {it} done in {wall['total']:.0f} s")
        if rec["selected"] == 0:
            break
    _write_history(state, records)
    result = {"iterations": records, "converged": converged, "stalled": stalled,
              "dataset": str(data_path),
              "potential": None, "state_dir": str(state)}
    if data_path != Path(data):
        t1 = time.time()
        res = fit_potential(name, data=data_path, students=("pod",), out_dir=out_dir,
                            work_dir=state / "final-fit",
                            force=force or _written_by(out_dir / full, state),
                            settings={"pod": settings},
                            validate=validate, teacher=teacher_obj, label_cache=cache,
                            teacher_crystal=teacher_crystal, progress=say,
                            reference_energies=reference_energies,
                            description=f"POD Li-Si potential distilled from {teacher_obj.name} "
                                        f"with {len(records)} active-learning iteration(s)")
        result["potential"] = res["potentials"][full]
        result["final_fit_s"] = round(time.time() - t1, 1)
    else:
        say("no configuration was added: the starting student stands; nothing written")
    result["families"] = family_counts(atoms)
    result["cost_s"] = round(time.time() - t_all, 1)
    return result


__all__ = ["ActiveSpec", "committee_disagreement", "explore", "fit_committee", "learn_potential",
           "min_pair_distance", "resolve_student", "select_candidates", "student_settings"]

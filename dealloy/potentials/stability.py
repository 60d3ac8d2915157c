"""Particle stability of a potential: long MD of a ~4000-atom c-Li15Si4 particle in vacuum.

``dealloy validate-potential NAME --stability`` (issue 14's stability row): for each temperature,
a c-Li15Si4 nanoparticle (:func:`dealloy.build.crystal.li15si4_particle`, 5 nm: 4 052 atoms at
seed 1) is minimised, given Maxwell-Boltzmann velocities, held at the temperature with a Langevin
thermostat for ``equilibrate_ps`` and then run in the microcanonical ensemble (NVE, velocity
Verlet, the potential's own timestep) for ``time_ps``. Measured:

- the **closest pair** of atoms, evaluated by LAMMPS every ``pair_every_steps`` steps over the
  whole run (``compute pair/local dist`` reduced to its minimum; ``fix ave/time`` writes it to a
  file read back per sample), against ``min_pair_angstrom`` (1.5 Å: no Li-Li, Li-Si or Si-Si
  pair of a sound potential comes that close at these temperatures; the shortest bond in the
  system, Si-Si, is 2.35 Å);
- the **NVE energy drift**: the slope of a least-squares line through the total energy per atom
  sampled every ``sample_ps`` (meV/atom/ns), the total change and the scatter about the line;
- **evaporation**: an atom that has left the particle -- no other atom within the potential's
  cutoff, so nothing binds it any more -- is deleted and recorded (time, species, position,
  velocity, kinetic energy, the atoms around it at the last check before it left -- at most
  ``sample_ps`` earlier -- and the energy it carried away), and the run goes on: a hot particle that sheds a Li is measured to the end
  instead of stopped. LAMMPS looks for such atoms every
  :data:`~dealloy.lammps.session.HALT_EVERY_STEPS` steps
  (:meth:`~dealloy.lammps.session.LammpsSession.watch_evaporation`), the run pauses,
  dealloy deletes them (with any atom left too poorly bound by their going,
  :func:`evaporated`) and continues from that step; dealloy checks again after every
  ``sample_ps`` chunk (a halt on a chunk's last step ends the chunk normally). On an ML-POD build affected by
  lammps/lammps issue #5114 (:func:`dealloy.lammps.session.check_pod_neighbours`), which
  crashes or corrupts memory when an atom has 0 or 1 neighbour-list candidates, an atom counts as
  gone when fewer than 2 atoms lie within the cutoff (an atom leaving, or a leaving dimer) or
  fewer than 3 within cutoff + skin (what a new session refuses, so a checkpoint can always be
  restored; :meth:`~dealloy.lammps.session.LammpsSession.evaporated_atoms`). The NVE energy series adds what the deleted
  atoms carried away (measured by LAMMPS before and after the deletion), so the drift is that of
  the whole starting system;
- **detached atoms** (no other atom within 4 Å, still within the cutoff) at every sample.

A run survives SLURM's time-limit signal and ``kill -9``: the MD runs as a
:class:`dealloy.builders.checkpoint.BuildRoute` (SIGTERM/SIGUSR1 write a checkpoint and stop;
a checkpoint is also written after every energy sample), in the ``cache_dir`` folder; the
same command continues from it, on the same or another number of MPI ranks. A finished
temperature is kept there too and not run again.

The timestep is the potential's (:attr:`dealloy.lammps.potentials.Potential.timestep_ps`), as in
production runs, so the drift measured is the drift a dealloying run has.

References
----------
L. Verlet, Phys. Rev. 159 (1967) 98 (velocity Verlet, LAMMPS ``fix nve``); T. Schneider,
E. Stoll, Phys. Rev. B 17 (1978) 1302 (``fix langevin``). DOIs not checked here. The test itself
is issue 14's ("100 ps at 300 K and at 1000 K on a ~4000-atom particle: no pair closer than
1.5 Å, NVE energy drift reported").
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import time
from pathlib import Path

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator
from scipy.spatial import cKDTree

from dealloy.build.crystal import li15si4_particle
from dealloy.builders.cache import potential_identity, structure_digest
from dealloy.builders.checkpoint import BuildControl, BuildRoute, MdSegment, build_control
from dealloy.config.analysis import AnalysisModel
from dealloy.engine.signals import StopSignals
from dealloy.errors import SimulationError
from dealloy.io import mpi_comm, progress_hook, write_json
from dealloy.lammps.potentials import DEFAULT_POTENTIAL, get_potential
from dealloy.potentials.diffusivity import (MAX_TEMPERATURE_K, check_potential_name,
                                             check_at_least_a_timestep,
                                             check_temperatures)
from dealloy.lammps.session import (LammpsSession, evaporated, evaporation_rule,
                                    neighbour_counts)

#: an atom with no other atom this close is counted as detached (loosely held), Å
DETACHED_ANGSTROM = 4.0
#: the atoms within the cutoff + this of an evaporated atom, at the last chunk before it left
#: (at most ``poll_ps`` = ``sample_ps`` earlier), are recorded with it (its environment, to look
#: at or to label with a teacher; not enough for its removal energy, which depends on atoms up to
#: two cutoffs away), Å
ENVIRONMENT_MARGIN_ANGSTROM = 2.0
#: the environment is recorded for this many evaporated atoms of a run (the first ones), so a
#: run that sheds hundreds keeps a small record and checkpoint
MAX_ENVIRONMENTS = 20
#: the table prints this many evaporation events of a run, then how many more there were
MAX_EVENT_LINES = 10
#: neighbour-list skin of the stability sessions, Å (LammpsSession's default)
SKIN_ANGSTROM = 2.0
#: format of the per-temperature result kept in the cache folder
FORMAT = 3


class StabilityParams(AnalysisModel):
    """Parameters of the particle stability test; units in the names, ranges checked when made.

    Attributes
    ----------
    potential : str
        Registry potential (default meam-godet2020).
    diameter_nm : float
        Diameter of the c-Li15Si4 particle, nm: 2.2 .. 20 (default 5.0: 4 052 atoms at seed 1).
    temperatures_k : tuple of float
        Temperatures, K, each > 0 and <= 3000, distinct (default 300, 1000).
    equilibrate_ps : float
        Langevin equilibration (damping 0.1 ps) before the NVE run, ps (>= 0; default 10).
    time_ps : float
        NVE run, ps (> 0; default 100); at least 4 samples of ``sample_ps``.
    sample_ps : float
        Interval of the energy samples, ps (>= the potential's timestep; default 0.5).
    pair_every_steps : int
        The closest pair is evaluated every this many MD steps (>= 1; default 5).
    min_pair_angstrom : float
        The closest pair allowed, Å (> 0; default 1.5).
    seed : int
        Random seed of the particle's orientation and the velocities (>= 0; default 1).

    Raises
    ------
    pydantic.ValidationError
        On construction or assignment, a value out of its range
        (:meth:`~dealloy.config.analysis.AnalysisModel.checked` turns it into a ConfigError).
    """

    potential: str = Field(DEFAULT_POTENTIAL, description="registry potential")
    diameter_nm: float = Field(5.0, ge=2.2, le=20.0, allow_inf_nan=False,
                               description="c-Li15Si4 particle diameter, nm (5 nm: 4052 atoms at seed 1)")
    temperatures_k: tuple[float, ...] = Field(
        (300.0, 1000.0), description=f"temperatures, K, each > 0 and <= {MAX_TEMPERATURE_K:g}")
    equilibrate_ps: float = Field(10.0, ge=0, allow_inf_nan=False,
                                  description="Langevin equilibration before the NVE run, ps")
    time_ps: float = Field(100.0, gt=0, allow_inf_nan=False, description="NVE run, ps")
    sample_ps: float = Field(0.5, gt=0, allow_inf_nan=False,
                             description="interval of the energy samples, ps")
    pair_every_steps: int = Field(5, ge=1, description="closest pair evaluated every N MD steps")
    min_pair_angstrom: float = Field(1.5, gt=0, allow_inf_nan=False,
                                     description="closest pair allowed, Å")
    seed: int = Field(1, ge=0, description="random seed (orientation, velocities)")

    @field_validator("potential")
    @classmethod
    def _known_potential(cls, v: str) -> str:
        return check_potential_name(v)

    @field_validator("temperatures_k")
    @classmethod
    def _temperatures(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        return check_temperatures(v)

    @field_validator("sample_ps")
    @classmethod
    def _at_least_a_timestep(cls, v: float, info: ValidationInfo) -> float:
        return check_at_least_a_timestep(v, info)

    @model_validator(mode="after")
    def _four_samples(self) -> StabilityParams:
        if self.time_ps / self.sample_ps < 4 - 1e-9:
            raise ValueError(f"time_ps = {self.time_ps:g} ps gives fewer than 4 energy samples at "
                             f"sample_ps = {self.sample_ps:g} ps; give >= {4 * self.sample_ps:g} ps")
        return self


def _drift(t_ps: np.ndarray, e_per_atom_ev: np.ndarray) -> dict:
    """Least-squares drift of the total energy: slope (meV/atom/ns), change and scatter (meV/atom)."""
    slope, icpt = np.polyfit(t_ps, e_per_atom_ev, 1)
    resid = e_per_atom_ev - (slope * t_ps + icpt)
    return {"drift_mev_per_atom_per_ns": float(slope * 1e6),
            "change_mev_per_atom": float((e_per_atom_ev[-1] - e_per_atom_ev[0]) * 1e3),
            "scatter_mev_per_atom": float(resid.std() * 1e3)}


def _closest_pair(atoms) -> float:
    """Closest interatomic distance of a non-periodic structure (KD-tree), Å."""
    d, _ = cKDTree(atoms.positions).query(atoms.positions, k=2)
    return float(d[:, 1].min())


def _read_pairs(path: Path, first: int, last: int) -> np.ndarray:
    """Closest-pair values of ``fix ave/time``'s file for steps in (first, last]."""
    rows = []
    with contextlib.suppress(FileNotFoundError), open(path) as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) == 2 and first < int(parts[0]) <= last:
                rows.append(float(parts[1]))
    return np.array(rows, dtype=float)


def stability_run(params: StabilityParams, temperature_k: float, folder: Path,
                  control: BuildControl, progress=None) -> dict:
    """Run one temperature of the stability test (module docstring); collective over MPI ranks.

    Parameters
    ----------
    params : StabilityParams
        The parameters.
    temperature_k : float
        Temperature, K.
    folder : pathlib.Path
        The checkpoint folder (``control.folder``): the closest-pair file lives there too.
    control : BuildControl
        Stop flag and checkpoint settings (:func:`particle_stability` makes it).
    progress : callable, optional
        :func:`dealloy.io.progress_hook` hook: a count of the ps done after every chunk of
        ``control.poll_ps`` (the Langevin segment included), a line after every sample.

    Returns
    -------
    dict
        ``temperature_k``, ``n_atoms`` (at the start), ``n_atoms_end``, ``nve_ps``,
        ``mean_temperature_k`` (NVE), ``closest_pair_angstrom`` (over equilibration and NVE,
        every ``pair_every_steps``), ``closest_pair_end_angstrom`` (in the final structure, by a
        KD-tree: a check of LAMMPS' value), ``samples_below_min_pair`` (pair evaluations below
        ``min_pair_angstrom``), ``evaporated_li``, ``evaporated_si`` (atoms deleted after they
        left the particle, equilibration and NVE), ``evaporated_nve_per_ns`` (atoms per ns of
        NVE), ``evaporation_min_neighbours`` (:func:`evaporation_rule`), ``evaporations`` (one
        dict per deletion: ``t_ps`` from the start of the equilibration, ``phase``
        ``equilibration`` or ``nve``, ``step``, ``energy_removed_ev`` -- the total energy before
        minus after, by LAMMPS -- and ``atoms``: per atom ``id``, ``element``,
        ``position_angstrom``, ``velocity_angstrom_per_ps``, ``kinetic_energy_ev``,
        ``nearest_angstrom``, ``environment_before`` with ``t_ps``, ``ids``, ``elements``,
        ``positions_angstrom`` of the atoms within the cutoff + 2 Å of it at the last check
        before, at most ``sample_ps`` earlier, itself first; for the first
        :data:`MAX_ENVIRONMENTS` atoms of a run), ``detached_atoms_end``, ``drift_mev_per_atom_per_ns``,
        ``change_mev_per_atom``, ``scatter_mev_per_atom``, ``stable`` (closest pair >= the
        limit and nothing evaporated), ``md_wall_s`` (MD wall time summed over every process
        that continued it), ``n_ranks`` (of the process that finished it), ``rank_counts``
        (every rank count that ran it, in order: a stopped run continues on any number of
        ranks, the same physics but not the same bits), ``series`` (per sample: ``t_ps``,
        ``etotal_ev_per_atom`` -- the total energy plus what evaporated atoms carried away, per
        starting atom --, ``pe_ev_per_atom`` (per atom present), ``temperature_k``,
        ``closest_pair_angstrom``, ``detached_atoms``, ``n_atoms``), ``resumed``, ``wall_s``
        (this process).

    Raises
    ------
    BuildStopped
        On SIGTERM/SIGUSR1/Ctrl-C, after writing the checkpoint.
    SimulationError
        When LAMMPS fails, or paused for an evaporated atom that dealloy does not find.
    """
    p = params
    pot = get_potential(p.potential)
    comm = mpi_comm(control.comm)
    say = progress_hook(progress)
    t0 = time.perf_counter()
    start = li15si4_particle(p.diameter_nm, seed=p.seed)
    n = len(start)
    name = f"stability-{temperature_k:g}K"
    route = BuildRoute(name, lambda: {
        "route": name, "format": FORMAT, "start": structure_digest(start),
        "potential": potential_identity(pot), "temperature_k": float(temperature_k),
        "params": p.model_dump(mode="json", exclude={"temperatures_k"}),
        "n_ranks": comm.Get_size()}, control=control, any_rank_count=True)
    done = route.result()
    if done is not None:
        return dict({"rank_counts": [done[1]["n_ranks"]]} | done[1], resumed=False, wall_s=0.0)
    n_samples = int(round(p.time_ps / p.sample_ps))
    segments = ([MdSegment("equilibration", p.equilibrate_ps, temperature_k, temperature_k,
                           "langevin", seed=p.seed + 1)] if p.equilibrate_ps > 0 else [])
    n_eq = len(segments)
    segments += [MdSegment(f"nve {k + 1}", p.sample_ps, temperature_k, temperature_k, "nve")
                 for k in range(n_samples)]
    pair_file = Path(folder) / f"{name}-pairs.txt"
    total_ps = p.equilibrate_ps + p.time_ps
    cutoff = float(pot.cutoff_angstrom)
    with LammpsSession(start, pot, comm=comm, neighbor_skin_angstrom=SKIN_ANGSTROM) as s:
        need = s.evaporation_min_neighbours
        if not route.restore(s):
            s.minimize(ftol_ev_per_angstrom=1e-3, maxiter=2000)
            s.create_velocities(temperature_k, p.seed)
            route.arrays["series"] = np.zeros((0, 7))
            route.meta.update(closest_pair=math.inf, below=0, wall_s=0.0, evaporations=[],
                              energy_removed_ev=0.0,
                              pair_step=int(s.lmp.extract_global("ntimestep")))
            if comm.Get_rank() == 0:
                pair_file.unlink(missing_ok=True)
        # the closest pair every N steps, appended by LAMMPS to a file (step, value); a resumed
        # run appends too, so the steps a killed process ran past its checkpoint still count
        s.commands(["compute dealloy_pl all pair/local dist",
                    "compute dealloy_pmin all reduce min c_dealloy_pl inputs local",
                    f"fix dealloy_pairs all ave/time {p.pair_every_steps} 1 {p.pair_every_steps} "
                    f"c_dealloy_pmin append {pair_file} format ' %.6f'"])
        # an atom with fewer than `need` atoms within the cutoff has left: pause
        s.watch_evaporation()
        clock = [time.perf_counter()]
        before = [s.get_atoms(velocities=False), None]  # the structure at the last sample, t

        def t_now() -> float:
            return (int(s.lmp.extract_global("ntimestep")) - route.meta["step0"]) * s.dt_ps

        route.meta.setdefault("step0", int(s.lmp.extract_global("ntimestep")))
        before[1] = round(t_now(), 6)

        def evaporate(i: int, halted: bool) -> bool:
            # a count after every chunk (0.5 ps): progress and an ETA within the long Langevin
            # segment too (a log file gets a line at most every 30 s)
            say(done=round(t_now(), 3), total=total_ps, task=f"{temperature_k:g} K MD")
            atoms = s.get_atoms(velocities=True)
            gone = s.evaporated_atoms(atoms)
            if not gone.size:
                if halted:  # LAMMPS and dealloy must agree on what left
                    raise SimulationError(
                        f"{name}: LAMMPS paused for an atom with fewer than {need} atoms within "
                        f"{cutoff:g} A at step {int(s.lmp.extract_global('ntimestep'))}, but "
                        "none is there")
                before[0], before[1] = atoms, round(t_now(), 6)
                return False
            e_before = _total_energy_ev(s)
            t_ps, step = t_now(), int(s.lmp.extract_global("ntimestep"))
            n_env = MAX_ENVIRONMENTS - sum(len(e["atoms"]) for e in route.meta["evaporations"])
            rows = _evaporated_atoms(atoms, gone, before[0], before[1], cutoff, n_env)
            s.delete_atoms(atoms.arrays["id"][gone])
            removed = e_before - _total_energy_ev(s)
            route.meta["energy_removed_ev"] += removed
            route.meta["evaporations"].append({
                "t_ps": round(t_ps, 6), "step": step,
                "phase": "equilibration" if i < n_eq else "nve",
                "energy_removed_ev": removed, "atoms": rows})
            say(f"{temperature_k:g} K: {len(rows)} atom(s) evaporated at {t_ps:.2f} ps "
                f"({', '.join(r['element'] for r in rows)}), deleted; going on")
            before[0], before[1] = s.get_atoms(velocities=False), round(t_now(), 6)
            return True

        def after(i: int) -> None:
            step = int(s.lmp.extract_global("ntimestep"))
            now = time.perf_counter()
            route.meta["wall_s"] += now - clock[0]  # MD wall time over every resumed process
            clock[0] = now
            pairs = None
            if comm.Get_rank() == 0:
                pairs = _read_pairs(pair_file, route.meta["pair_step"], step)
            pairs = comm.bcast(pairs, root=0)
            low = float(pairs.min()) if pairs.size else math.inf
            route.meta["closest_pair"] = min(route.meta["closest_pair"], low)
            route.meta["below"] += int((pairs < p.min_pair_angstrom).sum())
            route.meta["pair_step"] = step
            atoms = before[0]  # this step's structure (after_chunk ran at the segment's end)
            detached = int((neighbour_counts(atoms, DETACHED_ANGSTROM) == 0).sum())
            if i >= n_eq:
                t_ps = (i - n_eq + 1) * p.sample_ps
                etot = (s.thermo("etotal") * s.units.energy_ev + route.meta["energy_removed_ev"]) / n
                row = [t_ps, etot, s.thermo("pe") * s.units.energy_ev / len(atoms),
                       s.thermo("temp"), low, detached, len(atoms)]
                route.arrays["series"] = np.vstack([route.arrays["series"], row])
            ps_done = (sum(seg.time_ps for seg in segments[:i + 1]))
            say(f"{temperature_k:g} K: {ps_done:.1f} of {total_ps:g} ps, closest pair "
                f"{route.meta['closest_pair']:.2f} A", done=round(ps_done, 3), total=total_ps,
                task=f"{temperature_k:g} K MD")

        s.command("thermo_style custom step temp pe ke etotal")
        route.run(s, segments, after_segment=after, after_chunk=evaporate)
        final = s.get_atoms(velocities=False)
    ser = route.arrays["series"]
    drift = (_drift(ser[:, 0], ser[:, 1]) if len(ser) >= 2 else
             dict.fromkeys(("drift_mev_per_atom_per_ns", "change_mev_per_atom",
                            "scatter_mev_per_atom"), math.nan))
    below = int(route.meta["below"])
    events = route.meta["evaporations"]
    lost = [a["element"] for e in events for a in e["atoms"]]
    lost_nve = sum(len(e["atoms"]) for e in events if e["phase"] == "nve")
    nve_ps = float(ser[-1, 0]) if len(ser) else 0.0
    out = {"temperature_k": float(temperature_k), "n_atoms": n, "n_atoms_end": len(final),
           "nve_ps": nve_ps,
           "equilibrate_ps": float(p.equilibrate_ps), "timestep_ps": float(pot.timestep_ps),
           "mean_temperature_k": float(ser[:, 3].mean()) if len(ser) else math.nan,
           "closest_pair_angstrom": float(route.meta["closest_pair"]),
           "closest_pair_end_angstrom": _closest_pair(final),
           "samples_below_min_pair": below,
           "evaporated_li": lost.count("Li"), "evaporated_si": lost.count("Si"),
           "evaporated_nve_per_ns": lost_nve / nve_ps * 1e3 if nve_ps else math.nan,
           "evaporation_min_neighbours": need, "evaporations": events,
           "detached_atoms_end": int(ser[-1, 5]) if len(ser) else 0, **drift,
           "stable": bool(below == 0 and not lost),
           "md_wall_s": round(float(route.meta["wall_s"]), 1), "n_ranks": comm.Get_size(),
           "rank_counts": list(route.rank_counts),
           "series": {"t_ps": ser[:, 0].tolist(), "etotal_ev_per_atom": ser[:, 1].tolist(),
                      "pe_ev_per_atom": ser[:, 2].tolist(), "temperature_k": ser[:, 3].tolist(),
                      "closest_pair_angstrom": ser[:, 4].tolist(),
                      "detached_atoms": ser[:, 5].astype(int).tolist(),
                      "n_atoms": ser[:, 6].astype(int).tolist()}}
    route.finish(final, out)
    return dict(out, resumed=route.resumed, wall_s=round(time.perf_counter() - t0, 1))


def _total_energy_ev(s) -> float:
    """Total (potential + kinetic) energy of the session's current state, eV (``run 0``)."""
    s.command("run 0 post no")
    return s.thermo("etotal") * s.units.energy_ev


def _evaporated_atoms(atoms, gone: np.ndarray, before, before_t_ps, cutoff: float,
                      n_environments: int) -> list[dict]:
    """Describe the atoms ``gone`` of ``atoms`` (ids, velocities in ASE units) for the record."""
    from ase import units as ase_units

    tree = cKDTree(atoms.positions)
    ids_before = before.arrays["id"]
    tree_before = cKDTree(before.positions)
    vel = atoms.get_velocities()  # ASE units: 1/2 m v^2 in eV with m in amu
    rows = []
    for j in gone:
        d, _ = tree.query(atoms.positions[j], k=2)
        row = {"id": int(atoms.arrays["id"][j]), "element": atoms[j].symbol,
               "position_angstrom": [round(float(c), 4) for c in atoms.positions[j]],
               "velocity_angstrom_per_ps": [round(float(c), 4)
                                            for c in vel[j] * 1000.0 * ase_units.fs],
               "kinetic_energy_ev": float(0.5 * atoms[j].mass * (vel[j] ** 2).sum()),
               "nearest_angstrom": round(float(d[1]), 4)}
        k = np.flatnonzero(ids_before == row["id"])
        if k.size and len(rows) < n_environments:  # its surroundings before, itself first
            near = [int(m) for m in tree_before.query_ball_point(
                before.positions[k[0]], cutoff + ENVIRONMENT_MARGIN_ANGSTROM) if m != k[0]]
            keep = [int(k[0])] + sorted(near)
            row["environment_before"] = {
                "t_ps": before_t_ps, "ids": [int(ids_before[m]) for m in keep],
                "elements": [before[m].symbol for m in keep],
                "positions_angstrom": [[round(float(c), 4) for c in before.positions[m]]
                                       for m in keep]}
        rows.append(row)
    return rows


def particle_stability(params: StabilityParams | dict, cache_dir=None, comm=None,
                       progress=None) -> dict:
    """Run the stability test at every temperature (module docstring); collective.

    SIGTERM, SIGUSR1 and Ctrl-C are caught while it runs: the MD writes a checkpoint in
    ``cache_dir`` and :class:`~dealloy.builders.checkpoint.BuildStopped` is raised; the same call
    continues.

    Parameters
    ----------
    params : StabilityParams or dict
        The parameters (a dict is checked by :meth:`StabilityParams.checked` before any MD).
    cache_dir : str or os.PathLike, optional
        Folder of checkpoints and finished temperatures; None: a temporary folder (no resume).
    comm : mpi4py.MPI.Comm, optional
        Communicator (default COMM_WORLD).
    progress : callable, optional
        Progress hook (:func:`dealloy.io.progress_hook`).

    Returns
    -------
    dict
        ``params``, ``potential``, ``runs`` (one :func:`stability_run` dict per temperature).

    Raises
    ------
    ConfigError
        For bad parameters, before any MD.
    BuildStopped
        On SIGTERM/SIGUSR1/Ctrl-C (checkpoint written; rerun the same call to continue).
    SimulationError
        When LAMMPS fails.
    """
    if not isinstance(params, StabilityParams):
        params = StabilityParams.checked("particle_stability", **dict(params))
    comm = mpi_comm(comm)
    signals = StopSignals()
    signals.install()
    try:
        with contextlib.ExitStack() as stack:
            if cache_dir is None:
                folder = Path(stack.enter_context(tempfile.TemporaryDirectory())) if \
                    comm.Get_rank() == 0 else None
                folder = Path(comm.bcast(str(folder) if folder else None, root=0))
            else:
                folder = Path(cache_dir)
                if comm.Get_rank() == 0:
                    folder.mkdir(parents=True, exist_ok=True)
                comm.Barrier()
            control = BuildControl(folder=folder,
                                   stop_requested=lambda: signals.received_by_any(comm),
                                   checkpoint_ps=params.sample_ps, poll_ps=params.sample_ps,
                                   comm=comm)
            runs = []
            with build_control(control):
                for temp in params.temperatures_k:
                    runs.append(stability_run(params, temp, folder, control, progress))
            comm.Barrier()
    finally:
        signals.restore()
    return {"params": params.model_dump(mode="json"), "potential": params.potential,
            "runs": runs}


def stability_table(result: dict) -> str:
    """Format :func:`particle_stability`'s result, one line per temperature.

    Parameters
    ----------
    result : dict
        What :func:`particle_stability` returned.

    Returns
    -------
    str
        A plain-text table.
    """
    p = result["params"]
    runs = result["runs"]
    n = runs[0]["n_atoms"] if runs else 0
    lines = [f"Particle stability of '{result['potential']}' (c-Li15Si4, {p['diameter_nm']:g} nm, "
             f"{n} atoms; {p['equilibrate_ps']:g} ps Langevin, then {p['time_ps']:g} ps NVE)",
             f"{'T (K)':>7} {'<T> NVE':>8} {'closest pair (A)':>17} {'evals < ' + str(p['min_pair_angstrom']) + ' A':>12} "
             f"{'evaporated Li/Si':>16} {'drift meV/atom/ns':>18} {'change meV/atom':>16} {'scatter':>8}  verdict"]
    for r in runs:
        bad = ((["close pairs"] if r["samples_below_min_pair"] else [])
               + (["atoms evaporate"] if r["evaporated_li"] + r["evaporated_si"] else []))
        lost = f"{r['evaporated_li']}/{r['evaporated_si']}"
        lines.append(f"{r['temperature_k']:7g} {r['mean_temperature_k']:8.0f} "
                     f"{r['closest_pair_angstrom']:17.3f} {r['samples_below_min_pair']:12d} "
                     f"{lost:>16} {r['drift_mev_per_atom_per_ns']:18.3f} "
                     f"{r['change_mev_per_atom']:16.3f} {r['scatter_mev_per_atom']:8.3f}  "
                     + ("stable" if r["stable"] else "UNSTABLE: " + ", ".join(bad)))
    for r in runs:
        events = r["evaporations"]
        for e in events[:MAX_EVENT_LINES]:
            lines.append(f"{r['temperature_k']:g} K: at {e['t_ps']:.2f} ps ({e['phase']}) "
                         + ", ".join(f"{a['element']} {a['id']} ({a['kinetic_energy_ev']:.2f} eV "
                                     "kinetic)" for a in e["atoms"])
                         + f" left the particle and was deleted; {e['energy_removed_ev']:.2f} eV "
                           "went with it")
        if len(events) > MAX_EVENT_LINES:
            lines.append(f"{r['temperature_k']:g} K: and {len(events) - MAX_EVENT_LINES} more "
                         "evaporation events (all in the JSON)")
    return "\n".join(lines)


def write_stability(result: dict, path) -> None:
    """Write the result as JSON (atomic, rank 0); collective: every rank calls.

    Parameters
    ----------
    result : dict
        What :func:`particle_stability` returned.
    path : str or os.PathLike
        The JSON file.
    """
    write_json(path, result, collective=True)


# evaporated and evaporation_rule live in dealloy.lammps.session (the engine uses them too)
__all__ = ["StabilityParams", "evaporated", "evaporation_rule", "particle_stability", "stability_run",
           "stability_table", "write_stability"]

"""Amorphous builders: a-LixSi bulk and particles by melt-quench, and c-Si core / a-LixSi shell particles.

Every force evaluation goes through :class:`dealloy.lammps.session.LammpsSession` with a
registry potential (no pair_style is written here).

Melt-quench route (:func:`amorphous_lisi`; the parameters of each protocol are in ``PROTOCOLS``
and are keyword arguments of the builders):

1. random start: ``n_si`` Si and ``round(x n_si)`` Li placed at random (no pair closer than
   1.9 Å) in a cubic periodic box at the reference volume per Si for that x (``REF_VOLUME_PER_SI``,
   interpolated), then energy-minimised at fixed box;
2. melt: velocities at ``melt_temperature_k`` (3000 K), NVT (Nose-Hoover) for ``melt_ps`` at fixed volume;
   the Si mean-squared displacement over the melt must exceed ``min_melt_msd_angstrom2`` (liquid
   check; otherwise SimulationError);
3. quench: NVT from ``melt_temperature_k`` to ``quench_npt_below_k`` and then NPT (P = 0) down to
   ``relax_temperature_k``, both at ``quench_rate_k_per_s`` (standard: 1e13 K/s);
4. relax: NPT (P = 0, isotropic) at ``relax_temperature_k`` for ``relax_ps``, then conjugate
   gradient with box relaxation (P = 0).

Particles (:func:`amorphous_lisi_particle`) are cut as a sphere from the relaxed bulk (tiled if
the bulk cell is smaller than the particle), trimmed to Li/Si = x at the surface and relaxed again
(minimise, NVT ``particle_relax_ps`` at ``relax_temperature_k``, minimise).

The protocol (temperatures, times, quench rates) is dealloy's own, documented with its cost in
docs/builders.md; no published protocol is reproduced. The reference volumes and coordinations
the builders start from and report against are cited below.

References
----------
.. [FE] F. Fernandez, M. Otero, M. B. Oviedo, D. E. Barraco, S. A. Paz, E. P. M. Leiva, "NMR, x-ray,
   and Mössbauer results for amorphous Li-Si alloys using density functional tight-binding
   method", Phys. Rev. B 108 (2023) 144201, doi:10.1103/PhysRevB.108.144201 (a-LixSi volume
   per Si and Si-Si CN, x > 0); a-Si density 2.28 g/cm³ and CN 3.88 from
   reference/paper-observables.md (:mod:`dealloy.materials`).
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
from ase import Atoms

from dealloy import materials as M
from dealloy.build import _common as C
from dealloy.build.crystal import _assemble, _si_basis
from dealloy.builders.cache import (
    cached_melt_quench,
    melt_quench_key,
    potential_identity,
    structure_digest,
)
from dealloy.builders import checkpoint as _checkpoint
from dealloy.builders.checkpoint import BuildRoute, MdSegment, resumed_info
from dealloy.errors import ConfigError, SimulationError
from dealloy.io import mpi_comm
from dealloy.materials import MASSES_AMU
from dealloy.lammps.lattice import si_lattice_constant
from dealloy.lammps.potentials import DEFAULT_POTENTIAL, get_potential
from dealloy.lammps.session import LammpsSession

#: the source of the melt-quench route beyond dealloy.lammps: this module and the segment runner
#: (their sha256 enter the cache and build-checkpoint keys)
_CODE_FILES = (__file__, _checkpoint.__file__)

_logger = logging.getLogger(__name__)  # phase messages; `dealloy run` shows them (INFO)

X_MAX = M.X_LI15SI4
#: amu/Å³ -> g/cm³ (CODATA 2018 atomic mass constant, g)
AMU_PER_A3_TO_G_PER_CM3 = M.UNITS["_amu"] * 1e3 / 1e-24

#: The DFTB table's x = 0.56 row was never in the builder's tables; it stays out so the starting
#: density (interpolated between 0.2 and 0.89) and hence every build stays bit-identical.
_BUILDER_XS = tuple(x for x in sorted(M.DFTB_A_LIXSI) if x != 0.56)
#: Reference a-LixSi volume per Si (Å^3): a-Si at x = 0, DFTB a-LixSi for x > 0 (sources in
#: :mod:`dealloy.materials`). Used only for the starting density of the melt.
REF_VOLUME_PER_SI = ((0.0, M.A_SI_VOLUME_PER_SI_ROUNDED_ANGSTROM3),) + tuple(
    (x, M.DFTB_A_LIXSI[x][0]) for x in _BUILDER_XS)
#: Reference Si-Si coordination (same sources; a-Si 3.88).
REF_SI_SI_CN = ((0.0, M.A_SI_SI_SI_CN),) + tuple((x, M.DFTB_A_LIXSI[x][1]) for x in _BUILDER_XS)
#: Si-Si coordination cutoff (Å): the first minimum of the a-Si / a-LixSi Si-Si g(r).
SI_SI_CN_CUTOFF = M.SI_SI_CN_CUTOFF_ANGSTROM

#: Melt-quench protocols. "standard" is the production route (quench 1e13 K/s); "fast" is a cheap
#: setting for tests and smoke runs only (quench 2e14 K/s: under-relaxed glass).
PROTOCOLS = {
    "standard": dict(melt_temperature_k=3000.0, melt_ps=20.0, quench_rate_k_per_s=1e13,
                     quench_npt_below_k=1500.0, relax_temperature_k=300.0, relax_ps=20.0,
                     particle_relax_ps=10.0, min_melt_msd_angstrom2=5.0),
    "fast": dict(melt_temperature_k=3000.0, melt_ps=3.0, quench_rate_k_per_s=2e14,
                 quench_npt_below_k=1500.0, relax_temperature_k=300.0, relax_ps=3.0,
                 particle_relax_ps=1.0, min_melt_msd_angstrom2=5.0),
}


def ref_volume_per_si(x: float) -> float:
    """Interpolate the reference a-LixSi volume per Si (starting density of the melt).

    Parameters
    ----------
    x : float
        Li/Si (0 ... 3.75).

    Returns
    -------
    float
        Volume per Si (Å³), linear in x between the table's points (:data:`REF_VOLUME_PER_SI`:
        a-Si at x = 0, DFTB a-LixSi [FE]_ for x > 0); constant beyond its ends.
    """
    xs, vs = zip(*REF_VOLUME_PER_SI)
    return float(np.interp(x, xs, vs))


def ref_si_si_cn(x: float) -> float:
    """Interpolate the reference a-LixSi Si-Si coordination number (cutoff 2.9 Å).

    Parameters
    ----------
    x : float
        Li/Si (0 ... 3.75).

    Returns
    -------
    float
        Mean Si-Si CN, linear in x between the points of :data:`REF_SI_SI_CN` (a-Si 3.88 at
        x = 0, DFTB a-LixSi [FE]_ for x > 0).
    """
    xs, cs = zip(*REF_SI_SI_CN)
    return float(np.interp(x, xs, cs))


# ---- argument handling -------------------------------------------------------------------------
def _protocol(protocol: str, overrides: dict) -> dict:
    if protocol not in PROTOCOLS:
        raise ConfigError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    p = dict(PROTOCOLS[protocol])
    for k, v in overrides.items():
        if v is not None:
            p[k] = C.check_positive(k, v)
    if p["quench_rate_k_per_s"] > M.MAX_QUENCH_RATE_K_PER_S:
        most = f"{M.MAX_QUENCH_RATE_K_PER_S:.0e}".replace("e+", "e")  # 1e15
        raise ConfigError(f"quench_rate_k_per_s must be <= {most} K/s (production: <= 1e13), "
                          f"got {p['quench_rate_k_per_s']!r}")
    if p["melt_temperature_k"] <= p["relax_temperature_k"]:
        raise ConfigError("melt_temperature_k must be above relax_temperature_k "
                          f"({p['melt_temperature_k']} <= {p['relax_temperature_k']})")
    return p


def _check_x(x, name="x") -> float:
    return C.check_range(name, x, 0.0, X_MAX)


def _potential(potential):
    return get_potential(potential)


# ---- structure measures -------------------------------------------------------------------------
def density_g_cm3(atoms: Atoms, volume: float | None = None) -> float:
    """Compute the mass density of a structure.

    Parameters
    ----------
    atoms : ase.Atoms
        Li and Si only (masses of :data:`dealloy.materials.MASSES_AMU`).
    volume : float, optional
        Volume (Å³); default the cell's volume.

    Returns
    -------
    float
        Density (g/cm³).

    Raises
    ------
    KeyError
        For an element other than Li and Si.
    """
    mass = sum(MASSES_AMU[s] for s in atoms.get_chemical_symbols())
    vol = atoms.get_volume() if volume is None else volume
    return mass * AMU_PER_A3_TO_G_PER_CM3 / vol


def si_si_coordination(atoms: Atoms, cutoff: float = SI_SI_CN_CUTOFF,
                       mask: np.ndarray | None = None) -> float:
    """Compute the mean number of Si within ``cutoff`` of a Si (minimum image where periodic).

    Parameters
    ----------
    atoms : ase.Atoms
        The structure (positions in Å).
    cutoff : float
        Si-Si distance (Å); default 2.9 Å, the first minimum of the a-Si / a-LixSi Si-Si g(r).
    mask : numpy.ndarray of bool, shape (N,), optional
        Atoms whose Si are averaged over (default all Si).

    Returns
    -------
    float
        Mean Si-Si coordination number; 0.0 without Si.
    """
    from ase.neighborlist import neighbor_list

    sym = np.array(atoms.get_chemical_symbols())
    is_si = sym == "Si"
    if not is_si.any():
        return 0.0
    sub = atoms[is_si]
    i, _ = neighbor_list("ij", sub, cutoff)
    cn = np.bincount(i, minlength=len(sub))
    if mask is not None:
        cn = cn[mask[is_si]]
    return float(cn.mean()) if len(cn) else 0.0


# ---- random start ------------------------------------------------------------------------------
def random_packing(n_li: int, n_si: int, volume: float, rng: np.random.Generator,
                   min_distance: float = 1.9) -> Atoms:
    """Place ``n_si`` Si and ``n_li`` Li at random in a cubic periodic box of ``volume``.

    No pair (minimum image) is closer than ``min_distance``; Si are placed first, then Li, so the
    atom order is fixed.

    Parameters
    ----------
    n_li, n_si : int
        Numbers of Li and Si.
    volume : float
        Box volume (Å³).
    rng : numpy.random.Generator
        Random source.
    min_distance : float
        Smallest allowed distance (Å).

    Returns
    -------
    ase.Atoms
        Periodic cubic cell, Si first.

    Raises
    ------
    SimulationError
        When the atoms cannot be placed that far apart (box too small).
    """
    L = volume ** (1 / 3)
    n = n_si + n_li
    pos = np.empty((n, 3))
    placed = 0
    tries = 0
    while placed < n:
        cand = rng.random((256, 3)) * L
        for c in cand:
            if placed:
                dv = pos[:placed] - c
                dv -= L * np.round(dv / L)
                if np.min(np.einsum("ij,ij->i", dv, dv)) < min_distance ** 2:
                    continue
            pos[placed] = c
            placed += 1
            if placed == n:
                break
        tries += 1
        if tries > 2000:
            raise SimulationError(f"cannot place {n} atoms {min_distance} Å apart in {volume:.0f} Å^3")
    atoms = Atoms(["Si"] * n_si + ["Li"] * n_li, positions=pos, cell=[L, L, L], pbc=True)
    return atoms


# ---- melt-quench ---------------------------------------------------------------------------------
def melt_quench(atoms: Atoms, potential, seed: int, p: dict, log=None) -> tuple[Atoms, dict]:
    """Run the melt-quench route (module docstring) on a periodic structure.

    Inside ``dealloy run`` (a :class:`~dealloy.builders.checkpoint.BuildControl` is set) the MD
    runs as checkpointed segments (melt, NVT quench, NPT quench, NPT relaxation;
    :class:`~dealloy.builders.checkpoint.BuildRoute`): it stops on request with a checkpoint and
    a later call continues from it. Each segment is one fix held over chunks of
    ``run ... start/stop``, so the linear temperature ramps are unchanged and an uninterrupted
    run is bit-identical to one without a control; a continued one follows the same schedule
    from the exact saved state but is not bit-identical (LAMMPS re-sorts the atoms, the
    Nose-Hoover/barostat variables restart) and its measures say ``melt_quench_resumed``.

    Parameters
    ----------
    atoms : ase.Atoms
        Periodic start (positions in Å), e.g. :func:`random_packing`.
    potential : Potential or str
        Registry potential.
    seed : int
        Seed of the melt velocities.
    p : dict
        Protocol values (keys of :data:`PROTOCOLS`: temperatures in K, times in ps, quench rate in
        K/s, MSD threshold in Å²).
    log : str or os.PathLike, optional
        LAMMPS log file.

    Returns
    -------
    (ase.Atoms, dict)
        The relaxed structure (box relaxed to P = 0) and its measures:
        ``melt_msd_si_angstrom2`` (and ``melt_msd_li_angstrom2`` with Li),
        ``potential_energy_ev_per_atom`` (eV/atom) and ``pressure_bar`` (static pressure, bar);
        ``melt_quench_resumed`` (True) when it continued from a build checkpoint.

    Raises
    ------
    SimulationError
        When the melt is not liquid (Si MSD below ``min_melt_msd_angstrom2``) or LAMMPS fails.
    ConfigError
        For an unknown potential name.
    BuildStopped
        When the build control asked it to stop (after its checkpoint was written).
    """
    is_si = np.array(atoms.get_chemical_symbols()) == "Si"
    t_melt, t_end = p["melt_temperature_k"], p["relax_temperature_k"]
    rate_per_ps = p["quench_rate_k_per_s"] * 1e-12
    t_switch = min(max(p["quench_npt_below_k"], t_end), t_melt)
    quench_ps = (t_melt - t_end) / rate_per_ps
    _logger.info(f"melt-quench of {len(atoms)} atoms: {p['melt_ps']:g} ps at {t_melt:g} K, "
                 f"quench to {t_end:g} K at {p['quench_rate_k_per_s']:.3g} K/s ({quench_ps:g} ps), "
                 f"{p['relax_ps']:g} ps NPT at {t_end:g} K",
                 extra={"phase": "melt-quench", "atoms": len(atoms),  # for dealloy.progress
                        "md_ps": p["melt_ps"] + quench_ps + p["relax_ps"],
                        "timestep_ps": getattr(potential, "timestep_ps", None)})
    pot = get_potential(potential) if isinstance(potential, str) else potential
    segments = [MdSegment("melt", p["melt_ps"], t_melt, t_melt, "nvt", seed + 2)]
    if t_melt > t_switch:
        segments.append(MdSegment("quench-nvt", (t_melt - t_switch) / rate_per_ps, t_melt,
                                  t_switch, "nvt"))
    if t_switch > t_end:
        segments.append(MdSegment("quench-npt", (t_switch - t_end) / rate_per_ps, t_switch,
                                  t_end, "npt"))
    segments.append(MdSegment("relax", p["relax_ps"], t_end, t_end, "npt"))
    # inside `dealloy run` (a build control is set): stop on request and checkpoint
    # (dealloy.builders.checkpoint); the key is the melt-quench cache's
    route = BuildRoute("melt_quench", lambda: melt_quench_key(
        atoms, pot, seed, p, mpi_comm().Get_size(), code_files=_CODE_FILES))
    done = route.result()
    if done is not None:
        return done
    t0 = time.time()
    with LammpsSession(atoms, pot, log=log) as s:
        if not route.restore(s):
            s.minimize(ftol_ev_per_angstrom=1e-3, maxiter=2000)
            s.create_velocities(t_melt, seed + 1)
            route.arrays["x0"] = s.unwrapped_positions()

        def after(i):
            if i != 0:  # after the melt: the liquid check
                return
            sq = np.sum((route.unwrapped_positions(s) - route.arrays["x0"]) ** 2, axis=1)
            msd_si = float(np.mean(sq[is_si]))
            # Li is reported too (the liquid check is on Si, the slower species)
            route.meta["msd"] = {"melt_msd_si_angstrom2": msd_si,
                                 **({"melt_msd_li_angstrom2": float(np.mean(sq[~is_si]))}
                                    if (~is_si).any() else {})}
            if msd_si < p["min_melt_msd_angstrom2"]:
                raise SimulationError(
                    f"melt not liquid: Si mean-squared displacement {msd_si:.2f} Å^2 over "
                    f"{p['melt_ps']} ps at {t_melt} K < {p['min_melt_msd_angstrom2']} Å^2; raise "
                    "melt_temperature_k or melt_ps")
            _logger.info(f"melt done in {time.time() - t0:.0f} s (Si MSD {msd_si:.1f} Å^2); "
                         "quenching", extra={"md_ps_done": p["melt_ps"],
                                             "elapsed_s": time.time() - t0})

        route.run(s, segments, after_segment=after)
        _logger.info(f"quench and relaxation done in {time.time() - t0:.0f} s")
        pe = s.minimize(box=True, ftol_ev_per_angstrom=1e-4, maxiter=5000)
        s.command("velocity all set 0.0 0.0 0.0")  # static (virial) pressure of the relaxed cell
        s.command("run 0 post no")
        pressure = s.pressure_bar()
        out = s.get_atoms(velocities=False)
    del out.arrays["id"]
    # a glass continued from a build checkpoint says so (also in a cache entry made from it)
    meas = {**route.meta["msd"], "potential_energy_ev_per_atom": pe / len(out),
            "pressure_bar": pressure, **({"melt_quench_resumed": True} if route.resumed else {})}
    route.finish(out, meas)
    return out, meas


def amorphous_lisi(x: float, n_si: int = 64, seed: int = 0, potential: str = DEFAULT_POTENTIAL,
                   protocol: str = "standard", melt_temperature_k: float | None = None,
                   melt_ps: float | None = None, quench_rate_k_per_s: float | None = None,
                   quench_npt_below_k: float | None = None, relax_temperature_k: float | None = None,
                   relax_ps: float | None = None, min_melt_msd_angstrom2: float | None = None
                   ) -> Atoms:
    """Periodic bulk a-LixSi (0 <= x <= 3.75; x = 3.75 DOD, x = 0 is a-Si) by melt-quench.

    ``n_si`` Si and ``round(x n_si)`` Li; route and defaults in the module docstring and
    docs/builders.md (``protocol="standard"``: melt 3000 K for 20 ps, quench at 1e13 K/s, NPT
    20 ps at 300 K, box relaxation; ``protocol="fast"`` is for tests only). Any protocol value can
    be overridden by its keyword.

    Parameters
    ----------
    x : float
        Li/Si, 0 ... 3.75.
    n_si : int
        Number of Si (>= 1).
    seed : int
        Random seed (>= 0): start positions and velocities.
    potential : str or Potential
        Registry potential (LAMMPS through :class:`~dealloy.lammps.session.LammpsSession`).
    protocol : {"standard", "fast"}
        Protocol of :data:`PROTOCOLS` (``fast``: tests and smoke runs only).
    melt_temperature_k : float, optional
        Melt temperature (K).
    melt_ps : float, optional
        Melt time (ps).
    quench_rate_k_per_s : float, optional
        Quench rate (K/s, <= 1e15).
    quench_npt_below_k : float, optional
        Temperature (K) below which the quench runs at constant pressure.
    relax_temperature_k : float, optional
        Final temperature (K), below ``melt_temperature_k``.
    relax_ps : float, optional
        NPT time at the final temperature (ps).
    min_melt_msd_angstrom2 : float, optional
        Least Si MSD over the melt (Å²) that counts as liquid.

    Returns
    -------
    ase.Atoms
        Periodic a-LixSi; ``info``: builder, builder_args, seed, dealloy_version, x,
        density_g_cm3, volume_per_si_angstrom3, si_si_cn (cutoff 2.9 Å), melt_msd_si_angstrom2
        (and melt_msd_li_angstrom2 when there is Li), potential_energy_ev_per_atom,
        pressure_bar, the reference values (ref_volume_per_si_angstrom3, ref_si_si_cn [FE]_) and
        the protocol used; ``build_resumed`` and ``melt_quench_resumed`` (True) when ``dealloy
        run`` continued the build from a build checkpoint. ``arrays['grain']`` = -1 (amorphous).

    Raises
    ------
    ConfigError
        One line naming the argument (x, n_si, seed, protocol or an override out of range, or an
        unknown potential).
    SimulationError
        When the start cannot be packed, the melt is not liquid, or LAMMPS fails.
    BuildStopped
        Under ``dealloy run`` only, when SIGTERM/SIGUSR1 asked the build to stop (after its
        build checkpoint; ``dealloy run --resume`` continues it).
    LammpsBuildError
        When LAMMPS cannot be opened or lacks the potential's package.
    """
    args = dict(x=x, n_si=n_si, seed=seed, potential=potential, protocol=protocol,
                melt_temperature_k=melt_temperature_k, melt_ps=melt_ps,
                quench_rate_k_per_s=quench_rate_k_per_s, quench_npt_below_k=quench_npt_below_k,
                relax_temperature_k=relax_temperature_k, relax_ps=relax_ps,
                min_melt_msd_angstrom2=min_melt_msd_angstrom2)
    seed = C.check_seed(seed)
    x = _check_x(x)
    n_si = C.check_int("n_si", n_si, 1)
    p = _protocol(protocol, {k: args[k] for k in PROTOCOLS["standard"] if k in args})
    pot = _potential(potential)
    n_li = int(round(x * n_si))
    rng = np.random.default_rng(seed)
    start = random_packing(n_li, n_si, n_si * ref_volume_per_si(x), rng)
    # the same glass is asked for again by every extraction mode of a study and by every
    # particle cut from it: reused when DEALLOY_CACHE_DIR is set (dealloy.builders.cache)
    atoms, meas = cached_melt_quench(start, pot, seed, p, lambda: melt_quench(start, pot, seed, p),
                                     code_files=_CODE_FILES)
    atoms.arrays["grain"] = np.full(len(atoms), -1, dtype=int)
    vol = atoms.get_volume()
    return C.record(atoms, "amorphous_lisi", args, seed, x=n_li / n_si,
                    density_g_cm3=density_g_cm3(atoms), volume_per_si_angstrom3=vol / n_si,
                    si_si_cn=si_si_coordination(atoms), si_si_cn_cutoff_angstrom=SI_SI_CN_CUTOFF,
                    ref_volume_per_si_angstrom3=ref_volume_per_si(x), ref_si_si_cn=ref_si_si_cn(x),
                    potential_name=pot.name, protocol=protocol, **p, **meas, **resumed_info())


# ---- particles ------------------------------------------------------------------------------------
def _sphere_from_bulk(bulk: Atoms, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut the atoms of ``bulk`` (tiled as needed) within ``radius`` of the block's centre (centred at 0)."""
    bulk = bulk.copy()
    bulk.wrap()
    L = bulk.cell.lengths()
    reps = [int(math.ceil(2 * radius / l)) + 1 for l in L]
    big = bulk.repeat(reps)
    pos = big.positions - big.cell.lengths() / 2
    keep = np.einsum("ij,ij->i", pos, pos) <= radius * radius
    return np.array(big.get_chemical_symbols())[keep], pos[keep]


def _bulk_n_si_for(diameter_nm: float, x: float) -> int:
    """Si count of a bulk cell whose edge is the particle diameter (no tiling)."""
    return max(8, int(math.ceil((10 * diameter_nm) ** 3 / ref_volume_per_si(x))))


def relax_particle(atoms: Atoms, potential, seed: int, temperature_k: float, time_ps: float
                   ) -> Atoms:
    """Relax an isolated particle: minimise, Langevin MD for ``time_ps`` at ``temperature_k``, minimise.

    Parameters
    ----------
    atoms : ase.Atoms
        The particle (non-periodic, positions in Å); ``arrays['grain']`` is kept.
    potential : Potential or str
        Registry potential.
    seed : int
        Seed of the velocities (``seed + 3``) and the Langevin noise (``seed + 4``).
    temperature_k : float
        MD temperature (K).
    time_ps : float
        MD time (ps); 0 skips the MD.

    Returns
    -------
    ase.Atoms
        The relaxed particle in its original cell.

    Raises
    ------
    ConfigError
        For an unknown potential name or elements other than Li and Si.
    SimulationError
        When LAMMPS fails.
    BuildStopped
        When the build control asked it to stop (after its checkpoint was written).
    """
    grain = atoms.arrays.get("grain")
    pot = get_potential(potential) if isinstance(potential, str) else potential
    # checkpointed inside `dealloy run` (dealloy.builders.checkpoint); the Langevin noise of a
    # continued relaxation is a new stream
    route = BuildRoute("relax_particle", lambda: {
        "route": "relax_particle", "start": structure_digest(atoms), "seed": int(seed),
        "temperature_k": float(temperature_k), "time_ps": float(time_ps),
        "potential": potential_identity(pot), "n_ranks": mpi_comm().Get_size()})
    done = route.result()
    if done is None:
        with LammpsSession(atoms, pot) as s:
            if not route.restore(s):
                s.minimize(ftol_ev_per_angstrom=1e-2, maxiter=500)
                if time_ps > 0:
                    s.create_velocities(temperature_k, seed + 3)
            if time_ps > 0:
                route.run(s, [MdSegment("particle relaxation", time_ps, temperature_k,
                                        temperature_k, "langevin", seed + 4)])
            s.minimize(ftol_ev_per_angstrom=1e-3, maxiter=2000)
            out = s.get_atoms(velocities=False)
        del out.arrays["id"]
        route.finish(out, {})
    else:
        out = done[0]
    if grain is not None:
        out.arrays["grain"] = grain.copy()
    return out


def _relax_in_box(atoms: Atoms, pot, seed: int, p: dict, vacuum_nm: float) -> tuple[Atoms, float]:
    """Box the cut particle, relax it (:func:`relax_particle`), box it again; returns it and Li/Si."""
    atoms = C.box_particle(atoms, vacuum_nm)
    _logger.info(f"relaxing the cut particle ({len(atoms)} atoms): minimise, {p['particle_relax_ps']:g} "
                 f"ps at {p['relax_temperature_k']:g} K, minimise",
                 extra={"phase": "particle relaxation", "atoms": len(atoms),
                        "md_ps": p["particle_relax_ps"], "timestep_ps": pot.timestep_ps})
    atoms = relax_particle(atoms, pot, seed, p["relax_temperature_k"], p["particle_relax_ps"])
    atoms = C.box_particle(atoms, vacuum_nm)
    sym = np.array(atoms.get_chemical_symbols())
    n_si = int((sym == "Si").sum())
    return atoms, float((len(sym) - n_si) / max(n_si, 1))


def amorphous_lisi_particle(diameter_nm: float, x: float, seed: int = 0,
                            potential: str = DEFAULT_POTENTIAL, protocol: str = "standard",
                            bulk_n_si: int | None = None, vacuum_nm: float = 2.0,
                            **protocol_overrides) -> Atoms:
    """Build an isolated a-LixSi nanoparticle (0 <= x <= 3.75) from melt-quenched bulk.

    A sphere cut from relaxed bulk a-LixSi (:func:`amorphous_lisi`, tiled if smaller than the
    particle), trimmed at the surface to Li/Si = x (within one Li atom) and relaxed again
    (minimise, ``particle_relax_ps`` of Langevin MD at ``relax_temperature_k``, minimise).

    Parameters
    ----------
    diameter_nm : float
        Particle diameter (nm, >= 1.0).
    x : float
        Li/Si, 0 ... 3.75.
    seed : int
        Random seed (>= 0).
    potential : str or Potential
        Registry potential.
    protocol : {"standard", "fast"}
        Melt-quench protocol (:data:`PROTOCOLS`).
    bulk_n_si : int, optional
        Si atoms in the melt-quenched bulk cell; default a cell as large as the particle (no
        tiling; costly for large particles, give a smaller number to tile).
    vacuum_nm : float
        Vacuum on each side of the box (nm, >= 1.5).
    **protocol_overrides
        Any key of :data:`PROTOCOLS` (units in its name), e.g. ``particle_relax_ps``.

    Returns
    -------
    ase.Atoms
        Non-periodic particle; ``info``: builder, builder_args, seed, dealloy_version, x,
        diameter_*_nm, interior_density_g_cm3 (:func:`interior_density`, 0.5 nm below the
        surface), si_si_cn, bulk_n_si, bulk_density_g_cm3, bulk_si_si_cn,
        bulk_volume_per_si_angstrom3, melt MSDs, the protocol and, with the melt-quench cache
        on, ``bulk_cache_hit`` (the glass came from the cache). ``arrays['grain']`` = -1.

    Raises
    ------
    ConfigError
        One line naming the argument: diameter, x, seed, vacuum, bulk_n_si, protocol or an
        unknown protocol keyword, or an unknown potential.
    SimulationError
        From the melt-quench (not liquid, packing) or LAMMPS.
    BuildStopped
        Under ``dealloy run`` only, when SIGTERM/SIGUSR1 asked the build to stop (after its
        build checkpoint; ``dealloy run --resume`` continues it).
    """
    args = dict(diameter_nm=diameter_nm, x=x, seed=seed, potential=potential, protocol=protocol,
                bulk_n_si=bulk_n_si, vacuum_nm=vacuum_nm, **protocol_overrides)
    seed = C.check_seed(seed)
    d = C.check_positive("diameter_nm", diameter_nm, " (particle diameter in nm)")
    if d < M.MIN_AMORPHOUS_DIAMETER_NM:
        raise ConfigError(f"diameter_nm must be >= {M.MIN_AMORPHOUS_DIAMETER_NM} nm for an "
                          f"amorphous particle, got {diameter_nm!r}")
    x = _check_x(x)
    vacuum_nm = C.check_vacuum(vacuum_nm)
    p = _protocol(protocol, _known_overrides(protocol_overrides))
    if bulk_n_si is not None:
        bulk_n_si = C.check_int("bulk_n_si", bulk_n_si, 1)
    pot = _potential(potential)
    n_si = bulk_n_si or _bulk_n_si_for(d, x)
    bulk = amorphous_lisi(x, n_si=n_si, seed=seed, potential=pot, protocol=protocol,
                          **_bulk_overrides(protocol_overrides))
    sym, pos = _sphere_from_bulk(bulk, 5.0 * d)
    keep = C.trim_composition(sym, pos, x)
    atoms = Atoms(list(sym[keep]), positions=pos[keep], pbc=False)
    atoms.arrays["grain"] = np.full(len(atoms), -1, dtype=int)
    atoms, x_p = _relax_in_box(atoms, pot, seed, p, vacuum_nm)
    return C.record(atoms, "amorphous_lisi_particle", args, seed,
                    x=x_p, **C.particle_diameter_nm(atoms),
                    interior_density_g_cm3=interior_density(atoms),
                    si_si_cn=si_si_coordination(atoms), bulk_n_si=n_si,
                    bulk_density_g_cm3=bulk.info["density_g_cm3"], bulk_si_si_cn=bulk.info["si_si_cn"],
                    bulk_volume_per_si_angstrom3=bulk.info["volume_per_si_angstrom3"],
                    melt_msd_si_angstrom2=bulk.info["melt_msd_si_angstrom2"],
                    melt_msd_li_angstrom2=bulk.info.get("melt_msd_li_angstrom2", float("nan")),
                    potential_name=pot.name, protocol=protocol, **p, **resumed_info(),
                    **_cache_note(bulk))


def _cache_note(bulk: Atoms) -> dict:
    """Give the glass's provenance for the particle's record.

    Parameters
    ----------
    bulk : ase.Atoms
        The glass (:func:`amorphous_lisi`).

    Returns
    -------
    dict
        ``bulk_cache_hit`` (absent with the cache off): the glass came from the cache;
        ``bulk_melt_quench_resumed`` (only when true): its melt-quench continued from a build
        checkpoint.
    """
    out = {"bulk_cache_hit": bool(bulk.info["cache_hit"])} if "cache_hit" in bulk.info else {}
    if bulk.info.get("melt_quench_resumed"):
        out["bulk_melt_quench_resumed"] = True
    return out


def _known_overrides(overrides: dict) -> dict:
    bad = [k for k in overrides if k not in PROTOCOLS["standard"]]
    if bad:
        raise ConfigError(f"unknown argument(s) {', '.join(bad)}; protocol keywords are: "
                          f"{', '.join(PROTOCOLS['standard'])}")
    return overrides


def _bulk_overrides(overrides: dict) -> dict:
    return {k: v for k, v in overrides.items() if k != "particle_relax_ps"}


def interior_density(atoms: Atoms, depth_angstrom: float = 5.0) -> float:
    """Measure the mass density of a particle's interior.

    The slope of the enclosed mass M(r) against the enclosed volume 4/3 pi r^3 (least squares
    over 30 radii from 0.4 R_in to R_in, R_in = R - ``depth_angstrom``, R = sqrt(5/3) Rg about
    the centroid). Less noisy than one sphere's mass/volume, and blind to the surface layer.

    Parameters
    ----------
    atoms : ase.Atoms
        The particle (positions in Å, Li and Si).
    depth_angstrom : float
        Surface layer left out (Å).

    Returns
    -------
    float
        Density (g/cm³); NaN when R_in <= 4 Å (particle too small).
    """
    pos = atoms.positions
    r = np.linalg.norm(pos - pos.mean(0), axis=1)
    r_in = math.sqrt(5 / 3 * float(np.mean(r * r))) - depth_angstrom
    if r_in <= 4.0:
        return float("nan")
    mass = np.array([MASSES_AMU[s] for s in atoms.get_chemical_symbols()])
    order = np.argsort(r)
    rs, cum = r[order], np.cumsum(mass[order])
    grid = np.linspace(0.4 * r_in, r_in, 30)
    idx = np.searchsorted(rs, grid, side="right")
    enclosed = np.where(idx > 0, cum[np.maximum(idx - 1, 0)], 0.0)
    vol = 4 / 3 * math.pi * grid ** 3
    slope = np.linalg.lstsq(np.vstack([vol, np.ones_like(vol)]).T, enclosed, rcond=None)[0][0]
    return float(slope) * AMU_PER_A3_TO_G_PER_CM3


# ---- core-shell ----------------------------------------------------------------------------------
#: Shell atoms closer than these (Å) to a core atom are removed when the shell is put around the
#: core (near the Li-Si / Si-Si bond lengths, so the interface is not compressed).
INTERFACE_MIN_DISTANCE = {("Li", "Li"): 2.1, ("Li", "Si"): 2.5, ("Si", "Si"): 2.3}


def core_radius_angstrom(radius: float, dod: float, x_shell: float, si_a: float,
                         shell_volume_per_si: float) -> float:
    """Solve the c-Si core radius that gives overall Li/Si = 3.75 dod.

    For a c-Si core (8 Si per a³) inside an a-Li(x_shell)Si shell of ``shell_volume_per_si``:
    solves x_shell N_shell / (N_core + N_shell) = 3.75 dod with N ~ volume / volume per Si.

    Parameters
    ----------
    radius : float
        Particle radius (Å).
    dod : float
        Depth of discharge (0, 1].
    x_shell : float
        Li/Si of the shell.
    si_a : float
        Diamond-Si lattice constant (Å).
    shell_volume_per_si : float
        Shell volume per Si (Å³).

    Returns
    -------
    float
        Core radius (Å); 0 when no core fits.
    """
    X = X_MAX * dod
    rho_c = 8.0 / si_a ** 3
    w = (x_shell - X) / shell_volume_per_si
    u = radius ** 3 * w / (X * rho_c + w)
    return max(u, 0.0) ** (1 / 3)


def core_shell_particle(diameter_nm: float, dod: float, x_shell: float = 3.5, seed: int = 0,
                        potential: str = DEFAULT_POTENTIAL, protocol: str = "standard",
                        bulk_n_si: int | None = None, vacuum_nm: float = 2.0,
                        **protocol_overrides) -> Atoms:
    """Build a crystalline Si core in an a-Li(x_shell)Si shell, overall Li/Si = 3.75 dod.

    The partial-DOD state: c-Si core inside a-LixSi.

    The shell is melt-quenched bulk a-Li(x_shell)Si (:func:`amorphous_lisi`, tiled); the core
    radius is solved from the composition with the potential's own diamond-Si lattice constant and
    shell volume per Si (:func:`core_radius_angstrom`). Shell atoms closer than 2.1/2.2 Å to the
    core are removed, the outermost shell atoms are trimmed to Li/Si = 3.75 dod (within one Li)
    and the particle is relaxed (minimise, ``particle_relax_ps`` Langevin at 300 K, minimise).

    Parameters
    ----------
    diameter_nm : float
        Particle diameter (nm, >= 1.5).
    dod : float
        Depth of discharge in (0, 1], with 3.75 dod <= x_shell (else no core remains).
    x_shell : float
        Li/Si of the shell, (0, 3.75].
    seed : int
        Random seed (>= 0).
    potential : str or Potential
        Registry potential (also gives the core's diamond-Si lattice constant).
    protocol : {"standard", "fast"}
        Melt-quench protocol of the shell (:data:`PROTOCOLS`).
    bulk_n_si : int, optional
        Si atoms in the melt-quenched shell bulk cell (default: as large as the particle).
    vacuum_nm : float
        Vacuum on each side of the box (nm, >= 1.5).
    **protocol_overrides
        Any key of :data:`PROTOCOLS`.

    Returns
    -------
    ase.Atoms
        Non-periodic particle; ``arrays['grain']``: 0 core, -1 shell. ``info``: core_radius_nm,
        n_core_si, x (overall Li/Si), si_lattice_constant (Å), diameter_*_nm, shell_bulk_n_si,
        shell_density_g_cm3, shell_volume_per_si_angstrom3, the protocol and, with the cache on,
        ``bulk_cache_hit``.

    Raises
    ------
    ConfigError
        One line naming the argument: diameter, dod (also dod > x_shell / 3.75), x_shell, seed,
        vacuum, bulk_n_si, protocol keywords, or an unknown potential.
    SimulationError
        From the melt-quench or LAMMPS.
    BuildStopped
        Under ``dealloy run`` only, when SIGTERM/SIGUSR1 asked the build to stop (after its
        build checkpoint; ``dealloy run --resume`` continues it).
    """
    args = dict(diameter_nm=diameter_nm, dod=dod, x_shell=x_shell, seed=seed, potential=potential,
                protocol=protocol, bulk_n_si=bulk_n_si, vacuum_nm=vacuum_nm, **protocol_overrides)
    seed = C.check_seed(seed)
    d = C.check_positive("diameter_nm", diameter_nm, " (particle diameter in nm)")
    if d < M.MIN_CORE_SHELL_DIAMETER_NM:
        raise ConfigError(f"diameter_nm must be >= {M.MIN_CORE_SHELL_DIAMETER_NM} nm for a "
                          f"core-shell particle, got {diameter_nm!r}")
    dod = C.check_range("dod", dod, 0.0, 1.0, lo_open=True)
    x_shell = C.check_range("x_shell", x_shell, 0.0, X_MAX, lo_open=True)
    if X_MAX * dod > x_shell + 1e-12:
        raise ConfigError(f"dod must be <= x_shell/3.75 = {x_shell / X_MAX:.3f} (overall Li/Si "
                          f"3.75 dod cannot exceed the shell's x_shell = {x_shell}); got dod={dod!r}. "
                          "Raise x_shell (<= 3.75) or lower dod")
    vacuum_nm = C.check_vacuum(vacuum_nm)
    p = _protocol(protocol, _known_overrides(protocol_overrides))
    if bulk_n_si is not None:
        bulk_n_si = C.check_int("bulk_n_si", bulk_n_si, 1)
    pot = _potential(potential)


    si_a = si_lattice_constant(pot)
    n_si = bulk_n_si or _bulk_n_si_for(d, x_shell)
    shell_bulk = amorphous_lisi(x_shell, n_si=n_si, seed=seed, potential=pot, protocol=protocol,
                                **_bulk_overrides(protocol_overrides))
    R = 5.0 * d
    rc = core_radius_angstrom(R, dod, x_shell, si_a, shell_bulk.info["volume_per_si_angstrom3"])
    rng = np.random.default_rng(seed)
    basis, bsym = _si_basis()
    if rc > si_a / 2:
        csym, cpos, _, _, _ = _assemble(basis, bsym, si_a, rc, rng, 1)
        ckeep = C.prune_si_dangling(csym, cpos)
        csym, cpos = csym[ckeep], cpos[ckeep]
    else:
        csym, cpos = np.array([], dtype="<U2"), np.zeros((0, 3))
    ssym, spos = _sphere_from_bulk(shell_bulk, R)
    outside = np.linalg.norm(spos, axis=1) > rc
    ssym, spos = ssym[outside], spos[outside]
    sym = np.concatenate([csym, ssym])
    pos = np.concatenate([cpos, spos])
    is_shell = np.arange(len(sym)) >= len(csym)
    keep = C.close_pair_removal(sym, pos, is_shell.astype(int), min_distance=INTERFACE_MIN_DISTANCE,
                                candidates=~is_shell)
    sym, pos, is_shell = sym[keep], pos[keep], is_shell[keep]
    keep = C.trim_composition(sym, pos, X_MAX * dod, removable=is_shell)
    sym, pos, is_shell = sym[keep], pos[keep], is_shell[keep]
    atoms = Atoms(list(sym), positions=pos, pbc=False)
    atoms.arrays["grain"] = np.where(is_shell, -1, 0)
    atoms, x_p = _relax_in_box(atoms, pot, seed, p, vacuum_nm)
    return C.record(atoms, "core_shell_particle", args, seed,
                    x=x_p,
                    core_radius_nm=rc / 10, n_core_si=int((atoms.arrays["grain"] == 0).sum()),
                    si_lattice_constant=si_a, **C.particle_diameter_nm(atoms),
                    shell_bulk_n_si=n_si, shell_density_g_cm3=shell_bulk.info["density_g_cm3"],
                    shell_volume_per_si_angstrom3=shell_bulk.info["volume_per_si_angstrom3"],
                    potential_name=pot.name, protocol=protocol, **p, **resumed_info(),
                    **_cache_note(shell_bulk))

"""Electrochemistry in the MD: Li leaves (or returns) because the electrode potential makes it pay.

Conventions (all energies in eV, potentials in V vs Li/Li+, e = 1 so eU in eV = U in V):

* ``mu_li_bcc_ev``: energy per atom of relaxed bcc Li with the potential in use (the Li/Li+
  reference electrode of the half-cell), :func:`li_bcc_chemical_potential_ev`.
* ``mu_Li(U) = mu_li_bcc_ev - e U``: the chemical potential of Li in the electrode reservoir at
  applied potential U.
* A move's ``delta_e_ev`` is E_after - E_before of the many-body potential: for a removal
  ΔE = E(N-1) - E(N) (positive: Li is bound), for an insertion ΔE = E(N+1) - E(N).
* Grand potential change: removal ΔΩ = ΔE + mu_Li(U); insertion ΔΩ = ΔE - mu_Li(U). A move is
  accepted with the Metropolis probability min(1, exp(-ΔΩ / k_B T)) (Frenkel & Smit,
  *Understanding Molecular Simulation*, 2nd ed., ch. 5; the lattice-gas form without the ideal-gas
  factor N Λ³/V of LAMMPS' ``fix gcmc``, because the Li goes to the electrode, not into a gas).
* *Removal voltage* of a Li: the U at which its removal is neutral,
  U_rem = (ΔE_remove + mu_li_bcc_ev) / e = -(ΔE_insert - mu_li_bcc_ev) / e. The galvanostatic
  mode records it for each removal as the cell voltage (the MD analogue of a constant-current
  curve: the cheapest Li leaves next). That is the minimum over the N candidates' unrelaxed
  single points, a lower order statistic that falls as N grows, not the thermodynamic plateau;
  each removal also records N and the candidates' median. Averaged over a c-Li15Si4 ->
  a-Li1.1Si reaction with relaxed end states, U_rem is the voltage
  ``dealloy validate-potential --amorphous`` reports (0.48 V with meam-godet2020): the
  energy-balance voltage (:func:`energy_balance_voltage_v`) of a stage is that quantity.
* mu_Li(bcc) is a 0 K minimised energy, ΔE a single point of an MD snapshot at the stage
  temperature: the voltages of single moves carry an offset of order 3/2 k_BT (docs/engine.md).

Energies are exact single points of LAMMPS on the live session: the atom is deleted
(``delete_atoms``), ``run 0`` gives E(N-1), and it is re-created with its id, position, image
and velocity when the move is rejected. The galvanostatic candidates of a local potential are
evaluated in independent sets instead (:func:`removal_energies_batched`: Li further apart than
twice the potential's reach are deleted together and each one's ΔE is read from the per-atom
energies; same values, a fraction of the single points), and the small sets in a second LAMMPS
instance that holds only their neighbourhood (:class:`LocalEnergies`). LAMMPS' own MC fixes do
not fit: ``fix gcmc`` accepts with the ideal-gas reservoir factor and inserts at random points of
a region, ``fix atom/swap`` keeps N, ``fix sgcmc`` needs an EAM-type local energy; and their
random streams live inside LAMMPS, so a checkpoint could not continue them. Here every random
number comes from the run's numpy generator (in the checkpoint).

Every MPI rank calls these functions with the same arguments (LAMMPS is collective; the random
generator is the same on every rank, seeded from a value broadcast by the engine).

References: the Li/Li+ reference mu_Li(U) = mu_Li(bcc) - eU is the computational hydrogen
electrode of J. K. Nørskov et al., J. Phys. Chem. B 108 (2004) 17886, doi:10.1021/jp047349j,
with bcc Li in place of H2, and voltages from total energies against Li metal as in
M. K. Aydinol et al., Phys. Rev. B 56 (1997) 1354, doi:10.1103/PhysRevB.56.1354; the acceptance
is N. Metropolis et al., J. Chem. Phys. 21 (1953) 1087, doi:10.1063/1.1699114, in the
grand-canonical form of D. Frenkel, B. Smit, *Understanding Molecular Simulation*, 2nd ed.
(Academic Press, 2002), ch. 5, doi:10.1016/B978-0-12-267351-1.X5000-7.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.geometry import get_distances
from ase.neighborlist import neighbor_list
from scipy.spatial import cKDTree

from dealloy.errors import ConfigError, DealloyError, SimulationError
from dealloy.lammps.session import LammpsSession
from dealloy.materials import EV_PER_AMU_A2_PS2, LI_BCC_A_ANGSTROM, UNITS

KB_EV = UNITS["kB"]  # Boltzmann constant, eV/K (CODATA 2018, dealloy.materials)
VOLTAGE_MIN_V, VOLTAGE_MAX_V = -0.5, 3.0  # accepted applied potentials, V vs Li/Li+
LI_TYPE = 1


# ---- the reference electrode ------------------------------------------------------------------
def li_bcc_chemical_potential_ev(potential, comm=None) -> float:
    """Energy per atom (eV) of relaxed bcc Li with ``potential``: mu_Li(bcc), the Li/Li+ reference.

    A 4x4x4 conventional bcc cell (128 Li) relaxed with ``fix box/relax iso`` (twice, as
    ``dealloy validate-potential``). Cached per potential name and parameter-file hashes.

    Parameters
    ----------
    potential : dealloy.lammps.potentials.Potential
        The registry potential of the run.
    comm : mpi4py communicator, optional
        Every rank calls (LAMMPS is collective).

    Returns
    -------
    float
        mu_Li(bcc) in eV/atom (-1.647 for both shipped MEAMs, potentials/README.md).

    Raises
    ------
    ConfigError
        The potential cannot give it: LAMMPS fails on pure Li, the energy is not finite or not
        bound (>= -0.05 eV/atom), or the relaxed cell is not bcc Li (a outside 2.8-4.2 Å).

    References
    ----------
    .. [1] J. K. Nørskov, J. Rossmeisl, A. Logadottir, L. Lindqvist, J. R. Kitchin, T. Bligaard,
       H. Jónsson, "Origin of the overpotential for oxygen reduction at a fuel-cell cathode",
       J. Phys. Chem. B 108 (2004) 17886-17892, doi:10.1021/jp047349j (the computational
       hydrogen electrode; here the same construction with bcc Li as the Li/Li+ reference).
    .. [2] M. K. Aydinol, A. F. Kohan, G. Ceder, K. Cho, J. Joannopoulos, "Ab initio study of
       lithium intercalation in metal oxides and metal dichalcogenides", Phys. Rev. B 56 (1997)
       1354, doi:10.1103/PhysRevB.56.1354 (voltages from total energies against Li metal).
    """
    key = (potential.name, tuple(sorted(potential.file_hashes().items())))
    return _mu_cached(key, potential, comm)


_MU_CACHE: dict = {}


def _mu_cached(key, potential, comm) -> float:
    if key in _MU_CACHE:
        return _MU_CACHE[key]

    atoms = bulk("Li", "bcc", a=LI_BCC_A_ANGSTROM, cubic=True).repeat(4)
    why = None
    try:
        with LammpsSession(atoms, potential, comm=comm) as s:
            s.minimize(box=True, ftol_ev_per_angstrom=1e-6)
            e = s.minimize(box=True, ftol_ev_per_angstrom=1e-6)
            a = float(s.cell_matrix()[0, 0]) / 4
    except DealloyError as exc:
        raise ConfigError(f"potential '{potential.name}': mu_Li(bcc) cannot be computed (LAMMPS "
                          f"on bcc Li: {str(exc).splitlines()[0]}); the electrochemical stages "
                          "need it: use a potential that describes Li metal") from None
    mu = e / len(atoms)
    if not math.isfinite(mu):
        why = f"energy per atom is {mu}"
    elif mu >= -0.05:
        why = f"bcc Li is not bound ({mu:.4g} eV/atom)"
    elif not 2.8 <= a <= 4.2:
        why = f"the relaxed bcc cell has a = {a:.3f} Å, not Li metal ({LI_BCC_A_ANGSTROM} Å)"
    if why:
        raise ConfigError(f"potential '{potential.name}': mu_Li(bcc) cannot be computed ({why}); "
                          "the electrochemical stages need it: use a potential that describes "
                          "Li metal")
    _MU_CACHE[key] = float(mu)
    return float(mu)


def mu_li_ev(mu_li_bcc_ev: float, voltage_v: float) -> float:
    """Compute the Li reservoir's chemical potential mu_Li(U) = mu_Li(bcc) - eU.

    Parameters
    ----------
    mu_li_bcc_ev : float
        mu_Li(bcc), eV/atom (:func:`li_bcc_chemical_potential_ev`).
    voltage_v : float
        Applied potential U, V vs Li/Li+ (e = 1: eU in eV equals U in V).

    Returns
    -------
    float
        mu_Li(U), eV.

    References
    ----------
    .. [1] J. K. Nørskov, J. Rossmeisl, A. Logadottir, L. Lindqvist, J. R. Kitchin, T. Bligaard,
       H. Jónsson, "Origin of the overpotential for oxygen reduction at a fuel-cell cathode",
       J. Phys. Chem. B 108 (2004) 17886-17892, doi:10.1021/jp047349j (the computational
       hydrogen electrode; here the same construction with bcc Li as the Li/Li+ reference).
    .. [2] M. K. Aydinol, A. F. Kohan, G. Ceder, K. Cho, J. Joannopoulos, "Ab initio study of
       lithium intercalation in metal oxides and metal dichalcogenides", Phys. Rev. B 56 (1997)
       1354, doi:10.1103/PhysRevB.56.1354 (voltages from total energies against Li metal).
    """
    return mu_li_bcc_ev - voltage_v


def removal_voltage_v(delta_e_remove_ev: float, mu_li_bcc_ev: float) -> float:
    """Compute the potential U at which removing a Li is neutral: U = ΔE_remove + mu_Li(bcc).

    Parameters
    ----------
    delta_e_remove_ev : float
        ΔE = E(N-1) - E(N) of the removal, eV (positive: the Li is bound).
    mu_li_bcc_ev : float
        mu_Li(bcc), eV/atom.

    Returns
    -------
    float
        The removal voltage, V vs Li/Li+.

    References
    ----------
    .. [1] J. K. Nørskov, J. Rossmeisl, A. Logadottir, L. Lindqvist, J. R. Kitchin, T. Bligaard,
       H. Jónsson, "Origin of the overpotential for oxygen reduction at a fuel-cell cathode",
       J. Phys. Chem. B 108 (2004) 17886-17892, doi:10.1021/jp047349j (the computational
       hydrogen electrode; here the same construction with bcc Li as the Li/Li+ reference).
    .. [2] M. K. Aydinol, A. F. Kohan, G. Ceder, K. Cho, J. Joannopoulos, "Ab initio study of
       lithium intercalation in metal oxides and metal dichalcogenides", Phys. Rev. B 56 (1997)
       1354, doi:10.1103/PhysRevB.56.1354 (voltages from total energies against Li metal).
    """
    return delta_e_remove_ev + mu_li_bcc_ev


def metropolis(delta_omega_ev: float, temperature_k: float, u: float) -> bool:
    """Decide a Metropolis move: accept with probability min(1, exp(-ΔΩ / k_B T)).

    Parameters
    ----------
    delta_omega_ev : float
        Change of the grand potential ΔΩ, eV (removal ΔE + mu_Li(U), insertion ΔE - mu_Li(U)).
    temperature_k : float
        Temperature T, K (k_B from CODATA 2018, :data:`KB_EV`).
    u : float
        A uniform random number in [0, 1), drawn by the caller.

    Returns
    -------
    bool
        True when accepted (always for ΔΩ <= 0).

    References
    ----------
    .. [1] N. Metropolis, A. W. Rosenbluth, M. N. Rosenbluth, A. H. Teller, E. Teller,
       "Equation of state calculations by fast computing machines", J. Chem. Phys. 21 (1953)
       1087-1092, doi:10.1063/1.1699114.
    .. [2] D. Frenkel, B. Smit, *Understanding Molecular Simulation*, 2nd ed. (Academic Press,
       San Diego, 2002), ch. 5 (grand-canonical Monte Carlo), doi:10.1016/B978-0-12-267351-1.X5000-7.
    """
    if delta_omega_ev <= 0.0:
        return True
    return u < math.exp(-delta_omega_ev / (KB_EV * temperature_k))


def minimised_energy_ev(atoms: Atoms, potential, comm=None,
                        pressure_bar: float | None = None) -> float:
    """Minimise a copy of a structure in a separate LAMMPS instance and return its energy.

    The energy-balance voltage of an electrochemical stage, (E_end - E_start) / n + mu_Li(bcc),
    takes E from the structures at the stage's start and end minimised this way: the same 0 K
    convention as mu_Li(bcc) (:func:`li_bcc_chemical_potential_ev`) and as the c -> a voltage of
    ``dealloy validate-potential --amorphous``, so neither the thermal potential energy
    (~3/2 k_B T per atom of a harmonic solid, which leaves with each removed Li) nor the MD's
    energy fluctuations enter it. The live run is not touched.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure (e.g. :meth:`dealloy.lammps.session.LammpsSession.get_atoms`).
    potential : dealloy.lammps.potentials.Potential
        The run's potential.
    comm : mpi4py communicator, optional
        Every rank calls (LAMMPS is collective).
    pressure_bar : float, optional
        Relax the cell too at this pressure (bar; a run with ``pressure_bar`` set); None keeps
        the cell (fixed volume, as the run's MD).

    Returns
    -------
    float
        Potential energy of the local minimum, eV (conjugate gradients to 1e-4 eV/Å, at most
        5000 iterations; with the cell, twice, as :func:`li_bcc_chemical_potential_ev`).

    Raises
    ------
    dealloy.errors.DealloyError
        When LAMMPS fails on the structure.
    """
    with LammpsSession(atoms, potential, comm=comm) as s:
        if pressure_bar is None:
            return float(s.minimize(ftol_ev_per_angstrom=1e-4))
        s.minimize(box=True, pressure_bar=pressure_bar, ftol_ev_per_angstrom=1e-4)
        return float(s.minimize(box=True, pressure_bar=pressure_bar, ftol_ev_per_angstrom=1e-4))


def energy_balance_voltage_v(e_start_ev: float, e_end_ev: float, n_removed_net: int,
                             mu_li_bcc_ev: float) -> float | None:
    """Compute the energy-balance voltage U = (E_end - E_start) / n + mu_Li(bcc) of a stage.

    The exact bookkeeping of a stage that removed n Li net: the mean energy per Li of taking
    them out, relaxed as far as the run relaxed them, against the Li/Li+ reference. With
    minimised energies (:func:`minimised_energy_ev`) it is the quantity to compare with
    ``validate-potential``'s c -> a voltage, unlike the galvanostatic removal voltage, which is
    the lowest unrelaxed single point among the candidates.

    Parameters
    ----------
    e_start_ev, e_end_ev : float
        Energies of the structure at the stage's start and end, eV (same convention for both).
    n_removed_net : int
        Li removed minus Li inserted in the stage.
    mu_li_bcc_ev : float
        mu_Li(bcc), eV/atom.

    Returns
    -------
    float or None
        U, V vs Li/Li+; None when no Li left net (n <= 0).

    References
    ----------
    .. [1] M. K. Aydinol, A. F. Kohan, G. Ceder, K. Cho, J. Joannopoulos, Phys. Rev. B 56 (1997)
       1354, doi:10.1103/PhysRevB.56.1354 (the average voltage from total energies against Li
       metal).
    """
    if n_removed_net <= 0:
        return None
    return (e_end_ev - e_start_ev) / n_removed_net + mu_li_bcc_ev


# ---- exact single points on a live LAMMPS session ------------------------------------------------
@dataclass
class Move:
    """One attempted (and maybe accepted) removal or insertion of a Li.

    Attributes
    ----------
    kind : {"remove", "insert"}
        The move.
    atom_id : int
        LAMMPS id of the Li (an inserted Li's new id).
    position : numpy.ndarray
        Its position, shape (3,), Å.
    delta_e_ev : float
        E_after - E_before, eV.
    voltage_v : float
        Applied U (potentiostatic) or the removal voltage (galvanostatic), V vs Li/Li+.
    accepted : bool
        Whether the move was kept.
    n_candidates : int or None
        Galvanostatic removals: how many accessible Li were ranked when this one was chosen
        (None for Metropolis moves).
    candidates_median_voltage_v : float or None
        Galvanostatic removals: the median removal voltage over those candidates, V vs Li/Li+.
        The recorded ``voltage_v`` is their minimum, a lower order statistic that falls as
        ``n_candidates`` grows; the median does not (None for Metropolis moves).
    """

    kind: str  # "remove" | "insert"
    atom_id: int
    position: np.ndarray
    delta_e_ev: float  # E_after - E_before
    voltage_v: float  # applied U (potentiostatic) or the removal voltage (galvanostatic)
    accepted: bool
    n_candidates: int | None = None
    candidates_median_voltage_v: float | None = None


class SinglePoints:
    """Exact single points on a live LAMMPS session while single Li are deleted and re-created.

    A context manager: on entry LAMMPS' log is silenced (with ``quiet_log``), a ``compute
    pe/atom`` is defined and the intact energy taken; on exit both are undone. The ``atoms``
    tables of the callers map atom id -> (position, velocity, image) as gathered at the start of
    the batch; positions do not change between single points (no MD runs inside a batch).

    Parameters
    ----------
    session : dealloy.lammps.session.LammpsSession
        The live session (collective: every rank uses the context alike).
    quiet_log : str, optional
        The run's lammps.log, re-opened (append) on exit; None leaves the log alone.

    Attributes
    ----------
    e_ev : float
        Total potential energy of the committed structure, eV.
    n_evaluations : int
        Single points taken (``run 0``).
    """

    #: LAMMPS id of the per-atom energy compute (defined while the context is open)
    PE_ATOM = "dealloy_mc_pea"

    def __init__(self, session, quiet_log: str | None = None):
        self.s = session
        self.n_evaluations = 0
        self._log = quiet_log
        self.e_ev = None
        self.current = False
        self.n_local_evaluations = 0  # single points of small clusters (LocalEnergies)

    def __enter__(self):
        """Silence the log, define the per-atom energy compute and take the intact energy."""
        if self._log:
            self.s.command("log none")  # run 0 per move would flood lammps.log
        self.s.command(f"compute {self.PE_ATOM} all pe/atom")
        self.e_ev = self.energy_ev()
        return self

    def __exit__(self, *exc):
        """Remove the compute and re-open the log (if LAMMPS is still open)."""
        if self.s.lmp is not None:
            self.s.command(f"uncompute {self.PE_ATOM}")
            if self._log:
                self.s.command(f'log "{self._log}" append')

    def energy_ev(self) -> float:
        """Take a single point (``run 0``) and return the total potential energy in eV."""
        self.s.command("run 0 post no")
        self.n_evaluations += 1
        self.current = True  # the per-atom energies describe the structure as it is
        return self.s.thermo("pe") * self.s.units.energy_ev

    def per_atom_ev(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (ids, per-atom potential energies in eV) of the last :meth:`energy_ev` (sum: the total)."""
        lmp = self.s.lmp
        ids = np.ctypeslib.as_array(lmp.gather_concat("id", 0, 1)).astype(np.int64)
        e = np.ctypeslib.as_array(lmp.gather_concat(f"c_{self.PE_ATOM}", 1, 1)).copy()
        return ids, e * self.s.units.energy_ev

    def delete(self, atom_id) -> None:
        """Delete one atom id or a list of them (one ``delete_atoms``).

        Parameters
        ----------
        atom_id : int or sequence of int
            LAMMPS id(s).
        """
        ids = [int(atom_id)] if np.ndim(atom_id) == 0 else [int(i) for i in atom_id]
        self.current = False
        self.s.command(f"group dealloy_mc id {' '.join(map(str, ids))}")
        self.s.command("delete_atoms group dealloy_mc compress no")
        self.s.command("group dealloy_mc delete")

    def create(self, atom_id: int, x, v, image: int | None = None) -> None:
        """Create one Li.

        Parameters
        ----------
        atom_id : int
            Its LAMMPS id.
        x : array_like
            Position, shape (3,), Å.
        v : array_like
            Velocity, shape (3,), native LAMMPS units (Å per native time unit).
        image : int, optional
            LAMMPS' packed image flags (None: 0).
        """
        self.create_many([atom_id], [x], [v], None if image is None else [image])

    def create_many(self, atom_ids, xs, vs, images=None) -> None:
        """Re-create Li atoms with their ids, positions, velocities and image flags.

        Parameters
        ----------
        atom_ids : sequence of int
            LAMMPS ids, length M.
        xs : sequence of array_like
            Positions, M x (3,), Å.
        vs : sequence of array_like
            Velocities, M x (3,), native LAMMPS units.
        images : sequence of int, optional
            Packed image flags (None: 0).
        """
        n = len(atom_ids)
        self.current = False
        self.s.lmp.create_atoms(n, [int(i) for i in atom_ids], [LI_TYPE] * n,
                                [float(c) for x in xs for c in x],
                                [float(c) for v in vs for c in v],
                                None if images is None else [int(i) for i in images],
                                shrinkexceed=True)
        self.s.commands(self.s.potential.after_create_commands())  # ReaxFF: re-size its bond slots

    def try_remove(self, atom_id: int) -> float:
        """Delete a Li and return ΔE = E(N-1) - E(N); follow with :meth:`commit` or a restore.

        Parameters
        ----------
        atom_id : int
            Its LAMMPS id.

        Returns
        -------
        float
            ΔE, eV (positive: the Li was bound).
        """
        self.delete(atom_id)
        self._e_trial = self.energy_ev()
        return self._e_trial - self.e_ev

    def try_insert(self, atom_id: int, x, v) -> float:
        """Create a Li and return ΔE = E(N+1) - E(N); follow with :meth:`commit` or :meth:`undo_insert`.

        Parameters
        ----------
        atom_id : int
            Its new LAMMPS id.
        x : array_like
            Position, shape (3,), Å.
        v : array_like
            Velocity, shape (3,), native LAMMPS units.

        Returns
        -------
        float
            ΔE, eV.
        """
        self.create(atom_id, x, v)
        self._e_trial = self.energy_ev()
        return self._e_trial - self.e_ev

    def commit(self) -> None:
        """Keep the last trial: its energy becomes the reference of the next move."""
        self.e_ev = self._e_trial

    def restore_removed(self, atom_id: int, x, v, image) -> None:
        """Re-create a Li whose removal was rejected, exactly as it was.

        Parameters
        ----------
        atom_id : int
            Its LAMMPS id.
        x : array_like
            Position, shape (3,), Å.
        v : array_like
            Velocity, shape (3,), native LAMMPS units.
        image : int
            Packed image flags.
        """
        self.create(atom_id, x, v, image)

    def undo_insert(self, atom_id: int) -> None:
        """Delete a Li whose insertion was rejected.

        Parameters
        ----------
        atom_id : int
            Its LAMMPS id.
        """
        self.delete(atom_id)


def maxwell_velocity(rng: np.random.Generator, temperature_k: float, mass_amu: float,
                     time_unit_ps: float) -> np.ndarray:
    """Draw a Maxwell-Boltzmann velocity for a new atom.

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator (the same state on every rank).
    temperature_k : float
        Temperature, K.
    mass_amu : float
        The atom's mass, amu.
    time_unit_ps : float
        The potential's native LAMMPS time unit in ps (1 for ``metal``, 1e-3 for ``real``).

    Returns
    -------
    numpy.ndarray
        Velocity, shape (3,), Å per native time unit: each component normal with variance
        k_B T / m.
    """
    sigma = math.sqrt(KB_EV * temperature_k / (mass_amu * EV_PER_AMU_A2_PS2))
    return rng.normal(0.0, sigma, size=3) * time_unit_ps


# ---- potentiostatic: Metropolis sweeps over the exchange sites ------------------------------
def potentiostatic_sweep(sp: SinglePoints, occupied: list[int], atoms: dict, vacancies: list,
                         voltage_v: float, mu_li_bcc_ev: float, temperature_k: float,
                         rng: np.random.Generator, max_attempts: int | None, next_id: int,
                         new_velocity, max_net_removals: int | None = None
                         ) -> tuple[list[Move], int]:
    """One grand-canonical Metropolis pass at applied ``voltage_v``.

    The exchange sites are the ``occupied`` Li (ids, electrolyte-accessible or all) and the free
    ``vacancies`` (positions where Li left earlier, for re-insertion; empty list = removal only).
    ``max_attempts`` of them (all if None) are visited in a random order without replacement; an
    occupied site tries a removal (ΔΩ = ΔE + mu_Li(U)), a vacancy an insertion
    (ΔΩ = ΔE - mu_Li(U)). The proposal is symmetric (a site is proposed whether full or empty),
    so Metropolis acceptance gives detailed balance for the site occupations:
    P(config) ∝ exp(-(E - N mu_Li(U)) / k_B T).

    Parameters
    ----------
    sp : SinglePoints
        Open single-point context on the live session.
    occupied : list of int
        Li atom ids that may leave.
    atoms : dict
        id -> (position (3,) Å, velocity (3,) native units, image flag) for ``occupied``.
    vacancies : list
        Positions (3,) Å where a Li may be re-inserted. Entries of accepted insertions are
        removed, positions of accepted removals appended (in place).
    voltage_v : float
        Applied potential, V vs Li/Li+.
    mu_li_bcc_ev, temperature_k : float
        Reference chemical potential (eV) and the MC temperature (K).
    rng : numpy.random.Generator
        Same state on every rank.
    max_attempts : int or None
        Sites visited (None: all of them once).
    next_id : int
        First free atom id for insertions.
    new_velocity : callable(rng) -> (3,) array
        Velocity of an inserted Li.
    max_net_removals : int, optional
        Removal attempts are skipped once removals - insertions reach this (the stage's
        x_final); the random numbers are drawn all the same, so the stream does not depend on it.

    Returns
    -------
    moves : list of Move
        Every attempted move in the order tried, accepted or not.
    next_id : int
        The first atom id still free after the insertions.

    References
    ----------
    .. [1] N. Metropolis, A. W. Rosenbluth, M. N. Rosenbluth, A. H. Teller, E. Teller,
       J. Chem. Phys. 21 (1953) 1087-1092, doi:10.1063/1.1699114.
    .. [2] D. Frenkel, B. Smit, *Understanding Molecular Simulation*, 2nd ed. (Academic Press,
       San Diego, 2002), ch. 5, doi:10.1016/B978-0-12-267351-1.X5000-7 (grand-canonical
       Monte Carlo; here without the ideal-gas factor, the reservoir being the electrode).
    .. [3] J. K. Nørskov et al., J. Phys. Chem. B 108 (2004) 17886, doi:10.1021/jp047349j
       (the computational electrode behind mu_Li(U) = mu_Li(bcc) - eU).
    """
    mu = mu_li_ev(mu_li_bcc_ev, voltage_v)
    sites = [("occ", int(i)) for i in occupied] + [("vac", k) for k in range(len(vacancies))]
    order = rng.permutation(len(sites))
    if max_attempts is not None:
        order = order[:max_attempts]
    u_all = rng.random(len(order))
    moves: list[Move] = []
    vac = list(vacancies)
    vac_used: set[int] = set()
    net = 0
    for u, j in zip(u_all, order):
        kind, ref = sites[j]
        if kind == "occ":
            if max_net_removals is not None and net >= max_net_removals:
                continue
            x, v, img = atoms[ref]
            de = sp.try_remove(ref)
            ok = metropolis(de + mu, temperature_k, float(u))
            if ok:
                sp.commit()
                net += 1
                vac.append(np.asarray(x, float))
            else:
                sp.restore_removed(ref, x, v, img)
            moves.append(Move("remove", ref, np.asarray(x, float), de, voltage_v, ok))
        else:
            x = vac[ref]
            v = new_velocity(rng)
            de = sp.try_insert(next_id, x, v)
            ok = metropolis(de - mu, temperature_k, float(u))
            if ok:
                sp.commit()
                net -= 1
                vac_used.add(ref)
                moves.append(Move("insert", next_id, np.asarray(x, float), de, voltage_v, True))
                next_id += 1
            else:
                sp.undo_insert(next_id)
                moves.append(Move("insert", next_id, np.asarray(x, float), de, voltage_v, False))
    vacancies[:] = [p for k, p in enumerate(vac) if k not in vac_used]
    return moves, next_id


# ---- galvanostatic: the cheapest accessible Li leaves ---------------------------------------
def removal_energies(sp: SinglePoints, ids, atoms: dict) -> dict[int, float]:
    """Compute ΔE = E(N-1) - E(N) of each Li in ``ids``, one at a time, restoring the structure.

    One total-energy single point per Li: the reference for :func:`removal_energies_batched`,
    and the route for potentials whose energy is not local (ReaxFF's charge equilibration).

    Parameters
    ----------
    sp : SinglePoints
        Open context; its committed energy is the intact structure's.
    ids : iterable of int
        Li ids (keys of ``atoms``).
    atoms : dict
        id -> (position (3,) Å, velocity (3,) native units, image flag).

    Returns
    -------
    dict
        id -> ΔE (eV).
    """
    out = {}
    for i in ids:
        x, v, img = atoms[i]
        out[int(i)] = sp.try_remove(i)
        sp.restore_removed(i, x, v, img)
    return out


#: a per-atom energy change outside every removed Li's reach larger than this (eV, summed)
#: means the potential is less local than ``reach_angstrom`` says: the batch is redone one by one
LOCALITY_TOLERANCE_EV = 1e-7


def energy_reach_angstrom(potential) -> float | None:
    """Find the radius beyond which no atom's energy depends on a given atom.

    The per-atom energy of a short-ranged potential depends only on atoms within this reach:

    * 2NN MEAM (Baskes, PRB 46, 2727 (1992); Lee & Baskes, PRB 62, 8564 (2000)): neighbours
      within ``rc`` and the atoms that screen those bonds; a screener k of bond i-j lies inside
      the ellipse C <= Cmax, i.e. r_ik^2 <= Cmax^2 / (4 (Cmax - 1)) r_ij^2 (LAMMPS'
      ``ebound_meam``), so the reach is rc * sqrt(max(1, max over Cmax of that bound)); rc and
      every Cmax are read from the potential's parameter file (meam-godet2020: 4.8 Å * 1.22 =
      5.86 Å, set by Cmax(Li,Si,Si) = 4.7).
    * SNAP / POD (+ ZBL core): the descriptor cutoff, ``cutoff_angstrom``.
    * ReaxFF: None; charge equilibration couples every atom.

    Parameters
    ----------
    potential : dealloy.lammps.potentials.Potential
        A registry potential (``kind``, ``cutoff_angstrom``, ``files``).

    Returns
    -------
    float or None
        The reach, Å; None for a potential that is not local (any ``kind`` but meam, snap, pod).

    Raises
    ------
    OSError
        When a MEAM potential's parameter file cannot be read.

    References
    ----------
    .. [1] M. I. Baskes, "Modified embedded-atom potentials for cubic materials and impurities",
       Phys. Rev. B 46 (1992) 2727, doi:10.1103/PhysRevB.46.2727.
    .. [2] B.-J. Lee, M. I. Baskes, "Second nearest-neighbor modified embedded-atom-method
       potential", Phys. Rev. B 62 (2000) 8564-8567 (DOI not verified, left out).
    """
    if potential.kind in ("snap", "pod"):
        return float(potential.cutoff_angstrom)
    if potential.kind != "meam":
        return None
    rc, cmax = 4.0, [2.8]  # LAMMPS' MEAM defaults
    for line in open(potential.files[1]):
        key, _, val = line.partition("=")
        key = key.strip().lower()
        try:
            if key == "rc":
                rc = float(val.split()[0])
            elif key.startswith("cmax"):
                cmax.append(float(val.split()[0]))
        except (ValueError, IndexError):
            continue
    bound = max([1.0] + [c * c / (4.0 * (c - 1.0)) for c in cmax if c > 1.0])
    return rc * math.sqrt(bound)


def _neighbours(points: np.ndarray, centres: np.ndarray, radius_angstrom: float, cell,
                pbc) -> list:
    """List, for each centre, the points within ``radius_angstrom`` (Å; minimum image when periodic)."""
    pbc = tuple(bool(p) for p in pbc)
    if not any(pbc):
        return cKDTree(points).query_ball_point(centres, radius_angstrom)
    cell = np.asarray(cell, float)
    if np.allclose(cell - np.diag(np.diag(cell)), 0.0) and all(pbc):
        box = np.diag(cell)
        return cKDTree(np.mod(points, box), boxsize=box).query_ball_point(
            np.mod(centres, box), radius_angstrom)
    a = Atoms(positions=np.vstack([centres, points]), cell=cell, pbc=pbc)
    ii, jj = neighbor_list("ij", a, radius_angstrom)
    nc = len(centres)
    keep = (ii < nc) & (jj >= nc)
    out: list = [[] for _ in range(nc)]
    for i, j in zip(ii[keep], jj[keep]):
        out[i].append(int(j) - nc)
    return out


def independent_sets(ids, pos: np.ndarray, separation_angstrom: float, cell=None,
                     pbc=(False, False, False)) -> list[list[int]]:
    """Split ids into sets whose members are all more than ``separation_angstrom`` apart.

    Greedy colouring in the given order, so the result is deterministic.

    Parameters
    ----------
    ids : sequence of int
        Atom ids, length M.
    pos : numpy.ndarray
        Their positions, shape (M, 3), Å.
    separation_angstrom : float
        Smallest distance between two members of a set, Å (exclusive).
    cell : array_like, optional
        Cell matrix, shape (3, 3), Å, for minimum-image distances when ``pbc``.
    pbc : tuple of 3 bool, optional
        Periodic axes (default none).

    Returns
    -------
    list of list of int
        The sets of ids; every id is in exactly one.
    """
    ids = [int(i) for i in ids]
    if not ids:
        return []
    pos = np.asarray(pos, float)
    conflicts = [set(nb) - {k} for k, nb in enumerate(_neighbours(pos, pos, separation_angstrom,
                                                                    cell, pbc))]
    colour = [-1] * len(ids)
    sets: list[list[int]] = []
    for k in range(len(ids)):
        used = {colour[c] for c in conflicts[k] if colour[c] >= 0}
        c = next(n for n in range(len(sets) + 1) if n not in used)
        if c == len(sets):
            sets.append([])
        colour[k] = c
        sets[c].append(k)
    return [[ids[k] for k in s] for s in sets]


class LocalEnergies:
    """A second, small LAMMPS instance on this rank alone, holding only the neighbourhood of a few Li.

    It gives their removal energies without a single point of the whole particle.

    The energy of an atom depends only on the atoms within the potential's reach r
    (:func:`energy_reach_angstrom`), so the per-atom energies of every atom within r of a Li i
    are exact in any cluster that holds every atom within 2 r of i, and ΔE_i (the sum of their
    changes) is the same as in the whole structure to rounding. A cluster holds the atoms within
    2 r + 0.5 Å of its Li; the atoms on its cut surface have wrong energies, but those do not
    change when the Li are removed (they are more than r away) and are not summed.

    Open particles only (the cluster is cut out of an open structure; a periodic cell uses the
    whole-structure route). ``positions`` (N, 3) Å of the whole current structure only size the
    box; atoms are re-created per cluster.

    Parameters
    ----------
    session : dealloy.lammps.session.LammpsSession
        The run's session (its class and potential are reused; its state is not touched).
    positions : numpy.ndarray
        Positions of the whole structure, shape (N, 3), Å.
    """

    PE_ATOM = "dealloy_local_pea"

    def __init__(self, session, positions: np.ndarray):
        from mpi4py import MPI

        pos = np.asarray(positions, float)
        self.lo = pos.min(0) - 5.0
        box = np.diag(pos.max(0) - self.lo + 5.0)
        # a placeholder the instance opens with (deleted before the first cluster): a 2x2x2
        # block of bcc Li, not one lone Li, which the ML-POD guard refuses (lammps/lammps#5114)
        block = bulk("Li", "bcc", a=LI_BCC_A_ANGSTROM, cubic=True).repeat(2)
        seed = Atoms(block.get_chemical_symbols(), cell=box, pbc=False,
                     positions=block.positions - block.positions.mean(0) + box.diagonal() / 2)
        # the session's own class (dealloy's LAMMPS bridge), on this rank only
        self.s = type(session)(seed, session.potential, comm=MPI.COMM_SELF)
        self.s.command(f"compute {self.PE_ATOM} all pe/atom")
        self.n_evaluations = 0
        self.n_atoms_evaluated = 0

    def close(self) -> None:
        """Close the second LAMMPS instance."""
        self.s.close()

    def _energies(self) -> tuple[np.ndarray, np.ndarray]:
        self.s.command("run 0 post no")
        self.n_evaluations += 1
        self.n_atoms_evaluated += self.s.natoms
        lmp = self.s.lmp
        ids = np.ctypeslib.as_array(lmp.gather_concat("id", 0, 1)).astype(np.int64)
        e = np.ctypeslib.as_array(lmp.gather_concat(f"c_{self.PE_ATOM}", 1, 1)).copy()
        order = np.argsort(ids)
        return ids[order], e[order] * self.s.units.energy_ev

    def removal_energies(self, members, ids_all, types_all, x_all, rows, reach_angstrom
                         ) -> tuple[dict[int, float], float]:
        """Compute the removal energies of a set of Li, deleted together from their cluster.

        Parameters
        ----------
        members : iterable of int
            Li ids, all more than 2 ``reach_angstrom`` + 0.5 Å apart.
        ids_all, types_all : numpy.ndarray
            Ids and LAMMPS types of the whole structure, shape (N,), sorted by id.
        x_all : numpy.ndarray
            Positions of the whole structure, shape (N, 3), Å.
        rows : sequence of int
            Rows of the ``*_all`` arrays that form the cluster.
        reach_angstrom : float
            :func:`energy_reach_angstrom` of the potential, Å.

        Returns
        -------
        dict
            id -> ΔE = E(N-1) - E(N), eV, for each member.
        float
            Summed |energy change| of the atoms outside every member's reach, eV (0 to
            rounding for a potential as local as its reach).
        """
        s = self.s
        s.command("delete_atoms group all compress no")
        rows = np.asarray(rows, dtype=np.int64)
        s.lmp.create_atoms(len(rows), [int(i) for i in ids_all[rows]],
                           [int(t) for t in types_all[rows]],
                           [float(c) for c in (x_all[rows] - self.lo).ravel()],
                           shrinkexceed=True)
        s.commands(s.potential.after_create_commands())
        ids0, e0 = self._energies()
        s.command(f"group dealloy_loc id {' '.join(str(int(i)) for i in members)}")
        s.command("delete_atoms group dealloy_loc compress no")
        s.command("group dealloy_loc delete")
        ids1, e1 = self._energies()
        change = -e0.copy()  # removed atoms lose their whole energy
        kept = np.searchsorted(ids0, ids1)
        change[kept] = e1 - e0[kept]
        x0 = x_all[rows]  # cluster positions in ids0 order (rows ascend, ids_all is sorted)
        tree = cKDTree(x0)
        counted = np.zeros(len(ids0), bool)
        out = {}
        for i in members:
            r = int(np.searchsorted(ids0, i))
            nb = np.array(tree.query_ball_point(x0[r], reach_angstrom), dtype=np.int64)
            nb = nb[nb != r]
            out[int(i)] = float(change[r] + change[nb].sum())
            counted[nb] = True
            counted[r] = True
        return out, float(np.abs(change[~counted]).sum())


#: a cluster larger than this share of the structure is evaluated in the whole structure
LOCAL_MAX_SHARE = 0.5


class _Structure:
    """Ids, positions and types of an open structure, gathered once per batch of removals.

    Nothing moves inside a batch (single points only), so one gather and one k-d tree serve
    every evaluation of :func:`cheapest_removals`; removed atoms are masked (``alive``).
    Collective: every rank builds it. ``types``: also gather the LAMMPS types (``self.types``,
    sorted by id; None otherwise), which the cluster instance needs.
    """

    def __init__(self, lmp, types: bool):
        raw_ids = np.ctypeslib.as_array(lmp.gather_concat("id", 0, 1)).astype(np.int64)
        order = np.argsort(raw_ids)
        self.ids = raw_ids[order]
        self.x = np.ctypeslib.as_array(lmp.gather_concat("x", 1, 3)).reshape(-1, 3)[order].copy()
        self.types = (np.ctypeslib.as_array(lmp.gather_concat("type", 0, 1)).astype(
            np.int64)[order] if types else None)
        self.alive = np.ones(len(self.ids), bool)
        self._tree = None

    def tree(self) -> cKDTree:
        """k-d tree of every atom's position (removed ones included; filter by ``alive``)."""
        if self._tree is None:
            self._tree = cKDTree(self.x)
        return self._tree

    def remove(self, atom_id: int) -> None:
        """Mark an atom as removed."""
        self.alive[int(np.searchsorted(self.ids, atom_id))] = False


def removal_energies_batched(sp: SinglePoints, ids, atoms: dict, reach_angstrom: float,
                             cell=None, pbc=(False, False, False),
                             local: LocalEnergies | None = None,
                             structure: _Structure | None = None) -> dict[int, float]:
    """Compute ΔE = E(N-1) - E(N) of each Li as :func:`removal_energies` does, one single point per set.

    The Li are split into sets whose members are more than 2 ``reach_angstrom`` + 0.5 Å apart;
    each set is deleted at once, one ``run 0`` gives the per-atom energies e'_j (LAMMPS'
    ``compute pe/atom``), and the set is re-created with its ids, positions, velocities and
    image flags. As no atom's energy depends on two removed Li, the removals are independent and
    ΔE_i = sum over atoms j within ``reach_angstrom`` of i of (e'_j - e_j) - e_i, with e_j the
    per-atom energies of the intact structure. Equal to the one-by-one differences of totals to
    rounding (~1e-12 eV; test_batched_removal_energies_equal_one_by_one). Should the energy of
    any atom outside all reaches change by more than :data:`LOCALITY_TOLERANCE_EV` in total (the
    potential is less local than ``reach_angstrom``), that set is redone one Li at a time.

    With ``local`` (open structures), a set whose cluster (the atoms within 2 ``reach_angstrom``
    + 0.5 Å of its members) holds at most :data:`LOCAL_MAX_SHARE` of the structure is evaluated
    in that second instance instead (:class:`LocalEnergies`: two single points of the cluster
    instead of one of the whole structure); the sets are shared out over the MPI ranks, each
    rank's cluster instance works alone, and the results are exchanged, so the values do not
    depend on the number of ranks.

    Parameters
    ----------
    sp : SinglePoints
        Open context; its last single point is the intact structure.
    ids : sequence of int
        Li ids (keys of ``atoms``).
    atoms : dict
        id -> (position (3,) Å, velocity (3,) native units, image flag).
    reach_angstrom : float
        :func:`energy_reach_angstrom` of the potential.
    cell : (3, 3) array, optional
        Cell matrix (Å) for minimum-image distances when ``pbc``.
    pbc : tuple of 3 bool, optional
        Periodic axes (default none).
    local : LocalEnergies, optional
        The cluster instance (None: every set in the whole structure).
    structure : _Structure, optional
        The open structure as gathered at the start of the batch, its removed atoms masked
        (:func:`cheapest_removals` keeps one per call; None: gathered here).

    Returns
    -------
    dict
        id -> ΔE (eV).

    Raises
    ------
    SimulationError
        On every rank, when a cluster evaluation failed on any rank (so that no rank is left
        waiting in the exchange of results).
    """
    ids = [int(i) for i in ids]
    if local is None and len(ids) <= 1:
        return removal_energies(sp, ids, atoms)
    if not ids:
        return {}
    # ids and positions of every atom, sorted by id, for the reach sums (the caller's table
    # holds only candidates)
    snap = (structure if structure is not None and not any(pbc)
            else _Structure(sp.s.lmp, types=local is not None and not any(pbc)))
    cand_pos = np.array([atoms[i][0] for i in ids], float)
    sets = independent_sets(ids, cand_pos, 2.0 * reach_angstrom + 0.5, cell, pbc)
    n = int(snap.alive.sum())
    out: dict[int, float] = {}
    redo: list[int] = []
    if local is not None and not any(pbc):
        # rows of the gathered arrays (removed atoms left out): ascending, as ids
        alive, tree = snap.alive, snap.tree()
        small, whole = [], []
        for members in sets:
            centres = snap.x[np.searchsorted(snap.ids, members)]
            rows = [r for r in sorted(set().union(*tree.query_ball_point(
                centres, 2.0 * reach_angstrom + 0.5))) if alive[r]]
            (small if len(rows) <= LOCAL_MAX_SHARE * n else whole).append((members, rows))
        comm = sp.s.comm
        rank, size = (comm.Get_rank(), comm.Get_size()) if comm is not None else (0, 1)
        mine: dict[int, float] = {}
        strays: list[int] = []
        failed: str | None = None
        try:
            for members, rows in small[rank::size]:
                de, stray = local.removal_energies(members, snap.ids, snap.types, snap.x,
                                                   rows, reach_angstrom)
                mine.update(de)
                if stray > LOCALITY_TOLERANCE_EV:  # the potential reaches further than assumed
                    strays.extend(members)
        except Exception as exc:  # noqa: BLE001 - re-raised on every rank below
            if size == 1:
                raise
            # every rank must reach the allgather: a rank that raised here alone would leave
            # the others waiting in it until the job's wall time
            failed = f"rank {rank}: {type(exc).__name__}: {exc}"
        parts = (comm.allgather((mine, strays, failed)) if size > 1
                 else [(mine, strays, failed)])
        errors = [f for _, _, f in parts if f is not None]
        if errors:
            raise SimulationError("neighbourhood energy evaluation failed on "
                                  + "; ".join(errors))
        for de, st, _ in parts:
            out.update(de)
            redo.extend(st)
        sets = [m for m, _ in whole]
    alive = snap.alive
    all_ids, x_all = (snap.ids, snap.x) if alive.all() else (snap.ids[alive], snap.x[alive])
    row = {int(i): k for k, i in enumerate(all_ids)}
    if sets:
        if not sp.current:  # per-atom energies of the intact structure (the total is unchanged)
            sp.energy_ev()
        ids0, e0 = sp.per_atom_ev()
        e0 = e0[np.argsort(ids0)]
        # atoms within the reach of each candidate (the structure is static inside a batch)
        flat = [i for m in sets for i in m]
        near = dict(zip(flat, (np.array(nb, dtype=np.int64) for nb in
                               _neighbours(x_all, x_all[[row[i] for i in flat]],
                                           reach_angstrom, cell, pbc))))
    for members in sets:
        if len(members) == 1:
            out.update(removal_energies(sp, members, atoms))
            continue
        sp.delete(members)
        sp.energy_ev()
        ids1, e1 = sp.per_atom_ev()
        o1 = np.argsort(ids1)
        ids1, e1 = ids1[o1], e1[o1]
        rows1 = np.searchsorted(all_ids, ids1)
        change = np.zeros(n)
        change[rows1] = e1 - e0[rows1]
        gone = np.array([row[i] for i in members])
        change[gone] = -e0[gone]
        counted = np.zeros(n, bool)
        for i, r in zip(members, gone):
            nb = near[i][near[i] != r]
            out[i] = float(change[r] + change[nb].sum())
            counted[nb] = True
            counted[r] = True
        stray = float(np.abs(change[~counted]).sum())
        xs, vs, imgs = zip(*(atoms[i] for i in members))
        sp.create_many(members, xs, vs, imgs)
        if stray > LOCALITY_TOLERANCE_EV:  # the potential reaches further than assumed
            redo.extend(members)
    if redo:
        out.update(removal_energies(sp, redo, atoms))
    return out


def cheapest_removals(sp: SinglePoints, candidates, atoms: dict, k: int, mu_li_bcc_ev: float,
                      locality_angstrom: float, cutoff_voltage_v: float | None = None,
                      cell=None, pbc=(False, False, False),
                      reach_angstrom: float | None | str = "auto") -> tuple[list[Move], bool]:
    """Remove up to ``k`` Li, each time the candidate with the lowest ΔE = E(N-1) - E(N).

    The galvanostatic mode: the removal voltage of each removed Li is the cell voltage of a
    constant-current curve, U = ΔE + mu_Li(bcc) (V vs Li/Li+).

    After a removal only the candidates within ``locality_angstrom`` (twice the potential's
    cutoff: the reach of a many-body energy change) of it are re-evaluated; the others' ΔE are
    unchanged exactly, as nothing moves inside the batch (distances by minimum image when
    ``pbc``; ``cell`` is the 3x3 cell matrix, Å). That holds only for a potential with a finite
    reach (:func:`energy_reach_angstrom` not None): for one without (ReaxFF, whose charge
    equilibration couples every atom) every remaining candidate is re-evaluated after each
    removal, whatever ``locality_angstrom`` says (k - 1 extra passes over the candidates for k
    removals). Each move records its exact ΔE, its removal voltage U = ΔE + mu_Li(bcc) (V), the
    number of candidates ranked and the median of their removal voltages: U is the *minimum*
    over those candidates, an unrelaxed lower order statistic that falls as their number grows
    (the expected minimum of N samples sits near the 1/(N+1) quantile), not the thermodynamic
    plateau; the median does not depend on N that way.

    ``reach_angstrom``: "auto" (default) takes :func:`energy_reach_angstrom` of the session's
    potential. With a reach (a local potential) the candidates' ΔE are computed in independent
    sets (:func:`removal_energies_batched`; off when :data:`BATCHED` is False), otherwise one
    single point per candidate; the removals are the same (benchmarks/README.md: the cost). On
    an open particle the sets with a small neighbourhood (the re-evaluations after a removal) go
    to a second LAMMPS instance holding only that neighbourhood (:class:`LocalEnergies`; off
    when :data:`LOCAL` is False), and the removed Li's ΔE is the evaluated one.
    The re-evaluation radius is at least 2 reach + 0.5 Å (MEAM screening reaches beyond rc).
    Candidates are ranked by ΔE rounded to 1e-9 eV, then by id, so that rounding noise of
    the evaluation route (or of the MPI decomposition) cannot pick between equal ΔE.

    Parameters
    ----------
    sp : SinglePoints
        Open context on the live session (the intact structure committed).
    candidates : iterable of int
        Ids of the accessible Li.
    atoms : dict
        id -> (position (3,) Å, velocity (3,) native units, image flag) for the candidates.
    k : int
        Most Li to remove.
    mu_li_bcc_ev : float
        mu_Li(bcc), eV/atom.
    locality_angstrom : float
        Re-evaluation radius around a removed Li, Å (raised to 2 reach + 0.5 Å).
    cutoff_voltage_v : float, optional
        Stop before a removal that needs more than this, V vs Li/Li+ (None: no cutoff).
    cell : array_like, optional
        Cell matrix, shape (3, 3), Å, for minimum-image distances when ``pbc``.
    pbc : tuple of 3 bool, optional
        Periodic axes (default none).
    reach_angstrom : float, None or "auto", optional
        The potential's energy reach, Å; "auto" (default): :func:`energy_reach_angstrom`;
        None: one single point per candidate.

    Returns
    -------
    moves : list of Move
        The removals, in order, each with its exact ΔE (eV) and removal voltage (V).
    cutoff_reached : bool
        True when the cheapest remaining Li would need more than ``cutoff_voltage_v`` (the
        constant-current phase ends there).
    """
    cand = [int(i) for i in candidates]
    if not cand or k <= 0:
        return [], False
    reach_of_potential = energy_reach_angstrom(sp.s.potential)
    if reach_angstrom == "auto":
        reach_angstrom = reach_of_potential
    if reach_angstrom is not None:
        locality_angstrom = max(locality_angstrom, 2.0 * reach_angstrom + 0.5)
    if reach_of_potential is None:  # not local (ReaxFF's QEq): a removal changes every ΔE
        locality_angstrom = math.inf

    local = structure = None
    if reach_angstrom is not None and BATCHED and not any(pbc):
        structure = _Structure(sp.s.lmp, types=LOCAL)  # one gather for the whole batch
        if LOCAL:
            local = LocalEnergies(sp.s, structure.x)
    try:
        return _cheapest(sp, cand, atoms, k, mu_li_bcc_ev, locality_angstrom, cutoff_voltage_v,
                         cell, pbc, reach_angstrom, local, structure)
    finally:
        if local is not None:
            sp.n_local_evaluations += local.n_evaluations
            local.close()


def _cheapest(sp, cand, atoms, k, mu_li_bcc_ev, locality_angstrom, cutoff_voltage_v, cell, pbc,
              reach_angstrom, local, structure):
    def evaluate(ids):
        if reach_angstrom is None or not BATCHED:
            return removal_energies(sp, ids, atoms)
        return removal_energies_batched(sp, ids, atoms, reach_angstrom, cell, pbc, local,
                                        structure)

    de = evaluate(cand)
    moves: list[Move] = []
    pos = {i: np.asarray(atoms[i][0], float) for i in cand}
    while de and len(moves) < k:
        best = min(de, key=lambda i: (round(de[i] / _RANK_EV), i))
        n_cand = len(de)
        median_v = removal_voltage_v(float(np.median(np.fromiter(de.values(), float, n_cand))),
                                     mu_li_bcc_ev)
        u_best = removal_voltage_v(de[best], mu_li_bcc_ev)
        if cutoff_voltage_v is not None and u_best > cutoff_voltage_v:
            return moves, True
        if local is not None:
            # its ΔE is known (exact to rounding): delete it without a single point of the whole
            # structure; the next sets use the cluster instance, or take a fresh single point
            d = de[best]
            sp.delete(best)
            sp.e_ev = sp.e_ev + d if sp.e_ev is not None else None
        else:
            d = sp.try_remove(best)
            sp.commit()
        if structure is not None:
            structure.remove(best)
        moves.append(Move("remove", best, pos[best], d, removal_voltage_v(d, mu_li_bcc_ev), True,
                          n_cand, median_v))
        del de[best]
        rest = list(de) if len(moves) < k else []  # after the last removal nothing is chosen
        if rest:
            _, dist = get_distances(pos[best][None, :], np.array([pos[i] for i in rest]),
                                    cell=cell if any(pbc) else None,
                                    pbc=pbc if any(pbc) else None)
            near = ([i for i, r in zip(rest, dist[0]) if r <= locality_angstrom]
                    if math.isfinite(locality_angstrom) else rest)
        else:
            near = []
        de.update(evaluate(near))
    return moves, False


_RANK_EV = 1e-9  # ΔE resolution of the galvanostatic ranking (eV)
#: evaluate galvanostatic candidates in independent sets (False: one single point per Li, the
#: reference route kept for tests and for non-local potentials)
BATCHED = True
#: evaluate small sets in a second LAMMPS instance holding only their neighbourhood
#: (:class:`LocalEnergies`; open particles, batched route only)
LOCAL = True


__all__ = ["li_bcc_chemical_potential_ev", "mu_li_ev", "removal_voltage_v", "metropolis",
           "SinglePoints", "Move", "potentiostatic_sweep", "cheapest_removals",
           "removal_energies", "removal_energies_batched", "energy_reach_angstrom",
           "independent_sets", "LocalEnergies", "maxwell_velocity", "minimised_energy_ev",
           "energy_balance_voltage_v", "KB_EV", "VOLTAGE_MIN_V", "VOLTAGE_MAX_V"]

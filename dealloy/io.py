"""The one place that writes files: atomically (temp file + rename) and from MPI rank 0 only.

Every rank calls these functions; rank 0 writes, the others wait at a barrier. ASE's own
MPI-aware I/O (``ase.parallel``) is bypassed with ``parallel=False`` so no hidden collective can
desynchronise the ranks ("Message truncated" after writing on rank 0 alone).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np


def mpi_comm(comm=None):
    """Return ``comm`` or MPI.COMM_WORLD (mpi4py is imported lazily)."""
    if comm is not None:
        return comm
    from mpi4py import MPI

    return MPI.COMM_WORLD


def rank(comm=None) -> int:
    return mpi_comm(comm).Get_rank()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; rename onto ``path`` on success.

    On error the temp file is removed and ``path`` is untouched (nothing half-written).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        # mkstemp makes 0600 files; give the result the permissions a plain open() would
        # (0666 minus the umask), so results stay readable by the group on a cluster
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _default(o: Any):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_text(path, text: str, comm=None, collective: bool = False) -> None:
    """Atomically write ``text``. With ``collective=True`` every rank must call (rank 0 writes)."""
    def write():
        with atomic_path(path) as tmp:
            tmp.write_text(text)

    _on_rank0(write, comm, collective)


def _on_rank0(func, comm=None, collective: bool = False):
    """Run ``func`` here, or with ``collective=True`` on rank 0 only; every rank then learns
    whether it failed and raises too (no rank is left waiting at a barrier)."""
    if not collective:
        return func()
    c = mpi_comm(comm)
    error = None
    if c.Get_rank() == 0:
        try:
            func()
        except Exception as exc:  # re-raised on every rank below
            error = exc
    failed = c.bcast(None if error is None else f"{type(error).__name__}: {error}", root=0)
    if error is not None:
        raise error
    if failed is not None:
        raise OSError(f"rank 0 failed to write: {failed}")


def write_json(path, data: Any, comm=None, collective: bool = False) -> None:
    write_text(path, json.dumps(data, indent=2, default=_default) + "\n", comm, collective)


def write_structure(path, atoms, format: str | None = None, comm=None, collective: bool = False,
                    **kwargs) -> None:
    """Write ``atoms`` (or a list of Atoms) with ASE, atomically.

    ``format`` defaults to ASE's guess from the suffix; ``.data``/``.lmp`` mean LAMMPS data with
    dealloy's type order (1 = Li, 2 = Si) and masses.
    """
    import ase.io

    path = Path(path)
    if format is None:
        format = guess_format(path)
    if format == "lammps-data":
        from dealloy.potentials import ELEMENTS

        if not isinstance(atoms, (list, tuple)) and atoms.cell.rank < 3:
            atoms = atoms.copy()  # LAMMPS needs a box: the bounding box plus 5 Å on every side
            atoms.center(vacuum=5.0)
        kwargs.setdefault("specorder", list(ELEMENTS))
        kwargs.setdefault("masses", True)
        kwargs.setdefault("atom_style", "atomic")
    def write():
        with atomic_path(path) as tmp:
            ase.io.write(tmp, atoms, format=format, parallel=False, **kwargs)

    _on_rank0(write, comm, collective)


def guess_format(path) -> str | None:
    """ASE format for a file name (``.data``/``.lmp`` = LAMMPS data, ``.xyz`` = extxyz)."""
    from ase.io.formats import UnknownFileTypeError, filetype

    name = Path(path).name.lower()
    if name.endswith((".data", ".lmp", ".lammps")):
        return "lammps-data"
    if name.endswith((".xyz", ".extxyz")):
        return "extxyz"
    if name.endswith((".lammpstrj", ".lammpstrj.gz", ".dump", ".dump.gz")):
        return "lammps-dump-text"
    try:
        return filetype(path, read=Path(path).exists(), guess=False)
    except (UnknownFileTypeError, OSError):
        from dealloy.errors import ConfigError

        raise ConfigError(f"cannot tell the file format of {path}: use a known suffix "
                          "(.extxyz, .xyz, .data, .lammpstrj, .cif, .vasp, ...)") from None


def read_structure(path, index=-1, format: str | None = None):
    """Read a structure with ASE on the calling rank only (no hidden MPI broadcast).

    LAMMPS data files are read with dealloy's type order (1 = Li, 2 = Si).
    """
    import ase.io

    from dealloy.errors import ConfigError

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"structure file not found: {path} (check the path)")
    if format is None:
        format = guess_format(path)
    kwargs = {}
    if format == "lammps-data":
        from dealloy.potentials import ELEMENTS

        kwargs.update(atom_style="atomic", Z_of_type={i + 1: _Z(s) for i, s in enumerate(ELEMENTS)})
    try:
        return ase.io.read(path, index=index, format=format, parallel=False, **kwargs)
    except Exception as exc:  # ASE raises many kinds; give one clear message
        raise ConfigError(f"cannot read structure file {path}: {exc}") from exc


def _Z(symbol: str) -> int:
    from ase.data import atomic_numbers

    return atomic_numbers[symbol]

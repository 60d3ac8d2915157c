"""The one place that writes files: atomically (temp file + rename) and from MPI rank 0 only.

Every rank calls these functions; rank 0 writes, the others wait at a barrier. ASE's own
MPI-aware I/O (``ase.parallel``) is bypassed with ``parallel=False`` so no hidden collective can
desynchronise the ranks ("Message truncated" after writing on rank 0 alone).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from dealloy.errors import ConfigError
from dealloy.materials import ELEMENTS


def mpi_comm(comm=None):
    """Return ``comm`` or MPI.COMM_WORLD (mpi4py is imported lazily).

    The first time COMM_WORLD is taken, :func:`check_launcher` makes sure the launcher and MPI
    agree on the number of tasks.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        A communicator to use as it is.

    Returns
    -------
    mpi4py.MPI.Comm
        ``comm``, or ``MPI.COMM_WORLD`` if it is None.

    Raises
    ------
    ConfigError
        From :func:`check_launcher`, when a launcher started several tasks but MPI sees one rank.
    """
    if comm is not None:
        return comm
    from mpi4py import MPI

    global _LAUNCHER_CHECKED
    if not _LAUNCHER_CHECKED:
        check_launcher(MPI.COMM_WORLD.Get_size())
        _LAUNCHER_CHECKED = True
    return MPI.COMM_WORLD


_LAUNCHER_CHECKED = False

#: environment variables in which launchers give each task the number of tasks they started:
#: (variable, launcher); SLURM's only inside a job step (srun), where SLURM_STEP_ID is set
LAUNCHER_TASK_VARS = (
    ("OMPI_COMM_WORLD_SIZE", "Open MPI's mpiexec"),
    ("PMI_SIZE", "a PMI launcher (srun --mpi=pmi2, MPICH/Intel mpiexec)"),
    ("PMIX_SIZE", "a PMIx launcher"),
    ("SLURM_STEP_NUM_TASKS", "srun"),
    ("SLURM_NTASKS", "srun"),
    ("SLURM_NPROCS", "srun"),
)


def launcher_tasks(environ=None) -> tuple[int, str, str] | None:
    """Read how many tasks an MPI launcher or ``srun`` says it started.

    SLURM's counts are read only inside a job step (``SLURM_STEP_ID`` set, i.e. under ``srun``):
    a batch script's own shell has ``SLURM_NTASKS`` of the whole allocation but is one process.

    Parameters
    ----------
    environ : mapping of str to str, optional
        The environment to read (default ``os.environ``); the variables are
        :data:`LAUNCHER_TASK_VARS`.

    Returns
    -------
    tuple of (int, str, str) or None
        ``(tasks, variable, launcher)`` of the first variable that says more than one task, or
        None if none does.
    """
    env = os.environ if environ is None else environ
    step = str(env.get("SLURM_STEP_ID", env.get("SLURM_STEPID", ""))).strip()
    in_step = step not in ("", "batch", "extern", "4294967294", "4294967295")
    slurm_seen = False
    for var, who in LAUNCHER_TASK_VARS:
        if var.startswith("SLURM") and (not in_step or slurm_seen):
            continue  # outside a step, or a more specific SLURM count was already read
        raw = str(env.get(var, "")).split("(")[0].strip()
        if not raw:
            continue
        slurm_seen = slurm_seen or var.startswith("SLURM")
        try:
            n = int(raw)
        except ValueError:
            continue
        if n > 1:
            return n, var, who
    return None


def check_launcher(mpi_size: int, environ=None) -> None:
    """Refuse to start when a launcher started N > 1 tasks but MPI sees only ``mpi_size`` = 1.

    That happens when srun's MPI plugin does not match the MPI library (or a plain ``srun``
    without ``--mpi``): every task is rank 0 of 1, and N copies run the whole job into the same
    files.

    Parameters
    ----------
    mpi_size : int
        The number of ranks MPI sees (``COMM_WORLD.Get_size()``).
    environ : mapping of str to str, optional
        The environment to read (default ``os.environ``).

    Raises
    ------
    ConfigError
        One line naming the variable and saying how to launch.
    """
    if mpi_size != 1:
        return
    said = launcher_tasks(environ)
    if said is None:
        return

    n, var, who = said
    raise ConfigError(
        f"the launcher started {n} tasks ({var}={n}, {who}) but MPI sees 1 rank in each: "
        f"{n} copies would run the same job into the same files. Launch with "
        f"`srun --mpi=pmi2 dealloy ...` (or the --mpi plugin your MPI library was built for: "
        f"`srun --mpi=list`) or `mpiexec -n {n} dealloy ...`; for a serial run start one task")


def progress_hook(progress):
    """Turn the ``progress`` argument of a long workflow into ``say(msg=None, *, done, total, task)``.

    Parameters
    ----------
    progress : callable or None
        None gives a no-op; a hook that takes counts (``takes_counts = True``, as
        :class:`dealloy.progress.TaskProgress`) is used as it is; any other callable of one
        argument (``print``, ``list.append``) receives the messages only.

    Returns
    -------
    callable
        ``say(msg=None, **counts)``.
    """
    if progress is None:
        return lambda msg=None, **counts: None
    if getattr(progress, "takes_counts", False):
        return progress

    def say(msg=None, **counts):
        if msg is not None:
            progress(msg)
    return say


def rank(comm=None) -> int:
    """Return the MPI rank of this process.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        Default ``MPI.COMM_WORLD`` (see :func:`mpi_comm`).

    Returns
    -------
    int
        The rank in ``comm`` (0 in a serial run).
    """
    return mpi_comm(comm).Get_rank()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; rename onto ``path`` on success.

    On error the temp file is removed and ``path`` is untouched (nothing half-written). The
    parent directory is created if missing.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.

    Yields
    ------
    pathlib.Path
        The temporary file to write to (same directory as ``path``).
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
    """Write ``text`` to ``path`` atomically (temp file + rename, see :func:`atomic_path`).

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its directory is created if missing.
    text : str
        The content.
    comm : mpi4py.MPI.Comm, optional
        The communicator of a collective write (default ``MPI.COMM_WORLD``).
    collective : bool
        Every rank of ``comm`` calls; rank 0 writes and every rank raises if it failed.

    Raises
    ------
    OSError
        On a rank other than 0 of a collective write, when rank 0 failed to write (rank 0 raises
        its own error).
    """
    def write():
        with atomic_path(path) as tmp:
            tmp.write_text(text)

    _on_rank0(write, comm, collective)


def _on_rank0(func, comm=None, collective: bool = False):
    """Run ``func`` here, or with ``collective=True`` on rank 0 only.

    Every rank then learns whether it failed and raises too (no rank is left waiting at a barrier).

    Returns
    -------
    object
        ``func()``'s result when not collective, else None.

    Raises
    ------
    OSError
        On the other ranks when rank 0 failed (rank 0 re-raises its own error).
    """
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
    """Write ``data`` as indented JSON, atomically (see :func:`write_text`).

    NumPy scalars and arrays and paths are converted (``tolist``, ``str``).

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    data : object
        Anything :func:`json.dumps` takes, plus NumPy values and paths.
    comm : mpi4py.MPI.Comm, optional
        The communicator of a collective write.
    collective : bool
        Every rank calls; rank 0 writes.
    """
    write_text(path, json.dumps(data, indent=2, default=_default) + "\n", comm, collective)


def write_structure(path, atoms, format: str | None = None, comm=None, collective: bool = False,
                    **kwargs) -> None:
    """Write ``atoms`` (or a list of Atoms) with ASE, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    atoms : ase.Atoms or list of ase.Atoms
        The structure(s); positions in Å.
    format : str, optional
        An ASE format name; default :func:`guess_format` of ``path``. ``.data``/``.lmp`` mean
        LAMMPS data with dealloy's type order (1 = Li, 2 = Si) and masses; a structure without a
        full cell gets its bounding box plus 5 Å vacuum on every side.
    comm : mpi4py.MPI.Comm, optional
        The communicator of a collective write.
    collective : bool
        Every rank calls; rank 0 writes.
    **kwargs
        Passed to :func:`ase.io.write`.
    """
    import ase.io

    path = Path(path)
    if format is None:
        format = guess_format(path)
    if format == "lammps-data":

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
    """Guess the ASE format of a structure file.

    Parameters
    ----------
    path : str or os.PathLike
        The file; its suffix decides (``.data``/``.lmp``/``.lammps`` = LAMMPS data, ``.xyz`` =
        extxyz, ``.lammpstrj[.gz]``/``.dump[.gz]`` = LAMMPS text dump), else ASE's guess from
        the name and, if the file exists, its content.

    Returns
    -------
    str or None
        The ASE format name.

    Raises
    ------
    ConfigError
        When ASE cannot tell the format.
    """
    from ase.io.formats import UnknownFileTypeError, filetype

    name = Path(path).name.lower()
    if name.endswith((".data", ".lmp", ".lammps")):
        return "lammps-data"
    if name.endswith((".xyz", ".extxyz")):
        return "extxyz"
    if name.endswith((".lammpstrj", ".lammpstrj.gz", ".dump", ".dump.gz")):
        return "lammps-dump-text"
    try:
        # a str, not a Path: ASE peeks into the file with .read() only on str names
        return filetype(str(path), read=Path(path).is_file(), guess=True)
    except (UnknownFileTypeError, OSError, ValueError, AttributeError):

        raise ConfigError(f"cannot tell the file format of {path}: use a known suffix "
                          "(.extxyz, .xyz, .data, .lammpstrj, .cif, .vasp, ...)") from None


#: where a structure file names no element (a LAMMPS data file without Masses, labels or comments;
#: a dump with only a ``type`` column) dealloy's convention applies: LAMMPS type 1 = Li, 2 = Si
TYPE_CONVENTION = "LAMMPS types 1 = Li, 2 = Si"


def species_assumed_note(path) -> str:
    """Write the note that a file's species were assumed by :data:`TYPE_CONVENTION`.

    Parameters
    ----------
    path : str or os.PathLike
        The structure file (its name is quoted).

    Returns
    -------
    str
        One line.
    """
    return (f"{Path(path).name}: the file names no elements; species ASSUMED by dealloy's "
            "convention "
            f"({TYPE_CONVENTION}); give Masses or element names if that is wrong")


def read_structure(path, index=-1, format: str | None = None):
    """Read a structure with ASE on the calling rank only (no hidden MPI broadcast).

    Any format ASE reads is accepted (the format is guessed from the suffix, else from the
    content). Species come from what the file says: for a LAMMPS data file the ``Atom Type
    Labels``, element names in the ``Masses`` comments (``1 28.085 # Si``), else the masses;
    the atom style (``atomic``, ``charge``, ``full``, ...) from the ``Atoms # style`` comment,
    else from the number of columns. Only when a file names no element at all does the
    convention :data:`TYPE_CONVENTION` apply, and then ``atoms.info["species_source"]`` says so
    and a warning is issued. ``atoms.info["species_source"]`` always names the source.

    Parameters
    ----------
    path : str or os.PathLike
        The structure file.
    index : int, slice or str
        Which frame(s), as :func:`ase.io.read` takes it (default the last).
    format : str, optional
        An ASE format name; default :func:`guess_format`.

    Returns
    -------
    ase.Atoms or list of ase.Atoms
        One structure for an integer ``index``, else a list; positions in Å.

    Raises
    ------
    ConfigError
        One line naming the file and the reason when it is missing or unreadable.
    """
    import ase.io


    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"structure file not found: {path} (check the path)")
    if path.stat().st_size == 0:
        raise ConfigError(f"cannot read structure file {path}: the file is empty")
    if format is None:
        format = guess_format(path)
    kwargs: dict = {}
    source = None
    if format == "lammps-data":
        header = _lammps_data_header(path)
        kwargs.update(atom_style=header["atom_style"], Z_of_type=header["Z_of_type"])
        source = header["species_source"]
    elif format == "lammps-dump-text":
        columns = _dump_columns(path)
        kwargs.update(order=True)
        if "element" in columns:
            source = "element column"
        elif "mass" in columns:
            source = "mass column"
        else:  # ASE would make type 1 hydrogen: apply (and say) the convention instead

            kwargs.update(specorder=list(ELEMENTS))
            source = f"ASSUMED: {TYPE_CONVENTION} (the dump has only a type column)"
    try:
        # ASE's readers take a file name (a PosixPath breaks some, e.g. the CIF reader)
        try:
            out = ase.io.read(str(path), index=index, format=format, parallel=False, **kwargs)
        except Exception:
            if format != "lammps-data" or not kwargs.get("atom_style"):
                raise
            # ASE reads the atomic, charge, full, bond/angle/molecular styles; OVITO many more
            # (sphere, dipole, hybrid, ...): try it before giving up
            out = _read_lammps_data_ovito(path, kwargs["atom_style"], kwargs["Z_of_type"])
    except Exception as exc:  # ASE raises many kinds; give one clear line
        from ase.io.formats import UnknownFileTypeError

        if isinstance(exc, UnknownFileTypeError):
            reason = ("not a structure format ASE reads (use .extxyz, .data, .cif, .vasp, "
                      ".lammpstrj, ...)")
        elif isinstance(exc, (StopIteration, EOFError)):
            reason = "the file ends before a complete structure"
        else:
            text = str(exc).strip()
            reason = f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
        raise ConfigError(f"cannot read structure file {path} (format {format}): "
                          f"{reason}") from None
    frames = out if isinstance(out, list) else [out]
    if not frames:
        raise ConfigError(f"cannot read structure file {path}: it holds no structure")
    for atoms in frames:
        atoms.info["species_source"] = source or _species_source(format)
    if source and source.startswith("ASSUMED"):
        warnings.warn(species_assumed_note(path), stacklevel=2)
    return out


def _read_lammps_data_ovito(path, atom_style: str, z_of_type: dict | None):
    """Read a LAMMPS data file of an atom style ASE does not read, through OVITO's reader.

    Species come from ``z_of_type`` (the header's decision), else OVITO's type names (Masses
    comments, type labels), else the masses.

    Returns
    -------
    ase.Atoms
        The structure.

    Raises
    ------
    ValueError
        When an atom type has no element, label or mass.
    """
    from ase import Atoms
    from ase.data import atomic_masses, atomic_numbers
    from ovito.io import import_file

    data = import_file(str(path), atom_style=atom_style).compute()
    parts = data.particles
    types = np.asarray(parts.particle_types)
    z = {}
    for t in parts.particle_types.types:
        if z_of_type and t.id in z_of_type:
            z[t.id] = z_of_type[t.id]
        elif t.name in atomic_numbers:
            z[t.id] = atomic_numbers[t.name]
        elif t.mass:
            z[t.id] = int(np.argmin(np.abs(np.asarray(atomic_masses) - t.mass)))
        else:
            raise ValueError(f"atom type {t.id} has no element, label or mass")
    mat = np.asarray(data.cell[...], float)
    return Atoms(numbers=[z[int(t)] for t in types],
                 positions=np.asarray(parts.positions, float) - mat[:, 3],
                 cell=mat[:, :3].T, pbc=tuple(bool(p) for p in data.cell.pbc))


def _dump_columns(path) -> list[str]:
    """Per-atom column names of a LAMMPS text dump's first frame (plain or gzipped)."""
    import gzip

    opener = gzip.open if str(path).lower().endswith(".gz") else open
    try:
        with opener(path, "rt", errors="replace") as fh:
            for _, line in zip(range(100000), fh):
                if line.startswith("ITEM: ATOMS"):
                    return line.split()[2:]
    except (OSError, EOFError):
        pass
    return []


def _species_source(format: str | None) -> str:
    return {"lammps-dump-text": "dump columns"}.get(format or "", f"element symbols ({format})")


_STYLE_BY_FIELDS = {5: "atomic", 8: "atomic", 7: "full", 10: "full"}


def _lammps_data_header(path) -> dict:
    """Atom style and type -> element map of a LAMMPS data file, from what its header says.

    Returns
    -------
    dict
        ``atom_style`` (None lets ASE read the ``Atoms # style`` comment), ``Z_of_type`` (None lets
        ASE use type labels or masses) and ``species_source`` (a short phrase; starts with
        ``ASSUMED`` when the file names no element).

    Raises
    ------
    ConfigError
        When a Masses comment names an element whose mass differs from the given mass by > 1 amu.
    """
    from ase.data import atomic_masses, atomic_numbers


    masses: dict[int, float] = {}
    named: dict[int, str] = {}
    labels = False
    style = None
    first_atom_fields = None
    section = None
    with open(path, errors="replace") as fh:
        next(fh, None)  # the first line is a free comment
        for line in fh:
            text, _, comment = line.partition("#")
            fields = text.split()
            if not fields:
                continue
            head = " ".join(fields)
            if head in ("Masses", "Atoms", "Atom Type Labels") or (
                    fields[0][0].isalpha() and head.endswith(("Coeffs", "Labels", "Velocities",
                                                              "Bonds", "Angles", "Dihedrals",
                                                              "Impropers"))):
                section = head
                if head == "Atoms" and comment.strip():
                    style = comment.split()[0]
                if head == "Atom Type Labels":
                    labels = True
                continue
            if section == "Masses" and len(fields) >= 2:
                try:
                    t, m = int(fields[0]), float(fields[1])
                except ValueError:
                    continue
                masses[t] = m
                word = comment.split()[0] if comment.split() else ""
                if word in atomic_numbers:
                    named[t] = word
            elif section == "Atoms":
                first_atom_fields = fields
                break
    if style is None and first_atom_fields is not None:
        n = len(first_atom_fields)
        style = _STYLE_BY_FIELDS.get(n)
        if n in (6, 9):  # charge (id type q x y z) or molecular (id mol type x y z)
            style = "molecular" if _is_int(first_atom_fields[2]) else "charge"
    if labels:
        return {"atom_style": style, "Z_of_type": None, "species_source": "Atom Type Labels"}
    if named:
        for t, sym in named.items():
            m = masses.get(t)
            if m is not None and abs(m - atomic_masses[atomic_numbers[sym]]) > 1.0:
                raise ConfigError(f"{path}: Masses type {t} says {m:g} amu but its comment names "
                                  f"{sym} ({atomic_masses[atomic_numbers[sym]]:.3f} amu); fix "
                                  "the mass or the comment")
        if set(named) >= set(masses):
            return {"atom_style": style,
                    "Z_of_type": {t: atomic_numbers[s] for t, s in named.items()},
                    "species_source": "Masses comments"}
    if masses:
        return {"atom_style": style, "Z_of_type": None, "species_source": "Masses"}
    return {"atom_style": style,
            "Z_of_type": {i + 1: atomic_numbers[s] for i, s in enumerate(ELEMENTS)},
            "species_source": f"ASSUMED: {TYPE_CONVENTION} (no Masses, labels or comments)"}


def _is_int(word: str) -> bool:
    try:
        int(word)
    except ValueError:
        return False
    return True


def _Z(symbol: str) -> int:
    from ase.data import atomic_numbers

    return atomic_numbers[symbol]


def file_sha256(path) -> str:
    """Compute the sha256 checksum of a file (read in 1 MiB chunks).

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    str
        The hex digest.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

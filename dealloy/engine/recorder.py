"""What a run writes while it runs: thermo.csv, events.csv, run.json and the trajectory.

Rank 0 writes; every rank calls (the methods are no-ops elsewhere). The CSV files are append-only
logs flushed per row; their byte lengths are stored in each checkpoint so ``--resume`` can cut
away the rows written after the checkpoint it restarts from (a run killed with SIGKILL and
resumed has no duplicated or orphaned rows). The trajectory is a LAMMPS dump (gzip when the build
has it); on resume the frames up to the checkpoint are kept and the continuation is merged in,
so the file stays one valid stream.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from pathlib import Path

from dealloy import __version__
from dealloy.io import atomic_path

THERMO_COLUMNS = ["time_ps", "temperature_k", "pe_ev", "n_atoms", "n_li", "n_si", "x", "stage"]
EVENT_COLUMNS = ["time_ps", "stage", "event", "id", "species", "x", "y", "z"]


class CsvLog:
    """An append-only CSV with a header, truncatable to a byte offset (rank 0 only).

    Parameters
    ----------
    path : pathlib.Path
        The file.
    columns : list of str
        Header (e.g. :data:`THERMO_COLUMNS`, :data:`EVENT_COLUMNS`).
    active : bool
        Whether this rank writes (rank 0); elsewhere every method is a no-op.
    """

    def __init__(self, path: Path, columns: list[str], active: bool):
        self.path = Path(path)
        self.columns = columns
        self.active = active
        self._fh = None

    def open(self, truncate_to: int | None = None) -> None:
        """Open a fresh file with its header, or continue an existing one cut at a byte offset.

        Parameters
        ----------
        truncate_to : int, optional
            Byte length to cut an existing file to before appending (a checkpoint's); None (or
            no file yet) starts a fresh file.
        """
        if not self.active:
            return
        if truncate_to is None or not self.path.exists():
            self._fh = open(self.path, "w", newline="")
            self._fh.write(",".join(self.columns) + "\n")
            self._fh.flush()
        else:
            with open(self.path, "r+b") as fh:
                fh.truncate(truncate_to)
            self._fh = open(self.path, "a", newline="")

    def rows(self, rows) -> None:
        """Append rows and flush them (no-op off rank 0).

        Parameters
        ----------
        rows : iterable of tuple
            One value per column; floats are written with 6 significant digits (8 from 1e5).
        """
        if not self.active or not rows:
            return
        buf = io.StringIO()
        for row in rows:
            buf.write(",".join(_fmt(v) for v in row) + "\n")
        self._fh.write(buf.getvalue())
        self._fh.flush()

    def tell(self) -> int:
        """Return the file's byte length after a flush (0 off rank 0): what a checkpoint stores."""
        if not self.active or self._fh is None:
            return 0
        self._fh.flush()
        return self._fh.tell()

    def fsync(self) -> None:
        """Flush and fsync the file, so a checkpoint's byte length is on disk."""
        if self.active and self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}" if abs(v) < 1e5 else f"{v:.8g}"
    return str(v)


# ---- trajectory -------------------------------------------------------------------------
def _read_tolerant(path: Path) -> str:
    """Text of a dump file; a gzip stream cut off by a kill is read up to where it ends."""
    if not path.exists():
        return ""
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw.decode(errors="replace")
    out = []
    while raw:
        d = zlib.decompressobj(wbits=31)
        try:
            out.append(d.decompress(raw))
        except zlib.error:
            break
        raw = d.unused_data if d.eof else b""
    return b"".join(out).decode(errors="replace")


def complete_frames(text: str):
    """Yield every complete frame of a LAMMPS text dump; stop at the first incomplete one.

    Parameters
    ----------
    text : str
        The dump's text (frames may start with ``ITEM: TIME``, ``dump_modify time yes``).

    Yields
    ------
    tuple of (int, str)
        The frame's timestep and its text, ending with a newline.
    """
    lines = text.splitlines(keepends=True)
    i, n = 0, len(lines)
    while i < n:
        start = i
        if lines[i].strip() == "ITEM: TIME":  # dump_modify time yes: TIME precedes TIMESTEP
            i += 2
        if i >= n or not lines[i].startswith("ITEM: TIMESTEP"):
            i = start + 1
            continue
        try:
            step = int(lines[i + 1])
            j = i + 2
            while not lines[j].startswith("ITEM: NUMBER OF ATOMS"):
                j += 1
            natoms = int(lines[j + 1])
            while not lines[j].startswith("ITEM: ATOMS"):
                j += 1
            end = j + 1 + natoms
            if end > n or not all(ln.endswith("\n") for ln in lines[end - 1:end]):
                return
        except (IndexError, ValueError):
            return
        yield step, "".join(lines[start:end])
        i = end


def merge_trajectory(traj: Path, part: Path | None, max_step: int | None) -> int:
    """Rewrite ``traj`` to hold its own frames, then ``part``'s later ones, up to ``max_step``.

    A frame whose timestep is not above the last one kept is dropped; a gzip stream cut off by a
    kill is read up to where it ends. Written atomically (temp file + rename); ``part`` is
    deleted afterwards.

    Parameters
    ----------
    traj : pathlib.Path
        The trajectory (``.lammpstrj`` or ``.lammpstrj.gz``; gzip-compressed when so named).
    part : pathlib.Path or None
        The continuation written after a resume (None: only ``traj`` is cut).
    max_step : int or None
        Last LAMMPS timestep to keep (None: all).

    Returns
    -------
    int
        The number of frames kept.
    """
    frames = []
    last = None
    for src in (traj, part):
        if src is None:
            continue
        for step, text in complete_frames(_read_tolerant(Path(src))):
            if max_step is not None and step > max_step:
                break
            if last is not None and step <= last:
                continue
            frames.append(text)
            last = step
    gz = traj.name.endswith(".gz")
    with atomic_path(traj) as tmp:
        if gz:
            with gzip.open(tmp, "wt", compresslevel=6) as fh:
                fh.writelines(frames)
        else:
            tmp.write_text("".join(frames))
    if part is not None and Path(part).exists():
        Path(part).unlink()
    return len(frames)


def final_structure_info(time_ps: float, n_li: int, n_si: int, potential: str, seed: int,
                         temperature_k: float, n_removed: int, n_inserted: int,
                         builder: str | None = None) -> dict:
    """Describe the final structure for ``final.extxyz``'s ``info``, so it stands without run.json.

    Parameters
    ----------
    time_ps : float
        Simulated time at the end, ps.
    n_li, n_si : int
        Li and Si atoms at the end.
    potential : str
        Registry name of the potential.
    seed : int
        The run's seed.
    temperature_k : float
        The run's temperature, K.
    n_removed, n_inserted : int
        Li removed and inserted over the run.
    builder : str, optional
        Builder of the starting particle (None: read from a file).

    Returns
    -------
    dict
        ``time_ps``, ``x`` (Li/Si; NaN without Si), ``n_li``, ``n_si``, ``potential``, ``seed``,
        ``temperature_k``, ``li_removed``, ``li_inserted``, ``dealloy_version`` and, if built,
        ``builder``.
    """
    info = {"time_ps": round(float(time_ps), 6),
            "x": round(n_li / n_si, 6) if n_si else float("nan"),
            "n_li": int(n_li), "n_si": int(n_si), "potential": str(potential), "seed": int(seed),
            "temperature_k": float(temperature_k), "li_removed": int(n_removed),
            "li_inserted": int(n_inserted), "dealloy_version": __version__}
    if builder:
        info["builder"] = str(builder)
    return info

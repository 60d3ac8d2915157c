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
    """An append-only CSV with a header, truncatable to a byte offset (rank 0 only)."""

    def __init__(self, path: Path, columns: list[str], active: bool):
        self.path = Path(path)
        self.columns = columns
        self.active = active
        self._fh = None

    def open(self, truncate_to: int | None = None) -> None:
        """Fresh file (``truncate_to`` None) or continue an existing one cut at ``truncate_to``."""
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
        if not self.active or not rows:
            return
        buf = io.StringIO()
        for row in rows:
            buf.write(",".join(_fmt(v) for v in row) + "\n")
        self._fh.write(buf.getvalue())
        self._fh.flush()

    def tell(self) -> int:
        if not self.active or self._fh is None:
            return 0
        self._fh.flush()
        return self._fh.tell()

    def fsync(self) -> None:
        if self.active and self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
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
    """(timestep, frame_text) for every complete frame of a LAMMPS text dump."""
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
    """Rewrite ``traj`` to hold its own frames then ``part``'s later ones, up to ``max_step``.

    Returns the number of frames kept. ``part`` is deleted afterwards. Written atomically.
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
    """``info`` of ``final.extxyz``: what the structure is without run.json beside it.

    Returns ``time_ps`` (simulated time at the end), ``x`` (Li/Si), ``n_li``, ``n_si``,
    ``potential``, ``seed``, ``temperature_k``, ``li_removed``, ``li_inserted``, ``builder`` (of
    the starting particle, if built) and ``dealloy_version``.
    """

    info = {"time_ps": round(float(time_ps), 6),
            "x": round(n_li / n_si, 6) if n_si else float("nan"),
            "n_li": int(n_li), "n_si": int(n_si), "potential": str(potential), "seed": int(seed),
            "temperature_k": float(temperature_k), "li_removed": int(n_removed),
            "li_inserted": int(n_inserted), "dealloy_version": __version__}
    if builder:
        info["builder"] = str(builder)
    return info

"""Read frames of structure files, trajectories and run directories; the Li MSD.

Reading frames (structure files, trajectories, run directories), frame selection, and the Li
mean-squared displacement.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import tidynamics
from ase.io.formats import string2index

from dealloy.analysis.frame import Frame, _from_ase, _from_ovito_data, check_frame
from dealloy.errors import ConfigError
from dealloy.io import guess_format, read_structure
from dealloy.periodicity import unwrap  # the one unwrap (any cell); also imported from here
from dealloy.rundir import RunDir
from dealloy.config import load_toml

#: formats read with OVITO (lazily, frame by frame); every other format goes through ASE
OVITO_FORMATS = ("lammps-dump-text",)


def resolve_source(path) -> tuple[Path, Path | None]:
    """Find the structure or trajectory file for a path the user gave.

    Parameters
    ----------
    path : str or os.PathLike
        A structure/trajectory file, or a run directory of ``dealloy run`` (its trajectory, else
        its ``final.extxyz``).

    Returns
    -------
    file : pathlib.Path
        The file to read.
    run_dir : pathlib.Path or None
        The run directory, if ``path`` is one.

    Raises
    ------
    ConfigError
        For a missing or empty file, or a directory without a trajectory or final structure.
    """
    path = Path(path)
    if path.is_dir():
        run = RunDir(path)
        for cand in (run.trajectory, run.path / "traj.lammpstrj", run.final_structure):
            if cand.is_file():
                return cand, path
        raise ConfigError(f"{path} is a directory without a trajectory or final.extxyz "
                          "(give a run directory of `dealloy run` or a structure file)")
    if not path.exists():
        raise ConfigError(f"file not found: {path} (check the path)")
    if path.stat().st_size == 0:
        raise ConfigError(f"{path} is empty (no frames to analyse)")
    return path, None


def _is_ase(path: Path) -> bool:

    return guess_format(path) not in OVITO_FORMATS


def _text_chunks(path: Path, size: int = 1 << 22):
    """Yield the (decompressed) bytes of a plain or gzipped file chunk by chunk.

    A gzip stream cut short yields everything up to the cut and then ``None`` (no data is lost to
    the error).

    Yields
    ------
    bytes or None
        The next chunk; None once after the last good byte of a cut stream.
    """
    import zlib

    gz = path.name.lower().endswith(".gz")
    with open(path, "rb") as fh:
        if not gz:
            while chunk := fh.read(size):
                yield chunk
            return
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        in_member = False  # True once the current gzip member has been fed bytes
        while raw := fh.read(size):
            while raw:
                in_member = True
                try:
                    out = d.decompress(raw)
                except zlib.error:
                    yield None
                    return
                if out:
                    yield out
                raw = b""
                if d.eof:  # a multi-member gzip: the next member starts in unused_data
                    raw, in_member = d.unused_data, False
                    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        if in_member and not d.eof:
            tail = d.flush()
            if tail:
                yield tail
            yield None  # the stream ended before its end-of-stream marker


def scan_dump(path) -> dict:
    """Count the complete frames of a LAMMPS text dump (plain or gzipped) in one pass.

    Parameters
    ----------
    path : str or os.PathLike
        The dump (``.gz`` for gzip).

    Returns
    -------
    dict
        ``started`` (frames begun), ``complete`` (frames complete), ``cut`` (True when the file,
        or its gzip stream, ends inside a frame) and ``complete_bytes`` (length of the
        decompressed text holding the complete frames).

    Raises
    ------
    ConfigError
        When the file does not begin with ``ITEM:`` (not a LAMMPS text dump).
    """
    path = Path(path)
    marker, started, consumed, pending, in_frame = None, 0, 0, b"", False
    last_start = 0  # offset of the last frame's first line in the decompressed text
    stream_cut = False
    for chunk in _text_chunks(path):
        if chunk is None:
            stream_cut = True
            break
        if marker is None:  # every frame begins with the line the file begins with
            first = chunk.split(b"\n", 1)[0].rstrip(b"\r")
            if not first.startswith(b"ITEM:"):
                raise ConfigError(f"{path} is not a LAMMPS text dump (it does not begin with "
                                  "'ITEM:')")
            marker = first + b"\n"
        base = consumed - len(pending)
        data = pending + chunk
        consumed += len(chunk)
        pos = data.find(marker, 1 if in_frame else 0)
        last = None
        while pos != -1:
            started += 1
            last = pos
            pos = data.find(marker, pos + 1)
        if last is not None:
            pending, in_frame, last_start = data[last:], True, base + last
        elif in_frame:
            pending = data
        else:
            pending = data[-(len(marker) - 1):]
    complete_last = in_frame and _dump_frame_complete(pending)
    complete = started if complete_last else max(started - 1, 0)
    cut = stream_cut or (started > 0 and not complete_last)
    return {"started": started, "complete": complete, "cut": cut,
            "complete_bytes": consumed if complete_last else last_start}


def _dump_frame_complete(text: bytes) -> bool:
    lines = text.decode(errors="replace").split("\n")
    try:
        k = next(i for i, ln in enumerate(lines) if ln.startswith("ITEM: NUMBER OF ATOMS"))
        n = int(lines[k + 1])
        a = next(i for i, ln in enumerate(lines) if ln.startswith("ITEM: ATOMS"))
    except (StopIteration, IndexError, ValueError):
        return False
    ncol = len(lines[a].split()) - 2
    rows = [ln for ln in lines[a + 1:] if ln.strip()]
    if len(rows) < n:
        return False
    # the n-th row must be whole: all columns, and a newline after it (or more text)
    return len(rows[n - 1].split()) == ncol and (len(rows) > n or text.endswith(b"\n"))


def _complete_copy(path: Path, n_bytes: int, tmpdir: Path) -> Path:
    """Copy the first ``n_bytes`` of the (decompressed) dump to a plain file in ``tmpdir``.

    Returns
    -------
    pathlib.Path
        The copy.
    """
    out = tmpdir / (path.name[:-3] if path.name.lower().endswith(".gz") else path.name)
    left = n_bytes
    with open(out, "wb") as dst:
        for chunk in _text_chunks(path):
            if chunk is None or left <= 0:
                break
            dst.write(chunk[:left])
            left -= len(chunk[:left])
    return out


class FrameSource:
    """Frames of one file, read lazily: ``len(src)``, ``src[i]`` -> Frame.

    Any format ASE reads is accepted (LAMMPS text dumps go through OVITO, frame by frame). A
    trajectory cut short (plain or gzipped, cut mid-frame) yields every complete frame; the
    warning saying so is issued once here and kept in ``self.warnings``. ``src[i]`` raises
    :class:`~dealloy.errors.ConfigError` when OVITO cannot read frame i.

    Parameters
    ----------
    path : str or os.PathLike
        A structure/trajectory file or a run directory (see :func:`resolve_source`).
    timestep_ps : float, optional
        MD timestep (ps) giving a dump's frames their time (Timestep x timestep) when the dump has
        no ``ITEM: TIME``; default: the run directory's ``config.toml``, else no time.

    Raises
    ------
    ConfigError
        For a missing, empty or unreadable file, or one without a complete frame.
    """

    def __init__(self, path, timestep_ps: float | None = None):
        self.path, run_dir = resolve_source(path)
        # LAMMPS dumps without ITEM: TIME: time = Timestep x the run's timestep (config.toml)
        self.timestep_ps = timestep_ps if timestep_ps is not None else _run_timestep_ps(run_dir)
        self._pipeline = None
        self._ase = None
        self._tmp = None
        self.warnings: list[str] = []
        if _is_ase(self.path):
            self._ase = self._read_ase()
            self.n = len(self._ase)
        else:
            self.n = self._open_dump()
        if self.n == 0:
            raise ConfigError(f"{self.path} contains no complete frame")
        for w in self.warnings:
            warnings.warn(w, stacklevel=2)

    def _read_ase(self) -> list:

        try:
            frames = read_structure(self.path, index=":")
            return frames if isinstance(frames, list) else [frames]
        except ConfigError as exc:
            frames = self._read_ase_until_error()
            if not frames:
                raise exc from None
            self.warnings.append(f"{self.path.name}: the file is cut short (job killed?): read "
                                 f"{len(frames)} complete frame(s); the incomplete tail was "
                                 "ignored")
            return frames

    def _read_ase_until_error(self) -> list:
        import ase.io


        frames = []
        try:
            for atoms in ase.io.iread(str(self.path), index=":", format=guess_format(self.path),
                                      parallel=False):
                frames.append(atoms)
        except Exception:  # the incomplete frame: keep what came before it
            pass
        for atoms in frames:
            atoms.info.setdefault("species_source", "element symbols")
        return frames

    def _open_dump(self) -> int:
        import tempfile

        from ovito.io import import_file

        scan = scan_dump(self.path)
        target = self.path
        if scan["cut"]:
            if scan["complete"] == 0:
                raise ConfigError(f"{self.path} is cut short before its first frame is complete "
                                  "(no frame to analyse)")
            self._tmp = tempfile.TemporaryDirectory(prefix="dealloy-cut-")
            target = _complete_copy(self.path, scan["complete_bytes"], Path(self._tmp.name))
            self.warnings.append(f"{self.path.name}: the trajectory is cut short (the file ends "
                                 f"inside frame {scan['complete'] + 1}): read {scan['complete']} "
                                 "complete frame(s); the incomplete tail was ignored")
        try:
            self._pipeline = import_file(str(target), multiple_frames=True)
            n = self._pipeline.source.num_frames
        except Exception as exc:  # OVITO raises RuntimeError with its own text
            raise ConfigError(f"cannot read {self.path}: {exc}") from exc
        if n != scan["complete"]:
            raise ConfigError(f"cannot read {self.path}: OVITO reads {n} frame(s) where the file "
                              f"holds {scan['complete']} complete one(s)")
        return n

    def __len__(self) -> int:
        """Return the number of complete frames."""
        return self.n

    def __getitem__(self, i: int) -> Frame:
        """Read frame ``i`` (0-based; negative counts from the end for ASE-read files)."""
        if self._ase is not None:
            f = _from_ase(self._ase[i])
        else:
            try:
                data = self._pipeline.compute(i)
            except Exception as exc:
                raise ConfigError(f"cannot read frame {i} of {self.path}: {exc}") from exc
            f = _from_ovito_data(data)
            step = data.attributes.get("Timestep")
            f.info["timestep"] = step
            if f.time_ps is None and step is not None and self.timestep_ps:
                f.time_ps = float(step) * self.timestep_ps
            if "Periodic Image" in data.particles:
                img = np.asarray(data.particles["Periodic Image"], float)
                f.info["unwrapped"] = f.positions + img @ f.cell
        f.info["source"] = self.path.name
        return f


def _run_timestep_ps(run_dir) -> float | None:
    if run_dir is None:
        return None

    cfg = RunDir(run_dir).config
    if not cfg.is_file():
        return None
    try:
        dt = load_toml(cfg).get("timestep_ps")
        return float(dt) if dt else None
    except Exception:  # an unreadable config only costs the time axis
        return None


def parse_selection(sel: str | None, n: int) -> list[int]:
    """Frame indices of a selection string.

    Parameters
    ----------
    sel : str or None
        ``all`` (or None, empty, ``:``), ``-1`` (last), ``5``, ``0,3,7``, ``start:stop[:step]``,
        or a comma-separated mix; each part is read by ASE's ``string2index`` (the grammar of
        ``ase.io.read(..., index=...)``).
    n : int
        Number of frames in the file.

    Returns
    -------
    list of int
        Non-negative frame indices in selection order (repeats kept).

    Raises
    ------
    ConfigError
        A part that does not parse, an index out of range, or a slice that selects no frame.
    """
    if sel is None or str(sel).strip().lower() in ("", "all", ":"):
        return list(range(n))
    out: list[int] = []
    for part in str(sel).split(","):
        part = part.strip()
        try:
            idx = string2index(part) if part else part
        except (ValueError, TypeError):
            idx = part
        if isinstance(idx, slice):
            picked = list(range(n))[idx]
            if not picked:
                raise ConfigError(f"frame selection '{part}' selects no frame (the file has {n} "
                                  f"frame(s), 0..{n - 1})")
            out.extend(picked)
        elif isinstance(idx, int):
            if not -n <= idx < n:
                raise ConfigError(f"frame {idx} is out of range: the file has {n} frame(s) "
                                  f"(valid 0..{n - 1} or -1 for the last)")
            out.append(idx % n)
        else:
            raise ConfigError(f"cannot parse frame selection '{part}' (use all, -1, 5, 0,3,7, "
                              "or start:stop:step)")
    return out


def read_frames(path, selection: str | None = "all") -> list[Frame]:
    """Read the selected frames of a file or run directory.

    Parameters
    ----------
    path : str or os.PathLike
        A structure/trajectory file or a run directory (see :func:`resolve_source`).
    selection : str or None
        Frame selection (see :func:`parse_selection`); default all.

    Returns
    -------
    list of dealloy.analysis.frame.Frame
        In selection order; ``info["frame"]`` holds each one's index in the file. Positions in Å,
        times in ps (None when unknown).

    Raises
    ------
    ConfigError
        For an unreadable file, a bad selection, or a frame :func:`~dealloy.analysis.frame.check_frame`
        refuses (no Si, other elements).
    """
    src = FrameSource(path)
    frames = []
    for i in parse_selection(selection, len(src)):
        f = src[i]
        f.info["frame"] = i
        check_frame(f)
        frames.append(f)
    return frames


def iter_frames(path, selection: str | None = "all") -> Iterator[tuple[int, Frame]]:
    """Read the selected frames of a file or run directory one at a time (as :func:`read_frames`).

    Parameters
    ----------
    path : str or os.PathLike
        A structure/trajectory file or a run directory.
    selection : str or None
        Frame selection (see :func:`parse_selection`); default all.

    Yields
    ------
    tuple of (int, dealloy.analysis.frame.Frame)
        The frame's index in the file and the frame.

    Raises
    ------
    ConfigError
        As :func:`read_frames`.
    """
    src = FrameSource(path)
    for i in parse_selection(selection, len(src)):
        f = src[i]
        f.info["frame"] = i
        check_frame(f)
        yield i, f


# ---- mean-squared displacement -------------------------------------------------------------

@dataclass
class MSDResult:
    """A mean-squared displacement and the diffusion coefficient fitted to it (:func:`msd`).

    Parameters
    ----------
    lag_ps : numpy.ndarray, shape (T-1,)
        Lag times (ps).
    msd_angstrom2 : numpy.ndarray, shape (T-1,)
        MSD at each lag (Å²).
    diffusion_cm2_per_s : float
        D = slope / 6 (cm²/s).
    diffusion_stderr_cm2_per_s : float
        Its uncertainty (cm²/s).
    fit_window_ps : tuple of float
        First and last lag of the fit (ps).
    n_atoms : int
        Atoms averaged over.
    """

    lag_ps: np.ndarray
    msd_angstrom2: np.ndarray
    diffusion_cm2_per_s: float
    diffusion_stderr_cm2_per_s: float
    fit_window_ps: tuple[float, float]
    n_atoms: int

    def as_dict(self) -> dict:
        """Summarise as a JSON-ready dict.

        Returns
        -------
        dict
            ``diffusion_cm2_per_s``, ``diffusion_stderr_cm2_per_s``, ``fit_window_ps`` (list) and
            ``n_atoms`` (the curve itself is left out).
        """
        return {"diffusion_cm2_per_s": self.diffusion_cm2_per_s,
                "diffusion_stderr_cm2_per_s": self.diffusion_stderr_cm2_per_s,
                "fit_window_ps": list(self.fit_window_ps), "n_atoms": self.n_atoms}


def evenly_spaced_subset(times_ps) -> np.ndarray:
    """Find the longest run of consecutive frames on the grid of the median spacing.

    A run's trajectory has its first frame before the equilibration grid (minimisation) and its
    last at the end of the run, off the dump grid; a resumed run may add one more. Those are left
    out; the frames in between are evenly spaced.

    Parameters
    ----------
    times_ps : array_like, shape (T,)
        Frame times (ps), increasing.

    Returns
    -------
    numpy.ndarray of int
        Indices of the frames of that run.
    """
    t = np.asarray(times_ps, float)
    if len(t) < 2:
        return np.arange(len(t))
    step = float(np.median(np.diff(t)))
    if step <= 0:
        return np.arange(min(len(t), 1))
    best, cur = [0], [0]
    for i in range(1, len(t)):
        if abs((t[i] - t[cur[-1]]) / step - 1.0) < 1e-3:
            cur.append(i)
        else:
            cur = [i]
        if len(cur) > len(best):
            best = list(cur)
    return np.array(best)


def msd(times_ps, positions, fit_window=(0.2, 0.8)) -> MSDResult:
    """Compute the MSD over all time origins and D = slope / 6 from a least-squares line.

    For evenly spaced frames; the line is fitted over ``fit_window`` (fractions of the longest
    lag). Uncertainty: the larger of the slope's standard error and half the difference between
    the two halves of the window.

    Parameters
    ----------
    times_ps : array_like, shape (T,)
        Frame times (ps), T >= 4; uneven spacing keeps the largest evenly spaced subset (warns).
    positions : array_like, shape (T, N, 3)
        Unwrapped positions (Å) of the same N atoms in every frame.
    fit_window : (float, float)
        Fit range as fractions of the longest lag (all lags if it holds fewer than 3).

    Returns
    -------
    MSDResult
        ``lag_ps`` (T-1,), ``msd_angstrom2`` (T-1,), D and its uncertainty (cm²/s), the fitted
        lag range (ps) and N.

    Raises
    ------
    ConfigError
        Fewer than 4 (evenly spaced) frames.

    Notes
    -----
    MSD(lag) = <|r_i(t + lag) - r_i(t)|²> over atoms i and all origins t, by FFT
    (``tidynamics.msd``, the fast correlation algorithm of [1]_).

    References
    ----------
    .. [1] V. Calandrini, E. Pellegrini, P. Calligari, K. Hinsen, G. R. Kneller, "nMoldyn - Interfacing
    spectroscopic experiments, molecular dynamics simulations and models for time correlation
    functions", Collection SFN 12 (2011) 201-232, doi:10.1051/sfn/201112010.
    """
    t = np.asarray(times_ps, float)
    x = np.asarray(positions, float)
    nt = len(t)
    if nt < 4:
        raise ConfigError(f"MSD needs at least 4 frames (got {nt})")
    dt = np.diff(t)
    if not np.allclose(dt, dt[0], rtol=1e-3):
        keep = evenly_spaced_subset(t)
        if len(keep) < 4:
            raise ConfigError("MSD needs at least 4 evenly spaced frames (the frame times are "
                              f"{np.round(t, 3).tolist()[:8]}...)")
        warnings.warn(f"frames are not evenly spaced: the Li MSD uses the {len(keep)} of {nt} frames "
                      f"on a {np.median(dt):.3g} ps grid", stacklevel=2)
        t, x = t[keep], x[keep]
        nt, dt = len(t), np.diff(t)
    lags = np.arange(1, nt)
    # all time origins by FFT (tidynamics, float64; agrees with the direct sum over origins to
    # 1e-11 relative, O(T log T) instead of O(T^2)); displacements from the first frame, which
    # leaves the MSD unchanged and keeps the FFT's cancellation small
    m = tidynamics.msd((x - x[0]).reshape(nt, -1))[1:] / x.shape[1]
    lag_ps = lags * dt[0]
    lo, hi = fit_window
    sel = (lag_ps >= lo * lag_ps[-1]) & (lag_ps <= hi * lag_ps[-1])
    if sel.sum() < 3:
        sel = np.ones_like(lag_ps, bool)

    def fit(mask):
        A = np.vstack([lag_ps[mask], np.ones(mask.sum())]).T
        coef, res, *_ = np.linalg.lstsq(A, m[mask], rcond=None)
        n = mask.sum()
        resid = m[mask] - A @ coef
        s2 = resid @ resid / max(n - 2, 1)
        se = np.sqrt(s2 / np.sum((lag_ps[mask] - lag_ps[mask].mean()) ** 2))
        return coef[0], se

    slope, se = fit(sel)
    idx = np.flatnonzero(sel)
    half = len(idx) // 2
    spread = 0.0
    if half >= 3:
        a = np.zeros_like(sel)
        b = np.zeros_like(sel)
        a[idx[:half]] = True
        b[idx[half:]] = True
        spread = abs(fit(a)[0] - fit(b)[0]) / 2
    to_cm2_s = 1e-16 / 1e-12 / 6.0  # Å^2/ps -> cm^2/s, /6 for 3D
    return MSDResult(lag_ps, m, float(slope * to_cm2_s), float(max(se, spread) * to_cm2_s),
                     (float(lag_ps[idx[0]]), float(lag_ps[idx[-1]])), x.shape[1])


def li_msd(frames: list[Frame], fit_window=(0.2, 0.8)) -> MSDResult | None:
    """Compute the Li MSD over ``frames`` (:func:`msd`).

    The same Li atoms are followed in every frame, matched by id when the frames have ids; when
    Li are extracted between frames, only the Li present in every frame count (with a warning).
    Unwrapped positions (``info["unwrapped"]``, from image flags) are used when present, else a
    periodic frame is unwrapped by the minimum-image step.

    Parameters
    ----------
    frames : list of dealloy.analysis.frame.Frame
        Frames in time order, each with ``time_ps``.
    fit_window : tuple of float
        Fit range as fractions of the longest lag.

    Returns
    -------
    MSDResult or None
        None with fewer than 4 frames, a frame without a time, no Li common to all frames, or
        (without ids) a changing Li count.

    Raises
    ------
    ConfigError
        From :func:`msd`: fewer than 4 evenly spaced frames.
    """
    if len(frames) < 4 or any(f.time_ps is None for f in frames):
        return None
    ids0 = frames[0].ids
    ref_ids = None  # the first frame's sorted Li ids; every later frame must carry the same
    pos = []
    for f in frames:
        li = f.mask("Li")
        p = f.info.get("unwrapped", f.positions)[li]
        if ids0 is not None and f.ids is not None:
            order = np.argsort(f.ids[li])
            ids = f.ids[li][order]
            p = p[order]
            if ref_ids is not None and not np.array_equal(ids, ref_ids):
                common = np.intersect1d(ids, ref_ids)
                if len(common) == 0:
                    return None
                warnings.warn("Li atoms change between frames (extraction): MSD uses the Li "
                              "present in every frame", stacklevel=2)
                return _msd_common(frames, fit_window)
            if ref_ids is None:
                ref_ids = ids
        elif pos and len(p) != len(pos[0]):
            return None
        pos.append(p)
    unwrapped = "unwrapped" in frames[0].info
    cell = frames[0].cell if (frames[0].periodic and not unwrapped) else None
    return msd([f.time_ps for f in frames], unwrap(pos, cell), fit_window)


def _msd_common(frames, fit_window):
    sets = [set(f.ids[f.mask("Li")].tolist()) for f in frames]
    common = np.array(sorted(set.intersection(*sets)))
    if len(common) == 0:
        return None
    pos = []
    for f in frames:
        li = f.mask("Li")
        ids = f.ids[li]
        p = f.info.get("unwrapped", f.positions)[li]
        order = np.argsort(ids)
        k = np.searchsorted(ids[order], common)
        pos.append(p[order][k])
    unwrapped = "unwrapped" in frames[0].info
    cell = frames[0].cell if (frames[0].periodic and not unwrapped) else None
    return msd([f.time_ps for f in frames], unwrap(pos, cell), fit_window)

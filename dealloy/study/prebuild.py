"""Build each glass that several runs of a study share once, before the runs start.

A study asks for the same melt-quenched glass many times: every extraction mode of one seed, and
every particle cut from the same bulk cell. :mod:`dealloy.builders.cache` keeps a glass once it
is built, but runs that start at the same time (the tasks of a SLURM job array, ``dealloy study
run -j N``) would each build it before any of them has finished. So the runs to do are grouped by
the glass they need (:func:`dealloy.builders.shared.glass_args`), and each glass that two or more
of them need is built first, by ``dealloy study prebuild RUN_CONFIG`` (one per glass): on SLURM as
a job array that the array of those runs waits for (``--dependency=afterany``), locally as
tasks that run before them.
Runs that share no glass do not wait. The runs then find their glass in the cache
(``bulk_cache_hit`` in their particle's info).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from dealloy.builders.amorphous import amorphous_lisi
from dealloy.builders.cache import CACHE_ENV, cache_dir
from dealloy.builders.shared import glass_args, glass_id
from dealloy.config.run import load_run_config
from dealloy.errors import ConfigError
from dealloy.io import mpi_comm
from dealloy.study.plan import PlannedRun
from dealloy.study.state import has_checkpoint


@dataclass
class SharedGlass:
    """A glass that several runs of a study need.

    Parameters
    ----------
    glass : dict
        The :func:`~dealloy.builders.amorphous.amorphous_lisi` keyword arguments that build it.
    runs : list of dealloy.study.plan.PlannedRun
        The runs that need it, in plan order; the first one's config is handed to
        ``dealloy study prebuild``.
    """

    glass: dict
    runs: list = field(default_factory=list)

    @property
    def leader(self) -> PlannedRun:
        """The run whose config names the glass to the prebuild task (the first in plan order)."""
        return self.runs[0]

    def label(self) -> str:
        """Describe the glass, e.g. ``a-Li3.75Si, 128 Si, seed 2, standard, meam-godet2020``."""
        g = self.glass
        return (f"a-Li{g['x']:g}Si, {g['n_si']} Si, seed {g['seed']}, {g['protocol']}, "
                f"{g['potential']}")


def shared_glasses(runs: list) -> list[SharedGlass]:
    """Group runs that will build their particle by the glass they melt-quench; keep groups of >= 2.

    Parameters
    ----------
    runs : list of dealloy.study.plan.PlannedRun
        The runs about to start. Finished runs, runs with a checkpoint (past their build) and
        runs stopped mid-build (a build checkpoint, which they resume) are left out, as are
        particles read from a file or built without a melt-quench.

    Returns
    -------
    list of SharedGlass
        One per glass needed by at least two of the runs, in plan order of their first run.
    """
    groups: dict[str, SharedGlass] = {}
    for run in runs:
        particle = run.config.get("particle") or {}
        if particle.get("file") or not particle.get("builder"):
            continue
        glass = glass_args(particle["builder"], particle.get("args") or {})
        rd = run.rundir
        if (glass is None or rd.status == "done" or has_checkpoint(rd)
                or rd.build_checkpoint_dir.is_dir()):  # stopped mid-build: it resumes its own
            continue
        groups.setdefault(glass_id(glass), SharedGlass(glass)).runs.append(run)
    return [g for g in groups.values() if len(g.runs) > 1]


def prebuild(config: str | Path, comm=None, echo=None) -> dict:
    """Build (or find in the cache) the glass a run config's particle melt-quenches.

    Every MPI rank calls (the melt-quench runs collective LAMMPS, on as many ranks as the run
    will use: the cache key holds the rank count). Nothing but the cache entry is written.

    Parameters
    ----------
    config : str or os.PathLike
        A run's ``config.toml``.
    comm : mpi4py.MPI.Comm, optional
        The communicator (default COMM_WORLD).
    echo : callable, optional
        Receives one line on rank 0 (default: print to stderr).

    Returns
    -------
    dict
        The glass's ``info`` (``cache_hit``, ``cache_entry``, density, ...); empty when the
        particle needs no glass.

    Raises
    ------
    ConfigError
        For an invalid config, or when ``DEALLOY_CACHE_DIR`` is not set (the glass would be
        built and thrown away).
    SimulationError
        From the melt-quench.
    """
    comm = mpi_comm(comm)
    echo = echo or (lambda s: print(s, file=sys.stderr, flush=True))
    cfg = load_run_config(config)
    if cache_dir() is None:
        raise ConfigError(f"{CACHE_ENV} is not set: a prebuilt glass would be thrown away. Set "
                          "it to the study's cache folder (<study>/cache)")
    spec = cfg.particle
    glass = None if spec.file is not None else glass_args(spec.builder, spec.args)
    if glass is None:
        if comm.Get_rank() == 0:
            echo(f"dealloy study prebuild: {config}: the particle needs no melt-quench")
        return {}
    t0 = time.time()
    atoms = amorphous_lisi(**glass)
    info = dict(atoms.info)
    if comm.Get_rank() == 0:
        how = "found in the cache" if info.get("cache_hit") else "built"
        echo(f"dealloy study prebuild: glass {SharedGlass(glass).label()} {how} in "
             f"{time.time() - t0:.0f} s ({len(atoms)} atoms, {info.get('cache_entry', '')})")
    return info


__all__ = ["SharedGlass", "prebuild", "shared_glasses"]

"""The run record ``<run>/run.json``, re-exported from :mod:`dealloy.records`, and the versions it stamps.

The model lives in the base layer (:mod:`dealloy.records`) so that every layer reads run.json
through the class the engine writes it with; this module keeps the engine's imports and adds
:func:`software_versions` (which needs MPI and LAMMPS).
"""

from __future__ import annotations

import platform
from typing import Any

import ase
import numpy as np
from mpi4py import MPI

from dealloy import __version__
from dealloy.records import (
    RECORD_VERSION,
    PotentialRecord,
    RunRecord,
    Status,
    read_record,
)

def software_versions() -> dict[str, Any]:
    """Collect the versions of dealloy, Python, ASE, numpy, the MPI library and LAMMPS (run.json)."""
    v = {"dealloy": __version__, "python": platform.python_version(), "ase": ase.__version__,
         "numpy": np.__version__, "mpi": MPI.Get_library_version().strip().splitlines()[0]}
    try:
        import lammps

        v["lammps"] = getattr(lammps, "__version__", None)
    except ImportError:
        pass
    return v


__all__ = ["RECORD_VERSION", "RunRecord", "PotentialRecord", "Status", "read_record",
           "software_versions"]

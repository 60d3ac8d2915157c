"""The engine: one run's protocol stages, exchange, selectors, checkpoint/resume and run record.

Opening LAMMPS and the MD session live in the LAMMPS layer (:mod:`dealloy.lammps.instance`,
:mod:`dealloy.lammps.session`); ``open_lammps`` and ``lammps_info`` are re-exported here so
``dealloy.engine.open_lammps`` keeps working.
"""

from dealloy.lammps.instance import lammps_info, open_lammps

__all__ = ["open_lammps", "lammps_info"]

"""The engine: opening LAMMPS, the MD session, protocol stages, selectors, checkpoint/resume."""

from dealloy.lammps.instance import lammps_info, open_lammps

__all__ = ["open_lammps", "lammps_info"]

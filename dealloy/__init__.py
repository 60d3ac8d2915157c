"""dealloy: atomistic molecular dynamics of electrochemical Li extraction from Li-Si nanoparticles.

Data flow: build -> potentials -> engine (LAMMPS session, protocol stages) -> analysis ->
study (sweeps, SLURM) -> report.  The command line (``dealloy``) is a thin layer on top.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]

"""Exceptions that the command line turns into one clear message (no traceback)."""


class DealloyError(Exception):
    """A problem the user can fix: the message names the field/file and the fix."""


class ConfigError(DealloyError, ValueError):
    """Invalid input (configuration value, argument, file) detected before any MD starts."""


class NotJSONError(ConfigError):
    """A file that should hold JSON does not (half-written, binary or another format)."""


class LammpsBuildError(DealloyError):
    """The LAMMPS build cannot do what is asked (missing package, cannot load)."""


class SimulationError(DealloyError):
    """A run failed during MD (LAMMPS error, lost atoms, Si not conserved)."""


class IsolatedAtomsError(ConfigError, SimulationError):
    """Atoms with too few neighbours for a pair style that crashes on them (LAMMPS ML-POD).

    Bad input when the structure comes from the user (a :class:`ConfigError`, raised before any
    MD); a failed simulation when MD produced it (a :class:`SimulationError`, so loops that
    survive failed runs -- active learning, committees -- treat it as one).
    """

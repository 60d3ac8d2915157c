"""SIGTERM / SIGUSR1: stop at the next step boundary with a checkpoint (SLURM's time-limit signal).

The handler only records the signal; the engine polls :meth:`StopSignals.received_by_any` at
each step boundary (collective: every rank stops at the same step, even if only one got it), writes
a checkpoint and raises :class:`Checkpointed`. ``dealloy run`` then exits with
:data:`EXIT_CHECKPOINTED` and ``--resume`` continues. The handlers are installed when the run
starts, so a builder's melt-quench polls the same flag between chunks of its MD (through the
:class:`~dealloy.builders.checkpoint.BuildControl` the engine sets) and stops with a build
checkpoint the same way.
"""

from __future__ import annotations

import signal

from mpi4py import MPI

from dealloy.errors import DealloyError

EXIT_CHECKPOINTED = 75  # EX_TEMPFAIL: not finished, resume me
SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


class Checkpointed(DealloyError):
    """The run stopped on SIGTERM/SIGUSR1 after writing a checkpoint (status "checkpointed")."""


class StopSignals:
    """Catches :data:`SIGNALS` between :meth:`install` and :meth:`restore`."""

    def __init__(self):
        self.signum = 0  # the last signal received here (0: none)
        self._old: dict = {}

    def _handler(self, signum, frame) -> None:
        self.signum = signum

    def install(self) -> None:
        """Install the handler for :data:`SIGNALS` (silently skipped off the main thread)."""
        for sig in SIGNALS:
            try:
                self._old[sig] = signal.signal(sig, self._handler)
            except ValueError:  # not the main thread
                pass

    def restore(self) -> None:
        """Put back the handlers that :meth:`install` replaced."""
        for sig, h in self._old.items():
            signal.signal(sig, h)
        self._old = {}

    def received_by_any(self, comm) -> int:
        """Return the largest signal number any rank received; collective.

        Parameters
        ----------
        comm : mpi4py.MPI.Comm
            The run's communicator; every rank calls.

        Returns
        -------
        int
            The signal number (e.g. 15 for SIGTERM), 0 when no rank received one.
        """
        return comm.allreduce(self.signum, op=MPI.MAX)


__all__ = ["EXIT_CHECKPOINTED", "SIGNALS", "Checkpointed", "StopSignals"]

"""SIGTERM / SIGUSR1 / Ctrl-C: stop at the next step boundary with a checkpoint (SLURM's time-limit signal).

The handler only records the signal; the engine polls :meth:`StopSignals.received_by_any` at
each step boundary (collective: every rank stops at the same step, even if only one got it), writes
a checkpoint and raises :class:`Checkpointed`. ``dealloy run`` then exits with
:data:`EXIT_CHECKPOINTED` and ``--resume`` continues. The handlers are installed when the run
starts, so a builder's melt-quench polls the same flag between chunks of its MD (through the
:class:`~dealloy.builders.checkpoint.BuildControl` the engine sets) and stops with a build
checkpoint the same way.

Ctrl-C (SIGINT) is a stop request too: the first one says on stderr that the run stops at its
next checkpoint and how to abort at once; a second one raises :class:`KeyboardInterrupt` (Python's
own behaviour), for a run that must not wait.
"""

from __future__ import annotations

import signal
import sys

from mpi4py import MPI

from dealloy.errors import DealloyError

EXIT_CHECKPOINTED = 75  # EX_TEMPFAIL: not finished, resume me
SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)


class Checkpointed(DealloyError):
    """The run stopped on SIGTERM/SIGUSR1/Ctrl-C after writing a checkpoint (status "checkpointed")."""


class StopSignals:
    """Catches :data:`SIGNALS` between :meth:`install` and :meth:`restore`."""

    def __init__(self):
        self.signum = 0  # the last signal received here (0: none)
        self._old: dict = {}
        self._rank = MPI.COMM_WORLD.Get_rank()  # rank 0 says what Ctrl-C does

    def _handler(self, signum, frame) -> None:
        if signum == signal.SIGINT:
            if self.signum == signal.SIGINT:  # Ctrl-C twice: abort now, without a checkpoint
                raise KeyboardInterrupt
            if self._rank == 0:
                print("\nCtrl-C: stopping with a checkpoint at the end of the current MD chunk "
                      "or minimisation; press Ctrl-C again to abort without one", file=sys.stderr,
                      flush=True)
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

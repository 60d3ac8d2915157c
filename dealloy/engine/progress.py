"""Moved to :mod:`dealloy.progress`: terminal progress imports nothing from dealloy and is drawn by
the build, potentials, analysis and engine commands alike, so it lives in the base layer. This
module re-exports it so that existing imports keep working."""

from dealloy.progress import *  # noqa: F401,F403

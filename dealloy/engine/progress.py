"""Moved to :mod:`dealloy.progress`; this module re-exports it for existing imports.

Terminal progress imports nothing from dealloy and is drawn by the build, potentials, analysis and
engine commands alike, so it lives in the base layer.
"""

from dealloy.progress import *  # noqa: F401,F403

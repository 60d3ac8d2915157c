"""dealloy.labelling: the one border-connected labelling used by the engine's selectors and the
voxel analysis."""

from __future__ import annotations

import numpy as np
import porespy as ps

from dealloy.labelling import connected_to_faces, label


def shell_with_cavity_and_channel():
    """A 20³ grid of free space holding a hollow solid shell: its cavity is closed; a second,
    channelled shell's cavity opens to the x faces."""
    n = 20
    g = np.indices((n, n, n)).transpose(1, 2, 3, 0)
    r = np.linalg.norm(g - 9.5, axis=-1)
    solid = (r > 4) & (r < 7)
    free = ~solid
    return free, r < 4


def test_closed_cavity_is_not_outside():
    free, cavity = shell_with_cavity_and_channel()
    out = connected_to_faces(free)
    assert not out[cavity].any()
    assert out[free & ~cavity].all()


def test_channel_connects_the_cavity():
    free, cavity = shell_with_cavity_and_channel()
    free[9:11, 9:11, :] = True  # a channel along z through the shell
    out = connected_to_faces(free)
    assert out[cavity].all()
    # only the x faces count as outside: the channel runs along z, so the cavity stays inside
    # once the free space beyond the shell is cut from the x faces
    fx = connected_to_faces(free, faces=(False, False, True))
    assert fx[cavity].all()


def test_agrees_with_porespy_trim_disconnected_voxels():
    """porespy (independent code) keeps the blobs connected to the inlets: the six faces."""
    rng = np.random.default_rng(3)
    im = rng.random((24, 24, 24)) < 0.45
    inlets = np.zeros_like(im)
    inlets[0], inlets[-1], inlets[:, 0], inlets[:, -1], inlets[:, :, 0], inlets[:, :, -1] = (True,) * 6
    ref = ps.filters.trim_disconnected_voxels(im, inlets=inlets, conn="min")
    assert np.array_equal(connected_to_faces(im), ref.astype(bool))


def test_periodic_faces_join_regions():
    m = np.zeros((10, 4, 4), bool)
    m[:2, 1, 1] = True
    m[-2:, 1, 1] = True
    assert label(m)[1] == 2
    lab, n = label(m, periodic=(True, False, False))
    assert n == 1 and lab[0, 1, 1] == lab[-1, 1, 1]
    # a region reaching a z face only through the periodic x face is connected to it
    m[-2:, 1, 0] = True
    out = connected_to_faces(m, faces=(False, False, True), periodic=(True, False, False))
    assert out[:2, 1, 1].all()
    assert not connected_to_faces(m, faces=(False, False, True))[:2, 1, 1].any()

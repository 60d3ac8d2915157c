"""Numba kernels for the voxel metrics (hand-written where no library is fast enough; each is
tested against porespy or an analytic case in tests/test_analysis_voxel.py)."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def stamp_balls(mask, u, radius, periodic):
    """Set ``mask`` True at voxel centres within ``radius[a]`` (voxels) of each point ``u[a]``.

    ``u`` is in voxel units (voxel i has its centre at i). ``periodic`` wraps indices.
    """
    nx, ny, nz = mask.shape
    for a in range(u.shape[0]):
        r = radius[a]
        r2 = r * r
        x, y, z = u[a, 0], u[a, 1], u[a, 2]
        for i in range(int(np.ceil(x - r)), int(np.floor(x + r)) + 1):
            dx2 = (i - x) ** 2
            if dx2 > r2:
                continue
            if periodic:
                ii = i % nx
            elif i < 0 or i >= nx:
                continue
            else:
                ii = i
            for j in range(int(np.ceil(y - r)), int(np.floor(y + r)) + 1):
                dxy2 = dx2 + (j - y) ** 2
                if dxy2 > r2:
                    continue
                if periodic:
                    jj = j % ny
                elif j < 0 or j >= ny:
                    continue
                else:
                    jj = j
                for k in range(int(np.ceil(z - r)), int(np.floor(z + r)) + 1):
                    if dxy2 + (k - z) ** 2 <= r2:
                        if periodic:
                            mask[ii, jj, k % nz] = True
                        elif 0 <= k < nz:
                            mask[ii, jj, k] = True


@numba.njit(cache=True)
def ridge_mask(dt, out):
    """Centres of (near-)maximal inscribed balls: voxel c is dropped when a 26-neighbour n has
    dt(n) >= dt(c) + |n - c| (ball(c) lies inside ball(n))."""
    nx, ny, nz = dt.shape
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                d = dt[i, j, k]
                if d <= 0:
                    continue
                keep = True
                for di in range(-1, 2):
                    ii = i + di
                    if ii < 0 or ii >= nx:
                        continue
                    for dj in range(-1, 2):
                        jj = j + dj
                        if jj < 0 or jj >= ny:
                            continue
                        for dk in range(-1, 2):
                            kk = k + dk
                            if kk < 0 or kk >= nz or (di == 0 and dj == 0 and dk == 0):
                                continue
                            step = np.sqrt(di * di + dj * dj + dk * dk)
                            if dt[ii, jj, kk] >= d + step - 1e-4:
                                keep = False
                                break
                        if not keep:
                            break
                    if not keep:
                        break
                out[i, j, k] = keep


@numba.njit(cache=True)
def max_covering_radius(samples, centres, radii, starts, cell_of_sample_dims, bucket, nb):
    """For each sample voxel, the largest radius r_c of a ball (centre c, |p - c| < r_c) that
    contains it. Centres are bucketed in cubes of edge ``bucket`` (>= max radius), sorted by
    bucket key (radius descending within a bucket) with ``starts`` giving the CSR offsets; ``nb`` = buckets per axis."""
    out = np.zeros(samples.shape[0], np.float32)
    bx, by, bz = nb[0], nb[1], nb[2]
    for s in range(samples.shape[0]):
        px, py, pz = samples[s, 0], samples[s, 1], samples[s, 2]
        cx, cy, cz = px // bucket, py // bucket, pz // bucket
        best = np.float32(0.0)
        for ix in range(max(cx - 1, 0), min(cx + 2, bx)):
            for iy in range(max(cy - 1, 0), min(cy + 2, by)):
                for iz in range(max(cz - 1, 0), min(cz + 2, bz)):
                    key = (ix * by + iy) * bz + iz
                    for t in range(starts[key], starts[key + 1]):
                        r = radii[t]
                        if r <= best:
                            break  # radii sorted descending within a bucket
                        dx = centres[t, 0] - px
                        dy = centres[t, 1] - py
                        dz = centres[t, 2] - pz
                        if dx * dx + dy * dy + dz * dz < r * r:
                            best = r
        out[s] = best
    return out

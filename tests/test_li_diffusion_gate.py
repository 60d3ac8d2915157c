"""The Li diffusion coefficient of a trajectory is reported only where it means something: fixed
composition, enough Li, enough frames, centre-of-mass drift removed (issue 17, item 7)."""

from __future__ import annotations

import numpy as np
import pytest

from dealloy.analysis.diffusivity import MIN_FRAMES_FOR_D, MIN_LI_FOR_D, li_diffusion
from dealloy.analysis.frame import Frame

D_TRUE_A2_PER_PS = 0.1  # per direction: MSD = 6 D t  ->  D = 1e-5 cm^2/s


def walk(n_li=200, n_si=50, n_frames=20, drift_a_per_ps=(0.0, 0.0, 0.0), seed=3,
         remove_after=None, remove=0, d_a2_per_ps=D_TRUE_A2_PER_PS, turn_deg_per_ps=0.0):
    """An isolated particle: Li random walk plus a rigid drift of everything (Si at rest in the
    particle frame); optionally ``remove`` Li leave after frame ``remove_after``."""
    rng = np.random.default_rng(seed)
    li = rng.uniform(0, 20, (n_li, 3))
    si = rng.uniform(5, 15, (n_si, 3))
    ids_li = np.arange(1, n_li + 1)
    frames = []
    for k in range(n_frames):
        shift = np.asarray(drift_a_per_ps) * k
        keep = slice(None) if remove_after is None or k <= remove_after else slice(remove, None)
        a = np.radians(turn_deg_per_ps * k)  # the whole particle turns about z through (10,10,10)
        rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
        pos = (np.vstack([li[keep], si]) - 10.0) @ rot.T + 10.0 + shift
        sym = np.array(["Li"] * len(li[keep]) + ["Si"] * n_si)
        ids = np.concatenate([ids_li[keep], np.arange(10_000, 10_000 + n_si)])
        frames.append(Frame(pos, sym, np.zeros((3, 3)), (False,) * 3, float(k), ids, {}))
        li = li + rng.normal(0, np.sqrt(2 * d_a2_per_ps), li.shape)
    return frames


def with_com(frames):
    from dealloy.analysis.diffusivity import center_of_mass_angstrom

    for f in frames:
        f.info["com_angstrom"] = center_of_mass_angstrom(f)
    return frames


def test_fixed_composition_gives_d_with_drift_removed():
    # a drift of 1 Å/ps would add (1 Å/ps)^2 t^2 to the MSD: D would be far off if kept
    out, res = li_diffusion(with_com(walk(drift_a_per_ps=(1.0, 0.0, 0.0))))
    assert out["reported"] and out["why_not"] is None and res is not None
    assert out["diffusion_cm2_per_s"] == pytest.approx(D_TRUE_A2_PER_PS * 1e-4, rel=0.3)
    assert out["drift_removed_angstrom"] > 15 and out["drift_of"] == "the Si (translation and rotation)"
    assert out["rotation_removed_deg"] < 1e-6  # this particle does not turn
    assert out["n_atoms"] == 200 and out["n_frames"] == 20


def test_changing_composition_is_not_reported_and_says_why():
    out, res = li_diffusion(with_com(walk(remove_after=4, remove=20)))
    # the longest stretch at fixed composition (frames 5-19, 180 Li) is long enough: D from it
    assert out["reported"] and out["window_ps"] == [5.0, 19.0] and out["n_atoms"] == 180
    assert "extraction or insertion" in out["window"]
    # Li leave every few frames, as in an extraction: no stretch is long enough
    frames = walk(n_frames=20)
    for k, f in enumerate(frames):
        keep = np.ones(len(f.symbols), bool)
        keep[: 5 * (k // 3)] = False
        frames[k] = f.subset(keep)
    out, res = li_diffusion(frames)
    assert not out["reported"] and res is None and out["diffusion_cm2_per_s"] is None
    assert "extraction or insertion" in out["why_not"] and f"fewer than {MIN_FRAMES_FOR_D}" in out["why_not"]


def test_too_few_li_or_frames_is_not_reported():
    out, _ = li_diffusion(walk(n_li=MIN_LI_FOR_D - 1))
    assert not out["reported"] and f"fewer than {MIN_LI_FOR_D} Li" in out["why_not"]
    out, _ = li_diffusion(walk(n_frames=MIN_FRAMES_FOR_D - 1))
    assert not out["reported"] and "evenly spaced frame" in out["why_not"]
    out, _ = li_diffusion(walk(n_frames=1))
    assert not out["reported"]


def test_a_d_below_one_li_hop_over_the_window_is_not_resolved():
    """Li that barely move (D 1e-9 cm^2/s: 0.01 Å of rms step per ps) give an MSD slope below
    one nearest-neighbour hop of one Li in the 19 ps window: no D, and why_not says so."""
    from dealloy.analysis.diffusivity import single_hop_diffusivity
    from ase import Atoms

    frames = with_com(walk(d_a2_per_ps=1e-5))
    out, res = li_diffusion(frames)
    li = frames[0].mask("Li")
    floor = single_hop_diffusivity(Atoms(["Li"] * int(li.sum()), positions=frames[0].positions[li]),
                                   19.0)
    assert 1e-9 < floor < 1e-5  # between this walk's D and the resolved walk's
    assert not out["reported"] and res is None and out["diffusion_cm2_per_s"] is None
    assert "not resolved" in out["why_not"] and out["d_single_hop_cm2_per_s"] == pytest.approx(floor)
    resolved, _ = li_diffusion(with_com(walk()))
    assert resolved["reported"] and resolved["d_single_hop_cm2_per_s"] == pytest.approx(floor, rel=0.5)


def test_a_turning_particle_gives_the_li_d_of_its_own_frame():
    """The particle turns by 3 degrees per ps (a Li 10 Å from the axis moves 0.5 Å/ps): in the
    lab frame that motion adds to the MSD; in the Si frame D is the walk's."""
    out, _ = li_diffusion(with_com(walk(turn_deg_per_ps=3.0, d_a2_per_ps=0.02)))
    assert out["reported"], out["why_not"]
    assert out["diffusion_cm2_per_s"] == pytest.approx(0.02e-4, rel=0.3)
    assert out["rotation_removed_deg"] == pytest.approx(3.0 * 19, rel=1e-6)

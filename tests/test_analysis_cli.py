"""`dealloy analyze` on files, trajectories and run directories; bad input gives clear messages."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase import Atoms

from test_analysis_structures import li15si4_sphere, si_sphere, write_lammps_dump
from dealloy.analysis import analyze_frame
from dealloy.analysis.trajectory import parse_selection, read_frames
from dealloy.cli import main
from dealloy.errors import ConfigError
from dealloy.io import write_structure


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def run_ok(args, capsys):
    try:
        main(args)
    except SystemExit as exc:  # click may exit 0
        assert exc.code in (0, None), capsys.readouterr().err
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def particle_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("p") / "particle.extxyz"
    write_structure(path, li15si4_sphere(12.0))
    return path


def test_analyze_structure_file_writes_json_and_csv(particle_file, tmp_path, capsys):
    out = tmp_path / "m.json"
    run_ok(["analyze", str(particle_file), "--json", str(out)], capsys)
    m = json.loads(out.read_text())
    for key in ("n_si", "n_li", "x", "rdf", "a2_index", "si_cluster_fractions", "porosity",
                "ligament_diameter_nm", "pore_diameter_nm", "pore_count",
                "specific_surface_area_m2_per_g", "crystalline_fraction"):
        assert key in m
    assert m["si_cluster_fractions"]["isolated"] == 1.0
    rdf = (tmp_path / "m_rdf.csv").read_text().splitlines()
    assert rdf[0].split(",")[2:] == ["r_angstrom", "si_si", "li_si", "li_li"]
    assert (tmp_path / "m_frames.csv").is_file()


def test_analyze_run_directory_trajectory(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.toml").write_text("# test run\n")
    base = si_sphere(10.0)
    rng = np.random.default_rng(0)
    frames = []
    for k in range(5):
        a = base.copy()
        a.positions += rng.normal(0, 0.05, a.positions.shape)
        frames.append(a)
    write_lammps_dump(run / "traj.lammpstrj", frames, [0.0, 1.0, 2.0, 3.0, 4.0])
    out = run_ok(["analyze", str(run), "--frames", "0:5:2"], capsys)
    assert "frame 4" in out
    m = json.loads((run / "analysis" / "metrics.json").read_text())
    assert [f["frame"] for f in m["frames"]] == [0, 2, 4]
    assert [f["time_ps"] for f in m["frames"]] == [0.0, 2.0, 4.0]
    lines = (run / "analysis" / "frames.csv").read_text().splitlines()
    assert len(lines) == 4 and "porosity" in lines[0] and "time_ps" in lines[0]
    plots = {p.name for p in (run / "analysis" / "plots").iterdir()}
    assert {"rdf.png", "cn_histogram.png", "size_distributions.png", "metrics_vs_x.png",
            "haadf_z.png", "slices_z.png"} <= plots
    assert "render_3d.png" in plots or "3D render skipped" in out


def test_unreadable_file(tmp_path, capsys):
    bad = tmp_path / "garbage.extxyz"
    bad.write_text("this is not a structure\n")
    code, _, err = run_cli(["analyze", str(bad)], capsys)
    assert code == 2 and "cannot read" in err and "garbage.extxyz" in err
    code, _, err = run_cli(["analyze", str(tmp_path / "missing.extxyz")], capsys)
    assert code == 2 and "not found" in err


def test_no_si():
    li = Atoms("Li4", positions=np.eye(4, 3) * 3.0)
    with pytest.raises(ConfigError, match="no Si"):
        analyze_frame(li)


def test_empty_frame():
    with pytest.raises(ConfigError, match="no atoms"):
        analyze_frame(Atoms())


def test_periodic_bulk_is_analysed_as_bulk_with_a_warning():
    from test_analysis_structures import diamond_si

    with pytest.warns(UserWarning, match="porosity is per cell"):
        m = analyze_frame(diamond_si((2, 2, 2)), metrics=("voxel",))
    assert m["kind"] == "bulk" and m["porosity_basis"] == "cell"
    assert any("porosity is per cell" in n for n in m["notes"])


def test_frame_selection_out_of_range(particle_file, capsys):
    with pytest.raises(ConfigError, match="out of range.*1 frame"):
        parse_selection("3", 1)
    code, _, err = run_cli(["analyze", str(particle_file), "--frames", "7"], capsys)
    assert code == 2 and "frame 7 is out of range" in err
    with pytest.raises(ConfigError, match="cannot parse"):
        read_frames(particle_file, "first")


@pytest.mark.parametrize("sel, frames", [
    ("all", list(range(10))), ("-1", [9]), ("0,3,7", [0, 3, 7]), ("::4", [0, 4, 8]),
    ("-3:", [7, 8, 9]), ("8:,0", [8, 9, 0]), ("3:1:-1", [3, 2])])
def test_frame_selection_grammar(sel, frames):
    """ase.io.read's index grammar per comma-separated part, negative indices resolved."""
    assert parse_selection(sel, 10) == frames


@pytest.mark.parametrize("sel", ["1.5", "a", "1:x", "1:2:3:4", "5:5", "2,,3"])
def test_frame_selection_bad_part_is_a_config_error(sel):
    with pytest.raises(ConfigError, match="frame selection"):
        parse_selection(sel, 10)


def test_unknown_parameter_is_named():
    with pytest.raises(ConfigError, match="voxel_size"):
        analyze_frame(si_sphere(6.0), voxel_size=1.0)


def test_ovito_pipeline_and_ase_give_the_same_metrics(particle_file):
    from ovito.io import import_file

    from dealloy.io import read_structure

    atoms = read_structure(particle_file)
    a = analyze_frame(atoms, metrics=("network",))
    b = analyze_frame(import_file(str(particle_file)), metrics=("network",))
    assert a["n_si"] == b["n_si"] and a["n_li"] == b["n_li"]
    assert a["si_cluster_fractions"] == b["si_cluster_fractions"]


def test_zcontrast_intensity_scales_as_z_to_1_7():
    from dealloy.analysis.microscopy import zcontrast_image

    # one Si column and one Li column of 5 atoms each, 10 Å apart, projected along z
    pos = [(0.0, 0.0, 2.5 * k) for k in range(5)] + [(10.0, 0.0, 2.5 * k) for k in range(5)]
    atoms = Atoms("Si5Li5", positions=pos)
    img, ext = zcontrast_image(atoms, "z", pixel_angstrom=0.25)
    x = np.linspace(ext[0], ext[1], img.shape[1], endpoint=False) + 0.125
    si_peak = img[:, np.abs(x - 0.0) < 1.0].max()
    li_peak = img[:, np.abs(x - 10.0) < 1.0].max()
    assert si_peak / li_peak == pytest.approx((14 / 3) ** 1.7, rel=0.02)


def test_trajectory_li_msd_from_a_dump(tmp_path):
    from dealloy.analysis.trajectory import li_msd

    from test_analysis_structures import li15si4_cell

    rng = np.random.default_rng(1)
    base = li15si4_cell()
    frames, pos = [], base.positions.copy()
    li = np.array(base.get_chemical_symbols()) == "Li"
    for _ in range(12):  # Li random walk, 0.1 Å^2/ps per direction -> D = 1e-5 cm^2/s
        a = base.copy()
        a.positions = pos.copy()
        a.wrap()
        frames.append(a)
        pos[li] += rng.normal(0, np.sqrt(2 * 0.05 * 1.0), (li.sum(), 3))
    write_lammps_dump(tmp_path / "t.lammpstrj", frames, np.arange(12) * 1.0)
    got = read_frames(tmp_path / "t.lammpstrj", "all")
    res = li_msd(got)
    assert res is not None and res.n_atoms == li.sum()
    assert res.diffusion_cm2_per_s == pytest.approx(0.5e-5, rel=0.3)


def test_run_directory_time_from_timestep_when_dump_has_no_time(tmp_path):
    from dealloy.analysis.run import analyze_path

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.toml").write_text("timestep_ps = 0.002\n")
    frames = [li15si4_sphere(9.0) for _ in range(2)]
    write_lammps_dump(run / "traj.lammpstrj", frames, [0, 0], with_time=False, step_every=500)
    summary = analyze_path(run, params=None, images=False, echo=lambda *_: None,
                           plots_dir=None)
    assert [f["time_ps"] for f in summary["frames"]] == [0.0, 1.0]


def test_particle_in_a_periodic_box_is_analysed_as_a_particle():
    atoms = si_sphere(12.0)
    atoms.cell = [40.0, 40.0, 40.0]
    atoms.pbc = True  # e.g. a LAMMPS data file: periodic box, particle across the boundary
    with pytest.warns(UserWarning, match="isolated particle in a box"):
        m = analyze_frame(atoms, metrics=("network", "voxel"))
    assert m["kind"] == "particle" and m["porosity_basis"] == "envelope"
    assert m["porosity"] < 0.03 and m["largest_si_cluster_fraction"] == 1.0

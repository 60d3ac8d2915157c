"""Which of the paper's routes a run's start belongs to (c-path / a-path), for builders, bulk
cells and structure files: the report judges c-path rows only on c-path runs."""

from __future__ import annotations

import json

import ase.io
import pytest

from dealloy.build.crystal import li15si4_cell
from dealloy.rundir import RunDir
from dealloy.study.axes import pathway
from dealloy.study.collect import _file_pathway, derived
from dealloy.study.plan import PlannedRun


@pytest.mark.parametrize("state, path", [
    ("li15si4_particle", "c-path"), ("li15si4_cell", "c-path"), ("c-li15si4", "c-path"),
    ("amorphous_lisi_particle", "a-path"), ("amorphous_lisi", "a-path"),
    ("core_shell_particle", "a-path"), ("si_particle", "other"), (None, "other")])
def test_builders_and_states_name_their_route(state, path):
    assert pathway(state) == path


def _frames(rd: RunDir, first: dict) -> None:
    rd.analysis_dir.mkdir(parents=True)
    rd.metrics_json.write_text(json.dumps({"schema_version": 1, "frames": [first]}))


def test_a_bulk_cell_file_is_c_path_by_its_recorded_builder(tmp_path):
    f = tmp_path / "c.extxyz"
    ase.io.write(f, li15si4_cell().repeat(2))  # info['builder'] = li15si4_cell survives repeat
    cfg = {"particle": {"file": str(f)}}
    row = derived(PlannedRun(0, "k", {}, cfg, tmp_path / "run"))
    assert row["starting_state"] == "c.extxyz" and row["pathway_resolved"] == "c-path"


def test_a_file_without_a_builder_is_judged_by_its_first_analysed_frame(tmp_path):
    f = tmp_path / "mp-569849.xyz"  # a user's own cell: plain xyz, no dealloy info
    atoms = li15si4_cell()
    atoms.info.clear()
    ase.io.write(f, atoms, format="xyz")
    crystal, glass, si = (RunDir(tmp_path / n) for n in ("crystal", "glass", "si"))
    _frames(crystal, {"x": 3.75, "si_crystalline_fraction_by_phase": {"c_li15si4": 0.94}})
    _frames(glass, {"x": 3.75, "si_crystalline_fraction_by_phase": {"c_li15si4": 0.06}})
    _frames(si, {"x": 0.0, "si_crystalline_fraction_by_phase": {"c_li15si4": 0.0}})
    assert _file_pathway(str(f), crystal) == "c-path"
    assert _file_pathway(str(f), glass) == "a-path"
    assert _file_pathway(str(f), si) == "other"
    assert _file_pathway(str(f), RunDir(tmp_path / "not-analysed")) == "other"

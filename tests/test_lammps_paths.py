"""Paths that reach LAMMPS (issue 16): a potential's parameter files in a folder whose name holds
characters LAMMPS' input parser treats specially, and a run directory LAMMPS would rewrite."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys

import pytest
from ase.build import bulk

from dealloy.lammps.session import LammpsSession
from dealloy.errors import ConfigError
from dealloy.lammps.potentials import get_potential

DEALLOY = [sys.executable, "-m", "dealloy.cli"]


def _energy(pot) -> float:
    with LammpsSession(bulk("Si", "diamond", a=5.43, cubic=True), pot) as s:
        return s.potential_energy_ev()


@pytest.mark.parametrize("folder", ["pot$HOME#1&x", "pot $HOME #1 &", 'pot "dq" $x', "pot 'sq' \"dq #"])
def test_potential_files_in_a_folder_lammps_would_parse(tmp_path, folder):
    """`$` (variable), `#` (comment), `&` and quotes in the folder: LAMMPS reads the same files
    and gives the same energy as from the shipped folder."""
    pot = get_potential("meam-cui2012")
    d = tmp_path / folder
    d.mkdir()
    files = tuple(shutil.copy(f, d) for f in pot.files)
    moved = dataclasses.replace(pot, files=files)
    line = next(c for c in moved.pair_commands() if c.startswith("pair_coeff"))
    assert folder in line
    assert _energy(moved) == pytest.approx(_energy(pot), abs=1e-9)


def test_potential_file_path_lammps_cannot_quote_is_one_line(tmp_path):
    d = tmp_path / "it's \"\"\"triple\"\"\""  # both quote kinds and a triple quote
    d.mkdir()
    pot = get_potential("meam-cui2012")
    moved = dataclasses.replace(pot, files=tuple(shutil.copy(f, d) for f in pot.files))
    with pytest.raises(ConfigError, match="potential parameter file: .*DEALLOY_POTENTIALS_DIR"):
        moved.pair_commands()


@pytest.mark.parametrize("name", ["run%1", "run*"])
def test_run_directory_lammps_would_rewrite_is_refused_before_anything_is_written(tmp_path, name):
    particle = tmp_path / "si.extxyz"
    a = bulk("Si", "diamond", a=5.43, cubic=True)
    a.pbc = False
    a.center(vacuum=5.0)
    a.write(particle)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[particle]\nfile = "{particle}"\n[[stages]]\ntype = "minimize"\n')
    out = tmp_path / name
    res = subprocess.run(DEALLOY + ["run", str(cfg), "-o", str(out)], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 2
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and f"'{name[-2] if '%' in name else '*'}'" in err[0], res.stderr
    assert "use a directory without" in err[0]
    assert not out.exists()  # no run.json, no initial structure, no folder

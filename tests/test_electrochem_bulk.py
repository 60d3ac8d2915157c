"""Periodic bulk cells: the zero-pressure (NPT) option, and the galvanostatic plateau of bulk
c-Li15Si4 against validate-potential's c->a voltage (issue 15)."""

from __future__ import annotations

from pathlib import Path

import ase.io
import pytest

from dealloy.analysis.voltage import known_c_to_a_voltage_v, write_voltage_outputs
from dealloy.build.crystal import li15si4_cell
from dealloy.config.run import dump_run_config, load_run_config, parse_run_config
from dealloy.engine.particles import li15si4_sphere
from dealloy.engine.run import run
from dealloy.errors import ConfigError
from dealloy.rundir import RunDir
from test_electrochem import toml

POT = "meam-godet2020"


def _cfg(path: Path, particle: Path, body: str, **top) -> Path:
    """test_electrochem's run config, with this module's seed, no dump and rare checkpoints."""
    return toml(path, particle, body, **{"seed": 2, "dump_interval_ps": 0,
                                         "thermo_interval_ps": 0.1, "checkpoint_ps": 100.0, **top})


@pytest.fixture(scope="module")
def cell(tmp_path_factory) -> Path:
    """One conventional c-Li15Si4 cell, periodic (60 Li + 16 Si)."""
    p = tmp_path_factory.mktemp("bulk") / "c.extxyz"
    ase.io.write(p, li15si4_cell())
    return p


def test_pressure_bar_config_round_trip_and_range():
    base = {"particle": {"builder": "li15si4_particle", "args": {"diameter_nm": 3.0}}}
    cfg = parse_run_config({**base, "pressure_bar": 0.0, "pressure_damping_ps": 0.5})
    assert load_run_config_text(dump_run_config(cfg)).pressure_bar == 0.0
    assert parse_run_config(base).pressure_bar is None  # default: fixed volume (NVT)
    with pytest.raises(ConfigError, match="pressure_bar"):
        parse_run_config({**base, "pressure_bar": 1e7})


def load_run_config_text(text: str):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "config.toml").write_text(text)
        return load_run_config(Path(d) / "config.toml")


def test_pressure_bar_is_refused_for_a_particle_with_vacuum(tmp_path):
    p = tmp_path / "sphere.extxyz"
    ase.io.write(p, li15si4_sphere(6.0))
    cfg = _cfg(tmp_path / "v.toml", p, '[[stages]]\ntype = "hold"\ntime_ps = 0.1\n',
               pressure_bar=0.0)
    with pytest.raises(ConfigError, match=r"pressure_bar = 0.0: a barostat needs a periodic bulk "
                                          r"cell, this particle has vacuum \(pbc = FFF\)"):
        run(cfg, quiet=True)
    rd = RunDir(tmp_path / "v")
    info = rd.record()
    assert info.status == "failed" and info.before_md
    assert not rd.thermo_csv.exists()


@pytest.mark.parametrize("thermostat", ["langevin", "nose-hoover"])
def test_barostat_sets_the_volume_by_the_pressure(cell, tmp_path, thermostat):
    # the same cell held at 0 bar and at 20 kbar (2 GPa): the compressed one ends smaller, and
    # at fixed volume (no pressure_bar) the cell does not change
    hold = '[[stages]]\ntype = "hold"\ntime_ps = 1.0\n'
    vol = {}
    for name, p in (("nvt", None), ("p0", 0.0), ("p20k", 20000.0)):
        top = {"thermostat": thermostat, "pressure_damping_ps": 0.2}
        if p is not None:
            top["pressure_bar"] = p
        res = run(_cfg(tmp_path / f"{name}.toml", cell, hold, **top), quiet=True)
        assert res.status == "done"
        vol[name] = ase.io.read(RunDir(tmp_path / name).path / "final.extxyz").get_volume()
    v0 = li15si4_cell().get_volume()
    assert vol["nvt"] == pytest.approx(v0, rel=1e-9)
    assert vol["p20k"] < 0.97 * vol["p0"]  # c-Li15Si4: bulk modulus ~30-40 GPa
    assert vol["p0"] != pytest.approx(v0, rel=1e-3)  # the box moved at all


GALV = """
[[stages]]
type = "minimize"
[[stages]]
type = "galvanostatic"
accessible = "all"
interval_ps = 0.2
x_final = 1.1
"""


@pytest.mark.xfail(strict=True, reason=(
    "measured 2026-11-29 (seed 2, 1 cell, 300 K, 0 bar): dQ/dV peak 1.09-1.11 V, median removal "
    "voltage 1.14 V against the c->a voltage 0.477 V; the relaxed end states of the same run "
    "give 0.575 V. 2026-11-30, seeds 1-3 with plain MD, tfMC or anneal windows between "
    "removals (docs/results/bulk-plateau): peaks still 0.97-1.45 V; energy balance 0.51-0.64 V. "
    "Galvanostatic removal voltages are unrelaxed single points on a crystal that cannot "
    "transform in ps (docs/engine.md, 'Plateau of bulk c-Li15Si4')"))
def test_plateau_of_a_c_li15si4_cell_is_the_c_to_a_voltage(cell, tmp_path):
    res = run(_cfg(tmp_path / "g.toml", cell, GALV, pressure_bar=0.0), quiet=True)
    assert res.status == "done" and res.x_end == pytest.approx(1.1, abs=1 / 16)
    summary = write_voltage_outputs(RunDir(tmp_path / "g").path)
    c_to_a = known_c_to_a_voltage_v(POT)
    assert c_to_a == pytest.approx(0.477, abs=0.01)
    assert abs(summary["dqdv_peak_v"] - c_to_a) <= 0.1, (summary["dqdv_peak_v"], c_to_a)

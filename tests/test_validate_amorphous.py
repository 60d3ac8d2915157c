"""Amorphous-path validation: fast subset (one x, 32 Si, one seed, 'fast' melt-quench).

Asserts meam-cui2012's own measured numbers, so a regression in the potential, the builder's
melt-quench or the analysis is caught; the DFTB references are printed on failure, not asserted.
"""

from __future__ import annotations

import json

import pytest

from dealloy.errors import ConfigError
from dealloy.potentials.amorphous import check_series, reference_at, validate_amorphous


def test_bad_series_inputs_fail_before_md():
    with pytest.raises(ConfigError, match=r"\[0, 3.75\]"):
        check_series([4.0], 128, 3)
    with pytest.raises(ConfigError, match="at least 32"):
        check_series([1.0], 16, 3)
    with pytest.raises(ConfigError, match="seeds"):
        check_series([1.0], 128, 0)
    assert check_series([3.75, 1.0], 128, 3) == (0.0, 1.0, 3.75)  # a-Si end member added


def test_a_melt_quench_the_potential_cannot_finish_is_a_recorded_failure(monkeypatch):
    import dealloy.potentials.amorphous as A
    from dealloy.errors import SimulationError

    def lost(*args, **kwargs):
        raise SimulationError("LAMMPS error in 'run 1000': Lost atoms: original 96 current 95")

    monkeypatch.setattr(A, "amorphous_lisi", lost)
    job = {"x": 2.0, "seed": 1, "n_si": 32, "potential": "meam-cui2012", "protocol": {}}
    assert A._one_or_failure(job) == {
        "x": 2.0, "seed": 1, "n_si": 32,
        "failed": "SimulationError: LAMMPS error in 'run 1000': Lost atoms: original 96 current 95"}

    def bad_input(*args, **kwargs):
        raise ConfigError("protocol must be one of ...")

    monkeypatch.setattr(A, "amorphous_lisi", bad_input)
    with pytest.raises(ConfigError):  # bad input is not a result: it still stops the series
        A._one_or_failure(job)


@pytest.mark.slow
def test_fast_subset_meam_cui2012(tmp_path, dealloy_cli):
    res = dealloy_cli("validate-potential", "meam-cui2012", "--amorphous", "--xs", "2.0",
                      "--n-si", "32", "--seeds", "1", "--jobs", "1", "--protocol", "fast",
                      "--json", tmp_path / "a.json", "--plots", tmp_path, "--report",
                      tmp_path / "a.md", "--cache", tmp_path / "cache", "--quiet", check=True)
    data = json.loads((tmp_path / "a.json").read_text())["amorphous"][0]
    row = {r["x"]: r for r in data["per_x"]}[2.0]
    got = {k: row[k]["mean"] for k in ("volume_per_si_angstrom3", "si_si_cn", "isolated",
                                       "formation_ev_per_atom", "largest_si_cluster_fraction")}
    msg = f"measured {got}; DFTB reference at x = 2: {reference_at(2.0)}\n{res.stdout}"
    assert got["volume_per_si_angstrom3"] == pytest.approx(47.18, abs=0.5), msg
    assert got["si_si_cn"] == pytest.approx(1.69, abs=0.15), msg
    assert got["isolated"] == pytest.approx(0.156, abs=0.07), msg
    assert got["formation_ev_per_atom"] == pytest.approx(-0.179, abs=0.01), msg
    c = data["li15si4"]
    assert c["formation_ev_per_atom_vs_c_si"] == pytest.approx(-0.0859, abs=0.001)
    assert c["extraction_ev_per_li"] == pytest.approx(0.1088, abs=0.001)
    # the departure summary the default-potential choice rests on is the table's own numbers
    dev = data["deviations"]
    a_si = {r["x"]: r for r in data["per_x"]}[0.0]
    assert dev["si_si_cn_a_si"] == pytest.approx(a_si["si_si_cn"]["mean"] - 3.88)
    assert dev["si_si_cn_rms"] == pytest.approx(
        ((dev["si_si_cn_a_si"] ** 2 + (got["si_si_cn"] - 1.44) ** 2) / 2) ** 0.5)
    assert dev["li15si4_extraction_ev_per_li"] == pytest.approx(c["extraction_ev_per_li"] - 0.307)
    assert "Departure from the references" in (tmp_path / "a.md").read_text()
    # the melt was liquid and the structure is what the table says it is
    assert row["melt_msd_si_angstrom2"]["mean"] > 5.0
    # both species diffuse in the melt, Li (light, low melting point) faster than Si
    assert row["melt_msd_li_angstrom2"]["mean"] > row["melt_msd_si_angstrom2"]["mean"]
    assert "Fernandez" in res.stdout and "0.43 V" in res.stdout
    assert (tmp_path / "amorphous-voltage.png").stat().st_size > 1000
    assert "meam-cui2012" in (tmp_path / "a.md").read_text()

    # the cache: one file per (x, seed) cell; a rerun serves the cells from it (an edited value
    # comes through) instead of melt-quenching again
    cached = sorted((tmp_path / "cache").glob("*.json"))
    assert len(cached) == 2  # x = 2 and the a-Si end member
    for f in cached:
        d = json.loads(f.read_text())
        if d["x"] == 2.0:
            d["si_si_cn"] = 9.99
            f.write_text(json.dumps(d))
    a_si = next(f for f in cached if json.loads(f.read_text())["x"] == 0.0)
    a_si.unlink()  # one cell lost: only that one is melt-quenched again, and the series says so
    said = []
    again = validate_amorphous("meam-cui2012", xs=[2.0], n_si=32, seeds=1, protocol="fast",
                               cache_dir=tmp_path / "cache", progress=said.append)
    assert {r["x"]: r for r in again.per_x}[2.0]["si_si_cn"]["mean"] == 9.99
    assert "1 cell(s) to melt-quench on 1 worker(s), biggest first (1 cached)" in said[1], said
    assert a_si.exists() and "x = 2.00 seed 0: cached" in said[0]
    # a cell whose melt-quench failed (cached as such) is left out, named, and the series goes
    # on; with no seed left at x = 2, that composition leaves the table
    x2 = next(f for f in cached if json.loads(f.read_text())["x"] == 2.0)
    x2.write_text(json.dumps({"x": 2.0, "seed": 0, "n_si": 32, "job": d["job"],
                              "failed": "SimulationError: Lost atoms: original 96 current 95"}))
    said = []
    broken = validate_amorphous("meam-cui2012", xs=[2.0], n_si=32, seeds=1, protocol="fast",
                                cache_dir=tmp_path / "cache", progress=said.append)
    assert [r["x"] for r in broken.per_x] == [0.0]
    assert [s for s in broken.samples if "failed" in s] == [
        {"x": 2.0, "seed": 0, "n_si": 32, "failed": "SimulationError: Lost atoms: original 96 current 95"}]
    assert any("x = 2 seed 0: the melt-quench failed (SimulationError: Lost atoms" in n
               for n in broken.notes)
    assert any("no seed survived at x = 2" in n for n in broken.notes)
    assert "note: x = 2 seed 0: the melt-quench failed" in broken.table()
    # a different cell size is a different cell: not served from this cache
    from dealloy.potentials.amorphous import _sample_key
    from dealloy.lammps.potentials import get_potential
    job = d["job"]
    assert _sample_key(job, get_potential("meam-cui2012")) != _sample_key(
        {**job, "n_si": 64}, get_potential("meam-cui2012"))

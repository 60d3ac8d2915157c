"""Crystal validation numbers of every shipped potential (the potential's own, not the reference).

A changed parameter file or a broken registry entry moves these numbers and fails here.
"""

from __future__ import annotations

import json

import pytest

from dealloy.lammps.potentials import get_potential
from dealloy.potentials.validate import li15si4_unit_cell, relax_bulk, validate_crystals

# Measured with LAMMPS 22 Jul 2025 (see potentials/README.md).
EXPECTED = {
    "meam-cui2012": dict(li_a_angstrom=3.452, li_ecoh_ev=1.647, si_a_angstrom=5.422,
                         si_ecoh_ev=4.629, li15si4_a_angstrom=10.589,
                         li15si4_formation_ev_per_atom=-0.0859, li15si4_bulk_modulus_gpa=37.8),
    "meam-godet2020": dict(li_a_angstrom=3.453, li_ecoh_ev=1.647, si_a_angstrom=5.431,
                           si_ecoh_ev=4.628, li15si4_a_angstrom=10.997,
                           li15si4_formation_ev_per_atom=-0.3414, li15si4_bulk_modulus_gpa=23.6),
}
TOL = dict(li_a_angstrom=0.002, li_ecoh_ev=0.002, si_a_angstrom=0.002, si_ecoh_ev=0.002,
           li15si4_a_angstrom=0.005, li15si4_formation_ev_per_atom=0.001,
           li15si4_bulk_modulus_gpa=1.0)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_crystal_validation_numbers(name):
    res = validate_crystals(name, md_ps=2.0)
    for key, want in EXPECTED[name].items():
        got = getattr(res, key)
        assert got == pytest.approx(want, abs=TOL[key]), f"{name} {key}: {got} vs {want}\n{res.table()}"
    assert res.li15si4_spacegroup_relaxed == 220
    assert res.li15si4_spacegroup_after_md == 220, res.table()
    assert 10.5 < res.li15si4_a_300k_angstrom < 11.2


def test_reaxff_li15si4_relaxation(reaxff_ffield):
    """ReaxFF (user ffield): relaxed c-Li15Si4 and its formation energy (real units converted)."""
    pot = get_potential("reaxff", ffield=reaxff_ffield)
    from ase.build import bulk

    lisi, e_lisi = relax_bulk(li15si4_unit_cell(), pot)
    li, e_li = relax_bulk(bulk("Li", "bcc", a=3.45, cubic=True).repeat(3), pot)
    si, e_si = relax_bulk(bulk("Si", "diamond", a=5.45, cubic=True), pot)
    ef = (e_lisi - 60 * e_li / len(li) - 16 * e_si / len(si)) / 76
    a = lisi.get_volume() ** (1 / 3)
    assert a == pytest.approx(10.629, abs=0.01)
    assert ef == pytest.approx(-0.217, abs=0.004)


@pytest.mark.slow
def test_validate_potential_cli_writes_json(tmp_path, dealloy_cli):
    out = tmp_path / "v.json"
    res = dealloy_cli("validate-potential", "meam-cui2012", "--md-ps", "1", "--json", out, "--quiet",
                      check=True)
    assert "c-Li15Si4 E_f" in res.stdout and "-0.243" in res.stdout  # reference printed beside
    data = json.loads(out.read_text())
    assert data["crystal"][0]["potential"] == "meam-cui2012"

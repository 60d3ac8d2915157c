"""Fitting without surprises (issue 14): a shipped potential cannot be shadowed by a fit of the same
name, the standard data set never silently drops its PBE crystals, and the provenance says which
crystals and which command made a data set. Base install only (no teacher needed)."""

from __future__ import annotations

import shutil

import pytest

from dealloy.errors import ConfigError
from dealloy.fit.dataset import (PBE_CRYSTAL_FILES, DataSpec, crystals_provenance,
                                 default_crystals_dir, reference_crystals)
from dealloy.fit.workflow import check_request
from dealloy.info import versions
from dealloy.lammps.potentials import potentials_dir

needs_pbe = pytest.mark.skipif(default_crystals_dir() is None,
                               reason="needs ../shared/reference/pbe-crystals")


def test_a_fit_named_like_a_shipped_potential_is_refused_outside_the_shipped_folder(tmp_path):
    # 'lisi-7net' with the pod student is pod-lisi-7net, which ships: written to a user folder it
    # would win in the registry and change every run that names it -- refused even with --force
    with pytest.raises(ConfigError, match=r"'pod-lisi-7net' is a shipped potential.*shadow"):
        check_request("lisi-7net", ["pod"], tmp_path, force=True)
    # refitting it in place (a checkout's potentials/) stays possible, with --force
    assert check_request("lisi-7net", ["pod"], potentials_dir(), force=True) == ["pod-lisi-7net"]
    with pytest.raises(ConfigError, match="already exists"):
        check_request("lisi-7net", ["pod"], potentials_dir(), force=False)
    assert check_request("lisi-7net-mine", ["pod"], tmp_path, force=False) == ["pod-lisi-7net-mine"]


def test_info_says_where_a_fitted_potential_is_read_from(tmp_path, monkeypatch):
    assert versions()["fitted_potentials"]["pod-lisi-7net"]["source"] == "shipped"
    shutil.copytree(potentials_dir() / "pod-lisi-7net", tmp_path / "pod-lisi-7net")
    monkeypatch.setenv("DEALLOY_USER_POTENTIALS_DIR", str(tmp_path))
    row = versions()["fitted_potentials"]["pod-lisi-7net"]
    assert row == {"folder": str(tmp_path / "pod-lisi-7net"),
                   "source": "user folder, shadows the shipped one"}


def test_two_user_folders_with_one_potential_name_resolve_to_the_folder_named_like_it(
        tmp_path, monkeypatch):
    import json

    from dealloy.lammps.potentials import get_potential

    # a kept earlier version renamed on disk ('mine-old'), its manifest still saying 'pod-mine':
    # it sorts after 'pod-mine' and used to win silently
    for folder in ("pod-mine", "pod-mine-old"):
        shutil.copytree(potentials_dir() / "pod-lisi-7net", tmp_path / folder)
        man = json.loads((tmp_path / folder / "potential.json").read_text())
        man["name"] = "pod-mine"
        (tmp_path / folder / "potential.json").write_text(json.dumps(man))
    monkeypatch.setenv("DEALLOY_USER_POTENTIALS_DIR", str(tmp_path))
    with pytest.warns(UserWarning, match=r"'pod-mine' and 'pod-mine-old' both hold potential "
                                         r"'pod-mine'; using 'pod-mine'"):
        pot = get_potential("pod-mine")
    assert pot.files[0].parent == tmp_path / "pod-mine"


def test_standard_preset_refuses_to_run_without_the_pbe_crystals(tmp_path, monkeypatch):
    monkeypatch.setenv("DEALLOY_PBE_CRYSTALS", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match=r"crystals_dir: the 'standard' preset needs the PBE"):
        DataSpec.preset("standard")
    with pytest.raises(ConfigError, match="Li15Si4.xyz"):
        DataSpec.preset("standard", crystals_dir=str(tmp_path))  # a folder without the files
    spec = DataSpec.preset("tiny")  # the tiny preset may fall back, but says so
    with pytest.warns(UserWarning, match="no PBE reference crystals"):
        crystals = reference_crystals(spec.crystals_dir)
    assert sorted(crystals) == ["Li", "Li15Si4", "Si"]
    assert crystals_provenance()["source"] == "builders' end members (no PBE folder)"


@needs_pbe
def test_provenance_names_the_crystals_and_the_preset():
    prov = crystals_provenance()
    assert sorted(prov["files"]) == sorted(PBE_CRYSTAL_FILES)
    assert all(len(h) == 64 for h in prov["files"].values())
    assert prov["folder"] == str(default_crystals_dir().resolve())
    assert DataSpec.preset("standard").preset_name() == "standard"
    assert DataSpec.preset("tiny").preset_name() == "tiny"
    assert DataSpec.preset("tiny", n_si=7).preset_name() is None

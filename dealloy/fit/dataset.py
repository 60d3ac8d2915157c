"""Training configurations for a Li-Si student potential, their teacher labels, and the data set.

The data set is an extxyz file (plain, or xz-compressed as ``*.extxyz.xz``, the form a fitted
potential's folder keeps) plus a provenance JSON with its sha256 checksum.

Configurations are made by dealloy's own machinery, by *family* (``FAMILIES``):

``crystal``
    the PBE reference crystals (bcc Li, diamond Si, LiSi, Li12Si7, Li7Si3, Li13Si4, Li15Si4;
    ``../shared/reference/pbe-crystals``, Oviedo et al., J. Phys. Chem. A 127 (2023) 2637) -- or,
    without that folder, the builders' bcc Li, diamond Si and c-Li15Si4 -- randomly strained
    (volumetric and shear, up to ``strain_max``) and rattled.
``liquid``
    snapshots of the melt (``melt_temperature_k``) of a-LixSi cells started by the amorphous
    builder's random packing (:func:`dealloy.builders.amorphous.random_packing`) at each x.
``amorphous``
    snapshots along the quench at each rate in ``quench_rates_k_per_s`` and the box-relaxed
    end state (the builder's melt-quench route, driven by ``structure_potential``).
``surface``
    c-Li15Si4 (100) and a-LixSi slabs (vacuum along z), minimised and rattled.
``fragment``
    spheres cut from the a-LixSi cells, in vacuum (Si clusters, Li-rich crusts), minimised.
``shortrange``
    what the other families never reach and MD must not fall into: random packings (no pair
    closer than 1.5 or 1.8 Å, unrelaxed) of small a-LixSi cells, and the small crystals compressed
    by 8-12 % and rattled. Without them a POD student minimised a random a-Li3.75Si packing to
    -374 eV/atom (an attractive hole below ~2 Å).
``delithiated``
    what dealloying leaves: c-Li15Si4 and a-LixSi cells with a random 10-50 % of their Li
    removed (Li vacancies), minimised and after a short MD at 600 K.

The MD that makes the structures uses a cheap registry potential (``structure_potential``,
default meam-godet2020); only the labels come from the teacher. Labels are cached per
configuration (sha256 of species, positions, cell and the teacher's identity) so an interrupted
labelling resumes where it stopped.

References
----------
.. [OV] M. B. Oviedo, F. Fernandez, M. Otero, E. P. M. Leiva, S. A. Paz, "Density Functional
   Tight-Binding Model for Lithium-Silicon Alloys", J. Phys. Chem. A 127 (2023) 2637 (the PBE
   reference crystals, Materials Project settings).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
import warnings
import dataclasses
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator

from dealloy.builders.amorphous import random_packing, ref_volume_per_si
from dealloy.lammps.session import LammpsSession
from dealloy.errors import ConfigError
from dealloy.io import atomic_path, file_sha256, progress_hook, write_json
from dealloy.lammps.potentials import DEFAULT_POTENTIAL, ELEMENTS, get_potential
from dealloy.materials import X_LI15SI4
from dealloy.potentials.validate import li15si4_unit_cell
from dealloy.io import write_structure

FAMILIES = ("crystal", "liquid", "amorphous", "surface", "fragment", "delithiated", "shortrange")
PBE_CRYSTAL_FILES = ("Li.xyz", "Si.xyz", "LiSi.xyz", "Li12Si7.xyz", "Li7Si3.xyz", "Li13Si4.xyz",
                     "Li15Si4.xyz")
DATASET_SCHEMA = 1
#: the copy of its labelled data set that every fitted potential's folder keeps (xz, which,
#: unlike gzip, stores no time stamp: the same set gives the same bytes and checksum)
DATASET_FILE = "dataset.extxyz.xz"
#: info key naming the PBE reference crystal file (``"Li15Si4.xyz"``) a configuration was made
#: from, set when it is made (sets made before 2026-12-01 are recognised by their ``source``)
MADE_FROM = "made_from_crystal"
#: Presets whose data set needs the PBE reference crystals (no silent fallback to the builders').
PRESETS_NEEDING_PBE_CRYSTALS = ("standard",)


def default_crystals_dir() -> Path | None:
    """``$DEALLOY_PBE_CRYSTALS``, else ``<repository>/../shared/reference/pbe-crystals`` if present."""
    env = os.environ.get("DEALLOY_PBE_CRYSTALS")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parents[2]
    cand = here.parent / "shared" / "reference" / "pbe-crystals"
    return cand if cand.is_dir() else None


_PRESETS = {
    "tiny": dict(strains_per_crystal=2, xs=(0.0, 1.0, 3.75), n_si=6, melt_ps=0.5,
                 quench_rates_k_per_s=(1e15,), snapshots_per_stage=1, relax_ps=0.2,
                 fragment_radius_angstrom=4.0, max_atoms=80),
    "standard": dict(strains_per_crystal=12, xs=(0.0, 0.25, 0.5, 1.0, 1.5, 1.75, 2.0, 2.5,
                                                 3.0, 3.25, 3.5, 3.75),
                     n_si=16, seeds=2, melt_ps=4.0, quench_rates_k_per_s=(1e14, 1e15),
                     snapshots_per_stage=4, relax_ps=4.0),
}


@dataclass
class DataSpec:
    """What configurations to make (sizes are per family; times in ps, temperatures in K).

    ``preset("tiny")`` is the end-to-end test (a few dozen small cells); ``preset("standard")``
    the shipped potential's data set.

    Attributes
    ----------
    crystals_dir : str or None
        Folder of the PBE reference crystals; None: :func:`default_crystals_dir`, else the
        builders' bcc Li, diamond Si and c-Li15Si4.
    strains_per_crystal : int
        Strained copies of each crystal.
    strain_max : float
        Largest strain component (dimensionless; volumetric and shear).
    rattle_angstrom : float
        Standard deviation of the random displacements, Å.
    xs : tuple of float
        Li/Si of the amorphous cells, each in [0, 3.75].
    n_si : int
        Si per amorphous cell (>= 2).
    seeds : int
        Melt-quenches per x and quench rate.
    melt_temperature_k : float
        Melt temperature, K.
    melt_ps : float
        Time in the melt, ps.
    quench_rates_k_per_s : tuple of float
        Quench rates, K/s, each in (0, 1e15].
    snapshots_per_stage : int
        Snapshots taken in the melt and along the quench.
    relax_ps : float
        NPT relaxation at 300 K after the quench, ps.
    crystals, surfaces, fragments, delithiated, shortrange : bool
        Make the ``crystal``, ``surface``, ``fragment``, ``delithiated`` and ``shortrange``
        families (the ``liquid`` and ``amorphous`` families are always made: ``xs`` empty to
        make none).
    fragment_radius_angstrom : float
        Radius of the spheres cut from the amorphous cells, Å.
    vacuum_angstrom : float
        Vacuum around slabs and fragments, Å.
    max_atoms : int
        Crystals larger than this are skipped; larger configurations of other families are
        reported (kept).
    structure_potential : str
        Registry potential of the MD that makes the structures (not the labels).
    seed : int
        Random seed of the whole set.
    """

    crystals_dir: str | None = None
    strains_per_crystal: int = 6
    strain_max: float = 0.04
    rattle_angstrom: float = 0.05
    xs: tuple = (0.0, 0.5, 1.0, 1.75, 2.5, 3.25, 3.75)
    n_si: int = 16
    seeds: int = 1
    melt_temperature_k: float = 2500.0
    melt_ps: float = 2.0
    quench_rates_k_per_s: tuple = (1e14,)
    snapshots_per_stage: int = 2
    relax_ps: float = 1.0
    crystals: bool = True
    surfaces: bool = True
    fragments: bool = True
    delithiated: bool = True
    shortrange: bool = True
    fragment_radius_angstrom: float = 5.0
    vacuum_angstrom: float = 6.0
    max_atoms: int = 160
    structure_potential: str = DEFAULT_POTENTIAL
    seed: int = 0

    @classmethod
    def preset(cls, name: str, **overrides) -> "DataSpec":
        """Give a named data-set specification.

        Parameters
        ----------
        name : str
            ``"tiny"`` (the end-to-end test: a few dozen small cells) or ``"standard"`` (the
            shipped potential's data set).
        **overrides
            Fields to change from the preset.

        Returns
        -------
        DataSpec
            The specification.

        Raises
        ------
        ConfigError
            An unknown preset name.
        """
        presets = _PRESETS
        if name not in presets:
            raise ConfigError(f"data preset must be one of {', '.join(presets)}, got {name!r}")
        spec = cls(**{**presets[name], **overrides})
        if name in PRESETS_NEEDING_PBE_CRYSTALS:
            folder = Path(spec.crystals_dir) if spec.crystals_dir else default_crystals_dir()
            missing = [f for f in PBE_CRYSTAL_FILES
                       if folder is None or not (folder / f).is_file()]
            if missing:
                where = folder or "$DEALLOY_PBE_CRYSTALS or ../shared/reference/pbe-crystals"
                raise ConfigError(
                    f"crystals_dir: the {name!r} preset needs the PBE reference crystals; "
                    f"{', '.join(missing)} not found in {where}. Give --crystals-dir (or set "
                    "DEALLOY_PBE_CRYSTALS) to the pbe-crystals folder; only the 'tiny' preset "
                    "falls back to the builders' Li, Si and c-Li15Si4 without PBE energies")
        return spec

    @classmethod
    def from_toml(cls, path) -> "DataSpec":
        """Read a data-set specification of one's own from a TOML file.

        The file holds :class:`DataSpec` fields at its top level; an optional ``preset`` key
        (``"tiny"`` or ``"standard"``) is the base the other keys change. A supplement of 64-Si
        a-Si cells only, for example::

            xs = [0.0]
            n_si = 64
            seeds = 3
            quench_rates_k_per_s = [1e13, 1e14]
            crystals = false
            surfaces = false
            fragments = false
            delithiated = false
            shortrange = false

        Parameters
        ----------
        path : str or pathlib.Path
            The TOML file.

        Returns
        -------
        DataSpec
            The specification (not yet :meth:`check`-ed against the registry).

        Raises
        ------
        ConfigError
            The file is missing or not TOML, a key is not a field (the message lists the
            fields), or a value has the wrong type for its field.
        """
        from dealloy.config import load_toml  # deferred: the fit layer's only TOML input

        doc = load_toml(path)
        preset = doc.pop("preset", None)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(doc) - set(fields))
        if unknown:
            raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}; a data spec takes "
                              f"preset and {', '.join(fields)}")
        base = asdict(cls.preset(preset) if preset is not None else cls())
        out = {}
        for key, value in doc.items():
            default = base[key] if base[key] is not None else ""
            if isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif isinstance(default, float):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                value = float(value) if ok else value
            elif isinstance(default, tuple):
                ok = isinstance(value, list) and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
                value = tuple(float(v) for v in value) if ok else value
            else:
                ok = isinstance(value, str)
            if not ok:
                kind = ("true or false" if isinstance(default, bool) else "an integer"
                        if isinstance(default, int) else "a number" if isinstance(default, float)
                        else "a list of numbers" if isinstance(default, tuple) else "a string")
                raise ConfigError(f"{path}: {key} must be {kind}, got {value!r}")
            out[key] = value
        return cls(**{**base, **out})

    def preset_name(self) -> str | None:
        """Name the preset this specification equals (``crystals_dir`` aside), if any.

        Returns
        -------
        str or None
            ``"tiny"``, ``"standard"``, or None for a specification of one's own.
        """
        mine = {k: v for k, v in asdict(self).items() if k != "crystals_dir"}
        for name, fields in _PRESETS.items():
            other = DataSpec(**fields)
            if {k: v for k, v in asdict(other).items() if k != "crystals_dir"} == mine:
                return name
        return None

    def check(self) -> None:
        """Check the specification before any MD.

        Raises
        ------
        ConfigError
            An x outside [0, 3.75], ``n_si`` < 2, a quench rate outside (0, 1e15] K/s, a
            missing ``crystals_dir``, or an unknown ``structure_potential``.
        """
        bad = [x for x in self.xs if not 0.0 <= float(x) <= X_LI15SI4]
        if bad:
            raise ConfigError(f"xs must lie in [0, {X_LI15SI4}], got {bad}")
        if self.n_si < 2:
            raise ConfigError(f"n_si must be >= 2 Si per amorphous cell, got {self.n_si}")
        if any(r <= 0 or r > 1e15 for r in self.quench_rates_k_per_s):
            raise ConfigError("quench_rates_k_per_s must lie in (0, 1e15] K/s")
        if self.crystals_dir and not Path(self.crystals_dir).is_dir():
            raise ConfigError(f"crystals_dir: no such folder {self.crystals_dir}; give the "
                              "pbe-crystals folder or leave it empty for the builders' crystals")
        get_potential(self.structure_potential)


# ---- configurations ----------------------------------------------------------------------
def config_hash(atoms: Atoms) -> str:
    """Hash a configuration: the identity of its label in the cache and the data set.

    Parameters
    ----------
    atoms : ase.Atoms
        The configuration.

    Returns
    -------
    str
        First 16 hex digits of the sha256 of species, positions (rounded to 1e-6 Å), cell and
        periodicity.
    """
    h = hashlib.sha256()
    h.update(np.asarray(atoms.numbers, np.int64).tobytes())
    h.update(np.round(atoms.positions, 6).astype(np.float64).tobytes())
    h.update(np.round(atoms.cell.array, 6).astype(np.float64).tobytes())
    h.update(np.asarray(atoms.pbc, bool).tobytes())
    return h.hexdigest()[:16]


def _tag(atoms: Atoms, family: str, source: str, crystal: Atoms | None = None,
         name: str = "") -> Atoms:
    a = Atoms(atoms.get_chemical_symbols(), positions=atoms.positions, cell=atoms.cell,
              pbc=True)
    a.wrap()
    a.info = {"family": family, "source": source}
    if crystal is not None and "pbe_energy_ev" in crystal.info:  # made from a PBE crystal
        a.info[MADE_FROM] = f"{name}.xyz"
    a.info["config_id"] = config_hash(a)
    return a


def reference_crystals(crystals_dir=None) -> dict[str, Atoms]:
    """Read the PBE reference crystals [OV]_, or make the builders' end members without a folder.

    Parameters
    ----------
    crystals_dir : str or pathlib.Path, optional
        Folder with ``Li.xyz``, ``Si.xyz``, ``LiSi.xyz``, ``Li12Si7.xyz``, ``Li7Si3.xyz``,
        ``Li13Si4.xyz``, ``Li15Si4.xyz``; default :func:`default_crystals_dir`.

    Returns
    -------
    dict
        Phase name (``"Li"``, ``"Li15Si4"``, ...) -> ase.Atoms with the PBE total energy (eV)
        in ``info['pbe_energy_ev']``; without the folder bcc Li (a = 3.44 Å, 54 atoms),
        diamond Si (a = 5.47 Å) and c-Li15Si4 (a = 10.56 Å), no energies.
    """
    import ase.io

    d = Path(crystals_dir) if crystals_dir else default_crystals_dir()
    out = {}
    if d is not None and d.is_dir():
        for f in PBE_CRYSTAL_FILES:
            if (d / f).is_file():
                a = ase.io.read(d / f)
                e = a.get_potential_energy() if a.calc is not None else a.info.get("energy")
                a.calc = None
                a.info = {"pbe_energy_ev": float(e)} if e is not None else {}
                out[f[:-4]] = a
    if not out:
        warnings.warn(f"no PBE reference crystals in {d or 'any folder'} ($DEALLOY_PBE_CRYSTALS, "
                      "../shared/reference/pbe-crystals): the crystal family uses the builders' "
                      "bcc Li, diamond Si and c-Li15Si4, and there are no PBE energies for the "
                      "crystal-hull check", stacklevel=2)
        out = {"Li": bulk("Li", "bcc", a=3.44, cubic=True).repeat(3),
               "Si": bulk("Si", "diamond", a=5.47, cubic=True),
               "Li15Si4": li15si4_unit_cell(10.56)}
    return out


def crystals_provenance(crystals_dir=None) -> dict:
    """Say which reference crystals a data set's crystal family was made from.

    Parameters
    ----------
    crystals_dir : str or pathlib.Path, optional
        As for :func:`reference_crystals`; default :func:`default_crystals_dir`.

    Returns
    -------
    dict
        ``folder`` (the resolved path, or None), ``files`` (file name -> sha256 of each PBE
        crystal read) and ``source`` (``"PBE reference crystals (Oviedo et al. 2023)"`` or
        ``"builders' end members (no PBE folder)"``).
    """
    d = Path(crystals_dir) if crystals_dir else default_crystals_dir()
    files = {}
    if d is not None and d.is_dir():
        files = {f: file_sha256(d / f) for f in PBE_CRYSTAL_FILES if (d / f).is_file()}
    return {"folder": str(d.resolve()) if files else None, "files": files,
            "source": "PBE reference crystals (Oviedo et al. 2023)" if files
            else "builders' end members (no PBE folder)"}


def _strained(a: Atoms, rng, strain_max: float, rattle: float) -> Atoms:
    b = a.copy()
    eps = rng.uniform(-strain_max, strain_max, (3, 3))
    eps = 0.5 * (eps + eps.T)
    b.set_cell(b.cell.array @ (np.eye(3) + eps), scale_atoms=True)
    b.positions += rng.normal(0.0, rattle, b.positions.shape)
    return b


def crystal_configs(spec: DataSpec, rng) -> list[Atoms]:
    """Make the ``crystal`` family: each reference crystal as given, strained and rattled.

    Parameters
    ----------
    spec : DataSpec
        What to make (sizes, temperatures in K, times in ps, lengths in Å).
    rng : numpy.random.Generator
        Random stream (strains, rattles, choices).

    Returns
    -------
    list of ase.Atoms
        Tagged configurations (``info``: family, source, config_id, and made_from_crystal:
        the PBE crystal's file name, for a crystal read from the PBE folder).
    """
    out = []
    for name, a in reference_crystals(spec.crystals_dir).items():
        if len(a) > spec.max_atoms:  # keep labelling cheap: the primitive-ish cell suffices
            continue
        out.append(_tag(a, "crystal", f"{name} as given", a, name))
        for k in range(spec.strains_per_crystal):
            s = spec.strain_max * (k + 1) / spec.strains_per_crystal
            out.append(_tag(_strained(a, rng, s, spec.rattle_angstrom), "crystal",
                            f"{name} strain<={s:.3f} rattle {spec.rattle_angstrom} A", a, name))
    return out


def _snap(s: LammpsSession) -> Atoms:
    a = s.get_atoms(velocities=False)
    del a.arrays["id"]  # LAMMPS ids: a subset (delithiation) must be renumbered
    return a


def _checkpointed(cache_dir, key: dict, make):
    """Return ``make()`` (a list of Atoms), cached as ``cache_dir/<hash of key>.extxyz``."""
    # written atomically and read back on a rerun: an interrupted generation loses at most the
    # job in flight
    import ase.io

    if cache_dir is None:
        return make()
    h = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"{h}.extxyz"
    if path.is_file():
        return ase.io.read(path, index=":")
    out = make()

    write_structure(path, out, format="extxyz")
    return out


def amorphous_configs(spec: DataSpec, rng, cache_dir=None,
                      progress=None) -> tuple[list[Atoms], list[Atoms]]:
    """Make the ``liquid`` and ``amorphous`` families by melt-quenching a-LixSi cells.

    One melt-quench per x, seed and quench rate, each with its own random stream, checkpointed
    in ``cache_dir``.

    Parameters
    ----------
    spec : DataSpec
        What to make (sizes, temperatures in K, times in ps, lengths in Å).
    rng : numpy.random.Generator
        Random stream of the caller (each melt-quench seeds its own from ``spec.seed``).
    cache_dir : str or pathlib.Path, optional
        Where each finished melt-quench is kept (resumable); None: no cache.
    progress : callable, optional
        Progress sink (:func:`dealloy.io.progress_hook`).

    Returns
    -------
    snapshots : list of ase.Atoms
        Melt and quench snapshots and the relaxed end states.
    ends : list of ase.Atoms
        The relaxed end state of each melt-quench (``info['x']``).

    Raises
    ------
    ConfigError
        ``spec.structure_potential`` is not in the registry.
    SimulationError
        LAMMPS fails.
    """
    say = progress_hook(progress)
    snaps, ends = [], []
    jobs = [(ix, x, seed, ir, rate) for ix, x in enumerate(spec.xs) for seed in range(spec.seeds)
            for ir, rate in enumerate(spec.quench_rates_k_per_s)]
    t0 = time.time()
    say(done=0, total=len(jobs), task="melt-quenches")
    for k, (ix, x, seed, ir, rate) in enumerate(jobs):
        spec_key = {k: v for k, v in asdict(spec).items() if k not in ("shortrange",)}
        key = {"job": "melt-quench", "x": x, "seed": seed, "rate": rate, "spec": spec_key,
               "schema": 1}
        out = _checkpointed(cache_dir, key, lambda: _melt_quench_job(
            spec, x, seed, rate, np.random.default_rng([spec.seed, ix, seed, ir])))
        end = out[-1]
        end.info["x"] = x
        snaps += out
        ends.append(end)
        say(f"melt-quench {k + 1}/{len(jobs)} (x = {x:g}, {rate:.0e} K/s) done "
            f"({time.time() - t0:.0f} s)", done=k + 1, total=len(jobs), task="melt-quenches")
    return snaps, ends


def _melt_quench_job(spec: DataSpec, x: float, seed: int, rate: float, rng) -> list[Atoms]:
    """Melt snapshots, quench snapshots and the box-relaxed end state (last) of one cell."""
    pot = get_potential(spec.structure_potential)
    snaps = []
    n_snap = max(1, spec.snapshots_per_stage)
    n_li = int(round(x * spec.n_si))
    start = random_packing(n_li, spec.n_si, spec.n_si * ref_volume_per_si(x), rng)
    tag = f"x={x:g} seed={seed} rate={rate:.0e} K/s"
    t_melt, t_end = spec.melt_temperature_k, 300.0
    quench_ps = (t_melt - t_end) / (rate * 1e-12)
    with LammpsSession(start, pot) as s:
        s.minimize(ftol_ev_per_angstrom=1e-3, maxiter=1000)
        s.create_velocities(t_melt, int(rng.integers(1, 2**30)))
        for _ in range(n_snap):
            s.md(spec.melt_ps / n_snap, t_melt, ensemble="nvt")
            snaps.append(_tag(_snap(s), "liquid", f"{tag} melt {t_melt:g} K"))
        t0 = t_melt
        for k in range(n_snap):
            t1 = t_melt - (t_melt - t_end) * (k + 1) / n_snap
            s.md(quench_ps / n_snap, t0, t1, ensemble="npt")
            snaps.append(_tag(_snap(s), "amorphous", f"{tag} quench at {t1:.0f} K"))
            t0 = t1
        s.md(spec.relax_ps, t_end, ensemble="npt")
        s.minimize(box=True, ftol_ev_per_angstrom=1e-3, maxiter=2000)
        snaps.append(_tag(_snap(s), "amorphous", f"{tag} relaxed"))
    return snaps


def _minimised(a: Atoms, pot) -> Atoms:
    with LammpsSession(a, pot) as s:
        s.minimize(ftol_ev_per_angstrom=1e-2, maxiter=200)
        return s.get_atoms(velocities=False)


def surface_configs(spec: DataSpec, ends: list[Atoms], rng) -> list[Atoms]:
    """Make the ``surface`` family: a c-Li15Si4 (100) slab and a-LixSi slabs, minimised, rattled.

    Parameters
    ----------
    spec : DataSpec
        What to make (sizes, temperatures in K, times in ps, lengths in Å).
    ends : list of ase.Atoms
        Relaxed a-LixSi end states of the melt-quenches (``info['x']``; :func:`amorphous_configs`).
    rng : numpy.random.Generator
        Random stream (strains, rattles, choices).

    Returns
    -------
    list of ase.Atoms
        Tagged configurations (``info``: family, source, config_id).

    Raises
    ------
    ConfigError
        ``spec.structure_potential`` is not in the registry.
    SimulationError
        LAMMPS fails.
    """
    pot = get_potential(spec.structure_potential)
    out = []
    slab = li15si4_unit_cell(10.56)
    slab.center(vacuum=spec.vacuum_angstrom, axis=2)
    out.append(_tag(_minimised(slab, pot), "surface", "c-Li15Si4 (100) slab, minimised"))
    for end in ends:
        a = end.copy()
        a.center(vacuum=spec.vacuum_angstrom, axis=2)
        a = _minimised(a, pot)
        out.append(_tag(a, "surface", f"a-LixSi x={end.info.get('x', '?')} slab, minimised"))
        r = a.copy()
        r.positions += rng.normal(0.0, spec.rattle_angstrom, r.positions.shape)
        out.append(_tag(r, "surface", f"a-LixSi x={end.info.get('x', '?')} slab, rattled"))
    return out


def fragment_configs(spec: DataSpec, ends: list[Atoms], rng) -> list[Atoms]:
    """Make the ``fragment`` family: spheres cut from the a-LixSi cells, in vacuum, minimised.

    Parameters
    ----------
    spec : DataSpec
        What to make (sizes, temperatures in K, times in ps, lengths in Å).
    ends : list of ase.Atoms
        Relaxed a-LixSi end states of the melt-quenches (``info['x']``; :func:`amorphous_configs`).
    rng : numpy.random.Generator
        Unused (kept for a uniform signature of the family makers).

    Returns
    -------
    list of ase.Atoms
        Tagged configurations (``info``: family, source, config_id).

    Raises
    ------
    ConfigError
        ``spec.structure_potential`` is not in the registry.
    SimulationError
        LAMMPS fails.
    """
    pot = get_potential(spec.structure_potential)
    out = []
    R = spec.fragment_radius_angstrom
    for end in ends:
        big = end.repeat([max(1, int(math.ceil(2 * R / l))) for l in end.cell.lengths()])
        centre = big.cell.lengths() / 2
        d = np.linalg.norm(big.positions - centre, axis=1)
        keep = d <= R
        if keep.sum() < 2:
            continue
        frag = Atoms(np.array(big.get_chemical_symbols())[keep], positions=big.positions[keep])
        frag.center(vacuum=spec.vacuum_angstrom)
        frag.pbc = True
        frag = _minimised(frag, pot)
        out.append(_tag(frag, "fragment", f"sphere R={R:g} A from a-LixSi x={end.info.get('x', '?')}"))
    return out


def delithiated_configs(spec: DataSpec, ends: list[Atoms], rng) -> list[Atoms]:
    """Make the ``delithiated`` family: cells with 10-50 % of their Li removed.

    c-Li15Si4 and the a-LixSi end states with x >= 1; each minimised, then after a short MD at
    600 K.

    Parameters
    ----------
    spec : DataSpec
        What to make (sizes, temperatures in K, times in ps, lengths in Å).
    ends : list of ase.Atoms
        Relaxed a-LixSi end states of the melt-quenches (``info['x']``; :func:`amorphous_configs`).
    rng : numpy.random.Generator
        Random stream (strains, rattles, choices).

    Returns
    -------
    list of ase.Atoms
        Tagged configurations (``info``: family, source, config_id).

    Raises
    ------
    ConfigError
        ``spec.structure_potential`` is not in the registry.
    SimulationError
        LAMMPS fails.
    """
    pot = get_potential(spec.structure_potential)
    out = []
    for base in [li15si4_unit_cell(10.56)] + [e for e in ends if e.info.get("x", 0) >= 1.0]:
        li = [i for i, s in enumerate(base.get_chemical_symbols()) if s == "Li"]
        frac = float(rng.uniform(0.1, 0.5))
        drop = set(rng.choice(li, size=max(1, int(frac * len(li))), replace=False).tolist())
        a = base[[i for i in range(len(base)) if i not in drop]]
        with LammpsSession(a, pot) as s:
            s.minimize(ftol_ev_per_angstrom=1e-2, maxiter=200)
            out.append(_tag(s.get_atoms(velocities=False), "delithiated",
                            f"{len(drop)} of {len(li)} Li removed, minimised"))
            s.create_velocities(600.0, int(rng.integers(1, 2**30)))
            s.md(max(0.2, spec.relax_ps / 2), 600.0, ensemble="nvt")
            out.append(_tag(s.get_atoms(velocities=False), "delithiated",
                            f"{len(drop)} of {len(li)} Li removed, 600 K MD"))
    return out


def shortrange_configs(spec: DataSpec) -> list[Atoms]:
    """Make the ``shortrange`` family: close-packed random cells and compressed crystals.

    Random packings of 8 Si (no pair closer than 1.5 or 1.8 Å, unrelaxed) at x = 0 to 3.75,
    and the crystals of at most 80 atoms compressed by 8-12 % and rattled by 0.1 Å. Its own
    random stream (``spec.seed``, 7).

    Parameters
    ----------
    spec : DataSpec
        What to make (sizes, temperatures in K, times in ps, lengths in Å).

    Returns
    -------
    list of ase.Atoms
        Tagged configurations (``info``: family, source, config_id; a compressed PBE
        crystal also made_from_crystal, its file name).
    """
    rng = np.random.default_rng([spec.seed, 7])
    out = []
    for x in (0.0, 0.5, 1.0, 2.0, 3.0, 3.75):
        for _ in range(4):
            for dmin in (1.5, 1.8):
                a = random_packing(int(round(x * 8)), 8,
                                   8 * ref_volume_per_si(x) * rng.uniform(0.85, 1.1), rng,
                                   min_distance=dmin)
                out.append(_tag(a, "shortrange", f"random packing x={x:g} dmin={dmin} A"))
    for name, c in reference_crystals(spec.crystals_dir).items():
        if len(c) > 80:
            continue
        for f in (0.88, 0.92):
            b = c.copy()
            b.set_cell(b.cell * f, scale_atoms=True)
            b.positions += rng.normal(0.0, 0.1, b.positions.shape)
            out.append(_tag(b, "shortrange", f"{name} compressed x{f}, rattled 0.1 A", c, name))
    return out


def make_configurations(spec: DataSpec, progress=None, cache_dir=None) -> list[Atoms]:
    """Make all unlabelled configurations of ``spec``, family by family.

    Parameters
    ----------
    spec : DataSpec
        What to make (sizes, temperatures in K, times in ps, lengths in Å).
    progress : callable, optional
        Progress sink (:func:`dealloy.io.progress_hook`).
    cache_dir : str or pathlib.Path, optional
        Where the melt-quenches are checkpointed (resumable); None: no cache.

    Returns
    -------
    list of ase.Atoms
        Tagged configurations (``info``: family, source, config_id).

    Raises
    ------
    ConfigError
        An invalid ``spec`` (:meth:`DataSpec.check`).
    SimulationError
        LAMMPS fails.
    """
    say = progress_hook(progress)
    spec.check()
    rng = np.random.default_rng(spec.seed)
    t = time.time()
    configs = crystal_configs(spec, rng) if spec.crystals else []
    say(f"crystal: {len(configs)} configurations")
    snaps, ends = amorphous_configs(spec, rng, cache_dir=cache_dir, progress=say)
    configs += snaps
    say(f"liquid + amorphous: {len(snaps)} snapshots from {len(ends)} melt-quenches "
        f"({time.time() - t:.0f} s)")
    if spec.surfaces:
        s = surface_configs(spec, ends, rng)
        configs += s
        say(f"surface: {len(s)}")
    if spec.fragments:
        f = fragment_configs(spec, ends, rng)
        configs += f
        say(f"fragment: {len(f)}")
    if spec.delithiated:
        d = delithiated_configs(spec, ends, rng)
        configs += d
        say(f"delithiated: {len(d)}")
    if spec.shortrange:
        r = shortrange_configs(spec)
        configs += r
        say(f"shortrange: {len(r)}")
    big = [a for a in configs if len(a) > spec.max_atoms and a.info["family"] != "crystal"]
    if big:
        say(f"note: {len(big)} configurations exceed max_atoms={spec.max_atoms} (kept)")
    return configs


# ---- labels ------------------------------------------------------------------------------
def _label_path(cache_dir: Path, teacher_ident: str, atoms: Atoms) -> Path:
    t = hashlib.sha256(teacher_ident.encode()).hexdigest()[:12]
    return cache_dir / t / f"{atoms.info.get('config_id') or config_hash(atoms)}.json"


def label(configs: list[Atoms], teacher, cache_dir=None, progress=None) -> list[Atoms]:
    """Label each configuration with the teacher's energy, forces and stress.

    Each label is cached under ``cache_dir`` as soon as it exists, keyed by the teacher's
    identity and the configuration's hash, so a rerun computes only the missing ones.

    Parameters
    ----------
    configs : list of ase.Atoms
        Unlabelled configurations.
    teacher : dealloy.fit.teacher.Teacher
        The teacher (its calculator and identity).
    cache_dir : str or pathlib.Path, optional
        Label cache; None: no cache.
    progress : callable, optional
        Progress sink (:func:`dealloy.io.progress_hook`).

    Returns
    -------
    list of ase.Atoms
        Copies with a single-point calculator: energy (eV), forces (N, 3) (eV/Å), stress
        (eV/Å^3, Voigt xx yy zz yz xz xy); ``info['teacher']`` the teacher's identity.
    """
    say = progress_hook(progress)
    cache = Path(cache_dir) if cache_dir else None
    out, n_new, t0 = [], 0, time.time()
    paths = [_label_path(cache, teacher.ident, a) if cache else None for a in configs]
    n_todo = sum(1 for p in paths if p is None or not p.exists())  # the ETA counts new labels
    say(done=0, total=n_todo, task="teacher labels")
    for i, a in enumerate(configs):
        path = paths[i]
        if path is not None and path.exists():
            lab = json.loads(path.read_text())
        else:
            b = a.copy()
            b.calc = teacher.calculator
            lab = {"energy": float(b.get_potential_energy()),
                   "forces": np.asarray(b.get_forces(), float).tolist(),
                   "stress": np.asarray(b.get_stress(voigt=True), float).tolist(),
                   "teacher": teacher.ident}
            if path is not None:
                write_json(path, lab)
            n_new += 1
            say(done=n_new, total=n_todo, task="teacher labels")
            if n_new % 10 == 0 or i == len(configs) - 1:
                say(f"labelled {i + 1}/{len(configs)} ({n_new} new, {time.time() - t0:.0f} s)")
        b = a.copy()
        b.calc = SinglePointCalculator(b, energy=lab["energy"], forces=np.array(lab["forces"]),
                                       stress=np.array(lab["stress"]))
        b.info["teacher"] = teacher.ident
        out.append(b)
    say(f"labels: {len(configs) - n_new} cached, {n_new} computed in {time.time() - t0:.0f} s")
    return out


#: edge of the cubic, non-periodic box of the teacher's isolated atom, Å (far beyond the teachers'
#: 5-6 Å graph cutoffs)
ISOLATED_ATOM_BOX_ANGSTROM = 20.0


def teacher_isolated_atoms(teacher, cache_dir=None) -> dict:
    """Compute the teacher's energy of one isolated atom of each element (cached).

    One atom in the middle of a cubic non-periodic box of :data:`ISOLATED_ATOM_BOX_ANGSTROM`
    through the teacher's ASE calculator: the reference energies of the student's fit
    (:func:`dealloy.fit.students.fit_pod`), the standard choice of ACE, GAP and MACE fits
    [ACE]_. Cached in ``cache_dir`` beside the labels, keyed by the teacher's identity.

    Parameters
    ----------
    teacher : dealloy.fit.teacher.Teacher
        The teacher (its calculator and identity).
    cache_dir : str or pathlib.Path, optional
        Label cache (``<cache_dir>/<teacher hash>/isolated-atoms.json``); None: no cache.

    Returns
    -------
    dict
        ``{"Li": eV, "Si": eV}``.

    Raises
    ------
    ConfigError
        The teacher gives a non-finite energy.

    References
    ----------
    .. [ACE] R. Drautz, "Atomic cluster expansion for accurate and transferable interatomic
       potentials", Phys. Rev. B 99 (2019) 014104, doi:10.1103/PhysRevB.99.014104; the same
       isolated-atom reference is MACE's ``E0s`` (I. Batatia et al., NeurIPS 2022,
       arXiv:2206.07697) and GAP's ``e0`` (A. P. Bartók et al., Phys. Rev. Lett. 104 (2010)
       136403, doi:10.1103/PhysRevLett.104.136403).
    """
    path = None
    if cache_dir:
        t = hashlib.sha256(teacher.ident.encode()).hexdigest()[:12]
        path = Path(cache_dir) / t / "isolated-atoms.json"
        if path.is_file():
            doc = json.loads(path.read_text())
            if doc.get("teacher") == teacher.ident and set(doc.get("energies_ev", {})) >= set(ELEMENTS):
                return {el: float(doc["energies_ev"][el]) for el in ELEMENTS}
    box = ISOLATED_ATOM_BOX_ANGSTROM
    out = {}
    for el in ELEMENTS:
        a = Atoms(el, positions=[[box / 2] * 3], cell=[box] * 3, pbc=False)
        a.calc = teacher.calculator
        out[el] = float(a.get_potential_energy())
    if not all(np.isfinite(v) for v in out.values()):
        raise ConfigError(f"teacher {teacher.ident}: non-finite isolated-atom energy {out}")
    if path is not None:
        write_json(path, {"teacher": teacher.ident, "box_angstrom": box, "pbc": False,
                          "energies_ev": out})
    return out


# ---- split, checks, files ----------------------------------------------------------------
def assign_split(atoms_list: list[Atoms], test_fraction: float = 0.2, seed: int = 0) -> None:
    """Mark ``info['split']`` = train/test, stratified by family (deterministic in ``seed``).

    Every family with >= 2 configurations gets at least one test configuration when
    ``test_fraction`` > 0. The configurations are changed in place.

    Parameters
    ----------
    atoms_list : list of ase.Atoms
        The configurations (``info['family']``; missing: ``"other"``).
    test_fraction : float
        Share of each family held out, in [0, 1).
    seed : int
        Random seed of the split.

    Raises
    ------
    ConfigError
        ``test_fraction`` outside [0, 1).
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ConfigError(f"test_fraction must lie in [0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    by_family: dict[str, list[Atoms]] = {}
    for a in atoms_list:
        by_family.setdefault(a.info.get("family", "other"), []).append(a)
    for fam, items in by_family.items():
        order = rng.permutation(len(items))
        n_test = int(round(test_fraction * len(items)))
        if test_fraction > 0 and len(items) >= 2:
            n_test = max(1, n_test)
        for k, j in enumerate(order):
            items[j].info["split"] = "test" if k < n_test else "train"


def check_dataset(atoms_list, where: str = "data set") -> None:
    """Check a labelled data set before a fit.

    Parameters
    ----------
    atoms_list : list of ase.Atoms
        Labelled configurations.
    where : str
        Name of the set in the error message.

    Raises
    ------
    ConfigError
        An empty set, a configuration with elements other than Li and Si or without atoms, or
        missing or non-finite (NaN/inf) energy or force labels.
    """
    if not atoms_list:
        raise ConfigError(f"{where}: no configurations; give a non-empty labelled extxyz file")
    for i, a in enumerate(atoms_list):
        bad = sorted(set(a.get_chemical_symbols()) - set(ELEMENTS))
        if bad:
            raise ConfigError(f"{where}: configuration {i} contains {', '.join(bad)}; a Li-Si "
                              "potential is fitted to Li and Si only (remove those configurations)")
        if len(a) == 0:
            raise ConfigError(f"{where}: configuration {i} has no atoms")
        if a.calc is None:
            raise ConfigError(f"{where}: configuration {i} has no energy/forces labels; label it "
                              "with a teacher first")
        try:
            e = a.get_potential_energy()
            f = a.get_forces()
        except Exception as exc:
            raise ConfigError(f"{where}: configuration {i} lacks energy or forces ({exc})") from exc
        if not np.isfinite(e) or not np.all(np.isfinite(f)):
            raise ConfigError(f"{where}: configuration {i} ({a.info.get('source', '')}) has a "
                              "NaN/inf energy or force label; drop it or relabel it")




def family_counts(atoms_list) -> dict:
    """Count configurations, atoms and the split of each family.

    Parameters
    ----------
    atoms_list : list of ase.Atoms
        Configurations (``info['family']``, ``info['split']``; missing: ``"other"``, train).

    Returns
    -------
    dict
        ``{family: {configurations, atoms, train, test}}``.
    """
    out: dict = {}
    for a in atoms_list:
        fam = a.info.get("family", "other")
        d = out.setdefault(fam, {"configurations": 0, "atoms": 0, "train": 0, "test": 0})
        d["configurations"] += 1
        d["atoms"] += len(a)
        d[a.info.get("split", "train")] += 1
    return out


_CRYSTAL_NAMES = "|".join(f[:-4] for f in PBE_CRYSTAL_FILES)
_CRYSTAL_SOURCE = re.compile(r"^(%s) (as given|strain|compressed)" % _CRYSTAL_NAMES)
#: a crystal's name at the start of ``made_from_crystal`` ("Li15Si4.xyz") or of a source
_CRYSTAL_NAME = re.compile(r"^(%s)(?:\.xyz$| )" % _CRYSTAL_NAMES)
#: info keys of a configuration stored as displacements from a PBE reference crystal
DISPLACED_FROM, DISPLACEMENTS = "displaced_from_crystal", "displacement_angstrom"


def made_from_reference_crystal(atoms) -> bool:
    """Tell whether a configuration was made from a reference crystal (PBE or the builders').

    Parameters
    ----------
    atoms : ase.Atoms
        A configuration of a data set (``info['family']``, ``info['source']`` as
        :func:`crystal_configs` and :func:`shortrange_configs` tag them).

    Returns
    -------
    bool
        True when ``info['made_from_crystal']`` names a PBE crystal, for the ``crystal`` family,
        and for the compressed crystals of ``shortrange`` (by their ``source``).
    """
    return (MADE_FROM in atoms.info or atoms.info.get("family") == "crystal"
            or bool(_CRYSTAL_SOURCE.match(str(atoms.info.get("source", "")))))


def _pbe_crystals_strict(names, where: str) -> tuple[dict, dict]:
    """Read the named PBE crystals and their files' sha256, or raise one line saying where."""
    import ase.io

    d = default_crystals_dir()
    missing = [n for n in sorted(names) if d is None or not (Path(d) / f"{n}.xyz").is_file()]
    if missing:
        raise ConfigError(f"{where}: needs the PBE reference crystals {', '.join(missing)} (.xyz) "
                          f"and finds none in {d or '../shared/reference/pbe-crystals'}; point "
                          "$DEALLOY_PBE_CRYSTALS at the folder of Li.xyz ... Li15Si4.xyz")
    crystals = {n: ase.io.read(Path(d) / f"{n}.xyz") for n in names}
    return crystals, {f"{n}.xyz": file_sha256(Path(d) / f"{n}.xyz") for n in sorted(names)}


def displace_reference_crystals(atoms_list) -> tuple[list[Atoms], dict]:
    """Store the configurations made from the PBE reference crystals as displacements from them.

    ``../shared/reference/pbe-crystals`` may be used but not copied into the project, so a data
    set kept in the project's ``potentials/`` cannot hold the strained, rattled and compressed
    crystals themselves. Each such configuration (:func:`made_from_reference_crystal`) is
    stored instead as the map of its crystal's cell, ``M = C0^-1 C`` (3x3, dimensionless,
    written as the extxyz ``Lattice``), and the displacement of each atom from the mapped
    crystal, ``D = P - P0 M`` (Å, exact float64 text in ``info``); positions are written as zero.
    Its labels, family, source, split and ``config_id`` are kept. :func:`read_dataset` restores
    ``P = P0 M + D`` and ``C = C0 M`` from the crystals (within ~1e-14 Å), after checking the
    crystal files against the sha256 recorded with the set. Neither M nor D carries the
    crystals' structures or their PBE energies: without the folder the set cannot be restored.

    Parameters
    ----------
    atoms_list : list of ase.Atoms
        Labelled configurations (``info['source']`` as :func:`crystal_configs` and
        :func:`shortrange_configs` write it: ``"<crystal> as given|strain...|compressed..."``).

    Returns
    -------
    atoms : list of ase.Atoms
        The same list with each configuration made from a crystal replaced by its record
        (the others are the same objects).
    doc : dict
        ``configurations`` (how many are stored so) and ``crystals`` (file name -> sha256 of
        each crystal used).

    Raises
    ------
    ConfigError
        A configuration made from a crystal does not name a PBE crystal in its source, or its
        species (in order) are not that crystal's, or the crystals are not found (one line,
        naming ``$DEALLOY_PBE_CRYSTALS``).
    """
    from ase.calculators.singlepoint import SinglePointCalculator

    names = {}
    for i, a in enumerate(atoms_list):
        if made_from_reference_crystal(a):
            m = _CRYSTAL_NAME.match(str(a.info.get(MADE_FROM) or a.info.get("source", "")))
            if m is None:
                raise ConfigError(f"configuration {i} ({a.info.get('family')}) is made from a "
                                  f"crystal but its source {a.info.get('source', '')!r} names no "
                                  "PBE reference crystal, so it cannot be stored as displacements")
            names[i] = m.group(1)
    if not names:
        return list(atoms_list), {"configurations": 0, "crystals": {}}
    crystals, shas = _pbe_crystals_strict(set(names.values()), "storing the data set")
    out = list(atoms_list)
    for i, name in names.items():
        a, c = atoms_list[i], crystals[name]
        if list(a.numbers) != list(c.numbers):
            raise ConfigError(f"configuration {i} ({a.info.get('source')}) does not have the "
                              f"atoms of the reference crystal {name} in its order; it cannot be "
                              "stored as displacements")
        cell_map = np.linalg.solve(c.cell.array, a.cell.array)
        disp = a.positions - c.positions @ cell_map
        rec = Atoms(a.numbers, positions=np.zeros((len(a), 3)), cell=cell_map, pbc=a.pbc)
        rec.info = {**a.info, DISPLACED_FROM: name, DISPLACEMENTS: disp.ravel()}
        rec.calc = SinglePointCalculator(rec, **a.calc.results)
        out[i] = rec
    return out, {"configurations": len(names), "crystals": shas}


def _restore_displaced(atoms_list, meta: dict, where: str) -> None:
    """Undo :func:`displace_reference_crystals` in place (see there), checking the crystals' sha256."""
    from ase.calculators.singlepoint import SinglePointCalculator

    idx = [i for i, a in enumerate(atoms_list) if DISPLACED_FROM in a.info]
    if not idx:
        return
    names = {str(atoms_list[i].info[DISPLACED_FROM]) for i in idx}
    crystals, shas = _pbe_crystals_strict(names, where)
    recorded = (meta.get("reference_crystal_displacements") or {}).get("crystals", {})
    changed = sorted(f for f, h in recorded.items() if f in shas and shas[f] != h)
    if changed:
        raise ConfigError(f"{where}: the reference crystal(s) {', '.join(changed)} in "
                          f"{default_crystals_dir()} differ from the ones the set was stored "
                          "against (sha256); use those files")
    for i in idx:
        a = atoms_list[i]
        c = crystals[str(a.info.pop(DISPLACED_FROM))]
        if list(a.numbers) != list(c.numbers):
            raise ConfigError(f"{where}: configuration {i} does not have the atoms of its "
                              "reference crystal in their order (a different crystal file?)")
        disp = np.asarray(a.info.pop(DISPLACEMENTS), float).reshape(-1, 3)
        cell_map = a.cell.array.copy()
        results, a.calc = a.calc.results, None
        a.set_cell(c.cell.array @ cell_map, scale_atoms=False)
        a.positions = c.positions @ cell_map + disp
        a.calc = SinglePointCalculator(a, **results)


def _xz_content_sha256(path: Path) -> str:
    """sha256 of the extxyz text inside an ``*.xz`` file."""
    import lzma

    h = hashlib.sha256()
    with lzma.open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_dataset(path, atoms_list, provenance: dict, displace_crystals: bool = False) -> dict:
    """Write the labelled set as extxyz (atomically) and ``<path>.json`` beside it.

    Parameters
    ----------
    path : str or pathlib.Path
        The extxyz file; a name ending in ``.xz`` writes it xz-compressed (preset 6, no time
        stamp, so the same set gives the same bytes; about 4x smaller).
    atoms_list : list of ase.Atoms
        Labelled configurations (checked by :func:`check_dataset` before anything is written).
    provenance : dict
        Teacher, specification, how to regenerate; merged into the JSON document.
    displace_crystals : bool
        Store the configurations made from the PBE reference crystals as displacements from
        them (:func:`displace_reference_crystals`; for a set kept in the project), recorded as
        ``reference_crystal_displacements`` in the JSON document.

    Returns
    -------
    dict
        The JSON document: schema, file name, ``sha256`` (of the file as stored),
        ``content_sha256`` (of the extxyz text: equal for a set and its compressed copy), counts
        of configurations and atoms, counts by family, and ``provenance``.

    Raises
    ------
    ConfigError
        The set fails :func:`check_dataset`; a ``.gz`` or ``.bz2`` name (gzip stores a time
        stamp, so its checksum would change on every write: use ``.xz``); with
        ``displace_crystals``, as :func:`displace_reference_crystals`.
    """
    import ase.io

    path = Path(path)
    if path.suffix in (".gz", ".bz2"):
        raise ConfigError(f"data set {path.name}: write it as plain .extxyz or as .extxyz.xz "
                          f"(a {path.suffix} file's checksum changes with every write)")
    check_dataset(atoms_list)
    displaced = None
    if displace_crystals:
        atoms_list, displaced = displace_reference_crystals(atoms_list)
    with atomic_path(path) as tmp:
        if path.suffix == ".xz":
            import lzma

            with lzma.open(tmp, "wt", encoding="utf-8") as fh:
                ase.io.write(fh, atoms_list, format="extxyz")
        else:
            ase.io.write(tmp, atoms_list, format="extxyz")
    sha = file_sha256(path)
    doc = {"schema": DATASET_SCHEMA, "file": path.name, "sha256": sha,
           "content_sha256": _xz_content_sha256(path) if path.suffix == ".xz" else sha,
           "configurations": len(atoms_list), "atoms": int(sum(len(a) for a in atoms_list)),
           "families": family_counts(atoms_list), **provenance}
    if displaced and displaced["configurations"]:
        doc["reference_crystal_displacements"] = displaced
    write_json(path.with_suffix(path.suffix + ".json"), doc)
    return doc


def _text(path: Path):
    """Decompress a compressed set into memory; give a plain file's path back.

    ASE's extxyz reader seeks backwards, which in an xz stream decompresses from the start again:
    213 s instead of 1.8 s for a set of 1 083 configurations.

    Returns
    -------
    pathlib.Path or io.StringIO
        What ``ase.io.read`` is given.
    """
    import bz2
    import gzip
    import io
    import lzma

    opener = {".xz": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix)
    if opener is None:
        return path
    with opener(path, "rt", encoding="utf-8") as fh:
        return io.StringIO(fh.read())


def read_dataset(path) -> tuple[list[Atoms], dict]:
    """Read a labelled extxyz set and its provenance JSON if present (the checksum is verified).

    Parameters
    ----------
    path : str or pathlib.Path
        The extxyz file, plain or compressed (``.xz``, ``.gz``, ``.bz2``, by ASE); ``<path>.json``
        beside it is read when it exists.

    Returns
    -------
    atoms : list of ase.Atoms
        The configurations (``info['family']`` default ``"other"``, ``info['config_id']``
        filled in).
    meta : dict
        The provenance JSON; {} without one.

    Raises
    ------
    ConfigError
        The file is missing, does not match the recorded sha256, is not readable extxyz, or
        fails :func:`check_dataset`; it holds configurations stored as displacements from the
        PBE reference crystals (:func:`displace_reference_crystals`) and the crystals are not
        found or differ from the recorded ones.
    """
    import ase.io

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"data set not found: {path}")
    meta_path = path.with_suffix(path.suffix + ".json")
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    if meta.get("sha256") and meta["sha256"] != file_sha256(path):
        raise ConfigError(f"data set {path} does not match the checksum in {meta_path.name} "
                          "(edited or truncated); regenerate it or delete the JSON")
    try:
        atoms = ase.io.read(_text(path), index=":", format="extxyz") if path.stat().st_size else []
    except Exception as exc:
        raise ConfigError(f"data set {path} is not readable extxyz ({exc})") from exc
    _restore_displaced(atoms, meta, f"data set {path}")
    check_dataset(atoms, where=f"data set {path.name}")
    for a in atoms:
        a.info.setdefault("family", "other")
        a.info.setdefault("config_id", config_hash(a))
    return atoms, meta


def merge_datasets(paths) -> tuple[list[Atoms], dict]:
    """Read several labelled sets (each checksum verified) and join them into one.

    A configuration present in more than one set (the same ``config_id``: species, positions
    and cell) is kept once, from the first set that has it; each keeps its family and split.

    Parameters
    ----------
    paths : sequence of str or pathlib.Path
        The extxyz files, each with its ``.json`` sidecar if it has one.

    Returns
    -------
    atoms : list of ase.Atoms
        The joined configurations.
    meta : dict
        For one path, that set's provenance; for several, ``{"merged_from": [...]}``: per set
        its file, sha256, configurations, configurations kept and provenance.

    Raises
    ------
    ConfigError
        No path given; a set that :func:`read_dataset` refuses; sets labelled by different
        teachers (``info['teacher']``), which one fit must not mix.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ConfigError("data: give at least one labelled data set")
    if len(paths) == 1:
        return read_dataset(paths[0])
    atoms, seen, parents, teachers = [], set(), [], {}
    for path in paths:
        part, meta = read_dataset(path)
        kept = [a for a in part if a.info["config_id"] not in seen]
        seen.update(a.info["config_id"] for a in kept)
        atoms += kept
        for a in part:
            if "teacher" in a.info:
                teachers.setdefault(str(a.info["teacher"]), str(path))
        parents.append({"file": str(path), "sha256": file_sha256(path), "configurations": len(part),
                        "kept": len(kept), "provenance": {k: v for k, v in meta.items()
                                                          if k != "families"}})
    if len(teachers) > 1:
        raise ConfigError("data: these sets were labelled by different teachers ("
                          + "; ".join(f"{t} in {p}" for t, p in teachers.items())
                          + "); fit one teacher's labels at a time")
    return atoms, {"merged_from": parents}


__all__ = ["DATASET_FILE", "DataSpec", "FAMILIES", "assign_split", "check_dataset", "config_hash",
           "crystals_provenance", "default_crystals_dir", "displace_reference_crystals",
           "family_counts", "label", "made_from_reference_crystal", "make_configurations",
           "merge_datasets", "read_dataset", "reference_crystals",
           "teacher_isolated_atoms", "write_dataset"]

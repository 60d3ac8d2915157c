"""The potential registry: the only place that knows LAMMPS pair_style/pair_coeff lines.

Each :class:`Potential` knows its files under ``potentials/``, unit style, element order, masses,
recommended timestep, cutoff, citation and known limitations. Everything else in dealloy asks the
registry (``get_potential(name)``) and never writes a pair_style by hand.

dealloy's LAMMPS type convention is fixed: type 1 = Li, type 2 = Si (``ELEMENTS``).

References
----------
.. [Cui2012] Z. Cui, F. Gao, Z. Cui, J. Qu, "A second nearest-neighbor embedded atom method
   interatomic potential for Li-Si alloys", J. Power Sources 207 (2012) 150-159,
   doi:10.1016/j.jpowsour.2012.01.145 (``meam-cui2012``).
.. [Godet2020] S. Godet et al., Phys. Rev. Materials 4 (2020) 065402 (``meam-godet2020``; Li of
   [Cui2012]_, Si of B.-J. Lee, CALPHAD 31 (2007) 95); its DOI, as recorded in the registry and
   potentials/README.md, 10.1103/PhysRevMaterials.4.065402, was not re-checked here.
.. [Ostadhossein2016] A. Ostadhossein, S.-Y. Kim, E. D. Cubuk, Y. Qi, A. C. T. van Duin, "Atomic
   insight into the lithium storage and diffusion mechanism of SiO2/Al2O3 electrodes of lithium
   ion batteries: ReaxFF reactive force field modeling", J. Phys. Chem. A 120 (2016) 2114,
   doi:10.1021/acs.jpca.5b11908 (a Li-Si ReaxFF parameter set for ``reaxff``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ase.calculators.lammps import convert

from dealloy.checks import lammps_quote
from dealloy.errors import ConfigError
from dealloy.materials import ELEMENTS, MASSES_AMU
#: chosen by the amorphous-path validation (potentials/README.md, "Choice of the default"):
#: meam-godet2020 is closer to DFT(B) on a-LixSi structure, energetics and voltages; cui2012 only
#: on the c-Li15Si4 lattice constant
DEFAULT_POTENTIAL = "meam-godet2020"


def potentials_dir() -> Path:
    """Give the directory holding the shipped parameter files.

    Returns
    -------
    pathlib.Path
        ``$DEALLOY_POTENTIALS_DIR`` when set; otherwise the files installed with the package
        (``dealloy/data/potentials``, a link to the repository's ``potentials/``).
    """
    env = os.environ.get("DEALLOY_POTENTIALS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "data" / "potentials"


def user_potentials_dir() -> Path:
    """Give the folder where ``dealloy potential fit`` puts a fitted potential by default.

    Returns
    -------
    pathlib.Path
        ``$DEALLOY_USER_POTENTIALS_DIR`` when set, else ``~/.local/share/dealloy/potentials``.
    """
    env = os.environ.get("DEALLOY_USER_POTENTIALS_DIR")
    if env:
        return Path(env)
    return Path.home() / ".local" / "share" / "dealloy" / "potentials"


#: the manifest that makes a folder a fitted potential (written by ``dealloy potential fit``)
MANIFEST = "potential.json"


@dataclass(frozen=True)
class Units:
    """A LAMMPS unit style and its conversion factors to dealloy's own (eV, ps, bar, Å).

    Build it with :meth:`from_lammps`: the factors then come from
    :func:`ase.calculators.lammps.convert`, which carries LAMMPS' own constants
    (``src/update.cpp``), so dealloy converts exactly as LAMMPS does.

    Parameters
    ----------
    style : str
        The LAMMPS unit style (``"metal"``, ``"real"``, ...).
    energy_ev : float
        One native energy unit in eV.
    time_ps : float
        One native time unit in ps.
    pressure_bar : float
        One native pressure unit in bar.
    """

    style: str
    energy_ev: float  # 1 native energy unit in eV
    time_ps: float  # 1 native time unit in ps
    pressure_bar: float  # 1 native pressure unit in bar

    def to_native_time(self, t_ps: float) -> float:
        """Convert a time to the native unit.

        Parameters
        ----------
        t_ps : float
            Time (ps).

        Returns
        -------
        float
            The same time in the style's time unit (fs for ``real``).
        """
        return t_ps / self.time_ps

    def to_native_pressure(self, p_bar: float) -> float:
        """Convert a pressure to the native unit.

        Parameters
        ----------
        p_bar : float
            Pressure (bar).

        Returns
        -------
        float
            The same pressure in the style's pressure unit (atm for ``real``).
        """
        return p_bar / self.pressure_bar

    @classmethod
    def from_lammps(cls, style: str) -> Units:
        """Build the conversion factors of a LAMMPS unit style to eV, ps and bar.

        Parameters
        ----------
        style : str
            A LAMMPS unit style (``"metal"``, ``"real"``, ...).

        Returns
        -------
        Units
            Its factors, from :func:`ase.calculators.lammps.convert`.

        Raises
        ------
        KeyError
            For a unit style ASE does not know.
        """
        return cls(style, convert(1.0, "energy", style, "metal"),
                   convert(1.0, "time", style, "metal"), convert(1.0, "pressure", style, "metal"))


METAL = Units.from_lammps("metal")  # eV, ps, bar: the identity
# real: kcal/mol, fs, atm (LAMMPS' kcal/mol = 0.04336410390 eV; the hand-typed 0.0433641043 it
# replaces differed by 9e-9 relative)
REAL = Units.from_lammps("real")


@dataclass(frozen=True)
class Potential:
    """An interatomic potential of the registry: its files, units and LAMMPS lines.

    Build one with :func:`get_potential`, :func:`fitted_potential` or :func:`reaxff`.

    Parameters
    ----------
    name : str
        Registry name (``meam-godet2020``, ``reaxff``, a fitted potential's name).
    kind : str
        ``"meam"``, ``"reaxff"``, ``"pod"`` or ``"snap"`` (fitted: :mod:`dealloy.fit`).
    description : str
        One line for listings.
    files : tuple of pathlib.Path
        Parameter files in the order ``pair_coeff`` takes them.
    units : Units
        The LAMMPS unit style the potential needs (:data:`METAL` or :data:`REAL`).
    atom_style : str
        LAMMPS atom style (``atomic``; ``charge`` for ReaxFF).
    timestep_ps : float
        Recommended MD timestep (ps).
    cutoff_angstrom : float
        Interaction cutoff (Å).
    citation : str
        The paper the parameters come from.
    doi : str
        Its DOI ("" when none).
    limitations : str
        Known limitations (from potentials/README.md).
    lammps_packages : tuple of str
        LAMMPS packages the pair style needs.
    elements : tuple of str
        Element of each LAMMPS type (type 1 = Li, type 2 = Si).
    masses_amu : dict
        Mass (amu) of each element.
    zbl_angstrom : (float, float) or None
        Fitted SNAP/POD only: inner and outer switching radii (Å) of the ZBL core overlaid on the
        fitted model.

    References
    ----------
    See the module's references ([Cui2012]_, [Godet2020]_, [Ostadhossein2016]_).
    """

    name: str
    kind: str  # "meam" | "reaxff" | "pod" | "snap" (fitted: dealloy.fit)
    description: str
    files: tuple[Path, ...]
    units: Units
    atom_style: str
    timestep_ps: float
    cutoff_angstrom: float
    citation: str
    doi: str
    limitations: str
    lammps_packages: tuple[str, ...]
    elements: tuple[str, ...] = ELEMENTS
    masses_amu: dict = field(default_factory=lambda: dict(MASSES_AMU))
    #: fitted SNAP/POD: ZBL core (inner, outer switching radii, Å) overlaid on the fitted model
    zbl_angstrom: tuple[float, float] | None = None

    # ---- LAMMPS lines -------------------------------------------------------------------
    def pair_commands(self) -> list[str]:
        """Write the LAMMPS lines that set up this potential.

        Returns
        -------
        list of str
            ``mass`` lines, ``pair_style``, ``pair_coeff`` and any fix the potential needs (QEq
            for ReaxFF); file paths quoted for LAMMPS.

        Raises
        ------
        ConfigError
            When a parameter file is missing or its path cannot be quoted for LAMMPS.
        AssertionError
            For a ``kind`` the registry does not know (a programming error).
        """
        self.check_files()
        el = " ".join(self.elements)
        masses = [f"mass {i + 1} {self.masses_amu[s]}" for i, s in enumerate(self.elements)]
        if self.kind == "meam":
            lib, alloy = self.files
            return masses + [
                "pair_style meam",
                f"pair_coeff * * {_q(lib)} {el} {_q(alloy)} {el}",
            ]
        if self.kind == "reaxff":
            (ffield,) = self.files
            return masses + [
                "pair_style reaxff NULL checkqeq yes safezone 3.0 mincap 200",
                f"pair_coeff * * {_q(ffield)} {el}",
                "fix dealloy_qeq all qeq/reaxff 1 0.0 10.0 1e-8 reaxff",
            ]
        if self.kind == "pod":  # ML-POD: descriptor settings, coefficients (+ its ZBL core)
            param, coeff = self.files
            if self.zbl_angstrom is None:
                return masses + ["pair_style pod", f"pair_coeff * * {_q(param)} {_q(coeff)} {el}"]
            return masses + [f"pair_style hybrid/overlay zbl {self.zbl_angstrom[0]} "
                             f"{self.zbl_angstrom[1]} pod",
                             f"pair_coeff * * pod {_q(param)} {_q(coeff)} {el}"] + self._zbl_coeffs()
        if self.kind == "snap":  # ML-SNAP: coefficients, parameters (+ the ZBL core it was fitted on)
            coeff, param = self.files
            if self.zbl_angstrom is None:
                return masses + ["pair_style snap", f"pair_coeff * * {_q(coeff)} {_q(param)} {el}"]
            inner, outer = self.zbl_angstrom
            return masses + [f"pair_style hybrid/overlay zbl {inner} {outer} snap",
                             f"pair_coeff * * snap {_q(coeff)} {_q(param)} {el}"] + self._zbl_coeffs()
        raise AssertionError(self.kind)

    def after_create_commands(self) -> list[str]:
        """Write the LAMMPS lines to run after atoms were created in a live session.

        ReaxFF sizes each atom's slot in its bond list at the pair style's first setup (from a
        bond count estimate) and afterwards from the atom's bonds at the previous force call
        (twice their number, at least 25; ``PairReaxFF::setup`` and ``Validate_Lists`` in LAMMPS'
        src/REAXFF). An atom created later (``create_atoms``) gets no estimate: LAMMPS' internal
        ``fix REAXFF`` has no initialiser for new atoms, so it inherits the slot size of whatever
        atom last used its array index. A well-bonded Li re-created where a poorly bonded atom
        was overflows that slot and LAMMPS stops with "bondchk failed" (the ``safezone`` and
        ``mincap`` keywords of ``pair_style reaxff`` size the whole list, not this slot).
        Re-creating the pair style (``pair_style none``, then :meth:`pair_commands` without the
        masses) sizes every slot afresh from the structure as it is; the QEq fix is re-created
        with it, since it holds a pointer to the pair style. Other kinds need nothing.

        Returns
        -------
        list of str
            The lines (empty for every kind but ``reaxff``).
        """
        if self.kind != "reaxff":
            return []
        return (["unfix dealloy_qeq", "pair_style none"]
                + [c for c in self.pair_commands() if not c.startswith("mass ")])

    def _zbl_coeffs(self) -> list[str]:
        z = {"Li": 3, "Si": 14}
        return [f"pair_coeff {i + 1} {j + 1} zbl {z[a]} {z[b]}"
                for i, a in enumerate(self.elements) for j, b in enumerate(self.elements) if j >= i]

    def check_files(self) -> None:
        """Check that every parameter file exists.

        Raises
        ------
        ConfigError
            One line naming the missing file and the fix.
        """
        for f in self.files:
            if not Path(f).is_file():
                raise ConfigError(
                    f"potential '{self.name}': parameter file not found: {f}. "
                    "Reinstall dealloy, or point $DEALLOY_POTENTIALS_DIR at a folder holding it."
                )

    def file_hashes(self) -> dict[str, str]:
        """Hash every parameter file (recorded in run.json for provenance).

        Returns
        -------
        dict of str to str
            File name -> sha256 hex digest.

        Raises
        ------
        ConfigError
            When a parameter file is missing.
        """
        self.check_files()
        return {Path(f).name: hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in self.files}

    def summary(self) -> dict:
        """Describe the potential for run.json and listings.

        Returns
        -------
        dict
            ``name``, ``kind``, ``files``, ``units`` (style), ``atom_style``, ``elements``,
            ``timestep_ps``, ``cutoff_angstrom``, ``citation``, ``doi``.
        """
        return {
            "name": self.name,
            "kind": self.kind,
            "files": [str(f) for f in self.files],
            "units": self.units.style,
            "atom_style": self.atom_style,
            "elements": list(self.elements),
            "timestep_ps": self.timestep_ps,
            "cutoff_angstrom": self.cutoff_angstrom,
            "citation": self.citation,
            "doi": self.doi,
        }


def _q(path: Path) -> str:
    """Quote a parameter file's path as one LAMMPS word taken literally.

    Quoted so that spaces, ``$`` (variables), ``#`` (comments), ``&`` and quotes reach LAMMPS as
    they are (:func:`dealloy.checks.lammps_quote`).

    Returns
    -------
    str
        The quoted path.

    Raises
    ------
    ConfigError
        One line naming the file, for a path LAMMPS cannot quote (both quote kinds, ending in
        ``"``, or a line break).
    """
    try:
        return lammps_quote(path)
    except ConfigError as exc:
        raise ConfigError(f"potential parameter file: {exc} (or set $DEALLOY_POTENTIALS_DIR / "
                          "$DEALLOY_USER_POTENTIALS_DIR to a folder LAMMPS can name)") from None


def meam_library_masses(path) -> dict:
    """Read the atomic weights of a MEAM library file, the masses LAMMPS uses with it.

    ``pair_coeff`` of ``pair_style meam`` sets each element's mass from its library entry
    (the header line ``'elt' 'lat' z ielement atwt``), over any earlier ``mass`` command; the
    registry takes the same numbers, so that kinetic energies and temperatures computed in ASE
    from a session's structure, and Maxwell-Boltzmann velocities drawn by dealloy, use the mass
    LAMMPS integrates with (meam-godet2020 gives Li 6.939, :data:`MASSES_AMU` 6.941).

    Parameters
    ----------
    path : str or pathlib.Path
        The library file.

    Returns
    -------
    dict
        Element -> mass (amu) for ``ELEMENTS``; :data:`MASSES_AMU`'s value for an element the
        file does not hold, and for all when the file cannot be read (``check_files`` reports it).
    """
    masses = dict(MASSES_AMU)
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return masses
    for line in lines:
        parts = line.replace("'", " ").split()
        if len(parts) == 5 and parts[0] in masses:
            with contextlib.suppress(ValueError):
                masses[parts[0]] = float(parts[4])
    return masses


def _meam(name, description, lib, alloy, citation, doi, limitations) -> Potential:
    d = potentials_dir()
    return Potential(
        masses_amu=meam_library_masses(d / lib),
        name=name,
        kind="meam",
        description=description,
        files=(d / lib, d / alloy),
        units=METAL,
        atom_style="atomic",
        timestep_ps=0.001,
        cutoff_angstrom=4.8,
        citation=citation,
        doi=doi,
        limitations=limitations,
        lammps_packages=("MEAM",),
    )


#: LAMMPS package of each fitted kind
FITTED_KINDS = {"pod": ("ML-POD",), "snap": ("ML-SNAP",)}


def fitted_potential(folder: str | os.PathLike) -> Potential:
    """Read the fitted potential described by ``folder/potential.json`` (see docs/fitting.md).

    Parameters
    ----------
    folder : str or os.PathLike
        The potential's folder (manifest and parameter files).

    Returns
    -------
    Potential
        A ``pod`` or ``snap`` potential in metal units.

    Raises
    ------
    ConfigError
        No readable manifest, a missing key, or an unknown kind (the ``ValueError`` raised
        inside is turned into this).
    ValueError
        Never escapes: an unknown kind is reported as ``ConfigError``.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        m = json.loads(path.read_text())
        kind = m["kind"]
        if kind not in FITTED_KINDS:
            raise ValueError(f"kind '{kind}' is not one of {', '.join(FITTED_KINDS)}")
        pot = Potential(
            name=m["name"], kind=kind, description=m.get("description", ""),
            files=tuple(folder / f for f in m["files"]), units=METAL, atom_style="atomic",
            timestep_ps=float(m.get("timestep_ps", 0.001)),
            cutoff_angstrom=float(m["cutoff_angstrom"]), citation=m.get("citation", ""),
            doi=m.get("doi", ""), limitations=m.get("limitations", ""),
            lammps_packages=FITTED_KINDS[kind],
            zbl_angstrom=tuple(m["zbl_angstrom"]) if m.get("zbl_angstrom") else None)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a fitted-potential manifest ({exc}); refit it with "
                          "dealloy potential fit") from exc
    return pot


def _fitted(folder: Path) -> dict[str, Potential]:
    out: dict[str, Potential] = {}
    if folder.is_dir():
        for sub in sorted(folder.iterdir()):
            if (sub / MANIFEST).is_file():
                try:
                    pot = fitted_potential(sub)
                except ConfigError:
                    continue  # a broken folder must not break the other potentials
                if pot.name in out:
                    # two folders claim one name (e.g. a renamed copy): the folder named like the
                    # potential wins, whatever the listing order, and the user is told
                    keep, drop = (pot, out[pot.name]) if sub.name == pot.name else \
                        (out[pot.name], pot)
                    warnings.warn(f"{folder}: folders {keep.files[0].parent.name!r} and "
                                  f"{drop.files[0].parent.name!r} both hold potential "
                                  f"{pot.name!r}; using {keep.files[0].parent.name!r}. Rename the "
                                  f"other's 'name' in its {MANIFEST} or move it away")
                    pot = keep
                out[pot.name] = pot
    return out


def _registry() -> dict[str, Potential]:
    """Shipped MEAMs, shipped fitted potentials, then the user's (a user one of the same name wins)."""
    return {**_builtin(), **_fitted(potentials_dir()), **_fitted(user_potentials_dir())}


def _builtin() -> dict[str, Potential]:
    return {
        "meam-cui2012": _meam(
            "meam-cui2012",
            "2NN MEAM Li-Si (default until the amorphous validation; kept for comparison)",
            "library.meam.cui2012",
            "LiSi.meam.cui2012",
            "Z. Cui, F. Gao, Z. Cui, J. Qu, J. Power Sources 207 (2012) 150-159",
            "10.1016/j.jpowsour.2012.01.145",
            "Underbinds c-Li15Si4 (formation energy -0.086 eV/atom vs -0.243 PBE), so Li "
            "extraction energies and voltages are ~3-5x too small (c-Li15Si4 -> a-Li1.1Si 0.09 V "
            "vs the 0.43 V plateau); a-LixSi is over-coordinated (a-Si Si-Si CN 5.4 vs 3.88; "
            "a-Li3.75Si CN 1.3 and 25 % isolated Si vs 0.12 and 89 %), biasing the a-path towards "
            "connected Si. See potentials/README.md.",
        ),
        "meam-godet2020": _meam(
            "meam-godet2020",
            "re-optimised 2NN MEAM Li-Si (Li of Cui 2012, Si of Lee 2007) (default)",
            "library.meam.godet2020",
            "LiSi.meam.godet2020",
            "S. Godet et al., Phys. Rev. Materials 4 (2020) 065402",
            "10.1103/PhysRevMaterials.4.065402",
            "c-Li15Si4 lattice constant too large (11.04 A at 300 K vs 10.685 A) and formation "
            "energy overbound (-0.34 eV/atom vs -0.243 PBE; extraction 0.43 vs 0.31 eV/Li); "
            "Li-rich a-LixSi 6-11 % too voluminous per Si (x >= 2) and too many isolated Si at "
            "x = 1.5-2.5 (0.18-0.51 vs 0.02-0.34). See potentials/README.md.",
        ),
    }


def __getattr__(name: str):
    # POTENTIAL_NAMES follows the registry, so a fitted potential is a valid name everywhere
    # (run configs validate against it) as soon as its folder exists (PEP 562)
    if name == "POTENTIAL_NAMES":
        return tuple(_registry()) + ("reaxff",)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def reaxff(ffield: str | os.PathLike) -> Potential:
    """Make the ReaxFF potential for a user-supplied ffield (no ffield is shipped).

    Parameters
    ----------
    ffield : str or os.PathLike
        Path to a ReaxFF parameter file with Li and Si (e.g. the set of [Ostadhossein2016]_).

    Returns
    -------
    Potential
        ``reaxff`` in LAMMPS ``real`` units, ``atom_style charge``, timestep 0.5 fs, QEq every
        step.

    Raises
    ------
    ConfigError
        When the file does not exist, is not an ffield, or lacks Li or Si.

    References
    ----------
    A. Ostadhossein, S.-Y. Kim, E. D. Cubuk, Y. Qi, A. C. T. van Duin, J. Phys. Chem. A 120
    (2016) 2114, doi:10.1021/acs.jpca.5b11908.
    """
    path = Path(ffield).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"potential 'reaxff': ffield file not found: {path}. Give the path to a ReaxFF "
            "parameter file that contains Li and Si (e.g. Ostadhossein et al. 2016)."
        )
    species = ffield_elements(path)
    missing = [e for e in ELEMENTS if e not in species]
    if missing:
        raise ConfigError(
            f"potential 'reaxff': ffield {path} has no parameters for {', '.join(missing)} "
            f"(it has {', '.join(species) or 'none'}); use a Li-Si ReaxFF parameter set."
        )
    return Potential(
        name="reaxff",
        kind="reaxff",
        description=f"ReaxFF with user ffield {path.name}",
        files=(path.resolve(),),
        units=REAL,
        atom_style="charge",
        timestep_ps=0.0005,
        cutoff_angstrom=10.0,
        citation="user-supplied ffield (e.g. Ostadhossein et al., J. Phys. Chem. A 120 (2016) 2114)",
        doi="",
        limitations="~100x the cost of MEAM per atom-step; charges equilibrated every step (QEq).",
        lammps_packages=("REAXFF", "QEQ"),
    )


def ffield_elements(path: Path) -> list[str]:
    """Read the element symbols of a ReaxFF ffield's atom section.

    Parameters
    ----------
    path : pathlib.Path
        The ffield file.

    Returns
    -------
    list of str
        The element symbols in file order.

    Raises
    ------
    ConfigError
        When the file is not laid out as a ReaxFF ffield.
    """
    lines = Path(path).read_text(errors="replace").splitlines()
    try:
        ngen = int(lines[1].split()[0])
        i = 2 + ngen
        natoms = int(lines[i].split()[0])
        i += 4  # count line + 3 header lines
        out = []
        for k in range(natoms):
            out.append(lines[i + 4 * k].split()[0])
        return out
    except (IndexError, ValueError) as exc:
        raise ConfigError(f"potential 'reaxff': {path} is not a ReaxFF ffield file ({exc})") from exc


def get_potential(name: str = DEFAULT_POTENTIAL, ffield: str | os.PathLike | None = None) -> Potential:
    """Look up a potential by registry name.

    Parameters
    ----------
    name : str or Potential
        A registry name (``POTENTIAL_NAMES``: the shipped MEAMs, fitted potentials, ``reaxff``)
        or ``reaxff:/path/to/ffield``; a :class:`Potential` is returned as it is.
    ffield : str or os.PathLike, optional
        The ReaxFF parameter file, needed for ``reaxff``.

    Returns
    -------
    Potential
        The potential, its files checked.

    Raises
    ------
    ConfigError
        For an unknown name, ``reaxff`` without an ffield, or a missing parameter file.
    """
    if isinstance(name, Potential):
        return name
    if name.startswith("reaxff:"):
        name, ffield = "reaxff", name.split(":", 1)[1]
    if name == "reaxff":
        if ffield is None:
            raise ConfigError(
                "potential 'reaxff' needs an ffield file: pass --ffield PATH "
                "(or name the potential 'reaxff:/path/to/ffield')."
            )
        return reaxff(ffield)
    reg = _registry()
    if name not in reg:
        raise ConfigError(
            f"unknown potential '{name}'; choose one of: {', '.join(reg)}, reaxff "
            "(reaxff needs an ffield path; fitted potentials: dealloy potential fit)."
        )
    pot = reg[name]
    pot.check_files()
    return pot


def list_potentials() -> list[Potential]:
    """List the registry's potentials (shipped and fitted; ReaxFF needs a file, so not listed).

    Returns
    -------
    list of Potential
        In registry order.
    """
    return list(_registry().values())


__all__ = [
    "ELEMENTS",
    "MASSES_AMU",
    "DEFAULT_POTENTIAL",
    "POTENTIAL_NAMES",
    "Potential",
    "Units",
    "fitted_potential",
    "get_potential",
    "meam_library_masses",
    "list_potentials",
    "potentials_dir",
    "reaxff",
    "user_potentials_dir",
]

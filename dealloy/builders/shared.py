"""Which glass a builder call melt-quenches: the part of a build that runs of a study share.

Every amorphous builder melts and quenches a periodic bulk cell with :func:`amorphous_lisi`
(the particle builders cut their sphere from it) and :mod:`dealloy.builders.cache` keeps that
glass. :func:`glass_args` names the :func:`amorphous_lisi` call behind a builder call without
running anything, so a study can group its runs by the glass they need and build each one once
before the runs start (:mod:`dealloy.study.prebuild`).
"""

from __future__ import annotations

import json

from dealloy.builders.amorphous import PROTOCOLS, _bulk_n_si_for
from dealloy.lammps.potentials import DEFAULT_POTENTIAL

#: builder name -> the argument that is the glass's Li/Si (the shell's, for core_shell_particle)
_GLASS_X = {"amorphous_lisi": "x", "amorphous_lisi_particle": "x",
            "core_shell_particle": "x_shell"}
#: amorphous_lisi's protocol keywords (particle_relax_ps belongs to the particle, not the glass)
_GLASS_PROTOCOL_KEYS = tuple(k for k in PROTOCOLS["standard"] if k != "particle_relax_ps")


def glass_args(builder: str, args: dict) -> dict | None:
    """Name the :func:`~dealloy.builders.amorphous.amorphous_lisi` call a builder call makes.

    Mirrors what the builders do (the particle builders melt a cell of ``bulk_n_si`` Si, default
    one as large as the particle) without validating anything: arguments the builder would refuse
    give a call the builder never makes, which costs a useless build at worst, never a wrong one
    (the glass's cache key is computed from what is actually built).

    Parameters
    ----------
    builder : str
        A builder name (:data:`dealloy.builders.BUILDERS`; hyphens allowed).
    args : dict
        Its arguments as a run config gives them (``particle.args``).

    Returns
    -------
    dict or None
        Keyword arguments of :func:`amorphous_lisi` (``x``, ``n_si``, ``seed``, ``potential``,
        ``protocol`` and the protocol values that were given), or None when the builder
        melt-quenches nothing (the crystalline builders) or the arguments are unusable.
    """
    name = str(builder).replace("-", "_")
    if name not in _GLASS_X:
        return None
    try:
        x = float(args[_GLASS_X[name]])
        if name == "amorphous_lisi":
            n_si = int(args.get("n_si", 64))
        else:
            n_si = args.get("bulk_n_si")
            n_si = int(n_si) if n_si is not None else _bulk_n_si_for(float(args["diameter_nm"]), x)
        out = {"x": x, "n_si": n_si, "seed": int(args.get("seed", 0)),
               "potential": str(args.get("potential") or DEFAULT_POTENTIAL),
               "protocol": str(args.get("protocol", "standard"))}
    except (KeyError, TypeError, ValueError):
        return None
    out.update({k: args[k] for k in _GLASS_PROTOCOL_KEYS if args.get(k) is not None})
    return out


def glass_id(glass: dict) -> str:
    """Write a glass's :func:`glass_args` as one canonical string (equal calls, equal strings).

    Parameters
    ----------
    glass : dict
        :func:`glass_args` output.

    Returns
    -------
    str
        Sorted-key JSON.
    """
    return json.dumps(glass, sort_keys=True)


__all__ = ["glass_args", "glass_id"]

"""Which glass a builder call melt-quenches: the part of a build that runs of a study share.

Every amorphous builder melts and quenches a periodic bulk cell with :func:`amorphous_lisi`
(the particle builders cut their sphere from it) and :mod:`dealloy.builders.cache` keeps that
glass. :func:`glass_args` names the :func:`amorphous_lisi` call behind a builder call without
running anything, so a study can group its runs by the glass they need and build each one once
before the runs start (:mod:`dealloy.study.prebuild`).
"""

from __future__ import annotations

import inspect
import json

from dealloy.builders.amorphous import (PROTOCOLS, _bulk_n_si_for, _protocol, amorphous_lisi,
                                        amorphous_lisi_particle, core_shell_particle)
from dealloy.errors import ConfigError
from dealloy.lammps.potentials import DEFAULT_POTENTIAL

#: builder name -> (function, the argument that is the glass's Li/Si: the shell's for core-shell)
_GLASS_BUILDERS = {"amorphous_lisi": (amorphous_lisi, "x"),
                   "amorphous_lisi_particle": (amorphous_lisi_particle, "x"),
                   "core_shell_particle": (core_shell_particle, "x_shell")}
#: amorphous_lisi's protocol keywords (particle_relax_ps belongs to the particle, not the glass)
_GLASS_PROTOCOL_KEYS = tuple(k for k in PROTOCOLS["standard"] if k != "particle_relax_ps")


def glass_args(builder: str, args: dict) -> dict | None:
    """Name the :func:`~dealloy.builders.amorphous.amorphous_lisi` call a builder call makes.

    Mirrors what the builders do, without running anything: arguments left out take the
    builder's own defaults (read from its signature), the particle builders melt a cell of
    ``bulk_n_si`` Si (default one as large as the particle), and the protocol is resolved to all
    its values, so equal glasses get equal arguments however they were spelled (``20`` or
    ``20.0``, a value given or left at the protocol's default). Arguments the builder would
    refuse give None or a call it never makes; either costs a useless build or a missed saving
    at worst, never a wrong glass (the cache key is computed from what is actually built).

    Parameters
    ----------
    builder : str
        A builder name (:data:`dealloy.builders.BUILDERS`; hyphens allowed).
    args : dict
        Its arguments as a run config gives them (``particle.args``); None values count as left
        out.

    Returns
    -------
    dict or None
        Keyword arguments of :func:`amorphous_lisi`: ``x`` (float), ``n_si``, ``seed``,
        ``potential`` (name), ``protocol`` and every protocol value of the glass (floats). None
        when the builder melt-quenches nothing (the crystalline builders), a required argument
        is missing, or a value is unusable (not a number, an unknown protocol).
    """
    name = str(builder).replace("-", "_")
    if name not in _GLASS_BUILDERS:
        return None
    fn, x_name = _GLASS_BUILDERS[name]
    given = {k: v for k, v in args.items() if v is not None}
    try:
        bound = inspect.signature(fn).bind_partial(**given)
    except TypeError:  # an argument the builder does not take (its protocol keywords are **kw)
        return None
    bound.apply_defaults()
    a = {k: v for k, v in bound.arguments.items() if k != "protocol_overrides"}
    a.update(bound.arguments.get("protocol_overrides") or {})
    try:
        x = float(a[x_name])
        if name == "amorphous_lisi":
            n_si = int(a["n_si"])
        elif a.get("bulk_n_si") is not None:
            n_si = int(a["bulk_n_si"])
        else:
            n_si = _bulk_n_si_for(float(a["diameter_nm"]), x)
        p = _protocol(str(a["protocol"]), {k: a.get(k) for k in _GLASS_PROTOCOL_KEYS})
        potential = a.get("potential") or DEFAULT_POTENTIAL
        out = {"x": x, "n_si": n_si, "seed": int(a["seed"]),
               "potential": str(getattr(potential, "name", potential)),
               "protocol": str(a["protocol"])}
    except (KeyError, TypeError, ValueError, ConfigError):
        return None
    out.update({k: float(p[k]) for k in _GLASS_PROTOCOL_KEYS})
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

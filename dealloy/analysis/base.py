"""The one shape of every analysis, like freud's compute objects.

Configure (a params dataclass, units in names) -> ``compute(frame)`` -> ``results`` (a dict).

    rdf = PartialRDF(cutoff_angstrom=8.0).compute(atoms)
    rdf.results["si_si"]

``compute`` accepts anything :func:`dealloy.analysis.frame.as_frame` accepts and returns ``self``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from dealloy.analysis.frame import Frame, as_frame
from dealloy.errors import ConfigError


class Analysis:
    """Base of the per-frame analyses: parameters in, ``compute(frame)``, ``results`` out.

    A subclass sets ``Params`` (a dataclass whose field names carry their units) and implements
    ``_compute(frame, **kwargs) -> dict``.

    Parameters
    ----------
    params : dataclass instance of ``Params``, optional
        The parameters; default ``Params(**kwargs)``.
    **kwargs
        Parameter values: the fields of ``Params``, or replacements for fields of ``params``.

    Raises
    ------
    ConfigError
        When ``kwargs`` name a field ``Params`` does not have (the message lists the known ones).
    """

    Params: ClassVar[type]  # a dataclass

    def __init__(self, params=None, **kwargs):
        if params is None:
            names = {f.name for f in dataclasses.fields(self.Params)}
            unknown = sorted(set(kwargs) - names)
            if unknown:
                raise ConfigError(f"{type(self).__name__}: unknown parameter(s) {', '.join(unknown)}"
                                  f" (known: {', '.join(sorted(names))})")
            params = self.Params(**kwargs)
        elif kwargs:
            params = dataclasses.replace(params, **kwargs)
        self.params = params
        self.results: dict[str, Any] = {}

    def compute(self, frame, **kwargs) -> "Analysis":
        """Compute the analysis of one frame into :attr:`results`.

        Parameters
        ----------
        frame : dealloy.analysis.frame.Frame, ase.Atoms, ovito.pipeline.Pipeline or path
            Anything :func:`dealloy.analysis.frame.as_frame` accepts; positions in Å.
        **kwargs
            Passed to the subclass's ``_compute`` (e.g. shared intermediate results).

        Returns
        -------
        Analysis
            ``self``, with ``results`` (a dict) replaced.
        """
        self.results = self._compute(as_frame(frame), **kwargs)
        return self

    def _compute(self, frame: Frame, **kwargs) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        """Show the class and its parameters, e.g. ``SiNetwork(SiNetworkParams(...))``."""
        return f"{type(self).__name__}({self.params})"

"""The one shape of every analysis: configure (a pydantic params model of
:mod:`dealloy.config.analysis`, units in names, bounds checked) ->
``compute(frame)`` -> ``results`` (a dict), like freud's compute objects.

    rdf = PartialRDF(cutoff_angstrom=8.0).compute(atoms)
    rdf.results["si_si"]

``compute`` accepts anything :func:`dealloy.analysis.frame.as_frame` accepts and returns ``self``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from dealloy.analysis.frame import Frame, as_frame
from dealloy.config.analysis import AnalysisModel
from dealloy.errors import ConfigError


class Analysis:
    Params: ClassVar[type[AnalysisModel]]  # its parameter model (dealloy.config.analysis)

    def __init__(self, params=None, **kwargs):
        """``params`` (a :attr:`Params`) and/or keyword parameters; checked here, before any
        frame is read.

        Raises
        ------
        ConfigError
            An unknown parameter or a value out of its range, one line naming each.
        """
        names = set(self.Params.model_fields)
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise ConfigError(f"{type(self).__name__}: unknown parameter(s) {', '.join(unknown)}"
                              f" (known: {', '.join(sorted(names))})")
        if params is None or kwargs:
            base = params.model_dump() if params is not None else {}
            params = self.Params.checked(type(self).__name__, **{**base, **kwargs})
        self.params = params
        self.results: dict[str, Any] = {}

    def compute(self, frame, **kwargs) -> "Analysis":
        self.results = self._compute(as_frame(frame), **kwargs)
        return self

    def _compute(self, frame: Frame, **kwargs) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.params})"

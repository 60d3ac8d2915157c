"""The one shape of every analysis: configure (a params dataclass, units in names) ->
``compute(frame)`` -> ``results`` (a dict), like freud's compute objects.

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
        self.results = self._compute(as_frame(frame), **kwargs)
        return self

    def _compute(self, frame: Frame, **kwargs) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.params})"

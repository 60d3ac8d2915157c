"""The one shape of every analysis, like freud's compute objects.

Configure (a pydantic parameter model of :mod:`dealloy.config.analysis`, units in names, bounds
checked) -> ``compute(frame)`` -> ``results`` (a :class:`~dealloy.analysis.results.Results`: a
dict whose keys are also attributes, as MDAnalysis' ``Results``).

    rdf = PartialRDF(cutoff_angstrom=8.0).compute(atoms)
    rdf.results.si_si          # the same as rdf.results["si_si"]

``compute`` accepts anything :func:`dealloy.analysis.frame.as_frame` accepts and returns ``self``.
"""

from __future__ import annotations

from typing import ClassVar

from dealloy.analysis.frame import Frame, as_frame
from dealloy.analysis.results import Results
from dealloy.config.analysis import AnalysisModel
from dealloy.errors import ConfigError


class Analysis:
    """Base of the per-frame analyses: parameters in, ``compute(frame)``, ``results`` out.

    A subclass sets ``Params`` (a pydantic model of :mod:`dealloy.config.analysis` whose field
    names carry their units) and implements ``_compute(frame, **kwargs) -> dict``. The parameters
    are checked when the analysis is made, before any frame is read.

    Parameters
    ----------
    params : instance of ``Params``, optional
        The parameters; default ``Params(**kwargs)``.
    **kwargs
        Parameter values: the fields of ``Params``, or replacements for fields of ``params``.

    Raises
    ------
    ConfigError
        When ``kwargs`` name a field ``Params`` does not have (the message lists the known ones),
        or a value is out of its range (one line naming each).
    """

    Params: ClassVar[type[AnalysisModel]]  # its parameter model (dealloy.config.analysis)

    def __init__(self, params=None, **kwargs):
        names = set(self.Params.model_fields)
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise ConfigError(f"{type(self).__name__}: unknown parameter(s) {', '.join(unknown)}"
                              f" (known: {', '.join(sorted(names))})")
        if params is None or kwargs:
            base = params.model_dump() if params is not None else {}
            params = self.Params.checked(type(self).__name__, **{**base, **kwargs})
        self.params = params
        self.results: Results = Results()

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
            ``self``, with ``results`` replaced (a :class:`~dealloy.analysis.results.Results`:
            a dict with attribute access).
        """
        self.results = Results(self._compute(as_frame(frame), **kwargs))
        return self

    def _compute(self, frame: Frame, **kwargs) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        """Show the class and its parameters, e.g. ``SiNetwork(SiNetworkParams(...))``."""
        return f"{type(self).__name__}({self.params})"

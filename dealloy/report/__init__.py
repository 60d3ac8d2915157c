"""The in-silico paper: a report that puts the simulation's numbers beside the paper's.

``build_report(target)`` reads a study (its file; the collected table, made or refreshed with
``dealloy study collect``) or a single run directory, and writes one self-contained HTML page
(images embedded) and a Markdown twin (images in ``<name>_files/``). It computes no metric itself:
everything comes from the collected table and each run's ``analysis/metrics.json``.
"""

from dealloy.report.data import ReportData, load_report_data
from dealloy.report.observables import Observable, observables
from dealloy.report.render import build_report

__all__ = ["ReportData", "load_report_data", "Observable", "observables", "build_report"]

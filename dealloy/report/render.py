"""Render a report: one self-contained HTML page (images embedded) and a Markdown twin."""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
import shutil
from pathlib import Path

from dealloy import __version__
from dealloy.errors import DealloyError
from dealloy.io import write_text
from dealloy.lammps.potentials import get_potential
from dealloy.report.data import ReportData, load_report_data, pathway
from dealloy.report.observables import AGREES, DISAGREES, NOT_COVERED, PARTLY, observables
from dealloy.study.collect import core_time_s, is_known

RUN_COLUMNS = [
    ("run", "run"), ("starting_state", "start"), ("dod_resolved", "DOD"),
    ("diameter_nm_resolved", "d (nm)"), ("selector_resolved", "selector"),
    ("extraction_resolved", "extraction"),
    ("rate_fraction_per_ns_resolved", "rate (1/ns)"), ("rate_li_per_ps_resolved", "rate (Li/ps)"),
    ("temperature_k_resolved", "T (K)"), ("potential_resolved", "potential"),
    ("seed_resolved", "seed"), ("status", "status"), ("x_end", "x end"),
    ("porosity", "porosity"), ("a2_index", "A(2 Å)"),
    ("largest_si_cluster_fraction", "largest cluster"), ("ligament_diameter_mean_nm", "wire (nm)"),
    ("pore_diameter_mean_nm", "pore (nm)"), ("smallest_pore_diameter_nm", "smallest pore (nm)"),
    ("si_conserved", "Si kept"),
    ("wall_time_s", "wall (s)"), ("core_time_s", "core-s"), ("ranks", "ranks"),
]
#: run-table columns shown only when the runs differ in them
MODE_COLUMNS = ("extraction_resolved",)
#: a run-table column shown with its convention band (docs/analysis.md): value [low–high]
BAND_COLUMNS = {"porosity": ("porosity_low", "porosity_high"),
                "ligament_diameter_mean_nm": ("ligament_diameter_mean_low_nm",
                                              "ligament_diameter_mean_high_nm"),
                "pore_diameter_mean_nm": ("pore_diameter_mean_low_nm", "pore_diameter_mean_high_nm")}
BAND_NOTE = ("Porosity, wire and pore sizes: value [convention band], the band being the same "
             "metric with the solid's boundary moved 1 Å in and out (the solid is the half-density "
             "surface of the atoms; docs/analysis.md). 'smallest pore': voids of smaller "
             "(equimolar) diameter are invisible to the analysis.")
COLOURS = {AGREES: "#1b7f3b", DISAGREES: "#b3261e", PARTLY: "#9a6700", NOT_COVERED: "#666"}


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        return f"{v:.4g}"
    return str(v)


def _run_rows(data: ReportData) -> tuple[list[str], list[list[str]]]:
    # the extraction mode only where the runs differ in it (one-mode reports stay as they were)
    cols = [(k, label) for k, label in RUN_COLUMNS if k in data.table.columns
            and data.table[k].notna().any()
            and (k not in MODE_COLUMNS or data.table[k].nunique() > 1)]
    rows = [[_cell(r, k) for k, _ in cols] for _, r in data.table.iterrows()]
    return [label for _, label in cols], rows


def _cell(row, key: str) -> str:
    """Format a run-table cell; a voxel metric with its convention band as 'value [low–high]'."""
    text = _fmt(row[key])
    lo, hi = (row.get(c) for c in BAND_COLUMNS.get(key, ("", "")))
    if text != "–" and isinstance(lo, float) and isinstance(hi, float) and lo == lo and hi == hi:
        text += f" [{_fmt(lo)}–{_fmt(hi)}]"
    return text


def _cost(data: ReportData) -> str:
    df = data.table
    if "wall_time_s" not in df.columns:
        return "wall time not recorded"

    runs = [(float(row["wall_time_s"]), core_time_s(row))
            for row in df.to_dict("records") if is_known(row["wall_time_s"])]
    wall_s = sum(w for w, _ in runs)
    core_s = sum(c for _, c in runs)
    text = (f"{len(runs)} runs, wall time {wall_s / 3600:.2f} h in all, "
            f"{core_s / 3600:.2f} core-hours")
    build = [float(v) for v in df.get("build_core_time_s", []) if is_known(v)]
    if build:  # the particle builds (melt-quenches) apart from the MD of the protocol
        text += (f", of which {sum(build) / 3600:.2f} core-hours building the particles "
                 f"({len(build)} of the runs record it)")
    return text


def _potentials(data: ReportData) -> list[tuple[str, str, str]]:

    out = []
    names = sorted({str(p) for p in data.table.get("potential_resolved", []) if p and p == p})
    for name in names:
        try:
            pot = get_potential(name)
            out.append((pot.name, pot.citation, pot.limitations))
        except DealloyError as exc:
            out.append((name, "", str(exc)))
    return out


def _microscopy(data: ReportData) -> dict[str, tuple[str, list[Path]]]:
    """Pick the first finished run of each path that has images: path -> (run key, images)."""
    chosen: dict[str, tuple[str, list[Path]]] = {}
    for _, r in data.done.iterrows():
        path = r.get("pathway_resolved") or pathway(r.get("starting_state"))
        imgs = data.images.get(r["run"]) or []
        if imgs and path not in chosen:
            chosen[path] = (r["run"], imgs)
    return chosen


def _counts(obs) -> str:
    return (f"{sum(o.verdict == AGREES for o in obs)} agree, "
            f"{sum(o.verdict == DISAGREES for o in obs)} disagree, "
            f"{sum(o.verdict == PARTLY for o in obs)} partly, "
            f"{sum(o.verdict == NOT_COVERED for o in obs)} not covered")


def _summary(obs) -> str:
    bad = [o for o in obs if o.verdict == DISAGREES]
    modes = list(dict.fromkeys(o.extraction for o in obs if o.extraction))
    if modes:  # rows per extraction mode: count each protocol on its own
        text = "Per extraction mode (rows of that mode's runs): " + "; ".join(
            f"{m}: {_counts([o for o in obs if o.extraction == m])}" for m in modes)
        text += f"; independent of the mode: {_counts([o for o in obs if not o.extraction])}."
    else:
        good = [o for o in obs if o.verdict == AGREES]
        text = (f"{len(good)} observable(s) agree with the paper, {len(bad)} disagree, "
                f"{sum(o.verdict == PARTLY for o in obs)} partly, "
                f"{sum(o.verdict == NOT_COVERED for o in obs)} not covered by this data.")
    if bad:
        text += " The simulation disagrees with the paper on: " + "; ".join(
            f"{o.name} (paper: {o.paper}; here: {o.simulation})" for o in bad) + "."
    return text


def build_report(target, output=None, analyze_missing: bool = True, echo=print,
                 directory=None) -> tuple[Path, Path]:
    """Write ``report.html`` (self-contained) and ``report.md`` for a study file or run dir.

    Parameters
    ----------
    target : str or os.PathLike
        A study file, a run directory or a folder of run directories
        (see :func:`dealloy.report.data.load_report_data`).
    output : str or os.PathLike, optional
        The HTML file; the Markdown twin goes beside it, its images in ``<stem>_files/``. Default:
        ``report.html`` in the study directory, the folder, or the run directory.
    analyze_missing : bool
        Analyse finished runs that lack ``analysis/metrics.json``.
    echo : callable
        Receives progress lines.
    directory : str or os.PathLike, optional
        The study's directory, if it was run with ``--dir``.

    Returns
    -------
    html : pathlib.Path
        The HTML page written.
    markdown : pathlib.Path
        Its Markdown twin.

    Raises
    ------
    ConfigError
        From :func:`dealloy.report.data.load_report_data`: nothing finished to report, or a target
        that is not a study, run or folder of runs.
    """
    data = load_report_data(target, analyze_missing=analyze_missing, echo=echo, directory=directory)
    out_html = Path(output) if output else (
        data.extras["study_dir"] / "report.html" if data.kind == "study"
        else data.source / "report.html")
    out_md = out_html.with_suffix(".md")
    files_dir = out_html.parent / f"{out_html.stem}_files"
    obs = observables(data)
    header, rows = _run_rows(data)
    micro = _microscopy(data)
    pots = _potentials(data)
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    meta = f"dealloy {__version__}, {stamp}, source {data.source}"

    # ---- images: copy for the Markdown twin, embed for the HTML ---------------------------
    files_dir.mkdir(parents=True, exist_ok=True)
    md_img: dict[Path, str] = {}

    def md_ref(p: Path, prefix: str) -> str:
        if p not in md_img:
            dest = files_dir / f"{prefix}_{p.name}"
            shutil.copyfile(p, dest)
            md_img[p] = f"{files_dir.name}/{dest.name}"
        return md_img[p]

    def b64(p: Path) -> str:
        return "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode()

    # ---- Markdown ---------------------------------------------------------------------------
    md = [f"# dealloy report — {data.title}", "", f"_{meta}_", "", "## Summary", "", _summary(obs), "",
          "## The paper beside the simulation", "",
          "| # | observable | paper | simulation | verdict | criterion |", "|---|---|---|---|---|---|"]
    md += [f"| {o.number} | {o.name} | {o.paper} | {o.simulation} | **{o.verdict}** | {o.criterion} |"
           for o in obs]
    if data.figures:
        md += ["", "## Figures", ""]
        md += [f"![{p.stem}]({md_ref(p, 'fig')})" for p in data.figures]
    if micro:
        md += ["", "## Virtual microscopy (c-path beside a-path)", ""]
        for path, (run, imgs) in sorted(micro.items()):
            md += [f"### {path}: run {run}", ""] + [f"![{p.stem}]({md_ref(p, run)})" for p in imgs] + [""]
    md += ["", "## Runs", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    md += ["", BAND_NOTE]
    md += ["", "## Potential and its known limitations", ""]
    md += [f"- **{n}** ({c}): {lim}" for n, c, lim in pots] or ["- not recorded"]
    md += ["", "## Cost", "", _cost(data), ""]
    write_text(out_md, "\n".join(md))

    # ---- HTML -------------------------------------------------------------------------------
    e = html.escape
    h = [f"<!doctype html><html><head><meta charset='utf-8'><title>dealloy report — {e(data.title)}</title>",
         "<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;"
         "color:#222}table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid "
         "#ccc;padding:4px 8px;vertical-align:top}th{background:#f3f3f3}img{max-width:100%}"
         ".pair{display:flex;gap:1em;flex-wrap:wrap}.pair>div{flex:1 1 45%}</style></head><body>",
         f"<h1>dealloy report — {e(data.title)}</h1><p><em>{e(meta)}</em></p>",
         f"<h2>Summary</h2><p>{e(_summary(obs))}</p>",
         "<h2>The paper beside the simulation</h2><table><tr><th>#</th><th>observable</th><th>paper</th>"
         "<th>simulation</th><th>verdict</th><th>criterion</th></tr>"]
    for o in obs:
        h.append(f"<tr><td>{o.number}</td><td>{e(o.name)}</td><td>{e(o.paper)}</td><td>{e(o.simulation)}"
                 f"</td><td style='color:{COLOURS[o.verdict]};font-weight:bold'>{e(o.verdict)}</td>"
                 f"<td>{e(o.criterion)}</td></tr>")
    h.append("</table>")
    if data.figures:
        h.append("<h2>Figures</h2>")
        h += [f"<figure><img src='{b64(p)}' alt='{e(p.stem)}'><figcaption>{e(p.stem)}</figcaption></figure>"
              for p in data.figures]
    if micro:
        h.append("<h2>Virtual microscopy (c-path beside a-path)</h2><div class='pair'>")
        for path, (run, imgs) in sorted(micro.items()):
            h.append(f"<div><h3>{e(path)}: run {e(run)}</h3>")
            h += [f"<img src='{b64(p)}' alt='{e(p.stem)}'>" for p in imgs]
            h.append("</div>")
        h.append("</div>")
    h.append("<h2>Runs</h2><table><tr>" + "".join(f"<th>{e(c)}</th>" for c in header) + "</tr>")
    h += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows]
    h.append(f"</table><p>{e(BAND_NOTE)}</p><h2>Potential and its known limitations</h2><ul>")
    h += [f"<li><b>{e(n)}</b> ({e(c)}): {e(lim)}</li>" for n, c, lim in pots]
    h.append(f"</ul><h2>Cost</h2><p>{e(_cost(data))}</p></body></html>")
    write_text(out_html, "\n".join(h))
    return out_html, out_md

"""Regenerate the notebooks in analysis/ (one per paper figure) from the cells below.

    python analysis/make_notebooks.py

Every notebook loads its data through the package API (``dealloy.report.load_report_data``) with a
parameter cell at the top; the tests run each one against the smoke study's output. Cells that
draw are tagged ``figure`` (the test asserts each produced an image).
"""

import hashlib
from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).resolve().parent

PARAMS = '''# Parameters: a study file (and its directory, if it was run with --dir), a run directory or a
# folder of runs (e.g. dealloy-quickstart/). Relative paths are from this notebook's folder; the
# study's runs are looked for where `dealloy study run` puts them when run from here or from the
# repository root (studies/<name>), or in STUDY_DIR.
import os
STUDY = os.environ.get("DEALLOY_STUDY", "{default}")
STUDY_DIR = os.environ.get("DEALLOY_STUDY_DIR") or None'''

LOAD = '''from IPython.display import Image, Markdown, display
import matplotlib.pyplot as plt
import pandas as pd
from dealloy.report import load_report_data, observables
from dealloy.report.data import pathway

# A study that has not been run yet stops here with a message saying what to run first.
data = load_report_data(STUDY, directory=STUDY_DIR, analyze_missing=False)
table = data.done.assign(route=lambda d: [pathway(s) for s in d["starting_state"]])  # c-path / a-path
print(f"{data.title}: {len(table)} finished run(s)")'''


def obs_cell(numbers):
    return (f"rows = [o for o in observables(data) if o.number in {numbers!r}]\n"
            "pd.DataFrame([vars(o) for o in rows]).set_index('number')")


NOTEBOOKS = {
    "fig1-morphology.ipynb": ("../workflows/paper-fig1-dod.toml", [
        "# Fig. 1 — morphology after dealloying vs starting state\n\nc-Li15Si4 (DOD 100 %) → continuous "
        "Si framework; a-LixSi (DOD 70–90 %) → dense a-Si. Porosity, largest Si cluster and A(2 Å) per "
        "starting state, and Z-contrast projections (the paper's STEM-HAADF).",
        ("code", None), ("code", "LOAD"),
        ("code", "cols = [c for c in ('starting_state', 'dod_resolved', 'x_end', 'porosity', "
                 "'largest_si_cluster_fraction', 'a2_index') if c in table]\n"
                 "table.groupby(['route', 'starting_state', 'dod_resolved'])[cols[2:]].mean()"),
        ("code", obs_cell([1, 2, 5])),
        ("figure", "for run, imgs in data.images.items():\n"
                 "    for p in imgs:\n"
                 "        if p.name.startswith('haadf'):\n"
                 "            display(Markdown(f'**{run}** ({table.set_index(\"run\").loc[run, \"route\"] if run in set(table.run) else \"?\"})'))\n"
                 "            display(Image(filename=str(p), width=320))"),
    ]),
    "fig2-slices.ipynb": ("../workflows/paper-fig1-dod.toml", [
        "# Fig. 2 — slices through the dealloyed particles\n\nThin Z-contrast slices (like the "
        "tomography slices of Fig. 2) of the first finished c-path and a-path run.",
        ("code", None), ("code", "LOAD"),
        ("figure", "shown = set()\nfor _, r in table.iterrows():\n"
                 "    if r['route'] in shown:\n        continue\n"
                 "    slices = [p for p in data.images.get(r['run'], []) if p.name.startswith('slices')]\n"
                 "    if slices:\n        shown.add(r['route'])\n"
                 "        display(Markdown(f\"**{r['route']}**: run {r['run']} (x = {r.get('x_end')})\"))\n"
                 "        display(Image(filename=str(slices[0])))\n"
                 "print('paths shown:', sorted(shown) or 'none (no analysed run has slice images)')"),
    ]),
    "fig4-rates.ipynb": ("../workflows/paper-fig4-rates.toml", [
        "# Fig. 4 — ligament and pore size vs dealloying rate\n\nPaper: wire size flat (~1.8 nm); "
        "pore size flat at low rate, growing above 0.1 C.",
        ("code", None), ("code", "LOAD"),
        ("code", "rate = next((c for c in ('rate_fraction_per_ns_resolved', 'rate_li_per_ps_resolved') "
                 "if c in table and table[c].notna().any()), None)\n"
                 "sizes = [c for c in ('ligament_diameter_mean_nm', 'pore_diameter_mean_nm') if c in table]\n"
                 "summary = table.groupby(rate)[sizes].agg(['mean', 'std']) if rate else table[sizes]\n"
                 "summary"),
        ("figure", "labels = {'ligament_diameter_mean_nm': 'ligament (Si wire)', "
                   "'pore_diameter_mean_nm': 'pore'}\n"
                   "fig, ax = plt.subplots()\n"
                   "if rate and table[rate].nunique() >= 2:\n"
                   "    for c in sizes:\n"
                   "        g = table.groupby(rate)[c].agg(['mean', 'std'])\n"
                   "        ax.errorbar(g.index, g['mean'], yerr=g['std'].fillna(0), marker='o', "
                   "capsize=3, label=labels[c])\n"
                   "    ax.set_xscale('log'); ax.set_xlabel(rate.replace('_resolved', ''))\n"
                   "else:  # one rate: the sizes of each run, so the data are still seen\n"
                   "    for i, c in enumerate(sizes):\n"
                   "        ax.plot(range(len(table)), table[c], 'o', label=labels[c])\n"
                   "    ax.set_xticks(range(len(table)), table['run'], rotation=45, fontsize=7)\n"
                   "    ax.set_title('one rate in this study: sizes per run (a rate sweep: "
                   "workflows/paper-fig4-rates.toml)', fontsize=8)\n"
                   "ax.set_ylabel('diameter (nm)'); ax.legend()\n"
                   "plt.show()"),
        ("code", obs_cell([3, 4, 10])),
    ]),
    "figS5-a2-index.ipynb": ("../workflows/paper-exafs-a2.toml", [
        "# Fig. S5 — A(2 Å Si–Si) of dealloyed Si vs DOD\n\nThe area of the first Si–Si shell (EXAFS) ≙ "
        "mean Si–Si coordination / 4 of the fully dealloyed Si, by the DOD of its starting state "
        "(`a2_index`); `a2_start` is the lithiated starting state (first analysed frame) for reference.",
        ("code", None), ("code", "LOAD"),
        ("code", "def first(run, key):\n"
                 "    frames = data.frames.get(run) or []\n"
                 "    return frames[0].get(key) if frames else None\n"
                 "table = table.assign(a2_start=[first(r, 'a2_index') for r in table['run']])\n"
                 "table.groupby(['route', 'dod_resolved'])[['a2_start', 'x_end', 'a2_index']].mean()"),
        ("code", obs_cell([6])),
    ]),
    "figS10-cluster-classes.ipynb": ("../workflows/paper-fig1-dod.toml", [
        "# Fig. S10 — Si cluster classes during dealloying (the 7Li NMR signature)\n\nc-path: isolated "
        "Si → larger clusters, skipping small ones; a-path: small → larger gradually.",
        ("code", None), ("code", "LOAD"),
        ("figure", "classes = ('isolated', 'dumbbell', 'small', 'network')\n"
                   "styles = ('-', '--', ':', '-.')\n"
                   "fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)\n"
                   "for ax, path in zip(axes, ('c-path', 'a-path')):\n"
                   "    runs = list(table[table['route'] == path]['run'])\n"
                   "    for k, run in enumerate(runs):  # every run of the path, one line style each\n"
                   "        fr = [f for f in data.frames.get(run) or [] if f.get('si_cluster_fractions')]\n"
                   "        xs = [f['x'] for f in fr]\n"
                   "        for i, c in enumerate(classes):\n"
                   "            ax.plot(xs, [f['si_cluster_fractions'][c] for f in fr], styles[k % 4], "
                   "marker='.', color=f'C{i}', label=c if k == 0 else None)\n"
                   "    ax.set_title(f'{path} ({len(runs)} run(s))'); ax.set_xlabel('Li/Si'); ax.invert_xaxis()\n"
                   "    if not runs:\n"
                   "        ax.text(0.5, 0.5, f'no {path} run in this study', ha='center', transform=ax.transAxes)\n"
                   "axes[0].set_ylabel('share of Si'); axes[0].legend(title='Si cluster class')\n"
                   "plt.show()"),
        ("code", obs_cell([7])),
    ]),
    "li-diffusivity.ipynb": ("../workflows/paper-fig1-dod.toml", [
        "# Li diffusivity — crystalline vs amorphous\n\nPaper (Ding et al. 2009): c-Li3.75Si 1e-10–1e-11 "
        "cm²/s, a-LixSi 1e-12–1e-13 cm²/s. The controlled comparison is `dealloy diffusivity` (bulk c- "
        "vs a-Li15Si4, Arrhenius to 300 K). Per run, `dealloy analyze` reports D only where it means "
        "something: at fixed composition (no Li leaving or entering in the fitted frames), with at "
        "least 50 Li and 8 evenly spaced frames, drift (and a particle's rotation) removed, and "
        "resolved (at least 4 Li hops' worth of MSD over the window, above twice its error) "
        "(`dealloy.analysis.diffusivity.li_diffusion`); otherwise the table says why not. A "
        "dealloying run changes its composition all the time, so it rarely has a D.",
        ("code", None), ("code", "LOAD"),
        ("code", "import json\nfrom dealloy.rundir import RunDir\nrows = []\n"
                 "for _, r in table.iterrows():\n"
                 "    f = RunDir(r['path']).analysis_dir / 'metrics.json'\n"
                 "    d = json.loads(f.read_text()).get('li_diffusion') if f.is_file() else None\n"
                 "    d = d or {'reported': False, 'why_not': 'not analysed with this version: '\n"
                 "              'run `dealloy analyze` on the run directory again'}\n"
                 "    rows.append({'run': r['run'], 'route': r['route'],\n"
                 "                 'D_cm2_per_s': d['diffusion_cm2_per_s'] if d['reported'] else None,\n"
                 "                 'Li atoms': d.get('n_atoms'), 'why not': d.get('why_not')})\n"
                 "pd.DataFrame(rows)"),
        ("code", obs_cell([11])),
    ]),
}


def build():
    for name, (default, cells) in NOTEBOOKS.items():
        nb = nbf.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        out = []
        for cell in cells:
            if isinstance(cell, str):
                out.append(nbf.v4.new_markdown_cell(cell))
            elif cell[1] is None:
                c = nbf.v4.new_code_cell(PARAMS.format(default=default))
                c.metadata["tags"] = ["parameters"]
                out.append(c)
            elif cell[1] == "LOAD":
                out.append(nbf.v4.new_code_cell(LOAD))
            elif cell[0] == "figure":
                c = nbf.v4.new_code_cell(cell[1])
                c.metadata["tags"] = ["figure"]
                out.append(c)
            else:
                out.append(nbf.v4.new_code_cell(cell[1]))
        for i, c in enumerate(out):  # stable ids: regenerating changes only the edited cells
            c["id"] = hashlib.sha1(f"{name}:{i}".encode()).hexdigest()[:8]
        nb.cells = out
        nbf.write(nb, HERE / name)


if __name__ == "__main__":
    build()

"""Voltage curves of the two demo runs (c-Li15Si4 and a-Li3.75Si, potentiostatic sweep).

    python docs/results/electrochem-demo/plot_demo.py /work/state/electro/demo

Writes, beside this script: <c|a>-voltage.csv, <c|a>-dqdv.csv (copies of each run's
analysis/voltage.csv and dqdv.csv), summary.json and voltage-c-vs-a.png.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from dealloy.analysis.voltage import (PAPER_A_PROCESSES_V, PAPER_C_PLATEAU_V,  # noqa: E402
                                      dqdv, voltage_curve, write_voltage_outputs)
from dealloy.rundir import RunDir  # noqa: E402

HERE = Path(__file__).resolve().parent
LABELS = {"c": "c-Li15Si4 (2.2 nm)", "a": "a-Li3.75Si (2.2 nm)",
          "c-tfmc": "c-Li15Si4, 100 tfMC steps per pass"}


def main(state_dir: Path) -> None:
    out = {}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in LABELS.items():
        rd = RunDir(state_dir / key)
        if rd.status != "done":
            continue
        info = rd.record().as_dict()  # run.json through RunRecord, as plain data for the JSON below
        summ = write_voltage_outputs(rd.path, bin_v=0.05)
        rows = voltage_curve(rd.path)
        shutil.copy(rd.analysis_dir / "voltage.csv", HERE / f"{key}-voltage.csv")
        shutil.copy(rd.analysis_dir / "dqdv.csv", HERE / f"{key}-dqdv.csv")
        # the applied potential against x, sampled at every accepted move
        a1.plot([r["x"] for r in rows], [r["voltage_v"] for r in rows], ".-", ms=2, lw=0.8,
                label=label)
        c, d = dqdv(rows, int(info["si_start"]), 0.05)
        a2.step(c, d, where="mid", label=label)
        st = next(s for s in info["stages"] if s["type"] == "potentiostatic")
        out[key] = {"summary": summ, "status": info["status"], "x_start": info["x_start"],
                    "x_end": info["x_end"], "li_start": info["li_start"], "si": info["si_end"],
                    "moves": info["electrochem"]["moves"],
                    "single_points": info["electrochem"]["evaluations"],
                    "stage_wall_s": st["wall_s"], "stage_bookkeeping_s": st["bookkeeping_s"],
                    "wall_time_s": info["wall_time_s"], "core_time_s": info["core_time_s"],
                    "versions": info["versions"], "stop_reason": st["stop_reason"],
                    "tfmc_steps": info["electrochem"].get("tfmc_steps", 0)}
    for ax in (a1,):
        ax.axhline(PAPER_C_PLATEAU_V, color="k", ls="--", lw=0.8, label="paper c-path 0.43 V")
        for v in PAPER_A_PROCESSES_V:
            ax.axhline(v, color="grey", ls=":", lw=0.8)
        ax.invert_xaxis()
        ax.set_xlabel("x = Li/Si")
        ax.set_ylabel("applied U at each accepted move (V vs Li/Li+)")
        ax.legend(fontsize=7)
    a2.axvline(PAPER_C_PLATEAU_V, color="k", ls="--", lw=0.8)
    for v in PAPER_A_PROCESSES_V:
        a2.axvline(v, color="grey", ls=":", lw=0.8)
    a2.set_xlabel("U (V vs Li/Li+)")
    a2.set_ylabel("dQ/dV (Li per Si per V)")
    a2.legend(fontsize=7)
    fig.suptitle("potentiostatic sweep 0.05 -> 1.0 V at 10 mV/ps, meam-godet2020, 300 K")
    fig.tight_layout()
    fig.savefig(HERE / "voltage-c-vs-a.png", dpi=120)
    (HERE / "summary.json").write_text(json.dumps(out, indent=1, default=str) + "\n")
    print(json.dumps({k: {kk: v[kk] for kk in ("x_end", "moves", "stage_wall_s")}
                      for k, v in out.items()}, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]))

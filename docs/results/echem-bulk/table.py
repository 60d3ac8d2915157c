"""Print the per-run numbers quoted in this folder's README from the run directories.

    python docs/results/echem-bulk/table.py <folder of run directories, e.g. the c-vs-a links>

Per run: extraction mode and seed (config.toml), the end product's density (Si mass over the
cell volume of the last analysed frame, g/cm^3), Si-Si coordination and diamond-like Si fraction
(analysis/metrics.json), the dQ/dV peak and energy-balance voltage (analysis/voltage.json), and
for galvanostatic runs the share of removals whose voltage (events.csv `voltage_v`, V vs Li/Li+)
lies below 1.0 V and 0.6 V.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from dealloy.config import load_toml

AMU_G = 1.66053906660e-24  # g (CODATA 2018)
M_SI = 28.0855  # amu


def row(run: Path) -> dict:
    cfg = load_toml(run / "config.toml")
    stage = next((s for s in cfg.get("stages", []) if s.get("type") in
                  ("extract", "galvanostatic", "potentiostatic")), {})
    last = json.loads((run / "analysis" / "metrics.json").read_text())["frames"][-1]
    out = {"run": run.name, "mode": {"extract": "geometric"}.get(stage.get("type"), stage.get("type")),
           "seed": cfg.get("seed"),
           "density_g_cm3": last["n_si"] * M_SI * AMU_G / (last["envelope_volume_nm3"] * 1e-21),
           "si_si_cn": last["si_si_coordination_mean"],
           "c_si_fraction": (last.get("crystalline_fraction_by_phase") or {}).get("c_si")}
    vj = run / "analysis" / "voltage.json"
    if vj.is_file():
        v = json.loads(vj.read_text())
        out.update(dqdv_peak_v=v.get("dqdv_peak_v"), plateau_share=v.get("plateau_share"),
                   energy_balance_v=v.get("energy_balance_voltage_v"))
    if out["mode"] == "galvanostatic":
        with open(run / "events.csv") as f:
            u = [float(r["voltage_v"]) for r in csv.DictReader(f) if r.get("voltage_v")]
        out.update(share_below_1v=sum(x < 1.0 for x in u) / len(u),
                   share_below_0p6v=sum(x < 0.6 for x in u) / len(u))
    return out


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    for run in sorted(p for p in folder.iterdir() if (p / "config.toml").is_file()):
        r = row(run)
        print("  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in r.items()))

"""Record a finished particle-stability run in the repository: its result file and its manifest row.

``dealloy validate-potential NAME --stability --json OUT`` writes every temperature of every
potential it ran into one JSON file. This script files each (potential, temperature) as
``potentials/validation/stability/NAME-<T>K.json`` (the whole series, the same shape as OUT) and
writes its summary into ``potentials/NAME/potential.json`` under
``validation.particle_stability.runs``, one entry per temperature, which
``dealloy validate-potential NAME`` prints beside issue 14's test (100 ps at 300 K and at
1000 K, no pair closer than 1.5 Å, NVE drift reported)::

    python potentials/validation/record_stability.py OUT.json \
        --command "mpiexec -n 2 dealloy validate-potential NAME --stability ... (date, dealloy rev)"

A temperature recorded before is replaced by the new run, keeping only the notes written by hand
beside it (``earlier_trajectory``, ``evaporated_atom``, ``note``); each row carries the
``params`` of its own run. A manifest in the older flat form (one temperature at the top level)
is turned into the ``runs`` form. Every file is written atomically, the manifests last, and only
after every run has been read and checked.
Cost: a second.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: what a stability result's run must hold to be summarised
NEEDED = ("temperature_k", "equilibrate_ps", "nve_ps", "closest_pair_angstrom", "evaporated_li",
          "evaporated_si", "detached_atoms_end", "drift_mev_per_atom_per_ns",
          "mean_temperature_k", "stable")
#: notes written by hand beside a temperature's row, kept when a new run replaces it
HAND_NOTES = ("earlier_trajectory", "evaporated_atom", "note")


def checked(doc, source: str) -> list[dict]:
    """Check a ``--stability --json`` document for what is summarised; return its results.

    Parameters
    ----------
    doc : object
        The parsed JSON.
    source : str
        Its path, for messages.

    Returns
    -------
    list of dict
        ``doc['stability']``: each with ``potential``, ``params`` (``time_ps``) and a non-empty
        ``runs`` whose entries hold every field of :data:`NEEDED`.

    Raises
    ------
    SystemExit
        One line naming the file, potential, temperature and missing field, and the fix.
    """
    fix = "give the JSON that 'dealloy validate-potential --stability --json' wrote"
    results = doc.get("stability") if isinstance(doc, dict) else None
    if not isinstance(results, list) or not results:
        raise SystemExit(f"{source}: no 'stability' list; {fix}")
    for res in results:
        if not isinstance(res, dict) or not isinstance(res.get("potential"), str):
            raise SystemExit(f"{source}: a result names no 'potential'; {fix}")
        name = res["potential"]
        if "time_ps" not in (res.get("params") or {}):
            raise SystemExit(f"{source}: '{name}' has no params.time_ps; {fix}")
        if not isinstance(res.get("runs"), list) or not res["runs"]:
            raise SystemExit(f"{source}: '{name}' has no runs (no temperature finished); {fix}")
        for run in res["runs"]:
            missing = [k for k in NEEDED if k not in run]
            if missing:
                raise SystemExit(f"{source}: '{name}' at {run.get('temperature_k', '?')} K lacks "
                                 f"{', '.join(missing)}; {fix}")
    return results


def summary(run: dict, params: dict, command: str, file: str) -> dict:
    """One temperature's row for ``potential.json``.

    Parameters
    ----------
    run : dict
        One entry of a stability result's ``runs``
        (:func:`dealloy.potentials.stability.stability_run`), holding :data:`NEEDED`.
    params : dict
        The result's ``params`` (``time_ps`` is the NVE length asked for).
    command : str
        How the run was made (command line, date, dealloy revision, ranks).
    file : str
        The result file, relative to the repository.

    Returns
    -------
    dict
        ``temperature_k``, ``status`` (one sentence), ``command``, ``file``, ``params`` (the
        run's settings, less ``temperatures_k``), ``ps_done``, ``nve_ps_done``, the closest pair
        (Å; over the run and at its end), atoms detached at the end and evaporated (Li, Si), NVE
        drift (meV/atom/ns) and change (meV/atom), mean NVE temperature (K), ``stable``,
        ``rank_counts``, ``md_wall_s``.
    """
    t = float(run["temperature_k"])
    ps = float(run["equilibrate_ps"]) + float(run["nve_ps"])
    full = float(run["nve_ps"]) >= float(params["time_ps"]) - 1e-9
    lost = int(run["evaporated_li"]) + int(run["evaporated_si"])
    status = (f"{t:g} K: {'stable' if run['stable'] else 'UNSTABLE'} over "
              + ("the full " if full else "only ") + f"{ps:g} ps ({float(run['equilibrate_ps']):g} "
              f"ps Langevin, then {float(run['nve_ps']):g} ps NVE): "
              + ("no atom left" if lost == 0 else
                 f"{run['evaporated_li']} Li and {run['evaporated_si']} Si left and were deleted")
              + f", closest pair {float(run['closest_pair_angstrom']):.2f} A, NVE drift "
              f"{float(run['drift_mev_per_atom_per_ns']):.3f} meV/atom/ns")
    out = {"temperature_k": t, "status": status, "command": command, "file": file,
           "params": {k: v for k, v in params.items() if k != "temperatures_k"},
           "ps_done": ps, "nve_ps_done": float(run["nve_ps"]),
           "closest_pair_angstrom": run["closest_pair_angstrom"],
           "closest_pair_end_angstrom": run.get("closest_pair_end_angstrom"),
           "detached_now": run["detached_atoms_end"],
           "evaporated_li": run["evaporated_li"], "evaporated_si": run["evaporated_si"],
           "drift_mev_per_atom_per_ns": run["drift_mev_per_atom_per_ns"],
           "change_mev_per_atom": run.get("change_mev_per_atom"),
           "mean_temperature_k": run["mean_temperature_k"], "stable": run["stable"],
           "rank_counts": run.get("rank_counts", [run.get("n_ranks")]),
           "md_wall_s": run.get("md_wall_s")}
    return {k: v for k, v in out.items() if v is not None}


def merged(stab: dict, rows: list[dict]) -> dict:
    """``validation.particle_stability`` with ``rows`` put in, one entry per temperature.

    Parameters
    ----------
    stab : dict
        The manifest's record so far: empty, in the older flat form (one temperature at the top
        level, its ``params`` beside it) or with ``runs``.
    rows : list of dict
        :func:`summary` rows. Each replaces the entry of its temperature: of the replaced entry
        only the notes of :data:`HAND_NOTES` are kept (its numbers are the older run's).

    Returns
    -------
    dict
        The record's other top-level keys and ``runs`` sorted by temperature, each entry with the
        ``params`` of the run it summarises.
    """
    stab = dict(stab)
    runs = stab.pop("runs", None)
    if runs is None and "temperature_k" in stab:  # the older flat form: one temperature
        runs, stab = [stab], {}
    by_t = {float(r["temperature_k"]): r for r in runs or []}
    for row in rows:
        old = by_t.get(row["temperature_k"], {})
        by_t[row["temperature_k"]] = {**row, **{k: old[k] for k in HAND_NOTES if k in old}}
    stab["runs"] = [by_t[t] for t in sorted(by_t)]
    return stab


def main() -> None:
    """Parse the command line; check and summarise every run; write the files, manifest last."""
    from dealloy.io import write_json

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("result", help="the JSON of dealloy validate-potential --stability --json")
    ap.add_argument("--command", required=True,
                    help="how it was run: command line, dates, dealloy revision, MPI ranks, cost")
    ap.add_argument("--potentials-dir", default=str(ROOT / "potentials"),
                    help="where NAME/potential.json and validation/stability/ are (default: "
                         "this repository's potentials/)")
    args = ap.parse_args()
    pots = Path(args.potentials_dir)
    try:
        doc = json.loads(Path(args.result).read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{args.result}: not readable as JSON ({exc}); give the JSON that "
                         "'dealloy validate-potential --stability --json' wrote") from None
    files, manifests = {}, {}
    for res in checked(doc, args.result):
        name = res["potential"]
        man_path = pots / name / "potential.json"
        if not man_path.is_file():
            raise SystemExit(f"{args.result}: potential '{name}' has no {man_path}; record only "
                             "a potential kept in this repository")
        man = manifests.setdefault(man_path, json.loads(man_path.read_text()))
        rows = []
        for run in res["runs"]:
            out = pots / "validation" / "stability" / f"{name}-{float(run['temperature_k']):g}K.json"
            rel = out.relative_to(pots.parent).as_posix()
            rows.append(summary(run, res["params"], args.command, rel))
            files[out] = {"stability": [{**res, "runs": [run]}]}
        val = man.setdefault("validation", {})
        val["particle_stability"] = merged(val.get("particle_stability") or {}, rows)
    for path, data in files.items():  # every run checked: now write, the manifests last
        write_json(path, data)
        print(f"wrote {path}")
    for path, man in manifests.items():
        write_json(path, man)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()

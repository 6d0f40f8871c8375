"""``explorer curate RUN ACTION ...``: edit a saved run's clusters with history, written into the run.

    explorer curate RUN merge 1 2 [3 ...]     the rows of 2 (3, ...) join cluster 1
    explorer curate RUN split 3 [--k K] [--method M]
    explorer curate RUN recluster 3 [--k K] [--method M]
    explorer curate RUN rename 2 "name"
    explorer curate RUN undo
    explorer curate RUN show [--json]

The run's original labels stay as they were; the curated ones and the history are saved beside them
(:mod:`explorer.curate.store`).
"""

from __future__ import annotations

import argparse
import json

from explorer.cli.args import CliError, run_path
from explorer.curate.curation import RECLUSTER_METHOD, recluster_methods

ACTIONS = ("merge", "split", "recluster", "rename", "undo", "show")


def add_parser(sub) -> None:
    """The ``curate`` command and its options, on the subparsers ``sub``."""
    c = sub.add_parser("curate", help="merge, split, recluster or rename a saved run's clusters; undo; show history")
    c.set_defaults(handler=cmd_curate)
    c.add_argument("run", help="a run id (looked up under --runs) or a run folder")
    c.add_argument("action", choices=ACTIONS)
    c.add_argument(
        "values",
        nargs="*",
        help="merge: clusters (the first keeps its id); split / recluster: a cluster; rename: a cluster and its name",
    )
    c.add_argument("--runs", help="folder the runs are kept in")
    c.add_argument("--k", type=int, default=None, help="split / recluster: sub-clusters (default: by stability)")
    c.add_argument(
        "--method",
        default=RECLUSTER_METHOD,
        help=f"split / recluster: the clustering method, one of {', '.join(recluster_methods())} "
        f"(default {RECLUSTER_METHOD})",
    )
    c.add_argument("--json", action="store_true", help="print the curated clusters and the history as JSON")


def _clusters(values: list[str], count: int | None, action: str) -> list[int]:
    if (count is not None and len(values) != count) or (count is None and len(values) < 2):
        want = f"{count} cluster" if count == 1 else "two clusters or more"
        raise CliError(f"curate {action} takes {want}; got {len(values)} values.")
    try:
        return [int(v) for v in values]
    except ValueError:
        raise CliError(f"curate {action}: clusters are whole numbers; got {' '.join(values)!r}.") from None


def cmd_curate(args: argparse.Namespace) -> int:
    from explorer.curate.curation import Curation
    from explorer.curate.store import load_curation, save_curation
    from explorer.runs.files import load_run

    folder = run_path(args.run, args.runs)
    run = load_run(folder)
    curation = load_curation(folder, run) or Curation.of(run)
    action, values = args.action, list(args.values)
    if action == "merge":
        into, *others = _clusters(values, None, action)
        step = curation.merge(into, *others)
    elif action in ("split", "recluster"):
        (c,) = _clusters(values, 1, action)
        edit = curation.split if action == "split" else curation.recluster
        step = edit(c, method=args.method, k=args.k)
    elif action == "rename":
        if len(values) != 2:
            raise CliError(f"curate rename takes a cluster and a name; got {len(values)} values.")
        step = curation.rename(_clusters(values[:1], 1, action)[0], values[1])
    elif action == "undo":
        step = curation.undo()
    else:
        step = None
    if action != "show":
        save_curation(folder, curation)
    labels = curation.labels
    names = curation.names
    sizes = {c: int((labels == c).sum()) for c in curation.clusters}
    if args.json:
        print(
            json.dumps(
                {
                    "run_id": run.run_id,
                    "clusters": [{"cluster": c, "rows": n, "name": names.get(c, "")} for c, n in sizes.items()],
                    "noise": int((labels < 0).sum()),
                    "history": curation.history(),
                }
            )
        )
        return 0
    if step is not None:
        print(("undone: " if action == "undo" else "") + step.sentence())
    print(f"run {run.run_id}: {len(sizes)} clusters after {len(curation.steps)} edits")
    for c, n in sizes.items():
        print(f"  [{c}] {n:,} rows" + (f"  {names[c]}" if c in names else ""))
    if action == "show":
        print("history:" if curation.steps else "history: none (the run's own clusters)")
        for i, sentence in enumerate(curation.history(), 1):
            print(f"  {i}. {sentence}")
    return 0

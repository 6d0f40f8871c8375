"""``explorer duplicates RUN``: the near-duplicate rows of a saved run, grouped."""

from __future__ import annotations

import argparse
import json

from explorer.cli.args import load_saved

SHOWN_GROUPS = 20  # groups printed (--json gives them all)
SHOWN_IDS = 8  # ids printed per group


def add_parser(sub) -> None:
    """The ``duplicates`` command and its options, on the subparsers ``sub``."""
    d = sub.add_parser("duplicates", help="near-duplicate rows of a saved run (closer than a threshold), grouped")
    d.set_defaults(handler=cmd_duplicates)
    d.add_argument("run", help="a run id (looked up under --runs) or a run folder")
    d.add_argument("--runs", help="folder the runs are kept in")
    d.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="largest distance in the run's latent space (default: from its nearest-neighbour distances)",
    )
    d.add_argument("--json", action="store_true", help="print every pair and group as one JSON object")


def cmd_duplicates(args: argparse.Namespace) -> int:
    from explorer.curate.duplicates import DuplicateConfig, find_duplicates

    run = load_saved(args.run, args.runs)
    dup = find_duplicates(run, DuplicateConfig(threshold=args.threshold))
    ids = run.dataset.ids
    if args.json:
        print(json.dumps({"run_id": run.run_id, **dup.to_dict(ids)}))
        return 0
    print(
        f"run {run.run_id}: {len(dup.pairs):,} near-duplicate pairs in {len(dup.groups):,} groups "
        f"(threshold {dup.threshold:.4g}: {dup.rule})"
    )
    for g in dup.groups[:SHOWN_GROUPS]:
        more = f" (+{len(g) - SHOWN_IDS} more)" if len(g) > SHOWN_IDS else ""
        print(f"  {len(g)} rows: {', '.join(str(ids[r]) for r in g[:SHOWN_IDS])}{more}")
    if len(dup.groups) > SHOWN_GROUPS:
        print(f"  ... {len(dup.groups) - SHOWN_GROUPS} more groups (--json lists all)")
    return 0

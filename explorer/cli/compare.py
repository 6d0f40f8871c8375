"""``explorer compare RUN_A RUN_B``: how the clusters of two saved runs of the same data match."""

from __future__ import annotations

import argparse
import json

from explorer.cli.args import load_saved


def add_parser(sub) -> None:
    """The ``compare`` command and its options, on the subparsers ``sub``."""
    c = sub.add_parser("compare", help="compare the clusters of two saved runs of the same data")
    c.set_defaults(handler=cmd_compare)
    c.add_argument("run_a", help="run A: a run id (looked up under --runs) or a run folder")
    c.add_argument("run_b", help="run B: a run id or a run folder")
    c.add_argument("--runs", help="folder the runs are kept in")
    c.add_argument("--json", action="store_true", help="print the comparison as one JSON object on stdout")


def cmd_compare(args: argparse.Namespace) -> int:
    from explorer.compare import compare_runs

    a, b = load_saved(args.run_a, args.runs), load_saved(args.run_b, args.runs)
    comparison = compare_runs(a, b)
    if args.json:
        print(json.dumps(comparison.to_dict()))
        return 0
    for side, run in (("A", a), ("B", b)):
        print(
            f"{side}  run {run.run_id}  {run.dataset.name}, "
            f"{run.config.model.kind}, {run.clusters.method}, k {run.clusters.k}"
        )
    for note in comparison.notes:
        print(f"note: {note}")
    print(f"ARI {comparison.ari:.4f}   NMI {comparison.nmi:.4f}   ({comparison.n:,} rows)")
    print("matched pairs (A -> B):")
    for p in comparison.pairs:
        print(
            f"  {comparison.name_a(p.a):>12} -> {comparison.name_b(p.b):<12} {p.rows:>7,} rows  "
            f"{100 * p.share_of_a:3.0f}% of A's  Jaccard {p.jaccard:.2f}"
        )
    if not comparison.pairs:
        print("  none")
    print("findings:")
    for sentence in comparison.findings:
        print(f"  - {sentence}")
    print("rows in both (rows: A's clusters, columns: B's):")
    print("\n".join("  " + line for line in comparison.frame().to_string().splitlines()))
    return 0

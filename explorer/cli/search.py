"""``explorer search RUN``: the Explore page's search and filter, headless. The rows of a saved run that hold
some words (or match a regular expression), pass a filter written as the dashboard writes it, or lie nearest a
row in the space the run clustered; any of them together (AND). The clusters are the run's as curated, when a
curation is saved beside it (``--own-clusters``: the run's own).

    explorer search RUN "refund"                        rows whose values or ids hold the words
    explorer search RUN --where 'cluster in {2} and age >= 40'
    explorer search RUN --like r17 --k 20               the 20 rows nearest row r17
    explorer search RUN "refund" --csv found.csv        the rows found, as the dashboard's selection download
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from explorer.cli.args import CliError, curation_folder, load_saved

SHOWN_ROWS = 20  # rows printed (--json and --csv give them all)


def add_parser(sub) -> None:
    """The ``search`` command and its options, on the subparsers ``sub``."""
    s = sub.add_parser(
        "search", help="rows of a saved run by their words, a filter, or a similar row (the Explore page's search)"
    )
    s.set_defaults(handler=cmd_search)
    s.add_argument("run", help="a run id (looked up under --runs) or a run folder")
    s.add_argument("text", nargs="?", help="words to find in the rows' values and ids (case is ignored)")
    s.add_argument("--regex", action="store_true", help="read TEXT as a Python regular expression")
    s.add_argument(
        "--where",
        help="a filter as the dashboard writes it (its 'Download the filter'), "
        'e.g. "cluster in {1, 2} and age >= 40"',
    )
    s.add_argument("--like", help="a row's id (or its number): its nearest rows in the space the run clustered")
    s.add_argument("--k", type=int, default=10, help="with --like: how many nearest rows (default 10)")
    s.add_argument("--own-clusters", action="store_true", help="the run's own clusters, not a saved curation's")
    s.add_argument("--csv", help="write the rows found to this CSV file (as the dashboard's selection download)")
    s.add_argument("--runs", help="folder the runs are kept in")
    s.add_argument("--json", action="store_true", help="print the rows found as one JSON object")


def _curation(args: argparse.Namespace, run):
    from explorer.curate.curation import Curation
    from explorer.curate.store import load_curation

    folder = curation_folder(args)
    return (load_curation(folder, run) if folder is not None else None) or Curation.of(run)


def cmd_search(args: argparse.Namespace) -> int:
    from explorer.curate import TextQuery, mask, parse_expression, search_text, similar_rows, to_expression
    from explorer.dashboard import curate, explore
    from explorer.display.usertext import plain_text

    if not (args.text or args.where or args.like):
        raise CliError("search takes words, --where FILTER or --like ROW (or several); got none.")
    run = load_saved(args.run, args.runs)
    curation = _curation(args, run)
    view = curate.curated_view(run, curation)
    n = view.dataset.n
    hits = search_text(view, TextQuery(args.text, regex=args.regex)) if args.text else None
    flt = parse_expression(args.where) if args.where else None
    keep = mask(view, flt, labels=curation.labels) if flt is not None else None
    focus = curate.focus(n, keep, None if hits is None else hits.rows)
    rows = np.arange(n) if focus is None else np.asarray(focus, np.int64)
    table = None
    if args.like:
        similar = similar_rows(view, curate.find_row(view, args.like), args.k)
        near = similar.rows[np.isin(similar.rows, rows)]  # nearest first, within the words and the filter
        table = curate.neighbours_table(view, similar, curation.labels, curation.names)
        table = table[np.isin(similar.rows, near)]
        rows = near
    elif hits is not None:
        matched = dict(zip(hits.rows.tolist(), hits.columns, strict=True))
        table = curate.rows_table(view, rows, curation.labels, curation.names)
        table = table.assign(matched=[plain_text(matched.get(int(r), "")) for r in rows])
    if table is None:
        table = curate.rows_table(view, rows, curation.labels, curation.names)
    if args.csv:
        Path(args.csv).write_bytes(explore.selection_csv(view, rows))
    what = " and ".join(
        part
        for part in (
            f"holding {args.text!r}" if args.text else "",
            f"where {to_expression(flt)}" if flt is not None else "",
            f"among the {args.k} nearest {args.like!r}" if args.like else "",
        )
        if part
    )
    if args.json:
        print(json.dumps({"run_id": run.run_id, "found": what, "rows": table.to_dict(orient="records")}, default=str))
        return 0
    print(f"run {run.run_id}: {len(rows):,} of {n:,} rows {what}")
    if len(table):
        print(table.head(SHOWN_ROWS).to_string(index=False))
    if len(table) > SHOWN_ROWS:
        print(f"  ... {len(table) - SHOWN_ROWS:,} more rows (--csv or --json lists all)")
    if args.csv:
        print(f"wrote {len(rows):,} rows to {args.csv}")
    return 0

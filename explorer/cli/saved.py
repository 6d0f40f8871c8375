"""``explorer show RUN``, ``explorer list`` and ``explorer explain RUN``: what is saved, read back."""

from __future__ import annotations

import argparse
import json
import sys

from explorer.cli.args import CliError, load_saved, run_path
from explorer.cli.terminal import format_metrics
from explorer.runs.jsonio import json_text, read_json


def add_parsers(sub) -> None:
    """The ``show``, ``explain`` and ``list`` commands and their options, on the subparsers ``sub``."""
    s = sub.add_parser("show", help="print a saved run's summary")
    s.set_defaults(handler=cmd_show)
    s.add_argument("run", help="a run id (looked up under --runs) or a run folder")
    s.add_argument("--runs", help="folder the runs are kept in")
    s.add_argument("--json", action="store_true")
    e = sub.add_parser("explain", help="what each cluster of a saved run is: profile, rule, stability, members")
    e.set_defaults(handler=cmd_explain)
    e.add_argument("run", help="a run id (looked up under --runs) or a run folder")
    e.add_argument("--runs", help="folder the runs are kept in")
    e.add_argument("--top", type=int, default=3, help="distinguishing columns shown per cluster (default 3)")
    e.add_argument("--json", action="store_true", help="print the whole explanation as one JSON object")
    ls = sub.add_parser("list", help="list saved runs")
    ls.set_defaults(handler=cmd_list)
    ls.add_argument("--runs", help="folder the runs are kept in")


def cmd_show(args: argparse.Namespace) -> int:
    path = run_path(args.run, args.runs)
    cfg = read_json(path / "config.json")
    metrics = read_json(path / "metrics.json")
    if args.json:
        print(json.dumps({"config": cfg, "metrics": metrics}))
        return 0
    ds, pl = cfg["dataset"], cfg["pipeline"]
    print(f"run {cfg['run_id']}  ({cfg.get('created')})  {path}")
    print(f"data      {ds['name']} ({ds['kind']}), {ds['n']} rows x {ds['n_features']} features")
    print(
        f"model     {pl['model']['kind']}, latent {pl['model']['latent_dim']}, epochs {pl['model']['epochs']}, "
        f"device {cfg.get('device_description') or cfg.get('device')}"
    )
    print(
        f"clusters  {pl['cluster']['method']}, k {metrics.get('k')}; "
        f"projection {pl['projection']['method']}; seed {pl['seed']}"
    )
    print(format_metrics(metrics))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from explorer.explain import explain
    from explorer.explain.rules import space_words

    if args.top < 1:
        raise CliError("--top must be 1 or more.")
    result = load_saved(args.run, args.runs)
    ex = result.explanation
    computed = ex is None
    if computed:  # saved without one (explorer 0.2 runs, or --no-explain): explain it now, not saved
        ex = explain(result)
    if args.json:
        print(json_text({"run_id": result.run_id, "computed_now": computed, **ex.to_dict()}))
        return 0
    ids = result.dataset.ids
    if computed:
        print("note: the run was saved without an explanation; computed now (not saved).", file=sys.stderr)
    print(f"run {result.run_id}: {len(ex.clusters)} clusters of {result.dataset.n:,} rows ({result.clusters.method})")
    for c in ex.clusters:
        level = f", {c.stability} (Jaccard {c.jaccard:.2f})" if c.stability else ""
        print(f"\n[{c.cluster}] {c.name}: {c.size:,} rows ({c.share:.0%}){level}")
        for d in c.distinctions[: args.top]:
            print(f"    {d.sentence}   (separation {d.separation:.2f})")
        if c.rule:
            print(f"    rule: {c.rule}   (precision {c.rule_precision:.0%}, covers {c.rule_coverage:.0%})")
        for words in next((p.text for p in ex.profiles if p.cluster == c.cluster), []):
            for example in words.examples:
                print(f"    typical {words.column}: {example}")
        print(f"    typical: {', '.join(str(ids[i]) for i in c.typical)}")
        print(f"    borderline: {', '.join(str(ids[i]) for i in c.borderline)}")
    if ex.meaning:  # latent codes, an encoder's features: no rule to read (explorer.explain.rules.has_meaning)
        print(f"\n{ex.meaning}")
    elif ex.rules is not None:
        where = space_words(ex.rules.on)
        print(
            f"\nrules: a depth-{ex.rules.depth} tree on {where} agrees with the clusters "
            f"on {ex.rules.fidelity:.0%} of rows."
        )
        if ex.rules.note:
            print(f"  {ex.rules.note}")
    flagged = [c for c in ex.clusters if c.flagged]
    if flagged:
        print(
            "\nwarning: "
            + "; ".join(f"cluster {c.cluster} ({c.name}) is {c.stability} (Jaccard {c.jaccard:.2f})" for c in flagged)
            + ": its members would change on another run."
        )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from explorer.runs.files import list_runs

    runs = list_runs(args.runs)
    if not runs:
        print("no saved runs")
    for r in runs:
        m = r["metrics"]
        acc = f" acc {m['acc']:.3f}" if m.get("acc") is not None else ""
        print(f"{r['run_id']}  {r['created']}  {r['name']:<20} k {m.get('k')}{acc}")
    return 0

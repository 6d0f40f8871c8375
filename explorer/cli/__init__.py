"""Command line: the dashboard's pipeline, headless.

    explorer run DATA [--label COL] [--model ...] [--cluster ...] [--k K] ...
    explorer apply RUN DATA [--out DIR] [--points FILE] [--scheduler ADDRESS] ...
    explorer show RUN
    explorer explain RUN [--json]
    explorer list [--runs DIR]
    explorer compare RUN_A RUN_B [--runs DIR] [--json]
    explorer duplicates RUN [--threshold T] [--json]
    explorer search RUN [WORDS] [--where FILTER] [--like ROW] [--csv FILE] [--json]
    explorer curate RUN merge 1 2 | split 3 | recluster 3 | rename 2 "name" | undo | show

(``explorer`` is the console script ``pip install .`` puts on the PATH; ``python -m explorer`` is the same.)
One module per command (:mod:`~explorer.cli.run`, :mod:`~explorer.cli.apply`, :mod:`~explorer.cli.saved` for
show / explain / list, :mod:`~explorer.cli.compare`, :mod:`~explorer.cli.duplicates`, :mod:`~explorer.cli.search`,
:mod:`~explorer.cli.curate`), each adding its own options; what an argument names
(:mod:`~explorer.cli.args`) and what is written to the terminal (:mod:`~explorer.cli.terminal`) apart.

A bad input or option prints one line on stderr and exits with status 2, never a traceback
(set EXPLORER_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from explorer.cli import apply, compare, curate, duplicates, run, saved, search
from explorer.cli.args import Parser, parse
from explorer.cli.terminal import TerminalSafe
from explorer.errors import ExplorerError


def build_parser() -> argparse.ArgumentParser:
    """The ``explorer`` command with its subcommands; each parsed command carries its ``handler``."""
    p = Parser(prog="explorer", description="Find structure in unlabeled data: represent, cluster, explore.")
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    run.add_parser(sub)
    saved.add_parsers(sub)
    compare.add_parser(sub)
    apply.add_parser(sub)
    duplicates.add_parser(sub)
    search.add_parser(sub)
    curate.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    streams = sys.stdout, sys.stderr
    if not isinstance(sys.stdout, TerminalSafe):
        sys.stdout, sys.stderr = TerminalSafe(sys.stdout), TerminalSafe(sys.stderr)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = streams


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    debug = os.environ.get("EXPLORER_DEBUG") == "1"
    try:
        args = parse(parser, argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)  # explorer run --devices N runs it again
        if args.command is None:
            parser.print_help()
            return 2
        return args.handler(args)
    except ExplorerError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory; try a smaller dataset or a smaller batch size.", file=sys.stderr)
        return 1
    except Exception as exc:  # anything unplanned still gets one line, not a traceback
        if debug:
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (set EXPLORER_DEBUG=1 for details)", file=sys.stderr)
        return 1

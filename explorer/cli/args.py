"""What the command line's arguments name: the one-line error a bad argument gets, and the saved run a
``RUN`` argument names (a run id under ``--runs``, or a run folder)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from explorer.errors import ExplorerError, RunNotFound
from explorer.runs.ids import RUN_ID_PATTERN


class CliError(ExplorerError):
    """A bad command line: printed as one ``error:`` line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are a :class:`CliError` (one line, exit 2, like every other bad
    input) instead of argparse's usage text and ``SystemExit``."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see explorer {self.prog.split()[-1]} --help)")


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The parsed arguments; a run id that starts with ``-`` (made before ids avoided it) read as an option,
    so the error then says how to pass it."""
    try:
        return parser.parse_args(argv)
    except CliError as exc:
        given = sys.argv[1:] if argv is None else argv
        dashed = [a for a in given if a.startswith("-") and RUN_ID_PATTERN.fullmatch(a)]
        if dashed:
            raise CliError(
                f"{exc}; {dashed[0]!r} looks like a run id that starts with '-': put it after '--' "
                f"(explorer compare -- {dashed[0]} OTHER) or give the run's folder path"
            ) from None
        raise


def run_path(run: str, runs: str | None) -> Path:
    """A saved run's folder from its id (under the folder ``runs``, default $EXPLORER_RUNS_DIR or ./runs)
    or the folder itself."""
    from explorer.runs.roots import default_root

    path = Path(run)
    if path.is_dir() and (path / "config.json").is_file():
        return path
    root = Path(runs) if runs else default_root()
    if isinstance(root, str) or not RUN_ID_PATTERN.fullmatch(run) or not (root / run / "config.json").is_file():
        raise CliError(f"no saved run '{run}' (looked in {root}); give a run id from `explorer list` or a run folder.")
    return root / run


def curation_folder(args: argparse.Namespace) -> Path | None:
    """Where the run ``args.run`` keeps its curation: its local folder; None with ``--own-clusters`` (the run's
    own clusters asked for) or for a run in an object store (a curation is kept beside local runs only)."""
    if getattr(args, "own_clusters", False):
        return None
    try:
        return run_path(args.run, args.runs)
    except CliError:
        return None


def load_saved(run: str, runs: str | None):
    """A saved run (a RunResult) from its id (under ``runs``, a folder or an fsspec URL) or its folder."""
    from explorer.runs.files import load_run
    from explorer.runs.roots import default_root
    from explorer.runs.store import is_url

    root = runs or default_root()
    if isinstance(root, str) and is_url(root) and not Path(run).is_dir():
        try:
            return load_run(run, root=root)
        except RunNotFound as exc:
            raise CliError(f"no saved run '{run}' in {root} ({exc}); give a run id from `explorer list`.") from None
    return load_run(run_path(run, runs))

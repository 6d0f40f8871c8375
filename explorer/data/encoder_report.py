"""What the table encoder says it did: the load's sentences on each decision (columns dropped, values
filled, categories folded and encoded) and the report of a transform (every fallback, by column)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from explorer.data.profiles import ColumnProfile
from explorer.data.words import plural
from explorer.dataset import LoadReport

DROP_SENTENCES = {
    "empty": "Dropped {n} with no values: {cols}.",
    "constant": "Dropped {n} holding a single value: {cols}.",
    "text": "Dropped {n} whose values are nearly all different and hold a word or two each (names, IDs, "
    "codes), which can't be encoded as features: {cols}.",
    "date": "Dropped {n} of dates: {cols}.",
    "other": "Dropped {n} holding lists or other objects: {cols}.",
    "rownumber": "Dropped {n} that just number the rows (0, 1, 2, ...): {cols}.",
    "rare": "Dropped {n} whose categories are all rare: {cols}.",
}
DROP_REASONS = {
    "empty": "all values are missing",
    "constant": "a single value",
    "text": "names or codes (nearly all values differ)",
    "date": "dates",
    "other": "lists or other objects",
    "rownumber": "a row number",
    "rare": "every category is rare",
}


@dataclass
class TransformReport:
    """What transforming rows did to them (every fallback, by column); ``resized``: images brought
    to the run's size (the same report serves a run's images)."""

    n_rows: int = 0
    missing_columns: list[str] = field(default_factory=list)  # feature columns absent, filled with the training value
    extra_columns: list[str] = field(default_factory=list)  # columns ignored
    unseen_levels: dict[str, dict[str, int]] = field(default_factory=dict)  # column -> level -> rows (indicators 0)
    imputed: dict[str, int] = field(default_factory=dict)  # column -> cells filled with the training value
    not_numbers: dict[str, int] = field(default_factory=dict)  # column -> cells that did not parse as numbers
    not_dates: dict[str, int] = field(default_factory=dict)  # column -> cells that did not parse as dates
    truncated: dict[str, int] = field(default_factory=dict)  # text column -> cells cut to the length read
    resized: int = 0  # images not of the training size, resized to it
    notes: list[str] = field(default_factory=list)

    def note(self, sentence: str) -> None:
        self.notes.append(sentence)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def names_some(cols: list[str]) -> str:
    """ "'a', 'b' and 3 more": at most ten column names, quoted."""
    return ", ".join(f"'{c}'" for c in cols[:10]) + (f" and {len(cols) - 10} more" if len(cols) > 10 else "")


def note_parsing(report: LoadReport, col: str, p: ColumnProfile) -> None:
    """The report's sentences on how a numeric column's text was read."""
    if p.junk:
        report.note(
            f"Column '{col}' had {plural(p.junk, 'value')} that are not numbers "
            f"(e.g. {', '.join(repr(e) for e in p.examples)}); they were treated as missing."
        )
    if p.nonfinite:
        report.note(
            f"Column '{col}' had {plural(p.nonfinite, 'infinite or huge value')} "
            f"(|v| > 1e300); they were treated as missing."
        )
    if p.decimal_comma:
        report.note(f"Column '{col}' uses decimal commas; they were read as decimal points.")
    if p.thousands:
        report.note(f"Column '{col}' groups thousands with commas (\"1,000\" is one thousand); they were read as such.")


def note_markers(report: LoadReport, col: str, p: ColumnProfile) -> None:
    """The report's sentence on the words a column used for a missing value."""
    if p.markers:
        shown = ", ".join(f"'{m}' ({k:,})" for m, k in p.markers.items())
        report.note(f"Column '{col}' writes a missing value as {shown}; those cells were treated as missing.")


def note_not_dates(report: LoadReport, col: str, bad: int, n: int) -> None:
    """The report's sentence on the values of a date column that are not dates."""
    if bad:
        report.note(
            f"Column '{col}' had {plural(bad, 'value')} of {n:,} that are not dates; they were treated as missing."
        )


def note_fit(report: LoadReport, drops: dict[str, list[str]]) -> None:
    """The report's sentences on the columns dropped, filled and one-hot encoded."""
    for why, cols in drops.items():
        cols_text = ", ".join(f"'{c}'" for c in cols)
        report.note(DROP_SENTENCES[why].format(n=plural(len(cols), "column"), cols=cols_text))
    if report.imputed:
        detail = ", ".join(f"'{c}' ({k})" for c, k in report.imputed.items())
        report.note(
            f"Filled {plural(sum(report.imputed.values()), 'missing value')} (median for numbers, "
            f"most frequent value for categories): {detail}."
        )
    if report.encoded:
        detail = ", ".join(f"'{c}' ({len(v)})" for c, v in report.encoded.items())
        report.note(f"One-hot encoded {plural(len(report.encoded), 'categorical column')}: {detail}.")


def note_transform(report: TransformReport) -> None:
    """The transform report's sentences, one per fallback taken."""
    if report.missing_columns:
        report.note(
            f"Missing feature columns filled with their training value (median or most frequent level) in "
            f"every row: {names_some(report.missing_columns)}."
        )
    if report.extra_columns:
        report.note(f"Ignored columns the run was not trained on: {names_some(report.extra_columns)}.")
    for col, levels in report.unseen_levels.items():
        shown = ", ".join(f"'{v}' ({k})" for v, k in list(levels.items())[:5])
        report.note(
            f"Column '{col}' has levels not seen in training: {shown}; those rows have every indicator of "
            f"'{col}' at 0 (no level), so the column does not pull them toward any cluster."
        )
    for col, k in report.not_numbers.items():
        report.note(f"Column '{col}' has {k} values that are not numbers; they were treated as missing.")
    for col, k in report.not_dates.items():
        report.note(f"Column '{col}' has {k} values that are not dates; they were treated as missing.")
    for col, k in report.truncated.items():
        report.note(f"Column '{col}' has {plural(k, 'text')} longer than the length read; they were cut to it.")
    filled = {c: k for c, k in report.imputed.items() if c not in report.missing_columns}
    if filled:
        detail = ", ".join(f"'{c}' ({k})" for c, k in filled.items())
        report.note(f"Filled missing values with the training value: {detail}.")

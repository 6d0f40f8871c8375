"""Tables whose segments each differ from the rest in 2-3 known columns, to check explanations.

Every row starts from one shared profile (the same distributions for everyone); each segment then
moves 2-3 columns of its own, numbers by about three spreads and a category to one dominant level. The
answer key (:attr:`Distinct.planted`) says which columns set each segment apart; the noise columns
(numbers, an integer and categories drawn the same way for every row) never should. Mixed units
(years, money on a log scale, counts, 1-5 answers) and missing values (3% in two columns) as in an
analyst's table. A table is the same for the same arguments on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

NUMERIC = ("age", "income", "tenure_years", "monthly_spend", "web_visits", "satisfaction")
CATEGORICAL = {
    "channel": ("online", "app", "phone", "branch"),
    "plan": ("basic", "plus", "premium"),
    "contract": ("monthly", "yearly", "two-year"),
}
NOISE = ("credit_score", "household_size", "lucky_number", "region", "device")
# what each segment moves (direction +1: up / the level named), drawn in order for k segments
SIGNATURES = (
    (("age", +1), ("plan", "premium")),
    (("income", -1), ("channel", "branch"), ("web_visits", -1)),
    (("tenure_years", +1), ("contract", "two-year")),
    (("monthly_spend", +1), ("web_visits", +1)),
    (("satisfaction", -1), ("channel", "phone"), ("tenure_years", -1)),
    (("age", -1), ("contract", "monthly"), ("monthly_spend", -1)),
)


@dataclass(frozen=True)
class Distinct:
    table: pd.DataFrame  # with the label column "segment"
    planted: dict[str, set[str]]  # segment -> the columns that set it apart
    noise: tuple[str, ...]


def distinct_segments(
    n: int = 20_000,
    k: int = 5,
    *,
    seed: int = 0,
    extra_numeric: int = 0,
    extra_categorical: int = 0,
    base_share: float = 0.0,
) -> Distinct:
    """``k`` (<= 6) segments of about equal size; ``extra_numeric`` / ``extra_categorical`` more noise
    columns (for the 10,000 x 50 timing table); ``base_share`` of the rows keep the shared profile
    (a segment "S0" with nothing planted: then every planted segment is told apart from it too)."""
    import pandas as pd

    if not 2 <= k <= len(SIGNATURES):
        raise ValueError(f"k must be 2..{len(SIGNATURES)}")
    rng = np.random.default_rng(seed)
    weights = np.r_[base_share, np.full(k, (1 - base_share) / k)]
    seg = rng.choice(k + 1, size=n, p=weights / weights.sum()) - 1  # -1: the base profile
    shift = {c: np.zeros(n) for c in NUMERIC}
    favourite: dict[str, np.ndarray] = {c: np.full(n, None, dtype=object) for c in CATEGORICAL}
    planted = {}
    for s in range(k):
        rows = seg == s
        planted[f"S{s + 1}"] = {col for col, _ in SIGNATURES[s]}
        for col, how in SIGNATURES[s]:
            if col in NUMERIC:
                shift[col][rows] += 3.0 * how
            else:
                favourite[col][rows] = how
    frame = {
        "customer_id": np.array([f"C{200000 + i}" for i in range(n)], dtype=object),
        "age": np.clip(np.round(45 + 8 * (rng.normal(size=n) + shift["age"])), 18, 95),
        "income": np.round(np.exp(np.log(52_000) + 0.25 * (rng.normal(size=n) + shift["income"])), -2),
        "tenure_years": np.round(np.clip(7 + 2.2 * (rng.normal(size=n) + shift["tenure_years"]), 0, None), 1),
        "monthly_spend": np.round(np.exp(np.log(120) + 0.3 * (rng.normal(size=n) + shift["monthly_spend"])), 2),
        "web_visits": rng.poisson(np.exp(np.log(9) + 0.35 * shift["web_visits"])),
        "satisfaction": np.clip(np.round(3.6 + 0.55 * (rng.normal(size=n) + shift["satisfaction"])), 1, 5),
    }
    for col, levels in CATEGORICAL.items():
        base = rng.choice(levels, size=n).astype(object)
        fav = favourite[col]
        take = (fav != None) & (rng.random(n) < 0.85)  # noqa: E711 (elementwise)
        base[take] = fav[take]
        frame[col] = base
    frame["credit_score"] = np.round(rng.normal(650, 80, n))
    frame["household_size"] = rng.integers(1, 6, n)
    frame["lucky_number"] = rng.integers(0, 10, n)
    frame["region"] = rng.choice(["north", "south", "east", "west", "central"], n).astype(object)
    frame["device"] = rng.choice(["ios", "android", "desktop"], n).astype(object)
    noise = list(NOISE)
    for j in range(extra_numeric):
        frame[f"metric_{j + 1}"] = np.round(rng.gamma(2.0, 10.0, n), 2)
        noise.append(f"metric_{j + 1}")
    for j in range(extra_categorical):
        frame[f"tag_{j + 1}"] = rng.choice(["a", "b", "c", "d"], n).astype(object)
        noise.append(f"tag_{j + 1}")
    df = pd.DataFrame(frame)
    for col, share in (("income", 0.03), ("channel", 0.03)):
        df.loc[rng.random(n) < share, col] = np.nan
    df["segment"] = np.where(seg < 0, "S0", np.char.add("S", (seg + 1).astype(str))).astype(object)
    return Distinct(df, planted, tuple(noise))

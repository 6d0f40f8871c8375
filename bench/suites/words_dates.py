"""A planted table whose groups live in words and dates only (issue 27): bank customers, what they wrote to the
bank and when they joined; every number and category beside them is noise.

Four segments, so that neither column alone tells them apart: two share a topic and differ in when they joined,
two joined in the same years and differ in what they wrote. The story of the issue ("3,200 bank customers whose
groups show only in what they wrote to the bank and when they joined") with a harder plan: a clustering that uses
one column only finds two or three groups, not four.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TOPICS = {
    "mortgage": ["mortgage", "rate", "house", "fixed", "loan", "repayment", "property", "remortgage"],
    "travel": ["travel", "card", "abroad", "fee", "currency", "airport", "hotel", "holiday"],
    "app": ["app", "login", "password", "phone", "update", "screen", "error", "crash"],
}
COMMON = ["please", "thanks", "bank", "account", "help", "question", "today", "would", "like", "know", "my", "the"]
# (topic, joined between these many days before the table's last day)
SEGMENTS = (("mortgage", (0, 150)), ("travel", (0, 150)), ("app", (1500, 2600)), ("mortgage", (1500, 2600)))
LAST_DAY = pd.Timestamp("2026-11-30")
LABEL, ID, TEXT, DATE = "segment", "customer_id", "message", "joined"


def planted_words_dates(n: int = 3200, seed: int = 0, segments=SEGMENTS) -> pd.DataFrame:
    """``n`` customers in ``len(segments)`` planted segments (column ``segment``), each a topic of the message
    (4 topic words among 5 common ones, shuffled) and a span of sign-up dates; balance, products, age, region and
    plan are drawn alike for everyone."""
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, len(segments), n)
    messages = []
    for s in seg:
        words = list(rng.choice(TOPICS[segments[s][0]], 4)) + list(rng.choice(COMMON, 5))
        rng.shuffle(words)
        messages.append(" ".join(words))
    spans = np.array([span for _, span in segments], dtype=float)
    days = rng.uniform(spans[seg, 0], spans[seg, 1]).round()
    joined = (LAST_DAY - pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            ID: [f"C{i:05d}" for i in range(n)],
            TEXT: messages,
            DATE: joined,
            "balance": rng.lognormal(7, 1, n).round(2),
            "products": rng.integers(1, 6, n),
            "age": rng.normal(45, 12, n).round(),
            "region": rng.choice(["north", "south", "east", "west"], n),
            "plan": rng.choice(["basic", "plus"], n),
            LABEL: seg.astype(str),
        }
    )

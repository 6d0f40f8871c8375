"""The table suite: real public tables with categorical columns (and missing values), and tables with
planted segments made here, the everyday data of an analyst ("what groups of customers do we have?").

Every table is a pandas DataFrame with a label column (the planted segment, or a real class) used only
to score a run, and goes through the product's own loader (:func:`as_dataset`), so a benchmark measures
what a user gets from the same file.

Planted tables (:func:`planted`): segments that differ in a few numeric and categorical columns;
pure-noise columns (numeric, integer and categorical); small-integer counts and 1-5 answers; missing
values. Each segment's profile is drawn from the seed, so a table is the same for the same
arguments on every machine.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class PlantedSpec:
    """How to plant segments in a customer-like table.

    Attributes:
        name: the table's name in results.
        n: rows; k: segments.
        weights: the segments' shares (None: equal).
        missing: share of missing values in each of ``missing_columns``.
        separation: how far apart the segments' numeric profiles are (1.0 = the default table).
        noise_numeric / noise_categorical / noise_integer: how many pure-noise columns of each kind.
    """

    name: str
    n: int = 20_000
    k: int = 5
    weights: tuple[float, ...] | None = None
    missing: float = 0.02
    missing_columns: tuple[str, ...] = ("income",)
    separation: float = 1.0
    noise_numeric: int = 1
    noise_categorical: int = 1
    noise_integer: int = 1
    seed: int = 0
    label: str = "segment"
    informative: tuple[str, ...] = field(
        default=(
            "age",
            "income",
            "tenure_years",
            "monthly_spend",
            "n_products",
            "support_calls",
            "web_visits",
            "satisfaction",
            "channel",
            "plan",
            "has_mortgage",
        )
    )


PLANTED = {
    # the table: 5 segments, 20,000 rows, 15 columns (id + 13 features + the segment)
    "customers": PlantedSpec("customers"),
    # 4 segments, more noise columns of each kind, 5% missing in two columns
    "customers_noisy": PlantedSpec(
        "customers_noisy",
        k=4,
        missing=0.05,
        missing_columns=("income", "channel"),
        noise_numeric=2,
        noise_categorical=2,
        noise_integer=2,
        seed=1,
    ),
    # 6 segments of unequal sizes (30% down to 10%), 30,000 rows, 3% missing in three columns
    "customers_unbalanced": PlantedSpec(
        "customers_unbalanced",
        n=30_000,
        k=6,
        weights=(0.3, 0.2, 0.15, 0.15, 0.1, 0.1),
        missing=0.03,
        missing_columns=("income", "plan", "web_visits"),
        seed=2,
    ),
}
REAL = ("penguins", "tips", "gapminder", "wine")
SUITE = (*REAL, *PLANTED)


def planted(spec: PlantedSpec) -> pd.DataFrame:
    """A customer-like table with ``spec.k`` planted segments (column ``spec.label``)."""
    import pandas as pd

    rng = np.random.default_rng(spec.seed)
    k, n, s = spec.k, spec.n, spec.separation
    weights = np.asarray(spec.weights if spec.weights else [1.0] * k, float)
    weights = weights / weights.sum()
    seg = rng.choice(k, size=n, p=weights)

    def levels(low: float, high: float) -> np.ndarray:
        """One value per segment, spread over [low, high] in a random order (every segment differs)."""
        return rng.permutation(np.linspace(low, high, k))

    def spread(values: np.ndarray, centre: float) -> np.ndarray:
        return centre + s * (values - centre)

    age_mu = spread(levels(27, 68), 47)
    income_mu = spread(levels(np.log(28_000), np.log(110_000)), np.log(55_000))
    tenure_mu = spread(levels(1.0, 14.0), 7.0)
    spend_mu = spread(levels(np.log(40), np.log(400)), np.log(130))
    products_mu = levels(1.0, 4.5)
    calls_mu = levels(0.3, 3.0)
    visits_mu = levels(2.0, 18.0)
    sat_mu = levels(1.8, 4.4)

    def categorical(names: list[str], dominance: float) -> np.ndarray:
        """Per segment, one level holds ``dominance`` of its rows (segments favour different levels)."""
        probs = np.full((k, len(names)), (1 - dominance) / (len(names) - 1))
        favourite = rng.permutation(np.arange(k) % len(names))
        probs[np.arange(k), favourite] = dominance
        out = np.empty(n, dtype=object)
        for c in range(k):
            rows = np.flatnonzero(seg == c)
            out[rows] = np.asarray(names, dtype=object)[rng.choice(len(names), size=len(rows), p=probs[c])]
        return out

    frame = {
        "customer_id": np.array([f"C{100000 + i}" for i in range(n)], dtype=object),
        "age": np.clip(np.round(rng.normal(age_mu[seg], 5.5)), 18, 95).astype(int),
        "income": np.round(np.exp(rng.normal(income_mu[seg], 0.22)), -2),
        "tenure_years": np.round(rng.gamma(4.0, tenure_mu[seg] / 4.0), 1),
        "monthly_spend": np.round(np.exp(rng.normal(spend_mu[seg], 0.3)), 2),
        "n_products": rng.poisson(products_mu[seg]),
        "support_calls": rng.poisson(calls_mu[seg]),
        "web_visits": rng.poisson(visits_mu[seg]),
        "satisfaction": np.clip(np.round(rng.normal(sat_mu[seg], 0.7)), 1, 5).astype(int),
        "channel": categorical(["branch", "online", "phone", "app"], 0.7),
        "plan": categorical(["basic", "plus", "premium"], 0.75),
        "has_mortgage": categorical(["no", "yes"], 0.8),
    }
    for j in range(spec.noise_numeric):
        frame[f"credit_score{'' if j == 0 else j + 1}"] = np.round(rng.normal(650, 80, n))
    for j in range(spec.noise_categorical):
        frame[f"region{'' if j == 0 else j + 1}"] = np.asarray(
            ["north", "south", "east", "west", "central"], dtype=object
        )[rng.integers(0, 5, n)]
    for j in range(spec.noise_integer):
        frame[f"lucky_number{'' if j == 0 else j + 1}"] = rng.integers(0, 10, n)
    df = pd.DataFrame(frame)
    for col in spec.missing_columns:
        hole = rng.random(n) < spec.missing
        df[col] = (df[col].astype(float) if pd.api.types.is_numeric_dtype(df[col]) else df[col]).mask(hole)
    df[spec.label] = np.array([f"S{c + 1}" for c in seg], dtype=object)
    return df


def real(name: str) -> tuple[pd.DataFrame, str, str | None, list[str] | None]:
    """(table, label column, id column or None, feature columns or None for all) of a real table.

    - penguins: Palmer penguins, the bundled sample (sample_data/README.md); species, 3 classes;
      categorical island and sex; missing values.
    - tips: restaurant tips (Bryant & Smith 1995, as shipped in plotly's package data); the meal
      (Lunch / Dinner) is the class; categorical sex, smoker, day; party size a small integer.
    - gapminder: life expectancy, population and GDP per capita of 142 countries, 1952-2007 (Gapminder
      Foundation, as shipped in plotly's package data); the continent is the class (5).
    - wine: the UCI wine recognition data (Aeberhard & Forina 1991, as shipped in scikit-learn);
      3 cultivars, 13 numeric columns.
    """
    import pandas as pd

    if name == "penguins":
        return pd.read_csv(ROOT / "sample_data" / "penguins.csv"), "species", None, None
    if name == "tips":
        import plotly.data

        return plotly.data.tips(), "time", None, None
    if name == "gapminder":
        import plotly.data

        return plotly.data.gapminder(), "continent", None, ["year", "lifeExp", "pop", "gdpPercap"]
    if name == "wine":
        from sklearn.datasets import load_wine

        d = load_wine(as_frame=True)
        return d.frame.assign(cultivar=d.target.astype(str)).drop(columns="target"), "cultivar", None, None
    raise KeyError(f"unknown table '{name}'; known: {', '.join(SUITE)}")


def table(name: str) -> tuple[pd.DataFrame, str, str | None, list[str] | None]:
    """(table, label column, id column, feature columns) of any table of the suite."""
    if name in PLANTED:
        spec = PLANTED[name]
        return planted(spec), spec.label, "customer_id", None
    return real(name)


def as_dataset(name: str, scaling: str = "auto"):
    """The table as the product's loader reads it from a Parquet file (a user's upload)."""
    from explorer.data import TableOptions, load

    df, label, id_col, columns = table(name)
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    options = TableOptions(label_column=label, id_column=id_col, columns=columns, scaling=scaling)
    return load(buf.getvalue(), name=f"{name}.parquet", table=options)


def plain_features(name: str) -> np.ndarray:
    """The baseline's features, made with scikit-learn alone from the raw table: numbers median-imputed
    and standardized, categories (text columns) most-frequent-imputed and one-hot (0/1)."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df, label, id_col, columns = table(name)
    df = df.drop(columns=[c for c in (label, id_col) if c])
    if columns is not None:
        df = df[columns]
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    categorical = [c for c in df.columns if c not in numeric]
    parts = [("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric)]
    if categorical:
        parts.append(
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore", sparse_output=False)
                ),
                categorical,
            )
        )
    return np.asarray(ColumnTransformer(parts).fit_transform(df), np.float32)

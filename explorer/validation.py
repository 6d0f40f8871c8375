"""Checks of what a user hands the library, written once (scikit-learn's ``utils/validation.py`` and
``_parameter_constraints``).

- :func:`check_array`: a 2-D float32 array of finite values with enough rows.
- :data:`MIN_ROWS`: the fewest rows any dataset may have; the loaders enforce it with a message that
  names the file, so a file that loads can also be clustered and projected.
- Declared constraints (:class:`Whole`, :class:`Real`, :class:`OneOf`, :class:`Flag`, :class:`Sizes`,
  :class:`Optional`) and :func:`check_params`, which the config dataclasses call from ``validate()``:
  allowed values are data, and every message says which setting is wrong, what it must be and what
  it was.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np

from explorer.errors import InputError

MIN_ROWS = 4  # clustering, UMAP and t-SNE need 4 rows; fewer cannot show any structure either


def is_whole(value: object) -> TypeGuard[int | np.integer]:
    """True for a Python or NumPy integer (not a bool)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_real(value: object) -> TypeGuard[float | np.integer | np.floating]:
    """True for a finite int or float (not a bool)."""
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def check_array(X: Any, *, min_rows: int = 1) -> np.ndarray:
    """X as a C-contiguous float32 (n, d) array of finite values, or an InputError saying why not."""
    X = np.asarray(X)
    if X.dtype == object:
        raise InputError("the data hold non-numeric values; load it through explorer.data so text is encoded.")
    X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise InputError(f"expected a 2-D array (rows x features), got shape {X.shape}.")
    if X.shape[0] < min_rows:
        raise InputError(f"need at least {min_rows} rows, got {X.shape[0]}.")
    if X.shape[1] == 0:
        raise InputError("the data have no feature columns left to fit on.")
    if not np.isfinite(X).all():
        bad = int((~np.isfinite(X)).sum())
        raise InputError(f"the data hold {bad} NaN or infinite values; impute or drop them first.")
    return X


# -- declared constraints --------------------------------------------------------------------------------
class Constraint:
    """One rule for one setting: ``ok(value)`` and the words for what it allows."""

    def ok(self, value: Any) -> bool:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover
        raise NotImplementedError

    def message(self, name: str, value: Any) -> str:
        return f"{name} must be {self.describe()}, got {value!r}."


@dataclass(frozen=True)
class Whole(Constraint):
    """A whole number in [low, high] (``high`` None: no top)."""

    low: int = 1
    high: int | None = None
    hint: str = ""

    def ok(self, value: Any) -> bool:
        return bool(is_whole(value) and value >= self.low and (self.high is None or value <= self.high))

    def describe(self) -> str:
        span = f">= {self.low}" if self.high is None else f"from {self.low} to {self.high}"
        return f"a whole number {span}{f' ({self.hint})' if self.hint else ''}"


@dataclass(frozen=True)
class Real(Constraint):
    """A finite number between ``low`` and ``high``; ``open_low`` / ``open_high`` exclude the ends."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    hint: str = ""

    def ok(self, value: Any) -> bool:
        if not is_real(value):
            return False
        if self.low is not None and (value < self.low or (self.open_low and value == self.low)):
            return False
        return not (self.high is not None and (value > self.high or (self.open_high and value == self.high)))

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            left, right = "(" if self.open_low else "[", ")" if self.open_high else "]"
            span = f"a number in {left}{self.low:g}, {self.high:g}{right}"
        elif self.low is not None:
            span = f"a number {'>' if self.open_low else '>='} {self.low:g}"
        elif self.high is not None:
            span = f"a number {'<' if self.open_high else '<='} {self.high:g}"
        else:
            span = "a finite number"
        return span + (f" ({self.hint})" if self.hint else "")


@dataclass(frozen=True)
class OneOf(Constraint):
    """One of a fixed set of values (names of methods, kinds, linkages)."""

    values: tuple

    def ok(self, value: Any) -> bool:
        try:
            return value in self.values
        except TypeError:  # unhashable or odd types
            return False

    def describe(self) -> str:
        return "one of: " + ", ".join(str(v) for v in self.values)

    def message(self, name: str, value: Any) -> str:
        return f"{name} {value!r} is not known; choose one of: {', '.join(str(v) for v in self.values)}."


@dataclass(frozen=True)
class Flag(Constraint):
    """True or False."""

    def ok(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def describe(self) -> str:
        return "True or False"


@dataclass(frozen=True)
class Sizes(Constraint):
    """A non-empty sequence of whole numbers >= 1 (layer sizes)."""

    def ok(self, value: Any) -> bool:
        return isinstance(value, (tuple, list)) and len(value) > 0 and all(is_whole(v) and v >= 1 for v in value)

    def describe(self) -> str:
        return "one or more whole numbers >= 1, like (500, 500, 2000)"


@dataclass(frozen=True)
class Optional(Constraint):
    """None, or what ``inner`` allows; ``none_means`` says what None stands for."""

    inner: Constraint
    none_means: str = "the default"

    def ok(self, value: Any) -> bool:
        return value is None or self.inner.ok(value)

    def describe(self) -> str:
        return f"{self.inner.describe()}, or None for {self.none_means}"

    def message(self, name: str, value: Any) -> str:
        return f"{name} must be {self.describe()}; got {value!r}."


RANDOM_STATE = Optional(Whole(0), "a different result each run")


def check_params(obj: Any, constraints: Mapping[str, Constraint]) -> None:
    """Raise :class:`InputError` for the first attribute of ``obj`` that breaks its constraint."""
    for name, rule in constraints.items():
        value = getattr(obj, name)
        if not rule.ok(value):
            raise InputError(rule.message(name, value))


def check_value(name: str, value: Any, rule: Constraint) -> None:
    """:func:`check_params` for one value given by name (a function argument)."""
    if not rule.ok(value):
        raise InputError(rule.message(name, value))

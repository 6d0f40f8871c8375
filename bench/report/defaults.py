"""Did a recorded run measure today's defaults? Its recorded configuration against
``explorer.pipeline.default_config`` for the same data, setting by setting.

A setting the run did not record (it did not exist yet) counts as unchanged, unless LEGACY says what
the code did before the setting existed; settings the benchmark protocol fixes (k, seeds, device) and
settings a run overrode on purpose (its own command line) are not compared.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

from bench.report.common import TABLE_DATASETS, ds_label

Field = tuple[str, str]  # (part of the config: model / cluster / projection, setting)

# What the code did before a setting existed, by the device the run trained on: (the equivalent value
# of today's setting, in words). Until `mixed_precision` (commit 8cd3913) training ran under bf16
# autocast on CUDA and in float32 on CPUs. Add an entry when a new setting's default changes behaviour.
LEGACY: dict[Field, Callable[[str], tuple[Any, str]]] = {
    ("model", "mixed_precision"): lambda device: (
        (True, "bf16 on CUDA") if device.startswith("cuda") else (False, "float32 on the CPU")
    ),
}
# fixed by the benchmark protocol, never compared
PROTOCOL: set[Field] = {("cluster", "k"), ("cluster", "random_state"), ("projection", "random_state")}


@cache
def default_config_dict(dataset: str, n: int, d: int) -> dict:
    """today's default_config for a dataset of that name and shape (zeros stand in for the data)."""
    from bench.suites.labeled_sets import _images, _table
    from explorer.pipeline import default_config

    if dataset in TABLE_DATASETS:
        # every column spanning one range, as pendigits' 0..100 (the loader then scales them together and
        # the default is N2D); constant zeros would read as columns of different units
        X = np.tile(np.linspace(0, 100, n, dtype=np.float32)[:, None], (1, d))
        ds = _table(dataset, X, np.zeros(n, int))
    else:
        side = round(math.sqrt(d))
        ds = _images(dataset, np.zeros((n, side, side, 1), np.uint8), np.zeros(n, int))
    return default_config(ds).to_dict()


def _planned(model: dict, n: int) -> int:
    from explorer.reducers.train import planned_epochs

    return planned_epochs(model, int(n))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) == list(b)
    return a == b


def config_changes(
    dataset: str,
    n: int,
    d: int,
    recorded: dict,
    device: str,
    overridden: set[Field] = frozenset(),
    entry: dict[Field, Any] | None = None,
) -> list[str]:
    """'setting recorded -> today' for every setting of today's default that the run recorded otherwise.

    ``recorded`` holds the parts of a config the run wrote down ({"model": {...}, "cluster": {...}});
    a part or setting it lacks is not compared (except LEGACY ones). ``entry``: settings that the entry
    point the run went through (the CLI) sets itself today, with their values."""
    now = default_config_dict(dataset, int(n), int(d))
    out = []
    for part, fields in now.items():
        if not isinstance(fields, dict) or part not in recorded:
            continue
        for name, value in fields.items():
            key = (part, name)
            if key in PROTOCOL or key in overridden:
                continue
            value = (entry or {}).get(key, value)
            label = name if part == "model" else f"{part}.{name}"
            if key == ("model", "epochs") and name in recorded[part] and "max_examples" in recorded[part]:
                then, today = _planned(recorded[part], n), _planned({**fields, "epochs": value}, n)
                if then != today:  # the epochs a run trains, not the knob: 150 of 500 under a budget of examples = 150
                    out.append(f"{label} (planned for {int(n):,} rows): {then} -> {today}")
            elif name in recorded[part]:
                if not _same(recorded[part][name], value):
                    out.append(f"{label}: {recorded[part][name]} -> {value}")
            elif key in LEGACY:
                then, said = LEGACY[key](str(device))
                if not _same(then, value):
                    out.append(f"{label}: not recorded ({said} then) -> {value}")
    return out


def cli_settings() -> dict[Field, Any]:
    """What `python -m explorer run` sets on top of default_config today: the usage limits' cap on the
    training time (explorer.limits, EXPLORER_MAX_* unset)."""
    from explorer.limits import Limits

    return {("model", "max_seconds"): Limits().max_train_seconds}


def overridden_fields(q: dict, n: int) -> set[Field]:
    """The settings a bench/measure/quality.py run set on purpose for a dataset of n rows (its overrides, the
    epoch cap)."""
    out = {
        ("cluster", k[len("cluster_") :]) if k.startswith("cluster_") else ("model", k) for k in q.get("overrides", {})
    }
    cap = q.get("epoch_cap")
    if cap and n > cap["above_rows"]:
        out.add(("model", "epochs"))
    return out


def run_overrides(q: dict, run: dict) -> list[str]:
    """The settings a bench/measure/quality.py run set on purpose that the default pipeline itself reads, as
    'setting: value set by the run' (settings only DEC / IDEC read are left out where the default clusters
    otherwise)."""
    method = run["config"]["cluster"]["method"]
    out = []
    for part, name in sorted(overridden_fields(q, run["n"])):
        if part == "cluster" and name.startswith(("dec_", "idec_")) and method not in ("dec", "idec"):
            continue
        out.append(f"{name}: {run['config'][part].get(name)} set by the run")
    return out


def quality_run_changes(q: dict, run: dict) -> list[str]:
    """config_changes for one (dataset, seed) of a bench/measure/quality.py run."""
    device = (run.get("train") or {}).get("device") or run["config"].get("device", "cpu")
    return config_changes(run["dataset"], run["n"], run["d"], run["config"], device, overridden_fields(q, run["n"]))


def changed_defaults(q: dict, only: set[str] | None = None) -> list[str]:
    """'Dataset: changes' for each dataset of a bench/measure/quality.py run (its first seed) that no longer
    measures today's defaults; ``only`` limits it to those datasets."""
    out, seen = [], set()
    for run in q["runs"]:
        ds = run["dataset"]
        if ds in seen or (only is not None and ds not in only):
            continue
        seen.add(ds)
        diff = quality_run_changes(q, run)
        if diff:
            out.append(f"{ds_label(ds)}: {', '.join(diff)}")
    return out

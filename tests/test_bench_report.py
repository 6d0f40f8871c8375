"""bench/report/defaults.py: does a recorded run measure today's defaults? (what the headline trusts); and how
bench/report/shapes.py judges its targets."""

from __future__ import annotations

import pytest

report_defaults = pytest.importorskip("bench.report.defaults")

from explorer.reducers.train import planned_epochs


def test_planned_epochs_follow_the_budget_of_examples() -> None:
    model = {"epochs": 500, "max_examples": 1_350_000, "val_fraction": 0.1}
    assert planned_epochs(model, 10_000) == 150  # MNIST-test: 9,000 training rows
    assert planned_epochs(model, 9_298) == 161  # USPS: 8,368
    assert planned_epochs({"epochs": 40, "max_examples": None}, 10_000) == 40


def test_a_run_that_trained_the_same_epochs_is_todays_default() -> None:
    now = report_defaults.default_config_dict("mnist_test", 10_000, 784)
    recorded = {"model": {**now["model"], "epochs": 150}, "cluster": now["cluster"]}
    assert report_defaults.config_changes("mnist_test", 10_000, 784, recorded, "cpu") == []  # 150 of 500 = 150
    usps = report_defaults.default_config_dict("usps", 9_298, 256)
    recorded = {"model": {**usps["model"], "epochs": 150}, "cluster": usps["cluster"]}
    assert report_defaults.config_changes("usps", 9_298, 256, recorded, "cpu") == [
        "epochs (planned for 9,298 rows): 150 -> 161"
    ]


def test_the_pendigits_stand_in_gets_the_tables_default() -> None:
    now = report_defaults.default_config_dict("pendigits", 10_992, 16)
    assert now["cluster"]["method"] == "n2d" and now["model"]["kind"] == "none"  # one scale: N2D on the features


def test_the_shapes_targets_count_no_groups_and_time_the_large_noise_table() -> None:
    from bench.report.shapes import section_shapes, shapes_verdicts

    machine = {"cpu": "x", "cores": 2, "torch_threads": 2, "date": "d", "load_average_at_start": [1.0, 1.0, 1.0]}

    def table(rows: int, no_groups: bool, seconds: float) -> dict:
        return {"kind": "uniform", "rows": rows, "numeric": 16, "categories": 0, "no_groups": no_groups,
                "k": 1 if no_groups else 15, "path": "n2d", "seconds": seconds}  # fmt: skip

    tables = [table(1000, i < 8, 5.0) for i in range(9)] + [table(20_000, True, 75.0)]
    noise = {"machine": machine, "tables": tables, "no_groups": 9, "of": 10}
    verdicts = {target: verdict for target, _, verdict in shapes_verdicts(None, noise)}
    assert [v for t, v in verdicts.items() if "no groups" in t] == ["met"]  # 9 of 10
    assert [v.startswith("**not met**") for t, v in verdicts.items() if "20,000" in t] == [True]  # 75 s > 60 s
    lines: list[str] = []
    section_shapes(None, noise, None, lines)
    text = "\n".join(lines)
    assert "9 of 10" in text and "--real` writes" in text and "python -m bench.measure.shapes` writes" in text

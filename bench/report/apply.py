"""The "apply a run to new data" part of docs/BENCHMARKS.md: bench/measure/apply.py's results (bench/results/apply.json)
-- ACC of an applied half beside the in-sample half, placement against a map of all the data, the time to apply
10,000 rows -- and the targets judged on them."""

from __future__ import annotations

from bench.report.common import Verdict, load_average, machine_text

COMMAND = "python -m bench.measure.apply"
ACC_GAP = 0.02
TIME_BAR = 10.0


def section_apply(doc: dict | None, lines: list[str]) -> None:
    lines += ["## Applying a run to new data", ""]
    if not doc or not doc.get("table"):
        lines += [f"Not measured yet: run `{COMMAND}` (writes `bench/results/apply.json`).", ""]
        return
    m = doc["machine"]
    lines += [
        "`bench/measure/apply.py`: a run made on one half of the data, saved, loaded, and applied to the other half "
        "with "
        "`explorer.apply.apply_run` (the saved preprocessing, model and clustering; no retraining). ACC: Hungarian "
        'matching of clusters to the known classes, on each half; "with A\'s matching" keeps the cluster-to-class '
        "matching of the training half. Placement: each applied point's 10 nearest training points on the run's map "
        "(where apply placed it) against its 10 nearest training points on a map made of all the data; the mean "
        "overlap, beside chance and beside the same overlap for the training points themselves (how far the two "
        "maps agree where both hold the point, which placement can't beat).",
        "",
        f"Measured {m['date']} on {machine_text(m)}"
        + (f" (load average at the start {load_average(m)})" if m.get("load_average_at_start") else "")
        + f"; the whole run took {doc.get('seconds', 0) / 60:.0f} min, peak memory {doc.get('peak_rss_mb', 0):,.0f} MB "
        "(the process, training included).",
        "",
        "| data | method | rows trained / applied | ACC in-sample | ACC applied | ACC applied, A's matching | "
        "kNN overlap (chance; training points' own) | apply (rows) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, title in (("mnist", "MNIST-test halves"), ("table", "planted table halves")):
        r = doc.get(key)
        if not r:
            continue
        lines.append(
            f"| {title} | {r['method']} | {r['n_train']:,} / {r['n_applied']:,} | {r['acc_train']:.3f} | "
            f"{r['acc_applied']:.3f} | {r['acc_applied_train_mapping']:.3f} | {r['knn_overlap']:.3f} "
            f"({r['knn_overlap_chance']:.3f}; {r.get('knn_overlap_reference', float('nan')):.3f}) | "
            f"{r['apply_10k_s']:.2f} s ({r.get('rows_timed', 10_000):,}) |"
        )
    lines.append("")
    if doc.get("mnist"):
        mn = doc["mnist"]
        epochs = "the default 150 epochs" if mn["epochs"] == 150 else f"{mn['epochs']} epochs, not the default 150"
        if "acc_full_run" in mn:
            full = (
                f"the full map is that of a run made on all 10,000 images with the same settings (its own "
                f"autoencoder, clustering and UMAP; its ACC {mn['acc_full_run']:.3f}). Against one UMAP of all 10,000 "
                f"codes of half A's model instead, the overlap is {mn['knn_overlap_same_model']:.3f} (training points' "
                f"own {mn['knn_overlap_same_model_reference']:.3f})"
            )
        else:
            full = "the full map is UMAP of all 10,000 images' codes from the same model"
        lines += [
            f"MNIST: the default image pipeline (dense autoencoder with augmentation, N2D, k = 10; on the 5,000 "
            "images of a half, three autoencoders side by side; then the refinement on augmented copies and N2D "
            f"again: every model the run saves is the refined one) trained {epochs}; {full}. Clusters of applied "
            "images: "
            + mn["how"]
            + f". Time to apply {mn.get('rows_timed', 10_000):,} images: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in mn["apply_10k_parts"].items())
            + "."
        ]
    t = doc["table"]
    lines += [
        "",
        f"Table: `bench/suites/explain_tables.py`'s planted customers ({t['n_train'] + t['n_applied']:,} rows, 5 "
        "segments, "
        "categorical columns, 3% missing in two), the table default with k = 5, the full map the table default on "
        f"all rows. In the applied half {t['unseen_rows']:,} rows carry a plan never seen in training: "
        f'"{t["unseen_note"]}" Their ACC with A\'s matching: {t["acc_unseen_rows_train_mapping"]:.3f}. Time to apply '
        f"{t.get('rows_timed', 10_000):,} rows (a DataFrame already read): "
        + ", ".join(f"{k} {v:.2f} s" for k, v in t["apply_10k_parts"].items())
        + ".",
        "",
    ]


def apply_verdicts(doc: dict | None) -> list[Verdict]:
    if not doc or not doc.get("table"):
        return [
            (
                "Apply a run: ACC of the applied half within 0.02 of the in-sample half",
                "not measured",
                "**not measured**",
            )
        ]
    out: list[Verdict] = []
    for key, title in (("mnist", "MNIST-test"), ("table", "table with categories, missing values, an unseen level")):
        r = doc.get(key)
        if not r:
            out.append(
                (
                    f"Apply, {title}: ACC of the applied half within {ACC_GAP} of the in-sample half",
                    "not measured",
                    "**not measured**",
                )
            )
            continue
        gap = r["acc_train"] - r["acc_applied"]
        out.append(
            (
                f"Apply, {title}: ACC of the applied half within {ACC_GAP} of the in-sample half",
                f"{r['acc_train']:.3f} in-sample, {r['acc_applied']:.3f} applied (gap {gap:+.3f})",
                "met" if gap <= ACC_GAP else "**missed**",
            )
        )
    times = [
        (k, doc[k]["apply_10k_s"])
        for k in ("table", "mnist")
        if doc.get(k) and doc[k].get("rows_timed", 10_000) >= 10_000
    ]
    if not times:
        return [
            *out,
            (
                f"Applying 10,000 rows takes <= {TIME_BAR:g} s (file reading excluded)",
                "not measured (quick run)",
                "**not measured**",
            ),
        ]
    worst = max(s for _, s in times)
    out.append(
        (
            f"Applying 10,000 rows takes <= {TIME_BAR:g} s (file reading excluded)",
            ", ".join(f"{k} {s:.2f} s" for k, s in times),
            "met" if worst <= TIME_BAR else "**missed**",
        )
    )
    return out

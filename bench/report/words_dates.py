"""The words-and-dates section of docs/BENCHMARKS.md, from bench/measure/words_dates.py's results
(bench/results/words_dates.json): a planted table whose segments live in a message and a sign-up date only."""

from __future__ import annotations

from bench.report.common import Verdict, load_average, machine_text, ms, verdict

ARI_TARGET = 0.95


def words_dates_verdicts(doc: dict | None) -> list[Verdict]:
    """Issue 27's planted-table targets: ARI with k given, the right k when chosen, the message and the date in
    each cluster's top 3."""
    if not doc or doc.get("quick"):
        return []
    runs = doc["runs"]
    k = len(doc["segments"])
    given = [r["k_given"] for r in runs if "k_given" in r]
    chosen = [r["k_chosen"] for r in runs if "k_chosen" in r]
    out: list[Verdict] = []
    if given:
        mean, _ = ms([g["ari"] for g in given])
        out.append(
            (
                f"words and dates (planted, {k} segments), k given: ARI >= {ARI_TARGET:.2f}",
                f"{mean:.3f} ({len(given)} seeds; k-means on the numbers and categories alone "
                f"{ms([r['kmeans_numbers_and_categories_ari'] for r in runs])[0]:.3f})",
                verdict(mean, ARI_TARGET),
            )
        )
        both = sum(g["both_in_top"] for g in given)
        clusters = sum(len(g["top_columns"]) for g in given)
        out.append(
            (
                "words and dates: the message and the date in each cluster's top 3",
                f"{both} of {clusters} clusters ({len(given)} seeds, k given)",
                "met" if both == clusters else f"**not met** ({clusters - both} clusters without both)",
            )
        )
    if chosen:
        right = sum(c["k"] == k for c in chosen)
        ks = ", ".join(str(c["k"]) for c in chosen)
        out.append(
            (
                f"words and dates: the automatic k = {k} in >= 2 of 3 seeds",
                f"{right} of {len(chosen)} (k {ks}; ARI {ms([c['ari'] for c in chosen])[0]:.3f})",
                "met" if right >= 2 else "**not met**",
            )
        )
    return out


def section_words_dates(doc: dict | None, lines: list[str]) -> None:
    if not doc:
        return
    m = doc["machine"]
    lines += [
        "### Words and dates: segments that live in a message and a sign-up date",
        "",
        f"`python -m bench.measure.words_dates` on {machine_text(m)}, measured {m.get('date', '?')} (load average "
        f"{load_average(doc)} at start). {doc['what']}. Segments: "
        + "; ".join(doc["segments"])
        + ". Each table is written as a CSV and loaded as an upload is.",
        "",
        "| seed | rows | features | k given: ARI | top 3 with both | s | k chosen | ARI | s | k-means on numbers "
        "and categories: ARI |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in doc["runs"]:
        g, c = r.get("k_given", {}), r.get("k_chosen", {})
        lines.append(
            f"| {r['seed']} | {r['rows']:,} | {r['features']} | {g.get('ari', float('nan')):.3f} | "
            f"{g.get('both_in_top', '-')} of {len(g.get('top_columns', []))} | {g.get('seconds', '-')} | "
            f"{c.get('k', '-')} | {c.get('ari', float('nan')):.3f} | {c.get('seconds', '-')} | "
            f"{r['kmeans_numbers_and_categories_ari']:.3f} |"
        )
    lines += [""]

"""The "What is missing" section of docs/BENCHMARKS.md: what the full protocol asks for and the
results lack, and which settings were cut to fit the machine."""

from __future__ import annotations

from pathlib import Path

from bench.report.common import default_dec_iter, default_epochs, ds_label, ds_order, load
from bench.report.headline import Evidence, headline
from bench.report.quality import QualitySource, lacking_seeds
from bench.report.quality_tables import missing_items as tables_missing

RESULT_FILES = (
    "quality_defaults",
    "quality",
    "quality_tables",
    "overhead",
    "throughput",
    "cli",
    "scaling",
    "browser",
    "browser_explore",
    "curate",
    "precision",
    "peers",
    "throughput_gpu",
    "cli_gpu",
    "peers_gpu",
)


def _quality_items(sources: dict[str, QualitySource], evidence: list[Evidence]) -> list[str]:
    items = []
    if not sources:
        return ["quality: not run (`python -m bench.measure.quality`)"]
    for stem in dict.fromkeys(s.stem for s in sources.values()):
        q = next(s.doc for s in sources.values() if s.stem == stem)
        lacking = lacking_seeds(q)
        if lacking:
            items.append(f"quality, `{stem}.json`: not recorded when this document was generated: {'; '.join(lacking)}")
        dec = q.get("overrides", {}).get("cluster_dec_max_iter")
        if dec and not q.get("quick"):
            items.append(
                f"quality, `{stem}.json`: DEC and IDEC ran at most {dec} batches (default {default_dec_iter()})"
            )
    older = [ds for ds, s in sources.items() if not s.current]
    if older:
        items.append(
            "quality, the method comparison: only from runs with older defaults for "
            f"{', '.join(ds_label(d) for d in older)} "
            "(Older runs); `python -m bench.measure.quality --datasets ... --merge --tag T` re-measures single datasets"
        )
    for ds in older:
        s = sources[ds]
        cap = s.doc.get("epoch_cap")
        if cap and s.summary["n"] > cap["above_rows"]:
            items.append(
                f"quality, `{s.stem}.json`: the autoencoder was trained for at most {cap['epochs']} epochs on "
                f"{ds_label(ds)}, so its scores are a lower bound for an under-trained default"
            )
    have = {e.dataset for e in headline(evidence)}
    never = sorted({e.dataset for e in evidence} - have, key=ds_order)
    if never:
        items.append(f"today's defaults: not measured on {', '.join(ds_label(d) for d in never)}")
    return items


def section_missing(results: Path, sources: dict[str, QualitySource], evidence: list[Evidence]) -> list[str]:
    """'## What is missing' as lines."""
    items = _quality_items(sources, evidence) + tables_missing(load(results, "quality_tables"))
    for step in ("overhead", "throughput", "cli", "scaling"):
        if not load(results, step):
            items.append(f"speed: `python -m bench.measure.speed {step}` has not been run")
    c = load(results, "cli")
    if c and "--epochs" in c["command"]:
        items.append(
            f"speed: the CLI run capped the epochs (see its command); the default trains up to {default_epochs()} "
            "epochs with early stopping"
        )
    if c and c.get("machine", {}).get("bench_threads_env"):
        items.append(
            "speed: the CPU CLI time with the cores to itself (it was measured on one thread on a shared machine)"
        )
    if not load(results, "cli_gpu"):
        items.append("GPU numbers: to be filled by `bash bench/gpu.sh` on a GPU machine")
    if not load(results, "browser"):
        items.append("the dashboard in a real browser (re-colour / select on 10k and 100k points): not measured yet")
    docs = {stem: load(results, stem) for stem in RESULT_FILES}
    lacking = [stem for stem, d in docs.items() if d and "native_bf16" not in d.get("machine", {})]
    if lacking:
        items.append(
            "machine: whether the CPU computes bf16 natively is not recorded in "
            + (
                "any result so far"
                if len(lacking) == sum(1 for d in docs.values() if d)
                else ", ".join(f"`{s}.json`" for s in lacking)
            )
            + " (`bench/suites/common.py` records it from now on)"
        )
    return ["## What is missing", ""] + [f"- {i}." for i in items] + [""]

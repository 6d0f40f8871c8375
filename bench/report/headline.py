"""The top of docs/BENCHMARKS.md: what today's defaults score, gathered from every results file that
ran the default pipeline (bench/measure/peers.py, bench/measure/quality.py, bench/measure/speed.py cli,
bench/measure/precision.py), and the quality targets judged on those numbers.

A measurement counts as "today's defaults" when the configuration it recorded matches
``default_config`` now (bench.report.defaults); per dataset and device the one with the most seeds is the
headline, the others are listed under it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.report.common import Verdict, bf16_text, ds_label, ds_order, load, machine_text, ms, seeds_text, verdict
from bench.report.defaults import cli_settings, config_changes, default_config_dict
from bench.report.quality import TARGETS, QualitySource, default_method

STD_BAR = 0.02  # seed-to-seed std of the default's ACC


@dataclass
class Evidence:
    """One dataset measured by one results file with the default pipeline."""

    dataset: str
    script: str  # what measured it, e.g. "bench/measure/peers.py"
    stem: str  # its results file, without .json
    acc: list[float]
    nmi: list[float]
    seconds: float  # median over the seeds
    timed: str  # what the time covers
    machine: dict
    on_gpu: bool
    date: str
    changes: list[str] | None  # settings where today's default differs; []: today's defaults; None: not comparable
    unchecked: str = ""  # what limited the comparison ("" where the whole configuration was compared)
    rank: int = 0  # among measurements with as many seeds, the lower the better for the headline

    @property
    def current(self) -> bool:
        return self.changes == []


def _shapes(results: Path, sources: dict[str, QualitySource]) -> dict[str, tuple[int, int]]:
    """{dataset: (rows, columns)} as recorded by any result (some results record only the rows)."""
    out = {ds: (s.summary["n"], s.summary["d"]) for ds, s in sources.items()}
    for stem in ("peers", "peers_gpu"):
        for cell in (load(results, stem) or {}).get("cells", {}).values():
            out.setdefault(cell["dataset"], (cell["n"], cell["d"]))
    return out


def _from_quality(sources: dict[str, QualitySource]) -> list[Evidence]:
    from explorer.reducers import AE_KINDS

    out = []
    for ds, s in sources.items():
        d = s.summary
        default = default_method(d)  # images: refined after N2D (from 2,000 images)
        if default not in d["methods"]:
            continue
        trains = (
            d["runs"][0]["config"]["model"]["kind"] in AE_KINDS
        )  # else the recorded training served the alternatives
        per_run = [
            r["methods"][default]["seconds"] + (r["train"]["seconds"] if trains and "train" in r else 0)
            for r in d["runs"]
        ]
        device = (d["runs"][0].get("train") or {}).get("device") or "cpu"
        out.append(
            Evidence(
                ds,
                "bench/measure/quality.py",
                s.stem,
                d["methods"][default]["acc"],
                d["methods"][default]["nmi"],
                float(np.median(per_run)),
                "training + clustering" if trains else "clustering; no model to train",
                s.doc["machine"],
                device.startswith("cuda"),
                max(r.get("measured", s.doc["machine"]["date"]) for r in d["runs"]),
                s.changes + s.overrides,
                rank=1,
            )
        )
    return out


def _from_peers(results: Path) -> list[Evidence]:
    out = []
    for stem in ("peers", "peers_gpu"):
        doc = load(results, stem) or {}
        by: dict[str, list[dict]] = {}
        for cell in doc.get("cells", {}).values():
            if cell["side"] == "ours":
                by.setdefault(cell["dataset"], []).append(cell)
        for ds, cells in by.items():
            rs = [c["methods"]["default"] for c in cells]
            device = rs[0]["config"].get("device", "cpu")
            changes = list(
                dict.fromkeys(
                    x
                    for c, r in zip(cells, rs, strict=True)
                    for x in config_changes(ds, c["n"], c["d"], r["config"], device)
                )
            )
            m = cells[-1].get("machine") or doc.get("machine", {})
            out.append(
                Evidence(
                    ds,
                    "bench/measure/peers.py",
                    stem,
                    [r["acc"] for r in rs],
                    [r["nmi"] for r in rs],
                    float(np.median([r["seconds"] for r in rs])),
                    "whole default run",
                    m,
                    device.startswith("cuda"),
                    m.get("date", "?"),
                    changes,
                    rank=0,
                )
            )
    return out


def _from_cli(results: Path, shapes: dict[str, tuple[int, int]]) -> list[Evidence]:
    out = []
    for stem in ("cli", "cli_gpu"):
        c = load(results, stem)
        if not c or c["metrics"].get("acc") is None:
            continue
        device, ds = str(c["metrics"].get("device", "cpu")), c["dataset"]
        changes, unchecked = (
            None,
            "records no model configuration" if not c.get("model") else "does not record the data's width",
        )
        if c.get("model") and ds in shapes:
            changes = config_changes(
                ds,
                c["n"],
                shapes[ds][1],
                {"model": c["model"], "cluster": {"method": c["cluster_method"]}},
                device,
                entry=cli_settings(),
            )
            unchecked = "records the model and the clustering method only"
        out.append(
            Evidence(
                ds,
                "bench/measure/speed.py cli",
                stem,
                [c["metrics"]["acc"]],
                [c["metrics"]["nmi"]],
                c["wall_s"],
                "CLI end to end",
                c["machine"],
                device.startswith("cuda"),
                c["machine"]["date"],
                changes,
                unchecked,
                rank=2,
            )
        )
    return out


def _from_precision(results: Path, shapes: dict[str, tuple[int, int]]) -> list[Evidence]:
    """bench/measure/precision.py's load_digits rows with today's default setting of mixed precision (the other
    setting is an alternative measured on purpose, not older defaults)."""
    doc = load(results, "precision")
    rows = (doc or {}).get("quality", [])
    shape = (rows[0]["n"], rows[0]["d"]) if rows and "d" in rows[0] else shapes.get("sklearn_digits")
    if not rows or not shape:
        return []
    today = default_config_dict("sklearn_digits", *shape)["model"]["mixed_precision"]
    rows = [r for r in rows if r["mixed_precision"] == today]
    if not rows:
        return []
    recorded = rows[0].get("config") or {"model": {"mixed_precision": today}}
    m = {**doc["machine"], "native_bf16": doc["machine"].get("native_bf16", doc["steps"].get("native_bf16"))}
    return [
        Evidence(
            "sklearn_digits",
            "bench/measure/precision.py",
            "precision",
            [r["acc"] for r in rows],
            [r["nmi"] for r in rows],
            float(np.median([r["train_seconds"] for r in rows])),
            "training only",
            m,
            doc["device"].startswith("cuda"),
            doc["machine"]["date"],
            config_changes("sklearn_digits", *shape, recorded, doc["device"]),
            "" if "config" in rows[0] else "records only its mixed-precision setting",
            rank=3,
        )
    ]


def collect(results: Path, sources: dict[str, QualitySource]) -> list[Evidence]:
    """Every measurement of the default pipeline in the results, in document order of the datasets."""
    shapes = _shapes(results, sources)
    ev = _from_peers(results) + _from_quality(sources) + _from_cli(results, shapes) + _from_precision(results, shapes)
    return sorted(ev, key=lambda e: (ds_order(e.dataset), e.on_gpu, e.rank))


def headline(evidence: list[Evidence]) -> list[Evidence]:
    """Per (dataset, CPU or GPU): the measurement of today's defaults with the most seeds, among those whose
    whole configuration was compared with today's where there is one (a run that recorded only part of its
    settings may have run code that has changed since)."""
    best: dict[tuple[str, bool], Evidence] = {}

    def merit(e: Evidence) -> tuple:
        return (not e.unchecked, len(e.acc), -e.rank)

    for e in evidence:
        key = (e.dataset, e.on_gpu)
        if e.current and (key not in best or merit(e) > merit(best[key])):
            best[key] = e
    return [e for e in evidence if best.get((e.dataset, e.on_gpu)) is e]


def changes_of(evidence: list[Evidence], stem: str) -> list[str] | None:
    """How today's defaults differ from those of results file ``stem`` (None: not compared)."""
    return next((e.changes for e in evidence if e.stem == stem), None)


def _row(e: Evidence) -> str:
    (a, sa), (n, sn) = ms(e.acc), ms(e.nmi)
    std = f"{sa:.3f} / {sn:.3f}" if len(e.acc) > 1 else "n/a (1 seed)"
    mark = " †" if e.unchecked else ""
    return (
        f"| {ds_label(e.dataset)} | {a:.3f} | {n:.3f} | {std} | {len(e.acc)} | {e.seconds:.0f} s ({e.timed}) | "
        f"`{e.script}`{mark}, {e.date} | {machine_text(e.machine)} | {bf16_text(e.machine, e.on_gpu)} |"
    )


def section_headline(results: Path, evidence: list[Evidence], lines: list[str]) -> None:
    """'## Today's defaults': the headline table, then notes on its machines and on what is not in it."""
    picks = headline(evidence)
    lines += ["## Today's defaults", ""]
    if not picks:
        lines += [
            "No measurement of today's defaults is recorded yet (every result below used older settings, or none "
            "exists): run `python -m bench.run_all`.",
            "",
        ]
    else:
        lines += [
            "The default pipeline (`explorer.pipeline.default_config`, k = the number of classes) as it ships now: "
            "per dataset and device the measurement with the most seeds whose recorded configuration matches "
            "today's defaults (a setting a run could not record yet counts as unchanged, unless "
            "`bench/report/defaults.py` knows the code behaved otherwise before it). Mean over the seeds; std = sample "
            "standard deviation of ACC / NMI over the seeds; time = median over the seeds, of what the cell says.",
            "",
            "| dataset | ACC | NMI | std (ACC / NMI) | seeds | time | measured by | machine (CPU or GPU; cores; "
            "threads) | native bf16 |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [_row(e) for e in picks] + [""]
    notes = _machine_notes(results, picks) + _coverage_notes(evidence, picks)
    lines += [f"- {n}" for n in notes] + ([""] if notes else [])


def _machine_notes(results: Path, picks: list[Evidence]) -> list[str]:
    """What limited the comparison of configurations (†), the bf16 record, the software."""
    notes = []
    if any(e.unchecked for e in picks):
        notes.append(
            "† compared with today's defaults only on what the run recorded: "
            + "; ".join(dict.fromkeys(f"`{e.stem}.json` {e.unchecked}" for e in picks if e.unchecked))
            + "."
        )
    unknown = [e for e in picks if bf16_text(e.machine, e.on_gpu) == "not recorded"]
    if unknown:
        note = (
            "native bf16 *not recorded*: these results predate its recording (`bench/suites/common.py` now writes "
            "`native_bf16` "
            "and, with a GPU, `gpu_bf16` into each file's `machine`)."
        )
        p = load(results, "precision")
        if (
            p
            and p["device"] == "cpu"
            and any(not e.on_gpu and e.machine.get("cpu") == p["machine"]["cpu"] for e in unknown)
        ):
            cpu = p["machine"]["cpu"]
            note += (
                " `bench/measure/precision.py` found native bf16 "
                f"{'present' if p['steps']['native_bf16'] else 'absent'} on a CPU "
                f"named {cpu} ({p['machine']['date']}); whether the other {cpu} rows ran on that same CPU is not "
                "recorded."
            )
        notes.append(note)
    software = {
        f"torch {m.get('torch')}, scikit-learn {m.get('sklearn')}, umap-learn {m.get('umap')}, "
        f"Python {m.get('python')}": m.get("gpu") or m.get("cpu")
        for m in (e.machine for e in picks)
    }
    if software:
        notes.append("Software: " + "; ".join(f"{where}: {versions}" for versions, where in software.items()) + ".")
    return notes


def _coverage_notes(evidence: list[Evidence], picks: list[Evidence]) -> list[str]:
    """The other measurements of today's defaults, those of other settings, and the datasets without any."""
    notes = []
    others = [e for e in evidence if e.current and e not in picks]
    if others:
        notes.append(
            "Other measurements of today's defaults: "
            + "; ".join(
                f"{ds_label(e.dataset)}{' on the GPU' if e.on_gpu else ''} by `{e.script}` "
                f"({seeds_text(len(e.acc))}): ACC "
                f"{ms(e.acc)[0]:.3f}, NMI {ms(e.nmi)[0]:.3f}, {e.seconds:.0f} s ({e.timed})"
                for e in others
            )
            + "."
        )
    stale: dict[tuple[str, str, str], list[str]] = {}  # (script, file, how it differs): its datasets
    for e in evidence:
        if not e.current:
            how = ", ".join(e.changes) if e.changes else f"not compared: it {e.unchecked}"
            stale.setdefault((e.script, e.stem, how), []).append(ds_label(e.dataset))
    if stale:
        notes.append(
            "Measured with older defaults or with settings changed on purpose, so not above (`a -> b`: as the run "
            "recorded it -> today; details under [Older runs](#older-runs-defaults-that-have-changed-since) or in "
            "their sections): "
            + "; ".join(
                f"{', '.join(dss)} by `{script}` (`{stem}.json`; {how})" for (script, stem, how), dss in stale.items()
            )
            + "."
        )
    never = sorted({e.dataset for e in evidence} - {e.dataset for e in picks}, key=ds_order)
    if never:
        notes.append(f"**No measurement of today's defaults** for {', '.join(ds_label(d) for d in never)}.")
    return notes


def headline_verdicts(evidence: list[Evidence]) -> list[Verdict]:
    """The quality targets on the CPU, each judged on the headline measurement of its dataset (else on an
    older one, said so)."""
    cpu = [e for e in evidence if not e.on_gpu]
    picks = {e.dataset: e for e in headline(cpu)}
    fallback: dict[str, Evidence] = {}
    for e in cpu:  # the older measurement with the most seeds, where nothing measured today's defaults
        if e.dataset not in picks and (e.dataset not in fallback or len(e.acc) > len(fallback[e.dataset].acc)):
            fallback[e.dataset] = e
    chosen = {**fallback, **picks}

    def where(e: Evidence) -> str:
        return f"`{e.script}`, {seeds_text(len(e.acc))}" + ("" if e.current else ", **older defaults**")

    out: list[Verdict] = []
    for ds, metric, bar in TARGETS:
        e = chosen.get(ds)
        name = f"{ds_label(ds)} {metric.upper()} >= {bar}"
        if e is None:
            out.append((name, "not measured", "-"))
            continue
        v = ms(e.acc if metric == "acc" else e.nmi)[0]
        out.append((name, f"{v:.3f} ({where(e)})", verdict(v, bar)))
    for ds in sorted(chosen, key=ds_order):
        e = chosen[ds]
        name = f"{ds_label(ds)}: seed-to-seed std of ACC <= {STD_BAR}"
        if len(e.acc) < 2:
            out.append((name, f"n/a ({where(e)})", "- (std needs 2 seeds)"))
            continue
        s = ms(e.acc)[1]
        out.append((name, f"{s:.3f} ({where(e)})", verdict(s, STD_BAR, higher_is_better=False)))
    return out

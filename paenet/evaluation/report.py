"""Evaluation outputs: the terminal table, ``results.json``, ``results.md``, CMC PNGs.

Every output names the checkpoint, the manifest hash, the attribute source, the
gallery sampling and the trials. Numbers are percentages with two decimals in text,
fractions in JSON. Files are written atomically (temporary file beside, then rename).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from paenet.atomic import write_bytes_atomic, write_text_atomic
from paenet.evaluation.runner import METRICS, SettingSummary
from paenet.evaluation.session import EvaluationReport

_HEADERS = {"rank1": "R1", "rank5": "R5", "rank10": "R10", "rank20": "R20"}
SOURCE_LABEL = {
    "predicted": "predicted attributes",
    "gt": "ground-truth attributes",
    "backbone": "backbone feature, no attributes",
}


def _cell(s: SettingSummary, m: str) -> str:
    return f"{100 * s.mean[m]:.2f} ± {100 * s.std[m]:.2f}"


def header_lines(report: EvaluationReport) -> list[str]:
    source = SOURCE_LABEL[report.attribute_source]
    if not report.model_uses_attributes:
        source += " (model without PAE: unused)"
    lines = [
        f"checkpoint: {report.checkpoint} ({report.checkpoint_kind}, epoch {report.epoch})",
        f"manifest: {report.manifest} ({report.dataset}, hash {report.manifest_hash[:16]})",
        f"attribute source: {report.attribute_source} ({source})",
        f"gallery sampling: {report.sampling}; trials: {', '.join(map(str, report.trials))}",
    ]
    if report.synthetic:
        lines.append(
            f"DATA: SYNTHETIC stand-in ({report.dataset}), not the real {report.kind} "
            "dataset: these numbers show that the code runs and learns, not what the "
            "method scores on real images; compare each rank-1 with its chance level"
        )
    lines += [f"NOTE: {n}" for n in report.notes]
    return lines


def table_rows(report: EvaluationReport) -> list[list[str]]:
    head = ["setting", "trials", *(_HEADERS.get(m, m) for m in METRICS)]
    head += ["gallery ids / images", "chance R1"]
    rows = [head]
    for s in report.settings:
        g = report.galleries.get(s.setting)
        size = "n/a" if g is None else f"{g.identities:.0f} / {g.images:.0f}"
        chance = "n/a" if g is None else f"{100 * g.chance_rank1:.2f}"
        rows.append([s.setting, str(len(s.trials)), *(_cell(s, m) for m in METRICS), size, chance])
    return rows


def format_table(report: EvaluationReport) -> str:
    """The terminal table (mean ± std over trials, percent)."""
    rows = table_rows(report)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [*header_lines(report), ""]
    for k, r in enumerate(rows):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    q = report.attribute_quality
    if q is not None and q.mean_accuracy is not None:
        lines.append("")
        lines.append(
            f"attribute head on {q.images} test images with known attributes: mean accuracy "
            f"{100 * q.mean_accuracy:.2f}, mean balanced accuracy "
            f"{100 * (q.mean_balanced_accuracy or 0):.2f}"
        )
    return "\n".join(lines)


def format_markdown(report: EvaluationReport) -> str:
    rows = table_rows(report)
    out = ["# Evaluation", ""]
    out += [f"- {line}" for line in header_lines(report)]
    out += [
        "",
        "Mean ± standard deviation over trials, percent; the gallery's size (mean over "
        "trials) and the chance rank-1 (1 / gallery identities) beside each row.",
        "",
    ]
    out.append("| " + " | ".join(rows[0]) + " |")
    out.append("|" + "|".join(" --- " for _ in rows[0]) + "|")
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    q = report.attribute_quality
    if q is not None:
        out += ["", f"## Attribute head ({q.images} test images with known attributes)", ""]
        out += ["| attribute | known | positives | accuracy | balanced accuracy |"]
        out += ["| --- | --- | --- | --- | --- |"]
        for a in q.per_attribute:
            acc = "n/a" if a.accuracy is None else f"{100 * a.accuracy:.2f}"
            bal = "n/a" if a.balanced_accuracy is None else f"{100 * a.balanced_accuracy:.2f}"
            out.append(f"| {a.key} | {a.known} | {a.positives} | {acc} | {bal} |")
        if q.mean_accuracy is not None:
            out.append(
                f"| **mean** | | | {100 * q.mean_accuracy:.2f} | "
                f"{100 * (q.mean_balanced_accuracy or 0):.2f} |"
            )
    return "\n".join(out) + "\n"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("→", " to ")).strip("-")


def plot_cmc(report: EvaluationReport, settings: Iterable[SettingSummary], path: Path) -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for s in settings:
        ranks = range(1, len(s.cmc_mean) + 1)
        ax.plot(ranks, 100 * s.cmc_mean, marker="o", markersize=3, label=s.setting)
        ax.fill_between(
            ranks, 100 * (s.cmc_mean - s.cmc_std), 100 * (s.cmc_mean + s.cmc_std), alpha=0.2
        )
    ax.set_xlabel("rank")
    ax.set_ylabel("matching rate (%)")
    ax.set_title(
        f"{report.dataset}{' (SYNTHETIC stand-in)' if report.synthetic else ''}: "
        f"{report.attribute_source} attributes, "
        f"sampling {report.sampling}, trials {len(report.trials)}",
        fontsize=9,
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.text(
        0.01,
        0.01,
        f"{Path(report.checkpoint).name} · manifest {report.manifest_hash[:12]}",
        fontsize=6,
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    write_bytes_atomic(path, buf.getvalue())


def write_outputs(report: EvaluationReport, out: Path) -> list[Path]:
    """``results.json``, ``results.md`` and one ``cmc_<setting>.png`` per setting."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "results.json", out / "results.md"]
    write_text_atomic(written[0], json.dumps(report.as_dict(), indent=2) + "\n")
    write_text_atomic(written[1], format_markdown(report))
    for s in report.settings:
        path = out / f"cmc_{_slug(s.setting)}.png"
        plot_cmc(report, [s], path)
        written.append(path)
    return written

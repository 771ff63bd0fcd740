"""Reports for people and for CI, read from the results store alone.

``write_reports`` is what ``eval run`` and ``eval report`` call; the renderers are public
for library use: ``render_html``, ``render_markdown``, ``render_junit``, ``render_json``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from agentctl.core.errors import InputError
from agentctl.reports.data import ReportData, load_report_data
from agentctl.reports.html import render_html
from agentctl.reports.json_report import REPORT_SCHEMA, render_json
from agentctl.reports.junit import render_junit
from agentctl.reports.markdown import render_markdown

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from agentctl.store.store import StoreHandle

__all__ = [
    "FORMATS", "REPORT_SCHEMA", "ReportData", "append_step_summary", "format_name", "load_report_data", "render",
    "render_html", "render_json", "render_junit", "render_markdown", "report_filename", "write_reports",
]

FORMATS: dict[str, tuple[str, Callable[[ReportData], str]]] = {
    "html": ("html", render_html),
    "md": ("md", render_markdown),
    "junit": ("xml", render_junit),
    "json": ("json", render_json),
}
"""Report format name -> (file extension, renderer)."""


def format_name(fmt: str) -> str:
    """``fmt`` as a key of :data:`FORMATS` (``markdown`` is accepted for ``md``); ``InputError`` otherwise."""
    fmt = "md" if fmt == "markdown" else fmt
    if fmt not in FORMATS:
        raise InputError(f"unknown report format '{fmt}' (expected one of {', '.join(FORMATS)})", key="--format")
    return fmt


def render(data: ReportData, fmt: str) -> str:
    """One report as text; ``fmt`` is a key of :data:`FORMATS` (``markdown`` is accepted for ``md``)."""
    return FORMATS[format_name(fmt)][1](data)


def report_filename(data: ReportData, fmt: str) -> str:
    """``<suite>-<run_id>.<ext>``, with anything unsafe in a file name replaced."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{data.suite}-{data.run_id}").strip("._") or "report"
    return f"{stem}.{FORMATS['md' if fmt == 'markdown' else fmt][0]}"


def write_reports(
    store: StoreHandle,
    run_id: str,
    *,
    report_dir: Path | None,
    junit_path: Path | None = None,
    formats: Iterable[str] = ("html", "md", "json"),
) -> dict[str, Path]:
    """Write the run's reports into ``report_dir`` (default ``reports/``), and JUnit to ``junit_path``.

    Returns the written paths by format name. Reads only the store (a :class:`Store` or a path).
    """
    data = load_report_data(store, run_id)
    out_dir = Path(report_dir) if report_dir is not None else Path("reports")
    written: dict[str, Path] = {}
    wanted = list(dict.fromkeys("md" if f == "markdown" else f for f in formats))
    if wanted:
        out_dir.mkdir(parents=True, exist_ok=True)
    for fmt in wanted:
        path = out_dir / report_filename(data, fmt)
        path.write_text(render(data, fmt), encoding="utf-8")
        written[fmt] = path
    if junit_path is not None:
        junit_path = Path(junit_path)
        junit_path.parent.mkdir(parents=True, exist_ok=True)
        junit_path.write_text(render_junit(data), encoding="utf-8")
        written["junit"] = junit_path
    return written


def append_step_summary(markdown: str) -> Path | None:
    """Append to the GitHub Actions job summary when ``GITHUB_STEP_SUMMARY`` is set; else do nothing."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return path

"""Reports for people and for CI, read from the results store alone.

``write_reports`` is what ``eval run`` and ``eval report`` call; the renderers are public
for library use: ``render_html``, ``render_markdown``, ``render_junit``, ``render_json``.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

from agentctl.core.errors import InputError
from agentctl.reports.data import DETAILED_FORMATS, ReportData, load_report_data
from agentctl.reports.html import render_html
from agentctl.reports.json_report import REPORT_SCHEMA, render_json
from agentctl.reports.junit import render_junit
from agentctl.reports.markdown import render_markdown

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from agentctl.reports.apart import ReportHelper
    from agentctl.store.store import StoreHandle

__all__ = [
    "DETAILED_FORMATS", "FORMATS", "REPORT_SCHEMA", "ReportData", "append_step_summary", "check_output_paths", "format_name",
    "hand_over", "load_report_data", "render",
    "render_html", "render_json", "render_junit", "render_markdown", "report_filename", "write_reports", "write_text",
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


def check_output_paths(report_dir: Path | None, junit_path: Path | None = None, *, file_option: str = "--junit") -> None:
    """Raise :class:`InputError` (exit 2) unless every report path can be written: checked before
    the first model call, so a typo in ``--junit`` never costs a whole evaluation."""
    targets: list[tuple[str, Path, bool]] = []
    if report_dir is not None:
        targets.append(("--report-dir", Path(report_dir), True))
    if junit_path is not None:
        targets.append((file_option, Path(junit_path), False))
    for option, path, is_dir in targets:
        if is_dir and path.exists() and not path.is_dir():
            raise InputError(f"{option} {path}: exists and is not a directory", key=option)
        if not is_dir and path.is_dir():
            raise InputError(f"{option} {path}: is a directory; give a file name such as {path}/junit.xml",
                             key=option)
        folder = path if is_dir else path.parent
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise InputError(f"{option} {path}: {existing} is not a directory", key=option)
        if not os.access(existing, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise InputError(f"{option} {path}: not writable", key=option)


def write_text(path: Path, text: str) -> None:
    """Write one report file whole or not at all (exit 3 with a clear message when the disk says no)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from agentctl.core.errors import RunError

        raise RunError(f"could not create {path.parent}: {exc.strerror or exc}") from None
    _write(path, text)


def _write(path: Path, text: str) -> None:
    """Write a report whole or not at all: a failed write leaves no truncated file behind."""
    from agentctl.core.errors import RunError

    tmp = path.with_name(f".{path.name}.tmp") if path.parent.is_dir() and not _is_device(path) else None
    try:
        if tmp is None:
            path.write_text(text, encoding="utf-8")
            return
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise RunError(f"could not write {path}: {exc.strerror or exc}") from None


def _is_device(path: Path) -> bool:
    return path.exists() and not path.is_file()


def write_reports(
    store: StoreHandle,
    run_id: str,
    *,
    report_dir: Path | None,
    junit_path: Path | None = None,
    formats: Iterable[str] = ("html", "md", "json"),
    helper: ReportHelper | None = None,
) -> dict[str, Path]:
    """Write the run's reports into ``report_dir`` (default ``reports/``), and JUnit to ``junit_path``.

    Returns the written paths by format name. Reads only the store (a :class:`Store` or a path).
    With a ``helper`` (:mod:`agentctl.reports.apart`) and a store file, the JSON and JUnit
    files are written by that process meanwhile; if it cannot, they are written here.
    """
    out_dir, wanted, jobs = _jobs(report_dir, junit_path, formats)
    handed = [] if helper is None else hand_over(helper, store, run_id, report_dir=report_dir, junit_path=junit_path,
                                                 formats=formats)
    started = time.perf_counter()
    mine = [fmt for fmt in jobs if fmt not in handed]
    data = load_report_data(store, run_id, details=bool(DETAILED_FORMATS & {*mine, *handed}))
    if wanted:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            from agentctl.core.errors import RunError

            raise RunError(f"could not create {out_dir}: {exc.strerror or exc}") from None
    if junit_path is not None:
        junit_path = Path(junit_path)
        junit_path.parent.mkdir(parents=True, exist_ok=True)
    paths = {fmt: out_dir / report_filename(data, fmt) for fmt in wanted}
    if junit_path is not None:
        paths["junit"] = junit_path
    for fmt in mine:
        _write(paths[fmt], render(data, fmt))
    # The helper has about as much to read and render as this process had: given ample time
    # to finish, or else its share is written here.
    if handed and helper is not None and not helper.finish(_HELPER_GRACE_S + 2 * (time.perf_counter() - started)):
        for fmt in handed:
            _write(paths[fmt], render(data, fmt))
    return paths


def hand_over(
    helper: ReportHelper,
    store: StoreHandle,
    run_id: str,
    *,
    report_dir: Path | None,
    junit_path: Path | None = None,
    formats: Iterable[str] = ("html", "md", "json"),
) -> list[str]:
    """Order from ``helper`` its share of what :func:`write_reports` with these arguments
    writes (the run must be stored, the store closed for writing); returns the formats it
    took. Ordering early, before :func:`write_reports` gets the helper, gives it a head start."""
    db = _store_file(store)
    out_dir, _, jobs = _jobs(report_dir, junit_path, formats)
    from agentctl.reports.apart import APART

    theirs = [fmt for fmt in jobs if fmt in APART]
    if db is None or not theirs or len(theirs) == len(jobs):
        return []
    return helper.order(db, run_id, theirs, out_dir, junit_path)


def _jobs(report_dir: Path | None, junit_path: Path | None, formats: Iterable[str]) -> tuple[Path, list[str], list[str]]:
    """(the report folder, the formats wanted there, every file's format: those and junit)."""
    out_dir = Path(report_dir) if report_dir is not None else Path("reports")
    wanted = list(dict.fromkeys("md" if f == "markdown" else f for f in formats))
    return out_dir, wanted, [*wanted, *(["junit"] if junit_path is not None else [])]


_HELPER_GRACE_S = 10.0
"""Seconds the report helper may take beyond twice this process's own time for the reports."""


def _store_file(store: StoreHandle) -> Path | None:
    """The store's file, when another process can open it."""
    from agentctl.store.store import Store

    path = store.path if isinstance(store, Store) else Path(store)
    return path if str(path) != ":memory:" and path.is_file() else None


def append_step_summary(markdown: str) -> Path | None:
    """Append to the GitHub Actions job summary when ``GITHUB_STEP_SUMMARY`` is set; else do nothing."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return path

"""``agentctl eval ...``: run evaluations, read stored runs, compare, gate, report."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentctl.commands._common import DbOption, db_path, reports_errors

if TYPE_CHECKING:
    from agentctl.plan import Plan
    from agentctl.reports.apart import ReportHelper

eval_app = typer.Typer(help="Run evaluations and read their results.", no_args_is_help=True, rich_markup_mode=None)


@eval_app.command("run")
@reports_errors
def run(
    suite: Annotated[Path, typer.Argument(help="Suite file (YAML).", show_default=False)],
    candidate: Annotated[list[str] | None, typer.Option(
        "--candidate", "-c", metavar="NAME|MODEL",
        help="Candidate name from the suite, or a litellm model string; repeatable.")] = None,
    db: DbOption = None,
    report_dir: Annotated[Path, typer.Option(help="Where HTML/Markdown/JSON reports are written.")] = Path("reports"),
    junit: Annotated[Path | None, typer.Option(help="Also write a JUnit XML file here.")] = None,
    concurrency: Annotated[int, typer.Option(help="Runs in flight at once.")] = 8,
    repeats: Annotated[int | None, typer.Option(help="Runs per case and candidate.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N cases.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", metavar="TAG", help="Only cases with this tag; repeatable.")] = None,
    shard: Annotated[str | None, typer.Option(metavar="I/N", help="Run shard I of N, split by case id.")] = None,
    resume: Annotated[str | None, typer.Option(metavar="RUN_ID", help="Finish an interrupted run: only missing runs are run.")] = None,
    max_cost: Annotated[float | None, typer.Option(metavar="USD", help="Stop issuing model calls once this many USD are spent.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use cached model responses.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and a cost estimate; call nothing.")] = False,
    timeout: Annotated[float | None, typer.Option(help="Per-call timeout in seconds [default: the suite's execution.timeout_s].")] = None,
    max_attempts: Annotated[int | None, typer.Option(help="Attempts per model call (retries + 1) [default: execution.retry.max_attempts].")] = None,
    workers: Annotated[str, typer.Option(
        metavar="N|auto", help="Worker processes carrying out the runs (1: this process only). auto: one per "
                               "core for a plan that calls a model.")] = "auto",
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write report files.")] = False,
) -> None:
    """Run a suite: replay or drive every candidate, score, store, gate.

    Exit codes: 0 every gate passed, 1 a gate failed, 2 bad input, 3 the run could not be
    carried out, 130 interrupted (resume with --resume RUN_ID).

    Example: agentctl eval run evalsuites/support-triage.yaml --junit reports/junit.xml
    """
    from agentctl import _console
    from agentctl.runner import RunOptions, run_suite
    from agentctl.workers import parse_workers as _workers

    options = RunOptions(
        candidates=candidate or [], concurrency=concurrency, repeats=repeats, limit=limit, tags=tag or [],
        shard=shard, resume=resume, max_cost=max_cost, no_cache=no_cache, dry_run=dry_run,
        timeout_s=timeout, max_attempts=max_attempts, workers=_workers(workers), pause_gc=True,
    )
    if not no_report and not dry_run:
        from agentctl.reports import check_output_paths

        check_output_paths(report_dir, junit)  # exit 2 before the first call, not after the last
    progress = _console.RichProgress()
    helpers: list[ReportHelper] = []

    def on_plan(plan: Plan, run_id: str) -> None:
        _console.print_plan(plan, run_id)
        if not no_report and not dry_run:
            from agentctl.reports.apart import MIN_RUNS, ReportHelper

            if len(plan.runs) >= MIN_RUNS:
                helpers.append(ReportHelper())  # imports the report code while the runs go
            prepare_reports(plan)

    try:
        outcome = run_suite(suite, db=db_path(db), options=options, progress=progress, on_plan=on_plan)
        run_id, exit_code, reports = outcome.run_id, outcome.exit_code, outcome.status != "dry_run" and not no_report
        if reports and helpers:  # the run is stored: the helper starts reading it now
            from agentctl.reports import hand_over

            hand_over(helpers[0], db_path(db), run_id, report_dir=report_dir, junit_path=junit)
        _console.print_outcome(outcome)
        # The reports read the run from the store: the evaluation's results, plan and dataset are
        # let go first (at 100,000 runs they held a third of the command's peak memory).
        del outcome
        if reports:
            from agentctl.core.collector import collector_paused

            progress.phase("writing reports")
            try:
                # Only agentctl's code runs here, over objects that reference counting frees.
                with collector_paused():
                    _write_reports(db_path(db), run_id, report_dir, junit, helper=helpers[0] if helpers else None)
            except KeyboardInterrupt:
                from agentctl.core.errors import Interrupted

                raise Interrupted(f"interrupted while writing reports; the run is stored: agentctl eval report "
                                  f"{run_id} --db {db_path(db)} --out FILE") from None
            finally:
                progress.phase(None)
    finally:
        for helper in helpers:
            helper.close()
    raise typer.Exit(exit_code)


def prepare_reports(plan: Plan) -> threading.Thread | None:
    """For a plan with a live candidate, import the report code and compile the page's
    template (about 50 ms of this process) on a daemon thread, while this process waits for
    its workers to start, instead of on the run's tail. None for a replay-only plan: this
    process is busy then. An error there is left for the reports themselves to report."""
    if all(c.is_replay for c in plan.candidates):
        return None

    def prepare() -> None:
        try:
            from agentctl.reports.html import page

            page()
        except Exception:  # the same error comes back when the reports are written
            pass

    thread = threading.Thread(target=prepare, name="agentctl-prepare-reports", daemon=True)
    thread.start()
    return thread


def _write_reports(db: Path, run_id: str, report_dir: Path, junit: Path | None,
                   helper: ReportHelper | None = None) -> None:
    from agentctl import _console
    from agentctl.core.errors import RunError
    from agentctl.reports import append_step_summary, write_reports
    from agentctl.store.store import Store

    try:
        with Store(db, read_only=True) as store:
            # This connection only reads one run's rows: one thread does it for less CPU, no slower.
            store.con.execute("SET threads TO 1")
            paths = write_reports(store, run_id, report_dir=report_dir, junit_path=junit, helper=helper)
        if "md" in paths:
            append_step_summary(paths["md"].read_text(encoding="utf-8"))
    except (RunError, OSError) as exc:
        # The evaluation is stored; only its reports are missing. Exit 3, never a traceback.
        detail = exc.message if isinstance(exc, RunError) else f"{exc.strerror or exc}"
        raise RunError(f"{detail}; the results are stored: write the reports again with "
                       f"agentctl eval report {run_id} --db {db} --out FILE") from None
    for kind, path in paths.items():
        _console.err_console.print(f"{kind} report: {_console.literal(path)}")


@eval_app.command("list")
@reports_errors
def list_runs(
    db: DbOption = None,
    limit: Annotated[int, typer.Option(help="Most recent N runs.")] = 50,
) -> None:
    """List stored evaluation runs, newest first.

    Example: agentctl eval list --db agentctl.duckdb
    """
    from agentctl import _console
    from agentctl.store.store import Store

    with Store(db_path(db), read_only=True) as store:
        _console.print_runs(store.list_runs(limit))


@eval_app.command("show")
@reports_errors
def show(
    run_id: Annotated[str, typer.Argument(help="Run id (a unique prefix is enough).", show_default=False)],
    db: DbOption = None,
) -> None:
    """Show a stored run: metrics per candidate, gates, and the incorrect runs.

    Example: agentctl eval show ev-20261121-101500-ab12cd
    """
    from agentctl import _console
    from agentctl.core.errors import InputError
    from agentctl.store.store import Store

    with Store(db_path(db), read_only=True) as store:
        row = store.get_run(run_id)
        if row is None:
            raise InputError(f"no run {run_id!r} in {db_path(db)} (see 'agentctl eval list')")
        rid = row["run_id"]
        _console.print_run(row, store.load_results(rid), store.load_metrics(rid), store.load_gates(rid))


@eval_app.command("gate")
@reports_errors
def gate(
    run_id: Annotated[str, typer.Argument(help="Run id (a unique prefix is enough).", show_default=False)],
    db: DbOption = None,
    store: Annotated[bool, typer.Option("--store", help="Replace the run's stored metrics, gates and comparisons with the new ones.")] = False,
) -> None:
    """Re-evaluate a stored run's gates from its stored results; no model is called.

    Reads the store and changes nothing, unless --store. Exits 0 when every gate passes,
    1 otherwise, like eval run.

    Example: agentctl eval gate ev-20261121-101500-ab12cd
    """
    from agentctl import _console
    from agentctl.runner import gate_stored_run

    outcome = gate_stored_run(db_path(db), run_id, store_results=store)
    _console.print_outcome(outcome)
    raise typer.Exit(outcome.exit_code)


@eval_app.command("report")
@reports_errors
def report(
    run_id: Annotated[str, typer.Argument(help="Run id (a unique prefix is enough).", show_default=False)],
    format: Annotated[str, typer.Option("--format", "-f", help="html, md, junit or json.")] = "html",
    out: Annotated[Path | None, typer.Option(
        help="Output file; '-' for standard output [default: reports/<suite>-<run>.<ext>].")] = None,
    db: DbOption = None,
) -> None:
    """Write a report of a stored run (to a file; --out - prints it).

    Example: agentctl eval report ev-20261121-101500-ab12cd --format md --out summary.md
    """
    import sys

    from agentctl import _console
    from agentctl.core.errors import InputError
    from agentctl.reports import DETAILED_FORMATS, format_name, load_report_data, render
    from agentctl.store.store import Store

    fmt = format_name(format)
    with Store(db_path(db), read_only=True) as store:
        row = store.get_run(run_id)
        if row is None:
            raise InputError(f"no run {run_id!r} in {db_path(db)} (see 'agentctl eval list')")
        data = load_report_data(store, row["run_id"], details=fmt in DETAILED_FORMATS)
        text = render(data, fmt)
    if out is not None and str(out) == "-":
        sys.stdout.write(text)
        return
    if out is None:  # a file, never a page of HTML on the terminal
        from agentctl.reports import report_filename

        out = Path("reports") / report_filename(data, fmt)
    from agentctl.reports import check_output_paths, write_text

    check_output_paths(None, out, file_option="--out")
    write_text(out, text)
    _console.err_console.print(f"{fmt} report: {_console.literal(out)}")


@eval_app.command("compare")
@reports_errors
def compare(
    run: Annotated[str, typer.Argument(help="Run id.", show_default=False)],
    run_b: Annotated[str | None, typer.Argument(help="A second run: compare the same candidate across runs.",
                                                show_default=False)] = None,
    baseline: Annotated[str | None, typer.Option(help="Baseline candidate [default: the suite's].")] = None,
    candidate: Annotated[list[str] | None, typer.Option("--candidate", "-c", metavar="NAME", help="Candidate(s) to compare.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    recompute: Annotated[bool, typer.Option("--recompute", help="Recompute from the results even when the "
                                                               "comparison is stored.")] = False,
    db: DbOption = None,
) -> None:
    """Compare candidates with the baseline (paired tests), or one candidate across two runs.

    Reads the comparisons eval run stored with the suite's baseline; recomputes from the stored
    results for another baseline, two runs, or a store from an older agentctl.

    Example: agentctl eval compare ev-20261121-101500-ab12cd --candidate candidate
    """
    from agentctl import _console
    from agentctl.comparison import compare_stored

    comparisons = compare_stored(db_path(db), run, run_b, baseline=baseline, candidates=candidate or [],
                                 recompute=recompute)
    if json_out:
        _console.write_json([c.to_dict() for c in comparisons])
    else:
        for c in comparisons:
            _console.print_comparison(c)


@eval_app.command("merge")
@reports_errors
def merge(
    out: Annotated[Path, typer.Argument(help="DuckDB store to write the merged run into.", show_default=False)],
    shards: Annotated[list[Path], typer.Argument(help="The shard stores (one per eval run --shard I/N).",
                                                 show_default=False)],
    report_dir: Annotated[Path, typer.Option(help="Where HTML/Markdown/JSON reports are written.")] = Path("reports"),
    junit: Annotated[Path | None, typer.Option(help="Also write a JUnit XML file here.")] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write report files.")] = False,
) -> None:
    """Merge the shards of one evaluation into one run; recompute metrics, comparisons and gates.

    The shards must share suite name, dataset hash, candidates and N, and cover 1..N once each.
    Merging the same shards again changes nothing. Exits like eval gate: 0 every gate passed,
    1 a gate failed, 2 the shards do not make one evaluation (the message names the shard).

    Example: agentctl eval merge reports/merged.duckdb shards/*/agentctl.duckdb --junit reports/junit.xml
    """
    from agentctl import _console
    from agentctl.merge import merge_shards

    outcome = merge_shards(out, shards)
    _console.print_outcome(outcome)
    if not no_report:
        _write_reports(out, outcome.run_id, report_dir, junit)
    raise typer.Exit(outcome.exit_code)


@eval_app.command("export")
@reports_errors
def export(
    run_id: Annotated[str, typer.Argument(help="Run id (a unique prefix is enough).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="Folder for the files (one per table).")],
    format: Annotated[str, typer.Option("--format", "-f", help="parquet.")] = "parquet",
    db: DbOption = None,
) -> None:
    """Write a stored run's rows of every store table as Parquet files (DuckDB COPY).

    Example: agentctl eval export ev-20261121-101500-ab12cd --format parquet --out warehouse/run
    """
    from agentctl import _console
    from agentctl.store.export import export_run

    _console.print_exported(export_run(db_path(db), run_id, out, fmt=format))


@eval_app.command("history")
@reports_errors
def history(
    suite: Annotated[str | None, typer.Option(help="Suite name [default: the suite of the latest run].")] = None,
    candidate: Annotated[str | None, typer.Option("--candidate", "-c", help="Only this candidate.")] = None,
    metric: Annotated[str | None, typer.Option(help="Only this metric [default: success, escaped and critical "
                                                    "error rates, cost per success, p95 latency].")] = None,
    last: Annotated[int | None, typer.Option(metavar="N", help="Only the most recent N runs.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    db: DbOption = None,
) -> None:
    """A suite's stored runs, oldest first, with key metrics per candidate and their significant changes.

    A rate's change from one run to the next is marked (▲/▼) when Fisher's exact test gives p < 0.05.

    Example: agentctl eval history --suite support-triage --last 10
    """
    from agentctl import _console
    from agentctl.metrics.history import load_history
    from agentctl.store.store import Store

    with Store(db_path(db), read_only=True) as store:
        found = load_history(store.con, suite=suite, candidate=candidate, metric=metric, last=last)
    if json_out:
        _console.write_json(found.to_dict())
    else:
        _console.print_history(found)

"""``agentctl dataset ...``: import production traces, validate and describe dataset folders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentctl.commands._common import reports_errors

if TYPE_CHECKING:
    from agentctl.datasets.importers import ImportReport

dataset_app = typer.Typer(help="Import recordings into golden datasets; validate and describe datasets.",
                          no_args_is_help=True, rich_markup_mode=None)


@dataset_app.command("import")
@reports_errors
def import_(
    sources: Annotated[list[Path], typer.Argument(help="Trace files or folders (.json, .jsonl, .ndjson).",
                                                  show_default=False)],
    fmt: Annotated[str, typer.Option("--from", help="Source format: openai, otel or openinference.",
                                     show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="Dataset folder to write (created if missing).",
                                      show_default=False)],
    label: Annotated[str, typer.Option("--label", help="Label of the imported runs (use as replay:LABEL).")]
    = "imported",
    tools: Annotated[Path | None, typer.Option("--tools", help="Tool catalog to use instead of inferring one.",
                                               show_default=False)] = None,
    read_tools: Annotated[list[str] | None, typer.Option(
        "--read-tools", help="Glob of tool names that only read (repeatable); others are drafted as writes.",
        show_default=False)] = None,
    redact_pattern: Annotated[list[str] | None, typer.Option(
        "--redact-pattern", help="Extra value to redact, as NAME=REGEX (repeatable).", show_default=False)] = None,
    no_redact: Annotated[bool, typer.Option("--no-redact", help="Keep personal data and secrets as recorded.")]
    = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 2 when anything was skipped.")] = False,
    group_by: Annotated[str, typer.Option(
        "--group-by", help="One run per: auto (conversation id, else session id, else message chaining), trace, "
        "conversation (gen_ai.conversation.id) or session (OpenInference session.id).")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the import report as JSON.")] = False,
) -> None:
    """Import recorded agent runs (OpenAI chat JSONL, OpenTelemetry GenAI or OpenInference traces).

    Writes runs.jsonl (re-importing the same source adds nothing), drafts cases.jsonl entries marked "review": "pending" for runs whose case is new, and infers tools.yaml when the folder has none. Emails, phone numbers, card numbers, API keys and IBANs are replaced by stable placeholders unless --no-redact is given. Bad input is reported as file:line and skipped; the rest is imported.

    Example: agentctl dataset import --from otel traces/*.json --out datasets/support --label prod-2026-05
    """
    from agentctl import _console
    from agentctl.datasets.importers import import_traces

    if no_redact:
        _console.err_console.print(
            "[bold red]--no-redact: personal data and secrets in the recordings are written to "
            f"{out} as recorded. Do not commit or share this dataset.[/]", soft_wrap=True)
    report = import_traces(fmt, sources, out, label, tools=tools, read_tools=read_tools or [],
                           redact=not no_redact, redact_patterns=redact_pattern or [], group_by=group_by)
    if as_json:
        _console.console.print_json(json.dumps(report.to_dict()))
    else:
        _print_import(report)
    failed = (strict and report.skipped) or (report.runs_written == 0 and report.skipped)
    raise typer.Exit(2 if failed else 0)


def _print_import(report: ImportReport) -> None:
    from agentctl import _console

    con, lit = _console.console, _console.literal
    _console.print_problems(report.problems)
    con.print(f"[bold]{lit(report.out)}[/]: {report.runs_written} run(s) written with label '{lit(report.label)}' "
              f"({report.runs_read} read, {report.already_imported} already imported)", soft_wrap=True)
    if report.runs_completed:
        con.print(f"  {report.runs_completed} run(s) of an earlier import completed by this one (cases still pending "
                  "review drafted again)", soft_wrap=True)
    if report.grouping:
        con.print(f"  {report.segments_read} trace(s) or logged call(s) {report.grouping}", soft_wrap=True)
    if report.cases_drafted:
        con.print(f"  {len(report.cases_drafted)} case draft(s) added to cases.jsonl with \"review\": \"pending\"; "
                  "review each before trusting a gate on it", soft_wrap=True)
    if report.cases_matched:
        con.print(f"  {report.cases_matched} run(s) joined existing cases", soft_wrap=True)
    tools_line = {"inferred": "tools.yaml inferred from the calls seen: review effects and schemas",
                  "copied": "tools.yaml copied from --tools", "kept": "tools.yaml kept as it was",
                  "none": "nothing imported: nothing written"}
    con.print(f"  {tools_line[report.tools_file]}", soft_wrap=True)
    if report.tools_missing:
        con.print(f"  [yellow]tools called but missing from tools.yaml: {lit(', '.join(report.tools_missing))}[/]", soft_wrap=True)
    if report.escalation_tools:
        con.print(f"  hand-off tools seen: {lit(', '.join(report.escalation_tools))} "
                  f"(set agent.escalation_tool: {lit(report.escalation_tools[0])} in the suite)", soft_wrap=True)
    if report.prompt_file:
        con.print(f"  recorded system prompt saved to {lit(report.prompt_file)}", soft_wrap=True)
    if report.runs_written == 0:
        pass  # nothing written, nothing to say about redaction
    elif report.redaction is None:
        con.print("  [bold red]not redacted (--no-redact)[/]", soft_wrap=True)
    elif report.redaction:
        kinds = ", ".join(f"{k.lower()}: {v['replacements']} ({v['distinct_values']} distinct)"
                          for k, v in report.redaction.items())
        con.print(f"  redacted: {kinds}", soft_wrap=True)
    else:
        con.print("  redacted: nothing found to redact", soft_wrap=True)
    if report.skipped:
        what = ", ".join(f"{n} {reason}" for reason, n in sorted(report.skipped.items()))
        con.print(f"  [red]skipped: {what}[/] (see the messages above)", soft_wrap=True)


@dataset_app.command("validate")
@reports_errors
def validate(
    path: Annotated[Path, typer.Argument(help="Dataset folder.", show_default=False)],
) -> None:
    """Check a dataset folder: cases.jsonl, runs.jsonl and tools.yaml, and how they fit together.

    Every problem is printed as `path:line: key.path: what is wrong`; exit 2 when any is an error, 0 when there are none (warnings do not fail).

    Example: agentctl dataset validate datasets/support-triage
    """
    from agentctl import _console
    from agentctl.datasets.validate import validate_dataset

    problems, notes = validate_dataset(path)
    _console.print_problems(problems)
    _console.print_notes(notes)
    errors = [p for p in problems if p.severity == "error"]
    warnings = len(problems) - len(errors)
    if errors:
        _console.err_console.print(f"[red]{len(errors)} error(s)[/], {warnings} warning(s)")
        raise typer.Exit(2)
    from agentctl.datasets.stats import pending_reviews

    pending, total = pending_reviews(path)
    note = f"; {pending} of {total} case(s) still \"review\": \"pending\" (drafts: review them before trusting a " \
        "gate on them)" if pending else ""
    _console.console.print(f"[green]ok[/] {_console.literal(path)}" + (f", {warnings} warning(s)" if warnings else "")
                           + note, soft_wrap=True)
    raise typer.Exit(0)


@dataset_app.command("stats")
@reports_errors
def stats(
    path: Annotated[Path, typer.Argument(help="Dataset folder.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the statistics as JSON.")] = False,
) -> None:
    """Describe a dataset: cases, runs per label, tools, writes per run, review state, tags, cost.

    Also lists recordings whose tool arguments do not fit tools.yaml. The replay cost is what replay: candidates report for the recordings (recorded cost, or tokens at list price).

    Example: agentctl dataset stats datasets/support-triage --json
    """
    from agentctl import _console
    from agentctl.datasets.stats import dataset_stats

    result = dataset_stats(path)
    if as_json:
        _console.console.print_json(json.dumps(result.to_dict()))
    else:
        _console.print_dataset_stats(result)
    raise typer.Exit(0)

"""The DuckDB schema of the results store: a public interface users query with SQL.

Column names of DESIGN.md's tables are fixed; more columns may be added, never renamed.
Bump SCHEMA_VERSION and add a migration in ``store.migrations`` when this changes.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

TABLES: dict[str, str] = {
    "schema_info": """
        CREATE TABLE IF NOT EXISTS schema_info (
            version INTEGER NOT NULL,
            applied_at TIMESTAMP NOT NULL
        )""",
    "eval_runs": """
        CREATE TABLE IF NOT EXISTS eval_runs (
            run_id VARCHAR PRIMARY KEY,
            suite VARCHAR NOT NULL,          -- the suite's name
            suite_path VARCHAR,
            suite_config JSON,               -- the suite as loaded (for eval gate / reports)
            dataset_path VARCHAR,
            dataset_hash VARCHAR,            -- sha256 of cases.jsonl, runs.jsonl, tools.yaml
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            status VARCHAR NOT NULL,         -- running | finished | interrupted | aborted
            exit_code INTEGER,
            agentctl_version VARCHAR,
            git_commit VARCHAR,
            options JSON,                    -- command-line options (no secrets)
            candidates JSON,                 -- [{name, model, params (secrets removed), system_prompt_sha}]
            planned_runs INTEGER,
            message VARCHAR                  -- why the run aborted, when it did
        )""",
    "results": """
        CREATE TABLE IF NOT EXISTS results (
            run_id VARCHAR NOT NULL,
            case_id VARCHAR NOT NULL,
            candidate VARCHAR NOT NULL,
            repeat INTEGER NOT NULL,
            status VARCHAR NOT NULL,
            failure_reason VARCHAR,
            correct BOOLEAN NOT NULL,
            escaped_error BOOLEAN NOT NULL,
            critical_error BOOLEAN NOT NULL,
            infra_error BOOLEAN NOT NULL,
            policy_violations INTEGER NOT NULL,
            failed_writes INTEGER NOT NULL,
            cost_usd DOUBLE NOT NULL,
            inference_cost_usd DOUBLE,
            tool_cost_usd DOUBLE,
            review_cost_usd DOUBLE,
            judge_cost_usd DOUBLE,
            user_cost_usd DOUBLE,            -- simulated-user calls, apart from cost_usd
            latency_s DOUBLE NOT NULL,
            steps INTEGER NOT NULL,
            tool_calls INTEGER NOT NULL,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            model VARCHAR,
            tags VARCHAR[],
            reasons VARCHAR[],
            finished_at TIMESTAMP,
            PRIMARY KEY (run_id, case_id, candidate, repeat)
        )""",
    "steps": """
        CREATE TABLE IF NOT EXISTS steps (
            run_id VARCHAR NOT NULL,
            case_id VARCHAR NOT NULL,
            candidate VARCHAR NOT NULL,
            repeat INTEGER NOT NULL,
            step INTEGER NOT NULL,
            kind VARCHAR NOT NULL,           -- model | tool | user (a user message of a conversation)
            tool VARCHAR,
            args JSON,
            output VARCHAR,
            content VARCHAR,                 -- model text
            tool_calls JSON,                 -- model steps: [{id, name, arguments}]
            effect VARCHAR,                  -- read | write | escalation | unknown
            error BOOLEAN,
            policy VARCHAR,
            invalid VARCHAR,
            divergence BOOLEAN,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            cost_usd DOUBLE,
            latency_s DOUBLE,
            cached BOOLEAN,
            attempts INTEGER,                -- model steps: requests the call took (retries + 1; 0 when cached)
            PRIMARY KEY (run_id, case_id, candidate, repeat, step)
        )""",
    "scores": """
        CREATE TABLE IF NOT EXISTS scores (
            run_id VARCHAR NOT NULL,
            case_id VARCHAR NOT NULL,
            candidate VARCHAR NOT NULL,
            repeat INTEGER NOT NULL,
            scorer VARCHAR NOT NULL,
            score DOUBLE,
            passed BOOLEAN,
            reason VARCHAR,
            cost_usd DOUBLE,
            error VARCHAR,
            PRIMARY KEY (run_id, case_id, candidate, repeat, scorer)
        )""",
    "cases": """
        CREATE TABLE IF NOT EXISTS cases (
            run_id VARCHAR NOT NULL,
            case_id VARCHAR NOT NULL,
            tags VARCHAR[],
            input JSON,                      -- the case's input as evaluated
            expected JSON,                   -- expected status, actions, forbidden calls, answer checks
            review VARCHAR,
            PRIMARY KEY (run_id, case_id)
        )""",
    "metrics": """
        CREATE TABLE IF NOT EXISTS metrics (
            run_id VARCHAR NOT NULL,
            candidate VARCHAR NOT NULL,
            tag VARCHAR,                     -- NULL: overall
            metric VARCHAR NOT NULL,
            value DOUBLE,
            ci_low DOUBLE,
            ci_high DOUBLE,
            n INTEGER
        )""",
    "gates": """
        CREATE TABLE IF NOT EXISTS gates (
            run_id VARCHAR NOT NULL,
            candidate VARCHAR NOT NULL,
            gate VARCHAR NOT NULL,
            passed BOOLEAN NOT NULL,
            value DOUBLE,
            threshold DOUBLE,
            detail VARCHAR,
            decided_by VARCHAR,
            insufficient BOOLEAN,
            runs_needed INTEGER,
            extra JSON
        )""",
    # Baseline comparisons (agentctl.metrics.comparison_types.comparison_rows): the numbers
    # regression gates and `eval compare` use; `eval compare` rebuilds a comparison from these
    # three tables (comparison_from_rows). One row per comparison: how the runs were paired.
    "comparison_pairings": """
        CREATE TABLE IF NOT EXISTS comparison_pairings (
            run_id VARCHAR NOT NULL,
            baseline VARCHAR NOT NULL,       -- candidate compared against
            candidate VARCHAR NOT NULL,
            baseline_run_id VARCHAR,         -- set when two stored runs are compared
            candidate_run_id VARCHAR,
            pairs INTEGER NOT NULL,          -- runs paired by (case_id, repeat)
            cases INTEGER NOT NULL,          -- cases with a pair
            dropped_cases_baseline INTEGER NOT NULL,  -- cases only the baseline ran
            dropped_cases_candidate INTEGER NOT NULL, -- cases only the candidate ran
            dropped_runs_baseline INTEGER NOT NULL,   -- baseline runs without a partner
            dropped_runs_candidate INTEGER NOT NULL,
            bootstrap_resamples INTEGER,     -- of every bootstrap interval and test (seeded with 0)
            computed_at TIMESTAMP NOT NULL   -- eval compare reads a comparison only if no result is newer
        )""",
    # One row per metric, overall (tag NULL) and per tag.
    "comparisons": """
        CREATE TABLE IF NOT EXISTS comparisons (
            run_id VARCHAR NOT NULL,
            baseline VARCHAR NOT NULL,       -- candidate compared against
            candidate VARCHAR NOT NULL,
            baseline_run_id VARCHAR,         -- set when two stored runs are compared
            candidate_run_id VARCHAR,
            tag VARCHAR,                     -- NULL: overall
            metric VARCHAR NOT NULL,
            baseline_value DOUBLE,
            candidate_value DOUBLE,
            delta DOUBLE,                    -- candidate - baseline
            ci_low DOUBLE,                   -- 95% paired bootstrap interval of delta
            ci_high DOUBLE,
            test VARCHAR,                    -- mcnemar_exact | bootstrap | point
            p_value DOUBLE,
            regressed INTEGER,               -- rates: discordant pairs, candidate worse (b)
            improved INTEGER,                -- rates: discordant pairs, candidate better (c)
            worse BOOLEAN,
            significant BOOLEAN,             -- at 0.05
            n_pairs INTEGER,                 -- pairs the figures are computed on (cases, for pass^k)
            ordinal INTEGER,                 -- the row's place in its comparison (metrics in report order)
            pairs INTEGER,                   -- paired runs of the tag (overall: of the comparison)
            cases INTEGER,                   -- cases of the tag (overall: of the comparison)
            nonfinite JSON                   -- {column: "inf" | "-inf" | "nan"}: figures stored as NULL because not finite
        )""",
    "comparison_cases": """
        CREATE TABLE IF NOT EXISTS comparison_cases (
            run_id VARCHAR NOT NULL,
            baseline VARCHAR NOT NULL,
            candidate VARCHAR NOT NULL,
            baseline_run_id VARCHAR,
            candidate_run_id VARCHAR,
            case_id VARCHAR NOT NULL,
            tags VARCHAR[],
            baseline_runs INTEGER,           -- judged pairs (no infra error on either side)
            baseline_correct INTEGER,
            candidate_runs INTEGER,
            candidate_correct INTEGER,
            regressed INTEGER,               -- pairs: baseline correct, candidate not
            improved INTEGER,
            still_wrong INTEGER,
            both_correct INTEGER,
            baseline_flaky BOOLEAN,          -- correct in some repeats and not in others
            candidate_flaky BOOLEAN,
            candidate_reasons VARCHAR[],     -- why the candidate failed (regressed, still wrong)
            baseline_reasons VARCHAR[],      -- why the baseline failed (improved)
            ordinal INTEGER,                 -- the row's place in its comparison (by case id)
            regressed_repeats INTEGER[],     -- repeats in which the case regressed
            improved_repeats INTEGER[],
            still_wrong_repeats INTEGER[],
            regressed_reasons VARCHAR[],     -- the candidate's reasons in those repeats
            still_wrong_reasons VARCHAR[]
        )""",
    # Model replies by request (agentctl.providers.cache): a re-run with unchanged candidates
    # is answered from here. Delete rows (or the file) to forget them.
    "response_cache": """
        CREATE TABLE IF NOT EXISTS response_cache (
            key VARCHAR PRIMARY KEY,         -- sha256 of (model, messages, tools, params w/o secrets, repeat)
            model VARCHAR NOT NULL,
            repeat INTEGER,
            message JSON NOT NULL,           -- the assistant message
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            cost_usd DOUBLE,                 -- of the original call
            latency_s DOUBLE,
            created_at TIMESTAMP
        )""",
}

# Columns added after a table was first published: applied to existing files on open.
ADDED_COLUMNS: list[tuple[str, str, str]] = [
    ("steps", "attempts", "INTEGER"),
    ("results", "user_cost_usd", "DOUBLE"),
    # stateful environments (who answered each call; what a run changed)
    ("steps", "answered_by", "VARCHAR"),     # environment | fixture | recording | none
    ("steps", "traceback", "VARCHAR"),       # the environment raised: its traceback
    ("steps", "env_output", "VARCHAR"),      # replays: the environment's answer when it differs from the recording
    ("results", "unverifiable", "BOOLEAN"),  # a tool call nothing could answer (divergence)
    ("results", "state_diff", "JSON"),       # [{path, old, new}] from the initial to the final state
    ("results", "state_hash", "VARCHAR"),    # identifies the final state of the case's world
    ("steps", "policy_notes", "VARCHAR[]"),           # Cedar evaluation errors of an allowed call
    ("eval_runs", "shard", "VARCHAR"),                # I/N of a sharded run (eval merge checks them)
    # a stored comparison holds all of it (eval compare reads it instead of recomputing)
    ("comparisons", "ordinal", "INTEGER"),
    ("comparisons", "pairs", "INTEGER"),
    ("comparisons", "cases", "INTEGER"),
    ("comparisons", "nonfinite", "JSON"),
    ("comparison_cases", "ordinal", "INTEGER"),
    ("comparison_cases", "regressed_repeats", "INTEGER[]"),
    ("comparison_cases", "improved_repeats", "INTEGER[]"),
    ("comparison_cases", "still_wrong_repeats", "INTEGER[]"),
    ("comparison_cases", "regressed_reasons", "VARCHAR[]"),
    ("comparison_cases", "still_wrong_reasons", "VARCHAR[]"),
]

"""World state of environments: merge patches, copy-on-access views, differences."""

from __future__ import annotations

import json

from agentctl.environments.state import (
    MISSING,
    LazyRecords,
    get_path,
    json_equal,
    merge_patch,
    path_problem,
    state_diff,
    to_json,
    view_of,
)


def test_merge_patch_follows_rfc_7396_and_never_changes_its_target() -> None:
    # the example of RFC 7396 section 3
    target = {"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"},
              "tags": ["example", "sample"], "content": "This will be unchanged"}
    patch = {"title": "Hello!", "phoneNumber": "+01-123-456-7890", "author": {"familyName": None}, "tags": ["example"]}
    before = json.dumps(target)
    assert merge_patch(target, patch) == {
        "title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"],
        "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890"}
    assert json.dumps(target) == before
    assert merge_patch({"a": [1, 2]}, {"a": {"b": "c"}}) == {"a": {"b": "c"}}
    assert merge_patch({"a": "b"}, ["c"]) == ["c"]


def test_a_view_copies_only_what_it_touches_and_never_the_shared_original() -> None:
    shared = {"users": {f"u{i}": {"plan": "free", "tags": ["x"]} for i in range(100)}, "log": []}
    one, two = view_of(shared), view_of(shared)
    assert isinstance(one["users"], LazyRecords)
    one["users"]["u1"]["plan"] = "pro"
    one["users"]["u1"]["tags"].append("y")
    one["log"].append("u1")
    del one["users"]["u2"]
    one["users"]["u999"] = {"plan": "new"}
    assert shared["users"]["u1"] == {"plan": "free", "tags": ["x"]} and "u2" in shared["users"] and shared["log"] == []
    assert two["users"]["u1"]["plan"] == "free" and "u2" in two["users"] and "u999" not in two["users"]
    assert len(one["users"]) == 100 and sorted(one["users"])[-1] == "u999"
    assert state_diff(shared, one) == [
        {"path": "users.u1.plan", "old": "free", "new": "pro"},
        {"path": "users.u1.tags.1", "new": "y"},
        {"path": "users.u2", "old": {"plan": "free", "tags": ["x"]}},
        {"path": "users.u999", "new": {"plan": "new"}},
        {"path": "log.0", "new": "u1"},
    ]
    assert to_json(one)["users"]["u1"] == {"plan": "pro", "tags": ["x", "y"]}


def test_states_compare_as_json_values() -> None:
    assert json_equal({"a": 250, "b": [1, 2]}, {"b": [1, 2], "a": 250.0})
    assert not json_equal({"a": True}, {"a": 1})
    assert not json_equal({"a": 0}, {"a": False})
    assert not json_equal({"a": [1, 2]}, {"a": [2, 1]})
    assert state_diff({"a": {"b": 1}}, {"a": {"b": True}}) == [{"path": "a.b", "old": 1, "new": True}]


def test_paths_are_dotted_with_list_items_by_index() -> None:
    state = view_of({"r": {"Z1": {"seats": [{"cabin": "economy"}]}}, "n": 3})
    assert get_path(state, "r.Z1.seats.0.cabin") == "economy"
    assert get_path(state, "r.Z1.seats.1") is MISSING and get_path(state, "n.x") is MISSING
    assert path_problem(state, "r.Z1.seats.5.cabin") is None  # an item a write may append
    assert path_problem(state, "r.Z1.seets") == "no key 'seets' in r.Z1 (keys: seats)"
    assert path_problem(state, "r.Z1.seats.first") == "'first' is not a list index (r.Z1.seats is a list)"


def test_a_store_from_before_environments_gains_their_columns_and_still_reports(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import duckdb

    from agentctl.reports import load_report_data, render_json
    from agentctl.store.schema import ADDED_COLUMNS
    from agentctl.store.store import Store

    db = tmp_path / "old.duckdb"
    with Store(db) as store:  # today's schema, then the environment columns taken away again
        store.begin_run({"run_id": "r1", "suite": "s"})
        for table, column, _ in ADDED_COLUMNS:
            if column in ("answered_by", "traceback", "env_output", "unverifiable", "state_diff", "state_hash"):
                store.con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        store.con.execute("INSERT INTO results (run_id, case_id, candidate, repeat, status, correct, escaped_error, "
                          "critical_error, infra_error, policy_violations, failed_writes, cost_usd, latency_s, steps, "
                          "tool_calls) VALUES ('r1', 'c1', 'p', 1, 'completed', true, false, false, false, 0, 0, 0, 1, "
                          "1, 0)")
    with duckdb.connect(str(db), read_only=True) as con:  # read as it is: an old file reports
        (row,) = json.loads(render_json(load_report_data(con, "r1")))["results"]
    assert (row["unverifiable"], row["state_diff"], row["state_hash"]) == (False, None, None)
    with Store(db) as store:  # opened for writing: the columns are added, old rows keep NULLs
        (result,) = store.load_results("r1")
        cols = {r[0] for r in store.con.execute("DESCRIBE results").fetchall()}
    assert {"unverifiable", "state_diff", "state_hash"} <= cols
    assert (result.unverifiable, result.state_diff, result.state_hash) == (False, None, None)

"""The HTML report in headless Chromium: it renders, draws charts, logs no errors, runs no payload.

Needs the Debian packages ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them).
Set AGENTCTL_SAVE_SCREENSHOT=1 to also keep the screenshot at reports/screenshots/report.png.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentctl.reports import load_report_data, render_html
from support.reports import RUN_ID, XSS_CASE, XSS_MODEL, XSS_TOOL, build_known_run

# Debian's packages by default; another browser build (GitHub's runners ship Chrome) by env.
CHROMIUM = Path(os.environ.get("AGENTCTL_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("AGENTCTL_CHROMEDRIVER", "/usr/bin/chromedriver"))
REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="headless Chromium not installed (apt-get install chromium chromium-driver); required when CI is set",
)


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1366,2400", f"--user-data-dir={tmp_path / 'chrome-profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield drv
    finally:
        drv.quit()


def test_report_renders_in_chromium_without_errors_or_injected_code(driver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 10)

    con = build_known_run(tmp_path)
    page = tmp_path / "report.html"
    page.write_text(render_html(load_report_data(con, RUN_ID)), encoding="utf-8")
    driver.get(page.as_uri())
    assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1", "page script did not finish"

    verdict = driver.find_element(By.ID, "verdict")
    assert verdict.get_attribute("data-verdict") == "fail" and "FAIL" in verdict.text
    assert "success_rate >= 0.95" in driver.find_element(By.ID, "failed-gates").text
    charts = driver.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(charts) == 6 and all(c.size["width"] > 100 and c.size["height"] > 40 for c in charts)
    assert driver.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar")
    shot = tmp_path / "report.png"
    driver.get_screenshot_as_file(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("AGENTCTL_SAVE_SCREENSHOT"):
        keep = REPO / "reports" / "screenshots" / "report.png"
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, keep)

    # Filters and search work without a server.
    rows = driver.find_elements(By.CSS_SELECTOR, "#case-rows tr.row")
    assert len(rows) == 10
    driver.find_element(By.ID, "f-search").send_keys("T-3")
    rows = driver.find_elements(By.CSS_SELECTOR, "#case-rows tr.row")
    assert [r.find_element(By.TAG_NAME, "td").text for r in rows] == [XSS_CASE, XSS_CASE]

    # Expanding the case whose model output and tool output carry payloads shows them as text.
    rows[0].click()
    detail = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#case-rows tr.detail[data-loaded]"))
    assert XSS_MODEL in detail.text and XSS_TOOL in detail.text

    # The changed-cases link opens the regressed case's detail, with the write-action diff.
    driver.find_element(By.ID, "f-search").clear()
    driver.find_element(By.CSS_SELECTOR, "#changed a[data-case]").click()
    diff = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#case-rows tr.detail[data-loaded] .diff"))
    assert "expected 7500, got 750" in diff.text

    assert driver.execute_script("return window.__xss === undefined")
    assert driver.title.startswith("agentctl") and "pwned" not in driver.title
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []



def test_an_unescaped_payload_would_have_been_caught(driver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Guards the guard: the same checks see a payload that does run, so their silence above means something."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body><img src=x onerror=\"window.__xss=1\"><script>window.__xss=1;"
                    "console.error('boom')</script></body></html>", encoding="utf-8")
    driver.get(page.as_uri())
    assert driver.execute_script("return window.__xss") == 1
    assert any(e["level"] == "SEVERE" for e in driver.get_log("browser"))


def test_a_runs_state_diff_shows_beside_its_trajectory(driver, tmp_path: Path, fake_openai) -> None:  # type: ignore[no-untyped-def]
    import duckdb
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from agentctl.runner import RunOptions, run_suite
    from env_support import live, write_env_suite
    from support.fake_openai import text, tool_calls, turns

    fake_openai.script(turns(tool_calls(("set_plan", {"account_id": "acc_1", "plan": "pro"})), text("Done.")))
    case = {"id": "plan", "input": "Put Ada on pro.", "expected": {"state": {"accounts.acc_1.plan": "pro"}}}
    suite = write_env_suite(tmp_path, [case], [live("live", fake_openai.base_url)])
    outcome = run_suite(suite, db=tmp_path / "s.duckdb", options=RunOptions(no_cache=True))
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        html = render_html(load_report_data(con, outcome.run_id))
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    driver.get(page.as_uri())
    driver.find_element(By.CSS_SELECTOR, "#case-rows tr.row").click()
    body = WebDriverWait(driver, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, "tr.detail[data-loaded] .run-body"))
    timeline = body.find_element(By.CSS_SELECTOR, ".timeline")
    state = body.find_element(By.CSS_SELECTOR, ".state-diff")
    assert "answered by environment" in timeline.text
    assert '~ accounts.acc_1.plan: "free" → "pro"' in state.text
    top, bottom = timeline.location["y"], timeline.location["y"] + timeline.size["height"]
    assert state.location["x"] > timeline.location["x"] and top - 20 <= state.location["y"] < bottom  # beside it
    assert [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")] == []

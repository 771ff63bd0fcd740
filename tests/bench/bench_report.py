"""Time and size of the reports for a synthetic evaluation of 10,000 runs.

    .venv/bin/python tests/bench/bench_report.py [RUNS] [--browser]

Builds a store (5,000 cases x 2 candidates, 5 steps per run, 10 tags) in a temp dir, then
times loading it and rendering each format, and prints the sizes. With ``--browser`` it also
opens the HTML report in headless Chromium and times the page script, a filter and the first
case expanded (which inflates every case's details).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentctl.reports import load_report_data, render  # noqa: E402
from support.reports import build_synthetic_run  # noqa: E402


def main(runs: int = 10_000, browser: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        con = build_synthetic_run(Path(tmp) / "bench.duckdb", runs)
        print(f"store with {runs} runs built in {time.perf_counter() - t0:.1f}s")
        t0 = time.perf_counter()
        data = load_report_data(con, "r-bench")
        load_s = time.perf_counter() - t0
        print(f"load_report_data: {load_s:.2f}s ({data.run_count()} runs, {len(data.cases)} case x candidate rows)")
        for fmt in ("html", "md", "junit", "json"):
            t0 = time.perf_counter()
            text = render(data, fmt)
            took = time.perf_counter() - t0
            size = len(text.encode("utf-8"))
            print(f"{fmt:>5}: render {took:.2f}s (with load {took + load_s:.2f}s), {size / 1e6:.2f} MB")
            if fmt == "html" and browser:
                page = Path(tmp) / "report.html"
                page.write_text(text, encoding="utf-8")
                _browse(page, Path(tmp))


def _browse(page: Path, tmp: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--no-first-run", f"--user-data-dir={tmp / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        t0 = time.perf_counter()
        driver.get(page.as_uri())
        WebDriverWait(driver, 60).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
        print(f"   browser: page ready in {time.perf_counter() - t0:.2f}s")
        t0 = time.perf_counter()
        driver.find_element(By.ID, "f-search").send_keys("C-0420")
        print(f"   browser: search filtered in {time.perf_counter() - t0:.2f}s")
        t0 = time.perf_counter()
        driver.find_element(By.CSS_SELECTOR, "#case-rows tr.row").click()
        WebDriverWait(driver, 60).until(lambda d: d.find_element(By.CSS_SELECTOR, "tr.detail[data-loaded]"))
        print(f"   browser: first case detail shown in {time.perf_counter() - t0:.2f}s")
    finally:
        driver.quit()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--browser"]
    main(int(args[0]) if args else 10_000, browser="--browser" in sys.argv)

"""impact.html: one self-contained page (no external address, no script), a table row and an
SVG chart per lender, an overall chart, both hashes and the rule change in words."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from bs4 import BeautifulSoup

import matcher
from broker.impact_report import render_html
from broker.rescoring import IMPACT_FILE, REPORT_FILE, rescore_file
from lender_rules import SHIPPED_LENDERS_DIR

ON = dt.date(2026, 11, 25)
SHIPPED = matcher.load_ruleset(SHIPPED_LENDERS_DIR)
URL = re.compile(r"(?:https?|ftp|file|data):|//[a-z0-9]", re.IGNORECASE)


def test_the_page_has_a_row_and_a_chart_per_lender_and_no_external_address(
    tmp_path: Path,
) -> None:
    documents = [dict(d) for d in SHIPPED.documents.values() if d["lender_id"] != "vidde_finans"]
    nordlys = next(d for d in documents if d["lender_id"] == "nordlys_bank")
    nordlys["requirements"] = [
        r | {"rule": {">=": [{"var": "age"}, 30]}} if r["id"] == "min_age" else r
        for r in nordlys["requirements"]
    ]
    new = matcher.ruleset_from_documents(documents)
    apps = tmp_path / "apps.parquet"
    matcher.generate(2_000, 4, ON).write_parquet(apps)
    rescore_file(apps, new, SHIPPED, on=ON, out=tmp_path)
    text = (tmp_path / REPORT_FILE).read_text(encoding="utf-8")
    report = json.loads((tmp_path / IMPACT_FILE).read_text(encoding="utf-8"))
    page = BeautifulSoup(text, "html.parser")

    rows = page.select("table#lenders tbody tr")
    assert [row["data-lender"] for row in rows] == [item["lender_id"] for item in report["lenders"]]
    for row, item in zip(rows, report["lenders"], strict=True):
        cells = [cell.get_text(strip=True) for cell in row.find_all("td")]
        assert cells[:5] == [
            item["lender_id"],
            str(item["eligible_before"]),
            str(item["eligible_after"]),
            str(item["newly_eligible"]),
            str(item["newly_rejected"]),
        ]
        reasons = ", ".join(
            f"{r['requirement_id']} ({r['applications']})" for r in item["newly_rejected_by"]
        )
        assert cells[5] == reasons
        chart = page.select_one(f"section#lender-{item['lender_id']} svg")
        assert chart is not None
        values = [t.get_text() for t in chart.find_all("text")][1::2]
        assert values == [
            str(item[k])
            for k in ("eligible_before", "eligible_after", "newly_eligible", "newly_rejected")
        ]
    nordlys_row = next(item for item in report["lenders"] if item["lender_id"] == "nordlys_bank")
    assert nordlys_row["newly_rejected_by"][0]["requirement_id"] == "min_age"
    assert len(page.find_all("svg")) == len(report["lenders"]) + 1  # one each and the overall
    diff = [li.get_text() for li in page.select("ul#rules-diff li")]
    assert diff == report["rules_diff"]
    assert "lender vidde_finans removed" in diff
    assert "nordlys_bank.min_age changed: age >= 25 -> age >= 30" in diff
    body = page.get_text(" ")
    assert SHIPPED.hash in body and new.hash in body

    assert page.find_all(["script", "link", "img", "iframe", "object", "embed"]) == []
    for tag in page.find_all(True):
        for name, value in tag.attrs.items():
            values = value if isinstance(value, list) else [value]
            assert not any(URL.search(v) for v in values), (tag.name, name, value)
    for style in page.find_all("style"):
        assert "url(" not in style.get_text() and "@import" not in style.get_text()
    assert not URL.search(text)


def test_lender_ids_and_rule_words_are_escaped() -> None:
    report = {
        "baseline_ruleset": "a" * 64,
        "new_ruleset": "b" * 64,
        "decision_date": "2026-11-25",
        "applications": 1,
        "rejected_rows": 0,
        "changes": 0,
        "rules_diff": ["x.min_age changed: age < 3 -> <script>"],
        "lenders": [],
    }
    page = BeautifulSoup(render_html(report), "html.parser")
    assert page.find("script") is None
    assert [li.get_text() for li in page.select("ul#rules-diff li")] == report["rules_diff"]

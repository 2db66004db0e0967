"""`impact.html`: the figures of `impact.json` as one self-contained page.

It opens offline: styles inline, charts as inline SVG drawn here (horizontal bars, no
JavaScript, no fonts, no external address of any kind). Per lender a table row and a chart of
eligible before and after, newly eligible and newly rejected; an overall chart of eligible
before and after per lender; both ruleset hashes and the rule change in words.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

BAR_HEIGHT = 16
LABEL_WIDTH = 170
BAR_WIDTH = 360

_environment = Environment(
    loader=PackageLoader("broker", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    keep_trailing_newline=True,
)


def render_html(report: dict[str, Any]) -> str:
    """The page for an `impact.json` document (as a dict)."""
    lenders = report["lenders"]
    overall = _bars(
        [
            (f"{lender['lender_id']} {side}", lender[f"eligible_{side}"], side)
            for lender in lenders
            for side in ("before", "after")
        ],
        title="Eligible applications per lender, before and after",
    )
    charts = [
        (
            lender,
            _bars(
                [
                    ("eligible before", lender["eligible_before"], "before"),
                    ("eligible after", lender["eligible_after"], "after"),
                    ("newly eligible", lender["newly_eligible"], "gained"),
                    ("newly rejected", lender["newly_rejected"], "lost"),
                ],
                title=f"{lender['lender_id']}: eligible before and after",
            ),
        )
        for lender in lenders
    ]
    template = _environment.get_template("impact.html.j2")
    return template.render(report=report, overall=overall, charts=charts)


def _bars(bars: list[tuple[str, int, str]], *, title: str) -> Markup:
    """Horizontal bars, one per (label, value, css class), scaled to the largest value."""
    largest = max((value for _, value, _ in bars), default=0) or 1
    height = BAR_HEIGHT * len(bars) + 8
    width = LABEL_WIDTH + BAR_WIDTH + 80
    parts = [
        f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value, kind) in enumerate(bars):
        y = 4 + i * BAR_HEIGHT
        length = round(BAR_WIDTH * value / largest)
        parts += [
            f'<text x="0" y="{y + 12}">{escape(label)}</text>',
            f'<rect class="{kind}" x="{LABEL_WIDTH}" y="{y + 2}" width="{length}" '
            f'height="{BAR_HEIGHT - 4}"></rect>',
            f'<text x="{LABEL_WIDTH + length + 4}" y="{y + 12}">{value}</text>',
        ]
    parts.append("</svg>")
    return Markup("\n".join(parts))  # safe: escaped labels and numbers only

"""The HTML page: escaped everywhere, self-contained, and showing what the model says."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import List, Optional, Tuple

from unit.plugins.plugin_utils.report_samples import ALL_ON, make_facts

from ansible_collections.winhardening.smb.plugins.plugin_utils._report_carry import with_carried
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_html import render_html
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_model import build_report

HOSTILE_HOST = "<script>alert('host')</script>"
HOSTILE_GPO = '"><img src=x onerror=alert(1)>'
HOSTILE_PEER = "<iframe src=//evil>"
HOSTILE_FAILURE = "</td><style>body{display:none}</style>"

# Every element the renderer itself writes; anything else came from data.
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "div", "span",
    "b", "br", "table", "thead", "tbody", "tr", "th", "td", "svg", "rect", "text",
}  # fmt: skip


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: List[Tuple[str, List[Tuple[str, Optional[str]]]]] = []
        self.text: List[str] = []

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _page() -> str:
    hosts = [
        (HOSTILE_HOST, None, {"failure": HOSTILE_FAILURE}),
        (
            "fs01",
            make_facts(
                "fs01",
                gpo={"server_require": HOSTILE_GPO},
                wire_required=True,
                smb1=True,
                unsigned_peers={HOSTILE_PEER: 3},
            ),
            {"mode": "audit"},
        ),
        ("fs02", make_facts("fs02", values=ALL_ON, wire_required=True), {"mode": "audit"}),
    ]
    return render_html(build_report(hosts, "2026-11-25T00:00:00Z", title="<b>fleet</b>"))


def _parse(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    collector.close()
    return collector


def test_data_is_escaped_and_adds_no_elements_or_handlers() -> None:
    page = _page()
    parsed = _parse(page)
    tags = {tag for tag, _attrs in parsed.tags}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    assert sum(1 for tag, _attrs in parsed.tags if tag == "style") == 1
    for _tag, attrs in parsed.tags:
        for name, _value in attrs:
            assert not name.startswith("on"), name
    # The hostile strings survive as text or attribute values, so the reader sees them.
    seen = "".join(parsed.text) + "".join(v or "" for _t, attrs in parsed.tags for _n, v in attrs)
    for hostile in (HOSTILE_HOST, HOSTILE_PEER, HOSTILE_FAILURE, HOSTILE_GPO, "<b>fleet</b>"):
        assert hostile in seen, hostile
    assert "&lt;script&gt;" in page
    assert "&quot;&gt;&lt;img" in page


def test_page_loads_nothing_from_elsewhere() -> None:
    page = _page()
    parsed = _parse(page)
    for _tag, attrs in parsed.tags:
        names = {name for name, _value in attrs}
        assert not names & {"src", "href", "srcset", "action"}
    csp = [dict(attrs) for tag, attrs in parsed.tags if tag == "meta"]
    assert any(
        m.get("http-equiv") == "Content-Security-Policy"
        and "default-src 'none'" in (m.get("content") or "")
        for m in csp
    )
    assert "<script" not in page.lower()
    assert page.count("http") == page.count("http://www.w3.org/2000/svg") + page.count("http-equiv")


def test_matrix_colours_and_flags() -> None:
    page = _page()
    # fs01: every setting off where on is wanted -> six red cells.
    assert page.count('class="bad"') >= 6
    assert page.count('class="ok"') >= 6  # fs02's six settings
    assert 'class="badge gpo"' in page
    assert "set by Group Policy: &quot;&gt;&lt;img" in page
    assert 'class="badge wire"' in page  # fs01: configured off, wire says required
    assert "SMB1 on" in page
    assert "3 unsigned-client events" in page


def test_effective_tables() -> None:
    page = _page()
    assert "Not Signed" in page
    assert "Default for domain controller SMB traffic" in page
    # fs01 (client not required) against fs02 (server required): signed; fs02 -> fs01 too,
    # as fs02 requires client signing; so no unsigned pair.
    assert "0 of 2 pairs unsigned" in page


def test_status_chart_is_inline_svg_with_counts() -> None:
    page = _page()
    parsed = _parse(page)
    rects = [dict(a) for t, a in parsed.tags if t == "rect"]
    assert rects, "no bars"
    assert "failed: 1" in page
    assert "non-compliant: 1" in page
    assert "compliant: 1" in page


def test_check_banner_coverage_carried_rows_and_setting_ids() -> None:
    previous = build_report([("old", make_facts("old"), None)], "2026-12-01T00:00:00Z")
    report = with_carried(
        build_report([("new", make_facts("new", values=ALL_ON), None)], "2026-12-02T00:00:00Z"),
        {**previous, "run": {"id": HOSTILE_HOST}},
        "r.json",
    )
    page = render_html(report)
    assert "Check mode" not in page
    assert "Coverage: 2 hosts, 1 seen by this run (1 compliant, 0 non-compliant)" in page
    assert '<tr class="carried">' in page
    assert "not seen by this run; from the report of 2026-12-01T00:00:00Z" in page
    assert HOSTILE_HOST not in page
    assert page.count("SMB1 only</span>") == 2
    assert "CIS 2.3.8.2, CCE-36269-9" in page  # client_enable, an SMB1-only setting
    checked = render_html({**report, "run": {"id": "c", "check_mode": True}})
    assert '<p class="banner">Check mode: this run wrote nothing.' in checked

"""`/docs` works offline: the Swagger UI page names no other host and its assets are served
by the app."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from tests.api.support import Api


class _References(HTMLParser):
    """Every URL the page's tags refer to (src, href)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def test_the_docs_page_references_no_external_host_and_its_assets_are_served(
    sqlite_api: Api,
) -> None:
    page = sqlite_api.client.get("/docs")
    assert page.status_code == 200
    references = _References()
    references.feed(page.text)

    assert references.urls, "the page loads its script and style from somewhere"
    for url in references.urls:
        assert urlsplit(url).netloc == "", url
        asset = sqlite_api.client.get(url)
        assert asset.status_code == 200, url
        assert asset.content
    inline = "\n".join(references.scripts)
    assert re.findall(r"https?://", inline) == []
    assert "'/openapi.json'" in inline
    assert '"validatorUrl": null' in inline  # no badge fetched from the public validator
    assert sqlite_api.client.get("/redoc").status_code == 404  # FastAPI's CDN page is off

"""/docs works on a network without the internet: its page names no other host, and the
assets it loads are served by the service itself."""

from __future__ import annotations

import re


def test_docs_loads_nothing_from_another_host(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assert urls, page.text
    assert not [u for u in urls if re.match(r"(https?:)?//", u)], urls
    assets = [u for u in urls if u.startswith("/docs/assets/")]
    assert {u.rsplit("/", 1)[1] for u in assets} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
    for url in assets:
        assert client.get(url).status_code == 200, url
    assert client.get("/openapi.json").json()["paths"]
    assert client.get("/redoc").status_code == 404  # its page would load a CDN's script

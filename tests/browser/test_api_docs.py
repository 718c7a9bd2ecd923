"""/api/docs works offline: Swagger UI comes from ninja's bundled static files, not a CDN."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser


def test_api_docs_list_the_operations_with_the_network_off(live_server, page):
    local = urlsplit(live_server.url).netloc
    refused: list[str] = []

    def only_this_server(route):
        if urlsplit(route.request.url).netloc == local:
            route.continue_()
        else:  # the network is off: anything else (a CDN) never answers
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    page.context.route("**/*", only_this_server)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/api/docs")
    page.wait_for_selector(".opblock-summary-path")
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    assert {
        "/api/v1/routers/{slug}/route",
        "/api/v1/routers/{slug}/route/batch",
        "/api/v1/decisions",
        "/api/v1/health",
    } <= {path.replace("\u200b", "").strip() for path in paths}
    assert refused == [] and errors == []

"""The rider site offline over http(s): a service worker keeps the pages a rider has visited.

The site is served from ``http://127.0.0.1`` (a service worker needs a secure
context; localhost is one) by a server inside the test; after one visit the
browser context is cut from the network and the visited unit page reloads
from the worker's cache. Nothing leaves the machine.
"""

from __future__ import annotations

import functools
import http.server
import threading

import pytest
from conftest import SAMPLE_ID


@pytest.fixture(scope="module")
def served(tmp_path_factory, sample_bundle, sample_config):
    from ridermap.publish.site import write_site

    root = tmp_path_factory.mktemp("site") / "site"
    write_site(sample_bundle, root, config=sample_config)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_service_worker_is_written_with_the_shell(served):
    root, _ = served
    sw = (root / "sw.js").read_text(encoding="utf-8")
    assert '"assets/site.js"' in sw and '"index.html"' in sw and "ridermap-" in sw
    page = (root / "u" / f"{SAMPLE_ID}-b7-u2.html").read_text(encoding="utf-8")
    assert 'register("../sw.js", {scope: "../"})' in page


def test_a_visited_unit_page_reloads_with_the_network_cut(served, browser):
    _, base = served
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    url = f"{base}u/{SAMPLE_ID}-b7-u2.html"
    page.goto(url)
    assert page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
    page.wait_for_timeout(1500)  # the worker caches what the page loaded
    title = page.title()
    heading = page.inner_text("h1")
    context.set_offline(True)
    page.reload()
    assert page.title() == title and page.inner_text("h1") == heading
    assert "7号楼" in heading
    # the compound page of that unit was not visited: offline it is not there (nothing is invented)
    response = page.goto(f"{base}c/{SAMPLE_ID}.html")
    assert response is None or response.status == 503 or "7号楼" not in page.content()
    context.close()

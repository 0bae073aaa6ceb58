"""Browser fixtures for the page tests: Debian's Chromium driven by Playwright, the real app on
a real socket, and a small school with one concern.

Chromium is Debian's (`apt-get install chromium`; Playwright cannot download browsers here)
and axe-core comes from npm (`npm ci` at the project root); `.ci/run` installs both.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from infoshare_workflow.storage.models import DecisionRecord, Disclosure

from .. import factories
from ..conftest import ROOT
from ..workflow import (
    DSL_EMAIL,
    MANAGER_EMAIL,
    code_in,
    consent_given,
    drain,
    latest_to,
    link_in,
    set_up_school,
    submit,
)

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # The test machines have no outside network: without these Chromium's background
    # fetches (component updates, sync, field trials) fail and slow or break the launch.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def playwright_() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium; "
                    ".ci/run does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_: Any) -> Iterator[Any]:
    browser = playwright_.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def server_url(app: Any) -> Iterator[str]:
    """The real app on a real socket, so the browser talks HTTP to it (headers, CSP and all)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


class Watched:
    """A page, and the Content-Security-Policy violations the browser reported on it."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.csp_violations: list[str] = []
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)


def open_page(browser: Any, **options: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-GB", timezone_id="Europe/London", **options)
    context.set_default_timeout(10_000)
    watched = Watched(context.new_page())
    yield watched.page
    context.close()
    # Under the real policy (scripts and styles from the app alone), nothing our pages load may be refused.
    if not options.get("bypass_csp"):
        assert watched.csp_violations == [], watched.csp_violations


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A desktop-sized page under the pages' real Content-Security-Policy, JavaScript on."""
    yield from open_page(browser, viewport=DESKTOP)


@pytest.fixture
def scriptless(browser: Any) -> Iterator[Any]:
    """A page with JavaScript off: every section shows and every form must still work."""
    yield from open_page(browser, viewport=PHONE, java_script_enabled=False)


@pytest.fixture(params=["phone", "desktop"])
def device(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    """A phone (iPhone 12-14 logical size, touch) and a desktop, in turn."""
    if request.param == "phone":
        yield from open_page(browser, viewport=PHONE, device_scale_factor=3, is_mobile=True, has_touch=True)
    else:
        yield from open_page(browser, viewport=DESKTOP)


@pytest.fixture(params=["phone", "desktop"])
def axe_page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    """A page where axe-core can run, at phone and desktop size.

    The pages' policy (rightly) blocks the inline script `add_script_tag` injects;
    `bypass_csp=True` is Playwright's switch for exactly this, and leaves the product's policy as it is.
    """
    assert AXE.exists(), f"{AXE} is missing: run `npm ci` in {ROOT}"
    yield from open_page(browser, viewport=PHONE if request.param == "phone" else DESKTOP, bypass_csp=True)


class School:
    """A school with a DSL, a manager and two recipients, and one standard concern raised."""

    def __init__(self, app: Any, mis: Any, runtime: Any, settings: Any, server_url: str, **concern: Any) -> None:
        self.app, self.mis, self.runtime, self.settings, self.url = app, mis, runtime, settings, server_url
        self.recipients = set_up_school(mis, runtime)
        response = mis.post(factories.concern_raised("C-browser-1", **concern))
        assert response.status_code == 202, response.get_data(as_text=True)
        self.case_id = response.get_json()["case_id"]
        drain(app)

    def task_path(self, address: str) -> str:
        drain(self.app)
        return link_in(latest_to(self.settings.outbox_dir, address))

    def consent_by_helper(self, form: dict[str, Any] | None = None) -> None:
        client = self.app.test_client()
        assert submit(client, self.task_path(DSL_EMAIL), form or consent_given()).status_code == 303

    def advice_by_helper(self) -> None:
        client = self.app.test_client()
        form = {"advice": "share", "rationale": "Neglect indicators meet the early help threshold"}
        assert submit(client, self.task_path(MANAGER_EMAIL), form).status_code == 303

    def decisions(self, kind: str) -> list[dict[str, Any]]:
        with self.runtime.transaction() as session:
            return [d.payload for d in session.scalars(select(DecisionRecord).where(DecisionRecord.kind == kind))]

    def emailed_code(self, address: str) -> str:
        drain(self.app)
        return code_in(latest_to(self.settings.outbox_dir, address))

    def disclosures(self) -> list[Disclosure]:
        with self.runtime.transaction() as session:
            found = list(session.scalars(select(Disclosure).order_by(Disclosure.recipient_id)))
            session.expunge_all()
            return found


@pytest.fixture
def school(app: Any, mis: Any, runtime: Any, settings: Any, server_url: str) -> School:
    return School(app, mis, runtime, settings, server_url)

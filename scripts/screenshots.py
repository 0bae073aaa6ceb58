"""Take the README's screenshots: the consent, check-your-answers and disclosure pages on a phone.

Runs `infoshare demo` on the embedded defaults in a temporary directory, walks one case in
headless Chromium (Debian's, as the tests use) at 390×844, and writes docs/images/*.png.

    .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images"
PORT = 5191
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def emails(log: Path, to: str) -> list[tuple[str | None, str | None]]:
    """(link, code) of each email the demo printed for `to`, oldest first."""
    lines, found = log.read_text().splitlines(), []
    for i, line in enumerate(lines):
        if line.startswith(f"  email to {to}:"):
            link = lines[i + 1].strip() if i + 1 < len(lines) and "http" in lines[i + 1] else None
            code = re.search(r"one-time code (\d{6})", "\n".join(lines[i + 1:i + 3]))
            found.append((link, code.group(1) if code else None))
    return found


def wait_for(log: Path, to: str, count: int) -> list[tuple[str | None, str | None]]:
    for _ in range(100):
        sent = emails(log, to)
        if len(sent) >= count:
            return sent
        time.sleep(0.2)
    raise SystemExit(f"no email number {count} to {to}:\n{log.read_text()}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        log = Path(work) / "demo.log"
        demo = subprocess.Popen([str(Path(sys.executable).with_name("infoshare")), "demo", "--port", str(PORT)],
                                cwd=work, stdout=log.open("w"), stderr=subprocess.STDOUT)
        try:
            dsl, head = "dsl@school.example", "head@school.example"
            consent_link = wait_for(log, dsl, 1)[0][0]
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                           is_mobile=True, has_touch=True, locale="en-GB").new_page()
                page.goto(consent_link)
                page.get_by_role("radio", name="Consent given").check()
                page.get_by_role("heading", name="Your answer").scroll_into_view_if_needed()
                page.screenshot(path=str(OUT / "consent-phone.png"))
                page.get_by_label("Parent or carer").check()
                page.get_by_label("Their name").fill("Parent Demo")
                for label, value in (("Day", "27"), ("Month", "11"), ("Year", "2026")):
                    page.get_by_label(label).fill(value)
                page.get_by_label("Time (24-hour clock)").fill("09:15")
                page.get_by_label("The consent was explicit").check()
                page.get_by_label("The consent was freely given").check()
                page.get_by_role("button", name="Record my answer").click()
                page.goto(wait_for(log, head, 1)[-1][0])
                page.get_by_label("Share", exact=True).check()
                page.get_by_label("Your reasons").fill("Early help needs the family's agreement, which we have")
                page.get_by_role("button", name="Record my answer").click()
                page.goto(wait_for(log, dsl, 2)[-1][0])
                page.get_by_label("Share", exact=True).check()
                page.get_by_label("Your reasons").fill("Needed for an early help assessment")
                page.get_by_label("Northshire Children's Social Care").check()
                page.get_by_label("For what purpose?").fill("Early help assessment")
                page.get_by_label("Consent (Art. 6(1)(a))").check()
                page.get_by_label("Explicit consent").check()
                for item in ("Summary of the concern", "Facts", "Opinion"):
                    page.get_by_label(item, exact=True).check()
                for principle in page.get_by_role("group", name="Confirm each principle (golden rule 6)").get_by_role(
                        "checkbox").all():
                    principle.check()
                page.get_by_role("button", name="Continue").click()
                page.screenshot(path=str(OUT / "share-check-phone.png"), full_page=True)
                page.get_by_role("button", name="Send").click()
                recipient = "mash@northshire.example"
                page.goto(wait_for(log, recipient, 1)[0][0])
                page.get_by_role("button", name="Email me a code").click()
                page.get_by_label("Code").fill(wait_for(log, recipient, 2)[-1][1] or "")
                page.get_by_role("button", name="Show the information").click()
                page.screenshot(path=str(OUT / "disclosure-phone.png"), full_page=True)
                browser.close()
        finally:
            demo.terminate()
            demo.wait(timeout=30)
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()

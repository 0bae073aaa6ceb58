"""The compiled stylesheet and scripts that ship in the wheel are what `npm run build` makes
from frontend/ and the pinned GOV.UK Frontend: nobody edits the output by hand, and a
change to the source is not forgotten in the build."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from .conftest import ROOT

STATIC = ROOT / "infoshare_workflow" / "templates" / "static"


@pytest.mark.skipif(shutil.which("node") is None or not (ROOT / "node_modules" / "sass").exists(),
                    reason="needs Node.js and `npm ci` (.ci/run does both)")
def test_the_committed_assets_are_a_fresh_build(tmp_path):
    subprocess.run(["node", str(ROOT / "frontend" / "build.mjs"), "--out", str(tmp_path)], check=True,
                   capture_output=True, timeout=120)
    built = sorted(p.name for p in tmp_path.iterdir())
    assert built == ["app.css", "app.js", "govuk-frontend.min.js", "js-enabled.js"]
    for name in built:
        assert (tmp_path / name).read_bytes() == (STATIC / name).read_bytes(), f"{name}: run `npm run build`"


def test_no_gov_uk_font_or_crown_ships():
    css = (STATIC / "app.css").read_text()
    assert "GDS Transport" not in css and "@font-face" not in css
    assert not list(STATIC.rglob("*.woff*")) and not list(STATIC.rglob("govuk-crest*"))

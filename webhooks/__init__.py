"""Flask blueprints: thin adapters from HTTP to the domain in `infoshare_workflow`."""

from __future__ import annotations

from flask import current_app

from infoshare_workflow.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["infoshare"]  # type: ignore[no-any-return]

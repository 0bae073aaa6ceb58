"""Strict JSON: nesting is counted in levels, objects and arrays alike, up to MAX_DEPTH."""

from __future__ import annotations

import json

import pytest

from infoshare_workflow.schemas.strict_json import MAX_DEPTH, JsonBodyError, loads, too_deep


def nested(levels: int, mixed: bool) -> str:
    """`levels` containers, one inside the next (alternating objects and arrays if `mixed`)."""
    text = "1"
    for level in range(levels):
        text = f'{{"k": {text}}}' if mixed and level % 2 else f"[{text}]"
    return text


@pytest.mark.parametrize("mixed", [False, True])
def test_max_depth_levels_are_read_and_one_more_is_refused(mixed):
    assert loads(nested(MAX_DEPTH, mixed)) is not None
    with pytest.raises(JsonBodyError, match="nested more than"):
        loads(nested(MAX_DEPTH + 1, mixed))


def test_depth_is_the_deepest_branch_not_the_number_of_containers():
    wide = {"a": [[1]] * 100, "b": {"c": {"d": []}}}  # 101 containers, four levels deep
    assert not too_deep(wide, limit=4)
    assert too_deep(wide, limit=3)
    assert not too_deep([], limit=1) and not too_deep(json.loads("{}"), limit=1)

"""JSON bodies read strictly: one value per key, no NaN, and a bounded depth.

Why: with Python's defaults the last of two equal keys wins, so a body carrying
`"roles": ["staff"], "roles": ["dsl"]` reads as a DSL to us and as staff to a reviewer or
another parser; and JSON nested thousands deep exhausts the stack. Either is refused as a
400 before anything is validated or stored (golden rule 6: share securely).
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 16


class JsonBodyError(ValueError):
    """The body is not strict JSON; the message says why, without echoing values."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonBodyError(f"The key {json.dumps(key[:64])} appears twice in one object.")
            seen.add(key)
    return mapping


def _no_constants(name: str) -> Any:
    raise JsonBodyError(f"{name} is not a JSON value.")


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when objects and arrays nest more than `limit` levels (level by level: no recursion,
    and a third cheaper than a stack on every webhook's body)."""
    level = [value]
    for _ in range(limit):
        level = [child for item in level for child in (item.values() if isinstance(item, dict) else item)
                 if isinstance(child, (dict, list))]
        if not level:
            return False
    return True


def loads(text: str | bytes) -> Any:
    """Parse strict JSON; JsonBodyError says what is wrong."""
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constants)
    except RecursionError as exc:
        raise JsonBodyError("The body is nested too deeply.") from exc
    except JsonBodyError:
        raise
    except ValueError as exc:  # JSONDecodeError, and undecodable bytes
        raise JsonBodyError("The body is not valid JSON.") from exc
    if isinstance(value, (dict, list)) and too_deep(value):
        raise JsonBodyError(f"The body is nested more than {MAX_DEPTH} levels deep.")
    return value

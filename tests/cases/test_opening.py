"""Case references: what the 202 names and every email carries."""

from __future__ import annotations

import re

from infoshare_workflow.cases.opening import new_case_id


def test_case_references_are_ten_crockford_base32_characters_and_do_not_repeat():
    references = {new_case_id() for _ in range(20_000)}
    assert len(references) == 20_000
    assert all(re.fullmatch(r"IS-[0-9A-HJKMNP-TV-Z]{10}", ref) for ref in references)
    assert {ch for ref in references for ch in ref[3:]} == set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

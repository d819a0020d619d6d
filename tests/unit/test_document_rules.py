"""The rules the OpenAPI document states are the rules the domain applies: a request the document calls
valid is never refused for its form, and one it calls invalid is never taken (schemathesis checks both
through daprd; these pin the equivalence of each pattern with its check, over generated text)."""

from __future__ import annotations

import re
import sys
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.validation import (
    NOT_BLANK,
    FieldChecks,
    birth_date_pattern,
    password_pattern,
    password_problems,
)

TODAY = date(2026, 12, 2)
# Text a fuzzer would send: any character, short runs of few characters, and the words the rules name.
texts = st.one_of(st.text(max_size=20), st.text(alphabet="aA1-\n ", max_size=12),
                  st.sampled_from(["password123", "PassWord123", "aaaaaaaa", "abababab", "abcdefgh\n", "12345678",
                                   "Sturdy-Passw0rd!", "\n\n\n\n\n\n\n\n", "MONKEY123"]))


@settings(max_examples=2000)
@given(texts)
def test_a_password_matches_the_documented_pattern_exactly_when_the_domain_takes_it(password: str) -> None:
    documented = re.search(password_pattern(min_length=8), password) is not None
    assert documented == (password_problems(password, min_length=8) == []), password


def test_not_blank_is_pythons_whitespace_spelled_out() -> None:
    blank = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace() != (NOT_BLANK.search(c) is None)]
    assert blank == []


@settings(max_examples=1000)
@given(st.one_of(st.dates(), st.dates(min_value=date(1899, 12, 1), max_value=date(2027, 2, 1))))
def test_a_birth_date_matches_the_documented_pattern_exactly_when_the_domain_takes_it(born: date) -> None:
    checks = FieldChecks()
    checks.birth_date("dateOfBirth", born.isoformat(), TODAY)
    documented = re.search(birth_date_pattern(TODAY.year), born.isoformat()) is not None
    assert documented == (checks.errors == []) == (1900 <= born.year < TODAY.year), born

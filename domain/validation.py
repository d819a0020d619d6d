"""Field rules shared by customers and addresses."""

from __future__ import annotations

import re
from calendar import isleap
from datetime import date
from enum import StrEnum
from functools import cache
from zoneinfo import available_timezones

from domain.errors import DomainError, ErrorCode, FieldError

# Every pattern here is also the OpenAPI document's (api/schemas.py), read by clients and fuzzers with
# ECMA-262's engine or Python's, and checked here with Python's `search`: each must mean the same in all.
# So none ends in `$` (which Python also matches before a final newline): END is the end of the text in
# both, and NOT_BLANK spells out Python's whitespace (str.isspace), which `\s` does not match exactly.
END = r"(?![\s\S])"
NOT_BLANK = re.compile(r"[^\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
# The spec's CHECK constraint on customers.email, applied before the database ever sees it.
EMAIL_PATTERN = re.compile(rf"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{{2,}}{END}")
EMAIL_MAX_LENGTH = 255
PHONE_PATTERN = re.compile(rf"^(?:\+?[0-9][0-9 ().-]{{5,18}})?{END}")  # empty: no phone
LANGUAGE_PATTERN = re.compile(rf"^[a-z]{{2,3}}(?:-[A-Z]{{2}})?{END}")
CURRENCY_PATTERN = re.compile(rf"^[A-Z]{{3}}{END}")
FIRST_BIRTH_YEAR = 1900


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"
    NON_BINARY = "non_binary"
    OTHER = "other"


GENDERS = frozenset(Gender)
# Text limits: the schema's column sizes, and the spec's preference formats.
PROFILE_LIMITS = {"firstName": 100, "lastName": 100, "phone": 20, "avatar": 500}
PREFERENCE_LIMITS = {"language": 10, "currency": 3, "timezone": 64}
OVERRIDE_REASON_LIMITS = (3, 500)

# ISO 3166-1 alpha-2, officially assigned codes.
_COUNTRY_CODES_TEXT = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW
BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI
FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN
IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF
PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE
YT ZA ZM ZW
"""
COUNTRY_CODES = frozenset(_COUNTRY_CODES_TEXT.split())

# Passwords that pass a length rule but are guessed first.
COMMON_PASSWORDS = frozenset({
    "password", "password1", "password12", "password123", "password1234", "passw0rd", "p@ssw0rd",
    "12345678", "123456789", "1234567890", "qwertyui", "qwerty123", "qwertyuiop", "iloveyou",
    "11111111", "00000000", "abc12345", "abcd1234", "letmein1", "welcome1", "welcome123", "admin123",
    "sunshine", "football", "baseball", "princess", "trustno1", "changeme", "superman", "monkey123",
})
MAX_PASSWORD_LENGTH = 128
DEFAULT_PASSWORD_MIN_LENGTH = 8  # the spec's PASSWORD_MIN_LENGTH


def check_email(email: str) -> str:
    """The address as given: one with spaces around it is refused, not trimmed, as the document says."""
    if len(email) > EMAIL_MAX_LENGTH or not EMAIL_PATTERN.search(email):
        raise DomainError(ErrorCode.INVALID_EMAIL_FORMAT, "email address is not valid",
                          [FieldError("email", "must look like name@example.com")])
    return email


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


# The password rules, one expression each, so that the document can state all but the email's name
# (which depends on the email beside it) in one pattern (password_pattern).
PASSWORD_RULES: tuple[tuple[str, str], ...] = (
    ("must mix at least two of lowercase, uppercase, digits and symbols",
     "".join(f"(?!{one_class}*{END})" for one_class in ("[a-z]", "[A-Z]", "[0-9]", "[^A-Za-z0-9]"))),
    ("is too common", f"(?!(?:{'|'.join(_any_case(w) for w in sorted(COMMON_PASSWORDS))}){END})"),
    ("is too common", rf"(?!([\s\S])\1*([\s\S])(?:\1|\2)*{END})"),  # two characters or fewer, repeated
)
_PASSWORD_RULES = tuple((message, re.compile("^" + rule)) for message, rule in PASSWORD_RULES)


def password_pattern(*, min_length: int) -> str:
    """Every password rule but the email's name, lengths included (a generator then draws text of the
    right length rather than filtering for it)."""
    return "^" + "".join(rule for _, rule in PASSWORD_RULES) + rf"[\s\S]{{{min_length},{MAX_PASSWORD_LENGTH}}}{END}"


def password_problems(password: str, *, min_length: int, email: str | None = None) -> list[str]:
    problems = []
    if len(password) < min_length:
        problems.append(f"must be at least {min_length} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"must be at most {MAX_PASSWORD_LENGTH} characters")
    for message, rule in _PASSWORD_RULES:
        if not rule.search(password) and message not in problems:
            problems.append(message)
    name = email.split("@")[0].lower() if email else ""
    if len(name) >= 4 and name in password.lower():
        problems.append("must not contain the email address")
    return problems


def check_password(password: str, *, min_length: int, email: str | None = None,
                   field_name: str = "password") -> None:
    problems = password_problems(password, min_length=min_length, email=email)
    if problems:
        raise DomainError(ErrorCode.WEAK_PASSWORD, "password does not meet the requirements",
                          [FieldError(field_name, p) for p in problems])


@cache
def timezones() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def birth_date_pattern(this_year: int) -> str:
    """A real calendar date from FIRST_BIRTH_YEAR to the end of last year. "Up to today" would be the
    natural rule, but no schema can state it; nobody born this year opens an account."""
    def years(which: range) -> str:
        return "|".join(str(year) for year in which)
    every, leap = range(FIRST_BIRTH_YEAR, this_year), [y for y in range(FIRST_BIRTH_YEAR, this_year) if isleap(y)]
    month_day = ("(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
                 "|02-(?:0[1-9]|1[0-9]|2[0-8]))")
    return f"^(?:(?:{years(every)})-{month_day}|(?:{'|'.join(map(str, leap))})-02-29){END}"


class FieldChecks:
    """Collects field errors so a client sees every problem of a request at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, field_name: str, message: str) -> None:
        self.errors.append(FieldError(field_name, message))

    def text(self, field_name: str, value: str | None, *, max_length: int, required: bool = False) -> None:
        if value is None or not NOT_BLANK.search(value):
            if required:
                self.fail(field_name, "is required")
            return
        if len(value) > max_length:
            self.fail(field_name, f"must be at most {max_length} characters")

    def phone(self, field_name: str, value: str | None) -> None:
        if value is not None and not PHONE_PATTERN.search(value):
            self.fail(field_name, "must be a phone number such as +1-555-0123")

    def country(self, field_name: str, value: str | None) -> None:
        if value is not None and value not in COUNTRY_CODES:
            self.fail(field_name, "must be an ISO 3166-1 alpha-2 country code such as US")

    def birth_date(self, field_name: str, value: str | None, today: date) -> None:
        if value is not None and not re.search(birth_date_pattern(today.year), value):
            self.fail(field_name, f"must be a date (YYYY-MM-DD) from {FIRST_BIRTH_YEAR} to the end of last year")

    def one_of(self, field_name: str, value: str | None, allowed: frozenset[str]) -> None:
        if value is not None and value not in allowed:
            self.fail(field_name, f"must be one of {', '.join(sorted(allowed))}")

    def language(self, field_name: str, value: str | None) -> None:
        if value is not None and not LANGUAGE_PATTERN.search(value):
            self.fail(field_name, "must be a language tag such as en or en-US")

    def currency(self, field_name: str, value: str | None) -> None:
        if value is not None and not CURRENCY_PATTERN.search(value):
            self.fail(field_name, "must be an ISO 4217 currency code such as USD")

    def timezone(self, field_name: str, value: str | None) -> None:
        if value is not None and value not in timezones():
            self.fail(field_name, "must be an IANA time zone such as America/New_York")

    def raise_if_any(self) -> None:
        if self.errors:
            raise DomainError(ErrorCode.VALIDATION_FAILED, "request validation failed", self.errors)

"""Field rules shared by customers and addresses."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from functools import cache
from zoneinfo import available_timezones

from domain.errors import DomainError, ErrorCode, FieldError

# The spec's CHECK constraint on customers.email, applied before the database ever sees it.
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ().-]{5,18}$")
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")


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


def normalize_email(email: str) -> str:
    return email.strip()


def check_email(email: str) -> str:
    email = normalize_email(email)
    if len(email) > 255 or not EMAIL_PATTERN.match(email):
        raise DomainError(ErrorCode.INVALID_EMAIL_FORMAT, "email address is not valid",
                          [FieldError("email", "must look like name@example.com")])
    return email


def password_problems(password: str, *, min_length: int, email: str | None = None) -> list[str]:
    problems = []
    if len(password) < min_length:
        problems.append(f"must be at least {min_length} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"must be at most {MAX_PASSWORD_LENGTH} characters")
    classes = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    if classes < 2:
        problems.append("must mix at least two of lowercase, uppercase, digits and symbols")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) <= 2:
        problems.append("is too common")
    if email and email.split("@")[0].lower() in lowered and len(email.split("@")[0]) >= 4:
        problems.append("must not contain the email address")
    return problems


def check_password(password: str, *, min_length: int, email: str | None = None,
                   field_name: str = "password") -> None:
    problems = password_problems(password, min_length=min_length, email=email)
    if problems:
        raise DomainError(ErrorCode.WEAK_PASSWORD, "password does not meet the requirements",
                          [FieldError(field_name, p) for p in problems])


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


class FieldChecks:
    """Collects field errors so a client sees every problem of a request at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, field_name: str, message: str) -> None:
        self.errors.append(FieldError(field_name, message))

    def text(self, field_name: str, value: str | None, *, max_length: int, required: bool = False) -> None:
        if value is None or value.strip() == "":
            if required:
                self.fail(field_name, "is required")
            return
        if len(value) > max_length:
            self.fail(field_name, f"must be at most {max_length} characters")

    def phone(self, field_name: str, value: str | None) -> None:
        if value and not PHONE_PATTERN.match(value):
            self.fail(field_name, "must be a phone number such as +1-555-0123")

    def country(self, field_name: str, value: str | None) -> None:
        if value is not None and value not in COUNTRY_CODES:
            self.fail(field_name, "must be an ISO 3166-1 alpha-2 country code such as US")

    def birth_date(self, field_name: str, value: date | None, today: date) -> None:
        if value is not None and not (date(1900, 1, 1) <= value <= today):
            self.fail(field_name, "must be a date between 1900-01-01 and today")

    def one_of(self, field_name: str, value: str | None, allowed: frozenset[str]) -> None:
        if value is not None and value not in allowed:
            self.fail(field_name, f"must be one of {', '.join(sorted(allowed))}")

    def language(self, field_name: str, value: str | None) -> None:
        if value is not None and not LANGUAGE_PATTERN.match(value):
            self.fail(field_name, "must be a language tag such as en or en-US")

    def currency(self, field_name: str, value: str | None) -> None:
        if value is not None and not CURRENCY_PATTERN.match(value):
            self.fail(field_name, "must be an ISO 4217 currency code such as USD")

    def timezone(self, field_name: str, value: str | None) -> None:
        if value is not None and value not in _timezones():
            self.fail(field_name, "must be an IANA time zone such as America/New_York")

    def raise_if_any(self) -> None:
        if self.errors:
            raise DomainError(ErrorCode.VALIDATION_FAILED, "request validation failed", self.errors)

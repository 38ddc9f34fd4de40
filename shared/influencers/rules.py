"""What a valid roster value is, in one place for the API schemas and the CSV import.

Each `check_*` function normalises a value and returns it, or raises ValueError with a
message fit for a problem document; the `Annotated` types below wrap them for pydantic, so
the API and the importer accept and reject exactly the same input with the same words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field

from shared.codes import COUNTRIES, LANGUAGES
from shared.models.enums import DeliverableType

AGE_BUCKETS: tuple[str, ...] = ("13-17", "18-24", "25-34", "35-44", "45-54", "55+")
GENDERS: tuple[str, ...] = ("female", "male", "other")
DELIVERABLE_TYPES: tuple[str, ...] = tuple(t.value for t in DeliverableType)

MAX_NAME = 200
MAX_HANDLE = 100
MAX_URL = 2048
MAX_NOTES = 10_000
MAX_TAGS = 30
MAX_FOLLOWERS = 10**12  # far above any account; keeps bigint arithmetic safe
MAX_POSTS_PER_WEEK = Decimal("9999.99")  # numeric(6, 2)

_HANDLE = re.compile(r"^[\w.\-]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


# ----------------------------------------------------------------------- scalars
def check_handle(value: str) -> str:
    """`  @Jane.Doe ` -> `jane.doe`: trimmed, leading '@' dropped, lower case."""
    handle = value.strip().lstrip("@").strip().lower()
    if not handle:
        raise ValueError("A handle is required.")
    if len(handle) > MAX_HANDLE or not _HANDLE.match(handle):
        raise ValueError(
            f"A handle is 1-{MAX_HANDLE} letters, digits, '.', '_' or '-' (a leading '@' is "
            "dropped)."
        )
    return handle


def check_name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"A name is 1-{MAX_NAME} characters.")
    return name


def check_email(value: str) -> str:
    email = value.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValueError(f"{value!r} is not an e-mail address.")
    return email


def check_country(value: str) -> str:
    code = value.strip().upper()
    if code not in COUNTRIES:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. DE).")
    return code


def check_language(value: str) -> str:
    code = value.strip().lower()
    if code not in LANGUAGES:
        raise ValueError(f"{value!r} is not an ISO 639-1 language code (e.g. en).")
    return code


def check_currency(value: str) -> str:
    code = value.strip().upper()
    if not _CURRENCY.match(code):
        raise ValueError(f"{value!r} is not an ISO 4217 currency code (e.g. EUR).")
    return code


def check_url(value: str) -> str:
    url = value.strip()
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL.")
    return url


def check_followers(value: int) -> int:
    if isinstance(value, bool) or not 0 <= value <= MAX_FOLLOWERS:
        raise ValueError(f"Followers must be a whole number from 0 to {MAX_FOLLOWERS}.")
    return value


def check_posts_per_week(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0 or value > MAX_POSTS_PER_WEEK:
        raise ValueError(f"Posts per week must be from 0 to {MAX_POSTS_PER_WEEK}.")
    return value.quantize(Decimal("0.01"))


def check_bps(value: int) -> int:
    if isinstance(value, bool) or not 0 <= value <= 10_000:
        raise ValueError("A share in basis points is from 0 to 10000.")
    return value


def check_tag(value: str) -> str:
    tag = value.strip().lower()
    if not tag or len(tag) > 50 or ";" in tag:
        raise ValueError("A niche is 1-50 characters without ';'.")
    return tag


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def check_languages(values: list[str]) -> list[str]:
    out = _dedupe([check_language(v) for v in values])
    if len(out) > MAX_TAGS:
        raise ValueError(f"At most {MAX_TAGS} languages.")
    return out


def check_niches(values: list[str]) -> list[str]:
    out = _dedupe([check_tag(v) for v in values])
    if len(out) > MAX_TAGS:
        raise ValueError(f"At most {MAX_TAGS} niches.")
    return out


# ----------------------------------------------------------------- distributions
def _distribution(
    what: str, key: Callable[[str], str], allowed_hint: str
) -> Callable[[Mapping[str, Any]], dict[str, float]]:
    def check(value: Mapping[str, Any]) -> dict[str, float]:
        out: dict[str, float] = {}
        for raw_key, raw_pct in value.items():
            try:
                k = key(str(raw_key))
            except ValueError as exc:
                raise ValueError(f"{what}: unknown key {raw_key!r}; {allowed_hint}.") from exc
            if k in out:
                raise ValueError(f"{what}: key {k!r} appears twice.")
            if isinstance(raw_pct, bool) or not isinstance(raw_pct, int | float):
                raise ValueError(f"{what}: {raw_key!r} must be a number of percent.")
            pct = float(raw_pct)
            if math.isnan(pct) or not 0 <= pct <= 100:
                raise ValueError(f"{what}: {raw_key!r} must be between 0 and 100 (percent).")
            out[k] = pct
        total = sum(out.values())
        if round(total, 6) > 100:
            raise ValueError(f"{what}: the shares sum to {round(total, 4)}%, more than 100%.")
        return out

    return check


def _exact(allowed: tuple[str, ...]) -> Callable[[str], str]:
    def key(value: str) -> str:
        k = value.strip().lower()
        if k not in allowed:
            raise ValueError(k)
        return k

    return key


check_age = _distribution(
    "Audience age", _exact(AGE_BUCKETS), "buckets are " + "/".join(AGE_BUCKETS)
)
check_gender = _distribution("Audience gender", _exact(GENDERS), "keys are " + "/".join(GENDERS))
check_audience_countries = _distribution(
    "Audience countries", check_country, "keys are ISO 3166-1 alpha-2 codes"
)
check_audience_languages = _distribution(
    "Audience languages", check_language, "keys are ISO 639-1 codes"
)


def check_rate_card(value: Mapping[str, Any]) -> dict[str, int]:
    """{deliverable type: price in minor units}, each price a whole number >= 0."""
    out: dict[str, int] = {}
    for raw_key, amount in value.items():
        k = str(raw_key).strip().lower()
        if k not in DELIVERABLE_TYPES:
            raise ValueError(
                f"Rate card: unknown deliverable type {raw_key!r}; types are "
                + ", ".join(DELIVERABLE_TYPES)
                + "."
            )
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise ValueError(f"Rate card: {k!r} must be a whole amount >= 0 in minor units.")
        out[k] = amount
    return out


# ----------------------------------------------------------- pydantic wrappers
def _must_be_mapping(value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise ValueError("Must be an object of {key: number}.")
    return value


def _str_only(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("Must be a string.")
    return value


def _strict_int(value: Any) -> Any:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("Must be a whole number.")
    return value


def _as_decimal(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("Must be a number.")
    if isinstance(value, int | float | str):
        try:
            return Decimal(str(value))
        except InvalidOperation as exc:
            raise ValueError("Must be a number.") from exc
    return value


Handle = Annotated[
    str,
    BeforeValidator(_str_only),
    AfterValidator(check_handle),
    Field(description="Case-insensitive; a leading '@' is dropped.", examples=["@Jane.Runs"]),
]
Name = Annotated[str, AfterValidator(check_name), Field(examples=["Jane Runner"])]
Email = Annotated[str, AfterValidator(check_email), Field(examples=["jane@example.com"])]
CountryCode = Annotated[
    str, AfterValidator(check_country), Field(description="ISO 3166-1 alpha-2.", examples=["DE"])
]
LanguageCode = Annotated[
    str, AfterValidator(check_language), Field(description="ISO 639-1.", examples=["de"])
]
CurrencyCode = Annotated[
    str, AfterValidator(check_currency), Field(description="ISO 4217.", examples=["EUR"])
]
ProfileUrl = Annotated[
    str, AfterValidator(check_url), Field(examples=["https://instagram.com/jane.runs"])
]
Followers = Annotated[int, BeforeValidator(_strict_int), AfterValidator(check_followers)]
PostsPerWeek = Annotated[
    Decimal, BeforeValidator(_as_decimal), AfterValidator(check_posts_per_week)
]
SponsoredShareBps = Annotated[
    int,
    BeforeValidator(_strict_int),
    AfterValidator(check_bps),
    Field(description="Share of posts that are sponsored, in basis points (0-10000)."),
]
Languages = Annotated[
    list[str],
    AfterValidator(check_languages),
    Field(description="ISO 639-1 codes.", examples=[["en", "de"]]),
]
Niches = Annotated[
    list[str],
    AfterValidator(check_niches),
    Field(description="Free tags, stored lower case.", examples=[["running", "nutrition"]]),
]
Notes = Annotated[str, Field(max_length=MAX_NOTES)]
City = Annotated[str, Field(min_length=1, max_length=100, examples=["Berlin"])]
RateCard = Annotated[
    dict[str, Any],
    AfterValidator(check_rate_card),
    Field(
        description="Price per deliverable type in minor units of `rate_currency`.",
        examples=[{"reel": 45000, "story": 15000}],
    ),
]
AgeDistribution = Annotated[
    dict[str, Any],
    BeforeValidator(_must_be_mapping),
    AfterValidator(check_age),
    Field(
        description="Percent per age bucket (13-17, 18-24, 25-34, 35-44, 45-54, 55+); "
        "sums to at most 100.",
        examples=[{"18-24": 42, "25-34": 38, "35-44": 12}],
    ),
]
GenderDistribution = Annotated[
    dict[str, Any],
    BeforeValidator(_must_be_mapping),
    AfterValidator(check_gender),
    Field(
        description="Percent per gender (female, male, other); sums to at most 100.",
        examples=[{"female": 71, "male": 27, "other": 2}],
    ),
]
CountryDistribution = Annotated[
    dict[str, Any],
    BeforeValidator(_must_be_mapping),
    AfterValidator(check_audience_countries),
    Field(
        description="Percent per ISO 3166-1 alpha-2 country; sums to at most 100.",
        examples=[{"DE": 55, "AT": 12, "CH": 9}],
    ),
]
LanguageDistribution = Annotated[
    dict[str, Any],
    BeforeValidator(_must_be_mapping),
    AfterValidator(check_audience_languages),
    Field(
        description="Percent per ISO 639-1 language; sums to at most 100.",
        examples=[{"de": 80, "en": 20}],
    ),
]

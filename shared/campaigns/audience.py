"""Target-audience vocabulary: ISO 3166-1 alpha-2 countries, ISO 639-1 languages, genders,
and the normalisers the API schemas call. Pure functions, no I/O.

The code lists live in shared/codes.py.
"""

from __future__ import annotations

import re
from enum import StrEnum

from shared.codes import COUNTRIES, LANGUAGES

AGE_MIN = 13  # the platforms' minimum account age
AGE_MAX = 100


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


def normalise_country(value: str) -> str:
    code = value.strip().upper()
    if code not in COUNTRIES:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def normalise_language(value: str) -> str:
    code = value.strip().lower()
    if code not in LANGUAGES:
        raise ValueError(f"{value!r} is not an ISO 639-1 language code")
    return code


_SPACES = re.compile(r"\s+")


def normalise_interest(value: str) -> str:
    """Interests are free tags; compared case-insensitively, so stored in lower case with
    inner whitespace collapsed."""
    tag = _SPACES.sub(" ", value.strip().lower())
    if not tag:
        raise ValueError("an interest may not be empty")
    return tag


def dedupe(values: list[str]) -> list[str]:
    """Order-preserving de-duplication (after normalisation `FR` and `fr` are one code)."""
    return list(dict.fromkeys(values))

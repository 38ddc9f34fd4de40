"""Decimal amounts from stores -> integer minor units, exactly.

Stores send money as decimal strings ("19.99"); Vouch stores integers in the currency's minor
unit (ISO 4217 exponent: 2 for EUR, 0 for JPY, 3 for KWD). The conversion goes through
Decimal and refuses an amount that does not fit the exponent ("10.005" USD, "1000.50" JPY)
instead of rounding it silently: a store never sends one, so it means a wrong currency.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# ISO 4217 currencies whose minor unit is not 1/100.
_ZERO = ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI")
_ZERO_MORE = ("VND", "VUV", "XAF", "XOF", "XPF")
_THREE = ("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND")
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_ZERO + _ZERO_MORE, 0),
    **dict.fromkeys(_THREE, 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class MoneyError(ValueError):
    pass


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


def normalize_currency(value: object) -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value.strip().upper()):
        raise MoneyError(f"{value!r} is not an ISO 4217 currency code")
    return value.strip().upper()


def to_minor(value: object, currency: str, *, field: str = "amount") -> int:
    """`value` (a decimal string, an int, or a JSON number) in minor units of `currency`."""
    if isinstance(value, bool) or value is None:
        raise MoneyError(f"{field}: {value!r} is not an amount")
    try:
        amount = Decimal(value if isinstance(value, str | int) else str(value))
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"{field}: {value!r} is not a decimal amount") from exc
    if not amount.is_finite():
        raise MoneyError(f"{field}: {value!r} is not a finite amount")
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(
            f"{field}: {value!r} has more decimals than {currency} allows ({exponent(currency)})"
        )
    return int(scaled)

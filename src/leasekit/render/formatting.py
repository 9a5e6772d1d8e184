"""How figures are written on a contract: amounts, rates and dates as text.

Amounts are formatted from their ``Decimal`` alone (``Decimal.__format__`` never goes through
``float``), with thousands separators and the currency's decimals, so what is printed is the
figure the calculator computed, to the cent.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from leasekit.money import currency

__all__ = ["amount_text", "date_text", "percent_text"]


def amount_text(value: Decimal, currency_code: str) -> str:
    """*value* with thousands separators and the currency's decimals (``12,345.60``).

    Documents carry amounts already at the minor unit; a finer one is rounded half up, the
    way disclosures round, rather than cut.
    """
    digits = currency(currency_code).minor_unit
    exact = value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{exact:,.{digits}f}"


def percent_text(value: Decimal) -> str:
    """A rate in percent as stated, two decimals at least (``5.90%``, ``6.125%``).

    An APR is disclosed already rounded (two decimals under Reg Z, one as an EU APRC), so
    its digits are kept, never re-rounded here.
    """
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        value = value.quantize(Decimal("0.01"))
    return f"{value:f}%"


def date_text(value: date) -> str:
    """ISO 8601 (``2026-12-04``): read the same way in every language the templates use."""
    return value.isoformat()

"""What an SMS costs: segments × the price per segment of the recipient's operator.

Indonesian operators price an SMS per segment and differ from one another, so the operator is
read from the number: phonenumbers' carrier data names Telkomsel, Indosat Ooredoo Hutchison
(which since the 2022 merger includes Tri's 089x numbers), XL (and AXIS) and Smartfren. A price
keyed by a number prefix (`+62896`) overrides the operator's, for a contract that prices one range
apart (Tri's, say); the longest prefix wins. One home for the rule: notify prices every SMS it
records, and whoever previews a mass SMS (a community alert) prices it the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar, Mapping

import phonenumbers
from phonenumbers import carrier

from shared.settings import setting

# phonenumbers' English carrier names → the operator a price is set for.
OPERATORS = {"Telkomsel": "telkomsel", "Indosat Ooredoo Hutchison": "indosat", "XL": "xl", "AXIS": "xl",
             "Smartfren": "smartfren", "3": "tri", "Tri": "tri"}
OTHER = "other"


@dataclass(frozen=True)
class SmsPrices:
    SECTION: ClassVar[str] = "SMS_PRICE"
    per_segment: Mapping[str, float] = setting(
        {"telkomsel": 350.0, "indosat": 300.0, "tri": 300.0, "xl": 300.0, "smartfren": 250.0, "other": 400.0},
        "rupiah per SMS segment, by operator (telkomsel, indosat, tri, xl, smartfren, other) or by number prefix "
        "(e.g. +62896), the longest prefix first")
    monthly_budget: Mapping[str, float] = setting(
        {"default": 1_500_000.0},
        "rupiah a Polsek may spend on SMS in a month, by Polsek code (default: every other Polsek); past 80% the "
        "console warns, past 100% reporter updates are held while officers and duty desks still get theirs")

    recount_seconds: float = setting(
        60.0, "how often notify counts every Polsek's spending this month, in one go (the budget may be overrun "
              "by what is sent meanwhile; no SMS waits for a count)")

    def budget_of(self, polsek: str | None) -> float:
        return float(self.monthly_budget.get(polsek or "", self.monthly_budget.get("default", 0.0)))


@lru_cache(maxsize=4096)
def operator_of(phone: str) -> str:
    """The operator of an E.164 number, from phonenumbers' carrier data; `other` when it names none."""
    try:
        name = carrier.name_for_number(phonenumbers.parse(phone), "en")
    except phonenumbers.NumberParseException:
        return OTHER
    return OPERATORS.get(name, OTHER)


def price_per_segment(phone: str, prices: SmsPrices) -> tuple[str, float]:
    """(what the price is keyed by, rupiah per segment): a configured prefix, else the operator."""
    prefixes = sorted((key for key in prices.per_segment if key.startswith("+")), key=len, reverse=True)
    prefix = next((key for key in prefixes if phone.startswith(key)), None)
    if prefix is not None:
        return prefix, float(prices.per_segment[prefix])
    operator = operator_of(phone)
    return operator, float(prices.per_segment.get(operator, prices.per_segment.get(OTHER, 0.0)))


def sms_price(phone: str, segments: int, prices: SmsPrices) -> dict[str, object]:
    """What one SMS costs: `{"operator": …, "price": rupiah}`."""
    operator, per_segment = price_per_segment(phone, prices)
    return {"operator": operator, "price": round(per_segment * segments, 2)}

"""What an SMS costs, and a Polsek's monthly budget: priced per segment by the recipient's operator."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.notify import spending
from shared.settings import load
from shared.sms_pricing import SmsPrices, operator_of, sms_price

PRICES = SmsPrices()


@pytest.mark.parametrize("phone, operator", [
    ("+6281210010505", "telkomsel"), ("+6285212345678", "telkomsel"), ("+628551234567", "indosat"),
    ("+6289612345678", "indosat"),  # Tri's numbers: Indosat Ooredoo Hutchison in phonenumbers' data since 2022
    ("+6281712345678", "xl"), ("+6283112345678", "xl"), ("+6288112345678", "smartfren"), ("+14155550100", "other"),
])
def test_the_operator_comes_from_phonenumbers_carrier_data(phone, operator):
    assert operator_of(phone) == operator


def test_a_price_is_per_segment_and_a_number_prefix_overrides_the_operator():
    prices = load(SmsPrices, {"PER_SEGMENT": "indosat=300,+62896=280"})
    assert sms_price("+628551234567", 2, prices) == {"operator": "indosat", "price": 600.0}
    assert sms_price("+6289612345678", 3, prices) == {"operator": "+62896", "price": 840.0}
    assert sms_price("+6281210010505", 1, prices) == {"operator": "telkomsel", "price": 350.0}


def test_a_budget_per_polsek_with_a_default():
    prices = load(SmsPrices, {"MONTHLY_BUDGET": {"31.71.06": 200_000, "default": 1_000_000}})
    assert prices.budget_of("31.71.06") == 200_000 and prices.budget_of("31.71.01") == 1_000_000


@pytest.mark.parametrize("role, held", [("reporter", True), ("citizen", True), ("officer", False),
                                        ("duty_desk", False)])
def test_past_the_budget_only_reporters_and_citizens_wait(role, held):
    message = {"recipient_role": role, "polsek": "31.71.06"}
    assert spending.holds(message, lambda polsek: 1_500_000.0, PRICES) is held
    assert spending.holds(message, lambda polsek: 1_499_999.0, PRICES) is False


def test_the_console_is_warned_from_80_percent_and_told_when_the_budget_is_spent():
    spent = {"sms": 1, "segments": 1, "rupiah": 350.0}
    assert spending.summary("31.71.06", spent, spent | {"rupiah": 1_199_999.0}, 0, PRICES)["state"] == "ok"
    assert spending.summary("31.71.06", spent, spent | {"rupiah": 1_200_000.0}, 0, PRICES)["state"] == "warning"
    over = spending.summary("31.71.06", spent, spent | {"rupiah": 1_500_000.0}, 3, PRICES)
    assert (over["state"], over["held_reporter_updates"], over["share"]) == ("over", 3, 1.0)


def test_today_and_this_month_are_the_polseks_own():
    """At 16:30 UTC on 31 January it is already 1 February in Papua (WIT) but not in Jakarta (WIB)."""
    now = datetime(2026, 1, 31, 16, 30, tzinfo=timezone.utc)
    assert spending.periods("31.71.06", now) == (datetime(2026, 1, 30, 17, 0, tzinfo=timezone.utc),
                                                 datetime(2025, 12, 31, 17, 0, tzinfo=timezone.utc))
    assert spending.periods("94.71.01", now) == (datetime(2026, 1, 31, 15, 0, tzinfo=timezone.utc),) * 2

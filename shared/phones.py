"""Phone numbers: stored E.164, shown masked in logs."""
from __future__ import annotations

import phonenumbers


def normalise_phone(raw: str, region: str = "ID") -> str:
    """E.164 from whatever a person typed (`0812-…`, `62812…`, `+62 812 …`); ValueError if invalid."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str | None) -> str:
    """+6281234567890 → +62812*****890: enough to tell numbers apart in a log, not to call one."""
    if not e164:
        return "-"
    return e164[:6] + "*" * max(len(e164) - 9, 0) + e164[-3:]

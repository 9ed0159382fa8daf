"""SMS encoding and segments: the one home is `shared.sms` (community's texts count segments the same way)."""
from shared.sms import (  # noqa: F401
    GSM7,
    UCS2,
    encode_info,
    gsm7_septets,
    gsm7_text,
    single_segment_limit,
    transliterate,
)

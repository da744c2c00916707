"""What the outbox and the inbound path share: phone numbers and text the database can store,
and the formats the provider's webhook fields really have."""

import re

from django.conf import settings
from phonenumber_field.phonenumber import PhoneNumber, to_python

# PostgreSQL text cannot hold NUL, and a lone surrogate cannot be encoded as UTF-8 at all.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# A Twilio resource id: two capital letters and 32 hexadecimal digits (SM..., MM..., CA...).
_PROVIDER_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}\Z")
# A sender as carriers show it: a number (digits, spaces, dashes, a leading plus) or an
# alphanumeric sender name, neither longer than E.164's 15 digits plus formatting.
_SENDER = re.compile(r"[+]?[0-9A-Za-z][0-9A-Za-z .()\-_]{0,31}\Z")
PHONE_MAX = 64


def storable(text: str) -> str:
    """`text` with NULs and lone surrogates replaced by U+FFFD: the message is kept, and the
    mark shows where the character was."""
    return _UNSTORABLE.sub("\ufffd", text)


def provider_sid(raw: str | None) -> str | None:
    """The field as a provider sid when it has the provider's format, else None."""
    text = (raw or "").strip()
    return text if _PROVIDER_SID.match(text) else None


def normalise_phone(raw: str) -> str:
    """E.164 when the text is a phone number; otherwise the sender as given (short codes,
    alphanumeric names), cleaned and cut to the column. Never raises."""

    text = storable(raw or "").strip()
    try:
        number = to_python(text, region=settings.DEFAULT_PHONE_REGION)
    except Exception:
        return text[:PHONE_MAX]
    # An empty text comes back as the empty string, not as a number or None.
    if isinstance(number, PhoneNumber) and number.is_valid():
        return number.as_e164
    return text[:PHONE_MAX]


def sender_fields(raw: str | None) -> tuple[str, str | None]:
    """The sender as stored (`normalise_phone`), and the field as received when it was not a
    number or a sender name as carriers send them (kept beside the message), else None."""
    phone = normalise_phone(raw or "")
    text = (raw or "").strip()
    if not text or _SENDER.match(text):
        return phone, None
    return phone, storable(raw or "")

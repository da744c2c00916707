"""What the outbox and the inbound path share: phone numbers and text the database can store."""

from django.conf import settings
from phonenumber_field.phonenumber import PhoneNumber, to_python


def normalise_phone(raw: str) -> str:
    """E.164 when the text is a phone number; otherwise the sender as given (short codes,
    alphanumeric names). Never raises."""

    text = (raw or "").strip()
    try:
        number = to_python(text, region=settings.DEFAULT_PHONE_REGION)
    except Exception:
        return text[:64]
    # An empty text comes back as the empty string, not as a number or None.
    if isinstance(number, PhoneNumber) and number.is_valid():
        return number.as_e164
    return text[:64]


def storable(text: str) -> str:
    # PostgreSQL text cannot hold NUL; keep the message and mark where the NUL was.
    return text.replace("\x00", "\ufffd")

"""Twilio's webhooks: inbound SMS and delivery status callbacks.

Twilio posts forms, retries on timeouts and may deliver a message twice; each view checks the
signature, does its work once, and answers 2xx quickly so Twilio stops retrying. Whatever a
signed field holds, the message is stored: NULs and lone surrogates are replaced, and an id or
a sender without its real format is kept raw beside the message instead of in its column.
"""

import logging
import re
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from . import services

logger = logging.getLogger(__name__)


def signed_url(request: HttpRequest) -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path behind a proxy, else the request's own."""
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()
    return request.build_absolute_uri()


def signature_valid(request: HttpRequest) -> bool:
    """True when no token is configured, or the X-Twilio-Signature matches."""
    token = settings.TWILIO_AUTH_TOKEN
    if not token:
        return True
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    return RequestValidator(token).validate(signed_url(request), request.POST, signature)


# Characters XML 1.0 does not allow at all, even escaped: a reply holding one (a name typed
# with a control character) would make the whole answer unreadable to Twilio.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """`text` escaped for an XML element, with the characters XML cannot carry dropped."""
    return escape(_NOT_XML.sub("", text))


def twiml(reply: str | None) -> HttpResponse:
    inner = f"<Message>{xml_text(reply)}</Message>" if reply else ""
    return HttpResponse(
        f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>',
        content_type="text/xml; charset=utf-8",
    )


@csrf_exempt
@require_POST
def inbound_sms(request: HttpRequest) -> HttpResponse:
    if not signature_valid(request):
        logger.warning("inbound SMS with a bad signature from %s", request.META.get("REMOTE_ADDR"))
        return HttpResponseForbidden("Invalid Twilio signature.")
    form = request.POST
    sid_field = form.get("MessageSid") or form.get("SmsSid") or ""
    sid = services.provider_sid(sid_field)
    raw = {}
    if sid_field and sid is None:
        raw["MessageSid"] = services.storable(sid_field)
    sender = form.get("From", "")
    _, raw_sender = services.sender_fields(sender)
    if raw_sender is not None:
        raw["From"] = raw_sender
    result = services.inbound_receive(
        provider_sid=sid,
        sender=sender,
        body=form.get("Body", ""),
        recipient=services.storable(form.get("To", "")),
        raw=raw,
    )
    return twiml(result.reply)


@csrf_exempt
@require_POST
def delivery_status(request: HttpRequest) -> HttpResponse:
    if not signature_valid(request):
        return HttpResponseForbidden("Invalid Twilio signature.")
    sid = services.provider_sid(request.POST.get("MessageSid") or request.POST.get("SmsSid"))
    if sid is None:
        return HttpResponse(status=204)  # no message of ours has such an id
    services.message_status_update(
        provider_sid=sid,
        provider_status=request.POST.get("MessageStatus") or request.POST.get("SmsStatus", ""),
        error_code=request.POST.get("ErrorCode"),
    )
    return HttpResponse(status=204)

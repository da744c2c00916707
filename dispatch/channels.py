"""Reply channels beyond SMS: the one-tap offer page and the call-back line.

Some carriers only deliver one-way alphanumeric SMS, so a worker cannot answer by text. A
franchise may then add `link` (the offer SMS carries a short link to a page with two buttons)
and `voice` (the worker calls back; a menu reads their open offers and takes a key press).
"""

import re
from xml.sax.saxutils import quoteattr

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from messaging.services import normalise_phone
from messaging.webhooks import signature_valid, xml_text
from workers.models import Worker

from . import texts
from .models import Offer, Order
from .services.notify import order_values
from .services.replies import offer_respond, open_offers

VOICE_PATH = "/webhooks/twilio/voice/"
# An offer token as `callout` makes them: URL-safe base64, at most the column's 32 characters.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,32}\Z")


def _offer_for(token: str) -> Offer:
    if not _TOKEN.match(token):
        raise Http404("No such offer.")
    offer = (
        Offer.objects.filter(token=token)
        .select_related("order", "order__franchise", "order__site", "worker")
        .first()
    )
    if offer is None:
        raise Http404("No such offer.")
    return offer


@require_http_methods(["GET", "POST"])
def offer_page(request: HttpRequest, token: str) -> HttpResponse:
    """The one-tap page: the offer, and Accept / Decline. The token is the credential."""
    offer = _offer_for(token)
    language = offer.worker.language
    answered_now = None
    if request.method == "POST":
        answer = request.POST.get("answer")
        if answer not in ("accept", "decline"):
            return render(request, "dispatch/offer.html", _context(offer, language, None),
                          status=400)
        open_now = offer.response is None and offer.order.status == Order.Status.CALLING
        offer, key = offer_respond(offer=offer, accept=answer == "accept",
                                   channel=Offer.Channel.LINK)
        answered_now = key if open_now else "already_answered"
        offer = _offer_for(token)
    return render(request, "dispatch/offer.html", _context(offer, language, answered_now))


def _context(offer: Offer, language: str, answered_now: str | None) -> dict:
    order = offer.order
    values = order_values(order, language)
    return {
        "offer": offer,
        "order": order,
        "values": values,
        "russian": language == "ru",
        "answered_now": answered_now,
        "can_answer": offer.response is None and order.status == Order.Status.CALLING
        and offer.state == Offer.State.OFFERED,
        "summary": texts.render("offer", language, **values),
    }


def _twiml(body: str) -> HttpResponse:
    return HttpResponse(
        f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>',
        content_type="text/xml; charset=utf-8",
    )


def _say(text: str, language: str) -> str:
    voice_language = "ru-RU" if language == "ru" else "en-GB"
    return f"<Say language={quoteattr(voice_language)}>{xml_text(text)}</Say>"


VOICE_TEXTS = {
    "menu": {
        "ru": "Заказ {code}: {work}, {when}, оплата {pay} рублей в час. "
              "Нажмите 1, чтобы согласиться, или 2, чтобы отказаться.",
        "en": "Job {code}: {work}, {when}, pay {pay} per hour. "
              "Press 1 to accept or 2 to decline.",
    },
    "none": {
        "ru": "Сейчас для вас нет предложений. До свидания.",
        "en": "There are no job offers for you right now. Goodbye.",
    },
    "unknown": {
        "ru": "Ваш номер не найден. Отправьте SMS со словом JOIN и вашим именем.",
        "en": "We do not know this number. Text JOIN and your name to register.",
    },
    "accepted": {
        "ru": "Спасибо, вы согласились. Подтверждение придёт по SMS.",
        "en": "Thank you, you accepted. The confirmation comes by text.",
    },
    "declined": {
        "ru": "Понятно, вы отказались. Спасибо.",
        "en": "Understood, you declined. Thank you.",
    },
    "already_filled": {
        "ru": "Извините, набор уже закрыт.",
        "en": "Sorry, this job is already full.",
    },
    "urgent_booked": {
        "ru": "Спасибо, вы в бригаде. Приезжайте сейчас, адрес придёт по SMS.",
        "en": "Thank you, you are on the crew. Please come now; the address comes by text.",
    },
    "already_answered": {
        "ru": "Вы уже ответили на это предложение. Отказаться можно по SMS: CANCEL и код заказа.",
        "en": "You have already answered this offer. To withdraw, text CANCEL and the job code.",
    },
}


def _voice(key: str, language: str, **values: object) -> str:
    versions = VOICE_TEXTS[key]
    return versions.get(language, versions["ru"]).format(**values)


def _key_pressed(worker: Worker, token: str, digits: str) -> str:
    """Answer the offer read out with a key press; returns the voice text's key."""
    offer = Offer.objects.filter(token=token, worker=worker).first()
    if offer is None or digits not in ("1", "2"):
        return "none"
    accept = digits == "1"
    if offer.response is not None and (offer.response == Offer.Response.ACCEPTED) != accept:
        return "already_answered"  # a change of mind is not taken from a replayed key press
    _, key = offer_respond(offer=offer, accept=accept, channel=Offer.Channel.VOICE)
    return key


@csrf_exempt
@require_POST
def voice_callback(request: HttpRequest) -> HttpResponse:
    """Twilio's voice webhook: read the caller's first open offer and take 1 or 2.

    The follow-up (`Digits`) comes back to this URL with the offer's token in the query, so a
    key press answers exactly the offer that was read out.
    """
    if not signature_valid(request):
        return HttpResponseForbidden("Invalid Twilio signature.")
    phone = normalise_phone(request.POST.get("From", ""))
    worker = Worker.objects.filter(phone=phone).first()
    if worker is None:
        return _twiml(_say(_voice("unknown", "ru"), "ru") + "<Hangup/>")
    language = worker.language
    token = request.GET.get("offer") or ""
    digits = request.POST.get("Digits")
    if token and digits:
        key = _key_pressed(worker, token, digits) if _TOKEN.match(token) else "none"
        return _twiml(_say(_voice(key, language), language) + "<Hangup/>")
    offers = open_offers(worker)
    if not offers:
        return _twiml(_say(_voice("none", language), language) + "<Hangup/>")
    offer = offers[0]
    menu = _voice("menu", language, **order_values(offer.order, language))
    action = quoteattr(f"{VOICE_PATH}?offer={offer.token}")
    return _twiml(
        f'<Gather numDigits="1" action={action} method="POST" timeout="8">'
        f"{_say(menu, language)}</Gather>{_say(_voice('none', language), language)}"
    )

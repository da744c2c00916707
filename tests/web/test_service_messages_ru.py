"""The services' refusals in the user's language: a Russian user reads them in Russian, on the
pages (a form puts the service's message next to its field) and from the REST API, which
answers in the language of the request's Accept-Language. English stays English."""

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from rest_framework.test import APIClient

from billing.services import credit_give, validate_period
from dispatch.services.onsite import hours_refusal
from franchises.models import Franchise, User
from franchises.services import user_create

SITES = "/api/v1/sites/"


def test_a_period_refusal_names_the_years_in_russian() -> None:
    with translation.override("ru"), pytest.raises(ValidationError) as caught:
        validate_period("2026-13")
    assert caught.value.message_dict == {"period": [
        "Укажите период в виде ГГГГ-ММ с годом от 2000 до 2999, например 2026-10."
    ]}


def test_hours_off_the_quarter_hour_are_refused_in_the_active_language() -> None:
    with translation.override("ru"):
        russian = hours_refusal(Decimal("7.3"), shift_hours=Decimal(8))
    with translation.override("en"):
        english = hours_refusal(Decimal("7.3"), shift_hours=Decimal(8))
    assert russian == ("Часы считаются с точностью до четверти часа: 7.3 не подходит; "
                       "введите 7.25 для 7 ч 15 мин, 7.5 для 7 ч 30 мин.")
    assert english == ("Hours are counted to the quarter hour: 7.3 is not one; type 7.25 for "
                       "7 h 15 min, 7.5 for 7 h 30 min.")


@pytest.mark.django_db
def test_a_credit_of_nothing_is_refused_in_russian(spb: Franchise, spb_client: Any) -> None:
    with translation.override("ru"), pytest.raises(ValidationError) as caught:
        credit_give(franchise=spb, client=spb_client, period="2026-10", amount=Decimal(0),
                    reason="")
    assert caught.value.message_dict == {"amount": ["Сумма возврата должна быть больше нуля."]}


@pytest.mark.django_db
def test_a_taken_username_is_named_in_the_russian_refusal() -> None:
    user_create(username="petrova", password="secret-pass-1", role=User.Role.HQ)
    with translation.override("ru"), pytest.raises(ValidationError) as caught:
        user_create(username="petrova", password="secret-pass-2", role=User.Role.HQ)
    assert caught.value.message_dict == {"username": ["Логин «petrova» уже занят."]}


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "message"), [
    ("ru", "Этот адрес не найден; укажите широту и долготу."),
    ("en", "This address could not be found; give lat and lng."),
])
def test_the_api_answers_a_refusal_in_the_requested_language(
    spb_api: APIClient, spb_client: Any, language: str, message: str
) -> None:
    response = spb_api.post(
        SITES, {"client": spb_client.id, "address": "Nowhere street 1, Atlantis"},
        format="json", HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 400, response.content
    assert response.json() == {"address": [message]}

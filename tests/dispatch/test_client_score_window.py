"""A client's bare "1".."5" scores the crew of our latest request, and only a recent one (three
days): a second digit never rates an older crew whose request went unanswered."""

from datetime import datetime, timedelta

from rest_framework.test import APIClient

from dispatch.models import Order
from messaging.segments import count_segments
from ratings.models import RatingEvent
from tests.dispatch.conftest import START, Desk
from tests.dispatch.test_onsite import attendance, booked, client_says, complete, present
from workers.models import Worker


def completed(desk: Desk, api: APIClient, start: datetime) -> tuple[Order, list[Worker]]:
    """An order that starts at `start`, placed the day before, worked by its crew of three and
    completed at the end of the shift (which asks the client for a score)."""
    desk.at(start - timedelta(days=1))
    order, crew, _ = booked(desk, start=start)
    desk.at(start + timedelta(minutes=5))
    assert attendance(api, order, [present(worker) for worker in crew]).status_code == 200
    desk.at(start + timedelta(hours=6))
    assert complete(api, order).status_code == 200
    return order, crew


def client_scores(crew: list[Worker]) -> list[int | None]:
    return list(RatingEvent.objects.filter(worker__in=crew, kind="score", source="client")
                .values_list("score", flat=True))


def test_a_second_digit_does_not_rate_a_two_week_old_crew(
    desk: Desk, spb_api: APIClient
) -> None:
    old, old_crew = completed(desk, spb_api, START)
    new, new_crew = completed(desk, spb_api, START + timedelta(days=14))
    desk.at(START + timedelta(days=14, hours=7))

    first = client_says(desk, "5").reply
    second = client_says(desk, "3").reply

    assert new.code in first
    assert client_scores(new_crew) == [5, 5, 5]
    assert client_scores(old_crew) == []
    old.refresh_from_db()
    assert old.client_score is None
    assert second == f"Бригада {new.code} уже оценена: 5. Спасибо!"  # the score stands
    assert count_segments(second).segments == 1


def test_a_request_older_than_three_days_is_not_answered_by_a_digit(
    desk: Desk, spb_api: APIClient
) -> None:
    order, crew = completed(desk, spb_api, START)
    desk.at(START + timedelta(hours=6, days=3, minutes=1))

    reply = client_says(desk, "4").reply

    assert order.code not in reply
    assert client_scores(crew) == []
    order.refresh_from_db()
    assert order.client_score is None


def test_a_request_two_days_old_is_answered(desk: Desk, spb_api: APIClient) -> None:
    order, crew = completed(desk, spb_api, START)
    desk.at(START + timedelta(hours=6, days=2))

    reply = client_says(desk, "4").reply

    assert order.code in reply
    assert client_scores(crew) == [4, 4, 4]


def test_only_the_newest_request_counts_even_if_an_older_recent_one_is_open(
    desk: Desk, spb_api: APIClient
) -> None:
    _, morning_crew = completed(desk, spb_api, START)
    _, evening_crew = completed(desk, spb_api, START + timedelta(hours=8))

    client_says(desk, "4")
    client_says(desk, "2")

    assert client_scores(evening_crew) == [4, 4, 4]
    assert client_scores(morning_crew) == []  # its request stays unanswered

"""Quotes and royalties: pure arithmetic on Decimal, rounded half-up to the cent at the end."""

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.pricing import CONDITION_FACTORS, RateCardTerms, money, quote, royalty

TERMS = RateCardTerms(bill_rate=Decimal("200.00"), pay_rate=Decimal("100.00"))
MOSCOW = ZoneInfo("Europe/Moscow")
NOVOSIBIRSK = ZoneInfo("Asia/Novosibirsk")
# Wednesday 14 October 2026, 09:00 in Moscow: a weekday morning, no surcharge of any kind.
WEEKDAY_MORNING = datetime(2026, 10, 14, 9, 0, tzinfo=MOSCOW)


def _quote(terms: RateCardTerms = TERMS, *, conditions: str = "warm_indoor",
           headcount: int = 5, hours: Decimal = Decimal(8),
           local_start: datetime = WEEKDAY_MORNING) -> object:
    return quote(terms, conditions=conditions, headcount=headcount, hours=hours,
                 local_start=local_start)


class TestConditions:
    @pytest.mark.parametrize(
        ("conditions", "bill_rate", "pay_rate"),
        [
            ("warm_indoor", "200.00", "100.00"),
            ("cold_indoor", "220.00", "110.00"),
            ("outdoor", "240.00", "120.00"),
            ("heavy", "250.00", "125.00"),
        ],
    )
    def test_each_condition_scales_bill_and_pay(
        self, conditions: str, bill_rate: str, pay_rate: str
    ) -> None:
        quoted = _quote(conditions=conditions, headcount=3, hours=Decimal(6))
        assert quoted.bill_rate == Decimal(bill_rate)
        assert quoted.pay_rate == Decimal(pay_rate)
        assert quoted.total_bill == Decimal(bill_rate) * 6 * 3
        assert quoted.total_pay == Decimal(pay_rate) * 6 * 3

    def test_the_published_factors(self) -> None:
        published = {
            "warm_indoor": Decimal("1.00"), "cold_indoor": Decimal("1.10"),
            "outdoor": Decimal("1.20"), "heavy": Decimal("1.25"),
        }
        assert published == CONDITION_FACTORS

    def test_the_worker_share_can_ignore_conditions(self) -> None:
        terms = RateCardTerms(bill_rate=Decimal(200), pay_rate=Decimal(100),
                              pay_follows_conditions=False)
        quoted = _quote(terms, conditions="heavy")
        assert (quoted.bill_rate, quoted.pay_rate) == (Decimal("250.00"), Decimal("100.00"))

    def test_warm_indoor_is_the_base_and_adds_no_breakdown_line(self) -> None:
        quoted = _quote()
        assert quoted.breakdown == ["base 200.00/h bill, 100.00/h pay"]


class TestTimeOfDay:
    @pytest.mark.parametrize(
        ("hour", "minute", "night"),
        [(5, 59, True), (6, 0, False), (12, 0, False), (21, 59, False), (22, 0, True),
         (0, 0, True), (3, 30, True)],
    )
    def test_night_is_22_to_6_local(self, hour: int, minute: int, night: bool) -> None:
        start = datetime(2026, 10, 14, hour, minute, tzinfo=MOSCOW)
        quoted = _quote(local_start=start)
        expected = (Decimal("240.00"), Decimal("120.00")) if night else (
            Decimal("200.00"), Decimal("100.00"))
        assert (quoted.bill_rate, quoted.pay_rate) == expected

    @pytest.mark.parametrize(
        ("day", "weekend"),
        [(16, False), (17, True), (18, True), (19, False)],  # Friday .. Monday
    )
    def test_weekend_is_saturday_and_sunday(self, day: int, weekend: bool) -> None:
        quoted = _quote(local_start=datetime(2026, 10, day, 12, 0, tzinfo=MOSCOW))
        assert quoted.bill_rate == (Decimal("220.00") if weekend else Decimal("200.00"))
        assert quoted.pay_rate == (Decimal("110.00") if weekend else Decimal("100.00"))

    def test_night_and_weekend_multiply(self) -> None:
        quoted = _quote(local_start=datetime(2026, 10, 17, 23, 0, tzinfo=MOSCOW))
        assert quoted.bill_rate == Decimal("264.00")  # 200 x 1.2 x 1.1
        assert quoted.pay_rate == Decimal("132.00")
        assert "night x1.20" in quoted.breakdown
        assert "weekend x1.10" in quoted.breakdown

    def test_the_local_clock_decides_not_utc(self) -> None:
        # Friday 16 October 2026 21:30 UTC is already Saturday 00:30 in Moscow: night and
        # weekend there, though in UTC it is a Friday evening before ten.
        moment = datetime(2026, 10, 16, 21, 30, tzinfo=UTC)
        assert _quote(local_start=moment).bill_rate == Decimal("200.00")
        local = _quote(local_start=moment.astimezone(MOSCOW))
        assert local.bill_rate == Decimal("264.00")

    def test_novosibirsk_evening_is_already_night(self) -> None:
        # 16:00 UTC on a Wednesday is 23:00 in Novosibirsk (UTC+7) but 19:00 in Moscow.
        moment = datetime(2026, 10, 14, 16, 0, tzinfo=UTC)
        assert _quote(local_start=moment.astimezone(NOVOSIBIRSK)).bill_rate == Decimal("240.00")
        assert _quote(local_start=moment.astimezone(MOSCOW)).bill_rate == Decimal("200.00")

    def test_factors_come_from_the_card(self) -> None:
        terms = RateCardTerms(bill_rate=Decimal(200), pay_rate=Decimal(100),
                              night_factor=Decimal("1.50"), weekend_factor=Decimal("1.25"))
        quoted = _quote(terms, local_start=datetime(2026, 10, 18, 2, 0, tzinfo=MOSCOW))
        assert quoted.bill_rate == Decimal("375.00")
        assert quoted.pay_rate == Decimal("187.50")


class TestCrewsAndHours:
    @pytest.mark.parametrize(
        ("headcount", "bill_rate"),
        [(1, "200.00"), (19, "200.00"), (20, "190.00"), (49, "190.00"), (50, "180.00"),
         (120, "180.00")],
    )
    def test_larger_crews_get_a_lower_bill_rate(self, headcount: int, bill_rate: str) -> None:
        quoted = _quote(headcount=headcount)
        assert quoted.bill_rate == Decimal(bill_rate)
        assert quoted.pay_rate == Decimal("100.00")  # the crew discount is not the worker's
        assert quoted.total_bill == Decimal(bill_rate) * 8 * headcount

    def test_minimum_hours_are_billed(self) -> None:
        quoted = _quote(headcount=2, hours=Decimal("2.5"))
        assert quoted.hours_billed == Decimal(4)
        assert quoted.total_bill == Decimal("1600.00")  # 200 x 4 h x 2
        assert "minimum 4 h billed" in quoted.breakdown

    def test_hours_above_the_minimum_are_billed_as_given(self) -> None:
        quoted = _quote(headcount=3, hours=Decimal("7.5"))
        assert quoted.hours_billed == Decimal("7.5")
        assert quoted.total_bill == Decimal("4500.00")
        assert quoted.total_pay == Decimal("2250.00")

    def test_the_card_sets_the_minimum(self) -> None:
        terms = RateCardTerms(bill_rate=Decimal(200), pay_rate=Decimal(100),
                              min_hours=Decimal(6))
        assert _quote(terms, hours=Decimal(5)).hours_billed == Decimal(6)


class TestRoundingToTheCent:
    def test_the_rate_is_rounded_half_up(self) -> None:
        # 200.15 x 1.10 = 220.165: half-up gives .17 where banker's rounding would give .16.
        terms = RateCardTerms(bill_rate=Decimal("200.15"), pay_rate=Decimal("100.05"))
        quoted = _quote(terms, conditions="cold_indoor", headcount=3, hours=Decimal("7.5"))
        assert quoted.bill_rate == Decimal("220.17")
        assert quoted.pay_rate == Decimal("110.06")  # 110.055
        assert quoted.total_bill == Decimal("4953.83")  # 220.17 x 7.5 x 3 = 4953.825
        assert quoted.total_pay == Decimal("2476.35")  # 110.06 x 7.5 x 3 = 2476.35

    @given(
        terms=st.builds(
            RateCardTerms,
            bill_rate=st.decimals(min_value=0, max_value=1000, places=2),
            pay_rate=st.decimals(min_value=0, max_value=500, places=2),
        ),
        conditions=st.sampled_from(sorted(CONDITION_FACTORS)),
        headcount=st.integers(min_value=1, max_value=200),
        tenths=st.integers(min_value=1, max_value=240),
        local_start=st.builds(
            datetime, st.just(2026), st.just(10), st.integers(min_value=12, max_value=18),
            st.integers(min_value=0, max_value=23), tzinfo=st.just(MOSCOW),
        ),
    )
    def test_totals_are_rate_times_hours_times_headcount(
        self, terms: RateCardTerms, conditions: str, headcount: int, tenths: int,
        local_start: datetime,
    ) -> None:
        hours = Decimal(tenths) / 10
        quoted = _quote(terms, conditions=conditions, headcount=headcount, hours=hours,
                        local_start=local_start)
        assert quoted.hours_billed == max(hours, terms.min_hours)
        for amount in (quoted.bill_rate, quoted.pay_rate, quoted.total_bill, quoted.total_pay):
            assert amount.as_tuple().exponent == -2
        assert quoted.total_bill == money(quoted.bill_rate * quoted.hours_billed * headcount)
        assert quoted.total_pay == money(quoted.pay_rate * quoted.hours_billed * headcount)
        assert quoted.headcount == headcount

    @pytest.mark.parametrize(
        "bad", [{"headcount": 0}, {"hours": Decimal(0)}, {"hours": Decimal(-1)},
                {"conditions": "lava"}],
    )
    def test_impossible_terms_raise(self, bad: dict) -> None:
        with pytest.raises(ValueError, match=r"headcount|hours|conditions"):
            _quote(**bad)


class TestRoyalty:
    @pytest.mark.parametrize(
        ("turnover", "rate", "fee", "expected_royalty", "expected_total"),
        [
            ("1000.03", "0.15", "0", "150.00", "150.00"),  # 150.0045
            ("1000.10", "0.15", "0", "150.02", "150.02"),  # 150.015, half-up
            ("1000.10", "0.15", "5000.00", "150.02", "5150.02"),
            ("1000.30", "0.15", "0", "150.05", "150.05"),  # 150.045
            ("0", "0.15", "2500.00", "0.00", "2500.00"),
            ("123456.78", "0.1234", "99.99", "15234.57", "15334.56"),  # 15234.566652
        ],
    )
    def test_royalty_is_turnover_times_rate_half_up(
        self, turnover: str, rate: str, fee: str, expected_royalty: str, expected_total: str
    ) -> None:
        amount, total = royalty(Decimal(turnover), Decimal(rate), Decimal(fee))
        assert amount == Decimal(expected_royalty)
        assert total == Decimal(expected_total)
        assert str(amount) == expected_royalty

    @given(
        turnover=st.decimals(min_value=0, max_value=10**10, places=2),
        rate=st.decimals(min_value=0, max_value=1, places=4),
        fee=st.decimals(min_value=0, max_value=10**7, places=2),
    )
    def test_royalty_plus_fee_is_the_total(
        self, turnover: Decimal, rate: Decimal, fee: Decimal
    ) -> None:
        amount, total = royalty(turnover, rate, fee)
        assert amount + fee == total
        assert abs(amount - turnover * rate) <= Decimal("0.005")
        assert amount.as_tuple().exponent == -2
        assert total.as_tuple().exponent == -2

    def test_money_rounds_half_up_not_to_even(self) -> None:
        assert money(Decimal("0.125")) == Decimal("0.13")
        assert money(Decimal("0.135")) == Decimal("0.14")
        assert money(Decimal("-0.125")) == Decimal("-0.13")
        assert money(Decimal("2.5")) == Decimal("2.50")

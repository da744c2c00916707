"""The client pays for the crew it asked for: who of those who came is billed, who is kept,
who goes home (dispatch/surplus.py)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.surplus import Present, crew_split

EIGHT = Decimal(8)


def _came(count: int, hours: Decimal = EIGHT, **marks: bool) -> list[Present]:
    return [Present(worker_id, hours, **marks) for worker_id in range(1, count + 1)]


class TestExamples:
    def test_twelve_for_ten_bills_the_first_ten_to_arrive_and_sends_two_home(self) -> None:
        split = crew_split(10, _came(12))
        assert split.crew == tuple(range(1, 11))
        assert split.kept == ()
        assert split.sent_home == (11, 12)

    def test_one_of_the_two_kept_is_billed_beyond_the_headcount(self) -> None:
        came = _came(12)
        came[11] = Present(12, EIGHT, kept=True)
        split = crew_split(10, came)
        assert split.billed == (*range(1, 11), 12)
        assert split.kept == (12,)
        assert split.sent_home == (11,)

    def test_the_longest_hours_are_billed_first(self) -> None:
        came = [Present(1, Decimal("4.5")), Present(2, EIGHT), Present(3, Decimal(6)),
                Present(4, EIGHT)]
        split = crew_split(2, came)
        assert split.crew == (2, 4)
        assert split.sent_home == (3, 1)

    def test_fewer_than_the_headcount_are_all_billed_and_nobody_goes_home(self) -> None:
        split = crew_split(10, _came(7))
        assert split.crew == tuple(range(1, 8))
        assert split.sent_home == ()

    def test_a_kept_worker_the_order_needs_is_simply_crew(self) -> None:
        came = [Present(1, EIGHT), Present(2, EIGHT, kept=True)]
        split = crew_split(2, came)
        assert split.crew == (1, 2)
        assert split.kept == ()

    def test_a_worker_sent_home_is_not_billed_even_when_the_crew_is_short(self) -> None:
        """Sent home at nine, a crew member leaving at noon does not bring them back: they
        did not work."""
        came = [Present(1, EIGHT), Present(2, Decimal(3)), Present(3, EIGHT, sent_home=True)]
        split = crew_split(2, came)
        assert split.crew == (1, 2)
        assert split.sent_home == (3,)

    def test_kept_wins_over_sent_home(self) -> None:
        split = crew_split(1, [Present(1, EIGHT), Present(2, EIGHT, kept=True, sent_home=True)])
        assert split.kept == (2,)
        assert split.sent_home == ()

    def test_bad_input_is_refused(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            crew_split(-1, [])
        with pytest.raises(ValueError, match="twice"):
            crew_split(2, [Present(1, EIGHT), Present(1, EIGHT)])


hours = st.decimals(min_value=0, max_value=36, places=2)


@st.composite
def attendance(draw: st.DrawFn) -> tuple[int, list[Present]]:
    headcount = draw(st.integers(min_value=0, max_value=15))
    marks = draw(st.lists(st.tuples(hours, st.booleans(), st.booleans()), max_size=25))
    return headcount, [Present(index, worked, kept=kept, sent_home=home)
                       for index, (worked, kept, home) in enumerate(marks)]


class TestProperties:
    @given(attendance())
    def test_everyone_who_came_is_in_exactly_one_group(
        self, case: tuple[int, list[Present]]
    ) -> None:
        headcount, came = case
        split = crew_split(headcount, came)
        groups = split.crew + split.kept + split.sent_home
        assert sorted(groups) == sorted(p.worker_id for p in came)

    @given(attendance())
    def test_at_most_the_headcount_is_billed_besides_the_kept(
        self, case: tuple[int, list[Present]]
    ) -> None:
        headcount, came = case
        split = crew_split(headcount, came)
        kept = {p.worker_id for p in came if p.kept}
        assert len(split.crew) <= headcount
        assert set(split.kept) <= kept
        assert len(split.billed) <= headcount + len(kept)
        # Nobody the client asked to keep goes home.
        assert not kept & set(split.sent_home)

    @given(attendance())
    def test_nobody_goes_home_while_the_crew_is_short_of_people_who_stayed(
        self, case: tuple[int, list[Present]]
    ) -> None:
        headcount, came = case
        split = crew_split(headcount, came)
        stayed_home = {p.worker_id for p in came if p.sent_home and not p.kept}
        extras = set(split.sent_home) - stayed_home
        if extras:
            assert len(split.crew) == headcount
        # Everyone who stayed is billed when there is room for them all.
        stayed = [p for p in came if not p.sent_home or p.kept]
        if len(stayed) <= headcount:
            assert set(split.billed) == {p.worker_id for p in stayed}

    @given(attendance())
    def test_the_crew_has_the_longest_hours_of_those_who_stayed(
        self, case: tuple[int, list[Present]]
    ) -> None:
        headcount, came = case
        split = crew_split(headcount, came)
        by_id = {p.worker_id: p for p in came}
        unmarked = [by_id[w] for w in split.crew if not by_id[w].kept]
        extras = [by_id[w] for w in split.sent_home if not by_id[w].sent_home]
        if unmarked and extras:
            assert min(p.hours for p in unmarked) >= max(p.hours for p in extras)
        # Among equal hours the earlier arrival is crew.
        for person in unmarked:
            for extra in extras:
                if person.hours == extra.hours:
                    assert came.index(person) < came.index(extra)

    @given(attendance())
    def test_the_billed_hours_are_the_most_the_headcount_could_bill(
        self, case: tuple[int, list[Present]]
    ) -> None:
        """No other choice of the headcount among those who stayed bills more hours: the
        client pays for the crew's longest shifts, never more workers."""
        headcount, came = case
        split = crew_split(headcount, came)
        by_id = {p.worker_id: p for p in came}
        stayed = sorted((p.hours for p in came if not p.kept and not p.sent_home),
                        reverse=True)
        unmarked_crew = [by_id[w].hours for w in split.crew if not by_id[w].kept]
        assert sum(unmarked_crew) == sum(stayed[:headcount])

"""Who of the workers who came the client pays for, and who goes home. Pure: no Django.

Over-booking is the franchise's insurance against no-shows, not the client's purchase: an
order bills at most its headcount of workers. Where more stayed and worked, the headcount's
worth is billed, the longest hours first (the crew the client asked for); on top of that
come the extras the client asked to keep, which the foreman marks on site. Everyone else who
came goes home and is paid the franchise's show-up fee by the franchise.

The same split tells the foreman on site who goes home once the headcount is present (with
the shift's hours for anyone whose hours are not recorded yet), and writes the invoice and
pay lines at completion and after every correction.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Present:
    """One worker who came. `kept`: the client asked to keep them beyond the headcount;
    `sent_home`: the foreman has sent them home (they stopped working when told)."""

    worker_id: int
    hours: Decimal
    kept: bool = False
    sent_home: bool = False


@dataclass(frozen=True)
class CrewSplit:
    """Worker ids, each in exactly one group: `crew` (billed, at most the headcount), `kept`
    (billed beyond the headcount at the client's request) and `sent_home` (not billed; paid
    the show-up fee). `crew` and `kept` run longest hours first; `sent_home` lists those the
    foreman sent home, then the extras who stayed, by the same ranking."""

    crew: tuple[int, ...]
    kept: tuple[int, ...]
    sent_home: tuple[int, ...]

    @property
    def billed(self) -> tuple[int, ...]:
        return self.crew + self.kept


def crew_split(headcount: int, present: Sequence[Present]) -> CrewSplit:
    """Split those who came (`present`, listed in the order they arrived, which breaks ties
    of equal hours: the first to come are the crew) into the billed crew, the kept extras and
    those sent home.

    The crew is the `headcount` longest-working of those who stayed, were not sent home and
    are not marked kept. When fewer stayed, kept workers (longest hours first) make up the
    headcount: a worker the order needed is simply part of its crew. Kept workers beyond
    that are billed as kept; everyone else goes home. A worker marked both kept and sent home
    counts as kept (the client's word came last)."""
    if headcount < 0:
        raise ValueError("headcount must not be negative")
    seen = set()
    for person in present:
        if person.worker_id in seen:
            raise ValueError(f"worker {person.worker_id} is listed twice")
        seen.add(person.worker_id)
    # sorted() is stable: among equal hours, the earlier arrival ranks first.
    stayed = sorted((p for p in present if not p.kept and not p.sent_home),
                    key=lambda p: -p.hours)
    kept = sorted((p for p in present if p.kept), key=lambda p: -p.hours)
    crew = stayed[:headcount]
    short = headcount - len(crew)
    crew += kept[:short]
    return CrewSplit(
        crew=tuple(p.worker_id for p in crew),
        kept=tuple(p.worker_id for p in kept[short:]),
        sent_home=tuple(p.worker_id for p in present if p.sent_home and not p.kept)
        + tuple(p.worker_id for p in stayed[headcount:]),
    )

"""The raw SQL of dispatch, in one place beside its selectors.

Each statement here runs on a hot path (a worker's every reply, every call-out's candidate
search), where compiling the same ORM query afresh costs more than the query itself. Column
and table names come from the models (core.rows), so a renamed field breaks loudly. Where a
rule is also expressed in Python, the two are held equal by tests on generated data
(tests/dispatch/test_sql_rules.py): the crew of a running order (`crew_count` against
selectors.crew_on_site) and the candidate cost (`approximate_cost` against
optimizer.worker_cost).
"""

import functools
from typing import NamedTuple

from django.db import connections

from clients.models import Site
from core import rows
from franchises.models import Franchise
from messaging.models import OptOut
from workers.models import Worker

from .models import ClientPreference, Offer, Order

# An offer in these states books its worker for the order's shift.
BOOKED_STATES = (Offer.State.CONFIRMED, Offer.State.STANDBY)
# The worker's best rating: the cost counts the points below it.
MAX_RATING = 5.0


def literal(value: str) -> str:
    """A model constant written into SQL text (so the planner sees it, e.g. to use a partial
    index): only plain identifiers qualify."""
    if not value.isidentifier():
        raise ValueError(f"not a plain SQL literal: {value!r}")
    return f"'{value}'"


# --- The offers a worker's reply is about ------------------------------------------------------


@functools.cache
def offer_select(alias: str) -> str:
    """SELECT of an offer with its order, the order's franchise and site (aliases f, o, fr, s),
    up to the WHERE, for core.rows.instances."""
    models = (Offer, Order, Franchise, Site)
    names = ("f", "o", "fr", "s")
    selected = ", ".join(rows.columns(alias, m, n) for m, n in zip(models, names, strict=True))
    return (
        f"SELECT {selected} FROM {rows.table(alias, Offer, 'f')} "
        f"JOIN {rows.table(alias, Order, 'o')} "
        f"ON {rows.column(alias, Offer, 'order', 'f')} = {rows.column(alias, Order, 'id', 'o')} "
        f"JOIN {rows.table(alias, Franchise, 'fr')} "
        f"ON {rows.column(alias, Order, 'franchise', 'o')} = "
        f"{rows.column(alias, Franchise, 'id', 'fr')} "
        f"JOIN {rows.table(alias, Site, 's')} "
        f"ON {rows.column(alias, Order, 'site', 'o')} = {rows.column(alias, Site, 'id', 's')} "
    )


@functools.cache
def offer_fields(alias: str) -> dict[str, str]:
    """Names usable in a WHERE after `offer_select`: `{f_state}` for the offer's `state`,
    `{o_code}` for the order's `code`, and so on."""
    offer = ("id", "worker", "state", "response")
    order = ("code", "status", "start", "ends_at")
    return {
        **{f"f_{name}": rows.column(alias, Offer, name, "f") for name in offer},
        **{f"o_{name}": rows.column(alias, Order, name, "o") for name in order},
    }


@functools.cache
def crew_count(alias: str, order_id: str) -> str:
    """How many of order `order_id`'s (an SQL expression) offers count on its crew while the
    work runs: confirmed, and not marked off it (`Offer.OFF_CREW_MARKS`). The SQL of
    selectors.crew_on_site."""
    c = rows.Table(alias, Offer, "c")
    marks = ", ".join(literal(mark) for mark in Offer.OFF_CREW_MARKS)
    return (
        f"(SELECT COUNT(*) FROM {c} WHERE {c.order} = {order_id} "
        f"AND {c.state} = {literal(Offer.State.CONFIRMED)} "
        f"AND ({c.attendance} IS NULL OR {c.attendance} NOT IN ({marks})))"
    )


@functools.cache
def open_offer_where(alias: str) -> str:
    """The condition for offers a worker may still answer, after `offer_select`: offered and
    unanswered, on an order still calling, or running with its crew short and its shift not
    over. Parameters: worker id, offered, calling, in progress, now."""
    crew = crew_count(alias, rows.column(alias, Order, "id", "o"))
    headcount = rows.column(alias, Order, "headcount", "o")
    return (
        "{f_worker} = %s AND {f_state} = %s AND {f_response} IS NULL AND ({o_status} = %s "
        f"OR ({{o_status}} = %s AND {{o_ends_at}} > %s AND {crew} < {headcount}))"
    )


# --- The call-out's candidate search -----------------------------------------------------------


class CandidateRow(NamedTuple):
    """A row of `candidate_sql`, in its column order. The search moves thousands of rows as
    the plain tuples the cursor returns (naming each would cost milliseconds) and reads them
    by the positions `COLUMN` gives each name."""

    worker_id: int
    lat: float
    lng: float
    rating: float
    reliability: float
    offers_received: int
    offers_answered: int
    offers_accepted: int
    shifts_completed: int
    no_shows: int
    language: str
    is_foreman: bool
    is_favourite: bool
    approximate_cost: float


# Each column's position in a candidate row, by name.
COLUMN = {name: index for index, name in enumerate(CandidateRow._fields)}
# The leading columns `candidates_for_order` ranks with numpy, all numbers.
NUMERIC_COLUMNS = COLUMN["language"]


def approximate_cost(w: rows.Table, is_favourite: str) -> str:
    """The optimiser's cost of a worker for an order (optimizer.worker_cost plus the distance
    at the weight per km, less the favourite bonus), with the flat (equirectangular) distance
    from the site. Parameters: site latitude, km per degree of latitude (twice), site
    longitude, km per degree of longitude there (twice), the weights per km, per rating point
    and for unreliability, then `is_favourite`'s own and the favourite bonus."""
    north = f"(({w.lat} - %s) * %s)"
    east = f"(({w.lng} - %s) * %s)"
    return (
        f"SQRT({north} * {north} + {east} * {east}) * %s + ({MAX_RATING} - {w.rating}) * %s "
        f"+ (1.0 - {w.reliability}) * %s - CASE WHEN {is_favourite} THEN %s ELSE 0.0 END"
    )


@functools.cache
def candidate_sql(alias: str, n_skills: int) -> str:
    """The call-out's candidate query for a database alias and a number of qualifying skills.

    Written once as SQL (the ORM compiled the same statement afresh on every call, several
    milliseconds). Eligibility as `candidates_for_order` states it; the small sets (opted-out
    phones, workers booked at an overlapping time, this order's offers, the client's blocked
    and favourite workers) are `IN (SELECT ...)` sets, which PostgreSQL hashes once per call
    instead of probing an index for each worker in the box. Rows come cheapest first by the
    call-out's cost with the flat (equirectangular) distance: close enough to the great-circle
    one within a wave's radius to choose which rows to rank exactly.
    """
    connection = connections[alias]
    w = rows.Table(alias, Worker, "w")
    opt = rows.Table(alias, OptOut, "opt")
    booked, booked_order = rows.Table(alias, Offer, "b"), rows.Table(alias, Order, "bo")
    offered = rows.Table(alias, Offer, "f")
    blocked = rows.Table(alias, ClientPreference, "p")
    favourite = rows.Table(alias, ClientPreference, "fp")
    # Every backend's wrapper has `operators`; django-stubs leaves it out of the base class.
    like = connection.operators["contains"]  # type: ignore[attr-defined]
    kind = ClientPreference.Kind
    if connection.vendor == "postgresql":
        # Served by the GiST index of workers' migration 0002.
        box = f"point({w.lng}, {w.lat}) <@ box(point(%s, %s), point(%s, %s))"
    else:
        box = f"{w.lng} BETWEEN %s AND %s AND {w.lat} BETWEEN %s AND %s"
    skills = " OR ".join([f"{w.skills} {like}"] * n_skills)
    is_favourite = (
        f"{w.id} IN (SELECT {favourite.worker} FROM {favourite} "
        f"WHERE {favourite.client} = %s AND {favourite.kind} = {literal(kind.FAVOURITE)})"
    )
    cost = approximate_cost(w, is_favourite)
    open_statuses = ", ".join(literal(status) for status in Order.OPEN_STATUSES)
    booked_states = ", ".join(literal(state) for state in BOOKED_STATES)
    return (
        f"SELECT {w.id}, {w.lat}, {w.lng}, {w.rating}, {w.reliability}, {w.offers_received}, "
        f"{w.offers_answered}, {w.offers_accepted}, {w.shifts_completed}, {w.no_shows}, "
        f"{w.language}, {w.skills} {like}, {is_favourite}, {cost} AS approximate_cost "
        f"FROM {w} "
        f"WHERE {w.status} = {literal(Worker.Status.ACTIVE)} AND {box} "
        f"AND {w.vetted_at} IS NOT NULL AND ({skills}) "
        f"AND {w.phone} NOT IN (SELECT {opt.phone} FROM {opt}) "
        f"AND {w.id} NOT IN (SELECT {booked.worker} FROM {booked} JOIN {booked_order} "
        f"ON {booked_order.id} = {booked.order} WHERE {booked.state} IN ({booked_states}) "
        f"AND {booked_order.status} IN ({open_statuses}) AND {booked_order.start} < %s "
        f"AND {booked_order.ends_at} > %s AND {booked.order} <> %s) "
        f"AND {w.id} NOT IN (SELECT {offered.worker} FROM {offered} WHERE {offered.order} = %s) "
        f"AND {w.id} NOT IN (SELECT {blocked.worker} FROM {blocked} "
        f"WHERE {blocked.client} = %s AND {blocked.kind} = {literal(kind.BLOCKED)}) "
        f"ORDER BY approximate_cost, {w.id} LIMIT %s"
    )

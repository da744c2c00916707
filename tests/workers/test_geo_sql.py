"""The great-circle distance is written once in Python (core.geo) and once in SQL
(workers.selectors.workers_near): the two agree on generated points, on whatever database the
suite runs on."""

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.geo import GeoPoint, great_circle_km, haversine_km_vec
from workers.models import Worker
from workers.selectors import workers_near

pytestmark = pytest.mark.django_db

_phones = itertools.count(1)
# Degrees to six places, as homes and sites are stored (PostgreSQL raises on the float
# underflow of points a hair's breadth apart, which no real address is).
lats = st.floats(-89.0, 89.0).map(lambda value: round(value, 6))
lngs = st.floats(-180.0, 180.0).map(lambda value: round(value, 6))


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(origin=st.tuples(lats, lngs), homes=st.lists(st.tuples(lats, lngs), min_size=1,
                                                     max_size=8))
def test_the_database_distance_is_the_python_one(
    db: None, origin: tuple[float, float], homes: list[tuple[float, float]]
) -> None:
    Worker.objects.all().delete()
    workers = Worker.objects.bulk_create(
        Worker(name="Far", phone=f"+7933{next(_phones):07d}", lat=lat, lng=lng,
               skills=["loading"])
        for lat, lng in homes
    )
    point = GeoPoint(*origin)
    # Half the Earth's circumference and more: every home is inside.
    in_sql = dict(workers_near(Worker.objects.all(), point=point, radius_km=20100)
                  .values_list("id", "distance_km"))
    in_python = haversine_km_vec(origin[0], origin[1], [w.lat for w in workers],
                                 [w.lng for w in workers])
    assert set(in_sql) == {w.pk for w in workers}
    for worker, km in zip(workers, in_python.tolist(), strict=True):
        assert in_sql[worker.pk] == pytest.approx(km, rel=1e-9, abs=1e-6)
        assert great_circle_km(point, GeoPoint(worker.lat, worker.lng)) == km


def test_pairs_and_one_point_against_many_agree() -> None:
    lat = np.array([59.9, -33.9, 0.0])
    lng = np.array([30.3, 151.2, 179.9])
    many = haversine_km_vec(55.75, 37.62, lat, lng)
    pairs = haversine_km_vec(np.full(3, 55.75), np.full(3, 37.62), lat, lng)
    assert many.tolist() == pairs.tolist()

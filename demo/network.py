"""The demo network's geography: three official offices and five brand franchises."""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class DemoCity:
    key: str
    franchise: str
    kind: str
    city: str
    timezone: str
    lat: float
    lng: float
    # Half-size of the territory box, degrees of latitude; longitude is scaled for the latitude.
    half: float
    workers: int
    clients: int


DEMO_CITIES = (
    DemoCity("spb", "Saint Petersburg office", "official_office", "Saint Petersburg",
             "Europe/Moscow", 59.9386, 30.3141, 0.25, 1000, 8),
    DemoCity("nsk", "Novosibirsk office", "official_office", "Novosibirsk",
             "Asia/Novosibirsk", 55.0084, 82.9357, 0.22, 700, 6),
    DemoCity("chelny", "Naberezhnye Chelny office", "official_office", "Naberezhnye Chelny",
             "Europe/Moscow", 55.7436, 52.3958, 0.15, 500, 6),
    DemoCity("gatchina", "Nevsky Helpers", "brand_franchise", "Gatchina",
             "Europe/Moscow", 59.5764, 30.1283, 0.12, 150, 2),
    DemoCity("berdsk", "Sibir Snow Service", "brand_franchise", "Berdsk",
             "Asia/Novosibirsk", 54.7580, 83.1070, 0.10, 120, 2),
    DemoCity("kazan", "Kazan Loaders", "brand_franchise", "Kazan",
             "Europe/Moscow", 55.7961, 49.1064, 0.20, 230, 2),
    DemoCity("ekb", "Ural Crew", "brand_franchise", "Yekaterinburg",
             "Asia/Yekaterinburg", 56.8389, 60.6057, 0.20, 200, 2),
    DemoCity("moscow", "Capital Movers", "brand_franchise", "Moscow",
             "Europe/Moscow", 55.7558, 37.6173, 0.35, 100, 2),
)


def territory_box(city: DemoCity) -> dict:
    """A rectangle around the city as a GeoJSON Polygon ([lng, lat] order)."""

    half_lng = city.half / max(math.cos(math.radians(city.lat)), 0.1)
    south, north = city.lat - city.half, city.lat + city.half
    west, east = city.lng - half_lng, city.lng + half_lng
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [[[round(x, 5), round(y, 5)] for x, y in ring]]}

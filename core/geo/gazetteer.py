"""The bundled gazetteer: the demo cities with their districts, areas, time zones and rough
territories, and the rules by which a free-text address names one of its places.

Pure: no Django, no network. The data is `data/gazetteer.json`, shipped with the package.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .points import GeoPoint
from .territories import parse_territory

GAZETTEER_PATH = Path(__file__).with_name("data") / "gazetteer.json"

_NOT_WORD = re.compile(r"[\W_]+")


def _normalise(text: str) -> str:
    """Case-folded, the letter yo read as ye, punctuation and runs of spaces made one space.

    "Санкт-Петербург", "санкт  петербург" and "Санкт-Петербург." all become "санкт петербург";
    "Толмачёво" and "Толмачево" are the same word, as Russians often write it without the dots.
    """
    return " ".join(_NOT_WORD.sub(" ", text.casefold().replace("\u0451", "\u0435")).split())


# Suffixes people put after a district's name, and spellings of the adjective's ending ("-ский"
# is written -sky, -skiy, -skii...). They are generated so the JSON lists each district once.
_DISTRICT_WORDS_RU = ("район", "р-н")
_DISTRICT_WORDS_EN = ("district", "rayon", "raion")
_ENDING_VARIANTS = ("y", "iy", "ii", "yy", "yi", "ij")

# Specificity: an area (Kupchino) beats a district (Frunzensky District) beats a city.
_LEVEL = {"city": 1, "district": 2, "area": 3}


@dataclass(frozen=True, slots=True)
class City:
    """A demo city of the bundled gazetteer: names, centre, IANA time zone and rough territory."""

    key: str
    name_ru: str
    name_en: str
    point: GeoPoint
    timezone: str
    territory_ring: tuple[tuple[float, float], ...]  # closed ring of (lng, lat)

    def territory(self) -> dict[str, Any]:
        """A fresh GeoJSON Polygon (the caller may change it; the gazetteer stays as it was)."""
        return {"type": "Polygon", "coordinates": [[list(p) for p in self.territory_ring]]}


@dataclass(frozen=True, slots=True)
class _Place:
    key: str
    kind: str  # city | district | area
    city: City
    name_ru: str
    name_en: str
    point: GeoPoint
    requires_city: bool

    def display_name(self, language: str) -> str:
        if language == "en":
            parts = [self.name_en, self.city.name_en, "Russia"]
        else:
            parts = [self.name_ru, self.city.name_ru, "Россия"]
        return ", ".join(parts[1:] if self.kind == "city" else parts)


def _district_aliases(stem_ru: str, stem_en: str) -> Iterable[str]:
    for word in _DISTRICT_WORDS_RU:
        yield f"{stem_ru} {word}"
        yield f"{word} {stem_ru}"
    stems = {stem_en}
    if stem_en.endswith("y"):
        stems.update(stem_en[:-1] + ending for ending in _ENDING_VARIANTS)
    for stem in stems:
        for word in _DISTRICT_WORDS_EN:
            yield f"{stem} {word}"


class Gazetteer:
    """The bundled list of places and the matching rules of the offline geocoder."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.cities: tuple[City, ...] = ()
        self._aliases: dict[tuple[str, ...], list[_Place]] = {}
        cities: list[City] = []
        try:
            for entry in data["cities"]:
                city = City(
                    key=entry["key"],
                    name_ru=entry["ru"],
                    name_en=entry["en"],
                    point=GeoPoint(entry["lat"], entry["lng"]),
                    timezone=entry["timezone"],
                    territory_ring=tuple(
                        (float(lng), float(lat))
                        for lng, lat in entry["territory"]["coordinates"][0]
                    ),
                )
                parse_territory(city.territory())  # a broken bundled territory fails at load
                cities.append(city)
                self._add(
                    _Place(city.key, "city", city, city.name_ru, city.name_en, city.point, False),
                    [city.name_ru, city.name_en, *entry.get("aliases", ())],
                )
                for district in entry.get("districts", ()):
                    place = _Place(
                        district["key"],
                        "district",
                        city,
                        f"{district['ru']} район",
                        f"{district['en']} District",
                        GeoPoint(district["lat"], district["lng"]),
                        False,
                    )
                    self._add(
                        place,
                        [
                            *_district_aliases(district["ru"], district["en"]),
                            *district.get("aliases", ()),
                        ],
                    )
                for area in entry.get("areas", ()):
                    place = _Place(
                        area["key"],
                        "area",
                        city,
                        area["ru"],
                        area["en"],
                        GeoPoint(area["lat"], area["lng"]),
                        bool(area.get("requires_city", False)),
                    )
                    self._add(place, [area["ru"], area["en"], *area.get("aliases", ())])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"The gazetteer is malformed: {exc!r}") from exc
        self.cities = tuple(cities)
        self._longest_alias = max((len(alias) for alias in self._aliases), default=0)

    def _add(self, place: _Place, names: Iterable[str]) -> None:
        for name in names:
            tokens = tuple(_normalise(name).split())
            if tokens:
                bucket = self._aliases.setdefault(tokens, [])
                if place not in bucket:
                    bucket.append(place)

    def match(self, query: str) -> _Place | None:
        """The place a free-text query most specifically names, or None.

        Every run of whole words of the query is looked up among the aliases. Among the places
        found, ranked best first:
        1. places in a city the query also names (when it names any): "Кировский район,
           Новосибирск" is Novosibirsk's, not Saint Petersburg's Kirovsky District;
        2. the more specific kind: area over district over city;
        3. the longer alias, so "Saint Petersburg" beats a stray "Moscow" in "Moscow Avenue".
        If the best rank holds two different places (a "Central District" with no city), it is
        ambiguous and the next rank is tried; areas whose names are common words (requires_city)
        count only with their city.
        """
        tokens = _normalise(query).split()
        found: dict[int, tuple[_Place, int]] = {}
        for start in range(len(tokens)):
            for end in range(start + 1, min(len(tokens), start + self._longest_alias) + 1):
                alias = tuple(tokens[start:end])
                for place in self._aliases.get(alias, ()):
                    length = len(" ".join(alias))
                    if id(place) not in found or found[id(place)][1] < length:
                        found[id(place)] = (place, length)
        named_cities = {place.city.key for place, _ in found.values() if place.kind == "city"}
        ranked: dict[tuple[bool, int, int], list[_Place]] = {}
        for place, length in found.values():
            in_named_city = place.city.key in named_cities
            if place.requires_city and not in_named_city:
                continue
            rank = (in_named_city or not named_cities, _LEVEL[place.kind], length)
            ranked.setdefault(rank, []).append(place)
        for rank in sorted(ranked, reverse=True):
            if len(ranked[rank]) == 1:
                return ranked[rank][0]
        return None

    def city(self, name: str) -> City:
        """The city with this name or alias (any language, case, punctuation); KeyError if none."""
        for place in self._aliases.get(tuple(_normalise(name).split()), ()):
            if place.kind == "city":
                return place.city
        known = ", ".join(city.name_en for city in self.cities)
        raise KeyError(f"No city {name!r} in the gazetteer; known: {known}")


@cache
def bundled_gazetteer() -> Gazetteer:
    """The gazetteer shipped with the package, read once per process."""
    with GAZETTEER_PATH.open(encoding="utf-8") as file:
        return Gazetteer(json.load(file))


def cities() -> tuple[City, ...]:
    """The demo cities of the bundled gazetteer, in its order."""
    return bundled_gazetteer().cities


def city_territory(name: str) -> dict[str, Any]:
    """A rough GeoJSON Polygon around a demo city, found by any of its names ("СПб", "Kazan").

    A fresh dict each call. KeyError for a city the gazetteer does not know.
    """
    return bundled_gazetteer().city(name).territory()

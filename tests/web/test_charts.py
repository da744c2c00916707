"""The server-drawn SVG charts: valid markup, escaped labels, points where the data says."""

from datetime import date
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from web.charts import Bar, Series, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(markup)


def test_a_line_follows_its_points_within_the_plot() -> None:
    chart = _parse(line_chart(
        [Series("rating", [(date(2026, 1, 1), 4.0), (date(2026, 1, 2), 2.5),
                           (date(2026, 1, 3), 3.0)])],
        title="Rating", y_range=(0, 5),
    ))
    points = [tuple(map(float, p.split(",")))
              for p in chart.find(f"{SVG}polyline").get("points").split()]
    assert [x for x, _ in points] == sorted(x for x, _ in points)
    # Higher values sit higher on the page (smaller y): 4.0 above 3.0 above 2.5.
    assert points[0][1] < points[2][1] < points[1][1]


def test_labels_are_escaped() -> None:
    markup = bar_chart([Bar("<script>alert(1)</script>", 3.0)], title="A & B", median=2.0)
    assert "<script>" not in markup
    assert _parse(markup).find(f"{SVG}title").text == "A & B"


def test_an_empty_chart_says_so() -> None:
    chart = _parse(line_chart([Series("rating", [])], title="Rating"))
    assert chart.find(f"{SVG}polyline") is None
    assert "Rating" in chart.find(f"{SVG}text").text


@given(st.lists(st.tuples(st.text(max_size=40), st.floats(0, 1e9, allow_nan=False)),
                min_size=1, max_size=60),
       st.none() | st.floats(0, 1e9, allow_nan=False))
def test_any_bars_make_well_formed_svg(values: list[tuple[str, float]],
                                       median: float | None) -> None:
    printable = [(label.replace("\x00", ""), value) for label, value in values]
    try:
        chart = _parse(bar_chart([Bar(label, value) for label, value in printable],
                                 title="t", median=median))
    except ElementTree.ParseError:
        # XML cannot carry control characters at all; labels come from names we store.
        assert any(any(ord(c) < 32 for c in label) for label, _ in printable)
        return
    widths = [float(rect.get("width")) for rect in chart.iter(f"{SVG}rect")]
    assert len(widths) == len(values)
    assert all(width >= 0 for width in widths)


def test_bars_write_their_figures_as_told_and_mute_all_but_the_highlighted() -> None:
    chart = _parse(bar_chart(
        [Bar("Kazan", 0.5, highlight=True), Bar("median", 0.25)], title="Fill rate",
        value_format=lambda value: f"{value * 100:.0f} %",
    ))
    texts = [element.text for element in chart.iter(f"{SVG}text")]
    assert "50 %" in texts
    assert "25 %" in texts
    assert [rect.get("class") for rect in chart.iter(f"{SVG}rect")] == ["bar", "bar median"]
    plain = _parse(bar_chart([Bar("a", 1.0), Bar("b", 2.0)], title="t"))
    assert {rect.get("class") for rect in plain.iter(f"{SVG}rect")} == {"bar"}


def test_the_median_line_sits_where_its_value_is() -> None:
    chart = _parse(bar_chart([Bar("a", 100.0), Bar("b", 50.0)], title="t", median=50.0,
                             median_label="median", value_format=lambda value: f"{value:.2f}"))
    bars = {rect.get("width") for rect in chart.iter(f"{SVG}rect")}
    line = chart.find(f"{SVG}line")
    assert line.get("class") == "mark"
    # The bar of 50 ends exactly at the median line.
    x0 = float(next(chart.iter(f"{SVG}rect")).get("x"))
    assert float(line.get("x1")) == pytest.approx(x0 + min(float(width) for width in bars),
                                                  abs=0.11)
    assert "median 50.00" in [element.text for element in chart.iter(f"{SVG}text")]

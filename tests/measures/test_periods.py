"""Period syntax and arithmetic."""

from datetime import date

import pytest

from crimeplan.measures.periods import PeriodError, comparison_period, parse_period, periods_covering


@pytest.mark.parametrize(
    "text, start, end, months",
    [
        ("2021", date(2021, 1, 1), date(2021, 12, 1), 12),
        ("FY2021-22", date(2021, 4, 1), date(2022, 3, 1), 12),
        ("fy2019/20", date(2019, 4, 1), date(2020, 3, 1), 12),
        ("2021-06", date(2021, 6, 1), date(2021, 6, 1), 1),
        ("2021-Q2", date(2021, 4, 1), date(2021, 6, 1), 3),
        ("rolling:2021-12", date(2021, 1, 1), date(2021, 12, 1), 12),
        ("rolling:2022-03", date(2021, 4, 1), date(2022, 3, 1), 12),
        ("fytd:2021-10", date(2021, 4, 1), date(2021, 10, 1), 7),
        ("fytd:2022-02", date(2021, 4, 1), date(2022, 2, 1), 11),
    ],
)
def test_parse(text, start, end, months) -> None:
    p = parse_period(text)
    assert (p.start, p.end, p.n_months) == (start, end, months)
    assert parse_period(p.label) == p


@pytest.mark.parametrize("text", ["21", "rolling:2021", "Q5-2021", "last year", ""])
def test_bad_periods_say_what_is_expected(text) -> None:
    with pytest.raises(PeriodError, match="2021, FY2021-22, 2021-06"):
        parse_period(text)


@pytest.mark.parametrize("text, message", [("FY2021-23", "e.g. FY2021-22"), ("2021-13", "01 to 12")])
def test_nearly_right_periods_say_what_is_wrong(text, message) -> None:
    with pytest.raises(PeriodError, match=message):
        parse_period(text)


def test_comparisons() -> None:
    p = parse_period("FY2021-22")
    assert comparison_period(p, "previous")[0] == parse_period("FY2020-21")
    assert comparison_period(p, "year-earlier")[0] == parse_period("FY2020-21")
    assert comparison_period(parse_period("2021-06"), "previous")[0] == parse_period("2021-05")
    assert comparison_period(parse_period("2021-06"), "year-earlier")[0] == parse_period("2020-06")
    assert comparison_period(parse_period("fytd:2021-10"), "previous")[0] == parse_period("fytd:2020-10")
    base, words = comparison_period(p, "FY2019-20", {"FY2019-20": "FY2019-20"})
    assert base == parse_period("FY2019-20") and "baseline" in words


def test_periods_covering_a_span() -> None:
    found = periods_covering(date(2019, 1, 1), date(2020, 12, 1))
    labels = {p.label for p in found}
    assert {"2019", "2020", "FY2019-20", "2019-Q1", "2020-Q4", "rolling:2019-12", "rolling:2020-12", "2020-06"} <= labels
    assert "FY2018-19" not in labels and "FY2020-21" not in labels  # not wholly inside
    assert all(date(2019, 1, 1) <= p.start and p.end <= date(2020, 12, 1) for p in found)


@pytest.mark.parametrize("kind, last, expected", [
    ("latest", date(2026, 3, 1), "rolling:2026-03"),
    ("latest-month", date(2026, 3, 1), "2026-03"),
    ("latest-quarter", date(2026, 3, 1), "2026-Q1"),
    ("latest-quarter", date(2026, 2, 1), "2025-Q4"),  # a quarter only when all its months are covered
    ("latest-quarter", date(2026, 1, 1), "2025-Q4"),
])
def test_a_relative_period_resolves_against_a_sources_last_month(kind, last, expected) -> None:
    from crimeplan.measures.periods import Latest, parse_any_period

    relative = parse_any_period(kind.upper())
    assert relative == Latest(kind) and relative.label == kind
    assert relative.resolve(last).label == expected


def test_a_relative_periods_comparison_is_known_in_words_until_resolved() -> None:
    from crimeplan.measures.periods import is_previous, parse_any_period

    latest = parse_any_period("latest")
    assert comparison_period(latest, "previous") == (None, "the 12 months before")
    assert comparison_period(parse_any_period("latest-quarter"), "year-earlier") == (None, "the same quarter a year earlier")
    assert comparison_period(latest, "2019", {"2019": "2019"})[0] == parse_period("2019")
    assert is_previous("Previous") and not is_previous("year-earlier") and not is_previous("2019")


def test_relative_periods_are_named_in_the_syntax_only_where_understood() -> None:
    from crimeplan.measures.periods import parse_any_period

    with pytest.raises(PeriodError, match="expected latest, latest-quarter, latest-month, 2021"):
        parse_any_period("lately")
    with pytest.raises(PeriodError) as plain:
        parse_period("latest")  # a claim's period is a fixed run of months
    assert "latest-quarter" not in str(plain.value)

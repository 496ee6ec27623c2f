"""How crimeplan says things: every figure's format, and the words for verdicts, RAG and statuses.

One module for the CLI, the pages, the claims check, the reports and the
static site, so that the same change is printed the same way everywhere::

    >>> signed(-11.76), signed(-11.76, decimals=0), signed(2.04, "pp"), signed(-0.04), signed(None)
    ('−11.8%', '−12%', '+2.0pp', '0.0%', '—')
    >>> interval(-31.2, 12.4, decimals=0), interval(3.1, None, decimals=0)
    ('−31% to +12%', '+3% to no upper limit')
    >>> number(1234.0), number(8.81), number(46.0, "proportion")
    ('1,234', '8.8', '46.0%')
    >>> months_text([date(2019, 1, 1), date(2019, 2, 1)] + [date(2023, m, 1) for m in range(1, 13)])
    '14 months (2019-01 to 2019-02, 2023-01 to 2023-12)'
    >>> partial_period("2024", 9), partial_period("2024", 1)
    ('2024 (partial: 9 months)', '2024 (partial: 1 month)')
    >>> Rag.GREEN.text, Verdict.FALL.rag("down"), Verdict.RISE.rag("down")
    ('on track (significant change in the direction the plan aims for)', <Rag.GREEN: 'green'>, <Rag.RED: 'red'>)

A sign comes from the value as printed: −0.04% at one decimal is "0.0%", never
"−0.0%" or "±0.0%". Minus is the true minus sign (U+2212).
"""

from __future__ import annotations

import re

from datetime import date
from enum import StrEnum

MINUS = "\u2212"
NONE = "—"


# --- figures ------------------------------------------------------------------------------------


def a_or_an(word: str) -> str:
    """'a ward', 'an LSOA', 'a local authority'."""
    vowel = word[:1].lower() in "aeiou" or (word[:2].isupper() and word[:1] in "AEFHILMNORSX")
    return f"{'an' if vowel else 'a'} {word}"


def signed(value: float | None, unit: str = "%", decimals: int | None = 1, none: str = NONE) -> str:
    """A change with its sign and unit ('%' or 'pp'): '+4.1%', '−23.8%', '+2.0pp', '0.0%'.

    ``decimals=None`` keeps whole numbers for changes of 1 or more and one decimal below.
    """
    if value is None:
        return none
    value = float(value)
    places = (0 if abs(value) >= 1 else 1) if decimals is None else decimals
    text = f"{abs(value):.{places}f}"  # no thousands separator: '+1280%' (the engine's sentences always read so)
    shown = float(text)
    sign = "+" if value > 0 and shown else MINUS if value < 0 and shown else ""
    return f"{sign}{text}{'pp' if unit == 'pp' else '%'}"


def interval(low: float | None, high: float | None, unit: str = "%", decimals: int | None = 1) -> str:
    """A 95% interval: '−31% to +12%'; an open end is 'no lower limit' / 'no upper limit'."""
    if low is None and high is None:
        return ""
    return f"{signed(low, unit, decimals, 'no lower limit')} to {signed(high, unit, decimals, 'no upper limit')}"


def number(value: float | None, statistic: str | None = None) -> str:
    """A figure as printed: counts with thousands separators, shares as %, '—' for none."""
    if value is None:
        return NONE
    if statistic == "proportion":
        return f"{value:.1f}%"
    if statistic == "ratio":  # a rate ratio between groups: 3.86 times
        return f"{value:.2f}"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def months_text(months: list[date], granularity: str = "month") -> str:
    """Months (or quarter ends, or years) as a reader can check them: up to six listed, more as their runs
    ('2019-01 to 2019-02, ...')."""
    fmt = "%Y" if granularity == "year" else "%Y-%m"
    if len(months) <= 6:
        return ", ".join(m.strftime(fmt) for m in months)
    step = {"year": 12, "quarter": 3}.get(granularity, 1)
    runs: list[list[date]] = []
    for m in sorted(months):
        if runs and (m.year * 12 + m.month) - (runs[-1][-1].year * 12 + runs[-1][-1].month) == step:
            runs[-1].append(m)
        else:
            runs.append([m])
    parts = [f"{r[0]:{fmt}}" if len(r) == 1 else f"{r[0]:{fmt}} to {r[-1]:{fmt}}" for r in runs]
    word = {"year": "years", "quarter": "quarters"}.get(granularity, "months")
    return f"{len(months)} {word} ({', '.join(parts)})"


def partial_period(label: str, months: int) -> str:
    """A period of a table that holds only some of its months: '2024 (partial: 9 months)'."""
    return f"{label} (partial: {months} month{'' if months == 1 else 's'})"


# --- words --------------------------------------------------------------------------------------


class Rag(StrEnum):
    """Red, amber, green (and grey), given by icon and words as well as colour."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    GREY = "grey"

    @property
    def icon(self) -> str:
        return {"green": "●", "amber": "◐", "red": "▲", "grey": "○"}[self.value]

    @property
    def word(self) -> str:
        return {"green": "on track", "amber": "no significant change", "red": "off track",
                "grey": "not assessed"}[self.value]

    @property
    def text(self) -> str:
        return {
            "green": "on track (significant change in the direction the plan aims for)",
            "amber": "no significant change",
            "red": "off track (significant change against the plan's aim)",
            "grey": "not assessed",
        }[self.value]


class Verdict(StrEnum):
    """What a comparison found."""

    RISE = "significant rise"
    FALL = "significant fall"
    NO_CHANGE = "no significant change"
    SAMPLE_UNKNOWN = "sample size unknown"
    TOO_FEW = "too few records to judge"
    EXACT = "exact change (a headcount)"  # a stock counted in full, not sampled: no test, no interval
    OVERLAP = "samples overlap"  # two survey estimates that share interviews (rolling windows): not independent

    def rag(self, aim: str) -> Rag:
        if aim == "monitor":
            return Rag.GREY
        if self is Verdict.NO_CHANGE:
            return Rag.AMBER
        if self in (Verdict.RISE, Verdict.FALL):
            good = Verdict.FALL if aim == "down" else Verdict.RISE
            return Rag.GREEN if self is good else Rag.RED
        return Rag.GREY


def rag_for(aim: str, verdict: str | None) -> Rag:
    """The RAG of a verdict for a measure with ``aim`` (grey: monitored, not assessed, or no verdict)."""
    if verdict is None:
        return Rag.GREY
    try:
        return Verdict(verdict).rag(aim)
    except ValueError:
        return Rag.GREY


class Status(StrEnum):
    """Whether a measure has a figure, and if not why."""

    OK = "ok"
    MISSING = "missing months"  # a source: the period is outside what it publishes
    INCOMPLETE = "incomplete data"  # partial or absent months inside its span (warehouse/coverage.py)
    NOT_RECORDED = "not recorded"  # a share whose numerator field the publisher leaves empty
    NO_DATA = "no data for this period"  # a measure: no source has the period at all
    NO_DATA_LOADED = "no data loaded"  # a measure: none of its sources is loaded
    SOURCE_NOT_LOADED = "not loaded"  # a source (or a claim's would-supply entry)
    NOT_AT_LEVEL = "not available at this level"
    # the period's figure is complete and shown; the baseline's is not, so there is no change and no verdict
    BASELINE_INCOMPLETE = "baseline incomplete"


def rate_text(value: float | None) -> str:
    """A rate per 1,000 residents: one decimal from 10, two below, and two significant figures below 0.1 (a
    borough's one offence is 0.0046 per 1,000, not 0.0)."""
    if value is None:
        return NONE
    if value == 0 or value >= 10:
        return f"{value:,.1f}"
    return f"{value:.2f}" if value >= 0.1 else f"{value:.2g}"


def _with_interval(value: float | None, interval_: list | tuple | None, shown) -> str:
    """``shown(value)``, with its 95% interval in brackets where both ends are known."""
    if value is None:
        return NONE
    text = shown(value)
    if interval_ and interval_[0] is not None and interval_[1] is not None:
        text += f" ({shown(interval_[0])} to {shown(interval_[1])})"
    return text


def share_text(share: float | None, interval_: list | tuple | None = None) -> str:
    """A share of a total (0-1) as a per cent with its 95% interval: '14.4% (14.1% to 14.5%)'."""
    return _with_interval(share, interval_, lambda v: f"{v * 100:.1f}%")


def percent_text(value: float | None, low: float | None = None, high: float | None = None) -> str:
    """A figure already in per cent, to one decimal, with its 95% interval: '1.2% (0.9% to 1.7%)'."""
    return _with_interval(value, (low, high) if low is not None else None, lambda v: f"{v:.1f}%")


def time_to_outcome_text(tto: dict) -> str:
    """The time to a first outcome (measures.outcomes.time_to_outcome) in words: each group reached by the end of the
    follow-up with its 95% interval, the share still open, and when half the charges had come."""
    if not tto["months"]:
        return ""
    last = tto["months"][-1]
    if last == 0:  # the crime's own month only: the shares above are all there is, no time to speak of
        return ("The loaded outcomes follow each crime for the month it was recorded only, so there is no time to "
                "outcome to show beyond the shares above.")
    reached = "; ".join(f"{g['group']} {percent_text(g['incidence'][-1], g['low'][-1], g['high'][-1])}"
                        for g in tto["groups"] if g["incidence"][-1] > 0)
    text = (f"Followed up to {last} months after the crime's month (as far as the loaded outcomes reach), the share "
            f"of the {tto['crimes']:,} crimes reaching each group first: {reached}; "
            f"{percent_text(tto['open'][-1])} still open.")
    if tto["median_months_to_charge"] is not None:
        text += f" Half the charges came by month {tto['median_months_to_charge']}."
    return text


# Where a share falls on a funnel plot (stats.funnel positions), in words.
FUNNEL_POSITION_TEXT = {
    "above 99.8%": "above the 99.8% limit",
    "above 95%": "above the 95% limit, within the 99.8%",
    "within 95%": "within the 95% limits",
    "below 95%": "below the 95% limit, within the 99.8%",
    "below 99.8%": "below the 99.8% limit",
}


def gini_text(value: float | None, interval_: list | tuple | None = None) -> str:
    """A Gini coefficient to three places, with its 95% interval: '0.308 (0.304 to 0.311)'."""
    return _with_interval(value, interval_, lambda v: f"{v:.3f}")


def rank_text(rank: int, low: int, high: int) -> str:
    """A rank with its 95% interval: '4 (4 to 7)', and '1 (1 to 1)' where chance cannot move it."""
    return f"{rank} ({low} to {high})"


def persistence_text(row: dict, plural: str) -> str:
    """One line of persistence: how many of a period's top areas were the top in the period compared."""
    if row["status"] != "ok":
        text = f"{row['period_text']}: {row['status']}"
    else:
        text = (f"{row['period_text']}: {row['in_both']} of the top {row['top']} {plural} were also the top "
                f"{row['top']} in {row['compared_with_text']} ({row['share'] * 100:.0f}%)")
    return text[:1].upper() + text[1:]


def rank_standing(low: int, high: int, top: int) -> str:
    """Where a rank interval puts an area against 'the top ``top``' (stats.rank_intervals)."""
    if high <= top:
        return f"in the top {top}"
    if low <= top:
        return f"possibly in the top {top}"
    return f"not in the top {top}"


def ratio_text(value: float | None, interval_: list | tuple | None = None) -> str:
    """A rate ratio to two places with its 95% interval: '3.86 (3.81 to 3.91)'."""
    return _with_interval(value, interval_, lambda v: f"{v:.2f}")


def withheld_text(cell: dict, field: str, shown) -> str:
    """A figure, or how it reads when small numbers withhold it ('<10', 'withheld')."""
    marker = (cell.get("suppressed") or {}).get(field)
    if marker is not None and cell.get(field) is None:
        return marker
    return shown(cell.get(field))


def difference_text(difference_pp: float | None, interval_pp: list | tuple | None) -> str:
    """A difference between shares with its 95% interval: '−0.4pp (−0.9pp to 0.0pp)'; '' when there is none."""
    if difference_pp is None:
        return ""
    return f"{signed(difference_pp, 'pp')} ({interval(*interval_pp, 'pp')})" if interval_pp else signed(difference_pp, "pp")


def survey_gap_text(gap_pp: float | None) -> str:
    """A survey gap between groups in whole points, as MOPAC publishes its shares ('−12pp'; a median of two
    may fall between them: '−8.5pp'); '' when none."""
    return "" if gap_pp is None else signed(gap_pp, "pp", 0 if float(gap_pp).is_integer() else 1)


def survey_gaps_text(row: dict) -> str:
    """A group's gaps to the reference over an area's neighbourhoods, described (no sample sizes, no verdict):
    'lower in 9, higher in 1, of 10 neighbourhoods; median −8pp'."""
    n = row["neighbourhoods"]
    if not n:
        return "no neighbourhood with both figures"
    return (f"lower in {row['lower']}, higher in {row['higher']}, of {n} neighbourhood{'s' if n != 1 else ''}; "
            f"median {survey_gap_text(row['median_gap'])}")


def located_text(located: dict, force: str) -> str:
    """How many of a force's searches carry no location, and fall outside the boundaries ('<10' when small)."""
    shown = lambda f: withheld_text(located, f, lambda v: f"{v:,}")  # noqa: E731
    share = located.get("no_location_share")
    return (f"{shown('no_location')} of {force}'s {located['searches']:,} searches"
            + (f" ({share * 100:.1f}%)" if share is not None else "")
            + f" carry no location and {shown('outside')} fall outside the loaded boundaries")


def change_text(change: dict | None) -> str:
    """A rate ratio against the baseline's (crimeplan.measures.fairness): '×0.91 (0.89 to 0.92): the gap narrowed'."""
    if change is None:
        return "a count of 0: no comparison"
    if "ratio_of_ratios" not in change:
        return "withheld (small numbers)"
    return f"×{ratio_text(change['ratio_of_ratios'], change['interval'])}: {change['verdict']}"


def fairness_headline(black: dict, white: dict) -> str:
    """The Fairness section's first sentence, in words a resident can check against the table."""
    if black.get("ratio") is None:
        return (f"{withheld_text(black, 'per_1000', rate_text)} searches per 1,000 Black residents against "
                f"{withheld_text(white, 'per_1000', rate_text)} per 1,000 White residents (the ratio withheld: "
                f"small numbers)")
    low, high = black["interval"]
    return (f"Black residents were searched {black['ratio']:.1f} times as often as White residents (95% interval "
            f"{low:.2f} to {high:.2f} times): {rate_text(black['per_1000'])} searches per 1,000 Black residents "
            f"against {rate_text(white['per_1000'])} per 1,000 White residents; {black['verdict']}")


AIM_TEXT = {"down": "the plan aims for fewer", "up": "the plan aims for more", "monitor": "monitored (no target direction)"}


__all__ = ["AIM_TEXT", "MINUS", "NONE", "Rag", "Status", "Verdict", "interval", "gini_text", "number", "persistence_text", "rag_for", "rank_standing", "rank_text", "rate_text", "ratio_text", "share_text", "withheld_text",
           "change_text", "difference_text", "fairness_headline", "located_text",
           "signed"]


# --- the latest months --------------------------------------------------------------------------


def beside_text(m: dict) -> str | None:
    """A scorecard measure's same months against the plan's baseline, as printed beside its own comparison:
    'against calendar year 2019: −4.6% (−6.2% to −2.9%), significant fall'; None when it carries none."""
    b = m.get("beside")
    if b is None or not measured(b):
        return None
    against = b["compared_with"].removeprefix("the baseline ")
    if b["status"] != "ok":
        why = b["message"].split(" cannot be used: ", 1)[-1]
        covers = re.search(r"; it covers (\S+ to \S+)", why)  # the usual case: the source starts after the baseline
        return f"against {against}: no comparison (" + (f"the source covers {covers.group(1)} only)" if covers
                                                        else f"{why})")
    withheld = b.get("suppressed") or {}
    unit = b["change_unit"] or "%"
    change = withheld.get("change") or signed(b["change"], unit)
    low, high = b["interval"] or (None, None)
    if "change" not in withheld and (low is not None or high is not None):
        change += f" ({interval(low, high, unit)})"
    return f"against {against}: {change}, {b['verdict'] or 'not assessed'}"


def measured(m: dict) -> bool:
    """Whether a scorecard measure was counted over some months (a figure, or months found missing), not left
    unmeasured for want of a file or of the level."""
    return m["status"] not in (Status.NOT_AT_LEVEL, Status.NO_DATA_LOADED)


def months_differ(card: dict) -> bool:
    """Whether a scorecard's measures cover different months (the latest months each source covers), so each
    must say which it covers."""
    return len({m["period"] for p in card["priorities"] for m in p["measures"] if measured(m)}) > 1

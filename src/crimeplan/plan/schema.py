"""A Police and Crime Plan as data: the schema a plan file must follow.

A plan names its area and its baselines, and lists priorities → objectives →
measure ids. Measures are declared once (an objective may share a measure with
another priority). Each measure says what it counts and how, where its data
comes from — one or more sources, the first with data being the headline and
the others shown beside it — and the levels of geography it is valid at.

Sources are typed by the dataset they read (its ``record_table`` in catalogue.yaml):

- ``recorded_crime`` (mps_borough_crime, mps_ward_crime, mps_lsoa_crime): a
  category scheme (``old`` mixed case or ``new`` upper case) and the
  ``[major, minor]`` categories counted (minor ``"*"``: all of the major);
- ``street_crime`` (police_uk_street): data.police.uk crime types, optionally
  one force (``Reported by``);
- ``outcome`` (police_uk_outcomes): the share of outcomes of the given types
  among all outcomes recorded (a proportion with a known denominator);
- ``homicide_victim`` (mps_homicide_victims, homicide_victims_processed):
  victims, optionally filtered (``where``: domestic_abuse, method, age_group,
  offence_type, sex);
- ``london_monthly`` (gla_state_of_london_crime): a workbook sheet, summing the
  named series;
- ``survey_measure`` (mopac_pas_borough, mopac_pas_london): a survey measure;
- ``stop_search`` (police_uk_stop_search): searches by a force; with
  ``numerator`` the share of them that match it;
- ``unavailable``: a dataset crimeplan has no file of (the MPS Monthly Crime
  Dashboard, the MOPAC User Satisfaction Survey, …); the measure is shown as
  "no data loaded", naming the dataset that would supply it.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

# The geography the plan being validated names: its levels are the ones a measure may name.
_GEOGRAPHY: ContextVar[str] = ContextVar("plan_geography", default="london")


def _known_level(value: str) -> str:
    from crimeplan.geography import load_geography

    geography = load_geography(_GEOGRAPHY.get())
    if not geography.has(value):
        raise ValueError(f"{value!r} is not a level of the {geography.id} geography; expected one of "
                         f"{', '.join(geography.ids)}")
    return value


Level = Annotated[str, AfterValidator(_known_level)]  # a level of the plan's geography (geographies/<id>.yaml)
# ratio: the rate per resident of one group against another's (stop and search by ethnic group).
Statistic = Literal["count", "rate", "harm", "proportion", "ratio"]
Aim = Literal["down", "up", "monitor"]

ID = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")

def _source_kinds() -> dict[str, str]:
    """Each catalogued dataset's record table, which decides what a source of it may say (catalogue.yaml)."""
    from crimeplan.catalogue import load_catalogue

    return {d.id: d.record_table for d in load_catalogue().datasets if d.record_table}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


DEFAULT_FOLLOW_UP_MONTHS = 6  # an outcome share's follow-up unless a plan says otherwise


class _SourceBase(_Strict):
    dataset: str
    label: str | None = None  # how the source is named to users; a default is derived


class RecordedCrimeSource(_SourceBase):
    kind: Literal["recorded_crime"] = "recorded_crime"
    scheme: Literal["old", "new"]
    categories: list[tuple[str, str]] = Field(min_length=1)  # [major, minor]; minor "*" = all

    @field_validator("categories", mode="before")
    @classmethod
    def _pairs(cls, value):
        if isinstance(value, list):
            return [tuple(v) if isinstance(v, list) else v for v in value]
        return value


class StreetCrimeSource(_SourceBase):
    kind: Literal["street_crime"] = "street_crime"
    crime_types: list[str] = Field(min_length=1)
    force: str | None = None  # 'Reported by', e.g. "Metropolitan Police Service"


class OutcomeSource(_SourceBase):
    """The share of a cohort of crimes reaching some outcomes within a follow-up (statistic ``proportion``).

    The cohort is the street-level crimes of ``crime_types`` recorded in a period's months
    (with a Crime ID); the numerator those of them with an outcome of ``outcome_groups`` (the
    catalogue's groups of the outcome type) recorded within ``within_months`` months of the
    crime's month. Cohorts followed for the same time compare fairly: a share of the outcomes
    recorded so far does not (recent crimes have not yet had time to reach one).
    """

    kind: Literal["outcome"] = "outcome"
    outcome_groups: list[str] = Field(min_length=1)
    crime_types: list[str] = Field(min_length=1)
    force: str | None = None
    # Six months: long enough for most charges of volume crime; 0 = the month the crime was recorded.
    within_months: int = Field(default=DEFAULT_FOLLOW_UP_MONTHS, ge=0, le=36)


class HomicideSource(_SourceBase):
    kind: Literal["homicide_victim"] = "homicide_victim"
    where: dict[Literal["domestic_abuse", "method", "age_group", "offence_type", "sex"], bool | list[str]] = Field(
        default_factory=dict
    )


class LondonSeriesSource(_SourceBase):
    kind: Literal["london_monthly"] = "london_monthly"
    sheet: str
    series: list[str] = Field(min_length=1)  # summed
    # A stock (officers in post at the month end), not a flow: a period's figure is its last month's,
    # never the sum of its months; a headcount is not a sample, so its change is exact (no interval, no test).
    stock: bool = False


class SurveySource(_SourceBase):
    kind: Literal["survey_measure"] = "survey_measure"
    measure: str


class GroupRatio(_Strict):
    """Searches of one group per resident of it against another group's (statistic ``ratio``): the groups are
    those of the catalogue (``groups`` of the field, and the Census's ethnic groups for the residents)."""

    field: Literal["officer_defined_ethnicity", "self_defined_ethnicity"] = "officer_defined_ethnicity"
    group: str
    reference: str


class StopSearchSource(_SourceBase):
    kind: Literal["stop_search"] = "stop_search"
    force: str  # the data.police.uk force slug, e.g. "metropolitan"
    ratio: GroupRatio | None = None  # statistic ratio: group searches per resident against the reference's
    numerator: dict[Literal["outcome", "object_of_search", "outcome_linked_to_object_of_search"], bool | list[str]] | None = None
    # Only these searches count (numerator and denominator alike): {object_of_search: ["Controlled drugs"]}.
    where: dict[Literal["object_of_search", "legislation", "officer_defined_ethnicity"], list[str]] = Field(
        default_factory=dict)


class UnavailableSource(_SourceBase):
    kind: Literal["unavailable"] = "unavailable"
    publisher: str
    landing_page: str | None = None


Source = Annotated[
    Union[
        RecordedCrimeSource, StreetCrimeSource, OutcomeSource, HomicideSource,
        LondonSeriesSource, SurveySource, StopSearchSource, UnavailableSource,
    ],
    Field(discriminator="kind"),
]


class Measure(_Strict):
    id: str
    title: str
    definition: str
    statistic: Statistic
    aim: Aim
    unit: str  # what one counts: "offences", "victims", "% of respondents"
    levels: list[Level] = Field(min_length=1)
    sources: list[Source] = Field(min_length=1)
    notes: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not ID.match(value):
            raise ValueError("expected lower-case letters, digits, '_' or '-'")
        return value

    @field_validator("sources", mode="before")
    @classmethod
    def _kinds(cls, value):
        """Fill in each source's kind from its dataset, so a plan need not say it twice."""
        if not isinstance(value, list):
            return value
        out = []
        for source in value:
            if isinstance(source, dict) and "kind" not in source:
                dataset = source.get("dataset")
                kinds = _source_kinds()
                kind = kinds.get(dataset, "unavailable" if "publisher" in source else None)
                if kind is None:
                    raise ValueError(
                        f"unknown dataset {dataset!r}; expected one of {', '.join(sorted(kinds))}, "
                        "or a dataset with no loaded data, declared with its publisher"
                    )
                source = {**source, "kind": kind}
            out.append(source)
        return out

    @model_validator(mode="after")
    def _statistic_fits_sources(self) -> "Measure":
        for source in self.sources:
            if isinstance(source, (SurveySource, OutcomeSource)) and self.statistic != "proportion":
                raise ValueError(f"a {source.kind} source gives a proportion; statistic must be 'proportion'")
            if isinstance(source, StopSearchSource) and (source.numerator is None) == (self.statistic == "proportion"):
                raise ValueError("a stop_search source gives a proportion exactly when it has a numerator")
            if (self.statistic == "ratio") != (isinstance(source, StopSearchSource) and source.ratio is not None):
                raise ValueError("statistic 'ratio' needs a stop_search source with 'ratio' (group and reference), "
                                 "and only such a source gives one")
            if self.statistic == "harm" and not isinstance(source, (RecordedCrimeSource, StreetCrimeSource, UnavailableSource)):
                raise ValueError(f"harm weights apply to recorded crime and street crime, not to {source.kind}")
        return self


class Objective(_Strict):
    id: str
    title: str
    measures: list[str] = Field(min_length=1)


class Priority(_Strict):
    id: str
    title: str
    summary: str | None = None
    objectives: list[Objective] = Field(min_length=1)


class Panel(_Strict):
    """Measures shown side by side for every area of a level, with a caveat: 'county lines proxies' by borough."""

    id: str
    title: str
    level: str
    caveat: str
    measures: list[str] = Field(min_length=1)


class SmallNumbers(_Strict):
    """Counts of people below ``below`` are not published (crimeplan.disclosure); ``units``: the measure units that
    count people."""

    below: int = Field(10, ge=1)
    units: list[str] = Field(default_factory=lambda: ["victims", "searches"])


class Baseline(_Strict):
    id: str  # how a user names it: "2019", "FY2019-20"
    period: str  # the period it stands for, in the scorecard's syntax
    label: str


class Plan(_Strict):
    id: str
    title: str
    publisher: str
    url: str | None = None
    geography: str = "london"  # geographies/<id>.yaml: the levels its measures may name
    area: str  # the code of the plan's area in that geography (London: E12000007)
    area_name: str
    force: str | None = None  # the force it holds to account
    start: str  # first month of the plan, YYYY-MM
    end: str  # last month, YYYY-MM
    summary: str | None = None
    baselines: list[Baseline] = Field(min_length=1)
    default_period: str = "latest"  # what is shown when no period is asked for
    default_baseline: str  # the plan's baseline: beside the latest months, and the default for any other period
    launch_period: str | None = None  # the period of the plan's launch comparison (one click away on the pages)
    priorities: list[Priority] = Field(min_length=1)
    measures: list[Measure] = Field(min_length=1)
    panels: list[Panel] = Field(default_factory=list)
    small_numbers: SmallNumbers = Field(default_factory=SmallNumbers)

    @model_validator(mode="wrap")
    @classmethod
    def _in_its_geography(cls, data, handler):
        """Validate the measures' levels against the geography the plan names (London by default)."""
        name = data.get("geography", "london") if isinstance(data, dict) else "london"
        token = _GEOGRAPHY.set(name if isinstance(name, str) else "london")
        try:
            return handler(data)
        finally:
            _GEOGRAPHY.reset(token)

    @model_validator(mode="after")
    def _references(self) -> "Plan":
        ids = [m.id for m in self.measures]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"measure ids must be unique; repeated: {', '.join(duplicates)}")
        known = set(ids)
        for p in self.priorities:
            for o in p.objectives:
                unknown = [m for m in o.measures if m not in known]
                if unknown:
                    raise ValueError(
                        f"objective {o.id!r} of priority {p.id!r} names measures that are not declared: "
                        f"{', '.join(unknown)}"
                    )
        used = {m for p in self.priorities for o in p.objectives for m in o.measures}
        unused = [m for m in ids if m not in used]
        if unused:
            raise ValueError(f"measures declared but in no objective: {', '.join(unused)}")
        for panel in self.panels:
            unknown = [m for m in panel.measures if m not in known]
            if unknown:
                raise ValueError(f"panel {panel.id!r} names measures that are not declared: {', '.join(unknown)}")
            for m in panel.measures:
                if panel.level not in self.measure(m).levels:
                    raise ValueError(f"panel {panel.id!r}: measure {m!r} is not measured at {panel.level!r} level")
        from crimeplan.measures.periods import PeriodError, parse_any_period, parse_period

        for name, text, parse in (("default_period", self.default_period, parse_any_period),
                                  ("launch_period", self.launch_period, parse_period)):
            try:
                if text is not None:
                    parse(text)
            except PeriodError as exc:
                raise ValueError(f"{name}: {exc}") from None
        baseline_ids = {b.id for b in self.baselines}
        if self.default_baseline not in baseline_ids:
            raise ValueError(f"default_baseline {self.default_baseline!r} is not one of the baselines")
        return self

    def measure(self, measure_id: str) -> Measure:
        for m in self.measures:
            if m.id == measure_id:
                return m
        raise KeyError(f"no measure {measure_id!r} in plan {self.id!r}; measures: {', '.join(m.id for m in self.measures)}")

    def baseline(self, name: str) -> Baseline | None:
        return next((b for b in self.baselines if b.id.lower() == name.lower()), None)

    def placements(self) -> list[tuple[Priority, Objective, Measure]]:
        """Every (priority, objective, measure) in the plan's order."""
        return [(p, o, self.measure(m)) for p in self.priorities for o in p.objectives for m in o.measures]

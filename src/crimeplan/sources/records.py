"""The tidy records sources yield: one Arrow schema per kind of record.

A source turns a publisher's layout (wide month columns, decimal commas, one
row per victim, …) into rows of one of these kinds. The warehouse stores each
kind in a table of the same name, adding provenance columns (dataset, file,
part, line); ``warehouse/schema.py`` holds the rest of the schema.
"""

from __future__ import annotations

import pyarrow as pa

STRING = pa.string()
DATE = pa.date32()
FLOAT = pa.float64()
INT = pa.int64()
BOOL = pa.bool_()

RECORD_KINDS: dict[str, pa.Schema] = {
    # data.police.uk street-level crime and anti-social behaviour, one row per incident.
    "street_crime": pa.schema(
        [
            ("crime_id", STRING),
            ("month", DATE),
            ("reported_by", STRING),
            ("falls_within", STRING),
            ("longitude", FLOAT),
            ("latitude", FLOAT),
            ("location", STRING),
            ("lsoa_code", STRING),
            ("lsoa_name", STRING),
            ("crime_type", STRING),
            ("last_outcome_category", STRING),
            ("context", STRING),
        ]
    ),
    # data.police.uk outcomes, one row per outcome of a crime.
    "outcome": pa.schema(
        [
            ("crime_id", STRING),
            ("month", DATE),
            ("reported_by", STRING),
            ("falls_within", STRING),
            ("longitude", FLOAT),
            ("latitude", FLOAT),
            ("location", STRING),
            ("lsoa_code", STRING),
            ("lsoa_name", STRING),
            ("outcome_type", STRING),
        ]
    ),
    # data.police.uk stop and search, one row per search.
    "stop_search": pa.schema(
        [
            ("force", STRING),
            ("month", DATE),
            ("type", STRING),
            ("occurred_at", pa.timestamp("s", tz="UTC")),
            ("part_of_policing_operation", BOOL),
            ("policing_operation", STRING),
            ("latitude", FLOAT),
            ("longitude", FLOAT),
            ("gender", STRING),
            ("age_range", STRING),
            ("self_defined_ethnicity", STRING),
            ("officer_defined_ethnicity", STRING),
            ("legislation", STRING),
            ("object_of_search", STRING),
            ("outcome", STRING),
            ("outcome_linked_to_object_of_search", BOOL),
            ("removal_of_more_than_outer_clothing", BOOL),
        ]
    ),
    # MPS recorded crime (borough, ward or LSOA) x offence x month, one count per row.
    # scheme: 'old' (mixed-case categories up to early 2022) or 'new' (Home Office
    # subgroups in upper case). area_name and borough_name are as published.
    "recorded_crime": pa.schema(
        [
            ("scheme", STRING),
            ("area_level", STRING),
            ("area_vintage", STRING),
            ("area_code", STRING),
            ("area_name", STRING),
            ("borough_name", STRING),
            ("major_category", STRING),
            ("minor_category", STRING),
            ("month", DATE),
            ("count", INT),
        ]
    ),
    # MPS homicide victims, one row per victim (victims = 1) or per group of victims.
    # month is null where only the year is published.
    "homicide_victim": pa.schema(
        [
            ("month", DATE),
            ("year", INT),
            ("age_group", STRING),
            ("sex", STRING),
            ("method", STRING),
            ("domestic_abuse", BOOL),
            ("offence_type", STRING),
            ("solved_status", STRING),
            ("borough_code", STRING),
            ("borough_name", STRING),
            ("bcu_name", STRING),
            ("ethnicity", STRING),
            ("victims", INT),
        ]
    ),
    # A London-wide monthly series from a workbook (GLA State of London): one value per
    # sheet x column x month, with the sheet's metadata cells alongside.
    "london_monthly": pa.schema(
        [
            ("sheet", STRING),
            ("series", STRING),
            ("title", STRING),
            ("subtitle", STRING),
            ("month", DATE),
            ("value", FLOAT),
        ]
    ),
    # A survey proportion for an area over a period ending at period_end (MOPAC PAS).
    # sample_size is null where the publisher does not give it. period_start is null
    # for the dashboards' rolling quarters and set for a pooled span (2015-04..2021-03).
    # respondent_group is null for all respondents, else the group as published
    # ('White British', 'Asian', 'Black'). answer is the published definition of the
    # proportion ('% Strongly agree/Tend to agree') where the file gives one. A
    # neighbourhood's area_code is its borough's GSS code, area_name the neighbourhood
    # as published and area_alt_code the publisher's own code (MPS 'KG-KB'). A value
    # that is not a proportion (a rate) is in value, with unit; proportion is then null.
    # proportion (or value) is null where the publisher suppressed it: never zero.
    "survey_measure": pa.schema(
        [
            ("survey", STRING),
            ("area_level", STRING),
            ("area_code", STRING),
            ("area_name", STRING),
            ("measure", STRING),
            ("period_end", DATE),
            ("proportion", FLOAT),
            ("london_proportion", FLOAT),
            ("sample_size", INT),
            ("period_start", DATE),
            ("respondent_group", STRING),
            ("answer", STRING),
            ("area_alt_code", STRING),
            ("value", FLOAT),
            ("unit", STRING),
        ]
    ),
    # An area of a given level and vintage (boundary set), with its parent.
    # level: london, bcu, borough, ward, lsoa, unit (a non-geographic MPS unit).
    "area": pa.schema(
        [
            ("level", STRING),
            ("vintage", STRING),
            ("code", STRING),
            ("name", STRING),
            ("parent_level", STRING),
            ("parent_code", STRING),
            ("alt_code", STRING),
        ]
    ),
    # An area's boundary, as WKB in WGS84 (EPSG:4326).
    "area_geometry": pa.schema(
        [
            ("level", STRING),
            ("vintage", STRING),
            ("code", STRING),
            ("geometry_wkb", pa.binary()),
        ]
    ),
    # A lookup from an area of one level/vintage to one of another (best fit).
    "area_lookup": pa.schema(
        [
            ("from_level", STRING),
            ("from_vintage", STRING),
            ("from_code", STRING),
            ("to_level", STRING),
            ("to_vintage", STRING),
            ("to_code", STRING),
            ("method", STRING),
        ]
    ),
    # Residents of an area: reference says which estimate or table (census2021, mid2019,
    # census2021-ts021, …). ethnic_group is null for all groups, else the group as
    # published (Census 2021 TS021). name is the area's name where the file gives it.
    "population": pa.schema(
        [
            ("level", STRING),
            ("vintage", STRING),
            ("code", STRING),
            ("reference", STRING),
            ("sex", STRING),
            ("age_band", STRING),
            ("persons", INT),
            ("ethnic_group", STRING),
            ("name", STRING),
        ]
    ),
    # Cambridge Crime Harm Index weights (days of imprisonment).
    # scheme 'subgroup': per Home Office offence subgroup; 'force_category': per
    # data.police.uk crime type and force.
    "harm_weight": pa.schema(
        [
            ("scheme", STRING),
            ("force", STRING),
            ("category", STRING),
            ("subgroup", STRING),
            ("weight_days", FLOAT),
            ("national_count", INT),
        ]
    ),
    # Home Office police recorded crime by police force area: the offences recorded in
    # the 12 months ending period_end (a quarter end), by offence. A ROLLING 12-month
    # total at each quarter end, never a monthly or quarterly count; force and region as
    # published ('Metropolitan Police', 'London'; Action Fraud, CIFAS and UK Finance are
    # national fraud reporting bodies, BTP a force without a region).
    "force_recorded_crime": pa.schema(
        [
            ("force", STRING),
            ("region", STRING),
            ("offence", STRING),
            ("period_end", DATE),
            ("rolling_12m_offences", INT),
        ]
    ),
}

LINE_FIELD = pa.field("line", INT)


def batch_schema(kind: str) -> pa.Schema:
    """The schema of a batch a source yields for ``kind``: the record's fields, then ``line``."""
    return RECORD_KINDS[kind].append(LINE_FIELD)

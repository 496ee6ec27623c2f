"""London area names as publishers spell them → GSS codes.

The MPS, MOPAC and the GLA name boroughs inconsistently: "Barking & Dagenham"
and "Barking and Dagenham", "Kingston Upon Thames" and "Kingston upon Thames",
"City of Westminster" and "Westminster". :func:`normalise_name` folds case,
whitespace, ``&``/``and``, punctuation and the "London Borough of" style
prefixes, and :func:`borough_code` maps the result to the borough's ONS GSS
code (E09000001..E09000033).

MPS data also report crime against units that are not places: the airports
(Heathrow and London City, policed by Aviation Security, SO18) and records
with no known borough. They get codes of their own, ``MPS-…``, at level
``'unit'`` (see :data:`NON_GEOGRAPHIC_UNITS`), so that their counts are kept
and add up to the London total instead of being dropped as unknown names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: ONS GSS code of the London region (used for London-wide / MPS-wide figures).
LONDON_CODE = "E12000007"
LONDON_NAME = "London"

#: The 33 London local authorities (32 boroughs and the City), official names.
BOROUGHS: dict[str, str] = {
    "E09000001": "City of London",
    "E09000002": "Barking and Dagenham",
    "E09000003": "Barnet",
    "E09000004": "Bexley",
    "E09000005": "Brent",
    "E09000006": "Bromley",
    "E09000007": "Camden",
    "E09000008": "Croydon",
    "E09000009": "Ealing",
    "E09000010": "Enfield",
    "E09000011": "Greenwich",
    "E09000012": "Hackney",
    "E09000013": "Hammersmith and Fulham",
    "E09000014": "Haringey",
    "E09000015": "Harrow",
    "E09000016": "Havering",
    "E09000017": "Hillingdon",
    "E09000018": "Hounslow",
    "E09000019": "Islington",
    "E09000020": "Kensington and Chelsea",
    "E09000021": "Kingston upon Thames",
    "E09000022": "Lambeth",
    "E09000023": "Lewisham",
    "E09000024": "Merton",
    "E09000025": "Newham",
    "E09000026": "Redbridge",
    "E09000027": "Richmond upon Thames",
    "E09000028": "Southwark",
    "E09000029": "Sutton",
    "E09000030": "Tower Hamlets",
    "E09000031": "Waltham Forest",
    "E09000032": "Wandsworth",
    "E09000033": "Westminster",
}

#: Level of the MPS units that are not places.
UNIT_LEVEL = "unit"

#: MPS non-geographic units: code → name as the MPS publishes it.
NON_GEOGRAPHIC_UNITS: dict[str, str] = {
    "MPS-AIRPORTS": "London Heathrow and London City Airports",
    "MPS-AVIATION": "Aviation Security (SO18)",
    "MPS-UNKNOWN": "Unknown",
}

# Other spellings seen in (or plausible for) MPS, MOPAC and GLA publications. Keys are
# written plainly and normalised below, so case, '&' and punctuation do not matter here.
_ALIASES: dict[str, str] = {
    "City": "E09000001",
    "City of London Corporation": "E09000001",
    "Corporation of London": "E09000001",
    "Barking": "E09000002",
    "Hammersmith": "E09000013",
    "Kensington": "E09000020",
    "Kingston": "E09000021",
    "Richmond": "E09000027",
    "City of Westminster": "E09000033",
    "Westminster City": "E09000033",
    # MPS units
    "Heathrow": "MPS-AIRPORTS",
    "Heathrow Airport": "MPS-AIRPORTS",
    "Heathrow and London City Airports": "MPS-AIRPORTS",
    "London Heathrow and City Airports": "MPS-AIRPORTS",
    "Airports": "MPS-AIRPORTS",
    "Aviation Security": "MPS-AVIATION",
    "SO18": "MPS-AVIATION",
    "SO18 Aviation Security": "MPS-AVIATION",
    "Unknown Borough": "MPS-UNKNOWN",
    "Not Known": "MPS-UNKNOWN",
}

#: Names that mean London (or the Met as a whole) rather than a borough.
_LONDON_NAMES = ("London", "Greater London", "MPS", "Metropolitan Police", "Metropolitan Police Service", "Met")

_PREFIXES = ("london borough of ", "royal borough of ", "the royal borough of ", "the london borough of ")
_NON_WORD = re.compile(r"[^a-z0-9]+")

GSS_BOROUGH = re.compile(r"^E09\d{6}$")
GSS_WARD = re.compile(r"^E05\d{6}$")
GSS_LSOA = re.compile(r"^E01\d{6}$")


def normalise_name(name: str) -> str:
    """A comparison key for a London area name.

    Lower case; '&' read as 'and'; punctuation and runs of whitespace become one
    space; a leading 'London Borough of' / 'Royal Borough of' is dropped.
    ``"Barking & Dagenham"`` and ``" barking and  dagenham "`` give the same key.
    """
    key = name.replace("\u00a0", " ").lower().replace("&", " and ")
    key = _NON_WORD.sub(" ", key).strip()
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix):]
            break
    return key


_BY_KEY: dict[str, str] = {}
for _code, _name in {**BOROUGHS, **NON_GEOGRAPHIC_UNITS}.items():
    _BY_KEY[normalise_name(_name)] = _code
for _name, _code in _ALIASES.items():
    _BY_KEY.setdefault(normalise_name(_name), _code)
_LONDON_KEYS = frozenset(normalise_name(n) for n in _LONDON_NAMES)


def borough_code(name: str | None) -> str | None:
    """The GSS code of a London borough, or the ``MPS-…`` code of an MPS unit; None if unknown.

    >>> borough_code("Kingston Upon Thames"), borough_code("Heathrow")
    ('E09000021', 'MPS-AIRPORTS')
    """
    if name is None:
        return None
    return _BY_KEY.get(normalise_name(name))


def is_london(name: str | None) -> bool:
    """Whether a name means London as a whole (e.g. the 'MPS' rows of a dashboard)."""
    return name is not None and normalise_name(name) in _LONDON_KEYS


def is_unit(code: str) -> bool:
    return code in NON_GEOGRAPHIC_UNITS


@dataclass(frozen=True)
class LondonArea:
    level: str  # 'borough', 'unit' or 'london'
    code: str


def resolve_area(name: str | None) -> LondonArea | None:
    """A published borough / unit / London name as (level, code); None if unknown."""
    code = borough_code(name)
    if code is not None:
        return LondonArea(UNIT_LEVEL if is_unit(code) else "borough", code)
    if is_london(name):
        return LondonArea("london", LONDON_CODE)
    return None


__all__ = [
    "BOROUGHS",
    "GSS_BOROUGH",
    "GSS_LSOA",
    "GSS_WARD",
    "LONDON_CODE",
    "LONDON_NAME",
    "NON_GEOGRAPHIC_UNITS",
    "UNIT_LEVEL",
    "LondonArea",
    "borough_code",
    "is_london",
    "is_unit",
    "normalise_name",
    "resolve_area",
]

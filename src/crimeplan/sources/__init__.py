"""Source readers, one module per publisher format, and recognition of a file's dataset.

Each reader module defines a :class:`~crimeplan.sources.base.Reader` subclass;
``READERS`` lists one instance of each. :func:`sniff` asks them in turn.
"""

from __future__ import annotations

from crimeplan.errors import InputError, UnrecognisedFile
from crimeplan.sources.base import Part, Reader, Reject, Sniff
from crimeplan.sources.inputs import InputFile, discover


def _readers() -> list[Reader]:
    # Imported here so that a reader module can import base/inputs without a cycle.
    from crimeplan.sources import (
        force_strength, geography, gla_workbook, harm, home_office, homicide, mps_recorded_crime, nomis, pas,
        pas_neighbourhood, pas_quarterly, police_uk,
    )

    return [
        police_uk.PoliceUkReader(),
        mps_recorded_crime.MpsRecordedCrimeReader(),
        homicide.HomicideVictimsReader(),
        homicide.HomicideProcessedReader(),
        pas.PasDashboardReader(),
        pas_quarterly.PasQuarterlyReader(),
        pas_neighbourhood.PasNeighbourhoodReader(),
        force_strength.MpsForceStrengthReader(),
        home_office.PfaRecordedCrimeReader(),
        nomis.CensusEthnicGroupReader(),
        gla_workbook.StateOfLondonReader(),
        geography.GeographyReader(),
        harm.HarmWeightsReader(),
    ]


READERS: list[Reader] = []


def readers() -> list[Reader]:
    if not READERS:
        READERS.extend(_readers())
    return READERS


def sniff(inp: InputFile) -> Sniff:
    """Recognise the dataset of ``inp`` from its name, header and shape, or refuse it."""
    if inp.kind == "file" and not inp.members()[0].head(4096).strip():
        raise InputError(str(inp.path), "the file is empty", expected="a header row and data rows")
    for reader in readers():
        found = reader.sniff(inp)
        if found is not None:
            return found
    candidates = "; ".join(f"{', '.join(r.datasets)} ({r.signature})" for r in readers())
    raise UnrecognisedFile(
        str(inp.path),
        "not recognised as any dataset crimeplan reads",
        expected=f"one of: {candidates}",
    )


__all__ = ["InputError", "InputFile", "Part", "Reader", "Reject", "Sniff", "discover", "readers", "sniff"]

"""Readers are found, not listed: every Reader subclass of the package's modules, and a third party's by entry point."""

from __future__ import annotations

import pytest

import crimeplan.sources as sources
from crimeplan.sources import Reader, Sniff, discover, readers, sniff


class TownCsvReader(Reader):
    """A third party's format: a CSV whose header is 'town,month,incidents'."""

    datasets = ("mps_force_strength",)
    signature = "CSV town, month, incidents"
    order = 5

    def sniff(self, inp):
        if inp.kind == "file" and inp.members()[0].head().startswith(b"town,month,incidents"):
            return Sniff(self, self.datasets, "a town's incidents")
        return None

    def parts(self, inp):
        return iter(())


class FakeEntryPoint:
    def __init__(self, name: str, target) -> None:
        self.name, self.value, self._target = name, f"tests:{name}", target

    def load(self):
        return self._target


@pytest.fixture()
def registered(monkeypatch):
    def install(*targets):
        monkeypatch.setattr(sources, "entry_points", lambda group: [FakeEntryPoint(f"ep{i}", t) for i, t in enumerate(targets)]
                            if group == sources.ENTRY_POINT_GROUP else [])
        monkeypatch.setattr(sources, "READERS", [])
        return sources.readers()
    yield install
    sources.READERS.clear()


def test_every_reader_module_of_the_package_is_found_in_order() -> None:
    names = [type(r).__name__ for r in readers()]
    assert names[:2] == ["PoliceUkReader", "MpsRecordedCrimeReader"] and names[-1] == "HarmWeightsReader"
    assert "CensusEthnicGroupReader" in names and "PfaRecordedCrimeReader" in names
    assert not any(n.startswith("_") for n in names)  # shared base classes are not readers


def test_a_third_party_reader_registers_by_entry_point(registered, tmp_path) -> None:
    found = registered(TownCsvReader)
    assert isinstance(found[0], TownCsvReader)  # order 5: asked first
    path = tmp_path / "towns.csv"
    path.write_text("town,month,incidents\nBootle,2021-01,12\n", encoding="utf-8")
    [inp], _ = discover([path])
    assert isinstance(sniff(inp).reader, TownCsvReader)


def test_an_entry_point_that_is_no_reader_is_refused(registered) -> None:
    with pytest.raises(TypeError, match="is not a Reader subclass"):
        registered(object)


def test_the_readmes_worked_example_reads_and_rejects(tmp_path) -> None:
    """The reader shown in the README, run as written: read = loaded + rejected, the bad row located."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    code = next(block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "SearchesByForceReader" in block)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    reader = namespace["SearchesByForceReader"]()
    path = tmp_path / "searches.csv"
    path.write_text("Month,Force,Searches\n2024-01,Merseyside,1200\n2024-02,Merseyside,lots\n", encoding="utf-8")
    [inp], _ = discover([path])
    assert reader.sniff(inp) is not None
    [part] = list(reader.parts(inp))
    rows = sum(batch.num_rows for batch in part.batches)
    assert (part.records_read, rows, len(part.rejects)) == (2, 1, 1)
    assert part.rejects[0].line == 3

"""Source readers, one module per publisher format, and recognition of a file's dataset.

Each reader module defines a :class:`~crimeplan.sources.base.Reader` subclass;
``READERS`` lists one instance of each. :func:`sniff` asks them in turn.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from importlib.metadata import entry_points

from crimeplan.errors import InputError, UnrecognisedFile
from crimeplan.sources.base import Part, Reader, Reject, Sniff
from crimeplan.sources.inputs import InputFile, discover


# A third party registers its readers under this entry-point group in its own pyproject.toml:
#   [project.entry-points."crimeplan.readers"]
#   bristol_pas = "crimeplan_bristol.pas:BristolPasReader"
ENTRY_POINT_GROUP = "crimeplan.readers"


def _readers() -> list[Reader]:
    """Every Reader subclass defined in a module of this package, then those registered by entry points.

    A new publisher format is one module here (its Reader subclass) and its catalogue
    entry: nothing else lists readers. They are asked in ``order``, then by module name.
    """
    import crimeplan.sources as package

    found: list[type[Reader]] = []
    for module in pkgutil.iter_modules(package.__path__):
        mod = importlib.import_module(f"{package.__name__}.{module.name}")
        found += [obj for obj in vars(mod).values()
                  if isinstance(obj, type) and issubclass(obj, Reader) and obj.__module__ == mod.__name__
                  and not inspect.isabstract(obj) and not obj.__name__.startswith("_")]
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        cls = entry.load()
        if not (isinstance(cls, type) and issubclass(cls, Reader)):
            raise TypeError(f"entry point {entry.name} = {entry.value} of {ENTRY_POINT_GROUP!r} is not a Reader subclass")
        found.append(cls)
    return [cls() for cls in sorted(set(found), key=lambda c: (c.order, c.__module__, c.__name__))]


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

"""The catalogue of datasets crimeplan reads and of the files that supply them.

The catalogue ships as package data (``catalogue.yaml``). It says, for every
dataset, who publishes it, where its official page is, its licence and the
attribution outputs must carry; and, for every file of the data folder, where
it comes from (``url``), what that address serves, and the sha256 and size of
the exact bytes, so that a download can be checked.

In the YAML each file is listed once with the datasets it supplies. The API
hides that: :meth:`Dataset.files` gives a dataset's files, and
:meth:`Catalogue.files` the unique files with the datasets each supplies::

    from crimeplan.catalogue import load_catalogue
    cat = load_catalogue()
    for f in cat.dataset("police_uk_street").files:
        print(f.path, f.edition, f.url)
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Iterator, Literal
from urllib.parse import unquote, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, ValidationInfo, field_validator

from crimeplan.errors import InputError

PACKAGE_CATALOGUE = "catalogue.yaml"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_DATASET_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class CatalogueError(InputError):
    """A catalogue that does not validate: names the entry and the field at fault."""

    def __init__(self, file: str, entry: str, field: str | None, problem: str, *, expected: str | None = None):
        self.entry = entry
        where = entry if field is None else f"{entry}, field {field!r}"
        super().__init__(file, f"{where}: {problem}", expected=expected)
        # InputError stores `field` for the file's own fields; keep ours.
        self.field = field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("not an http(s) address")
    return value


class CatalogueFile(_Model):
    """One file of the data folder and where it comes from."""

    path: str = Field(description="where the file sits in the data folder, '/' separated")
    datasets: tuple[str, ...] = Field(min_length=1, description="ids of the datasets the file supplies")
    url: str = Field(description="the official address (see url_serves / url_is_landing_page)")
    url_is_landing_page: bool = False
    url_serves: Literal["same", "superset", "source"] = "same"
    sha256: str | None = None
    size: int | None = Field(default=None, ge=0)
    edition: str | None = None
    shared: bool = Field(default=True, validate_default=True)
    note: str | None = None
    # Outcomes files list the outcomes recorded in a month for crimes of any earlier month; a
    # file cut down to fewer says how many months after a crime's month its outcomes reach.
    outcome_follow_up_months: int | None = Field(
        default=None, ge=0, description="the months after a crime's month this file's outcome records reach "
                                        "(none: every outcome recorded in the file's months)")

    # An extract cut to some crime types (the Met burglary zip) counts the others as none: a count
    # or share of a type it left out is not recorded, never 0.
    crime_types: tuple[str, ...] | None = Field(
        default=None, min_length=1, description="for a street or outcomes file cut to some crime types: the types "
                                                "it holds (none: every type the publisher lists)")

    @field_validator("path")
    @classmethod
    def _relative_posix_path(cls, value: str) -> str:
        if not value:
            raise ValueError("empty path")
        if "\\" in value:
            raise ValueError("path must use '/' separators")
        pure = PurePosixPath(value)
        if pure.is_absolute() or ".." in pure.parts or "." in pure.parts or str(pure) != value:
            raise ValueError("path must be relative to the data folder, without '.', '..' or doubled '/'")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_http_url(value)

    @field_validator("sha256", mode="before")
    @classmethod
    def _sha256(cls, value: Any) -> Any:
        if value is None:
            return None
        text = str(value).strip().lower()
        if not _SHA256.fullmatch(text):
            raise ValueError(f"{value!r} is not a sha256 digest (64 hexadecimal characters)")
        return text

    @field_validator("edition", mode="before")
    @classmethod
    def _edition_text(cls, value: Any) -> Any:
        # YAML turns an unquoted 2021 into an int; an edition is a label.
        return None if value is None else str(value)

    @field_validator("url_serves")
    @classmethod
    def _serves_needs_a_download(cls, value: str, info: ValidationInfo) -> str:
        if value != "same" and info.data.get("url_is_landing_page"):
            raise ValueError("does not apply to a landing page (url_is_landing_page is true)")
        return value

    @field_validator("shared")
    @classmethod
    def _shared_has_checksum(cls, value: bool, info: ValidationInfo) -> bool:
        if value and (info.data.get("sha256") is None or info.data.get("size") is None):
            if "sha256" in info.data and "size" in info.data:  # not already failed on its own
                raise ValueError(
                    "a file in the shared data needs both sha256 and size (shared: false for one that is not)"
                )
        return value

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def downloadable(self) -> bool:
        """True when the official address serves these very bytes (a later edition aside)."""
        return not self.url_is_landing_page and self.url_serves == "same"

    @property
    def official_name(self) -> str | None:
        """The file name the official address serves, when it serves a file."""
        if self.url_is_landing_page:
            return None
        name = unquote(PurePosixPath(urlsplit(self.url).path).name)
        if "/" in unquote(urlsplit(self.url).query):
            # ons.gov.uk/file?uri=/…/name.zip: the name is at the end of the query
            name = unquote(urlsplit(self.url).query).rsplit("/", 1)[-1]
        return name or None

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["datasets"] = list(self.datasets)
        return data


class SurveyDesign(_Model):
    """How a survey that publishes no sample sizes is drawn, as its publisher describes it: enough to give its
    estimates approximate intervals (labelled approximate wherever shown)."""

    respondents: dict[str, int] = Field(description="interviews behind one estimate, by the survey's area level")
    window_months: int = Field(ge=1, description="the months of interviews one estimate pools")
    design_effect: float = Field(ge=1, description="variance inflation for weighting and clustering (assumed)")
    published_to: float | None = Field(default=None, gt=0, le=0.1,
                                       description="the rounding of the published estimates (0.01: whole per cent)")
    basis: str = Field(description="where the numbers come from, in words")
    source_url: str

    @field_validator("source_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_http_url(value)

    def effective_n(self, area_level: str) -> float | None:
        n = self.respondents.get(area_level)
        return None if n is None else n / self.design_effect


class FieldBreak(_Model):
    """A field whose categories a publisher changed: figures that read it are not compared across the change."""

    series: str = Field(description="the series (a force) whose coding changed")
    field: str
    comparable_from: str = Field(pattern=r"^\d{4}-\d{2}$", description="the first month of the new coding, YYYY-MM")
    reason: str

    @property
    def start(self) -> date:
        return date.fromisoformat(f"{self.comparable_from}-01")


class Dataset(_Model):
    """A publication crimeplan reads."""

    id: str
    title: str
    publisher: str
    description: str
    landing_page: str
    licence: str
    licence_url: str | None = None
    attribution: str
    # What an area with no row in a complete period means: 'zero' when the publisher lists
    # every record (street crimes, offences by area, victims), else 'unknown' (never read as 0).
    absent_row: Literal["zero", "unknown"] = "unknown"
    # Where its rows go, the finest level it is published at, and how often: plans and measures
    # read these instead of Python tables (geography.py turns native_level into reach).
    record_table: str | None = None
    native_level: str | None = None
    granularity: Literal["month", "quarter", "year", "pooled"] | None = None
    # Published values of a field gathered into groups: field -> group -> the values as published
    # (ethnicity as data.police.uk and the Census write it, gathered into the Census 2021 broad groups).
    groups: dict[str, dict[str, tuple[str, ...]]] = Field(default_factory=dict)
    survey_design: SurveyDesign | None = None
    field_breaks: tuple[FieldBreak, ...] = ()

    _files: tuple[CatalogueFile, ...] = PrivateAttr(default=())

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _DATASET_ID.fullmatch(value):
            raise ValueError(f"{value!r} is not a dataset id (lower case letters, digits and '_')")
        return value

    @field_validator("landing_page", "licence_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_http_url(value)

    @field_validator("groups")
    @classmethod
    def _each_value_once(cls, value: dict[str, dict[str, tuple[str, ...]]]) -> dict[str, dict[str, tuple[str, ...]]]:
        for field, groups in value.items():
            seen: dict[str, str] = {}
            for group, values in groups.items():
                for v in values:
                    if v in seen:
                        raise ValueError(f"{field}: {v!r} is in both {seen[v]!r} and {group!r}")
                    seen[v] = group
        return value

    def field_break(self, series: str, field: str) -> "FieldBreak | None":
        """The declared change of coding of ``field`` in ``series`` (None: the field's coding never changed)."""
        return next((b for b in self.field_breaks if b.series == series and b.field == field), None)

    def group_of(self, field: str) -> dict[str, str]:
        """Published value -> group, for one field of :attr:`groups` (KeyError when it has none)."""
        return {v: g for g, values in self.groups[field].items() for v in values}

    @property
    def files(self) -> tuple[CatalogueFile, ...]:
        """The files that supply this dataset, in catalogue order."""
        return self._files

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["files"] = [f.to_dict() for f in self._files]
        return data


class Catalogue:
    """The validated catalogue: datasets in order, and the files that supply them."""

    def __init__(self, datasets: Iterable[Dataset], files: Iterable[CatalogueFile], *, source: str = "<catalogue>"):
        self.source = source
        # Copies, so that building a catalogue never rewires another one's datasets.
        self.datasets: tuple[Dataset, ...] = tuple(d.model_copy() for d in datasets)
        self._files: tuple[CatalogueFile, ...] = tuple(files)
        self._by_id = {d.id: d for d in self.datasets}
        self._by_path = {f.path: f for f in self._files}
        for dataset in self.datasets:
            dataset._files = tuple(f for f in self._files if dataset.id in f.datasets)

    def __iter__(self) -> Iterator[Dataset]:
        return iter(self.datasets)

    def __len__(self) -> int:
        return len(self.datasets)

    @property
    def ids(self) -> list[str]:
        return [d.id for d in self.datasets]

    def dataset(self, dataset_id: str) -> Dataset:
        try:
            return self._by_id[dataset_id]
        except KeyError:
            raise KeyError(f"unknown dataset {dataset_id!r}; known datasets: {', '.join(self.ids)}") from None

    def files(self, datasets: Iterable[str] | None = None) -> list[CatalogueFile]:
        """Unique files in catalogue order (each lists the datasets it supplies).

        With ``datasets``, only the files that supply at least one of them;
        an unknown id raises KeyError naming the known ones.
        """
        if datasets is None:
            return list(self._files)
        wanted = {self.dataset(d).id for d in datasets}
        return [f for f in self._files if wanted.intersection(f.datasets)]

    def file(self, path: str) -> CatalogueFile:
        try:
            return self._by_path[path]
        except KeyError:
            raise KeyError(f"no file {path!r} in the catalogue") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: datasets (each with its files) and the unique files."""
        return {
            "datasets": [d.to_dict() for d in self.datasets],
            "files": [f.to_dict() for f in self._files],
        }


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    """Read and validate a catalogue: ``path``, or the one shipped with crimeplan (read once)."""
    if path is None:
        return _shipped_catalogue()
    return _read_catalogue(path)


@lru_cache(maxsize=1)
def _shipped_catalogue() -> Catalogue:
    return _read_catalogue(None)


def _read_catalogue(path: Path | str | None) -> Catalogue:
    if path is None:
        source = PACKAGE_CATALOGUE
        text = resources.files("crimeplan").joinpath(PACKAGE_CATALOGUE).read_text(encoding="utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogueError(source, "catalogue", None, f"cannot be read ({exc.strerror or exc})") from exc
    return parse_catalogue(text, source=source)


def parse_catalogue(text: str, *, source: str = "<catalogue>") -> Catalogue:
    """Validate catalogue YAML text; errors name the entry and the field."""
    try:
        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            source,
            f"not valid YAML ({getattr(exc, 'problem', None) or exc})",
            line=mark.line + 1 if mark is not None else None,
        ) from exc
    if not isinstance(doc, dict):
        raise CatalogueError(source, "catalogue", None, "is not a mapping", expected="keys 'datasets' and 'files'")
    unknown = sorted(set(doc) - {"datasets", "files"})
    if unknown:
        raise CatalogueError(source, "catalogue", unknown[0], "unknown top-level key", expected="'datasets' and 'files'")

    datasets = [_validate(Dataset, raw, source, "datasets", i) for i, raw in enumerate(_entries(doc, "datasets", source))]
    files = [_validate(CatalogueFile, raw, source, "files", i) for i, raw in enumerate(_entries(doc, "files", source))]

    seen_ids: dict[str, int] = {}
    for i, dataset in enumerate(datasets):
        if dataset.id in seen_ids:
            raise CatalogueError(
                source, _label("datasets", i, dataset.id), "id",
                f"duplicate id {dataset.id!r} (also datasets[{seen_ids[dataset.id]}])",
                expected="each dataset id once",
            )
        seen_ids[dataset.id] = i

    seen_paths: dict[str, int] = {}
    for i, f in enumerate(files):
        label = _label("files", i, f.path)
        if f.path in seen_paths:
            raise CatalogueError(
                source, label, "path", f"duplicate path (also files[{seen_paths[f.path]}])",
                expected="each file listed once, with all the datasets it supplies",
            )
        seen_paths[f.path] = i
        for dataset_id in f.datasets:
            if dataset_id not in seen_ids:
                raise CatalogueError(
                    source, label, "datasets", f"unknown dataset {dataset_id!r}",
                    expected=f"one of {', '.join(seen_ids)}",
                )
        if len(set(f.datasets)) != len(f.datasets):
            raise CatalogueError(source, label, "datasets", "lists a dataset twice")
    return Catalogue(datasets, files, source=source)


def _entries(doc: dict, key: str, source: str) -> list:
    value = doc.get(key)
    if not isinstance(value, list) or not value:
        raise CatalogueError(source, "catalogue", key, "missing or empty", expected=f"a list of {key}")
    return value


def _label(section: str, index: int, name: Any) -> str:
    kind = "dataset" if section == "datasets" else "file"
    return f"{kind} {name!r} ({section}[{index}])" if name else f"{section}[{index}]"


def _validate(model: type[_Model], raw: Any, source: str, section: str, index: int):
    name = raw.get("id" if section == "datasets" else "path") if isinstance(raw, dict) else None
    label = _label(section, index, name)
    if not isinstance(raw, dict):
        raise CatalogueError(source, label, None, f"is a {type(raw).__name__}", expected="a mapping of fields")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        # A misspelt key is the likeliest cause of the other errors: report it first.
        error = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        field = ".".join(str(p) for p in error["loc"]) or None
        problem = error["msg"]
        if error["type"] == "missing":
            problem = "missing"
        elif error["type"] == "extra_forbidden":
            problem = "unknown field"
        problem = problem.removeprefix("Value error, ")
        expected = None
        if error["type"] == "extra_forbidden":
            expected = "one of " + ", ".join(model.model_fields)
        raise CatalogueError(source, label, field, problem, expected=expected) from None

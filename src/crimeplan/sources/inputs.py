"""Files as the user downloaded them: a single file, an archive zip, or a folder of month folders.

An :class:`InputFile` is the unit of loading (one transaction each). Its
:class:`Member` s are the table-shaped files inside it; a plain file is its own
only member. Members of a zip are read straight from the archive, one at a
time, never extracted to disk.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from zlib_ng import zlib_ng

from crimeplan.errors import InputError

DATA_SUFFIXES = {".csv", ".zip", ".xlsx", ".geojson", ".json"}
MONTH_FOLDER = re.compile(r"^\d{4}-\d{2}$")
POLICE_UK_MEMBER = re.compile(r"(?:^|/)(\d{4}-\d{2})-([a-z0-9-]+?)-(street|outcomes|stop-and-search)\.csv$")


TEXT_SUFFIXES = (".csv", ".json", ".geojson", ".txt")
# Byte-order marks of the wide Unicode encodings, longest first (UTF-32 LE begins like UTF-16 LE).
WIDE_BOMS = [(b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
             (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")]


def as_utf8(data: bytes, name: str) -> bytes:
    """UTF-16 or UTF-32 text (by its byte-order mark) as UTF-8 with a BOM, which every reader decodes; other
    bytes as they are. Wide text without a mark is refused: read byte by byte it would be every row rejected."""
    for bom, encoding in WIDE_BOMS:
        if data.startswith(bom):
            try:
                return b"\xef\xbb\xbf" + data[len(bom):].decode(encoding).encode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(name, f"not valid {encoding.upper()} text at byte {exc.start + len(bom)}",
                                 expected=f"{encoding.upper()} text (its byte-order mark says so)") from None
    head = data[:4096]
    if len(head) >= 16 and head.count(0) > len(head) // 4:
        raise InputError(name, "the file looks like UTF-16 or UTF-32 text without a byte-order mark (a NUL in "
                               f"{head.count(0) * 100 // len(head)}% of its first bytes)",
                         expected="UTF-8 or Windows-1252 text, or UTF-16/32 with a byte-order mark: save it as UTF-8")
    return data


@dataclass
class Member:
    """One file inside an input (or the input itself)."""

    name: str
    size: int
    _read: Callable[[], bytes] = field(repr=False)
    text: bool | None = None  # whether it holds text (None: by its name's suffix)
    label: str = ""  # how an error names it (a plain file: its path)

    def read_bytes(self) -> bytes:
        data = self._read()
        text = self.text if self.text is not None else self.name.lower().endswith(TEXT_SUFFIXES)
        return as_utf8(data, self.label or self.name) if text else data

    def head(self, n: int = 65536) -> bytes:
        # Members are small enough (tens of MB at most) that reading the whole one is fine.
        return self.read_bytes()[:n]


GIB = 1 << 30


@dataclass(frozen=True)
class ArchiveLimits:
    """What a zip may hold, checked against its central directory before a byte is inflated and again while
    inflating (a directory can lie): a zip bomb is refused naming the member, never inflated.

    Members are read whole, one at a time, so ``member_bytes`` bounds a load's memory. The real files compress at
    most 32:1 (stop-and-search CSVs with many empty fields); repeated rows compress several hundred to one.
    Each limit can be set by an environment variable (``CRIMEPLAN_ZIP_MAX_MEMBERS`` and so on).
    """

    members: int = 10_000
    total_bytes: int = 16 * GIB  # a whole data.police.uk archive of 36 months and every force is some 8 GiB
    member_bytes: int = 1 * GIB
    ratio: float = 100.0
    RATIO_FROM_BYTES = 1 << 20  # a member smaller than this is judged by size only

    ENVIRONMENT = {"members": "CRIMEPLAN_ZIP_MAX_MEMBERS", "total_bytes": "CRIMEPLAN_ZIP_MAX_BYTES",
                   "member_bytes": "CRIMEPLAN_ZIP_MAX_MEMBER_BYTES", "ratio": "CRIMEPLAN_ZIP_MAX_RATIO"}

    @classmethod
    def from_environment(cls) -> "ArchiveLimits":
        values = {}
        for name, variable in cls.ENVIRONMENT.items():
            text = os.environ.get(variable)
            if text:
                try:
                    values[name] = float(text) if name == "ratio" else int(text)
                except ValueError:
                    raise InputError(variable, f"{text!r} is not a number", expected="a positive number") from None
        return cls(**values)

    def check(self, path: Path, infos: list[zipfile.ZipInfo]) -> None:
        if len(infos) > self.members:
            raise InputError(str(path), f"the archive holds {len(infos):,} files, more than the {self.members:,} "
                             f"allowed", expected=f"at most {self.members:,} files ({self.ENVIRONMENT['members']})")
        total = 0
        for info in infos:
            where = f"{path}!{info.filename}"
            if info.file_size > self.member_bytes:
                raise InputError(where, f"inflates to {_bytes(info.file_size)}, more than the {_bytes(self.member_bytes)} "
                                 f"a member may hold", expected=f"members of at most {_bytes(self.member_bytes)} "
                                                                f"({self.ENVIRONMENT['member_bytes']})")
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size >= self.RATIO_FROM_BYTES and ratio > self.ratio:
                raise InputError(where, f"inflates {ratio:,.0f} times ({_bytes(info.compress_size)} to "
                                 f"{_bytes(info.file_size)}): a zip bomb or rows repeated, not a publisher's file",
                                 expected=f"a compression ratio of at most {self.ratio:,.0f} "
                                          f"({self.ENVIRONMENT['ratio']})")
            total += info.file_size
            if total > self.total_bytes:
                raise InputError(str(path), f"inflates to more than {_bytes(self.total_bytes)} in all (reached at "
                                 f"{info.filename})", expected=f"at most {_bytes(self.total_bytes)} "
                                                               f"({self.ENVIRONMENT['total_bytes']})")


def _bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GiB"


@dataclass
class InputFile:
    """What the user pointed at: a file, a zip archive, or a folder of month folders."""

    path: Path
    kind: str  # 'file', 'zip' or 'folder'
    _members: list[Member] | None = field(default=None, repr=False)
    _zip: zipfile.ZipFile | None = field(default=None, repr=False)
    limits: ArchiveLimits | None = field(default=None, repr=False)  # None: the defaults, or the environment's

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def suffix(self) -> str:
        return self.path.suffix.lower() if self.kind != "folder" else ""

    def members(self) -> list[Member]:
        if self._members is None:
            self._members = list(self._list_members())
        return self._members

    def _list_members(self) -> Iterator[Member]:
        if self.kind == "file":
            yield Member("", self.path.stat().st_size, self.path.read_bytes,
                         text=self.path.suffix.lower() in TEXT_SUFFIXES, label=str(self.path))
        elif self.kind == "zip":
            archive = self._open_zip()
            infos = [i for i in archive.infolist() if not i.is_dir() and not _is_junk(i.filename)]
            (self.limits or ArchiveLimits.from_environment()).check(self.path, infos)
            for info in infos:
                yield Member(info.filename, info.file_size, _zip_reader(self, archive, info))
        else:
            for child in sorted(self.path.rglob("*")):
                if child.is_file() and not _is_junk(child.name):
                    rel = child.relative_to(self.path).as_posix()
                    yield Member(rel, child.stat().st_size, child.read_bytes)

    def _open_zip(self) -> zipfile.ZipFile:
        if self._zip is None:
            try:
                self._zip = zipfile.ZipFile(self.path)
            except zipfile.BadZipFile as exc:
                raise InputError(
                    str(self.path), f"not a readable zip archive ({exc})", expected="a complete zip file"
                ) from exc
        return self._zip

    def member_contents(self) -> list[tuple[str, int, int]] | None:
        """(name, size, CRC-32) of each member of a zip (from its directory, nothing inflated) or a folder; None for a
        plain file, whose sha256 is its content."""
        if self.kind == "file":
            return None
        if self.kind == "zip":
            archive = self._open_zip()
            by_name = {i.filename: i for i in archive.infolist()}
            return sorted((m.name, m.size, by_name[m.name].CRC) for m in self.members())
        return sorted((m.name, m.size, zlib.crc32(m.read_bytes())) for m in self.members())

    def sha256(self) -> str:
        """Checksum of the bytes as downloaded (for a folder: of its members' names and bytes)."""
        digest = hashlib.sha256()
        if self.kind == "folder":
            for member in self.members():
                digest.update(member.name.encode())
                digest.update(hashlib.sha256(member.read_bytes()).digest())
        else:
            with open(self.path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        return digest.hexdigest()

    def size(self) -> int:
        if self.kind == "folder":
            return sum(m.size for m in self.members())
        return self.path.stat().st_size

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None


def _zip_reader(inp: InputFile, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            if info.compress_type == zipfile.ZIP_DEFLATED:
                return _inflate_member(inp.path, info)
            with archive.open(info) as handle:  # never more than the directory declares, whatever the method
                data = handle.read(info.file_size + 1)
            if len(data) > info.file_size:
                raise zipfile.BadZipFile(f"{info.filename} inflates beyond the {info.file_size:,} bytes its "
                                         f"directory declares")
            return data
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
            raise InputError(
                f"{inp.path}!{info.filename}",
                f"archive member cannot be read ({exc})",
                expected="a complete zip file",
            ) from exc

    return read


def _inflate_member(path: Path, info: zipfile.ZipInfo) -> bytes:
    """A deflated member's bytes, inflated by zlib-ng (about 1.7x faster than zlib here).

    The compressed bytes follow the member's local header; sizes come from the
    central directory. The CRC-32 and size are checked as zipfile would, so a
    truncated or corrupted archive is refused, never half-read.
    """
    with open(path, "rb") as handle:
        handle.seek(info.header_offset)
        local = handle.read(30)
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"bad local header for {info.filename}")
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        handle.seek(info.header_offset + 30 + name_length + extra_length)
        compressed = handle.read(info.compress_size)
    if len(compressed) != info.compress_size:
        raise zipfile.BadZipFile(f"{info.filename} is cut short ({len(compressed)} of {info.compress_size} bytes)")
    # At most one byte more than declared: a directory understating a bomb's size is caught, not inflated.
    data = zlib_ng.decompressobj(-15).decompress(compressed, info.file_size + 1)
    if len(data) > info.file_size:
        raise zipfile.BadZipFile(f"{info.filename} inflates beyond the {info.file_size:,} bytes its directory "
                                 f"declares")
    if len(data) != info.file_size or zlib_ng.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"bad CRC-32 or size for {info.filename}: the archive is corrupt")
    return data


def _is_junk(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.startswith(".") or name.startswith("__MACOSX/") or base in {"Thumbs.db", "desktop.ini"}


def is_month_folder_archive(path: Path) -> bool:
    """A folder laid out like a data.police.uk download: YYYY-MM/YYYY-MM-<force>-<kind>.csv."""
    months = [p for p in path.iterdir() if p.is_dir() and MONTH_FOLDER.match(p.name)]
    if not months:
        return False
    return any(POLICE_UK_MEMBER.search(f.name) for m in months for f in m.iterdir())


def discover(paths: list[str | Path]) -> tuple[list[InputFile], list[Path]]:
    """Expand what the user named into inputs; also return files passed over as not data.

    A zip or a data file is one input; a folder laid out like a data.police.uk
    download is one input; any other folder is searched for inputs.
    """
    inputs: list[InputFile] = []
    skipped: list[Path] = []

    def visit(path: Path, explicit: bool) -> None:
        if not path.exists():
            raise InputError(str(path), "no such file or folder")
        if path.is_dir():
            if is_month_folder_archive(path):
                inputs.append(InputFile(path, "folder"))
                return
            for child in sorted(path.iterdir()):
                if child.name.startswith("."):
                    continue
                visit(child, explicit=False)
            return
        suffix = path.suffix.lower()
        if suffix == ".zip":
            inputs.append(InputFile(path, "zip"))
        elif suffix in DATA_SUFFIXES or explicit:
            inputs.append(InputFile(path, "file"))
        else:
            skipped.append(path)

    for p in paths:
        visit(Path(p), explicit=True)
    return inputs, skipped

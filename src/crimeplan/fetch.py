"""Download the catalogue's files into a data folder that ``crimeplan load`` reads.

Files land at ``dest/<path>``, the layout of the shared data folder. They come
from one of three places:

* the official addresses in the catalogue (the default). Only a file whose
  address serves these very bytes can be fetched this way; files known only
  by a landing page, or made from an official original (a sheet exported to
  CSV, boundaries converted to GeoJSON), are reported as not downloadable. A
  data.police.uk subset can be replaced by the whole official archive it was
  cut from with ``whole_archives=True`` (several GB each, not checked against
  the catalogue, saved as ``police-uk/archive/YYYY-MM.zip``);
* a mirror of the data folder over http(s): ``mirror + '/' + quoted path``;
* a local copy of the data folder: ``mirror`` is a folder.

Downloads stream to ``<file>.part``; an interrupted one resumes with an HTTP
Range request (206 appends, 200 restarts, 416 means the part is complete).
A file is renamed into place only once its sha256 and size match the
catalogue; a mismatch discards the part and reports that the publisher may
have issued a new edition (with ``verify=False`` the file is kept, with a
warning). A file already present with the right checksum is left alone.
Connection errors and 5xx answers are retried with exponential backoff.

``progress(event, **info)`` is called with:

``start``    path, source, total (bytes or None), completed (bytes already on
             disk when resuming). Sent again when a download restarts or
             resumes after a retry: reset the bar.
``advance``  path, nbytes
``retry``    path, attempt, wait (seconds), reason
``done``     path, status, bytes (transferred), message
``skip``     path, status ('up to date' or 'not downloadable'), message
``error``    path, message
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any, Callable
from urllib.parse import quote

import httpx

from crimeplan import __version__
from crimeplan.catalogue import Catalogue, CatalogueFile, load_catalogue

log = logging.getLogger(__name__)

USER_AGENT = f"crimeplan/{__version__} (data fetch) python-httpx/{httpx.__version__}"
CHUNK = 1 << 16
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
_CONTENT_RANGE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$")

Progress = Callable[..., Any]


class FetchStatus(StrEnum):
    DOWNLOADED = "downloaded"
    RESUMED = "resumed"
    UP_TO_DATE = "up to date"
    ERROR = "error"
    NOT_DOWNLOADABLE = "not downloadable"


@dataclass
class FileResult:
    """What happened to one catalogue file."""

    path: str
    """The file's path in the catalogue (and under ``dest``)."""
    source: str | None
    """The URL or local file it was (or would have been) taken from."""
    status: FetchStatus
    bytes: int = 0
    """Bytes transferred in this run."""
    size: int | None = None
    """Size of the file now in place (or of the rejected download)."""
    sha256: str | None = None
    """sha256 of the file now in place (or of the rejected download)."""
    verified: bool = False
    """True when sha256 and size were checked against the catalogue and match."""
    message: str = ""
    datasets: tuple[str, ...] = ()
    saved_as: str | None = None
    """Where the file was written, relative to dest, when not at ``path`` (whole archives)."""

    @property
    def ok(self) -> bool:
        return self.status != FetchStatus.ERROR

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "source": self.source,
            "status": str(self.status),
            "bytes": self.bytes,
            "size": self.size,
            "sha256": self.sha256,
            "verified": self.verified,
            "message": self.message,
            "datasets": list(self.datasets),
            "saved_as": self.saved_as,
        }


@dataclass
class FetchReport:
    """The outcome of :func:`fetch`, one :class:`FileResult` per catalogue file."""

    dest: Path
    mode: str
    """'official', 'mirror' (http) or 'folder' (local copy)."""
    mirror: str | None = None
    results: list[FileResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No file ended in error ('not downloadable' is not an error: it is reported)."""
        return all(r.ok for r in self.results)

    @property
    def errors(self) -> list[FileResult]:
        return [r for r in self.results if r.status == FetchStatus.ERROR]

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.results)

    def counts(self) -> dict[str, int]:
        counts = {str(s): 0 for s in FetchStatus}
        for r in self.results:
            counts[str(r.status)] += 1
        return counts

    def summary(self) -> str:
        """One line for people: '3 downloaded, 1 up to date, 2 not downloadable (12.3 MB)'."""
        parts = [f"{n} {status}" for status, n in self.counts().items() if n]
        return (", ".join(parts) or "nothing to fetch") + f" ({self.bytes / 1e6:.1f} MB transferred)"

    def result(self, path: str) -> FileResult:
        for r in self.results:
            if r.path == path:
                return r
        raise KeyError(f"no result for {path!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "dest": str(self.dest),
            "mode": self.mode,
            "mirror": self.mirror,
            "ok": self.ok,
            "bytes": self.bytes,
            "counts": self.counts(),
            "files": [r.to_dict() for r in self.results],
        }


def fetch(
    dest: Path | str,
    *,
    mirror: str | Path | None = None,
    catalogue: Catalogue | None = None,
    only: list[str] | None = None,
    progress: Progress | None = None,
    verify: bool = True,
    client: httpx.Client | None = None,
    whole_archives: bool = False,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 60.0,
) -> FetchReport:
    """Fetch the catalogue's files (or those of the datasets in ``only``) into ``dest``.

    ``mirror``: None for the official addresses, an http(s) URL of a copy of
    the data folder, or a local folder holding one. ``client``: an httpx
    client to use (the caller keeps ownership); by default one is made with
    timeouts and redirects followed. ``retries`` extra attempts are made on
    connection errors and 5xx answers, waiting ``backoff * 2**n`` seconds.
    Raises KeyError for an unknown dataset id in ``only`` and
    FileNotFoundError for a mirror folder that does not exist.
    """
    catalogue = catalogue or load_catalogue()
    files = catalogue.files(only)
    dest = Path(dest)
    if mirror is None:
        mode, mirror_text = "official", None
    elif isinstance(mirror, str) and mirror.lower().startswith(("http://", "https://")):
        mode, mirror_text = "mirror", mirror.rstrip("/")
    else:
        mode, mirror_text = "folder", str(mirror)
        if not Path(mirror).is_dir():
            raise FileNotFoundError(f"mirror folder {mirror} does not exist or is not a folder")
    dest.mkdir(parents=True, exist_ok=True)

    own_client = client is None
    if client is None:
        client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            follow_redirects=True,
            headers={"User-Agent": USER_AGENT},
        )
    job = _Fetcher(
        dest=dest, mode=mode, mirror=mirror_text, client=client, progress=progress, verify=verify,
        whole_archives=whole_archives, retries=max(0, retries), backoff=max(0.0, backoff),
    )
    report = FetchReport(dest=dest, mode=mode, mirror=mirror_text)
    try:
        for f in files:
            try:
                result = job.fetch_file(f)
            except OSError as exc:  # the destination, not the source, failed: say so and go on
                result = job.finish(FileResult(f.path, None, FetchStatus.ERROR, message=f"cannot write under {dest}: {exc}"))
            result.datasets = f.datasets
            report.results.append(result)
    finally:
        if own_client:
            client.close()
    return report


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def mirror_url(mirror: str, path: str) -> str:
    """The address of ``path`` on an http(s) mirror of the data folder (names have spaces and brackets)."""
    return mirror.rstrip("/") + "/" + quote(path, safe="/")


class _Retryable(Exception):
    """An answer worth trying again (5xx, 429), with the server's wait if it gave one."""

    def __init__(self, reason: str, wait: float | None = None):
        super().__init__(reason)
        self.wait = wait


@dataclass
class _Fetcher:
    dest: Path
    mode: str
    mirror: str | None
    client: httpx.Client
    progress: Progress | None
    verify: bool
    whole_archives: bool
    retries: int
    backoff: float
    _archives_done: dict[str, str] = field(default_factory=dict)

    # -- events -------------------------------------------------------------
    def emit(self, event: str, **info: Any) -> None:
        if self.progress is not None:
            self.progress(event, **info)

    def finish(self, result: FileResult) -> FileResult:
        if result.status in (FetchStatus.UP_TO_DATE, FetchStatus.NOT_DOWNLOADABLE):
            self.emit("skip", path=result.path, status=str(result.status), message=result.message)
        elif result.status == FetchStatus.ERROR:
            self.emit("error", path=result.path, message=result.message)
        else:
            self.emit("done", path=result.path, status=str(result.status), bytes=result.bytes, message=result.message)
        return result

    # -- one file -----------------------------------------------------------
    def fetch_file(self, f: CatalogueFile) -> FileResult:
        target = self.dest / f.path
        if target.is_file():
            present = self.check_present(f, target)
            if present is not None:
                return self.finish(present)

        if self.mode == "folder":
            return self.finish(self.copy(f, target))
        if self.mode == "mirror":
            assert self.mirror is not None
            return self.finish(self.download(f, mirror_url(self.mirror, f.path), target, official=False))

        if f.url_is_landing_page:
            return self.finish(FileResult(
                f.path, f.url, FetchStatus.NOT_DOWNLOADABLE,
                message=f"not downloadable: only a landing page is known ({f.url}); "
                        "download it by hand into the data folder, or fetch from a mirror",
            ))
        if f.url_serves == "source":
            original = f.official_name or "the original"
            return self.finish(FileResult(
                f.path, f.url, FetchStatus.NOT_DOWNLOADABLE,
                message=f"not downloadable: this file was made from {original} at {f.url}, which is not "
                        "the same file (see the catalogue note); fetch it from a mirror",
            ))
        if f.url_serves == "superset":
            if not self.whole_archives:
                return self.finish(FileResult(
                    f.path, f.url, FetchStatus.NOT_DOWNLOADABLE,
                    message=f"not downloadable as catalogued: this file is a subset cut from the official "
                            f"archive {f.url} (all forces, 36 months, several GB); fetch it from a mirror, "
                            "or ask for whole archives to download the archive itself",
                ))
            return self.finish(self.download_archive(f))
        return self.finish(self.download(f, f.url, target, official=True))

    def check_present(self, f: CatalogueFile, target: Path) -> FileResult | None:
        """A result when the file in place can stay; None when it should be fetched again."""
        size = target.stat().st_size
        if f.sha256 is None:
            return FileResult(
                f.path, None, FetchStatus.UP_TO_DATE, size=size, sha256=file_sha256(target),
                message="present; the catalogue has no checksum for it, so it was not checked "
                        "(delete it to fetch the current edition)",
            )
        if size == f.size:
            digest = file_sha256(target)
            if digest == f.sha256:
                return FileResult(
                    f.path, None, FetchStatus.UP_TO_DATE, size=size, sha256=digest, verified=True,
                    message="present with the catalogued checksum",
                )
        else:
            digest = None
        if not self.verify:
            return FileResult(
                f.path, None, FetchStatus.UP_TO_DATE, size=size, sha256=digest or file_sha256(target),
                message="present but differs from the catalogued edition; kept because verification is off",
            )
        # Wrong bytes in place: fetch again; the old file stays until a verified one replaces it.
        return None

    # -- sources ------------------------------------------------------------
    def copy(self, f: CatalogueFile, target: Path) -> FileResult:
        assert self.mirror is not None
        source = Path(self.mirror) / f.path
        if not source.is_file():
            if not f.shared:
                return FileResult(
                    f.path, str(source), FetchStatus.NOT_DOWNLOADABLE,
                    message=f"not in the mirror folder ({source}); this file is not part of the shared data",
                )
            return FileResult(f.path, str(source), FetchStatus.ERROR, message=f"not found in the mirror folder: {source}")
        if target.exists() and source.resolve() == target.resolve():
            return FileResult(
                f.path, str(source), FetchStatus.ERROR,
                message="the mirror folder is the destination, and the file there does not match the catalogue",
            )
        part = _part_path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        total = source.stat().st_size
        self.emit("start", path=f.path, source=str(source), total=total, completed=0)
        copied = 0
        try:
            with open(source, "rb") as src, open(part, "wb") as out:
                for block in iter(lambda: src.read(CHUNK), b""):
                    out.write(block)
                    copied += len(block)
                    self.emit("advance", path=f.path, nbytes=len(block))
        except OSError as exc:
            part.unlink(missing_ok=True)
            return FileResult(f.path, str(source), FetchStatus.ERROR, bytes=copied, message=f"copy failed: {exc}")
        return self.settle(f, part, target, str(source), FetchStatus.DOWNLOADED, copied, "copied from the mirror folder")

    def download_archive(self, f: CatalogueFile) -> FileResult:
        """The whole official archive a subset was cut from; nothing to check it against."""
        name = f.official_name or PurePosixPath(f.path).name
        rel = str(PurePosixPath(f.path).parent / "archive" / name)
        target = self.dest / rel
        if f.url in self._archives_done:
            return FileResult(
                f.path, f.url, FetchStatus.UP_TO_DATE, saved_as=rel,
                message=f"same archive as {self._archives_done[f.url]}",
            )
        self._archives_done[f.url] = f.path
        if target.is_file():
            return FileResult(
                f.path, f.url, FetchStatus.UP_TO_DATE, size=target.stat().st_size, saved_as=rel,
                message=f"whole archive present at {rel} (no catalogue checksum for it; delete it to fetch again)",
            )
        result = self.download(f, f.url, target, official=True, expected=False)
        result.saved_as = rel
        if result.ok:
            result.message = (
                f"whole official archive saved as {rel}: a superset of the catalogued file, "
                "so there is no catalogue checksum to check it against"
            )
        return result

    def download(self, f: CatalogueFile, url: str, target: Path, *, official: bool, expected: bool = True) -> FileResult:
        """Stream ``url`` to ``target`` through a resumable .part file, with retries."""
        part = _part_path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        expected_size = f.size if expected else None
        transferred = 0
        resumed_from: int | None = None
        restarted = False
        attempt = 0
        while True:
            offset = part.stat().st_size if part.exists() else 0
            if expected_size is not None and offset > expected_size:
                part.unlink()
                offset = 0
            headers = {"Accept-Encoding": "identity"}
            if offset:
                headers["Range"] = f"bytes={offset}-"
            try:
                with self.client.stream("GET", url, headers=headers, follow_redirects=True) as resp:
                    code = resp.status_code
                    if code == 416 and offset:
                        # Nothing past our offset: the part already holds the whole file.
                        self.emit("start", path=f.path, source=url, total=offset, completed=offset)
                        resumed_from = offset if resumed_from is None else resumed_from
                        break
                    if code in RETRYABLE_STATUS:
                        raise _Retryable(f"HTTP {code} {resp.reason_phrase}", _retry_after(resp))
                    encoded = resp.headers.get("content-encoding", "identity").lower() not in ("", "identity")
                    if code == 206 and offset and not encoded:
                        start = _content_range_start(resp.headers.get("content-range"))
                        if start != offset:
                            part.unlink(missing_ok=True)
                            raise _Retryable(f"server sent bytes from {start} when asked for {offset}; restarting")
                        mode = "ab"
                        resumed_from = offset if resumed_from is None else resumed_from
                    elif code in (200, 206):
                        if code == 206:
                            # A ranged answer we cannot append to (compressed, or unasked): start over.
                            part.unlink(missing_ok=True)
                            raise _Retryable("unusable partial answer; restarting")
                        if offset:
                            restarted = True  # the server ignored the Range header
                        mode, offset, resumed_from = "wb", 0, None
                    else:
                        return self.http_error(f, url, resp, official)
                    length = _int(resp.headers.get("content-length"))
                    total = offset + length if length is not None and not encoded else expected_size
                    self.emit("start", path=f.path, source=url, total=total, completed=offset)
                    with open(part, mode) as out:
                        for chunk in resp.iter_bytes(CHUNK):
                            out.write(chunk)
                            transferred += len(chunk)
                            self.emit("advance", path=f.path, nbytes=len(chunk))
                break
            except (httpx.TransportError, _Retryable) as exc:
                attempt += 1
                reason = _describe(exc)
                if attempt > self.retries:
                    kept = part.exists() and part.stat().st_size > 0
                    return FileResult(
                        f.path, url, FetchStatus.ERROR, bytes=transferred,
                        message=f"failed after {attempt} attempts: {reason}"
                        + ("; the partial download is kept and the next fetch resumes from it" if kept else ""),
                    )
                wait = self.backoff * (2 ** (attempt - 1))
                if isinstance(exc, _Retryable) and exc.wait is not None:
                    wait = max(wait, exc.wait)
                self.emit("retry", path=f.path, attempt=attempt, wait=wait, reason=reason)
                log.info("%s: %s; retrying in %.1fs", f.path, reason, wait)
                if wait:
                    time.sleep(wait)

        status = FetchStatus.RESUMED if resumed_from is not None else FetchStatus.DOWNLOADED
        if resumed_from is not None:
            how = f"resumed from byte {resumed_from:,}"
        elif restarted:
            how = "downloaded (the server ignored the range request, so the download restarted from the beginning)"
        else:
            how = "downloaded"
        return self.settle(f, part, target, url, status, transferred, how, expected=expected)

    def settle(
        self, f: CatalogueFile, part: Path, target: Path, source: str, status: FetchStatus,
        transferred: int, how: str, *, expected: bool = True,
    ) -> FileResult:
        """Check the finished .part against the catalogue, then move it into place (or discard it)."""
        size = part.stat().st_size
        digest = file_sha256(part)
        result = FileResult(f.path, source, status, bytes=transferred, size=size, sha256=digest)
        if not expected or f.sha256 is None:
            os.replace(part, target)
            result.message = how if not expected else f"{how}; the catalogue has no checksum for this file, so it was not verified"
            return result
        if digest == f.sha256 and size == f.size:
            os.replace(part, target)
            result.verified = True
            result.message = f"{how}; sha256 verified"
            return result
        mismatch = (
            f"checksum mismatch: expected {f.size:,} bytes with sha256 {f.sha256[:16]}…, "
            f"got {size:,} bytes with sha256 {digest[:16]}…"
        )
        edition = f" (the catalogue describes edition {f.edition})" if f.edition else ""
        if self.verify:
            part.unlink(missing_ok=True)
            result.status = FetchStatus.ERROR
            result.message = (
                f"{mismatch}. The publisher may have issued a new edition of this file{edition}, or the "
                "download was corrupted; it was discarded. Turn verification off to accept it."
            )
            return result
        os.replace(part, target)
        result.message = f"{how}; WARNING: {mismatch}, kept because verification is off{edition}"
        log.warning("%s: %s", f.path, result.message)
        return result

    def http_error(self, f: CatalogueFile, url: str, resp: httpx.Response, official: bool) -> FileResult:
        reason = f"HTTP {resp.status_code} {resp.reason_phrase} from {url}"
        if resp.status_code == 404 and not official and not f.shared:
            return FileResult(
                f.path, url, FetchStatus.NOT_DOWNLOADABLE,
                message=f"not on the mirror ({reason}); this file is not part of the shared data",
            )
        if official and resp.status_code in (404, 410):
            reason += ("; the publisher may have retired this address when issuing a new edition "
                       "(see the dataset's landing page)")
        return FileResult(f.path, url, FetchStatus.ERROR, message=reason)


def _part_path(target: Path) -> Path:
    return target.with_name(target.name + ".part")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _content_range_start(value: str | None) -> int | None:
    match = _CONTENT_RANGE.match(value.strip()) if value else None
    return int(match.group(1)) if match else None


def _retry_after(resp: httpx.Response) -> float | None:
    value = _int(resp.headers.get("retry-after"))
    return None if value is None else float(min(max(value, 0), 60))


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, _Retryable) else f"{type(exc).__name__}: {text}"

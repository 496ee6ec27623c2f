"""crimeplan fetch against a local HTTP server on 127.0.0.1 serving the real data folder.

The server supports Range requests and can misbehave on demand: drop the
connection after N bytes, ignore Range, answer 500, serve corrupted bytes.
Every test's HTTP client refuses any host but 127.0.0.1, so nothing here can
reach the internet.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
import pytest

from crimeplan.catalogue import Catalogue, load_catalogue
from crimeplan.fetch import FetchStatus, fetch, file_sha256, mirror_url

BIG_ZIP = "police-uk/metropolitan-stop-and-search-2015-04_2024-08-partial.zip"  # 13 MB
SMALL_ZIP = "police-uk/city-of-london-stop-and-search-2017-12_2020-11.zip"
BOROUGH_BCU = "geography/london_borough_to_mps_bcu.csv"
WARD_CRIME = "london-datastore/MPS Ward Level Crime (most recent 24 months) 2024-03_2026-03.csv"
BOROUGH_RECENT = "london-datastore/MPS Borough Level Crime (most recent 24 months) 2022-02_2024-01.csv"
BOROUGH_OLD = "london-datastore/MPS Borough Level Crime (Historical) 2010-04_2022-01 old categories.csv"
LSOA_CRIME = "london-datastore/MPS LSOA Level Crime (most recent 24 months).csv"


# -- the test server ------------------------------------------------------------


@dataclass
class Behaviour:
    """How the server treats requests; each per-path fault fires a set number of times."""

    root: Path
    aliases: dict[str, str] = field(default_factory=dict)  # served path -> file under root
    drop_after: dict[str, int] = field(default_factory=dict)  # path -> bytes sent before hanging up (once)
    fail: dict[str, int] = field(default_factory=dict)  # path -> how many 500s to answer first
    corrupt: set[str] = field(default_factory=set)
    ignore_range: bool = False
    log: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def requests_for(self, path: str) -> list[dict]:
        return [r for r in self.log if r["path"] == path]


class MirrorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "MirrorServer"

    def log_message(self, format, *args):  # keep pytest output quiet
        pass

    def do_GET(self):
        b = self.server.behaviour
        path = unquote(urlsplit(self.path).path).lstrip("/")
        range_header = self.headers.get("Range")
        entry = {"path": path, "range": range_header, "status": None}
        with b.lock:
            b.log.append(entry)
            failing = b.fail.get(path, 0) > 0
            if failing:
                b.fail[path] -= 1
            drop = b.drop_after.pop(path, None)
        if failing:
            return self._reply(entry, 500, b"simulated server error")
        file = (b.root / b.aliases.get(path, path)).resolve()
        if b.root.resolve() not in file.parents or not file.is_file():
            return self._reply(entry, 404, b"not found")
        size = file.stat().st_size
        start = 0
        if range_header and not b.ignore_range:
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", range_header.strip())
            if match:
                start = int(match.group(1))
                if start >= size:
                    return self._reply(entry, 416, b"", {"Content-Range": f"bytes */{size}"})
        entry["status"] = 206 if start else 200
        self.send_response(entry["status"])
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size - start))
        self.send_header("Accept-Ranges", "bytes")
        if start:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.end_headers()
        sent = 0
        with open(file, "rb") as fh:
            fh.seek(start)
            while chunk := fh.read(1 << 16):
                if path in b.corrupt:
                    chunk = bytes(x ^ 0x55 for x in chunk[:16]) + chunk[16:]
                if drop is not None and sent + len(chunk) >= drop:
                    self.wfile.write(chunk[: drop - sent])
                    self.wfile.flush()
                    self.close_connection = True  # hang up mid-body
                    return
                self.wfile.write(chunk)
                sent += len(chunk)

    def _reply(self, entry, status, body, headers=None):
        entry["status"] = status
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class MirrorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behaviour: Behaviour):
        super().__init__(("127.0.0.1", 0), MirrorHandler)
        self.behaviour = behaviour

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def server(data_dir):
    srv = MirrorServer(Behaviour(root=data_dir))
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


class LoopbackOnly(httpx.HTTPTransport):
    """Fails loudly on any request to a host other than 127.0.0.1."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != "127.0.0.1":
            raise AssertionError(f"a test tried to reach the internet: {request.url}")
        return super().handle_request(request)


@pytest.fixture
def client():
    with httpx.Client(transport=LoopbackOnly(), timeout=10, follow_redirects=True, trust_env=False) as c:
        yield c


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def only_files(catalogue: Catalogue, *paths: str, **changes) -> Catalogue:
    """A catalogue reduced to ``paths`` (datasets kept), with fields of those files changed."""
    files = [catalogue.file(p).model_copy(update=changes.get(p, {})) for p in paths]
    return Catalogue(catalogue.datasets, files)


def served(server: MirrorServer, path: str) -> str:
    return mirror_url(server.url, path)


# -- from an http mirror -------------------------------------------------------


def test_fetch_everything_from_the_mirror(server, client, catalogue, data_dir, tmp_path):
    report = fetch(tmp_path, mirror=server.url, client=client, backoff=0)
    assert report.ok, [r.message for r in report.errors]
    assert report.mode == "mirror"
    for f in catalogue.files():
        result = report.result(f.path)
        if not f.shared:  # the LSOA file is not in the shared data, so not on the mirror
            assert result.status == FetchStatus.NOT_DOWNLOADABLE and "not on the mirror" in result.message
            continue
        assert result.status == FetchStatus.DOWNLOADED and result.verified, f.path
        assert file_sha256(tmp_path / f.path) == f.sha256 == result.sha256
        assert (tmp_path / f.path).stat().st_size == f.size == result.bytes
    assert not list(tmp_path.rglob("*.part"))
    assert report.bytes == sum(f.size for f in catalogue.files() if f.shared)


def test_only_fetches_the_files_of_those_datasets(server, client, catalogue, tmp_path):
    report = fetch(tmp_path, mirror=server.url, client=client, only=["police_uk_stop_search", "lookup_borough_bcu"])
    assert report.ok
    assert [r.path for r in report.results] == [SMALL_ZIP, BIG_ZIP, BOROUGH_BCU]
    for r in report.results:
        assert r.status == FetchStatus.DOWNLOADED and r.verified
        assert file_sha256(tmp_path / r.path) == catalogue.file(r.path).sha256
    assert report.result(SMALL_ZIP).datasets == ("police_uk_stop_search",)
    # names with spaces and brackets are quoted on the way out and found on the server
    report = fetch(tmp_path, mirror=server.url + "/", client=client, only=["mps_borough_crime"])
    assert report.ok and all(r.verified for r in report.results)
    assert server.behaviour.requests_for(BOROUGH_OLD)[0]["status"] == 200


def test_unknown_dataset_is_refused(tmp_path, client):
    with pytest.raises(KeyError, match="known datasets"):
        fetch(tmp_path, mirror="http://127.0.0.1:9", client=client, only=["police_uk_streets"])


def test_resume_after_the_connection_drops(server, client, catalogue, tmp_path):
    server.behaviour.drop_after[BIG_ZIP] = 4_000_000
    events = []
    report = fetch(tmp_path, mirror=server.url, client=client, only=["police_uk_stop_search"],
                   backoff=0, progress=lambda event, **info: events.append((event, info)))
    result = report.result(BIG_ZIP)
    assert result.status == FetchStatus.RESUMED and result.verified, result.message
    assert file_sha256(tmp_path / BIG_ZIP) == catalogue.file(BIG_ZIP).sha256
    requests = server.behaviour.requests_for(BIG_ZIP)
    assert [r["status"] for r in requests] == [200, 206]
    assert requests[0]["range"] is None
    start = int(re.fullmatch(r"bytes=(\d+)-", requests[1]["range"]).group(1))
    assert 0 < start <= 4_000_000
    assert result.bytes == catalogue.file(BIG_ZIP).size  # what was received before and after the drop
    assert "resumed from byte" in result.message
    retries = [info for event, info in events if event == "retry" and info["path"] == BIG_ZIP]
    assert len(retries) == 1 and retries[0]["attempt"] == 1
    starts = [info for event, info in events if event == "start" and info["path"] == BIG_ZIP]
    assert starts[-1]["completed"] == start and starts[-1]["total"] == catalogue.file(BIG_ZIP).size
    assert not (tmp_path / (BIG_ZIP + ".part")).exists()


def test_resume_from_a_part_left_by_an_earlier_run(server, client, catalogue, data_dir, tmp_path):
    target = tmp_path / BIG_ZIP
    target.parent.mkdir(parents=True)
    Path(str(target) + ".part").write_bytes((data_dir / BIG_ZIP).read_bytes()[:1000])
    report = fetch(tmp_path, mirror=server.url, client=client, catalogue=only_files(catalogue, BIG_ZIP))
    result = report.result(BIG_ZIP)
    assert result.status == FetchStatus.RESUMED and result.verified
    assert server.behaviour.requests_for(BIG_ZIP)[0]["range"] == "bytes=1000-"
    assert result.bytes == catalogue.file(BIG_ZIP).size - 1000
    assert file_sha256(target) == catalogue.file(BIG_ZIP).sha256


def test_a_complete_part_is_verified_on_416(server, client, catalogue, data_dir, tmp_path):
    target = tmp_path / SMALL_ZIP
    target.parent.mkdir(parents=True)
    Path(str(target) + ".part").write_bytes((data_dir / SMALL_ZIP).read_bytes())
    report = fetch(tmp_path, mirror=server.url, client=client, catalogue=only_files(catalogue, SMALL_ZIP))
    result = report.result(SMALL_ZIP)
    assert [r["status"] for r in server.behaviour.requests_for(SMALL_ZIP)] == [416]
    assert result.status == FetchStatus.RESUMED and result.verified and result.bytes == 0
    assert file_sha256(target) == catalogue.file(SMALL_ZIP).sha256


def test_a_server_ignoring_range_restarts_cleanly(server, client, catalogue, tmp_path):
    server.behaviour.ignore_range = True
    target = tmp_path / SMALL_ZIP
    target.parent.mkdir(parents=True)
    Path(str(target) + ".part").write_bytes(b"stale bytes of some other download" * 100)
    report = fetch(tmp_path, mirror=server.url, client=client, catalogue=only_files(catalogue, SMALL_ZIP))
    result = report.result(SMALL_ZIP)
    request = server.behaviour.requests_for(SMALL_ZIP)[0]
    assert request["range"] == "bytes=3400-" and request["status"] == 200
    assert result.status == FetchStatus.DOWNLOADED and result.verified, result.message
    assert "restarted" in result.message
    assert file_sha256(target) == catalogue.file(SMALL_ZIP).sha256


def test_corrupted_bytes_are_refused(server, client, catalogue, tmp_path):
    server.behaviour.corrupt.add(SMALL_ZIP)
    report = fetch(tmp_path, mirror=server.url, client=client, catalogue=only_files(catalogue, SMALL_ZIP, BOROUGH_BCU))
    assert not report.ok
    result = report.result(SMALL_ZIP)
    assert result.status == FetchStatus.ERROR and not result.verified
    assert "checksum mismatch" in result.message and "new edition" in result.message
    assert "2020-11" in result.message  # the catalogued edition
    assert not (tmp_path / SMALL_ZIP).exists()
    assert not (tmp_path / (SMALL_ZIP + ".part")).exists()
    assert report.result(BOROUGH_BCU).status == FetchStatus.DOWNLOADED  # one bad file does not stop the rest
    assert [r.path for r in report.errors] == [SMALL_ZIP]


def test_corrupted_bytes_are_kept_with_a_warning_when_verification_is_off(server, client, catalogue, tmp_path):
    server.behaviour.corrupt.add(SMALL_ZIP)
    report = fetch(tmp_path, mirror=server.url, client=client, verify=False,
                   catalogue=only_files(catalogue, SMALL_ZIP))
    result = report.result(SMALL_ZIP)
    assert report.ok and result.status == FetchStatus.DOWNLOADED and not result.verified
    assert "WARNING" in result.message and "checksum mismatch" in result.message
    assert (tmp_path / SMALL_ZIP).is_file() and result.sha256 != catalogue.file(SMALL_ZIP).sha256
    # and a later run without verification keeps it rather than fetching again
    again = fetch(tmp_path, mirror=server.url, client=client, verify=False, catalogue=only_files(catalogue, SMALL_ZIP))
    assert again.result(SMALL_ZIP).status == FetchStatus.UP_TO_DATE
    assert "verification is off" in again.result(SMALL_ZIP).message


def test_a_500_is_retried(server, client, catalogue, tmp_path):
    server.behaviour.fail[SMALL_ZIP] = 1
    report = fetch(tmp_path, mirror=server.url, client=client, backoff=0, catalogue=only_files(catalogue, SMALL_ZIP))
    result = report.result(SMALL_ZIP)
    assert result.status == FetchStatus.DOWNLOADED and result.verified
    assert [r["status"] for r in server.behaviour.requests_for(SMALL_ZIP)] == [500, 200]


def test_persistent_500s_end_in_an_error(server, client, catalogue, tmp_path):
    server.behaviour.fail[SMALL_ZIP] = 100
    report = fetch(tmp_path, mirror=server.url, client=client, backoff=0, retries=2,
                   catalogue=only_files(catalogue, SMALL_ZIP))
    result = report.result(SMALL_ZIP)
    assert result.status == FetchStatus.ERROR and "failed after 3 attempts" in result.message and "500" in result.message
    assert len(server.behaviour.requests_for(SMALL_ZIP)) == 3
    assert not (tmp_path / SMALL_ZIP).exists()


def test_connection_refused_ends_in_an_error(client, catalogue, tmp_path):
    with socket_on_loopback() as port:
        pass  # the port is free again: nothing listens there
    report = fetch(tmp_path, mirror=f"http://127.0.0.1:{port}", client=client, backoff=0, retries=1,
                   catalogue=only_files(catalogue, BOROUGH_BCU))
    result = report.result(BOROUGH_BCU)
    assert result.status == FetchStatus.ERROR and "ConnectError" in result.message


def test_a_second_fetch_is_up_to_date_without_downloading(server, client, tmp_path):
    only = ["police_uk_stop_search", "mps_ward_crime"]
    first = fetch(tmp_path, mirror=server.url, client=client, only=only)
    assert first.ok and {r.status for r in first.results} == {FetchStatus.DOWNLOADED}
    requests_before = len(server.behaviour.log)
    events = []
    second = fetch(tmp_path, mirror=server.url, client=client, only=only,
                   progress=lambda event, **info: events.append(event))
    assert second.ok and {r.status for r in second.results} == {FetchStatus.UP_TO_DATE}
    assert all(r.verified and r.bytes == 0 for r in second.results)
    assert len(server.behaviour.log) == requests_before  # no request at all
    assert events == ["skip"] * 3
    assert second.counts()["up to date"] == 3


def test_a_wrong_file_in_place_is_replaced(server, client, catalogue, tmp_path):
    target = tmp_path / BOROUGH_BCU
    target.parent.mkdir(parents=True)
    target.write_text("not the lookup\n")
    report = fetch(tmp_path, mirror=server.url, client=client, catalogue=only_files(catalogue, BOROUGH_BCU))
    assert report.result(BOROUGH_BCU).status == FetchStatus.DOWNLOADED
    assert file_sha256(target) == catalogue.file(BOROUGH_BCU).sha256


def test_progress_events_describe_each_download(server, client, catalogue, tmp_path):
    events = []
    report = fetch(tmp_path, mirror=server.url, client=client, catalogue=only_files(catalogue, BIG_ZIP, BOROUGH_BCU),
                   progress=lambda event, **info: events.append((event, info)))
    assert report.ok
    for path in (BIG_ZIP, BOROUGH_BCU):
        mine = [(e, i) for e, i in events if i["path"] == path]
        assert mine[0] == ("start", {"path": path, "source": served(server, path),
                                     "total": catalogue.file(path).size, "completed": 0})
        assert {e for e, _ in mine[1:-1]} == {"advance"}
        assert sum(i["nbytes"] for e, i in mine if e == "advance") == catalogue.file(path).size
        assert mine[-1][0] == "done" and mine[-1][1]["status"] == "downloaded"


def test_report_to_dict_is_json(server, client, catalogue, tmp_path):
    report = fetch(tmp_path, mirror=server.url, client=client, catalogue=only_files(catalogue, BOROUGH_BCU, LSOA_CRIME))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is True and data["mode"] == "mirror" and data["mirror"] == server.url
    first, second = data["files"]
    assert first["path"] == BOROUGH_BCU and first["status"] == "downloaded" and first["verified"] is True
    assert first["source"] == served(server, BOROUGH_BCU) and first["sha256"] == catalogue.file(BOROUGH_BCU).sha256
    assert first["datasets"] == ["lookup_borough_bcu"]
    assert second["status"] == "not downloadable"
    assert data["counts"]["downloaded"] == 1 and data["counts"]["not downloadable"] == 1
    assert report.summary().startswith("1 downloaded, 1 not downloadable (0.0 MB")


def test_a_destination_that_cannot_be_written_is_an_error_for_that_file(server, client, catalogue, tmp_path):
    (tmp_path / BOROUGH_BCU).mkdir(parents=True)  # a folder where the file should go
    report = fetch(tmp_path, mirror=server.url, client=client, catalogue=only_files(catalogue, BOROUGH_BCU, SMALL_ZIP))
    result = report.result(BOROUGH_BCU)
    assert result.status == FetchStatus.ERROR and "cannot write" in result.message
    assert report.result(SMALL_ZIP).verified


def test_mirror_urls_quote_names():
    assert mirror_url("http://h/m/", BOROUGH_RECENT) == (
        "http://h/m/london-datastore/MPS%20Borough%20Level%20Crime%20%28most%20recent%2024%20months%29"
        "%202022-02_2024-01.csv"
    )


def test_default_client(server, catalogue, tmp_path, monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    report = fetch(tmp_path, mirror=server.url, catalogue=only_files(catalogue, BOROUGH_BCU))
    assert report.ok and report.result(BOROUGH_BCU).verified


# -- from a local folder --------------------------------------------------------


def test_mirror_as_a_local_folder(catalogue, data_dir, tmp_path):
    report = fetch(tmp_path, mirror=data_dir, only=["police_uk_stop_search", "mps_lsoa_crime", "harm_cchi_subgroups"])
    assert report.ok and report.mode == "folder"
    for path in (SMALL_ZIP, BIG_ZIP, "harm/cchi_subgroup_medians.csv"):
        result = report.result(path)
        assert result.status == FetchStatus.DOWNLOADED and result.verified and "copied" in result.message
        assert file_sha256(tmp_path / path) == catalogue.file(path).sha256
    assert report.result(LSOA_CRIME).status == FetchStatus.NOT_DOWNLOADABLE
    # a string path works too, and a second run finds everything in place
    again = fetch(tmp_path, mirror=str(data_dir), only=["police_uk_stop_search"])
    assert {r.status for r in again.results} == {FetchStatus.UP_TO_DATE}


def test_local_folder_missing_a_file(catalogue, data_dir, tmp_path):
    partial = tmp_path / "partial-mirror"
    (partial / "geography").mkdir(parents=True)
    (partial / BOROUGH_BCU).write_bytes((data_dir / BOROUGH_BCU).read_bytes())
    report = fetch(tmp_path / "out", mirror=partial, catalogue=only_files(catalogue, BOROUGH_BCU, SMALL_ZIP))
    assert report.result(BOROUGH_BCU).verified
    missing = report.result(SMALL_ZIP)
    assert missing.status == FetchStatus.ERROR and "not found in the mirror folder" in missing.message
    with pytest.raises(FileNotFoundError, match="mirror folder"):
        fetch(tmp_path / "out", mirror=tmp_path / "no-such-folder")


# -- from the official addresses -------------------------------------------------


def test_without_a_mirror_landing_pages_and_derived_files_are_not_downloadable(client, catalogue, tmp_path):
    only = ["harm_cchi_subgroups", "homicide_victims_processed", "gla_state_of_london_crime",
            "geo_wards_2014", "mopac_pas_london", "police_uk_stop_search"]
    events = []
    report = fetch(tmp_path, client=client, only=only, progress=lambda event, **info: events.append(event))
    assert report.ok and report.mode == "official"
    assert {r.status for r in report.results} == {FetchStatus.NOT_DOWNLOADABLE}
    assert events == ["skip"] * len(report.results)
    landing = report.result("harm/cchi_subgroup_medians.csv")
    assert landing.message.startswith("not downloadable: only a landing page is known")
    assert landing.source == "https://cambridge-ebp.co.uk/chi"
    pas = report.result("london-datastore/MOPAC PAS trust and confidence dashboard MPS sheet 2014-12_2023-12.csv")
    assert "made from PAS_T&Cdashboard_to Q3 23-24.xlsx" in pas.message
    archive = report.result(SMALL_ZIP)
    assert "subset" in archive.message and "https://data.police.uk/data/archive/2020-11.zip" in archive.message
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_official_addresses_are_downloaded_and_verified(server, client, catalogue, tmp_path):
    cat = only_files(
        catalogue, WARD_CRIME, BOROUGH_RECENT, LSOA_CRIME, BOROUGH_OLD,
        **{
            WARD_CRIME: {"url": served(server, WARD_CRIME)},
            BOROUGH_RECENT: {"url": served(server, BOROUGH_RECENT)},
            # the unshared LSOA file: whatever the address serves is taken, unverified
            LSOA_CRIME: {"url": served(server, BOROUGH_RECENT)},
            # the publisher has replaced the file: another edition comes back
            BOROUGH_OLD: {"url": served(server, "london-datastore/MPS Borough Level Crime (Historical) 2010-04_2023-09.csv")},
        },
    )
    report = fetch(tmp_path, client=client, catalogue=cat)
    ward = report.result(WARD_CRIME)
    assert ward.status == FetchStatus.DOWNLOADED and ward.verified and ward.source == served(server, WARD_CRIME)
    assert file_sha256(tmp_path / WARD_CRIME) == catalogue.file(WARD_CRIME).sha256
    assert report.result(BOROUGH_RECENT).verified
    lsoa = report.result(LSOA_CRIME)
    assert lsoa.status == FetchStatus.DOWNLOADED and not lsoa.verified and "no checksum" in lsoa.message
    assert (tmp_path / LSOA_CRIME).is_file()
    new_edition = report.result(BOROUGH_OLD)
    assert new_edition.status == FetchStatus.ERROR and "publisher may have issued a new edition" in new_edition.message
    assert not (tmp_path / BOROUGH_OLD).exists() and not report.ok


def test_a_retired_official_address(server, client, catalogue, tmp_path):
    cat = only_files(catalogue, WARD_CRIME, **{WARD_CRIME: {"url": server.url + "/download/retired.csv"}})
    result = fetch(tmp_path, client=client, catalogue=cat).result(WARD_CRIME)
    assert result.status == FetchStatus.ERROR and "HTTP 404" in result.message and "retired" in result.message


def test_whole_archives_replace_subsets_on_request(server, client, catalogue, tmp_path):
    server.behaviour.aliases["data/archive/2020-11.zip"] = SMALL_ZIP
    cat = only_files(catalogue, SMALL_ZIP, **{SMALL_ZIP: {"url": server.url + "/data/archive/2020-11.zip"}})
    report = fetch(tmp_path, client=client, catalogue=cat, whole_archives=True)
    result = report.result(SMALL_ZIP)
    assert result.status == FetchStatus.DOWNLOADED and not result.verified
    assert result.saved_as == "police-uk/archive/2020-11.zip" and "superset" in result.message
    assert (tmp_path / "police-uk/archive/2020-11.zip").is_file()
    assert not (tmp_path / SMALL_ZIP).exists()
    again = fetch(tmp_path, client=client, catalogue=cat, whole_archives=True)
    assert again.result(SMALL_ZIP).status == FetchStatus.UP_TO_DATE
    assert len(server.behaviour.requests_for("data/archive/2020-11.zip")) == 1


# -- helpers --------------------------------------------------------------------


class socket_on_loopback:
    """Reserve a free loopback port and release it, giving a port where nothing listens."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.sock.close()

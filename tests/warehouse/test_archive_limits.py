"""Zip bombs and archives too big to trust: refused from the central directory before inflating, naming the member,
and caught while inflating when the directory lies. Every archive here is built at test time and is small."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from crimeplan.warehouse import Warehouse

MEMBER = "2019-01/2019-01-city-of-london-street.csv"
HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
          "Last outcome category,Context\n").encode()


def _deflate_zeros(n: int) -> bytes:
    """Raw deflate of ``n`` zero bytes, a chunk at a time (never ``n`` bytes in memory)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk, out = bytes(1 << 24), []
    for start in range(0, n, len(chunk)):
        out.append(c.compress(chunk[:min(len(chunk), n - start)]))
    out.append(c.flush())
    return b"".join(out)


def _zip_declaring(path: Path, name: str, compressed: bytes, declared_size: int, crc: int = 0) -> Path:
    """A one-member zip whose headers declare ``declared_size`` for a deflate stream, whatever it inflates to."""
    encoded = name.encode()
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(compressed), declared_size,
                        len(encoded), 0) + encoded
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(compressed),
                          declared_size, len(encoded), 0, 0, 0, 0, 0, 0) + encoded
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(compressed), 0)
    path.write_bytes(local + compressed + central + end)
    return path


def _load_in_a_child(db: Path, archive: Path, env: dict | None = None) -> dict:
    """Load ``archive`` in a fresh process; its report and its own peak resident memory (MiB)."""
    # VmHWM: the peak of this process's own memory since exec (ru_maxrss would carry over the forking pytest's).
    script = (
        "import json, re, sys\n"
        "from crimeplan.warehouse import Warehouse\n"
        "with Warehouse.open(sys.argv[1]) as wh:\n"
        "    [f] = wh.load([sys.argv[2]]).files\n"
        "    rows = wh.con.execute('SELECT count(*) FROM street_crime').fetchone()[0]\n"
        "print(json.dumps({'status': f.status, 'message': f.message, 'rows': rows,\n"
        "                  'peak_mib': int(re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read())[1]) / 1024}))\n")
    done = subprocess.run([sys.executable, "-c", script, str(db), str(archive)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_bomb_its_directory_declares_is_refused_before_a_byte_is_inflated(tmp_path: Path) -> None:
    """1 GiB of zeros in a 1 MiB zip: refused by its ratio, naming the member; nothing registered."""
    size = 1 << 30
    bomb = _zip_declaring(tmp_path / "bomb.zip", MEMBER, _deflate_zeros(size), size)
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        [f] = wh.load([bomb]).files
        assert f.status == "refused"
        assert f"bomb.zip!{MEMBER}" in f.message and "inflates 1,0" in f.message and "zip bomb" in f.message
        assert "CRIMEPLAN_ZIP_MAX_RATIO" in f.message  # what to change, if the file is genuine
        assert wh.con.execute("SELECT count(*) FROM files").fetchone()[0] == 0


def test_a_bomb_whose_directory_lies_is_stopped_while_inflating_in_bounded_memory(tmp_path: Path) -> None:
    """The directory says 2,000 bytes; the stream inflates to 1 GiB. Inflating stops one byte past the declared
    size: the load is refused and its process never holds the gigabyte."""
    bomb = _zip_declaring(tmp_path / "liar.zip", MEMBER, _deflate_zeros(1 << 30), 2000)
    got = _load_in_a_child(tmp_path / "w.duckdb", bomb)
    assert got["status"] == "refused" and "inflates beyond the 2,000 bytes its directory declares" in got["message"]
    assert MEMBER in got["message"] and got["rows"] == 0
    assert got["peak_mib"] < 600, got  # inflated whole, the member alone would take 1,024 MiB


def test_repeated_rows_are_refused_not_loaded(tmp_path: Path) -> None:
    """Valid rows repeated until the member is 40 MiB: compresses hundreds of times, so it is no publisher's file."""
    row = (b"abc123,2019-01,City of London Police,City of London Police,-0.09,51.51,On or near X,E01000001,"
           b"City of London 001A,Burglary,Under investigation,\n")
    data = HEADER + row * ((40 << 20) // len(row))
    path = tmp_path / "repeated.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(MEMBER, data)
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        [f] = wh.load([path]).files
        assert f.status == "refused" and "a zip bomb or rows repeated" in f.message, f.message
        assert wh.con.execute("SELECT count(*) FROM street_crime").fetchone()[0] == 0


def test_member_count_total_and_member_size_limits_are_set_by_the_environment(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for m in range(1, 7):
            z.writestr(f"2019-{m:02d}/2019-{m:02d}-city-of-london-street.csv", HEADER + os.urandom(3000).hex().encode())
    cases = {
        "CRIMEPLAN_ZIP_MAX_MEMBERS": ("5", "the archive holds 6 files, more than the 5 allowed"),
        "CRIMEPLAN_ZIP_MAX_BYTES": ("20000", "inflates to more than 19.5 KiB in all (reached at 2019-04/"),
        "CRIMEPLAN_ZIP_MAX_MEMBER_BYTES": ("4000", "2019-01-city-of-london-street.csv: inflates to 6.0 KiB, more "
                                                   "than the 3.9 KiB a member may hold"),
    }
    for variable, (value, words) in cases.items():
        with monkeypatch.context() as m:
            m.setenv(variable, value)
            with Warehouse.open(tmp_path / f"{variable}.duckdb") as wh:
                [f] = wh.load([path]).files
            assert f.status == "refused" and words in f.message and variable in f.message, (variable, f.message)
    monkeypatch.setenv("CRIMEPLAN_ZIP_MAX_RATIO", "lots")
    with Warehouse.open(tmp_path / "bad.duckdb") as wh:
        [f] = wh.load([path]).files
    assert f.status == "refused" and "CRIMEPLAN_ZIP_MAX_RATIO" in f.message and "'lots' is not a number" in f.message


@pytest.mark.parametrize("name", ["national-street-2018-10_2019-02.zip", "metropolitan-stop-and-search-2015-04_2024-08-partial.zip"])
def test_the_real_archives_are_within_the_default_limits(data_dir: Path, name: str) -> None:
    from crimeplan.sources.inputs import ArchiveLimits

    with zipfile.ZipFile(data_dir / "police-uk" / name) as z:
        ArchiveLimits().check(data_dir / "police-uk" / name, [i for i in z.infolist() if not i.is_dir()])

"""`python -m benchmark data download NAME --to DIR`: fetch a public dataset, verify it, unpack it into the
layout its reader expects (the catalogue is `benchmark.download_sources`).

Fetching is pooch's (`pooch.retrieve`: the SHA-256 is checked before the file takes its name, a mismatch
deletes it) with a downloader of ours that resumes: bytes arrive in ``<file>.part`` beside the target, and a
rerun after an interruption asks the server for the rest (an HTTP Range request) instead of starting over.
So ``DIR/downloads/`` only ever holds complete, verified archives, plus at most one ``.part`` per file.
Archives are kept (a rerun verifies and reuses them); they are extracted into a scratch folder, arranged into
``DIR/<name>/`` and the scratch folder is removed. An existing non-empty ``DIR/<name>/`` is never touched.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.download_sources import SOURCES, RemoteFile, Source
from benchmark.errors import DataError, UsageError

CHUNK = 1 << 20
TIMEOUT_S = 60


class ResumingDownloader:
    """A pooch downloader (``downloader(url, output_file, pooch)``) that continues a partial ``part`` file.

    On success the part file becomes pooch's temporary output, which pooch verifies and renames; on a broken
    connection the part file stays for the next attempt. A part file longer than the expected size, or a
    server that ignores the Range header, starts the file over.
    """

    def __init__(self, part: Path, size: int | None, progress: bool | None = None) -> None:
        """``progress``: show a bar (True), never (False), or when stderr is a terminal (None)."""
        self.part, self.size, self.progress = part, size, progress
        self.resumed_from = 0

    def __call__(self, url: str, output_file: str, pooch: Any, check_only: bool = False) -> bool | None:
        import requests
        from tqdm import tqdm

        if check_only:
            return requests.head(url, timeout=TIMEOUT_S, allow_redirects=True).status_code == 200
        have = self.part.stat().st_size if self.part.exists() else 0
        if self.size is not None and have > self.size:
            self.part.unlink()
            have = 0
        complete = have > 0 and have == self.size
        if not complete:
            # identity: the bytes on the wire are the file's, so a byte offset means the same to both ends
            headers = {"Accept-Encoding": "identity", **({"Range": f"bytes={have}-"} if have else {})}
            with requests.get(url, stream=True, timeout=TIMEOUT_S, headers=headers) as response:
                response.raise_for_status()
                if have and response.status_code != 206:  # the server sends the whole file again
                    have = 0
                self.resumed_from = have
                length = response.headers.get("content-length")
                expected = have + int(length) if length is not None else self.size
                with open(self.part, "ab" if have else "wb") as out, \
                        tqdm(total=expected, initial=have, unit="B", unit_scale=True, desc=self.part.stem,
                             disable=None if self.progress is None else not self.progress,
                             file=sys.stderr) as bar:
                    # read1: whatever has arrived (up to CHUNK), written at once, so a connection that
                    # breaks mid-chunk loses nothing already received
                    while chunk := _read_some(response):
                        out.write(chunk)
                        bar.update(len(chunk))
            got = self.part.stat().st_size
            if expected is not None and got < expected:
                raise requests.exceptions.ConnectionError(f"connection closed after {got} of {expected} "
                                                          "bytes")
        got = self.part.stat().st_size
        if self.size is not None and got != self.size:
            self.part.unlink()
            raise ValueError(f"size {got} bytes, expected {self.size}")
        os.replace(self.part, output_file)
        return None


def _read_some(response: Any) -> bytes:
    """The next bytes of a streamed response (empty at its end); a broken connection raises requests'
    ConnectionError."""
    import requests
    import urllib3

    try:
        return response.raw.read1(CHUNK)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise requests.exceptions.ConnectionError(str(exc)) from None


def mirrored(file: RemoteFile, mirror: str | None) -> str:
    """The URL to fetch: the publisher's, or ``<mirror>/<file name>`` (a local copy, same checksums)."""
    return f"{mirror.rstrip('/')}/{file.name}" if mirror else file.url


def fetch(file: RemoteFile, folder: Path, mirror: str | None = None, check_hash: bool = True,
          progress: bool | None = None) -> Path:
    """The verified file ``folder/<name>``, downloaded or resumed as needed; one-line DataError otherwise."""
    import pooch
    import requests

    if check_hash and file.sha256 is None:
        raise UsageError(f"{file.name}: no published checksum to verify it against ({file.hash_source}); "
                         "rerun with --no-hash-check to download it unverified")
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"{file.name}.part"
    downloader = ResumingDownloader(part, file.size, progress)
    pooch.get_logger().setLevel("WARNING")
    try:
        known = f"sha256:{file.sha256}" if check_hash else None
        path = pooch.retrieve(mirrored(file, mirror), known_hash=known, fname=file.name, path=folder,
                              downloader=downloader)
    except ValueError as exc:  # pooch: hash mismatch (the file is deleted); ours: wrong size
        part.unlink(missing_ok=True)
        got = re.search(r"but got (\w+)", str(exc))
        found = f"SHA-256 {got.group(1)}" if got else str(exc).splitlines()[0]
        raise DataError(f"{file.name}: downloaded file has {found}, expected SHA-256 {file.sha256} "
                        f"({file.hash_source}); nothing was kept, rerun to try again") from None
    except requests.exceptions.RequestException as exc:
        kept = part.stat().st_size if part.exists() else 0
        resume = (f"{kept} bytes kept in {part}; rerun the same command to resume" if kept
                  else "rerun to retry")
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise DataError(f"{file.name}: download from {mirrored(file, mirror)} failed ({reason}); {resume}") \
            from None
    if not check_hash:
        print(f"{file.name}: not verified (no published checksum); its SHA-256 is {pooch.file_hash(path)}",
              file=sys.stderr)
    return Path(path)


def extract(archive: Path, into: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(into)  # zipfile drops absolute paths and '..' from member names
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{archive}: cannot unpack the archive ({exc})") from None


@dataclass
class Downloaded:
    """What `download` produced: the unpacked folder and how to check it."""

    source: Source
    folder: Path
    unpacked: bool  # False: the folder already existed and was left as it was


def download(name: str, to: str | Path, mirror: str | None = None, check_hash: bool = True,
             progress: bool | None = None, say: Callable[[str], None] = print) -> Downloaded:
    """Fetch, verify and unpack the dataset ``name`` under ``to``; a gated one raises with how to get it."""
    if name not in SOURCES:
        raise UsageError(f"data download {name!r} is not one of {', '.join(SOURCES)}")
    source = SOURCES[name]
    if source.gated:
        raise DataError(f"{name} cannot be downloaded by this tool. {source.gated}")
    to = Path(to)
    out = to / source.output
    if out.is_dir() and any(out.iterdir()):
        say(f"{out} already holds {name}; left as it is (remove it to unpack again)")
        return Downloaded(source, out, unpacked=False)
    archives = [fetch(f, to / "downloads", mirror, check_hash, progress) for f in source.files]
    scratch = to / f".{name}-unpacking"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        for archive in archives:
            extract(archive, scratch)
        staging = to / f".{name}-arranged"
        shutil.rmtree(staging, ignore_errors=True)
        source.layout(scratch, staging)
        if out.exists():
            out.rmdir()  # empty (checked above)
        os.replace(staging, out)  # the output appears complete or not at all
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(to / f".{name}-arranged", ignore_errors=True)
    say(f"{name}: unpacked into {out} ({source.citation})")
    for note in source.notes:
        say(f"  {note}")
    return Downloaded(source, out, unpacked=True)


def describe() -> str:
    """One line per known dataset (for `data download --list`)."""
    lines = []
    for source in SOURCES.values():
        how = "gated: instructions" if source.gated else (
            "SHA-256 checked" if all(f.sha256 for f in source.files) else "no published checksum")
        lines.append(f"  {source.name:<8} {source.title} [{how}]")
    return "\n".join(lines)

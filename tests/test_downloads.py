"""`data download` against a real HTTP server on 127.0.0.1 serving small archives of the real structure:
real pooch, real resuming downloads, real unpacking into the readers' layouts and a real `data check`."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import imageio.v3 as iio
import numpy as np
import pytest

from benchmark.cli import main
from benchmark.download_sources import SOURCES, RemoteFile


class Server:
    """Serves `files` by name; honours `Range: bytes=N-`; `cut[name] = n` sends n body bytes of the next
    response for that name and closes the connection (an interrupted download)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut: dict[str, int] = {}
        self.ranges: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                data = server.files.get(self.path.lstrip("/"))
                if data is None:
                    self.send_error(404)
                    return
                requested = self.headers.get("Range")
                server.ranges.append(requested)
                start = int(requested.split("=")[1].split("-")[0]) if requested else 0
                self.send_response(206 if requested else 200)
                if requested:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut = server.cut.pop(self.path.lstrip("/"), None)
                self.wfile.write(body if cut is None else body[:cut])
                if cut is not None:
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.close()


def _png(rng: np.random.Generator, shape=(64, 80), dtype=np.uint8) -> bytes:
    top = np.iinfo(dtype).max
    return iio.imwrite("<bytes>", (rng.random(shape) * top).astype(dtype), extension=".png")


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def nir_archive() -> bytes:
    """Ma et al.'s structure: datasets/NIRI_to_NIRII/{train,val}/{A,B}; unpaired train, paired val."""
    rng = np.random.default_rng(0)
    base = "datasets/NIRI_to_NIRII"
    members = {f"{base}/train/A/a{i}.png": _png(rng) for i in range(4)}
    members |= {f"{base}/train/B/b{i}.png": _png(rng) for i in range(4)}
    members |= {f"{base}/val/{side}/{i}.png": _png(rng) for side in "AB" for i in range(2)}
    members["__MACOSX/datasets/._junk"] = b"resource fork"
    return _zip(members)


def _serve(monkeypatch, server: Server, name: str, files: dict[str, bytes],
           sha: dict[str, str] | None = None) -> None:
    """Serve `files` and point catalogue entry `name` at them (sizes and hashes of the served bytes unless
    `sha` overrides a hash)."""
    server.files.update(files)
    remote = tuple(RemoteFile(name=f, url=f"{server.url}/{f}",
                              sha256=(sha or {}).get(f, hashlib.sha256(data).hexdigest()), size=len(data),
                              hash_source="test archive") for f, data in files.items())
    monkeypatch.setitem(SOURCES, name, dataclasses.replace(SOURCES[name], files=remote))


def test_nir_downloads_unpacks_into_the_reader_layout_and_checks(server, monkeypatch, tmp_path, capsys):
    archive = nir_archive()
    _serve(monkeypatch, server, "nir", {"datasets.zip": archive})
    assert main(["data", "download", "nir", "--to", str(tmp_path)]) == 0
    out = tmp_path / "nir"
    counts = {f"{s}/{side}": len(list((out / s / side).iterdir()))
              for s in ("train", "val", "test") for side in "AB"}
    assert counts == {"train/A": 3, "train/B": 3, "val/A": 1, "val/B": 1, "test/A": 2, "test/B": 2}
    # every 10th training image (a0) is held out; their val is our test
    assert (out / "val/A/a0.png").is_file() and (out / "test/B/1.png").is_file()
    kept = tmp_path / "downloads" / "datasets.zip"
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == hashlib.sha256(archive).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["downloads", "nir"]  # no scratch folder, no .part
    summary = _json_after(capsys)
    assert summary["dataset"] == "nir" and summary["test"]["images"] == 2 and summary["train"]["images"] == 3


def _json_after(capsys) -> dict:
    text = capsys.readouterr().out
    return json.loads(text[text.index("{"):])


def test_existing_output_is_left_alone_and_the_archive_reused(server, monkeypatch, tmp_path, capsys):
    _serve(monkeypatch, server, "nir", {"datasets.zip": nir_archive()})
    assert main(["data", "download", "nir", "--to", str(tmp_path), "--no-check"]) == 0
    marker = tmp_path / "nir" / "train" / "A" / "mine.txt"
    marker.write_text("not to be lost")
    requests_before = len(server.ranges)
    assert main(["data", "download", "nir", "--to", str(tmp_path), "--no-check"]) == 0
    assert marker.read_text() == "not to be lost"
    assert "already holds nir" in capsys.readouterr().out
    assert len(server.ranges) == requests_before  # nothing fetched again


def test_wrong_hash_is_one_line_and_leaves_no_file(server, monkeypatch, tmp_path, capsys):
    _serve(monkeypatch, server, "nir", {"datasets.zip": nir_archive()}, sha={"datasets.zip": "0" * 64})
    assert main(["data", "download", "nir", "--to", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "datasets.zip" in err and f"expected SHA-256 {'0' * 64}" in err
    assert list((tmp_path / "downloads").iterdir()) == []  # neither the file nor a .part
    assert not (tmp_path / "nir").exists()


def test_the_real_catalogue_entry_rejects_another_file_through_a_mirror(server, tmp_path, capsys):
    """The published size and SHA-256 of Ma et al.'s datasets.zip hold against a mirror's wrong file."""
    server.files["datasets.zip"] = nir_archive()
    code = main(["data", "download", "nir", "--to", str(tmp_path), "--mirror", server.url])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.count("\n") == 0
    assert "expected SHA-256 68942058d7bf104b178bc277bbc93b7434c9bbba93e1ce0207760bcadc509379" in err
    assert "422416668" in err  # the size check fires first: the small archive cannot be the release
    assert list((tmp_path / "downloads").iterdir()) == []


def test_an_interrupted_download_resumes_where_it_stopped(server, monkeypatch, tmp_path, capsys):
    archive = nir_archive()
    _serve(monkeypatch, server, "nir", {"datasets.zip": archive})
    half = len(archive) // 2
    server.cut["datasets.zip"] = half
    assert main(["data", "download", "nir", "--to", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "rerun the same command to resume" in err and f"{half} bytes kept" in err
    part = tmp_path / "downloads" / "datasets.zip.part"
    assert part.stat().st_size == half and not (tmp_path / "downloads" / "datasets.zip").exists()
    assert not (tmp_path / "nir").exists()

    assert main(["data", "download", "nir", "--to", str(tmp_path), "--no-check"]) == 0
    assert server.ranges == [None, f"bytes={half}-"]  # the second request asked only for the rest
    assert (tmp_path / "downloads" / "datasets.zip").read_bytes() == archive and not part.exists()
    assert len(list((tmp_path / "nir" / "test" / "A").iterdir())) == 2


def test_gated_sets_say_where_and_how(tmp_path, capsys):
    assert main(["data", "download", "fmd", "--to", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "https://drive.google.com/drive/folders/1aygMzSDdoq63IqSk-ly8cMq0_owup8UM" in err
    assert "data check --data fmd" in err
    assert main(["data", "download", "ulf-enc", "--to", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert "https://www.synapse.org/Synapse:syn65485242" in err and "--data mri" in err
    assert list(tmp_path.iterdir()) == []


def test_unknown_name_and_missing_target_are_usage_errors(tmp_path, capsys):
    assert main(["data", "download", "imagenet", "--to", str(tmp_path)]) == 2
    assert "not one of nir, isl, div2k, w2s, fmd, ulf-enc" in capsys.readouterr().err
    assert main(["data", "download", "nir"]) == 2
    assert "--to DIR is required" in capsys.readouterr().err
    assert main(["data", "download", "--list"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in SOURCES)


def test_a_source_without_published_checksum_needs_the_flag(server, monkeypatch, tmp_path, capsys):
    """ISL: refused without --no-hash-check; with it, only the confocal max projections land in isl/hr/."""
    rng = np.random.default_rng(1)
    stem = "lab-Rubin,condition-B,acquisition_date,year-2016,well-B2,tile_computation-STITCHED"
    members = {f"data_sample/condition_b_sample/{stem},depth_computation-MAXPROJECT,channel-{c}_CONFOCAL,"
               f"is_mask-false.png": _png(rng, (64, 64), np.uint16) for c in ("DAPI", "MAP2", "NFH")}
    folder = "data_sample/condition_b_sample"
    members[f"{folder}/{stem},z_depth-0,channel-BRIGHTFIELD,is_mask-false.png"] = _png(rng)
    members[f"data_sample/condition_b_sample/{stem},depth_computation-MAXPROJECT,channel-DAPI_CONFOCAL,"
            "is_mask-true.png"] = _png(rng)
    server.files["data_sample.zip"] = _zip(members)
    monkeypatch.setitem(SOURCES, "isl", dataclasses.replace(SOURCES["isl"], files=(dataclasses.replace(
        SOURCES["isl"].files[0], url=f"{server.url}/data_sample.zip"),)))
    assert main(["data", "download", "isl", "--to", str(tmp_path)]) == 2
    assert "--no-hash-check" in capsys.readouterr().err and server.ranges == []
    assert main(["data", "download", "isl", "--to", str(tmp_path), "--no-hash-check"]) == 0
    captured = capsys.readouterr()
    digest = hashlib.sha256(server.files["data_sample.zip"]).hexdigest()
    assert f"its SHA-256 is {digest}" in captured.err
    assert sorted(p.name.split("channel-")[1] for p in (tmp_path / "isl" / "hr").iterdir()) == [
        "DAPI_CONFOCAL,is_mask-false.png", "MAP2_CONFOCAL,is_mask-false.png",
        "NFH_CONFOCAL,is_mask-false.png"]
    summary = json.loads(captured.out[captured.out.index("{"):])
    assert summary["dataset"] == "fluorescence" and summary["source"] == str(tmp_path / "isl")


def test_w2s_becomes_a_paired_folder_for_denoising(server, monkeypatch, tmp_path, capsys):
    """W2S raw stacks -> source = capture 249, target = mean of the captures, split by field number."""
    rng = np.random.default_rng(2)
    stacks = {n: rng.integers(0, 4000, (250, 16, 16), dtype=np.uint16) for n in (1, 75, 90)}
    members = {}
    for number, stack in stacks.items():
        buffer = io.BytesIO()
        np.save(buffer, stack)
        members[f"W2S_raw/Image{number:03d}/wf_channel0.npy"] = buffer.getvalue()
    _serve(monkeypatch, server, "w2s", {"W2S_raw.zip": _zip(members)})
    assert main(["data", "download", "w2s", "--to", str(tmp_path), "--no-hash-check"]) == 0
    import tifffile

    out = tmp_path / "w2s"
    for number, split in ((1, "train"), (75, "val"), (90, "test")):
        source = tifffile.imread(out / split / "source" / f"Image{number:03d}_c0.tif")
        target = tifffile.imread(out / split / "target" / f"Image{number:03d}_c0.tif")
        assert source.dtype == np.uint16 and np.array_equal(source, stacks[number][249])
        assert np.allclose(target, stacks[number].mean(axis=0), rtol=1e-6)
    summary = _json_after(capsys)
    assert summary["dataset"] == "paired-folder" and summary["test"]["images"] == 1


def test_div2k_fetches_both_archives_and_verifies_without_loading_all(server, monkeypatch, tmp_path, capsys):
    rng = np.random.default_rng(3)
    train = {f"DIV2K_train_HR/{i:04d}.png": _png(rng, (20, 30, 3)) for i in (1, 2)}
    files = {"DIV2K_train_HR.zip": _zip(train),
             "DIV2K_valid_HR.zip": _zip({"DIV2K_valid_HR/0801.png": _png(rng, (20, 30, 3))})}
    _serve(monkeypatch, server, "div2k", files)
    assert main(["data", "download", "div2k", "--to", str(tmp_path)]) == 0
    names = sorted(p.name for p in (tmp_path / "div2k" / "hr").iterdir())
    assert names == ["0001.png", "0002.png", "0801.png"]
    summary = _json_after(capsys)
    assert summary["images"] == 3 and summary["decoded"] == {"0001.png": [20, 30], "0801.png": [20, 30]}

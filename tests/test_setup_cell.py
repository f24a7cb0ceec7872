"""The first notebook cell: offline fallback, download with checksum from a loopback server, config sync."""
import hashlib
import http.server
import io
import tarfile
import threading
from functools import partial
from pathlib import Path

import nbformat
import pytest

from autograder import setup_cell
from course_lib import setup
from leak_scan import REPO


@pytest.fixture()
def data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture()
def server(tmp_path):
    """A file server on 127.0.0.1 serving tmp_path/www (stopped after the test)."""
    www = tmp_path / "www"
    www.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _archive(www: Path) -> tuple:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        data = b"seq,bind\nACGT,1\n"
        info = tarfile.TarInfo("dna_binding/dna_binding.csv")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    (www / "data.tar.gz").write_bytes(buf.getvalue())
    return "data.tar.gz", hashlib.sha256(buf.getvalue()).hexdigest()


def test_offline_default_says_synthetic(data_root, capsys):
    info = setup.prepare("jund")
    out = capsys.readouterr().out
    assert "course_lib" in out and "device:" in out
    assert "synthetic data" in info["data"]


def test_download_verifies_checksum_and_unpacks(data_root, server):
    www, url = server
    name, digest = _archive(www)
    status = setup.get_data("dna_unet", f"{url}/{name}", digest)
    assert "downloaded, checked and unpacked" in status
    assert (data_root / "dna_binding" / "dna_binding.csv").read_text().startswith("seq,bind")
    assert "already" in setup.get_data("dna_unet", f"{url}/{name}", digest)


def test_corrupted_download_is_detected(data_root, server):
    www, url = server
    name, digest = _archive(www)
    (www / name).write_bytes(b"corrupted" + (www / name).read_bytes()[9:])
    with pytest.raises(setup.ChecksumError, match="corrupted"):
        setup.get_data("dna_unet", f"{url}/{name}", digest)
    assert not (data_root / "downloads" / name).exists()


def test_unreachable_server_falls_back_to_synthetic(data_root):
    status = setup.get_data("jund", "http://127.0.0.1:9/nothing.tar.gz", "")
    assert "could not download" in status and "synthetic" in status


def test_setup_cell_runs_offline(data_root, capsys):
    code = setup_cell.render("jund", {"course_lib_url": "", "data": {}})
    exec(compile(code, "<setup cell>", "exec"), {})
    assert "synthetic data" in capsys.readouterr().out


def test_source_setup_cells_match_config():
    config = setup_cell.load_config(REPO)
    for nb_path in sorted((REPO / "source").glob("*/*.ipynb")):
        first = nbformat.read(nb_path, as_version=4).cells[0]
        assert first.metadata.get("nbgrader", {}).get("grade_id") == setup_cell.CELL_ID, nb_path
        assert first.source == setup_cell.render(nb_path.parent.name, config), \
            f"{nb_path}: set-up cell out of date: run make release"

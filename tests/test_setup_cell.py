"""The first notebook cells: times and GPU advice, then the set-up cell: it installs the wheel that comes
with the release folder, falls back offline, downloads with a checksum from a loopback server; config sync."""
import hashlib
import http.server
import io
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import threading
from functools import partial
from pathlib import Path

import nbformat
import pytest

import course_lib
from autograder import setup_cell
from autograder.student_build import wheel_name
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
        first = nbformat.read(nb_path, as_version=4).cells[1]
        assert first.metadata.get("nbgrader", {}).get("grade_id") == setup_cell.CELL_ID, nb_path
        assert first.source == setup_cell.render(nb_path.parent.name, config), \
            f"{nb_path}: set-up cell out of date: run make release"


# ---------------------------------------------------------------- a release folder where it lands
def _student_python(tmp_path) -> str:
    """A fresh virtual environment where course_lib is not importable but its dependencies are
    (this environment's site-packages on its path, without running their .pth files)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
    purelib = subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                      text=True).strip()
    Path(purelib, "course_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _student_env(data_root) -> dict:
    """No path to this repository, no user site, no package index (dependencies must already be there)."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    env.update(PIP_NO_INDEX="1", PYTHONNOUSERSITE="1", COURSE_DATA_DIR=str(data_root), PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _run_setup_cell(python, folder, source, data_root):
    (folder / "setup_cell.py").write_text(source)
    return subprocess.run([python, "setup_cell.py"], cwd=folder, env=_student_env(data_root), capture_output=True,
                          text=True, timeout=300)


def _release_copy(tmp_path, assignment="hmm_gru"):
    """The committed release folder of `assignment`, copied as a student receives it, and its set-up cell."""
    folder = tmp_path / "landed" / assignment
    shutil.copytree(REPO / "release" / assignment, folder)
    nb = nbformat.read(next(folder.glob("*.ipynb")), as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == setup_cell.CELL_ID)
    return folder, cell.source


@pytest.mark.slow
def test_release_folder_installs_its_own_course_lib(tmp_path):
    python = _student_python(tmp_path)
    assert subprocess.run([python, "-c", "import course_lib"], cwd=tmp_path, env=_student_env(tmp_path),
                          capture_output=True).returncode != 0, "course_lib must not be importable before"
    folder, source = _release_copy(tmp_path)
    proc = _run_setup_cell(python, folder, source, tmp_path / "data")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"installing course_lib from ./{wheel_name()}" in proc.stdout
    assert f"course_lib {course_lib.__version__} | torch " in proc.stdout and "device: " in proc.stdout
    assert "synthetic data" in proc.stdout
    where = subprocess.check_output([python, "-c", "import course_lib; print(course_lib.__file__)"], cwd=tmp_path,
                                    env=_student_env(tmp_path), text=True)
    assert Path(where).resolve().is_relative_to((tmp_path / "venv").resolve())


@pytest.mark.slow
def test_renamed_upload_is_found_and_a_configured_url_wins(tmp_path):
    python = _student_python(tmp_path)
    folder, _ = _release_copy(tmp_path)
    good = tmp_path / "hosted" / wheel_name()
    good.parent.mkdir()
    shutil.move(folder / wheel_name(), good)
    (folder / wheel_name().replace(".whl", " (1).whl")).write_bytes(b"not a wheel")  # what Colab calls a re-upload
    source = setup_cell.render("hmm_gru", {"course_lib_url": good.as_uri(), "data": {}})
    proc = _run_setup_cell(python, folder, source, tmp_path / "data")
    assert proc.returncode == 0 and f"installing course_lib from {good.as_uri()}" in proc.stdout, proc.stderr


@pytest.mark.slow
def test_renamed_wheel_next_to_the_notebook_installs(tmp_path):
    python = _student_python(tmp_path)
    folder, source = _release_copy(tmp_path)
    (folder / wheel_name()).rename(folder / wheel_name().replace(".whl", " (1).whl"))
    proc = _run_setup_cell(python, folder, source, tmp_path / "data")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(1).whl" in proc.stdout and f"course_lib {course_lib.__version__}" in proc.stdout


def test_missing_wheel_says_which_file_to_upload_and_where(tmp_path):
    folder = tmp_path / "notebook_folder"
    folder.mkdir()
    code = setup_cell.render("jund", {"course_lib_url": "", "data": {}}).replace(
        'importlib.util.find_spec("course_lib") is None', "True")  # as if course_lib were not installed
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        with pytest.raises(FileNotFoundError) as err:
            exec(compile(code, "<setup cell>", "exec"), {})
    finally:
        os.chdir(cwd)
    message = str(err.value)
    assert wheel_name() in message and "upload it into /content" in message and str(folder) in message


def test_notebooks_start_with_the_times_then_the_set_up_cell():
    readme = (REPO / "README.md").read_text()
    header, rows = setup_cell.notebook_times(readme)
    assert "CPU" in header[0] and "GPU" in header[1]
    for nb_path in sorted((REPO / "source").glob("*/*.ipynb")):
        first = nbformat.read(nb_path, as_version=4).cells[0]
        assert first.cell_type == "markdown" and first.get("id") == setup_cell.INTRO_ID, nb_path
        assert first.source == setup_cell.render_intro(nb_path.stem, readme), \
            f"{nb_path}: times out of date with the README: run make release"
        assert " | ".join(rows[nb_path.stem]) in first.source and "Change runtime type" in first.source


def test_times_table_is_read_from_the_readme():
    readme = "# x\n\n### How long the notebooks take\n\nText.\n\n| notebook | CPU | GPU |\n|---|---|---|\n" \
             "| `jund` | 94 min | 5 min |\n| `dna_binding` (dna_unet) | 9 min | 1 min |\n\nAfter.\n| `no` | table |\n"
    assert setup_cell.notebook_times(readme) == (["CPU", "GPU"], {"jund": ["94 min", "5 min"],
                                                                  "dna_binding": ["9 min", "1 min"]})
    with pytest.raises(KeyError, match="no row for `hmm_gru`"):
        setup_cell.render_intro("hmm_gru", readme)


def test_download_replaces_synthetic_data_but_never_someone_s_files(data_root, server):
    from course_lib.data import dna_binding_synthetic
    from course_lib.data.dna_binding_synthetic import BindingGenerator

    www, url = server
    name, digest = _archive(www)
    dna_binding_synthetic.write_synthetic(data_root / "dna_binding", generator=BindingGenerator(n_rows=40))
    assert "unpacked into" in setup.get_data("dna_unet", f"{url}/{name}", digest)
    folder = data_root / "dna_binding"
    assert sorted(p.name for p in folder.iterdir()) == ["dna_binding.csv"], "the synthetic files are gone"
    assert folder.joinpath("dna_binding.csv").read_text().startswith("seq,bind")
    (data_root / ".downloaded-dna_unet").unlink()
    folder.joinpath("dna_binding.csv").write_text("seq,bind\nmine,1\n")  # someone's own file now
    status = setup.get_data("dna_unet", f"{url}/{name}", digest)
    assert "not unpacked over" in status and str(folder) in status
    assert folder.joinpath("dna_binding.csv").read_text() == "seq,bind\nmine,1\n"
    assert not list(data_root.glob(".unpacking-*"))


def test_every_release_folder_carries_the_student_wheel():
    import zipfile

    for folder in sorted(p for p in (REPO / "release").iterdir() if p.is_dir()):
        wheel = folder / wheel_name()
        assert wheel.is_file(), f"{wheel} missing: run make release"
        with zipfile.ZipFile(wheel) as zf:
            names = zf.namelist()
        assert "course_lib/setup.py" in names and not [n for n in names if "/reference/" in n], wheel

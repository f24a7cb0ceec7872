"""What the first cell of every notebook calls: report the environment and get the data.

With a data URL (set by the instructor in course_config.json, baked into the notebooks) the
real files are downloaded once, checked against their SHA-256 and unpacked into the data
root ($COURSE_DATA_DIR), where the loaders find them: the archive holds the data set's folder,
e.g. `jund/train_dataset/...` or `dna_binding/dna_binding.csv`; it replaces synthetic data course_lib
wrote there, but never a folder holding anyone else's files. Without a URL — or when the download
fails — the loaders generate synthetic data in the same format, and one sentence says so.
"""
from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from . import __version__, config
from .cpu import match_torch_threads
from .data import manifest


class ChecksumError(ValueError):
    """A downloaded file does not have the expected SHA-256: it is corrupted or not the right file."""


def sha256_of(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest, sha256: str = "", timeout: float = 60) -> Path:
    """Download `url` to `dest` (kept if already there with the right checksum); verify SHA-256 if given."""
    dest = Path(dest)
    if dest.exists() and (not sha256 or sha256_of(dest) == sha256):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as fh:
        shutil.copyfileobj(response, fh)
    if sha256:
        got = sha256_of(partial)
        if got != sha256:
            partial.unlink()
            raise ChecksumError(f"{url}: SHA-256 is {got}, expected {sha256}: the download is corrupted "
                                "(run the cell again) or the course's checksum is out of date (tell your instructor)")
    partial.replace(dest)
    return dest


def unpack(archive: Path, into: Path) -> None:
    """Unpack a .zip / .tar(.gz) archive into `into` (refusing paths that leave it); other files are copied."""
    into.mkdir(parents=True, exist_ok=True)
    root = into.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for m in zf.infolist():
                if (root / m.filename).resolve().is_relative_to(root):
                    zf.extract(m, into)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            members = [m for m in tf.getmembers() if (root / m.name).resolve().is_relative_to(root)
                       and (m.isfile() or m.isdir())]
            tf.extractall(into, members=members)
    else:
        shutil.copy2(archive, into / archive.name)


def place(archive: Path, target: Path) -> list[Path]:
    """Unpack `archive` beside `target`'s folders, then move each top-level folder in; return those kept out.

    A folder that holds only course_lib's synthetic data is replaced by the real one; any other
    folder already there is someone's data and is left as it is (its download is not placed).
    Unpacking happens aside first, so an interrupted download never leaves half a folder.
    """
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=target))
    kept = []
    try:
        unpack(archive, staging)
        for item in sorted(staging.iterdir()):
            dest = target / item.name
            if dest.is_dir() and manifest.read(dest) is not None and not manifest.foreign(dest, manifest.read(dest)):
                shutil.rmtree(dest)  # course_lib's own synthetic data: the real files take their place
            if dest.exists():
                kept.append(dest)
            else:
                item.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return kept


def describe_device() -> str:
    import torch

    if torch.cuda.is_available():
        return f"GPU ({torch.cuda.get_device_name(0)})"
    return (f"CPU, {torch.get_num_threads()} torch thread(s) (no GPU found: training will be slower; in Colab use "
            "Runtime > Change runtime type > GPU)")


def get_data(assignment: str, data_url: str = "", sha256: str = "") -> str:
    """Fetch the real data for `assignment` if a URL is configured; return a one-line status."""
    target = config.data_root()
    if not data_url:
        return f"data: no download configured, so {assignment} uses synthetic data in the real format (generated on first use)"
    marker = target / f".downloaded-{assignment}"
    if marker.exists() and marker.read_text() == f"{data_url} {sha256}":
        return f"data: real files already unpacked into {target}"
    name = data_url.rstrip("/").rsplit("/", 1)[-1] or "data"
    try:
        archive = download(data_url, config.data_root() / "downloads" / name, sha256)
    except ChecksumError as exc:
        raise ChecksumError(str(exc)) from None
    except OSError as exc:
        return (f"data: could not download {data_url} ({exc}); using synthetic data in the real format instead")
    kept = place(archive, target)
    if kept:
        return (f"data: downloaded and checked, but not unpacked over what is already in {', '.join(map(str, kept))} "
                "(files that course_lib did not write): move that away and run this cell again to use the download")
    marker.write_text(f"{data_url} {sha256}")
    return f"data: real files downloaded, checked and unpacked into {target}"


def versions() -> str:
    """course_lib, torch and Python versions, in one line."""
    import platform

    import torch

    return f"course_lib {__version__} | torch {torch.__version__} | Python {platform.python_version()}"


def prepare(assignment: str, data_url: str = "", sha256: str = "", expected_version: str = "") -> dict:
    """Print the versions, the device, fast mode and where the data comes from.

    `expected_version` is the course_lib the notebook was released with: a different installed
    one is pointed out (a notebook may need what its own release brings).
    """
    from .selfcheck import watch_cells
    watch_cells()  # lets `validate` tell a cell that never ran from one that failed
    status = get_data(assignment, data_url, sha256)
    match_torch_threads()  # a hub limiting this server to 2 CPUs still shows torch every core of the host
    info = {"course_lib": __version__, "device": describe_device(), "fast_mode": config.fast_mode(), "data": status}
    print(versions() + f" | device: {info['device']}" + (" | FAST MODE" if info["fast_mode"] else ""))
    if expected_version and expected_version != __version__:
        print(f"note: this notebook was released with course_lib {expected_version}, but {__version__} is "
              f"installed; if a cell fails, install course_lib-{expected_version}-py3-none-any.whl (it comes with "
              "the notebook) with `pip install --force-reinstall <that file>` and restart the kernel")
    print(status)
    return info


# The first cell of every notebook, locked (rendered with the course's URLs by the release build).
# Without a configured URL it installs the student wheel that travels with the release folder,
# found next to the notebook, one folder up, in Colab's /content or in a mounted Google Drive.
SETUP_CELL_TEMPLATE = '''# Set-up: run this cell first (Colab, JupyterHub or your own computer). Do not edit it.
COURSE_LIB_URL = {lib_url!r}
COURSE_LIB_WHEEL = {wheel!r}  # comes with this notebook
DATA_URL, DATA_SHA256 = {data_url!r}, {sha256!r}
import glob, importlib, importlib.util, os, shutil, site, subprocess, sys, tempfile
if importlib.util.find_spec("course_lib") is None:
    # next to this notebook, one folder up, Colab's uploads, a mounted Google Drive
    places = [".", "..", "/content", "/content/drive/MyDrive", "/content/drive/MyDrive/*", "/content/drive/MyDrive/*/*"]
    found = [f for p in places for f in sorted(glob.glob(os.path.join(p, COURSE_LIB_WHEEL[:-4] + "*.whl")))]
    if not COURSE_LIB_URL and not found:
        raise FileNotFoundError(
            "course_lib is not installed and " + COURSE_LIB_WHEEL + " was not found. That file comes with this "
            "notebook (same folder). In Colab: click the folder icon on the left, upload it into /content, and run "
            "this cell again. On JupyterHub or your computer: put it in the notebook's folder (" + os.getcwd() + ") "
            "and run this cell again.")
    target = COURSE_LIB_URL
    if not target:  # pip wants the wheel's own name (Colab renames a second upload '... (1).whl')
        target = os.path.join(tempfile.mkdtemp(), COURSE_LIB_WHEEL)
        shutil.copy(found[0], target)
    print("installing course_lib from", COURSE_LIB_URL or found[0])
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", target])
    importlib.invalidate_caches()
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        site.addsitedir(site.getusersitepackages())  # where pip installs when it may not write elsewhere
from course_lib.setup import prepare
_ = prepare({assignment!r}, data_url=DATA_URL, sha256=DATA_SHA256, expected_version={version!r})'''

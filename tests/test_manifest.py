"""The manifest of synthetic data folders: parameters, facts, and which files course_lib wrote."""
import os
import shutil
from dataclasses import dataclass

import pytest

from course_lib.data import manifest


@dataclass
class Settings:
    sizes: tuple = (3, 4)
    rate: float = 0.5


def _write_data(folder):
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    (folder / "data.csv").write_text("x\n1\n")
    (folder / "sub" / "part.npy").write_bytes(b"\x00\x01")
    return {"ceiling": 0.9}


def test_params_compare_equal_after_a_json_round_trip(tmp_path):
    params = manifest.params_of(seed=0, generator=Settings())
    assert params == {"seed": 0, "generator": {"sizes": [3, 4], "rate": 0.5}}
    written = manifest.write_once(tmp_path, params, _write_data)
    assert manifest.read(tmp_path) == written
    assert written["params"] == params and written["ceiling"] == 0.9
    assert sorted(written["files"]) == ["data.csv", "sub/part.npy"]
    assert manifest.read(tmp_path / "real_data_has_none") is None


def test_current_needs_same_params_and_unchanged_files(tmp_path):
    params = manifest.params_of(seed=1, generator=Settings())
    assert manifest.current(tmp_path, params) is None  # no manifest yet
    manifest.write_once(tmp_path, params, _write_data)
    assert manifest.current(tmp_path, params)["params"] == params
    assert manifest.current(tmp_path, manifest.params_of(seed=2, generator=Settings())) is None
    (tmp_path / "data.csv").write_text("x\n2\n")
    assert manifest.current(tmp_path, params) is None, "a changed file is no longer what was written"
    assert manifest.changed(tmp_path, manifest.read(tmp_path)) == ["data.csv"]


def test_write_once_writes_once(tmp_path):
    params = manifest.params_of(seed=1)
    calls = []
    write = lambda d: calls.append(d) or _write_data(d)  # noqa: E731
    first = manifest.write_once(tmp_path, params, write)
    assert manifest.write_once(tmp_path, params, write) == first and len(calls) == 1
    manifest.write_once(tmp_path, params, write, force=True)
    assert len(calls) == 2


def test_a_copy_with_new_times_is_still_ours(tmp_path):
    params = manifest.params_of(seed=1)
    manifest.write_once(tmp_path / "a", params, _write_data)
    shutil.copytree(tmp_path / "a", tmp_path / "b", copy_function=shutil.copyfile)  # times not kept
    os.utime(tmp_path / "b" / "data.csv", ns=(1, 1))
    assert manifest.current(tmp_path / "b", params) is not None
    assert manifest.foreign(tmp_path / "b", manifest.read(tmp_path / "b")) == []


@pytest.mark.parametrize("change", ["add", "modify", "real"])
def test_claim_refuses_a_folder_with_files_course_lib_did_not_write(tmp_path, change):
    params = manifest.params_of(seed=1)
    if change == "real":
        (tmp_path / "train.tsv").write_text("dna\thidden_state\n")
    else:
        manifest.write_once(tmp_path, params, _write_data)
        if change == "add":
            (tmp_path / "mine.txt").write_text("placed by a person")
        else:
            (tmp_path / "data.csv").write_text("x\nreal\n")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(manifest.ForeignFilesError, match=r"mine.txt|data.csv|train.tsv") as err:
        manifest.write_once(tmp_path, params, _write_data, force=True)
    assert str(tmp_path) in str(err.value) and "will not write" in str(err.value)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before, "nothing was written"


def test_ignored_names_and_legacy_manifests(tmp_path):
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "x.txt").write_text("editor copy")
    (tmp_path / "big.csv.part").write_text("an interrupted write")
    assert manifest.data_files(tmp_path) == []
    manifest.claim(tmp_path)  # nothing that could be data: allowed
    (tmp_path / "old.csv").write_text("x\n")
    (tmp_path / manifest.NAME).write_text('{"params": {"seed": 0}}')  # written before file lists existed
    assert manifest.foreign(tmp_path, manifest.read(tmp_path)) == []
    assert manifest.current(tmp_path, {"seed": 0}) is None, "a legacy manifest is rewritten once"


def test_a_folder_nobody_can_write_is_read_without_a_lock(tmp_path, monkeypatch):
    params = manifest.params_of(seed=1)
    manifest.write_once(tmp_path, params, _write_data)
    (tmp_path / manifest.LOCK).unlink()
    monkeypatch.setattr(manifest.os, "access", lambda path, mode: False)  # as on a read-only mount
    assert manifest.write_once(tmp_path, params, _write_data)["params"] == params
    assert not (tmp_path / manifest.LOCK).exists()

"""The worker's file ops: a fresh path for student code to write to, and loading what it wrote as tensors only."""
import pytest
import torch

from autograder.outcomes import StudentError
from autograder.remote import local_student


class NotTensors:
    """Something torch.save pickles but torch.load(weights_only=True) refuses."""


def _save(path):
    torch.save({"w": torch.arange(3.0)}, path)


def _save_object(path):
    torch.save(NotTensors(), path)


@pytest.fixture
def student(tmp_path):
    return local_student({"save": _save, "save_object": _save_object}, scratch=tmp_path / "scratch")


def test_a_checkpoint_written_by_student_code_comes_back_as_tensors(student, tmp_path):
    path = student.scratch_path("best.pt")
    assert path.startswith(str(tmp_path / "scratch")) and not (tmp_path / path).exists()
    student.function("save")(path)
    state = student.load_tensors(path)
    assert set(state) == {"w"} and torch.equal(state["w"], torch.arange(3.0))


def test_missing_or_pickled_files_are_what_student_code_did(student):
    with pytest.raises(StudentError) as missing:
        student.load_tensors(student.scratch_path("never_written.pt"))
    assert missing.value.is_a("FileNotFoundError")
    pickled = student.scratch_path("object.pt")
    student.function("save_object")(pickled)
    with pytest.raises(StudentError) as refused:
        student.load_tensors(pickled)
    assert not refused.value.is_a("FileNotFoundError")


def test_only_the_scratch_folder_can_be_read(student, tmp_path):
    student.scratch_path("x")                       # the scratch folder exists from here on
    torch.save({"w": torch.zeros(1)}, tmp_path / "outside.pt")
    for path in (tmp_path / "outside.pt", tmp_path / "scratch" / ".." / "outside.pt"):
        with pytest.raises(RuntimeError, match="scratch"):   # the worker refuses: the judge's mistake
            student.load_tensors(str(path))
    with pytest.raises(RuntimeError, match="bad file name"):
        student.scratch_path("../escape.pt")

"""Nothing in the student build of course_lib earns the full points of a graded item (issue 11, part 2).

For every graded item of every assignment, the item's real hidden check runs against each object of
the unpacked student wheel that could fit it, as if a student had written
`from course_lib.<module> import <object> as <item>`: no object may earn the item's full points.
Which objects are tried, and why the others cannot pass, is in tests/answer_scan.py. (Before this
test, `course_lib.motifs.dinucleotide_shuffle` earned 4 of 4 points of `dinucleotide_shuffle`.)
"""
import pytest

import answer_scan as scan
from autograder import pipeline
from autograder.grade_cells import item_points
from grading_support import reference_namespace

ASSIGNMENTS = pipeline.assignments()


@pytest.fixture(scope="module")
def student_build(tmp_path_factory):
    """(modules, candidates) of the student wheel, imported apart from the instructor's course_lib."""
    modules = scan.import_tree(scan.unpack_student_build(tmp_path_factory.mktemp("student-build")))
    yield modules, scan.candidates(modules)
    scan.forget_tree()


@pytest.fixture
def scratch_folder(tmp_path, monkeypatch):
    """Candidates are called with the checks' arguments: what they write goes to a scratch folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_the_student_build_imports_without_reference(student_build):
    modules, found = student_build
    names = {name.split(".", 1)[1] for name in modules if "." in name}
    assert "motifs" in names and "data.ctcf_synthetic" in names and "models.unet" in names
    assert not [n for n in names if n.split(".")[0] == "reference"]
    paths = {c.path for c in found}
    assert {"course_lib.motifs.markov_resample", "course_lib.training.fit", "course_lib.models.unet.UNet",
            "course_lib.data.ctcf_synthetic.CTCFGenerator.sample"} <= paths
    assert len(found) > 150


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_object_of_the_student_build_earns_full_points(assignment, student_build, scratch_folder):
    _, found = student_build
    tried = scan.tried_candidates(assignment, reference_namespace(assignment), found)
    assert set(tried) == set(item_points(assignment))
    winners, _ = scan.full_marks(assignment, tried)
    assert winners == [], "graded answers in the student build: " + "; ".join(
        f"{path} earns {score:g}/{top:g} as {item}" for item, path, score, top in winners)


WRAPPERS = '''
from course_lib.reference.ctcf_saliency import dinucleotide_shuffle as _answer
from course_lib.reference.hmm_gru import fraction_matches as _agreement


def scramble(sequence, generator):
    return _answer(sequence, generator)


class Tools:
    def agreement(self, a, b):
        return _agreement(a, b)


TOOLS = Tools()
'''


def test_the_scan_finds_renamed_answers(tmp_path, monkeypatch):
    """The scan itself can fail: answers under other names (a function, a bound method) are found."""
    package = tmp_path / "leaky"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(WRAPPERS)
    monkeypatch.chdir(tmp_path)
    alias = "_leaky_build"
    try:
        found = scan.candidates(scan.import_tree(package, alias), alias)
        assert {c.path for c in found} == {"course_lib.helpers.scramble", "course_lib.helpers.Tools",
                                           "course_lib.helpers.Tools.agreement", "course_lib.helpers.TOOLS.agreement"}
        for assignment, item, path in [("ctcf_saliency", "dinucleotide_shuffle", "course_lib.helpers.scramble"),
                                       ("hmm_gru", "fraction_matches", "course_lib.helpers.TOOLS.agreement")]:
            reference = {item: reference_namespace(assignment)[item]}
            tried = scan.tried_candidates(assignment, reference, found)
            assert [c.path for c in tried[item]] == [path]
            winners, runs = scan.full_marks(assignment, tried)
            assert [(i, p) for i, p, _, _ in winners] == [(item, path)] and runs == 1
    finally:
        scan.forget_tree(alias)

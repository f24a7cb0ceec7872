"""Tampering submissions: a wrong `weighted_accuracy` (unweighted: worth 0.5 of 5 points) plus an
attempt to hide it. Graded by the runner, each must score exactly what its real work earns.

Structural tampering (deleting or editing test cells) is done on the notebook itself in the tests.
"""

WRONG = '''
def weighted_accuracy(predicted_y, true_y, weight):
    pred = np.asarray(torch.as_tensor(np.asarray(predicted_y, dtype=float)).reshape(-1))
    true = np.asarray(torch.as_tensor(np.asarray(true_y, dtype=float)).reshape(-1))
    return float((pred == true).mean())
'''

TAMPERING = {
    # make the reference agree with the wrong answer
    "redefines_reference": WRONG + '''
import course_lib.reference.jund as _ref
_ref.weighted_accuracy = weighted_accuracy
''',
    # make every comparison succeed
    "patches_comparisons": WRONG + '''
import math
torch.allclose = lambda *a, **k: True
torch.Tensor.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: np.True_
np.allclose = lambda *a, **k: True
math.isclose = lambda *a, **k: True
''',
    # replace the grader itself
    "patches_autograder": WRONG + '''
try:
    import autograder, autograder.core
    autograder.grade = autograder.core.grade = lambda *a, **k: 5.0
    autograder.core.Check.__call__ = lambda self, subject: None
except Exception:
    pass
''',
    # write fake results where graders keep them
    "writes_grading_folders": WRONG + '''
import json, os, pathlib
fake = json.dumps({"score": 40, "tests": []})
for p in ["results.json", "../results.json", "../../results.json", "/tmp/results.json",
          "../grades.csv", "../../gradebook.db"]:
    try:
        pathlib.Path(p).write_text(fake)
    except OSError:
        pass
''',
}

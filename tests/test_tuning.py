"""course_lib.tuning.grid_search: every combination once, scores as returned, best first."""
import pytest

from course_lib.tuning import grid_search


def test_every_combination_scored_once_best_first():
    calls = []

    def score(a, b):
        calls.append((a, b))
        return -(a - 2) ** 2 - b

    table = grid_search(score, {"a": [1, 2, 3], "b": [0, 1]}, progress=False)
    assert sorted(calls) == [(1, 0), (1, 1), (2, 0), (2, 1), (3, 0), (3, 1)]
    assert list(table.columns) == ["a", "b", "score"] and len(table) == 6
    assert table.iloc[0][["a", "b", "score"]].tolist() == [2, 0, 0]
    assert table["score"].is_monotonic_decreasing


def test_lower_is_better_and_ties_keep_grid_order():
    table = grid_search(lambda lr: 1.0 if lr > 0.005 else 0.5, {"lr": [1e-3, 1e-2, 3e-2]},
                        higher_is_better=False, progress=False)
    assert table["lr"].tolist() == [1e-3, 1e-2, 3e-2]


@pytest.mark.parametrize("grid", [{}, {"a": []}])
def test_empty_grid_is_an_error(grid):
    with pytest.raises(ValueError):
        grid_search(lambda **kw: 0.0, grid, progress=False)

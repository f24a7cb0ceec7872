"""A small grid search: every combination of a few hyper-parameters, each scored on validation data.

The table it returns is for the student to read: which setting to adopt (the best, or a simpler one
that is about as good) stays their decision.
"""
from __future__ import annotations

from itertools import product
from typing import Callable

import pandas as pd
from tqdm.auto import tqdm


def grid_search(score_fn: Callable[..., float], grid: dict, *, higher_is_better: bool = True,
                progress: bool = True) -> pd.DataFrame:
    """Call `score_fn(**params)` for every combination of `grid` ({name: [values, ...]}).

    Returns one row per combination: the parameters and their `score`, best first (ties keep the grid's
    order). `score_fn` should train on the training set and score on the validation set only.
    """
    names = list(grid)
    values = [list(grid[n]) for n in names]
    if not names or not all(values):
        raise ValueError("grid_search needs at least one parameter, each with at least one value")
    rows = []
    for combo in tqdm(list(product(*values)), desc="grid search", disable=not progress):
        params = dict(zip(names, combo))
        rows.append({**params, "score": float(score_fn(**params))})
    table = pd.DataFrame(rows)
    return table.sort_values("score", ascending=not higher_is_better, kind="stable", ignore_index=True)

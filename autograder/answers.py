"""A submission's answers as its notebook defines them, for checking them outside a notebook.

In a notebook a later answer calls the student's own earlier one. `notebook_namespace` runs
every code answer cell in notebook order (the reference's inlined code, with a mutant's cells in
their place, as `pipeline.fill_solutions` writes submissions), and `items_affected` names the
answers a replacement changes: its own and every later one that uses a name it defines.
Used by the direct mutant tests and by bench/bench_learn_tasks.py. Trusted code only: this runs
answers in the calling process.
"""
from __future__ import annotations

import ast
import functools

from . import pipeline
from .solutions import top_level_names


@functools.lru_cache(maxsize=None)
def answer_cells(assignment: str, replaced: tuple = ()) -> tuple:
    """((grade_id, code), …) of every code answer cell, in notebook order, as a submission holds them.

    Cells in `replaced` ((grade_id, code) pairs) hold that code; the others the reference, inlined
    as `pipeline.fill_solutions` writes it (names an earlier answer defined are not defined again, so
    a later answer uses the submission's own earlier one, exactly as in the notebook).
    """
    import nbformat

    cells = []
    for path in pipeline.source_notebooks(pipeline.REPO_ROOT, assignment):
        source = nbformat.read(path, as_version=4)
        filled = pipeline.fill_solutions(source, source, dict(replaced))
        cells += [(c.metadata["nbgrader"]["grade_id"], c.source) for c in filled.cells
                  if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
    return tuple(cells)


def _key(replacements: dict | None) -> tuple:
    return tuple(sorted((replacements or {}).items()))


def notebook_namespace(assignment: str, namespace: dict | None, replacements: dict | None = None) -> dict:
    """The set-up names in `namespace`, then every answer cell run in notebook order (`replacements`:
    {grade_id: code} for a mutant's cells; the rest are the reference's)."""
    ns = dict(namespace or {})
    for grade_id, code in answer_cells(assignment, _key(replacements)):
        exec(compile(code, f"<answer {grade_id}>", "exec"), ns)
    return ns


def items_affected(assignment: str, replacements: dict) -> list:
    """The replaced items and every answer that uses a name they define, directly or through another one."""
    cells = answer_cells(assignment, _key(replacements))
    changed = {grade_id for grade_id, _ in cells if grade_id in replacements}
    names = set().union(*(top_level_names(code) for grade_id, code in cells if grade_id in changed))
    for grade_id, code in cells:        # notebook order: an answer can only use those above it
        if grade_id in changed:
            continue
        used = {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name)}
        if used & (names - top_level_names(code)):
            changed.add(grade_id)
            names |= top_level_names(code)
    return [grade_id for grade_id, _ in cells if grade_id in changed]

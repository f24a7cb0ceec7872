"""Run a notebook's cells in one IPython shell, each under a time budget."""
from __future__ import annotations

import contextlib
import io

from .session import BudgetExceeded, alarm

ERROR_CHARS = 200


def run_cells(cells: list, budget_s: float) -> tuple:
    """Run (label, code) cells in order; return ([(label, error or '')], the shell's namespace).

    A cell that raises, or runs past `budget_s`, is logged and the next cell runs: a broken
    answer costs its own points only. Output is swallowed.
    """
    import os
    os.environ["MPLBACKEND"] = "Agg"     # set, not imported: most graded cells never draw
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.enable_matplotlib = lambda *a, **k: None   # `%matplotlib inline` in a cell: keep Agg
    log = []
    for label, code in cells:
        sink = io.StringIO()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), alarm(budget_s):
                result = shell.run_cell(code, store_history=False, silent=True)
            err = result.error_in_exec or result.error_before_exec
            if isinstance(err, BudgetExceeded):
                log.append((label, f"cell took longer than {budget_s:g} s"))
            else:
                log.append((label, f"{type(err).__name__}: {str(err)[:ERROR_CHARS]}" if err else ""))
        except BudgetExceeded:
            log.append((label, f"cell took longer than {budget_s:g} s"))
        except BaseException as exc:  # SystemExit or KeyboardInterrupt from student code
            log.append((label, type(exc).__name__))
    return log, shell.user_ns

"""The solutions build: each notebook with the reference code written out in its answer cells.

After the deadline an instructor publishes these. In each answer cell the import of the
reference (`from course_lib.reference.<a> import X`) is replaced by the source of X and of
the module-level helpers and imports it needs; hidden tests are removed; the notebook is
executed so that outputs and figures are there.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

from .notebooks import nbgrader_meta
from .pipeline import REPO_ROOT, grading_env, source_notebooks

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "course_lib" / "reference"
IMPORT = re.compile(r"^\s*from\s+course_lib\.reference\.(\w+)\s+import\s+(.+?)\s*$")
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.DOTALL)


def absolute_import(node: ast.ImportFrom, package: str) -> ast.ImportFrom:
    """`from ..x import y` inside `package` as `from <absolute>.x import y` (a notebook has no package)."""
    parts = package.split(".")
    if node.level - 1 >= len(parts):
        raise ValueError(f"relative import beyond {package}: level {node.level}")
    base = parts[:len(parts) - (node.level - 1)]
    return ast.ImportFrom(module=".".join(base + ([node.module] if node.module else [])), names=node.names, level=0)


class ModuleIndex:
    """Top-level definitions and imports of one reference module, by name."""

    def __init__(self, path: Path, package: str = "course_lib.reference"):
        self.text = path.read_text()
        tree = ast.parse(self.text)
        self.defs, self.imports, self.order = {}, {}, {}
        for i, node in enumerate(tree.body):
            seg = ast.get_source_segment(self.text, node)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                start = min([d.lineno for d in node.decorator_list] + [node.lineno]) - 1
                seg = "\n".join(self.text.splitlines()[start:node.end_lineno])
                self.defs[node.name] = (node, seg)
                self.order[node.name] = i
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Name):
                        self.defs[t.id] = (node, seg)
                        self.order[t.id] = i
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                    continue
                if isinstance(node, ast.ImportFrom) and node.level:
                    seg = ast.unparse(absolute_import(node, package))
                for alias in node.names:
                    self.imports[(alias.asname or alias.name).split(".")[0]] = seg

    def closure(self, names: list, defined=frozenset()) -> tuple:
        """(definitions in source order, import lines) that `names` need, helpers included.

        Names in `defined` (an earlier cell of the notebook has them) are not repeated.
        """
        needed, imports, todo = set(), [], list(names)
        while todo:
            name = todo.pop()
            if name in needed or name not in self.defs or name in defined:
                continue
            needed.add(name)
            for sub in ast.walk(self.defs[name][0]):
                if isinstance(sub, ast.Name):
                    if sub.id in self.defs:
                        todo.append(sub.id)
                    elif sub.id in self.imports and self.imports[sub.id] not in imports:
                        imports.append(self.imports[sub.id])
        segs = []
        for name in sorted(needed, key=lambda n: self.order[n]):
            if self.defs[name][1] not in segs:
                segs.append(self.defs[name][1])
        return segs, imports


def inline_cell(source: str, reference_dir: Path, defined: set | None = None) -> str:
    """An answer cell with its reference imports replaced by the reference code itself.

    `defined` holds the names earlier answer cells defined; they are not defined again
    (a later copy would replace an earlier answer, e.g. a mutant's, before the notebook is graded),
    and this cell's names are added to it.
    """
    defined = set() if defined is None else defined
    out = []
    for line in source.splitlines():
        if "BEGIN SOLUTION" in line or "END SOLUTION" in line:
            continue
        m = IMPORT.match(line)
        if not m:
            out.append(line)
            continue
        index = ModuleIndex(reference_dir / f"{m.group(1)}.py")
        pairs = [p.strip().split(" as ") for p in m.group(2).strip("()").split(",") if p.strip()]
        segs, imports = index.closure([p[0].strip() for p in pairs], defined)
        out += imports + ([""] if imports else []) + ["\n\n".join(segs)]
        out += [f"{alias.strip()} = {name.strip()}" for name, *rest in pairs for alias in rest]
    while out and out[0].lstrip().startswith("#") and out[0].lstrip().startswith(("# def ", "# class ", "#     ")):
        out.pop(0)  # the skeleton comment is redundant next to the real code
    text = "\n".join(out).strip("\n")
    defined |= top_level_names(text)
    return text


def top_level_names(code: str) -> set:
    """Names that `code` defines at top level (functions, classes, assigned names); empty if it does not parse."""
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return set()
    names = {node.name for node in body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return names | {t.id for node in body if isinstance(node, (ast.Assign, ast.AnnAssign))
                    for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                    if isinstance(t, ast.Name)}


def solution_notebook(source_path: Path, reference_dir: Path):
    nb = nbformat.read(source_path, as_version=4)
    defined = set()
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and cell.cell_type == "code":
            cell.source = inline_cell(cell.source, reference_dir, defined)
        elif meta.get("solution"):   # a written answer: the model answer and rubric, without the markers
            cell.source = "\n".join(line for line in cell.source.splitlines()
                                    if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)
        elif meta.get("grade"):
            cell.source = HIDDEN.sub("", cell.source).rstrip()
    return nb


def build_solutions(assignment: str, out_dir: Path, course_root=REPO_ROOT, execute: bool = True,
                    fast: bool = True, timeout: int = 1800) -> list:
    """Write out_dir/<assignment>/<notebook>.ipynb with inlined, executed solutions; return the paths."""
    from nbclient import NotebookClient

    paths = []
    for src in source_notebooks(course_root, assignment):
        nb = solution_notebook(src, REFERENCE_DIR)
        dest = Path(out_dir) / assignment / src.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if execute:
            import os
            saved = dict(os.environ)
            os.environ.update(grading_env(fast))
            os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # keep the figures
            try:
                NotebookClient(nb, timeout=timeout, kernel_name="python3",
                               resources={"metadata": {"path": str(dest.parent)}}).execute()
            finally:
                os.environ.clear()
                os.environ.update(saved)
        nbformat.write(nb, dest)
        paths.append(dest)
    return paths

"""Wheels of course_lib: the student build (no reference solutions, no autograder) and the
grader build (everything, for Gradescope or a grading image)."""
from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import course_lib

EXCLUDED_PARTS = {"reference", "__pycache__"}
NAME = "course_lib"


def package_files(package_dir: Path, exclude=EXCLUDED_PARTS) -> list:
    """Files of a package folder (sources and resources), skipping folders named in `exclude`."""
    files = []
    for path in sorted(package_dir.rglob("*")):
        rel = path.relative_to(package_dir)
        if path.is_file() and not exclude & set(rel.parts) and path.suffix != ".pyc":
            files.append(path)
    return files


def student_files(package_dir: Path | None = None) -> list:
    """The package files students receive (sources and resources, no solutions)."""
    return package_files(package_dir or Path(course_lib.__file__).parent)


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _metadata(version: str) -> str:
    from importlib.metadata import metadata

    deps = [r for r in (metadata(NAME).get_all("Requires-Dist") or []) if "extra ==" not in r]
    lines = ["Metadata-Version: 2.1", f"Name: {NAME}", f"Version: {version}",
             "Summary: Deep learning for genomics: course library (student build)", "Requires-Python: >=3.10"]
    return "\n".join(lines + [f"Requires-Dist: {d}" for d in deps]) + "\n"


def _write_wheel(wheel: Path, trees: dict, version: str, summary: str) -> Path:
    dist_info = f"{NAME}-{version}.dist-info"
    records = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        def add(name: str, data: bytes):
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
            records.append(_record_line(name, data))

        for top, (package_dir, files) in trees.items():
            for path in files:
                add(f"{top}/{path.relative_to(package_dir).as_posix()}", path.read_bytes())
        add(f"{dist_info}/METADATA", _metadata(version).replace(
            "Summary: Deep learning for genomics: course library (student build)", f"Summary: {summary}").encode())
        add(f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: course-build\n"
                                  b"Root-Is-Purelib: true\nTag: py3-none-any\n")
        record = "\n".join(records + [f"{dist_info}/RECORD,,"]) + "\n"
        zf.writestr(zipfile.ZipInfo(f"{dist_info}/RECORD", date_time=(2024, 1, 1, 0, 0, 0)), record)
    return wheel


def wheel_name() -> str:
    """course_lib-<version>-py3-none-any.whl: the file name of both wheels."""
    return f"{NAME}-{course_lib.__version__}-py3-none-any.whl"


def build_student_wheel(out_dir: Path) -> Path:
    """dist/course_lib-<version>-py3-none-any.whl without solutions or checks."""
    package_dir = Path(course_lib.__file__).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / wheel_name()
    return _write_wheel(wheel, {NAME: (package_dir, student_files(package_dir))}, course_lib.__version__,
                        "Deep learning for genomics: course library (student build)")


def build_grader_wheel(out_dir: Path) -> Path:
    """A wheel with course_lib whole (reference included), the autograder and the grading worker:
    for grading machines only."""
    import autograder
    import gradeworker

    package_dir = Path(course_lib.__file__).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / wheel_name()
    trees = {NAME: (package_dir, package_files(package_dir, {"__pycache__"}))}
    for module in (autograder, gradeworker):
        folder = Path(module.__file__).parent
        trees[module.__name__] = (folder, package_files(folder, {"__pycache__"}))
    return _write_wheel(wheel, trees, course_lib.__version__,
                        "Deep learning for genomics: course library, solutions and autograder (grading only)")

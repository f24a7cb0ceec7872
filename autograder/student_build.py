"""The student build of course_lib: a wheel without `course_lib.reference` and without `autograder`."""
from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import course_lib

EXCLUDED_PARTS = {"reference", "__pycache__"}
NAME = "course_lib"


def student_files(package_dir: Path | None = None) -> list[Path]:
    """The package files students receive (sources and resources, no solutions)."""
    package_dir = package_dir or Path(course_lib.__file__).parent
    files = []
    for path in sorted(package_dir.rglob("*")):
        rel = path.relative_to(package_dir)
        if path.is_file() and not EXCLUDED_PARTS & set(rel.parts) and path.suffix not in {".pyc"}:
            files.append(path)
    return files


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _metadata(version: str) -> str:
    from importlib.metadata import metadata

    deps = [r for r in (metadata(NAME).get_all("Requires-Dist") or []) if "extra ==" not in r]
    lines = ["Metadata-Version: 2.1", f"Name: {NAME}", f"Version: {version}",
             "Summary: Deep learning for genomics: course library (student build)", "Requires-Python: >=3.10"]
    return "\n".join(lines + [f"Requires-Dist: {d}" for d in deps]) + "\n"


def build_student_wheel(out_dir: Path) -> Path:
    """Write dist/course_lib-<version>-py3-none-any.whl and return its path."""
    package_dir = Path(course_lib.__file__).parent
    version = course_lib.__version__
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"{NAME}-{version}-py3-none-any.whl"
    dist_info = f"{NAME}-{version}.dist-info"
    records = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        def add(name: str, data: bytes):
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
            records.append(_record_line(name, data))

        for path in student_files(package_dir):
            add(f"{NAME}/{path.relative_to(package_dir).as_posix()}", path.read_bytes())
        add(f"{dist_info}/METADATA", _metadata(version).encode())
        add(f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: course-student-build\n"
                                  b"Root-Is-Purelib: true\nTag: py3-none-any\n")
        record = "\n".join(records + [f"{dist_info}/RECORD,,"]) + "\n"
        zf.writestr(zipfile.ZipInfo(f"{dist_info}/RECORD", date_time=(2024, 1, 1, 0, 0, 0)), record)
    return wheel

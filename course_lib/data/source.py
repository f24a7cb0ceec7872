"""The one shape of every data set: where its folder is, real files or synthetic ones, splits.

A `DataSource` ties a data set's reader (`course_lib.data.<set>`) to its synthetic writer
(`course_lib.data.<set>_synthetic`); `course_lib.datasets` declares one per data set. Its
`load()` reads

* real files, when the folder holds files but no `synthetic.json`: they are never written to,
  and if part of the data set is missing the error names the missing files;
* otherwise synthetic data in the same format, written there first if needed (deterministic,
  cached: see `course_lib.data.manifest`); a file someone added to or changed in such a folder
  is an error that names it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .. import config
from . import manifest


class IncompleteDataError(FileNotFoundError):
    """A folder holds part of a data set's real files but not all that the reader needs."""


def missing_files(folder, layouts) -> list[str]:
    """What `folder` lacks for the first of `layouts` (each a tuple of glob patterns); [] if one is complete."""
    root = Path(folder)
    lacking = [[p for p in layout if not any(root.glob(p))] for layout in layouts]
    return [] if any(not m for m in lacking) else lacking[0]


@dataclass(frozen=True, eq=False)
class Splits(Mapping):
    """What every `load_*` returns: split name -> split, plus where it came from.

    `synthetic` is the manifest (generator parameters and known ceilings) for synthetic data,
    None for real files.
    """
    name: str
    path: Path
    splits: dict = field(repr=False)
    synthetic: dict | None = field(default=None, repr=False)

    def __getitem__(self, split):
        return self.splits[split]

    def __iter__(self):
        return iter(self.splits)

    def __len__(self) -> int:
        return len(self.splits)

    @property
    def is_synthetic(self) -> bool:
        return self.synthetic is not None

    def describe(self) -> str:
        """One line: which data this is and where it lives."""
        kind = "synthetic data in the real format (written by course_lib)" if self.is_synthetic else "real files"
        return f"{self.name}: {kind} in {self.path}"

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name} {len(split):,}" for name, split in self.splits.items())
        return f"<{self.describe()}: {sizes}>"


@dataclass(frozen=True)
class DataSource:
    """A data set: its folder name under the data root, the layouts of a complete real copy,
    a reader `read(path, fast, **options) -> {split: ...}` and a writer `write(folder, seed) -> manifest`."""
    name: str
    layouts: tuple
    read: Callable
    write: Callable

    def default_dir(self) -> Path:
        """<data root>/<name> (the data root is $COURSE_DATA_DIR, else ~/.cache/course_lib/data)."""
        return config.data_root() / self.name

    def ensure(self, path=None, seed: int = 0) -> tuple[Path, dict | None]:
        """(the path to read, its manifest or None for real data), writing synthetic data only where allowed.

        `path` is a folder, or one data file (read as it is). A folder holds either real files
        (read as they are; IncompleteDataError if some are missing) or course_lib's synthetic data
        and nothing else (ForeignFilesError otherwise). Without `path`, the default folder is used
        and its synthetic data follow the writer's current defaults; a folder you name that holds
        intact synthetic data is read as it is.
        """
        target = Path(path).expanduser() if path is not None else self.default_dir()
        if target.is_file():
            return target, _manifest_listing(target)
        if path is not None and not target.exists() and target.suffix:
            raise FileNotFoundError(f"{target}: no such file")
        files = manifest.data_files(target)  # before the manifest: a writer writes its manifest first
        if files and manifest.read(target) is None:
            self._check_complete(target)
            return target, None
        with manifest.locked(target):  # wait for a writer busy there
            found = manifest.read(target)
            manifest.claim(target)  # synthetic data share their folder with nothing else
            if path is not None and found is not None and "files" in found and not manifest.changed(target, found):
                return target, found
            return target, self.write(target, seed=seed)

    def _check_complete(self, folder: Path) -> None:
        """IncompleteDataError naming what a folder of real files lacks (nothing: returns)."""
        missing = missing_files(folder, self.layouts)
        if not missing:
            return
        others = " or ".join(" + ".join(layout) for layout in self.layouts[1:])
        raise IncompleteDataError(
            f"{folder}: holds files that are not course_lib's synthetic data, but not a whole {self.name} data set: "
            f"missing {', '.join(missing)}" + (f" (or, instead, {others})" if others else "") + ". course_lib "
            "never writes into a folder holding real files: add the missing ones, or, for synthetic data, move "
            "your files out of the folder or load from another one (data_dir=...).")

    def load(self, path=None, fast: bool | None = None, **options) -> Splits:
        """The splits of this data set (see `ensure` for which files); small in fast mode."""
        target, synthetic = self.ensure(path)
        return Splits(self.name, target, self.read(target, fast=fast, **options), synthetic)


def _manifest_listing(path: Path) -> dict | None:
    """The manifest of the folder of `path` if it lists `path` unchanged (a synthetic file), else None."""
    found = manifest.read(path.parent)
    if found is None or path.name not in found.get("files", {}) or path.name in manifest.changed(path.parent, found):
        return None
    return found

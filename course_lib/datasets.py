"""The course's data sets, one `load_*` function each (the way scikit-learn's `fetch_*` read).

    from course_lib.datasets import load_jund
    splits = load_jund()          # {"train": ..., "valid": ..., "test": ...}
    print(splits.describe())      # real files or synthetic data, and where
    splits.synthetic              # synthetic data: its parameters and known ceilings; real: None

Each reads `<data root>/<name>` (the data root is $COURSE_DATA_DIR, else
~/.cache/course_lib/data) or the folder (or data file) you pass:

* a folder holding real files is read as it is and never written to; if part of the data set
  is missing, `IncompleteDataError` names the missing files;
* an empty or missing folder gets synthetic data in the same format first (deterministic,
  written once; see `course_lib.data.manifest`). A folder of synthetic data holds nothing else:
  a file someone added or changed there is a `ForeignFilesError` naming it.

Fast mode (COURSE_FAST=1, or fast=True) returns small subsets of every split.
"""
from __future__ import annotations

import importlib

from .data import ctcf, dna_binding, hmm, jund, nuclei, rnacompete
from .data.manifest import ForeignFilesError
from .data.source import DataSource, IncompleteDataError, Splits

__all__ = ["SOURCES", "ForeignFilesError", "IncompleteDataError", "Splits", "load_ctcf", "load_dna_binding", "load_hmm", "load_jund",
           "load_nuclei", "load_rnacompete"]


def _synthetic_writer(name: str):
    """`write_synthetic` of `course_lib.data.<name>_synthetic`, imported when that data set is first
    loaded (a notebook pays for its own generator's imports, not for all six)."""
    def write_synthetic(*args, **kwargs):
        return importlib.import_module(f"{__package__}.data.{name}_synthetic").write_synthetic(*args, **kwargs)
    write_synthetic.__qualname__ = f"{name}_synthetic.write_synthetic"
    return write_synthetic


SOURCES = {name: DataSource(name, module.LAYOUTS, module.read_splits, _synthetic_writer(name))
           for name, module in (("jund", jund), ("rnacompete", rnacompete), ("dna_binding", dna_binding),
                                ("nuclei", nuclei), ("ctcf", ctcf), ("hmm", hmm))}


def load_jund(data_dir=None, fast: bool | None = None) -> Splits:
    """JUND on chr22: JUNDSplit per split, from DeepChem DiskDataset shards (`<split>_dataset/`)."""
    return SOURCES["jund"].load(data_dir, fast=fast)


def load_rnacompete(data_dir=None, protein: str = rnacompete.DEFAULT_PROTEIN, fast: bool | None = None,
                    seed: int = 0) -> Splits:
    """One protein's RNAcompete experiment (a Protein_name or an RNCMPT id): RNACompeteSplit per split,
    from norm_data.txt + metadata.xlsx; train/valid are SetA shuffled with `seed`, test is SetB."""
    return SOURCES["rnacompete"].load(data_dir, fast=fast, protein=protein, seed=seed)


def load_dna_binding(data_dir=None, fast: bool | None = None, seed: int = dna_binding.SPLIT_SEED) -> Splits:
    """DNA binding sites: a DataFrame (seq, bind) per split, from dna_binding.csv (or the CSV you pass)."""
    return SOURCES["dna_binding"].load(data_dir, fast=fast, seed=seed)


def load_nuclei(data_dir=None, fast: bool | None = None, seed: int = nuclei.SPLIT_SEED) -> Splits:
    """Nuclei segmentation: a list of (image path, mask path) per split (70/10/20 %), from the course
    tarball, a flat folder of pairs or Kaggle DSB 2018 folders."""
    return SOURCES["nuclei"].load(data_dir, fast=fast, seed=seed)


def load_ctcf(data_dir=None, fast: bool | None = None, seed: int = 0) -> Splits:
    """CTCF ChIP-seq peaks: CTCFSplit per split, from Koo's CTCF_200.h5 or a DeepBind-style text file
    (a folder holding one, or the file; a text file is split 80/10/10 with `seed`)."""
    return SOURCES["ctcf"].load(data_dir, fast=fast, seed=seed)


def load_hmm(data_dir=None, fast: bool | None = None) -> Splits:
    """Sequences of the course's two-state DNA HMM: HMMSplit per split, from train/valid/test.tsv."""
    return SOURCES["hmm"].load(data_dir, fast=fast)

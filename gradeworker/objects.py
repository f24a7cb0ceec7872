"""Trusted objects the judge may ask the worker to build, by recipe ({"t": "new", "kind": ...}).

Student functions often take objects rather than arrays: a model, an optimizer, a data
loader, a random generator. The judge cannot send objects, so it sends a recipe and the
worker builds the object here, from this file's code only.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from . import standins


def _standin(name: str, kwargs: dict | None = None, seed: int = 0, state: dict | None = None):
    if name not in standins.REGISTRY:
        raise ValueError(f"unknown stand-in {name!r}")
    return standins.build(name, state=state, seed=seed, **(kwargs or {}))


def _optimizer(kind: str, params_of, lr: float, **options):
    cls = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam}[kind]
    return cls(params_of.parameters(), lr=lr, **options)


def _loader(dataset, batch_size: int, shuffle: bool = False, seed: int = 0, batched: bool = True):
    """course_lib's batched loader (dataset[list_of_rows]) or torch's item-by-item DataLoader."""
    if batched:
        from course_lib.training import make_loader
        return make_loader(dataset, batch_size=batch_size, shuffle=shuffle, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)


def _hmm_dataset(bases, states, name: str = "train"):
    from course_lib.data.hmm import HMMDataset, HMMSplit
    return HMMDataset(HMMSplit([], [], np.asarray(bases, dtype=np.int8), np.asarray(states, dtype=np.int8), name))


KINDS = {
    "standin": _standin,
    "optimizer": _optimizer,
    "tensor_dataset": lambda tensors: TensorDataset(*tensors),
    "loader": _loader,
    "np_rng": lambda seed: np.random.default_rng(seed),
    "torch_generator": lambda seed: torch.Generator().manual_seed(seed),
    "hmm_dataset": _hmm_dataset,
}


def build(kind: str, args: dict):
    if kind not in KINDS:
        raise ValueError(f"unknown recipe {kind!r}")
    return KINDS[kind](**args)

"""Test Spearman of the reference DeepBindCNN and ConvLSTM on synthetic RBFOX1 data, as a fraction of the oracle.

The synthetic generator knows each probe's expected intensity, so the Spearman correlation between
that truth and the measured (noisy) targets is the best any model can reach: the oracle. The
course's numbers (real RNAcompete data, no oracle there) are printed in the same table for context.

    python bench/bench_rnacompete_models.py [--probes N] [--seeds 0 1 2] [--batch-size B] [--data-dir DIR]

Each model is trained twice: with the class defaults (motif length 24, Adam 1e-3, 15 epochs, as the
course trained it) and with the notebook's recipe (motif length 8, the 6-nt motif plus a flank; Adam
3e-3; 30 epochs; the ConvLSTM's gates initialised by init_lstm_), the best validation epoch kept, once
per seed.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from course_lib import config
from course_lib.data import rnacompete as rc
from course_lib.data import rnacompete_synthetic as rs
from course_lib.datasets import load_rnacompete
from course_lib.models.recurrent import init_lstm_
from course_lib.reference import rnacompete as ref
from course_lib.training import make_loader, pick_device, predict, seed_everything

SETTINGS = (  # (label, constructor arguments, learning rate, epochs, init_lstm_ for an LSTM)
    ("defaults: motif 24, lr 1e-3, 15 epochs", {}, 1e-3, 15, False),
    ("recipe: motif 8, lr 3e-3, 30 epochs, init_lstm_", {"motif_len": 8}, 3e-3, 30, True),
)
COURSE = [  # (model, data, validation Spearman, test Spearman)
    ("course CNN (DeepBind-style)", "real RBFOX1 RNAcompete", None, 0.459),
    ("course CNN+LSTM", "real RBFOX1 RNAcompete", 0.558, None),
    ("public report, BiLSTM", "real RBFOX1 RNAcompete", None, 0.671),
]


def test_spearman(cls, checkpoint: Path, loader, device, **kwargs) -> float:
    """Test Spearman of a fresh `cls(**kwargs)` loaded from `checkpoint`."""
    model = cls(**kwargs)
    model.load_state_dict(torch.load(checkpoint, map_location="cpu"))
    preds, (y, mask) = predict(model.to(device), loader, inputs=(0,), targets=(1, 2), device=device)
    return ref.masked_spearman(preds, y, mask)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--probes", type=int, default=rs.RNACompeteGenerator().n_probes)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()

    gen = rs.RNACompeteGenerator(n_probes=args.probes)
    d = args.data_dir or config.data_root() / f"rnacompete_models_{args.probes}"
    manifest = rs.write_synthetic(d, seed=0, generator=gen)
    splits = load_rnacompete(d, fast=False)
    device = pick_device()
    loaders = {name: make_loader(rc.RNACompeteDataset(s), args.batch_size if name == "train" else 2048,
                                 shuffle=name == "train") for name, s in splits.items()}
    oracle = manifest["oracle_spearman"]
    data_label = f"synthetic, {args.probes:,} probes"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for cls in (ref.DeepBindCNN, ref.ConvLSTM):
            for label, kwargs, lr, epochs, init in SETTINGS:
                for seed in args.seeds:
                    seed_everything(seed)
                    model = cls(**kwargs)
                    if init and any(isinstance(m, torch.nn.LSTM) for m in model.modules()):
                        init_lstm_(model)
                    checkpoint = Path(tmp) / f"{cls.__name__}.pt"
                    start = time.perf_counter()
                    valid = ref.train(model, loaders["train"], loaders["valid"], epochs=epochs, lr=lr,
                                      checkpoint=checkpoint, device=device, progress=False)
                    seconds = time.perf_counter() - start
                    test = test_spearman(cls, checkpoint, loaders["test"], device, **kwargs)
                    rows.append((f"{cls.__name__}, {label}, seed {seed}", data_label, valid, test,
                                 test / oracle["test"], seconds))
    rows.append(("oracle (true expected intensity)", data_label, oracle["valid"], oracle["test"], 1.0, None))
    rows += [(m, dset, v, t, None, None) for m, dset, v, t in COURSE]

    name = torch.cuda.get_device_name() if device.type == "cuda" else "CPU"
    print(f"device: {device} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"data: {d} — train {len(splits['train']):,}, valid {len(splits['valid']):,}, "
          f"test {len(splits['test']):,} probes (RBFOX1 RNCMPT00168)")
    print(f"training: Adam, batch {args.batch_size}, masked MSE, best validation epoch kept\n")

    def fmt(x, spec=".3f"):
        return "—" if x is None else format(x, spec)
    print(f"{'model':<58} {'data':<26} {'valid rho':>9} {'test rho':>9} {'test/oracle':>11} {'train s':>8}")
    for model, dset, v, t, frac, s in rows:
        print(f"{model:<58} {dset:<26} {fmt(v):>9} {fmt(t):>9} {fmt(frac):>11} {fmt(s, '.0f'):>8}")


if __name__ == "__main__":
    main()

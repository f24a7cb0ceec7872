"""GPU minutes per notebook, estimated from what can be measured on a CPU-only machine.

    python bench/estimate_gpu_time.py [--times build/notebook_times] [--steps 20] [--threads 1]

No GPU was lent to this project, so GPU times are an estimate, built like this for every
training run a notebook does in full mode (the settings below mirror the notebooks):

  measured here   one epoch of the real DataLoader (batches only, no model): the same work on
                  a GPU machine's CPU; the floating-point operations of one training step
                  (forward, backward) counted by torch.utils.flop_counter; the CPU seconds per
                  training step (median of --steps steps, one thread).
  assumed         a sustained GPU rate (ASSUMED_TFLOPS, a fraction of each card's FP32 peak, as
                  small models reach) and a fixed cost per step for kernel launches and the
                  optimizer (STEP_OVERHEAD_S), plus, for recurrent models, a cost per time step
                  (cuDNN runs the time steps one after the other).

GPU seconds of a run = epochs x (loader epoch + steps x (FLOPs / rate + overhead)).
With --times (the JSON files of bench/time_notebooks.py) the script also predicts the CPU
training time the same way (loader + steps x measured CPU step) and sets it beside the
measured notebook time: the rest of the notebook (data, plots, evaluation) is taken to cost
the same on a GPU machine, which makes the estimate conservative.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.pop("COURSE_FAST", None)  # full-size data, as the notebooks use in full mode
os.environ.setdefault("TQDM_DISABLE", "1")  # keep the tables readable (data writers show progress bars)

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from course_lib.training import make_loader  # noqa: E402

# Sustained training throughput assumed for models this small: about a third of FP32 peak
# (T4 8.1 TFLOPS, A100 19.5, H100 SXM 67; TF32 tensor cores would be faster still).
ASSUMED_TFLOPS = {"Colab T4": 2.5, "A100": 7.0, "H100": 20.0}
STEP_OVERHEAD_S = {"Colab T4": 2.0e-3, "A100": 1.2e-3, "H100": 1.0e-3}
RNN_TIMESTEP_S = 20e-6  # forward + backward, per time step and direction, one cuDNN layer


@dataclass
class Run:
    """One training run of a notebook in full mode."""
    label: str
    model: torch.nn.Module
    loader: object
    epochs: int
    inputs: tuple = (0,)


def jund_runs():
    from course_lib.data import jund
    from course_lib.datasets import load_jund
    from course_lib.reference.jund import CNN, MLP, LSTMClassifier, small_data_cnn
    train = jund.JUNDDataset(load_jund()["train"])
    loader = jund.SubsampledNegatives(train, 256, keep=0.05)     # as the notebook trains: 5 % of the unbound
    mlp_loader = jund.SubsampledNegatives(train, 256, keep=0.25)   # the notebook's MLP_KEEP_UNBOUND
    runs = [Run(f"{cls.__name__}({h}, lr {lr:g})", cls(hidden_size=h), cls_loader, 10, (0, 3))
            for cls, cls_loader in ((MLP, mlp_loader), (CNN, loader)) for h in (64, 128)
            for lr in (1e-3, 3e-3)]     # the notebook's two learning rates
    both = small_data_cnn()   # the notebook's CNN for little data
    runs.append(Run("StrandAveraged(CNN(11, pool 91, 32))", both, loader, 10, (0, 3)))
    return runs + [Run(f"LSTMClassifier({h})", LSTMClassifier(hidden_size=h), loader, 10, (0, 3)) for h in (64, 128)]


def rnacompete_runs():
    from course_lib.data import rnacompete
    from course_lib.datasets import load_rnacompete
    from course_lib.reference.rnacompete import ConvLSTM, DeepBindCNN
    loader = make_loader(rnacompete.RNACompeteDataset(load_rnacompete(protein="RBFOX1")["train"]), 64,
                         shuffle=True)
    return [Run("DeepBindCNN", DeepBindCNN(), loader, 15), Run("ConvLSTM", ConvLSTM(), loader, 15)]


def ctcf_runs():
    from course_lib.data import ctcf
    from course_lib.datasets import load_ctcf
    from course_lib.reference.ctcf_saliency import CTCFNet, CTCFNetRegularized
    split = load_ctcf()["train"]
    loader = make_loader(ctcf.CTCFDataset(split), 64, shuffle=True)
    return [Run("CTCFNet", CTCFNet(seq_len=split.seq_len), loader, 20),
            Run("CTCFNetRegularized (at most)", CTCFNetRegularized(seq_len=split.seq_len), loader, 40)]


def dna_binding_runs():
    from course_lib.datasets import load_dna_binding
    from course_lib.reference.dna_unet import DNADataset, LSTMSeq
    df = load_dna_binding()["train"]
    return [Run("LSTMSeq(64)", LSTMSeq(64), make_loader(DNADataset(df["seq"], df["bind"]), 256, shuffle=True), 60)]


def nuclei_runs():
    from torch.utils.data import DataLoader

    from course_lib.data.nuclei import CROP_SIZE, RandomCrops
    from course_lib.datasets import load_nuclei
    from course_lib.models import UNet
    from course_lib.reference.dna_unet import ImageDataset
    crops = RandomCrops(ImageDataset(load_nuclei()["train"], augment=True), size=CROP_SIZE)
    return [Run(f"UNet(base=16), {CROP_SIZE}x{CROP_SIZE} crops", UNet(base=16),
                DataLoader(crops, batch_size=4, shuffle=True), 20)]


def hmm_gru_runs():
    from course_lib.data import hmm as hmm_data
    from course_lib.reference.hmm_gru import GRUTagger
    from course_lib.datasets import load_hmm
    train = hmm_data.HMMDataset(load_hmm()["train"])
    loader = make_loader(train, 64, shuffle=True)
    return [Run(f"GRUTagger(16, bidirectional={b})", GRUTagger(4, 16, 2, bidirectional=b), loader, 3)
            for b in (False, True)]


NOTEBOOKS = {"jund/jund.ipynb": jund_runs, "rnacompete/rnacompete.ipynb": rnacompete_runs,
             "ctcf_saliency/ctcf_saliency.ipynb": ctcf_runs, "dna_unet/dna_binding.ipynb": dna_binding_runs,
             "dna_unet/nuclei_unet.ipynb": nuclei_runs, "hmm_gru/hmm_gru.ipynb": hmm_gru_runs}


def as_tensor_output(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def recurrent_cost(model: torch.nn.Module, args) -> tuple[dict, int]:
    """{module name: training FLOPs of one step} and sequential time steps of the model's RNN layers.

    FlopCounterMode does not see PyTorch's fused CPU LSTM, so RNN layers are counted from their
    sizes: per layer and direction 2 x batch x time x gates x hidden x (input + hidden) for the
    forward pass, three times that with the backward pass.
    """
    shapes, hooks = {}, []

    def record(name):
        def hook(module, inputs, output):  # returns None: the output is left as it is
            shapes.setdefault(name, tuple(inputs[0].shape))
        return hook

    for name, module in model.named_modules():
        if isinstance(module, torch.nn.RNNBase):
            hooks.append(module.register_forward_hook(record(name)))
    with torch.no_grad():
        model(*args)
    for h in hooks:
        h.remove()
    flops, timesteps = {}, 0
    for name, shape in shapes.items():
        rnn = model.get_submodule(name)
        batch, time_ = (shape[0], shape[1]) if rnn.batch_first else (shape[1], shape[0])
        gates = {"LSTM": 4, "GRU": 3}.get(rnn.mode, 1)
        dirs, hidden = 2 if rnn.bidirectional else 1, rnn.hidden_size
        total = 0
        for layer in range(rnn.num_layers):
            inputs = rnn.input_size if layer == 0 else hidden * dirs
            total += 3 * 2 * batch * time_ * gates * hidden * (inputs + hidden) * dirs
        flops[name] = total
        timesteps += time_ * rnn.num_layers * dirs
    return flops, timesteps


def measure(run: Run, n_steps: int) -> dict:
    """Loader seconds per epoch, FLOPs and RNN time steps per step, CPU seconds per step of one run."""
    start = time.perf_counter()
    n_batches = sum(1 for _ in run.loader)
    loader_s = time.perf_counter() - start
    batch = next(iter(run.loader))
    args = [batch[i] for i in run.inputs]
    optimizer = torch.optim.Adam(run.model.parameters(), lr=1e-3)
    run.model.train()

    def step():
        loss = as_tensor_output(run.model(*args)).float().pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    with FlopCounterMode(display=False) as counter:
        step()
    rnn_flops, timesteps = recurrent_cost(run.model, args)
    root = type(run.model).__name__
    counted = counter.get_flop_counts()
    flops = counter.get_total_flops() + sum(
        f - sum(counted.get(f"{root}.{name}", {}).values()) for name, f in rnn_flops.items())
    times = []
    for _ in range(n_steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return {"batches": n_batches, "loader_s": loader_s, "flops": flops, "timesteps": timesteps,
            "cpu_step_s": statistics.median(times)}


def gpu_seconds(run: Run, m: dict, card: str) -> float:
    per_step = (m["flops"] / (ASSUMED_TFLOPS[card] * 1e12) + STEP_OVERHEAD_S[card]
                + m["timesteps"] * RNN_TIMESTEP_S)
    return run.epochs * (m["loader_s"] + m["batches"] * per_step)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help=f"any of {', '.join(NOTEBOOKS)} (default: all)")
    parser.add_argument("--times", type=Path, help="folder of bench/time_notebooks.py JSON reports (full mode)")
    parser.add_argument("--steps", type=int, default=20, help="training steps timed per model on the CPU")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cards = list(ASSUMED_TFLOPS)
    print(f"CPU: {os.cpu_count()} cores, torch {torch.__version__}, {args.threads} thread(s); "
          f"GPU rates ASSUMED: " + ", ".join(f"{c} {ASSUMED_TFLOPS[c]} TFLOP/s + {STEP_OVERHEAD_S[c] * 1e3:.1f} ms/step"
                                             for c in cards) + f", {RNN_TIMESTEP_S * 1e6:.0f} us per RNN time step\n")
    print("| notebook | run | epochs | steps/epoch | GFLOP/step | CPU s/step | loader s/epoch | CPU min (predicted) | "
          + " | ".join(f"{c} min" for c in cards) + " |")
    print("|---|---|---|---|---|---|---|---|" + "---|" * len(cards))
    totals = {}
    for name in args.notebooks or NOTEBOOKS:
        torch.manual_seed(0)
        cpu_total, gpu_total = 0.0, dict.fromkeys(cards, 0.0)
        for run in NOTEBOOKS[name]():
            m = measure(run, args.steps)
            cpu = run.epochs * (m["loader_s"] + m["batches"] * m["cpu_step_s"])
            gpu = {c: gpu_seconds(run, m, c) for c in cards}
            cpu_total += cpu
            for c in cards:
                gpu_total[c] += gpu[c]
            print(f"| {name} | {run.label} | {run.epochs} | {m['batches']:,} | {m['flops'] / 1e9:.3f} | "
                  f"{m['cpu_step_s'] * 1e3:.1f} ms | {m['loader_s']:.1f} | {cpu / 60:.1f} | "
                  + " | ".join(f"{gpu[c] / 60:.1f}" for c in cards) + " |", flush=True)
        totals[name] = (cpu_total, gpu_total)

    print("\n| notebook | CPU min, measured whole notebook | CPU min, predicted training | rest of notebook min | "
          + " | ".join(f"{c} min (estimate)" for c in cards) + " |")
    print("|---|---|---|---|" + "---|" * len(cards))
    for name, (cpu_train, gpu_train) in totals.items():
        report = args.times / name.replace("/", "__").replace(".ipynb", ".json") if args.times else None
        measured = rest = None
        if report and report.exists():
            r = json.loads(report.read_text())
            measured = r.get("measured_seconds") if r.get("complete") else r.get("extrapolated_seconds")
            rest = max(measured - cpu_train, 0.0) if measured else None
        fmt = (lambda s: "–" if s is None else f"{s / 60:.1f}")
        print(f"| {name} | {fmt(measured)} | {cpu_train / 60:.1f} | {fmt(rest)} | "
              + " | ".join(fmt(gpu_train[c] + (rest or 0.0)) for c in cards) + " |")


if __name__ == "__main__":
    main()

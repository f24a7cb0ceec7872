"""Initialisation that helps LSTMs learn long sequences (used by the dna_unet assignment).

PyTorch initialises every LSTM weight and bias uniformly in ±1/sqrt(hidden_size). The
forget gate then starts half open (sigmoid(0) = 0.5), so the memory of a base fades
by half at every step: after 30 bases almost nothing is left, and the gradient that
should teach the network about a site far from the end of the sequence vanishes.
`init_lstm_` sets the forget-gate bias to 1 (the gate starts mostly open, so memories
last), makes the recurrent weight matrices orthogonal (signals neither blow up nor
shrink when carried from step to step) and uses Xavier-uniform input weights.
"""
from __future__ import annotations

import torch
from torch import nn

FORGET_BIAS = 1.0


def init_lstm_(module: nn.Module, forget_bias: float = FORGET_BIAS) -> nn.Module:
    """Re-initialise, in place, every nn.LSTM inside `module` (or `module` itself); returns `module`."""
    lstms = [m for m in module.modules() if isinstance(m, nn.LSTM)]
    if not lstms:
        raise ValueError(f"{type(module).__name__} contains no nn.LSTM to initialise")
    for lstm in lstms:
        h = lstm.hidden_size
        for name, p in lstm.named_parameters():
            with torch.no_grad():
                if name.startswith("weight_hh"):
                    for gate in range(4):            # one square block per gate
                        nn.init.orthogonal_(p[gate * h:(gate + 1) * h])
                elif name.startswith("weight_ih"):
                    nn.init.xavier_uniform_(p)
                elif name.startswith("bias"):
                    p.zero_()
                    if name.startswith("bias_ih"):
                        p[h:2 * h] = forget_bias     # gate order in PyTorch: input, forget, cell, output
    return module

"""Known-wrong submissions for `rnacompete`: each must lose exactly the points listed in
tests/test_grading_rnacompete.py. Each source defines the student's object (imports included)."""

SPEARMAN_WITHOUT_MASK = '''
import torch
from course_lib.reference.rnacompete import average_ranks

def masked_spearman(preds, targets, mask):
    # bug: ignores the mask, ranks every entry
    rp = average_ranks(preds.detach().reshape(-1).double())
    rt = average_ranks(targets.detach().reshape(-1).double())
    rp, rt = rp - rp.mean(), rt - rt.mean()
    return float((rp * rt).sum() / torch.sqrt((rp ** 2).sum() * (rt ** 2).sum()))
'''

PEARSON_NOT_SPEARMAN = '''
import torch

def masked_spearman(preds, targets, mask):
    # bug: Pearson correlation of the values, not of their ranks
    keep = mask.reshape(-1) > 0
    if int(keep.sum()) < 2:
        raise ValueError("need at least two valid entries")
    p = preds.detach().reshape(-1)[keep].double()
    t = targets.detach().reshape(-1)[keep].double()
    p, t = p - p.mean(), t - t.mean()
    return float((p * t).sum() / torch.sqrt((p ** 2).sum() * (t ** 2).sum()))
'''

ORDINAL_RANKS = '''
import torch

def masked_spearman(preds, targets, mask):
    # bug: ties get distinct (ordinal) ranks instead of their average rank
    keep = mask.reshape(-1) > 0
    if int(keep.sum()) < 2:
        raise ValueError("need at least two valid entries")
    def ranks(v):
        return torch.argsort(torch.argsort(v, stable=True)).double()
    rp = ranks(preds.detach().reshape(-1)[keep].double())
    rt = ranks(targets.detach().reshape(-1)[keep].double())
    rp, rt = rp - rp.mean(), rt - rt.mean()
    return float((rp * rt).sum() / torch.sqrt((rp ** 2).sum() * (rt ** 2).sum()))
'''

MSE_OVER_MASKED = '''
import torch

def masked_mse_loss(preds, targets, mask):
    # bug: averages over every entry, masked-out ones included
    return ((preds.reshape(-1) - targets.reshape(-1)) ** 2).mean()
'''

MSE_NAN_UNSAFE = '''
import torch

def masked_mse_loss(preds, targets, mask):
    # bug: multiplies by the mask, so a nan target where mask is 0 still poisons the sum (0 * nan = nan),
    # and an all-zero mask divides by zero
    mask = mask.reshape(-1).float()
    return (mask * (preds.reshape(-1) - targets.reshape(-1)) ** 2).sum() / mask.sum()
'''

CONVLSTM_FIRST_STEP = '''
import torch
from torch import nn

class ConvLSTM(nn.Module):
    def __init__(self, motif_len=24, num_filters=64, lstm_hidden=32, lstm_layers=2, hidden=32, dropout=0.5):
        super().__init__()
        self.conv = nn.Conv2d(1, num_filters, kernel_size=(motif_len, 4))
        self.lstm = nn.LSTM(num_filters, lstm_hidden, num_layers=lstm_layers, batch_first=True, dropout=dropout)
        self.head = nn.Sequential(nn.Linear(lstm_hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))

    def forward(self, x):
        if x.dim() == 3:
            x = x.unsqueeze(1)
        steps = torch.relu(self.conv(x)).squeeze(3).transpose(1, 2)
        out, _ = self.lstm(steps)
        return self.head(out[:, 0])  # bug: the first step has seen only the first window
'''

TRAIN_STATE_DICT_ALIAS = '''
import torch
from course_lib.reference.rnacompete import masked_mse_loss, masked_spearman

def train(model, train_loader, valid_loader, epochs=10, lr=1e-3, checkpoint="best_model.pt", device=None,
          progress=True):
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    best, best_state = -2.0, None
    for epoch in range(epochs):
        model.train()
        for x, y, m in train_loader:
            x, y, m = x.to(device), y.to(device), m.to(device)
            loss = masked_mse_loss(model(x), y, m)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            outs = [(model(x.to(device)).cpu(), y, m) for x, y, m in valid_loader]
        rho = masked_spearman(torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs]),
                              torch.cat([o[2] for o in outs]))
        if rho > best:
            best, best_state = rho, model.state_dict()  # bug: a live view of the weights, not a copy
    torch.save(best_state, checkpoint)
    return best
'''

MUTANTS = {
    "spearman_without_mask": {"masked_spearman": SPEARMAN_WITHOUT_MASK},
    "pearson_not_spearman": {"masked_spearman": PEARSON_NOT_SPEARMAN},
    "ordinal_ranks_for_ties": {"masked_spearman": ORDINAL_RANKS},
    "mse_over_masked_entries": {"masked_mse_loss": MSE_OVER_MASKED},
    "mse_nan_unsafe": {"masked_mse_loss": MSE_NAN_UNSAFE},
    "convlstm_first_step": {"ConvLSTM": CONVLSTM_FIRST_STEP},
    "train_state_dict_alias": {"train": TRAIN_STATE_DICT_ALIAS},
}

"""Known-wrong `jund` submissions: each is a mistake students really make."""

UNWEIGHTED_ACCURACY = '''
def weighted_accuracy(predicted_y, true_y, weight):
    pred = np.asarray(torch.as_tensor(np.asarray(predicted_y, dtype=float)).reshape(-1))
    true = np.asarray(torch.as_tensor(np.asarray(true_y, dtype=float)).reshape(-1))
    return float((pred == true).mean())   # forgot the weights
'''

NAN_ON_ZERO_WEIGHTS = '''
def _flat(x):
    if torch.is_tensor(x):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=float).reshape(-1)

def weighted_accuracy(predicted_y, true_y, weight):
    pred, true, w = _flat(predicted_y), _flat(true_y), _flat(weight)
    return float((w * (pred == true)).sum() / w.sum())   # 0/0 -> nan instead of ValueError
'''

SIGMOID_BEFORE_BCE_WITH_LOGITS = '''
def weighted_bce_loss(logits, y, w):
    probs = torch.sigmoid(logits)   # the loss below already applies a sigmoid
    return F.binary_cross_entropy_with_logits(probs, y, weight=w)
'''

ACCESSIBILITY_IGNORED = '''
class MLP(nn.Module):
    def __init__(self, hidden_size=128, dropout=0.3):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(404, hidden_size), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden_size, 1))

    def forward(self, X, a):
        return self.net(X)   # a is never used
'''

MLP_WITHOUT_HIDDEN_LAYER = '''
class MLP(nn.Module):
    def __init__(self, hidden_size=128, dropout=0.3):
        super().__init__()
        self.out = nn.Linear(404 + 1, 1)   # logistic regression, no hidden layer

    def forward(self, X, a):
        return self.out(torch.cat([X.flatten(1), a], dim=1))
'''

CPU_CALL_IN_FORWARD = '''
from course_lib.reference.jund import CNN as _WorkingCNN

class CNN(_WorkingCNN):
    def forward(self, X, a):
        X = X.cpu()   # hard-coded device: breaks as soon as the model is on a GPU
        return super().forward(X, a.cpu())
'''

LSTM_WITHOUT_BATCH_FIRST = '''
class LSTMClassifier(nn.Module):
    def __init__(self, hidden_size=64, fc_size=32, dropout=0.3):
        super().__init__()
        self.lstm = nn.LSTM(input_size=4, hidden_size=hidden_size)   # batch_first missing
        self.head = nn.Sequential(nn.Linear(hidden_size + 1, fc_size), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(fc_size, 1))

    def forward(self, X, a):
        out, _ = self.lstm(X)          # reads (B, 101, 4) as 101 sequences of B steps
        return self.head(torch.cat([out[:, -1], a], dim=1))
'''

CHOOSE_BY_TRAINING_LOSS = '''
def choose_config(rows):
    return min(rows, key=lambda r: r["train_loss"])   # the training loss always favours the longest, largest run
'''

CHOOSE_LAST_EPOCH = '''
def choose_config(rows):
    best = max(rows, key=lambda r: r["valid_weighted_accuracy"])
    last = max(r["epoch"] for r in rows)               # the right configuration, but trained to the end
    return next(r for r in rows if r["epoch"] == last and r["hidden_size"] == best["hidden_size"]
                and r["lr"] == best["lr"])
'''

MUTANTS = {
    "unweighted_accuracy": {"weighted_accuracy": UNWEIGHTED_ACCURACY},
    "nan_on_zero_weights": {"weighted_accuracy": NAN_ON_ZERO_WEIGHTS},
    "sigmoid_before_bce_with_logits": {"weighted_bce_loss": SIGMOID_BEFORE_BCE_WITH_LOGITS},
    "accessibility_ignored": {"MLP": ACCESSIBILITY_IGNORED},
    "mlp_without_hidden_layer": {"MLP": MLP_WITHOUT_HIDDEN_LAYER},
    "cpu_call_in_forward": {"CNN": CPU_CALL_IN_FORWARD},
    "lstm_without_batch_first": {"LSTMClassifier": LSTM_WITHOUT_BATCH_FIRST},
    "choose_by_training_loss": {"choose_config": CHOOSE_BY_TRAINING_LOSS},
    "choose_last_epoch": {"choose_config": CHOOSE_LAST_EPOCH},
}

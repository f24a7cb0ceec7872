"""Known-wrong `ctcf_saliency` submissions: each is a mistake students really make."""

SALIENCY_OF_SIGMOID = '''
def saliency_map(model, X):
    was_training = model.training
    model.eval()
    X = X.clone().requires_grad_(True)
    torch.sigmoid(model(X)).sum().backward()   # the probability saturates: gradients of the logit were asked for
    model.train(was_training)
    return X.grad
'''

SALIENCY_IN_TRAIN_MODE = '''
def saliency_map(model, X):
    X = X.clone().requires_grad_(True)         # model.eval() forgotten: dropout stays on
    model(X).sum().backward()
    return X.grad
'''

SALIENCY_LEAVES_EVAL_MODE = '''
def saliency_map(model, X):
    model.eval()                               # never switched back to the mode it was given in
    X = X.clone().requires_grad_(True)
    model(X).sum().backward()
    return X.grad
'''

EARLY_STOPPING_NEVER_RESTORES = '''
class EarlyStopping:
    def __init__(self, patience=5):
        self.patience, self.best_loss, self.bad_epochs = patience, float("inf"), 0

    def step(self, val_loss, model):
        if val_loss < self.best_loss:
            self.best_loss, self.bad_epochs = val_loss, 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def restore(self, model):
        pass                                   # the best weights were never kept
'''

EARLY_STOPPING_KEEPS_A_REFERENCE = '''
class EarlyStopping:
    def __init__(self, patience=5):
        self.patience, self.best_loss, self.bad_epochs, self.best_state = patience, float("inf"), 0, None

    def step(self, val_loss, model):
        if val_loss < self.best_loss:
            self.best_loss, self.bad_epochs = val_loss, 0
            self.best_state = model.state_dict()   # references to tensors that training keeps changing
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def restore(self, model):
        model.load_state_dict(self.best_state)
'''

EARLY_STOPPING_ONE_EPOCH_LATE = '''
import copy

class EarlyStopping:
    def __init__(self, patience=5):
        self.patience, self.best_loss, self.bad_epochs, self.best_state = patience, float("inf"), 0, None

    def step(self, val_loss, model):
        if val_loss < self.best_loss:
            self.best_loss, self.bad_epochs = val_loss, 0
            self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.bad_epochs += 1
        return self.bad_epochs > self.patience     # waits one epoch too many

    def restore(self, model):
        model.load_state_dict(self.best_state)
'''

MONONUCLEOTIDE_SHUFFLE = '''
def dinucleotide_shuffle(seq, rng):
    return "".join(rng.permutation(list(seq)))   # keeps letter counts only
'''

NO_SAME_PADDING = '''
class CTCFNet(nn.Module):
    def __init__(self, seq_len=200):
        super().__init__()
        self.conv = nn.Sequential(                       # no padding: the output is 18 positions shorter
            nn.Conv1d(4, 24, kernel_size=19), nn.ReLU(), nn.MaxPool1d(25))
        self.dense = nn.Sequential(nn.Flatten(), nn.Linear(24 * ((seq_len - 18) // 25), 64), nn.ReLU())
        self.out = nn.Linear(64, 1)

    def forward(self, X):
        return self.out(self.dense(self.conv(X.transpose(1, 2))))
'''

REGULARIZED_WITHOUT_DROPOUT = '''
class CTCFNetRegularized(nn.Module):
    def __init__(self, seq_len=200):
        super().__init__()
        self.conv = nn.Conv1d(4, 24, kernel_size=19, padding="same")
        self.pool = nn.MaxPool1d(25)
        self.dense = nn.Linear(24 * (seq_len // 25), 64)
        self.out = nn.Linear(64, 1)

    def forward(self, X):                        # the dropout layers were never added
        h = self.pool(torch.relu(self.conv(X.transpose(1, 2))))
        return self.out(torch.relu(self.dense(h.flatten(1))))
'''


MUTANTS = {
    "saliency_of_sigmoid": {"saliency_map": SALIENCY_OF_SIGMOID},
    "saliency_in_train_mode": {"saliency_map": SALIENCY_IN_TRAIN_MODE},
    "saliency_leaves_eval_mode": {"saliency_map": SALIENCY_LEAVES_EVAL_MODE},
    "early_stopping_never_restores": {"EarlyStopping": EARLY_STOPPING_NEVER_RESTORES},
    "early_stopping_keeps_a_reference": {"EarlyStopping": EARLY_STOPPING_KEEPS_A_REFERENCE},
    "early_stopping_one_epoch_late": {"EarlyStopping": EARLY_STOPPING_ONE_EPOCH_LATE},
    "mononucleotide_shuffle": {"dinucleotide_shuffle": MONONUCLEOTIDE_SHUFFLE},
    "no_same_padding": {"CTCFNet": NO_SAME_PADDING},
    "regularized_without_dropout": {"CTCFNetRegularized": REGULARIZED_WITHOUT_DROPOUT},
}

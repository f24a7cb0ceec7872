"""Known-wrong `dna_unet` submissions: each is a mistake students really make."""

_LSTM_HEAD = '''
class LSTMSeq(nn.Module):
    def __init__(self, hidden_dim=64):
        super().__init__()
        self.lstm = nn.LSTM(4, hidden_dim, num_layers=1, batch_first=True, bidirectional=True)
        self.mlp = nn.Sequential(nn.Linear(hidden_dim, hidden_dim), nn.Tanh(),
                                 nn.Linear(hidden_dim, hidden_dim), nn.Tanh(), nn.Linear(hidden_dim, 1))
'''

FORWARD_DIRECTION_STATE = _LSTM_HEAD + '''
    def forward(self, x):
        _, (h_n, _) = self.lstm(x)
        return torch.sigmoid(self.mlp(h_n[0]))   # h_n[0] is the forward direction
'''

LAST_OUTPUT_STEP = _LSTM_HEAD + '''
    def forward(self, x):
        output, _ = self.lstm(x)
        hidden = self.lstm.hidden_size
        return torch.sigmoid(self.mlp(output[:, -1, hidden:]))   # backward state after one base only
'''

SIGMOID_TWICE = '''
class LSTMSeq(nn.Module):
    def __init__(self, hidden_dim=64):
        super().__init__()
        self.lstm = nn.LSTM(4, hidden_dim, num_layers=1, batch_first=True, bidirectional=True)
        self.mlp = nn.Sequential(nn.Linear(hidden_dim, hidden_dim), nn.Tanh(),
                                 nn.Linear(hidden_dim, hidden_dim), nn.Tanh(), nn.Linear(hidden_dim, 1),
                                 nn.Sigmoid())

    def forward(self, x):
        _, (h_n, _) = self.lstm(x)
        return torch.sigmoid(self.mlp(h_n[1]))   # the MLP already ends with a sigmoid
'''

N_AS_ZEROS = '''
def one_hot_encode(seq):
    table = {"A": 0, "C": 1, "G": 2, "T": 3}
    x = torch.zeros(len(seq), 4)
    for i, letter in enumerate(seq):
        if letter in table:          # anything else silently becomes a row of zeros
            x[i, table[letter]] = 1.0
    return x
'''

TRAIN_WITHOUT_CLIPPING = '''
def train(model, loader, optimizer):
    device = next(model.parameters()).device
    loss_fn = nn.BCELoss()
    model.train()
    losses = []
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()            # no gradient clipping
        losses.append(loss.item())
    return float(np.mean(losses))
'''

VALIDATE_IN_TRAIN_MODE = '''
def validate(model, loader):
    device = next(model.parameters()).device
    loss_fn = nn.BCELoss()
    losses = []
    with torch.no_grad():           # but no model.eval(): dropout stays on
        for x, y in loader:
            losses.append(loss_fn(model(x.to(device)), y.to(device)).item())
    return float(np.mean(losses))
'''

EVALUATE_RETURNS_TENSORS = '''
def evaluate(model, loader):
    device = next(model.parameters()).device
    model.eval()
    preds, targets = [], []
    with torch.no_grad():
        for x, y in loader:
            preds.append(model(x.to(device)).reshape(-1).cpu())
            targets.append(y.reshape(-1))
    return torch.cat(preds), torch.cat(targets)   # tensors, not NumPy arrays
'''

ROTATE_IMAGE_ONLY = '''
class ImageDataset(Dataset):
    def __init__(self, paths, augment=False):
        self.paths, self.augment = list(paths), augment

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        image_path, mask_path = self.paths[i]
        image = torch.from_numpy(read_image(image_path))[None]
        mask = torch.from_numpy(read_mask(mask_path))[None]
        if self.augment:
            k = int(torch.randint(0, 4, (1,)))
            image = torch.rot90(image, k, dims=(1, 2))   # the mask is not rotated
        return image, mask
'''

DICE_WITHOUT_SMOOTHING = '''
def dice_loss(pred, target):
    return 1 - 2 * (pred * target).sum() / (pred.sum() + target.sum())
'''

MUTANTS = {
    "forward_direction_state": {"LSTMSeq": FORWARD_DIRECTION_STATE},
    "last_output_step": {"LSTMSeq": LAST_OUTPUT_STEP},
    "sigmoid_twice": {"LSTMSeq": SIGMOID_TWICE},
    "n_as_zeros": {"one_hot_encode": N_AS_ZEROS},
    "train_without_clipping": {"train": TRAIN_WITHOUT_CLIPPING},
    "validate_in_train_mode": {"validate": VALIDATE_IN_TRAIN_MODE},
    "evaluate_returns_tensors": {"evaluate": EVALUATE_RETURNS_TENSORS},
    "rotate_image_only": {"ImageDataset": ROTATE_IMAGE_ONLY},
    "dice_without_smoothing": {"dice_loss": DICE_WITHOUT_SMOOTHING},
}

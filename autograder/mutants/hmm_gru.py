"""Known-wrong `hmm_gru` submissions: each is a mistake students really make."""

ENCODE_ACCEPTS_ANY_LETTER = '''
def encode_seq(symbols, seqtype):
    alphabet = {"dna": "ACGT", "state": "HL"}[seqtype]
    lookup = {letter: i for i, letter in enumerate(alphabet)}
    return torch.tensor([lookup.get(letter, 0) for letter in symbols], dtype=torch.long)   # unknown -> 0, silently
'''

DECODE_SWAPS_STATES = '''
def decode_seq(indices, seqtype):
    if seqtype not in ("dna", "state"):
        raise ValueError(seqtype)
    alphabet = {"dna": "ACGT", "state": "LH"}[seqtype]   # H and L swapped
    idx = torch.as_tensor(indices).tolist()
    if any(i < 0 or i >= len(alphabet) for i in idx):
        raise ValueError("index out of range")
    return "".join(alphabet[i] for i in idx)
'''

LOG_SOFTMAX_OVER_POSITIONS = '''
class GRUTagger(nn.Module):
    def __init__(self, input_size, hidden_size, predict_size, n_layers=1, bidirectional=False):
        super().__init__()
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, num_layers=n_layers, batch_first=True,
                          bidirectional=bidirectional)
        self.linear = nn.Linear(hidden_size * (2 if bidirectional else 1), predict_size)

    def forward(self, x):
        out, _ = self.gru(self.embedding(x))
        return F.log_softmax(self.linear(out), dim=1)   # normalises over positions, not states
'''

BIDIRECTIONAL_IGNORED = '''
class GRUTagger(nn.Module):
    def __init__(self, input_size, hidden_size, predict_size, n_layers=1, bidirectional=False):
        super().__init__()
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, num_layers=n_layers, batch_first=True)   # option dropped
        self.linear = nn.Linear(hidden_size, predict_size)

    def forward(self, x):
        out, _ = self.gru(self.embedding(x))
        return F.log_softmax(self.linear(out), dim=-1)
'''

PREDICT_RETURNS_LOG_PROBS = '''
def predict(model, dna):
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        log_probs = model(encode_seq(dna, "dna").unsqueeze(0).to(device))[0]
    return decode_seq(log_probs.argmax(-1), "state"), log_probs.cpu().numpy()   # forgot .exp()
'''

FRACTION_COUNTS_MISMATCHES = '''
def fraction_matches(seq1, seq2):
    if len(seq1) != len(seq2):
        raise ValueError("different lengths")
    if len(seq1) == 0:
        raise ValueError("empty")
    return sum(a != b for a, b in zip(seq1, seq2)) / len(seq1)   # counts disagreements
'''

SIM_STRICTLY_BETTER = '''
def sim_prob_match(fraction, symbols, length, n_draws, seed=0):
    rng = np.random.default_rng(seed)
    k = len(set(symbols))
    a = rng.integers(0, k, (n_draws, length))
    b = rng.integers(0, k, (n_draws, length))
    return float(((a == b).mean(1) > fraction).mean())   # "better than", not "at least as well as"
'''

SIM_UNSEEDED = '''
def sim_prob_match(fraction, symbols, length, n_draws):
    k = len(set(symbols))
    a = np.random.randint(0, k, (n_draws, length))   # global RNG, never seeded: a new answer every call
    b = np.random.randint(0, k, (n_draws, length))
    return float(((a == b).sum(1) >= np.ceil(fraction * length - 1e-9)).mean())
'''

TRAINS_ON_VALIDATION_SET = '''
def tagging_loss(log_probs, states):
    return F.nll_loss(log_probs.reshape(-1, log_probs.shape[-1]), states.reshape(-1))


def positional_accuracy(log_probs, states):
    return float((log_probs.argmax(-1) == states).float().mean())


def train_tagger(model, train_set, valid_set, epochs, batch_size=32, lr=3e-3):
    loader = make_loader(valid_set, batch_size=batch_size, shuffle=True)   # evaluates on what it trains on
    return fit(model, loader, loader, loss_fn=tagging_loss, metric_fn=positional_accuracy, epochs=epochs,
               lr=lr, progress=False)
'''

MUTANTS = {
    "encode_accepts_any_letter": {"encode_seq": ENCODE_ACCEPTS_ANY_LETTER},
    "decode_swaps_states": {"decode_seq": DECODE_SWAPS_STATES},
    "log_softmax_over_positions": {"GRUTagger": LOG_SOFTMAX_OVER_POSITIONS},
    "bidirectional_ignored": {"GRUTagger": BIDIRECTIONAL_IGNORED},
    "predict_returns_log_probs": {"predict": PREDICT_RETURNS_LOG_PROBS},
    "fraction_counts_mismatches": {"fraction_matches": FRACTION_COUNTS_MISMATCHES},
    "sim_strictly_better": {"sim_prob_match": SIM_STRICTLY_BETTER},
    "sim_unseeded": {"sim_prob_match": SIM_UNSEEDED},
    "trains_on_validation_set": {"train_tagger": TRAINS_ON_VALIDATION_SET},
}

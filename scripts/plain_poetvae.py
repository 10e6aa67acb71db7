"""A straightforward implementation of the same text VAE, the baseline for scripts/bench_text.py.

Written the way most VAE tutorials are: a Dataset of poems, a DataLoader yielding per-item
tensors collated each step, the GCNN as nn.Conv1d on (B, D, L), Adam, and the loss assembled
inline. The same architecture and sizes as PoetVAE's base preset (layer norms, dropout, tied
output) so the comparison is like for like.
Never imported by the package.
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset


class PoemDataset(Dataset):
    def __init__(self, poems: list[list[int]]):
        self.poems = poems

    def __len__(self):
        return len(self.poems)

    def __getitem__(self, i):
        return torch.tensor(self.poems[i], dtype=torch.long)


class GLU(nn.Module):
    def __init__(self, d, k=3, dropout=0.1):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.conv = nn.Conv1d(d, 2 * d, k, padding=k // 2)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):  # (B, D, L)
        h = self.norm(x.transpose(1, 2)).transpose(1, 2)
        a, b = self.conv(h).chunk(2, dim=1)
        return x + self.drop(a * torch.sigmoid(b))


class PlainVAE(nn.Module):
    def __init__(
        self,
        vocab_size,
        seq_len=20,
        d=192,
        z=64,
        n_layers=3,
        n_heads=4,
        head_dim=256,
        n_dec_layers=2,
    ):
        super().__init__()
        self.seq_len, self.d = seq_len, d
        self.emb = nn.Embedding(vocab_size, d)
        self.enc = nn.Sequential(*[GLU(d) for _ in range(n_layers)])
        self.mu = nn.Linear(2 * d, z)
        self.logvar = nn.Linear(2 * d, z)
        self.heads = nn.ModuleList(
            nn.Sequential(
                nn.Linear(z, head_dim), nn.GELU(), nn.Linear(head_dim, seq_len * d // n_heads)
            )
            for _ in range(n_heads)
        )
        self.dec = nn.Sequential(*[GLU(d) for _ in range(n_dec_layers)])
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, vocab_size)
        self.out.weight = self.emb.weight  # tied, as in PoetVAE

    def forward(self, x):
        h = self.enc(self.emb(x).transpose(1, 2))  # (B, D, L)
        pooled = torch.cat([h.mean(2), h.amax(2)], 1)
        mu, logvar = self.mu(pooled), self.logvar(pooled)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        b = x.shape[0]
        h = torch.cat([head(z).view(b, self.seq_len, -1) for head in self.heads], -1)
        h = self.dec(F.gelu(h).transpose(1, 2)).transpose(1, 2)
        logits = self.out(self.norm(h))
        recon = (
            F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x.reshape(-1), reduction="sum")
            / b
        )
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / b
        return recon + kl


def train_steps(model, poems, steps, batch_size=128, lr=2e-3):
    """Train for `steps` optimizer steps; returns the number of poems seen."""
    loader = DataLoader(PoemDataset(poems), batch_size=batch_size, shuffle=True, drop_last=True)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    seen = 0
    while True:
        for x in loader:
            loss = model(x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += len(x)
            steps -= 1
            if steps == 0:
                return seen


@torch.no_grad()
def generate(model, n, batch_size=500):
    """Poems from the prior as ids, batched, decoded by argmax."""
    out = []
    for start in range(0, n, batch_size):
        b = min(batch_size, n - start)
        z = torch.randn(b, model.mu.out_features)
        h = torch.cat([head(z).view(b, model.seq_len, -1) for head in model.heads], -1)
        h = model.dec(F.gelu(h).transpose(1, 2)).transpose(1, 2)
        out.extend(model.out(model.norm(h)).argmax(-1).tolist())
    return out

"""`poetvae eval`: numbers you can trust for a text VAE, with units stated.

On a data split: reconstruction cross-entropy and KL per poem and per character (nats), ELBO,
the importance-weighted NLL bound with K samples (Burda et al. 2016), active units (Burda et al.
2016, Cov_x E_q[z] > 0.01), I(x; z) (Hoffman & Johnson 2016) and character accuracy of the
reconstruction decoded by argmax from z = mu. On samples from the prior: novelty against the
train split, distinct-1/2, the share of lines repeating a character, prosody, and fluency as
judged by models that are not the VAE: character bigram models of the train split and, from
outside the training text altogether, of Song-dynasty poems (corpora/song-judge).
"""

import functools
import gzip
import math
import random
from collections import Counter
from dataclasses import asdict
from importlib import resources
from typing import Any

import torch

from ..core.latent import active_units, gaussian_kl
from ..core.metrics import iwae_nll, mutual_information
from .decoding import Decoding
from .model import PoetVAE

MI_ITEMS = 1000  # items in the aggregate posterior for I(x; z): O(N^2) work


@torch.no_grad()
def score_split(
    model: PoetVAE, x: torch.Tensor, iw_samples: int = 100, batch_size: int = 64, seed: int = 0
) -> dict[str, float]:
    """Likelihood-side metrics of `model` on poems x (N, L); all in nats unless a share.

    Keys: n, recon_per_poem, recon_per_char, kl_per_poem, kl_per_char, elbo_per_poem,
    iwae_nll_per_poem, iwae_nll_per_char, iw_samples, active_units, latent_dim,
    mutual_information, mi_items (the aggregate posterior's size: the estimate is at most
    log(mi_items), so a value at that cap means "at least"), char_accuracy.
    """
    model.eval()
    device = next(model.parameters()).device
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    L = model.cfg.seq_len
    sums = Counter()
    mus, logvars = [], []
    for start in range(0, len(x), batch_size):
        xb = x[start : start + batch_size].to(device)  # (B, L)
        mu, logvar = model.encode(xb)
        mus.append(mu.cpu())
        logvars.append(logvar.cpu())
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        recon = model.recon_nll(model.logits(z, xb), xb)  # (B,)
        kl = gaussian_kl(mu, logvar).sum(-1)
        nll = iwae_nll(mu, logvar, lambda zs, xb=xb: model.log_px(zs, xb), iw_samples)
        acc = (model.logits(mu, xb).argmax(-1) == xb).float().mean(-1)
        sums.update(
            recon=recon.sum().item(), kl=kl.sum().item(), nll=nll.sum().item(), acc=acc.sum().item()
        )
    torch.random.set_rng_state(gen_state)
    n = len(x)
    mu, logvar = torch.cat(mus), torch.cat(logvars)
    # I(x; z) costs O(N^2): a seeded random subset, since a split is in source order
    some = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:MI_ITEMS]
    recon, kl, nll = sums["recon"] / n, sums["kl"] / n, sums["nll"] / n
    return {
        "n": n,
        "recon_per_poem": recon,
        "recon_per_char": recon / L,
        "kl_per_poem": kl,
        "kl_per_char": kl / L,
        "elbo_per_poem": -(recon + kl),
        "iwae_nll_per_poem": nll,
        "iwae_nll_per_char": nll / L,
        "iw_samples": iw_samples,
        "active_units": active_units(mu),
        "latent_dim": model.cfg.latent_dim,
        "mutual_information": mutual_information(mu[some], logvar[some]),
        "mi_items": min(n, MI_ITEMS),  # the estimate cannot exceed log(mi_items)
        "char_accuracy": sums["acc"] / n,
    }


def sample_stats(poems: list[list[str]], train: set[str] | None = None) -> dict[str, Any]:
    """Variety and novelty of generated poems (each a list of lines).

    Keys: n, novelty (share of poems not in `train`), novel_lines (share of lines never seen
    in `train`), distinct_chars, distinct_1, distinct_2 (unique / total characters and in-line
    bigrams), repeat_line_share (lines with a character twice), top_char and top_char_share.
    """
    chars = [c for p in poems for line in p for c in line]
    bigrams = [line[i : i + 2] for p in poems for line in p for i in range(len(line) - 1)]
    lines = [line for p in poems for line in p]
    counts = Counter(chars)
    top, top_n = counts.most_common(1)[0] if counts else ("", 0)
    out: dict[str, Any] = {
        "n": len(poems),
        "distinct_chars": len(counts),
        "distinct_1": len(counts) / max(1, len(chars)),
        "distinct_2": len(set(bigrams)) / max(1, len(bigrams)),
        "repeat_line_share": sum(len(set(line)) < len(line) for line in lines) / max(1, len(lines)),
        "top_char": top,
        "top_char_share": top_n / max(1, len(chars)),
    }
    if train is not None:
        width = len(lines[0]) if lines else 1
        train_lines = {t[i : i + width] for t in train for i in range(0, len(t), width)}
        out["novelty"] = sum("".join(p) not in train for p in poems) / max(1, len(poems))
        out["novel_lines"] = sum(line not in train_lines for line in lines) / max(1, len(lines))
    return out


class CharBigram:
    """A character bigram model of lines, fitted on a corpus: an outside judge of fluency.

    P(b | a) is Witten-Bell smoothed (no tuned constant): the bigram count of ab, plus T(a)
    times the unigram probability of b, over count(a) + T(a), where T(a) is the number of
    distinct characters seen after a. Unigrams are add-one smoothed over the corpus' characters
    and one unseen slot. Each line starts from a start symbol; lines do not see each other.

    Read it beside the variety figures: it rewards common characters and common pairs, so
    argmax decoding scores well on it while writing the same safe characters.
    """

    START = "^"

    def __init__(self, texts: list[str], chars_per_line: int):
        self.width = chars_per_line
        self.pairs: Counter[str] = Counter()
        for text in texts:
            for i in range(0, len(text), self.width):
                self.pairs.update(a + b for a, b in self._pairs(text[i : i + self.width]))
        self.unigrams: Counter[str] = Counter()
        self.context: Counter[str] = Counter()
        self.followers: Counter[str] = Counter()
        for pair, count in self.pairs.items():
            self.unigrams[pair[1]] += count
            self.context[pair[0]] += count
            self.followers[pair[0]] += 1
        self.total = sum(self.unigrams.values())
        self.slots = len(self.unigrams) + 1

    def _pairs(self, line: str) -> zip:
        return zip(self.START + line, line, strict=False)  # (^, c1), (c1, c2), ...

    def logprob(self, a: str, b: str) -> float:
        """log P(b | a) in nats."""
        unigram = (self.unigrams[b] + 1) / (self.total + self.slots)
        seen, kinds = self.context[a], self.followers[a]
        if seen == 0:
            return math.log(unigram)
        return math.log((self.pairs[a + b] + kinds * unigram) / (seen + kinds))

    def nll_per_char(self, poems: list[list[str]]) -> float:
        """Mean negative log-likelihood per character of poems (lists of lines), in nats."""
        total, count = 0.0, 0
        for poem in poems:
            for line in poem:
                for a, b in self._pairs(line):
                    total -= self.logprob(a, b)
                    count += 1
        return total / max(1, count)


@functools.cache
def song_judge(chars_per_line: int) -> CharBigram:
    """The outside fluency judge: a CharBigram fitted on lines of Song-dynasty shi of this
    length, text that no shipped corpus trains on (see corpora/song-judge/README.md).

    Raises:
        ValueError: no judge text for this line length (only 5 and 7 are shipped).
    """
    name = {5: "wuyan", 7: "qiyan"}.get(chars_per_line)
    if name is None:
        raise ValueError(f"no outside judge for lines of {chars_per_line} characters")
    path = resources.files("poetvae.corpora").joinpath("song-judge", f"{name}.txt.gz")
    with gzip.open(str(path), "rt", encoding="utf-8") as f:
        return CharBigram([line.strip() for line in f], chars_per_line)


def evaluate(
    model: PoetVAE,
    corpus,
    split: str = "test",
    iw_samples: int = 100,
    n_samples: int = 1000,
    seed: int = 0,
    limit: int | None = None,
    decoding: Decoding = Decoding(),
) -> dict[str, Any]:
    """All of `poetvae eval`: data-side scores, prior-sample statistics and their reference.

    Args:
        model: a trained PoetVAE.
        corpus: a loaded Corpus of the model's form (train split needed for novelty).
        split: the split scored.
        iw_samples: K for the IWAE bound.
        n_samples: poems drawn from the prior.
        seed: seeds the latent noise and the samples.
        limit: score only `limit` poems of the split, drawn at random (seeded).
        decoding: how the prior samples are decoded (`generate`'s default if not given).

    Returns:
        {"split", "data", "samples", "reference"}: "samples" and "reference" (n_samples real
        poems of the split, drawn at random with `seed`) hold the same keys, prosody rates and
        the two fluency judges included (`bigram_nll_per_char`, a CharBigram fitted on the
        train split, and `song_bigram_nll_per_char`, the outside `song_judge`), so they compare
        directly.
    """
    from .generate import generate
    from .prosody import rates
    from .train import encode_poems

    split_poems = corpus.splits[split]
    rng = random.Random(seed)  # subsets drawn at random: a split is in source order, not shuffled
    poems = rng.sample(split_poems, limit) if limit and limit < len(split_poems) else split_poems
    if not poems:
        raise ValueError(f"split {split!r} of {corpus.name} holds no poems")
    data = score_split(model, encode_poems(model.vocab, poems), iw_samples, seed=seed)
    train = set(corpus.splits.get("train", []))
    samples = generate(model, n_samples, decoding, seed=seed)
    n = model.cfg.chars_per_line
    reference = rng.sample(split_poems, min(n_samples, len(split_poems)))
    real = [[text[i : i + n] for i in range(0, len(text), n)] for text in reference]
    judge = CharBigram(corpus.splits.get("train", []), n)
    outside = song_judge(n)
    return {
        "split": split,
        "data": data,
        "samples": {
            **sample_stats(samples, train),
            "prosody": rates(samples),
            "bigram_nll_per_char": judge.nll_per_char(samples),
            "song_bigram_nll_per_char": outside.nll_per_char(samples),
            **asdict(decoding),
            "passes": decoding.passes_for(model.cfg.decoder),
        },
        "reference": {
            **sample_stats(real, train),
            "prosody": rates(real),
            "bigram_nll_per_char": judge.nll_per_char(real),
            "song_bigram_nll_per_char": outside.nll_per_char(real),
        },
    }

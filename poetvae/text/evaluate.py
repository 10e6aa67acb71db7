"""`poetvae eval`: numbers you can trust for a text VAE, with units stated.

On a data split: reconstruction cross-entropy and KL per poem and per character (nats), ELBO,
the importance-weighted NLL bound with K samples (Burda et al. 2016), active units (Burda et al.
2016, Cov_x E_q[z] > 0.01), I(x; z) (Hoffman & Johnson 2016), character accuracy of the
reconstruction decoded by argmax from z = mu and, for a mask-predict model, how much its draft
path reads the poem: each character's cross-entropy given z and every other character, beside
the fully masked one (`context_gain_per_char`). On samples from the prior: novelty against the
train split, distinct-1/2, the share of lines repeating a character, prosody, and fluency as
judged by models that are not the VAE: character bigram models of the train split and, from
outside the training text altogether, of Song-dynasty poems (corpora/song-judge); whole-poem
coherence and, for a 律诗, the parallelism (对仗) of its middle couplets, judged by how real
middle couplets pair their characters (`Parallelism`).
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

from ..core.latent import active_units, reparameterize
from ..core.metrics import fit_proposal, iwae_nll, mutual_information
from .corpus import split_lines, standard_forms
from .decoding import Decoding
from .forms import FORMS
from .model import MASK, PoetVAE
from .prosody import LUSHI_LINES, rates

MI_ITEMS = 1000  # items in the aggregate posterior for I(x; z): O(N^2) work


@torch.no_grad()
def score_split(
    model: PoetVAE,
    x: torch.Tensor,
    iw_samples: int = 100,
    batch_size: int = 64,
    seed: int = 0,
    kw: torch.Tensor | None = None,
    proposal_steps: int = 0,
) -> dict[str, float]:
    """Likelihood-side metrics of `model` on poems x (N, L); all in nats unless a share.

    With proposal_steps, the IWAE bound samples a proposal fitted to each poem from the
    encoder's (`core.metrics.fit_proposal`): the same model, a tighter bound.

    With kw, (N, K, W) keyword ids of a conditional model (see `train.encode_keywords`), every
    term is given each poem's keywords: q(z | x, c), p(x | z, c) and p(z | c), so the ELBO and
    IWAE figures bound log p(x | c) (a poem without keywords: log p(x)).

    Keys: n, recon_per_poem, recon_per_char, kl_per_poem, kl_per_char, elbo_per_poem,
    iwae_nll_per_poem, iwae_nll_per_char, iw_samples, proposal_steps, active_units, latent_dim,
    mutual_information, mi_items (the aggregate posterior's size: the estimate is at most
    log(mi_items), so a value at that cap means "at least"), char_accuracy; a mask-predict
    model adds masked_ce_per_char, each character's cross-entropy given z ~ q(z | x) and all
    the others (left out one at a time), and context_gain_per_char, recon_per_char minus that
    (at the same z): what re-masking passes can gain from the rest of the poem.
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
        m = model if kw is None else model.given(kw[start : start + batch_size].to(device))
        mu, logvar = m.encode(xb)
        mus.append(mu.cpu())
        logvars.append(logvar.cpu())
        z = reparameterize(mu, logvar)
        recon = m.recon_nll(m.logits(z, xb), xb)  # (B,)
        kl = m.prior.kl(mu, logvar, z)  # closed form for a Gaussian prior, else Monte Carlo
        log_px = functools.partial(m.log_px, x=xb)
        q = fit_proposal(mu, logvar, log_px, proposal_steps, m.prior.log_prob)
        nll = iwae_nll(*q, log_px, iw_samples, log_prior=m.prior.log_prob)
        acc = (m.logits(mu, xb).argmax(-1) == xb).float().mean(-1)
        sums.update(
            recon=recon.sum().item(), kl=kl.sum().item(), nll=nll.sum().item(), acc=acc.sum().item()
        )
        if model.cfg.decoder == "mask-predict":
            sums.update(masked=_left_out_nll(m, z, xb))
    torch.random.set_rng_state(gen_state)
    n = len(x)
    masked = {}
    if model.cfg.decoder == "mask-predict":
        ce = sums["masked"] / (n * L)
        masked = {"masked_ce_per_char": ce, "context_gain_per_char": sums["recon"] / (n * L) - ce}
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
        "proposal_steps": proposal_steps,
        "active_units": active_units(mu),
        "latent_dim": model.cfg.latent_dim,
        "mutual_information": mutual_information(mu[some], logvar[some]),
        "mi_items": min(n, MI_ITEMS),  # the estimate cannot exceed log(mi_items)
        "char_accuracy": sums["acc"] / n,
        **masked,
    }


def _left_out_nll(model: PoetVAE, z: torch.Tensor, x: torch.Tensor) -> float:
    """Summed cross-entropy of every character of poems x (B, L) given latents z (B, Z) and the
    poem's other characters, each masked in turn."""
    total = 0.0
    for pos in range(x.shape[1]):
        draft = x.clone()
        draft[:, pos] = MASK
        logits = model.decode(z, draft, pos).float()  # (B, V)
        total += torch.nn.functional.cross_entropy(logits, x[:, pos], reduction="sum").item()
    return total


def in_standard_forms(poems: list[list[str]]) -> list[list[str]]:
    """Poems with each variant character in its standard form (see `corpus.standard_forms`):
    what the figures compare, so that a model that writes 疏 is not counted as writing a
    character less than real poems that hold 疏 and 疎, nor a copy missed for 疎 in its source."""
    return [[standard_forms(line) for line in poem] for poem in poems]


def sample_stats(poems: list[list[str]], train: set[str] | None = None) -> dict[str, Any]:
    """Variety and novelty of generated poems (each a list of lines).

    Keys: n, novelty (share of poems not in `train`), novel_lines (share of lines never seen
    in `train`), distinct_chars, distinct_1, distinct_2 (unique / total characters and in-line
    bigrams), repeat_line_share (lines with a character twice), poem_char_thrice (poems with
    a character three times or more), poem_phrase_twice (poems where one in-line bigram stands
    twice), top_char and top_char_share.
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
        "poem_char_thrice": sum(_char_thrice(p) for p in poems) / max(1, len(poems)),
        "poem_phrase_twice": sum(_phrase_twice(p) for p in poems) / max(1, len(poems)),
        "top_char": top,
        "top_char_share": top_n / max(1, len(chars)),
    }
    if train is not None:
        width = len(lines[0]) if lines else 1
        train_lines = {t[i : i + width] for t in train for i in range(0, len(t), width)}
        out["novelty"] = sum("".join(p) not in train for p in poems) / max(1, len(poems))
        out["novel_lines"] = sum(line not in train_lines for line in lines) / max(1, len(lines))
    return out


def _char_thrice(poem: list[str]) -> bool:
    return max(Counter("".join(poem)).values(), default=0) >= 3


def _phrase_twice(poem: list[str]) -> bool:
    pairs = [line[i : i + 2] for line in poem for i in range(len(line) - 1)]
    return len(set(pairs)) < len(pairs)


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
    name = next((f.judge for f in FORMS.values() if f.shape.chars_per_line == chars_per_line), None)
    if name is None:
        raise ValueError(f"no outside judge for lines of {chars_per_line} characters")
    path = resources.files("poetvae.corpora").joinpath("song-judge", name)
    with gzip.open(str(path), "rt", encoding="utf-8") as f:
        return CharBigram([line.strip() for line in f], chars_per_line)


class CrossLineAssociation:
    """How strongly characters standing in different lines of one poem go together, judged on
    text of its own: an outside judge of whole-poem coherence.

    From the judge's poems, c(a, b) counts the poems holding a in one line and b in another and
    n(a) the poems holding a, out of N; assoc(a, b) = log((c(a, b) + 1) / (n(a) n(b) / N + 1)),
    observed over expected co-occurrence, each plus one, so that a pair too rare to judge
    scores about 0 (no tuned constant). A poem's score is the mean assoc over its pairs of
    characters in different lines. That mean also rewards common pairs whatever poem they stand
    in, so `coherence` subtracts the same score of the same lines shuffled across poems: what is
    left is how much more the lines of one poem go together than lines that merely look alike.
    """

    def __init__(self, poems: list[list[str]]):
        self.ids: dict[str, int] = {}
        for poem in poems:
            for line in poem:
                for c in line:
                    self.ids.setdefault(c, len(self.ids))
        V, self.n = len(self.ids), len(poems)
        self.count = torch.zeros(V)  # n(a)
        keys = []
        for group, chars in self._by_shape(poems):
            P, C = chars.shape
            poem = torch.arange(P).unsqueeze(1)
            self.count += torch.bincount((poem * V + chars).unique() % V, minlength=V)
            a, b = self._cross_pairs(group)
            lo, hi = (
                torch.minimum(chars[:, a], chars[:, b]),
                torch.maximum(chars[:, a], chars[:, b]),
            )
            key = ((poem * V + lo) * V + hi)[lo != hi].unique()  # each pair once per poem
            keys.append(key % (V * V))
        self.pairs, self.pair_count = torch.cat(keys).unique(return_counts=True)

    def _by_shape(self, poems: list[list[str]]):
        """(shape, (P, C) char ids) for each group of poems of one shape (lines x width)."""
        groups: dict[tuple[int, ...], list[list[int]]] = {}
        for poem in poems:
            shape = tuple(len(line) for line in poem)
            groups.setdefault(shape, []).append([self.ids.get(c, -1) for c in "".join(poem)])
        return [(shape, torch.tensor(rows)) for shape, rows in groups.items()]

    @staticmethod
    def _cross_pairs(shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        """Index pairs (i < j) of the characters of a poem of this shape in different lines."""
        line_of = torch.repeat_interleave(torch.arange(len(shape)), torch.tensor(shape))
        a, b = torch.triu_indices(len(line_of), len(line_of), 1)
        cross = line_of[a] != line_of[b]
        return a[cross], b[cross]

    def score(self, poems: list[list[str]]) -> float:
        """Mean over poems of the mean assoc of their cross-line character pairs (nats)."""
        V, total, count = len(self.ids), 0.0, 0
        for shape, chars in self._by_shape(poems):
            a, b = self._cross_pairs(shape)
            x, y = chars[:, a], chars[:, b]  # (P, pairs)
            known = (x >= 0) & (y >= 0)
            key = torch.minimum(x, y) * V + torch.maximum(x, y)
            at = torch.searchsorted(self.pairs, key).clamp(max=len(self.pairs) - 1)
            c = torch.where(known & (self.pairs[at] == key), self.pair_count[at], 0).float()
            n_x, n_y = self.count[x.clamp(min=0)], self.count[y.clamp(min=0)]
            expected = torch.where(known, n_x * n_y / self.n, 0.0)
            assoc = ((c + 1) / (expected + 1)).log()
            mine = (x != y).float()  # a character beside itself says nothing
            per_poem = (assoc * mine).sum(1) / mine.sum(1).clamp(min=1)
            total, count = total + per_poem.sum().item(), count + len(per_poem)
        return total / max(1, count)

    def coherence(self, poems: list[list[str]], seed: int = 0) -> dict[str, float]:
        """{"within", "shuffled", "coherence"}: the score of the poems, of their lines shuffled
        across poems (line i of each poem from a random poem, by a seeded permutation per line
        index), and their difference, in nats."""
        rng = random.Random(seed)
        columns = [[p[i] for p in poems] for i in range(len(poems[0]) if poems else 0)]
        for column in columns:
            rng.shuffle(column)
        shuffled = [list(lines) for lines in zip(*columns, strict=True)]
        within, mixed = self.score(poems), self.score(shuffled)
        return {"within": within, "shuffled": mixed, "coherence": within - mixed}


class Parallelism:
    """对仗, measured: how the characters at one position of the two lines of a middle couplet
    (lines 3-4 and 5-6 of a 律诗) pair, judged by how real middle couplets pair them.

    From the judge's eight-line poems, c(a, b) counts the middle-couplet positions holding a in
    one line and b at the same position of the other (unordered: 山/水 and 水/山 are one pair),
    out of M such positions, and n(a) the times a stands at one (2M in all). With
    E(a, b) = 2M p(a) p(b) for a != b (M p(a)^2 for a = b), p(a) = n(a) / 2M, the expected
    count if the two lines were independent, assoc(a, b) = log((c(a, b) + 1) / (E(a, b) + 1)):
    a pointwise mutual information, smoothed by one on both sides as `CrossLineAssociation` is,
    so that a pair too rare to judge scores about 0 (no tuned constant).

    A poem's parallelism is the share of its middle couplets' positions whose pair is positively
    associated (assoc > 0: real middle couplets pair these two characters more often than chance
    would). The share rather than the mean assoc: it says how many positions are parallel,
    bounded in [0, 1], where the mean is moved most by a few rare pairs of large log ratio; the
    mean is given beside it (``parallelism_assoc``). As for coherence, the same lines shuffled
    across poems (each even line from a random other poem) give the level of pairs that merely
    look alike.
    """

    MIDDLE = (2, 4)  # 0-based first lines of the middle couplets: lines 3-4 and 5-6

    def __init__(self, poems: list[list[str]]):
        self.pairs: Counter[tuple[str, str]] = Counter()
        self.count: Counter[str] = Counter()
        for poem in poems:
            for a, b in self._pairs(poem):
                self.pairs[min(a, b), max(a, b)] += 1
                self.count.update((a, b))
        self.m = sum(self.pairs.values())

    def _pairs(self, poem: list[str]):
        for top in self.MIDDLE:
            if top + 1 < len(poem):
                yield from zip(poem[top], poem[top + 1], strict=True)

    def assoc(self, a: str, b: str) -> float:
        """assoc(a, b) in nats (see the class docstring)."""
        pa, pb = self.count[a] / (2 * self.m), self.count[b] / (2 * self.m)
        expected = self.m * pa * pb * (1 if a == b else 2)
        return math.log((self.pairs[min(a, b), max(a, b)] + 1) / (expected + 1))

    def score(self, poems: list[list[str]]) -> dict[str, float]:
        """{"share", "assoc"}: the mean over poems of the share of positively associated pairs
        and of the mean assoc of their middle couplets' positions."""
        shares, means = [], []
        for poem in poems:
            scores = [self.assoc(a, b) for a, b in self._pairs(poem)]
            if scores:
                shares.append(sum(s > 0 for s in scores) / len(scores))
                means.append(sum(scores) / len(scores))
        n = max(1, len(shares))
        return {"share": sum(shares) / n, "assoc": sum(means) / n}

    def figures(self, poems: list[list[str]], seed: int = 0) -> dict[str, float]:
        """`parallelism` and `parallelism_assoc` of the poems, and both of the same poems with
        their even lines shuffled across poems (`*_shuffled`, a seeded permutation per line)."""
        rng = random.Random(seed)
        columns = [[p[i] for p in poems] for i in range(len(poems[0]) if poems else 0)]
        for column in columns[1::2]:
            rng.shuffle(column)
        shuffled = [list(lines) for lines in zip(*columns, strict=True)]
        own, mixed = self.score(poems), self.score(shuffled)
        return {
            "parallelism": own["share"],
            "parallelism_shuffled": mixed["share"],
            "parallelism_assoc": own["assoc"],
            "parallelism_assoc_shuffled": mixed["assoc"],
        }


@functools.cache
def parallelism_judge() -> Parallelism:
    """The 对仗 judge, fitted on the train splits of the shipped corpora of the eight-line
    forms (tang-wuyan-lushi, tang-qiyan-lushi; see `forms.FORMS`): about 21,000 poems, built in
    a few seconds."""
    poems = []
    for form in FORMS.values():
        if form.shape.n_lines < LUSHI_LINES:
            continue
        path = resources.files("poetvae.corpora").joinpath(form.corpus, "train.txt.gz")
        with gzip.open(str(path), "rt", encoding="utf-8") as f:
            poems.extend(split_lines(line) for line in f)
    return Parallelism(poems)


def train_overlap(poems: list[list[str]], train: list[str]) -> dict[str, float]:
    """How close poems come to copying a training poem: for each poem, the largest share of its
    distinct characters that one training poem also holds.

    Returns:
        {"mean": mean over poems, "p99": its 99th percentile, "over_80": share of poems of
        which one training poem holds at least 80 % of the characters}.
    """
    if not poems or not train:
        return {"mean": 0.0, "p99": 0.0, "over_80": 0.0}
    ids: dict[str, int] = {}
    rows, cols = [], []
    for r, text in enumerate(train):
        for c in set(text):
            rows.append(r)
            cols.append(ids.setdefault(c, len(ids)))
    held = torch.sparse_coo_tensor(
        torch.tensor([rows, cols]),
        torch.ones(len(rows)),
        (len(train), len(ids)),
        check_invariants=True,
    ).coalesce()  # (N, C): which characters each training poem holds
    best = []
    for start in range(0, len(poems), 256):
        part = poems[start : start + 256]
        mine = torch.zeros(len(ids), len(part))  # (C, P)
        size = torch.zeros(len(part))
        for j, poem in enumerate(part):
            chars = set("".join(poem))
            size[j] = len(chars)
            known = [ids[c] for c in chars if c in ids]
            mine[known, j] = 1.0
        shared = torch.sparse.mm(held, mine).amax(
            0
        )  # (P,): the most characters one training poem shares
        best.append(shared / size.clamp(min=1))
    share = torch.cat(best)
    return {
        "mean": share.mean().item(),
        "p99": share.quantile(0.99).item(),
        "over_80": (share >= 0.8).float().mean().item(),
    }


@functools.cache
def coherence_judge() -> CrossLineAssociation:
    """The outside judge of whole-poem coherence, fitted on Song poems that no corpus trains on
    (corpora/song-judge/poems.txt.gz)."""
    path = resources.files("poetvae.corpora").joinpath("song-judge", "poems.txt.gz")
    with gzip.open(str(path), "rt", encoding="utf-8") as f:
        return CrossLineAssociation([line.strip().split("，") for line in f])


def whole_poem_figures(poems: list[list[str]], train: list[str], seed: int = 0) -> dict:
    """The outside judges of whole poems: `coherence` (see `CrossLineAssociation`, nats: the
    association of characters across the lines of one poem beyond that of the same lines
    shuffled across poems) and `train_overlap` (see `train_overlap`)."""
    return {
        "coherence": coherence_judge().coherence(poems, seed)["coherence"],
        "train_overlap": train_overlap(poems, train),
    }


def evaluate(
    model: PoetVAE,
    corpus,
    split: str = "test",
    iw_samples: int = 100,
    n_samples: int = 1000,
    seed: int = 0,
    limit: int | None = None,
    decoding: Decoding = Decoding(),
    proposal_steps: int = 0,
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
        decoding: how the prior samples are decoded (`generate`'s default if not given); its
            rhyme book is also that of the prosody rates' ``rhyme`` and ``all`` (both books'
            rhyme rates are given too: ``rhyme_pingshui``, ``rhyme_xinyun``).
        proposal_steps: fit each poem's IWAE proposal (see `score_split`).

    Returns:
        {"split", "data", "samples", "reference"}, and "data_keywords" for a conditional model
        on a corpus with keywords ("data" given each poem's keywords; "data" itself is
        unconditioned, c = ∅): "samples" and "reference" (n_samples real
        poems of the split, drawn at random with `seed`) hold the same keys, prosody rates and
        the two fluency judges included (`bigram_nll_per_char`, a CharBigram fitted on the
        train split, and `song_bigram_nll_per_char`, the outside `song_judge`), so they compare
        directly; for a model of eight lines also `parallelism` (see `Parallelism`, with
        `parallelism_assoc` and both figures of the poems' even lines shuffled across poems).
    """
    from .generate import generate
    from .train import encode_keywords, encode_poems, with_keywords

    split_poems = corpus.splits[split]
    rng = random.Random(seed)  # subsets drawn at random: a split is in source order, not shuffled
    n_all = len(split_poems)
    # indices drawn as the poems were: the same subset
    rows = rng.sample(range(n_all), limit) if limit and limit < n_all else range(n_all)
    poems = [split_poems[i] for i in rows]
    if not poems:
        raise ValueError(f"split {split!r} of {corpus.name} holds no poems")
    x = encode_poems(model.vocab, poems)
    data = score_split(model, x, iw_samples, seed=seed, proposal_steps=proposal_steps)
    keyworded = {}
    if model.cfg.keywords:
        with_keywords(corpus)
        words = [corpus.keywords[split][i] for i in rows]
        kw = encode_keywords(model.vocab, words, model.cfg.keywords)
        keyworded = {
            "data_keywords": score_split(
                model, x, iw_samples, seed=seed, kw=kw, proposal_steps=proposal_steps
            )
        }
    # samples, real poems and the training text are compared in standard forms (疏, not 疎)
    train_texts = [standard_forms(text) for text in corpus.splits.get("train", [])]
    train = set(train_texts)
    decoding = decoding.for_model(model.decoding)  # the settings reported
    samples = in_standard_forms(generate(model, n_samples, decoding, seed=seed))
    rhyme_book = decoding.rhyme_book
    n = model.cfg.chars_per_line
    reference = rng.sample(split_poems, min(n_samples, len(split_poems)))
    real = in_standard_forms([[t[i : i + n] for i in range(0, len(t), n)] for t in reference])
    judge = CharBigram(train_texts, n)
    outside = song_judge(n)
    couplets = {"samples": {}, "reference": {}}
    if model.cfg.n_lines >= LUSHI_LINES:  # 对仗 of the middle couplets of a 律诗
        couplets = {
            "samples": parallelism_judge().figures(samples, seed),
            "reference": parallelism_judge().figures(real, seed),
        }
    return {
        "split": split,
        "data": data,
        **keyworded,
        "samples": {
            **sample_stats(samples, train),
            "prosody": rates(samples, rhyme_book),
            "bigram_nll_per_char": judge.nll_per_char(samples),
            "song_bigram_nll_per_char": outside.nll_per_char(samples),
            **whole_poem_figures(samples, train_texts, seed),
            **couplets["samples"],
            **asdict(decoding),
            "passes": decoding.passes_for(model.cfg.decoder),
        },
        "reference": {
            **sample_stats(real, train),
            "prosody": rates(real, rhyme_book),
            "bigram_nll_per_char": judge.nll_per_char(real),
            "song_bigram_nll_per_char": outside.nll_per_char(real),
            **whole_poem_figures(real, train_texts, seed),
            **couplets["reference"],
        },
    }

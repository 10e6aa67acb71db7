"""Poems on a theme, judged from outside: for each of a set of everyday themes, the share of
poems that hold the keyword (or one of its characters) and how related the poem's other
characters are to it, for poems written given the keyword (`placed`: as `poetvae generate
--keywords` writes them, the keyword placed where z makes it likeliest; `conditioned`: the
model alone), for unconditioned samples and for real test poems that hold it. Also the speed
of generation with keywords (`placed`, as the CLI). Prints JSON.

Relatedness is estimated on text no corpus trains on, the Song poems of
corpora/song-judge/poems.txt.gz: the pointwise mutual information of a keyword character a and
another character b of the poem by co-occurrence in one Song poem,
PMI(a, b) = log (n_ab + 1) N / ((n_a + 1)(n_b + 1)) over the N Song poems, averaged over the
poem's pairs (a keyword character, another character known to the Song text), then over poems.
Unconditioned samples give the level of a poem on no theme; real poems, that of a poem on it
(test poems holding the keyword, and valid then train ones where the test split has < MIN_REAL).

Usage: python scripts/bench_keywords.py [--form wuyan | --checkpoint RUN] [-n 100]
                                        [--themes 明月,送别,...] [--seed 0] [--threads 1]
"""

import argparse
import gzip
import json
import math
import time
from collections import Counter
from importlib import resources

import torch

from poetvae.text.compose import write
from poetvae.text.corpus import load_corpus
from poetvae.text.decoding import Decoding
from poetvae.text.generate import generate
from poetvae.text.model import load

THEMES = ("明月", "送别", "故乡", "梅花", "春风", "秋雨", "江南", "边塞", "酒", "山水")
MIN_REAL = 20  # where fewer test poems hold a theme, the valid split's are added, then train's


class SongPMI:
    """Document co-occurrence of given characters with every other one in the Song poems."""

    def __init__(self, chars: set[str]):
        path = resources.files("poetvae.corpora").joinpath("song-judge", "poems.txt.gz")
        with gzip.open(str(path), "rt", encoding="utf-8") as f:
            poems = [set(line.strip()) - {"，", "。"} for line in f if line.strip()]
        self.n = len(poems)
        self.df = Counter(c for p in poems for c in p)
        self.co = {a: Counter() for a in chars}
        for p in poems:
            for a in chars & p:
                self.co[a].update(p)

    def pmi(self, a: str, b: str) -> float:
        return math.log((self.co[a][b] + 1) * self.n / ((self.df[a] + 1) * (self.df[b] + 1)))

    def relatedness(self, keyword: str, poem: str) -> float | None:
        """Mean PMI of the keyword's characters with the poem's other characters."""
        own = [a for a in dict.fromkeys(keyword) if self.df[a]]
        others = [b for b in dict.fromkeys(poem) if b not in keyword and self.df[b]]
        if not own or not others:
            return None
        return sum(self.pmi(a, b) for a in own for b in others) / (len(own) * len(others))


def figures(keyword: str, poems: list[str], judge: SongPMI, train_lines: set[str], n: int):
    """Share holding the keyword / one of its characters, mean relatedness, copied lines (the
    share of lines found in the train split)."""
    if not poems:
        return {"n": 0}
    rel = [r for p in poems if (r := judge.relatedness(keyword, p)) is not None]
    lines = [p[i : i + n] for p in poems for i in range(0, len(p), n)]
    return {
        "n": len(poems),
        "holds_keyword": sum(keyword in p for p in poems) / len(poems),
        "holds_keyword_or_char": sum(any(c in p for c in keyword) for p in poems) / len(poems),
        "relatedness": sum(rel) / len(rel) if rel else None,
        "copied_lines": sum(line in train_lines for line in lines) / len(lines),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--form", default="wuyan")
    ap.add_argument("--checkpoint", default=None, help="a run instead of the bundled model")
    ap.add_argument("-n", type=int, default=100, help="poems per theme")
    ap.add_argument("--themes", default=",".join(THEMES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load(args.checkpoint or args.form)
    n = model.cfg.chars_per_line
    corpus = load_corpus({5: "tang-wuyan-quatrain", 7: "tang-qiyan-quatrain"}[n])
    train_lines = {p[i : i + n] for p in corpus.splits["train"] for i in range(0, len(p), n)}
    themes = args.themes.split(",")
    judge = SongPMI({c for t in themes for c in t})
    decoding = Decoding()
    unconditioned = ["".join(p) for p in generate(model, args.n, decoding, seed=args.seed)]
    out = {"model": args.checkpoint or args.form, "n": args.n, "seed": args.seed, "themes": {}}
    spent, made = 0.0, 0
    for theme in themes:
        real, sources = [], []
        for split in ("test", "valid", "train"):  # the held-out splits first
            if len(real) < MIN_REAL:
                real += [p for p in corpus.splits[split] if theme in p]
                sources.append(split)
        row = {
            "real_from": sources,
            "unconditioned": figures(theme, unconditioned, judge, train_lines, n),
            "real": figures(theme, real[: args.n], judge, set(), n),  # real: none copied
        }
        if model.cfg.keywords:
            start = time.perf_counter()
            try:  # as `poetvae generate --keywords`: conditioned, and the keyword placed
                poems = write(model, args.n, decoding, seed=args.seed, keywords=theme)
            except ValueError as e:  # a character the model does not know
                row["placed"] = {"n": 0, "error": str(e)}
                out["themes"][theme] = row
                continue
            spent += time.perf_counter() - start
            made += len(poems)
            row["placed"] = figures(theme, ["".join(p) for p in poems], judge, train_lines, n)
            row["examples"] = ["".join(p) for p in poems[:5]]
            # the model alone: p(z | keyword) and a decoder that reads it, nothing placed
            alone = generate(model, args.n, decoding, seed=args.seed, keywords=theme)
            row["conditioned"] = figures(theme, ["".join(p) for p in alone], judge, train_lines, n)
        out["themes"][theme] = row
    kinds = ("placed", "conditioned", "unconditioned", "real")
    out["mean"] = {
        kind: {
            key: sum(r[kind][key] for r in out["themes"].values()) / len(themes)
            for key in ("holds_keyword_or_char", "relatedness", "copied_lines")
        }
        for kind in kinds
        if all(kind in r and r[kind].get("relatedness") is not None for r in out["themes"].values())
    }
    if made:
        out["poems_per_second_with_keywords"] = made / spent
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()

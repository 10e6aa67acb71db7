"""Write-to-order measurements: constraint satisfaction, prosody, novelty, fluency (model IWAE
NLL per character) and time per poem for each mode, with the naive overwrite-after-decoding
baseline beside the posterior search. Prints JSON.

"rewrite" is the studio's revision: each free poem keeps its line 1 and the rest is redrawn, one
poem per call as the studio asks (`changed`: the share of rewritten poems whose free positions
differ from the original's).

Usage: python scripts/bench_compose.py [--form wuyan] [--checkpoint DIR] [-n 200] [--seed 0]
       [--modes free,rewrite]
"""

import argparse
import json
import time
from dataclasses import asdict

import torch

from poetvae.text import prosody
from poetvae.text.compose import poem_nll, write
from poetvae.text.constraints import PLACEHOLDERS, pattern_positions
from poetvae.text.corpus import format_poem, load_corpus
from poetvae.text.decoding import Decoding
from poetvae.text.evaluate import sample_stats
from poetvae.text.forms import FORMS, bundled_model
from poetvae.text.model import load

ACROSTICS = {4: "春夏秋冬", 8: "春夏秋冬风花雪月"}  # lines -> the acrostic's heads
PATTERNS = {  # line length -> (a pattern of the first lines, one that keeps line 3 only)
    5: ("床前＿＿光，疑是＿＿霜", "＿＿＿＿＿，＿＿＿＿＿，白日依山尽，＿＿＿＿＿"),
    7: ("两个＿＿鸣＿＿，一行＿＿上＿＿", "＿＿＿＿＿＿＿，＿＿＿＿＿＿＿，两个黄鹂鸣翠柳"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--form", default="wuyan", choices=list(FORMS))
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--modes", default=None, help="comma-separated modes (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load(args.checkpoint or bundled_model(args.form))
    form = FORMS[args.form]
    corpus = load_corpus(form.corpus, splits=("train",))
    train = set(corpus.splits["train"])
    pattern, line3 = PATTERNS[form.shape.chars_per_line]
    acrostic = ACROSTICS[form.shape.n_lines]
    modes = {
        "free": {},
        "free_no_rhyme": {"decoding": Decoding(rhyme=False)},
        "acrostic": {"acrostic": acrostic},
        "acrostic_naive": {"acrostic": acrostic, "search": False},
        "pattern": {"pattern": pattern},
        "pattern_naive": {"pattern": pattern, "search": False},
        "pattern_line3": {"pattern": line3},
        "pattern_line3_naive": {"pattern": line3, "search": False},
        "rewrite": {"rewrite": True},  # keep line 1 of each free poem, redraw the rest
        "rewrite_naive": {"rewrite": True, "search": False},
        "strict": {"tones": "strict"},
        "strict_acrostic": {"tones": "strict", "acrostic": acrostic},
        "rerank8": {"rerank": 8},
    }
    chosen = args.modes.split(",") if args.modes else list(modes)
    out = {
        "checkpoint": args.checkpoint or f"bundled {args.form}",
        "n": args.n,
        "decoding": asdict(Decoding().for_model(model.decoding)),
        "modes": {},
    }
    rewrites = any(modes[name].get("rewrite") for name in chosen)
    free = write(model, args.n, seed=args.seed) if rewrites else None
    for name in chosen:
        kwargs = dict(modes[name])
        rewrite = kwargs.pop("rewrite", False)
        start = time.perf_counter()
        if rewrite:
            kept = [keep_line_1(p) for p in free]
            poems = [
                write(model, 1, seed=args.seed + 1 + i, pattern=k, **kwargs)[0]
                for i, k in enumerate(kept)
            ]
        else:
            poems = write(model, args.n, seed=args.seed, **kwargs)
            kept = [kwargs.get("pattern")] * args.n if "pattern" in kwargs else None
        seconds = time.perf_counter() - start
        ids = torch.tensor([model.vocab.encode("".join(p)) for p in poems])
        row = {
            "ms_per_poem": round(1000 * seconds / args.n, 2),
            "nll_per_char": round(poem_nll(model, ids, k=20).mean().item(), 4),
            "prosody_all": prosody.rates(poems)["all"],
            "rhyme": prosody.rates(poems)["rhyme"],
            "novelty": sample_stats(poems, train)["novelty"],
            "distinct_chars": sample_stats(poems)["distinct_chars"],
            "examples": [format_poem(p) for p in poems[:3]],
        }
        if "acrostic" in kwargs:
            row["constraint_ok"] = (
                sum("".join(line[0] for line in p) == acrostic for p in poems) / args.n
            )
        if kept:
            fixed = [pattern_positions(model, k) for k in kept]
            texts = ["".join(p) for p in poems]
            row["constraint_ok"] = sum(
                all(t[i] == model.vocab.itos[c] for i, c in f.items())
                for t, f in zip(texts, fixed, strict=True)
            ) / len(poems)
        if rewrite:  # the rest (lines 2 on) differs from the poem it rewrites
            row["changed"] = sum(a[1:] != b[1:] for a, b in zip(free, poems, strict=True)) / args.n
        out["modes"][name] = row
    print(json.dumps(out, ensure_ascii=False, indent=1))


def keep_line_1(poem: list[str]) -> str:
    return "，".join([poem[0]] + [PLACEHOLDERS[0] * len(poem[0])] * (len(poem) - 1))


if __name__ == "__main__":
    main()

"""Decoding options of issue 8 side by side: every (model, decoding) row scored on the same
figures against real test poems drawn at random with the same seed. Prints JSON (and a Markdown
table with --markdown).

Figures per row: fluency under the two outside judges (character bigram models of the train
split and of Song-dynasty lines, nats per character), variety (distinct characters,
distinct-2, lines with a repeated character,
poems with a character thrice or a phrase twice), lines copied from the train split, prosody (all
rules; rhyme), whole-poem coherence, for 律诗 models the parallelism (对仗) of the middle
couplets, and decoding speed (poems per second, at --threads).

Usage:
  python scripts/bench_decoding.py --model parallel=poetvae/assets/wuyan \\
      --model mask-predict=runs/mp-wuyan --rows parallel:passes=1 parallel:refine=1 \\
      mask-predict:passes=4 [-n 1000] [--seed 0] [--threads 2] [--markdown]
A row is MODEL:key=value,...; keys: passes, refine, temperature, top_p, rarity, presence,
rhyme (0/1), rhyme_book, precision;
a key not given takes `poetvae generate`'s default.
"""

import argparse
import json
import random
import time
from dataclasses import asdict

import torch

from poetvae.text import prosody
from poetvae.text.corpus import load_corpus, standard_forms
from poetvae.text.decoding import Decoding
from poetvae.text.evaluate import (
    CharBigram,
    in_standard_forms,
    parallelism_judge,
    sample_stats,
    song_judge,
    whole_poem_figures,
)
from poetvae.text.forms import of_shape
from poetvae.text.generate import generate
from poetvae.text.model import load


def figures(poems: list[list[str]], train: set[str], judges: dict) -> dict:
    stats = sample_stats(poems, train)
    rates = prosody.rates(poems)
    return {
        "bigram_nll_per_char": round(judges["train"].nll_per_char(poems), 3),
        "song_bigram_nll_per_char": round(judges["song"].nll_per_char(poems), 3),
        "distinct_chars": stats["distinct_chars"],
        "distinct_2": round(stats["distinct_2"], 3),
        "repeat_line_share": round(stats["repeat_line_share"], 4),
        "poem_char_thrice": round(stats["poem_char_thrice"], 4),
        "poem_phrase_twice": round(stats["poem_phrase_twice"], 4),
        "copied_lines": round(1 - stats["novel_lines"], 4),
        "prosody_all": round(rates["all"], 3),
        "rhyme": round(rates["rhyme"], 3),
        "template": round(rates["template"], 3),
        **whole_poem_figures(poems, judges["train_list"]),
        **(parallelism_judge().figures(poems) if len(poems[0]) >= prosody.LUSHI_LINES else {}),
    }


def parse_row(text: str) -> tuple[str, dict]:
    name, _, rest = text.partition(":")
    kwargs = {}
    for item in filter(None, rest.split(",")):
        key, value = item.split("=")
        kwargs[key] = bool(int(value)) if key == "rhyme" else type_of(key)(value)
    return name, kwargs


def type_of(key: str):
    return {
        "temperature": float,
        "top_p": float,
        "rarity": float,
        "presence": float,
        "rhyme_book": str,
        "precision": str,
    }.get(key, int)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", action="append", required=True, metavar="NAME=DIR")
    ap.add_argument("--rows", nargs="+", required=True)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    models = {k: load(v) for k, v in (m.split("=", 1) for m in args.model)}
    shape = next(iter(models.values())).cfg.shape
    if any(m.cfg.shape != shape for m in models.values()):  # one corpus and judges for all rows
        ap.error("every --model must be of one form: run each form on its own")
    width = shape.chars_per_line
    corpus = load_corpus(of_shape(shape).corpus, splits=("train", "test"))
    # compared in standard forms, as `poetvae eval` does (see `evaluate.in_standard_forms`)
    train_texts = [standard_forms(text) for text in corpus.splits["train"]]
    train = set(train_texts)
    judges = {
        "train": CharBigram(train_texts, width),
        "song": song_judge(width),
        "train_list": train_texts,
    }
    test = corpus.splits["test"]  # tang-wuyan-lushi holds fewer than 1,000 test poems
    real = random.Random(args.seed).sample(test, min(args.n, len(test)))
    real = in_standard_forms([[t[i : i + width] for i in range(0, len(t), width)] for t in real])
    rows = [{"row": "real test poems", **figures(real, train, judges)}]
    for spec in args.rows:
        name, kwargs = parse_row(spec)
        model = models[name]
        # unset keys: generate's defaults, the model's temperature
        decoding = Decoding(**kwargs).for_model(model.decoding)
        start = time.perf_counter()
        poems = generate(model, args.n, decoding, seed=args.seed)
        speed = args.n / (time.perf_counter() - start)
        poems = in_standard_forms(poems)
        rows.append(
            {
                "row": spec,
                "decoder": model.cfg.decoder,
                **asdict(decoding),
                "passes": decoding.passes_for(model.cfg.decoder),
                **figures(poems, train, judges),
                "poems_per_s": round(speed, 1),
                "examples": ["，".join(poem) + "。" for poem in poems[:3]],
            }
        )
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    out = {"n": args.n, "seed": args.seed, "threads": args.threads, "rows": rows}
    print(json.dumps(out, ensure_ascii=False, indent=1))
    if args.markdown:
        keys = [k for k in rows[0] if k != "row"] + ["poems_per_s"]
        print("| row | " + " | ".join(keys) + " |")
        print("|---" * (len(keys) + 1) + "|")
        for r in rows:
            print(f"| {r['row']} | " + " | ".join(str(r.get(k, "")) for k in keys) + " |")


if __name__ == "__main__":
    main()

"""Text-model benchmark: training and generation throughput, peak memory and cold start of
`poetvae generate -n 1`, against the plain baseline in scripts/plain_poetvae.py run in the same
process on the same data. Prints JSON.

The studio's heaviest request (16 poems, rerank 8, strict tones and an acrostic) is timed too.

Usage: python scripts/bench_text.py [--threads 2] [--steps 30] [--gen 2000] [--device cpu]
                                   [--generate-only]
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import plain_poetvae  # noqa: E402

from poetvae.core.device import bf16_native, pick_device  # noqa: E402
from poetvae.core.train import TrainConfig, fit  # noqa: E402
from poetvae.text.compose import write  # noqa: E402
from poetvae.text.corpus import load_corpus  # noqa: E402
from poetvae.text.decoding import Decoding  # noqa: E402
from poetvae.text.forms import bundled_model  # noqa: E402
from poetvae.text.generate import generate  # noqa: E402
from poetvae.text.model import PoetVAE, PoetVAEConfig, load  # noqa: E402
from poetvae.text.train import encode_poems  # noqa: E402
from poetvae.text.vocab import Vocab  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def cold_start(runs: int = 5) -> dict:
    cmd = [sys.executable, "-m", "poetvae", "generate", "-n", "1", "--seed", "0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    times = []
    for _ in range(runs):
        _, dt = timed(lambda: subprocess.run(cmd, env=env, check=True, capture_output=True))
        times.append(dt)
    return {
        "command": "poetvae generate -n 1",
        "runs_s": [round(t, 3) for t in times],
        "median_s": round(sorted(times)[len(times) // 2], 3),
    }


def train_speed(result, model, plain, x, device, steps: int, batch: int) -> None:
    """Training throughput of `fit` and of the plain loop, into result["train_poems_per_s"]."""

    def run_fit(steps: int) -> float:
        tcfg = TrainConfig(max_steps=steps, batch_size=batch, eval_every=10**9)
        return timed(lambda: fit(model, (x,), None, tcfg, "/tmp/bench_text", device))[1]

    run_fit(5)  # warm-up: allocator, kernels
    # both runs write one final checkpoint: their difference is steps training steps
    dt = run_fit(steps + 5) - run_fit(5)
    result["train_poems_per_s"] = {"poetvae": round(steps * batch / dt, 1)}

    poems = x.tolist()
    plain_poetvae.train_steps(plain, poems, 5, batch)
    seen, dt = timed(lambda: plain_poetvae.train_steps(plain, poems, steps, batch))
    result["train_poems_per_s"]["plain"] = round(seen / dt, 1)
    r = result["train_poems_per_s"]
    r["ratio"] = round(r["poetvae"] / r["plain"], 2)


def heaviest_request(model, runs: int = 3) -> dict:
    """Seconds of the studio's heaviest request at the default decoding: 16 poems, rerank 8,
    strict tones, an acrostic (one call of compose.write, as /api/write makes it)."""
    ask = dict(rerank=8, tones="strict", acrostic="春夏秋冬")
    times = [timed(lambda: write(model, 16, seed=s, **ask))[1] for s in range(runs)]
    return {
        "request": {"n": 16, **ask},
        "runs_s": [round(t, 2) for t in times],
        "median_s": round(sorted(times)[runs // 2], 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=30, help="training steps timed per variant")
    ap.add_argument("--gen", type=int, default=2000, help="poems generated per variant")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--generate-only", action="store_true", help="skip the training benchmark")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    corpus = load_corpus("tang-wuyan-quatrain", splits=("train",))
    vocab = Vocab.train(corpus.splits["train"])
    x = encode_poems(vocab, corpus.splits["train"])
    cfg = PoetVAEConfig.preset("base", vocab_size=len(vocab))
    batch = 128
    result = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "threads": args.threads,
            "device": str(device),
        },
        "data": {"corpus": "tang-wuyan-quatrain", "poems": len(x), "vocab": len(vocab)},
        "batch_size": batch,
    }

    torch.manual_seed(0)
    model = PoetVAE(cfg, vocab).to(device)
    plain = plain_poetvae.PlainVAE(len(vocab)).to(device)
    if not args.generate_only:
        train_speed(result, model, plain, x, device, args.steps, batch)

    # generation speed depends on how peaked the distributions are: time the trained,
    # bundled model (the plain model's argmax costs the same trained or not)
    model = load(bundled_model(), device)
    generate(model, 64, seed=0)
    default = Decoding().for_model(model.decoding)
    g = result["generate_poems_per_s"] = {"decoder": model.cfg.decoder, "default": asdict(default)}
    argmax = Decoding(temperature=0.0, passes=1, refine=0)
    _, dt = timed(lambda: generate(model, args.gen, argmax, seed=0))
    g["poetvae_argmax_one_pass"] = round(args.gen / dt, 1)
    # one pass, without refinement, at the old default T 0.8, top-p 0.9 (and the default rarity)
    old = Decoding(temperature=0.8, top_p=0.9, passes=1, refine=0)
    _, dt = timed(lambda: generate(model, args.gen, old, seed=0))
    g["poetvae_sampling_one_pass"] = round(args.gen / dt, 1)
    _, dt = timed(lambda: generate(model, args.gen, default, seed=0))
    g["poetvae_default"] = round(args.gen / dt, 1)  # passes: the model's default
    g["bf16_native"] = bf16_native(device)  # what the default's precision "auto" picks
    fp32 = replace(default, precision="fp32")
    _, dt = timed(lambda: generate(model, args.gen, fp32, seed=0))
    g["poetvae_default_fp32"] = round(args.gen / dt, 1)
    plain.eval()  # untrained: the plain model's argmax costs the same trained or not
    _, dt = timed(lambda: plain_poetvae.generate(plain, args.gen))
    result["generate_poems_per_s"]["plain"] = round(args.gen / dt, 1)  # argmax, ids only
    g["ratio_argmax"] = round(g["poetvae_argmax_one_pass"] / g["plain"], 2)
    result["studio_heaviest_request_s"] = heaviest_request(model)

    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if device.type == "cuda":
        result["peak_cuda_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    result["cold_start"] = cold_start()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

"""Priors p(z) side by side on a trained text model: the held-out KL E[log q(z|x) - log p(z)]
over z ~ q(z|x) of the valid split, for N(0, I) and for mixtures and RealNVP flows fitted to the
train split's aggregate posterior (what `poetvae fit-prior` does). Its difference from N(0, I)'s
is what the prior adds to the ELBO. Prints JSON. Sample figures of a fitted model:
scripts/bench_decoding.py.

Usage: python scripts/bench_priors.py [--form wuyan] [--components 256 1024] [--steps 1500]
                                      [--unfitted 4096] [--flows 8] [--flow-steps 3000]
                                      [--threads 1]
"""

import argparse
import json
import time

import torch

from poetvae.core.latent import log_normal, reparameterize
from poetvae.core.priors import StandardNormal, fit_flow, fit_mixture
from poetvae.text.corpus import load_corpus
from poetvae.text.forms import bundled_model, of_shape
from poetvae.text.model import load
from poetvae.text.train import encode_poems, posteriors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--form", default="wuyan")
    ap.add_argument("--checkpoint", default=None, help="a run instead of the bundled model")
    ap.add_argument("--components", type=int, nargs="*", default=[256, 1024])
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--unfitted", type=int, nargs="*", default=[4096])
    ap.add_argument("--flows", type=int, nargs="*", default=[], help="coupling layers of each")
    ap.add_argument("--flow-steps", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load(args.checkpoint or bundled_model(args.form))
    corpus = load_corpus(of_shape(model.cfg.shape).corpus, splits=("train", "valid"))
    mu, logvar = posteriors(model, encode_poems(model.vocab, corpus.splits["train"]))
    mu_v, logvar_v = posteriors(model, encode_poems(model.vocab, corpus.splits["valid"]))
    torch.manual_seed(0)
    z = reparameterize(mu_v, logvar_v)  # (N, Z): one draw per valid poem
    log_q = log_normal(z, mu_v, logvar_v).mean().item()
    rows = [
        {
            "prior": "normal",
            "held_out_kl": log_q - StandardNormal(z.shape[1]).log_prob(z).mean().item(),
        }
    ]
    plan = [("mixture", k, 0) for k in args.unfitted]
    plan += [("mixture", k, args.steps) for k in args.components]
    plan += [("flow", k, args.flow_steps) for k in args.flows]
    for kind, k, steps in plan:
        start = time.perf_counter()
        if kind == "flow":
            prior, name = fit_flow(mu, logvar, k, steps=steps), f"flow of {k} coupling layers"
        else:
            prior, name = fit_mixture(mu, logvar, k, steps=steps), f"mixture of {k}"
        with torch.no_grad():
            kl = log_q - prior.log_prob(z).mean().item()
        rows.append(
            {
                "prior": name,
                "steps": steps,
                "held_out_kl": round(kl, 3),
                "fit_s": round(time.perf_counter() - start, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"form": args.form, "valid_poems": len(z), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()

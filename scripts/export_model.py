"""Export a trained run as a bundled model: float16 weights (with --int8, its large matrices in 8
bits) + config + vocabulary, no trainer state.

Usage: python scripts/export_model.py RUN_DIR poetvae/assets/<form> [--int8] [--temperature T]
    [--presence P]

--temperature and --presence name the decoding settings the model's poems read best with
(config.json's "decoding"): `poetvae generate`, the Python API and the studio decode with them
unless told otherwise (see `Decoding.for_model`). Chosen with scripts/bench_decoding.py.
"""

import argparse

from poetvae.core import checkpoint
from poetvae.text.decoding import NAMED, Decoding
from poetvae.text.model import files, load


def main(run_dir: str, dest: str, int8: bool = False, **named: float | None) -> None:
    """named: decoding.NAMED settings; None = not named."""
    model = load(run_dir)
    meta = checkpoint.read_meta(run_dir)
    named = {key: value for key, value in named.items() if value is not None}
    if named:
        Decoding(**named)  # in range
        meta["decoding"] = named
    checkpoint.save(dest, model, meta, files(model), half=True, int8=int8)
    print(f"exported {run_dir} -> {checkpoint.resolve(dest)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("dest")
    parser.add_argument("--int8", action="store_true")
    for key in NAMED:
        parser.add_argument(f"--{key}", type=float)
    args = parser.parse_args()
    main(args.run_dir, args.dest, args.int8, **{key: getattr(args, key) for key in NAMED})

"""Export a trained run as a bundled model: float16 weights (with --int8, its large matrices in 8
bits) + config + vocabulary, no trainer state.

Usage: python scripts/export_model.py RUN_DIR poetvae/assets/<form> [--int8]
"""

import sys

from poetvae.core import checkpoint
from poetvae.text.model import files, load


def main(run_dir: str, dest: str, int8: bool = False) -> None:
    model = load(run_dir)
    meta = checkpoint.read_meta(run_dir)
    checkpoint.save(dest, model, meta, files(model), half=True, int8=int8)
    print(f"exported {run_dir} -> {checkpoint.resolve(dest)}")


if __name__ == "__main__":
    main(*sys.argv[1:3], int8="--int8" in sys.argv[3:])

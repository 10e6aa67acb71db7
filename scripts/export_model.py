"""Export a trained run as a bundled model: float16 weights + config + vocabulary, no trainer state.

Usage: python scripts/export_model.py RUN_DIR poetvae/assets/<form>
"""

import sys

from poetvae.core import checkpoint
from poetvae.text.model import files, load


def main(run_dir: str, dest: str) -> None:
    model = load(run_dir)
    meta = checkpoint.read_meta(run_dir)
    checkpoint.save(dest, model, meta, files(model), half=True)
    print(f"exported {run_dir} -> {checkpoint.resolve(dest)}")


if __name__ == "__main__":
    main(*sys.argv[1:3])

#!/usr/bin/env bash
# Train the bundled default model and export it (float16 weights) into poetvae/assets/wuyan/.
# Usage: bash scripts/train_default.sh [RUN_DIR]   (re-running continues an interrupted run)
set -euo pipefail
run=${1:-runs/default}
resume=()
[ -d "$run/checkpoint" ] && resume=(--resume)
poetvae train --corpus tang-wuyan-quatrain --out "$run" --preset base --epochs 12 \
  --batch-size 128 --lr 2e-3 --seed 0 "${resume[@]}"
python scripts/export_model.py "$run" poetvae/assets/wuyan

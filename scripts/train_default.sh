#!/usr/bin/env bash
# Train a bundled model and export it (float16 weights) into poetvae/assets/<form>/.
# Usage: bash scripts/train_default.sh [wuyan|qiyan] [RUN_DIR]
#   (re-running continues an interrupted stage; a finished stage is skipped)
#
# wuyan: a parallel-heads PoetVAE for 12 epochs, then the same model continued for 3 epochs as
#        a mask-predict one (decoder=mask-predict adds a zero-initialised draft path, so it
#        starts as exactly the parallel model and learns to re-predict masked characters).
# qiyan: a mask-predict PoetVAE trained from scratch for 8 epochs.
set -euo pipefail
form=${1:-wuyan}
run=${2:-runs/default-$form}

stage() {  # stage DIR ARGS...: train into DIR unless it is finished; resume if it was cut short
  local dir=$1
  shift
  if [ -f "$dir/done" ]; then return; fi
  if [ -d "$dir/checkpoint" ]; then
    poetvae train --out "$dir" --resume "$@"
  else
    poetvae train --out "$dir" "$@"
  fi
  touch "$dir/done"
}

case $form in
  wuyan)
    stage "$run/parallel" --corpus tang-wuyan-quatrain --preset base --epochs 12 \
      --batch-size 128 --lr 2e-3 --seed 0
    stage "$run/mask-predict" --corpus tang-wuyan-quatrain --init-from "$run/parallel" \
      --set decoder=mask-predict --epochs 3 --batch-size 128 --lr 1e-3 --warmup-steps 50 --seed 0
    python scripts/export_model.py "$run/mask-predict" poetvae/assets/wuyan
    ;;
  qiyan)
    stage "$run" --corpus tang-qiyan-quatrain --preset base --set decoder=mask-predict \
      --epochs 8 --batch-size 128 --lr 2e-3 --seed 0
    python scripts/export_model.py "$run" poetvae/assets/qiyan
    ;;
  *)
    echo "usage: bash scripts/train_default.sh [wuyan|qiyan] [RUN_DIR]" >&2
    exit 2
    ;;
esac

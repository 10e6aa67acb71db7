#!/usr/bin/env bash
# Train a bundled model and export it (float16 weights) into poetvae/assets/<form>/.
# Usage: bash scripts/train_default.sh [wuyan|qiyan|wulu|qilu] [RUN_DIR]
#   (re-running continues an interrupted stage; a finished stage is skipped)
#
# wuyan: a parallel-heads PoetVAE for 12 epochs, then the same model continued for 3 epochs as
#        a mask-predict one (decoder=mask-predict adds a zero-initialised draft path, so it
#        starts as exactly the parallel model and learns to re-predict masked characters).
# qiyan: a mask-predict PoetVAE trained from scratch for 8 epochs.
# wuyan and qiyan then got a fitted 1,024-component mixture prior (`poetvae fit-prior`).
# wulu / qilu (律诗, eight lines): started from the bundled wuyan / qiyan model (its position
#        parameters repeated for lines 5-8, see `text.train.warm_start`), trained on the
#        eight-line corpus with a N(0, I) prior, then given a fitted 1,024-component mixture.
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
  wulu | qilu)
    start=$([ "$form" = wulu ] && echo wuyan || echo qiyan)
    chars=$([ "$form" = wulu ] && echo wuyan || echo qiyan)
    epochs=$([ "$form" = wulu ] && echo 8 || echo 10)
    stage "$run/normal" --corpus "tang-$chars-lushi" --init-from "poetvae/assets/$start" \
      --set prior=normal --set prior_components=0 --epochs "$epochs" --batch-size 128 \
      --lr 1e-3 --warmup-steps 50 --seed 0
    poetvae fit-prior "$run/normal" --out "$run/mixture" --components 1024 --steps 1500
    python scripts/export_model.py "$run/mixture" "poetvae/assets/$form"
    ;;
  *)
    echo "usage: bash scripts/train_default.sh [wuyan|qiyan|wulu|qilu] [RUN_DIR]" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Train a bundled model and export it (float16 weights, large matrices in 8 bits) into
# poetvae/assets/<form>/.
# Usage: bash scripts/train_default.sh [wuyan|qiyan|wulu|qilu] [RUN_DIR]
#   (re-running continues an interrupted stage; a finished stage is skipped)
#
# wuyan: a parallel-heads PoetVAE for 12 epochs, then the same model continued for 3 epochs as
#        a mask-predict one (decoder=mask-predict adds a zero-initialised draft path, so it
#        starts as exactly the parallel model and learns to re-predict masked characters).
# qiyan: a mask-predict PoetVAE trained from scratch for 8 epochs.
# Both then get a fitted 1,024-component mixture prior (`poetvae fit-prior`: RUN/mixture), are
# continued with keywords (keywords=4: a conditional VAE, its new layers zero at the start) and
# have their mixture refitted from where it was: wuyan 2 epochs (500 refit steps); qiyan 3 + 3
# epochs, then 2 at lr 3e-4 with keyword_drop=0.6 (more poems without keywords kept its
# unconditioned samples as coherent as before), 1,500 refit steps. Last, 8 RealNVP coupling
# layers are fitted over that mixture (`fit-prior --kind mixture-flow`, 2,000 steps), which
# stays as it is, its keyword reweighting too. wuyan then trains 3 epochs more with that prior
# (lr 3e-4), and gets its flow refitted. Then both grow a 2-layer refiner on the draft path,
# trained alone for 2,000 steps (`--train-only refiner`; the rest, and the bounds, unchanged).
# Last, both train with every weight, the refiner's too (lr 3e-4): wuyan 4 epochs and, from its
# refitted flow, 3 more; qiyan 3 and then 5 more; each gets its flow refitted once more.
# wulu / qilu (律诗, eight lines): started from runs/default-wuyan|qiyan/mixture (the quatrain
#        model before keywords; its position parameters repeated for lines 5-8, see
#        `text.train.warm_start`), trained on the eight-line corpus with a N(0, I) prior, then
#        given a fitted 1,024-component mixture, then the same 8 coupling layers over it, then
#        the quatrain models' refiner, trained alone for 2,000 steps.
# Each export names the temperature the model decodes at by default (see README.md, *Each
# model's temperature*) and its presence penalty (*Repetition across lines*).
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
  wuyan | qiyan)
    if [ "$form" = wuyan ]; then
      stage "$run/parallel" --corpus tang-wuyan-quatrain --preset base --epochs 12 \
        --batch-size 128 --lr 2e-3 --seed 0
      stage "$run/mask-predict" --corpus tang-wuyan-quatrain --init-from "$run/parallel" \
        --set decoder=mask-predict --epochs 3 --batch-size 128 --lr 1e-3 --warmup-steps 50 \
        --seed 0
      trained=$run/mask-predict epochs=2
    else
      stage "$run/mask-predict" --corpus tang-qiyan-quatrain --preset base \
        --set decoder=mask-predict --epochs 8 --batch-size 128 --lr 2e-3 --seed 0
      trained=$run/mask-predict epochs=3
    fi
    [ -f "$run/mixture/checkpoint/config.json" ] || poetvae fit-prior "$trained" --out "$run/mixture"
    stage "$run/keywords" --corpus "tang-$form-quatrain" --init-from "$run/mixture" \
      --set keywords=4 --epochs "$epochs" --lr 5e-4 --warmup-steps 100 --seed 0
    last=$run/keywords refit=500
    if [ "$form" = qiyan ]; then
      stage "$run/keywords-2" --corpus tang-qiyan-quatrain --init-from "$run/keywords" \
        --epochs 3 --lr 5e-4 --warmup-steps 50 --seed 1
      stage "$run/keywords-3" --corpus tang-qiyan-quatrain --init-from "$run/keywords-2" \
        --set keyword_drop=0.6 --epochs 2 --lr 3e-4 --warmup-steps 50 --seed 2
      last=$run/keywords-3 refit=1500
    fi
    [ -f "$run/keywords-mixture/checkpoint/config.json" ] ||
      poetvae fit-prior "$last" --out "$run/keywords-mixture" --steps "$refit"
    [ -f "$run/mixture-flow/checkpoint/config.json" ] ||
      poetvae fit-prior "$run/keywords-mixture" --out "$run/mixture-flow" --kind mixture-flow
    last=$run/mixture-flow
    if [ "$form" = wuyan ]; then
      stage "$run/joint" --corpus tang-wuyan-quatrain --init-from "$last" --epochs 3 --lr 3e-4 \
        --warmup-steps 50 --seed 3
      [ -f "$run/joint-flow/checkpoint/config.json" ] ||
        poetvae fit-prior "$run/joint" --out "$run/joint-flow" --kind mixture-flow
      last=$run/joint-flow
    fi
    stage "$run/refiner" --corpus "tang-$form-quatrain" --init-from "$last" \
      --set refiner_layers=2 --train-only refiner --max-steps 2000 --lr 1e-3 --warmup-steps 200 \
      --eval-every 500 --seed 0
    # then every weight, the refiner's too: wuyan 4 epochs; qiyan 3, then 5 and 5 more
    stage "$run/joint-2" --corpus "tang-$form-quatrain" --init-from "$run/refiner" \
      --epochs "$([ "$form" = wuyan ] && echo 4 || echo 3)" --lr 3e-4 --warmup-steps 50 --seed 4
    last=$run/joint-2
    if [ "$form" = wuyan ]; then  # 3 epochs more, from the refitted flow
      [ -f "$last-flow/checkpoint/config.json" ] ||
        poetvae fit-prior "$last" --out "$last-flow" --kind mixture-flow
      stage "$run/joint-3" --corpus tang-wuyan-quatrain --init-from "$last-flow" --epochs 3 \
        --lr 3e-4 --warmup-steps 50 --seed 5
      last=$run/joint-3
    fi
    if [ "$form" = qiyan ]; then
      stage "$run/joint-3" --corpus tang-qiyan-quatrain --init-from "$last" --epochs 5 \
        --lr 3e-4 --warmup-steps 50 --seed 5
      stage "$run/joint-4" --corpus tang-qiyan-quatrain --init-from "$run/joint-3" --epochs 5 \
        --lr 3e-4 --warmup-steps 50 --seed 6 --eval-every 114
      last=$run/joint-4
    fi
    [ -f "$last-flow/checkpoint/config.json" ] || poetvae fit-prior "$last" --out "$last-flow" \
      --kind mixture-flow --steps "$([ "$form" = wuyan ] && echo 6000 || echo 2000)"
    python scripts/export_model.py "$last-flow" "poetvae/assets/$form" --int8 \
      --temperature "$([ "$form" = wuyan ] && echo 0.83 || echo 0.88)" --presence 0.5
    ;;
  wulu | qilu)
    chars=$([ "$form" = wulu ] && echo wuyan || echo qiyan)
    epochs=$([ "$form" = wulu ] && echo 8 || echo 10)
    stage "$run/normal" --corpus "tang-$chars-lushi" --init-from "runs/default-$chars/mixture" \
      --set prior=normal --set prior_components=0 --epochs "$epochs" --batch-size 128 \
      --lr 1e-3 --warmup-steps 50 --seed 0
    [ -f "$run/mixture/checkpoint/config.json" ] || poetvae fit-prior "$run/normal" --out "$run/mixture"
    [ -f "$run/mixture-flow/checkpoint/config.json" ] ||
      poetvae fit-prior "$run/mixture" --out "$run/mixture-flow" --kind mixture-flow
    stage "$run/refiner" --corpus "tang-$chars-lushi" --init-from "$run/mixture-flow" \
      --set refiner_layers=2 --train-only refiner --max-steps 2000 --lr 1e-3 --warmup-steps 200 \
      --eval-every 250 --seed 0
    python scripts/export_model.py "$run/refiner" "poetvae/assets/$form" --int8 \
      --temperature "$([ "$form" = wulu ] && echo 0.72 || echo 0.73)" --presence 1
    ;;
  *)
    echo "usage: bash scripts/train_default.sh [wuyan|qiyan|wulu|qilu] [RUN_DIR]" >&2
    exit 2
    ;;
esac

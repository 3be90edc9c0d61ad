#!/usr/bin/env bash
# The GPU speed figures genzoo's own bench gives, in one call (run after, or beside,
# ../shared/ref-bench/gpu_side_by_side.sh, which times the references). Passes, in order:
#   base     the four reference rows and the 256 px JPEG folder rows, fp32 and bf16-mixed,
#            Lightning and the plain loop (speed, peak memory, data wait, Lightning/plain)
#   folder   only the JPEG folder rows of `base` (the side-by-side run has the other four)
#   compile  bf16-mixed with model.compile=true, Lightning (the warm-up column holds the compile)
#   workers  data.augment_on=host against device with two loader workers (a 2-core share)
#   profile  a short profiled pass (torch.profiler ops and host syncs per batch)
#   tests    the gpu-marked tests (the device data path equal to the host path, fused Adam)
# PASSES="base compile workers profile tests" (the default, about 8 minutes on one GPU) or a
# subset: after gpu_side_by_side.sh in the same lease, PASSES="folder compile profile" adds
# what that run lacks in about 3 minutes. Each pass is timed; a failing pass is reported and
# the next one still runs (exit 1 at the end).
# On a machine without .venv (a GPU image carrying the checkout), genzoo runs from src/ with
# the wheels in .whl/ that the image lacks (hydra-core, omegaconf, antlr4), as
# ../shared/ref-bench/gpu_side_by_side.sh does.
# Output: $OUT/speed_*.{txt,json}, $OUT/profile_bf16/ and .txt, $OUT/gpu_tests.txt,
# $OUT/passes.txt (each pass's exit status and seconds). Exit 3 without a CUDA GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
OUT="${OUT:-gpu_speed_out}"
PASSES="${PASSES:-base compile workers profile tests}"
REFERENCE_ROWS="dcgan_ref64 pix2pix_ref256 cyclegan_ref256 srgan_ref96"
FOLDER_ROWS="dcgan_folder256 dcgan_folder256_files"
ROWS="$REFERENCE_ROWS $FOLDER_ROWS"
bench() {  # name, then bench.py options
  local name=$1; shift
  "$PYTHON" scripts/bench.py --device cuda --steps 40 --warmup 10 --repeats 1 \
    --json "$OUT/speed_$name.json" "$@" | tee "$OUT/speed_$name.txt"
}
fp32_and_bf16() {  # name prefix, then rows
  local prefix=$1; shift
  bench "${prefix}fp32" --rows "$@" --precision 32-true &&
    bench "${prefix}bf16" --rows "$@" --precision bf16-mixed
}
pass_base() { fp32_and_bf16 "" $ROWS; }
pass_folder() { fp32_and_bf16 folder_ $FOLDER_ROWS; }
pass_compile() {
  bench bf16_compile --rows $REFERENCE_ROWS --precision bf16-mixed --modes lightning \
    --warmup 20 --set model.compile=true
}
pass_workers() {
  local on
  for on in host device; do
    bench "bf16_2workers_$on" --rows dcgan_ref64 cyclegan_ref256 srgan_ref96 \
      --precision bf16-mixed --modes plain --set data.num_workers=2 "data.augment_on=$on" ||
      return 1
  done
}
pass_profile() {
  "$PYTHON" scripts/bench.py --device cuda --rows $ROWS --steps 10 --warmup 5 --repeats 1 \
    --precision bf16-mixed --modes lightning --profile "$OUT/profile_bf16" > "$OUT/profile_bf16.txt"
}
pass_tests() {
  "$PYTHON" -m pytest -q -m gpu tests 2>&1 | tail -20 | tee "$OUT/gpu_tests.txt"
}
for name in $PASSES; do  # every name checked before the first pass starts
  declare -F "pass_$name" > /dev/null || {
    echo "unknown pass '$name' in PASSES: use base, folder, compile, workers, profile or tests" >&2
    exit 2; }
done
"$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 3)" 2> /dev/null || {
  echo "no CUDA GPU visible" >&2; exit 3; }
if ! "$PYTHON" -c "import genzoo.models, hydra" 2> /dev/null; then
  SITE=$(mktemp -d)
  if ls .whl/*.whl > /dev/null 2>&1; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
      --target "$SITE" .whl/*.whl || exit 9
  fi
  export PYTHONPATH="$SITE:$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
  "$PYTHON" -c "import genzoo.models, hydra" || {
    echo "genzoo cannot be imported: make .venv (make install) or carry .whl/" >&2; exit 9; }
fi
mkdir -p "$OUT"
failed=0
: > "$OUT/passes.txt"
for name in $PASSES; do
  start=$SECONDS
  "pass_$name"
  status=$?
  echo "$name exit $status, $((SECONDS - start)) s" | tee -a "$OUT/passes.txt"
  [ "$status" -eq 0 ] || failed=1
done
exit $failed

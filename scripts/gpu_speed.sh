#!/usr/bin/env bash
# The GPU speed figures genzoo's own bench gives, in one call (run after, or beside,
# ../shared/ref-bench/gpu_side_by_side.sh, which times the references). About 8 minutes on
# one GPU:
#   1. the four reference rows and the 256 px JPEG folder rows, fp32 and bf16-mixed, Lightning
#      and the plain loop (speed, peak memory, data wait, Lightning/plain);
#   2. bf16-mixed with model.compile=true, Lightning (the warm-up column holds the compile);
#   3. data.augment_on=host against device with two loader workers, as on a 2-core machine;
#   4. a short profiled pass (torch.profiler ops and host syncs per batch);
#   5. the gpu-marked tests (the device data path equal to the host path, fused Adam).
# Output: $OUT/speed_*.{txt,json}, $OUT/profile_bf16/ and .txt, $OUT/gpu_tests.txt.
# Exit 3 without a CUDA GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
OUT="${OUT:-gpu_speed_out}"
mkdir -p "$OUT"
"$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 3)" || {
  echo "no CUDA GPU visible" >&2; exit 3; }
ROWS="dcgan_ref64 pix2pix_ref256 cyclegan_ref256 srgan_ref96 dcgan_folder256 dcgan_folder256_files"
bench() {  # name, then bench.py options
  local name=$1; shift
  "$PYTHON" scripts/bench.py --device cuda --steps 40 --warmup 10 --repeats 1 \
    --json "$OUT/speed_$name.json" "$@" | tee "$OUT/speed_$name.txt"
}
bench fp32 --rows $ROWS --precision 32-true
bench bf16 --rows $ROWS --precision bf16-mixed
bench bf16_compile --rows $ROWS --precision bf16-mixed --modes lightning --warmup 20 \
  --set model.compile=true
for ON in host device; do
  bench "bf16_2workers_$ON" --rows dcgan_ref64 cyclegan_ref256 srgan_ref96 \
    --precision bf16-mixed --modes plain --set data.num_workers=2 "data.augment_on=$ON"
done
"$PYTHON" scripts/bench.py --device cuda --rows $ROWS --steps 10 --warmup 5 --repeats 1 \
  --precision bf16-mixed --modes lightning --profile "$OUT/profile_bf16" > "$OUT/profile_bf16.txt"
"$PYTHON" -m pytest -q -m gpu tests 2>&1 | tail -20 | tee "$OUT/gpu_tests.txt"

#!/usr/bin/env bash
# The GPU speed figures genzoo's own bench gives, in one call (run after, or beside,
# ../shared/ref-bench/gpu_side_by_side.sh, which times the references): the four reference
# rows and the 256 px JPEG folder rows in fp32 and bf16-mixed, each with torch.profiler's ops
# table and host syncs per batch (a separate, shorter pass: the profiler slows every op).
# Output: $OUT/speed_<precision>.{txt,json}, $OUT/profile_<precision>/ and .txt.
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
for P in 32-true bf16-mixed; do
  # Timed without the profiler (it slows every op), then a short profiled pass.
  "$PYTHON" scripts/bench.py --device cuda --rows $ROWS --steps 40 --warmup 10 --repeats 1 \
    --precision "$P" --json "$OUT/speed_$P.json" | tee "$OUT/speed_$P.txt"
  "$PYTHON" scripts/bench.py --device cuda --rows $ROWS --steps 10 --warmup 5 --repeats 1 \
    --precision "$P" --profile "$OUT/profile_$P" > "$OUT/profile_$P.txt"
done

#!/usr/bin/env bash
# One prepared check for a lent GPU machine (one H100, 16 cores): about 5 minutes, never
# more than GPU_CHECK_BUDGET_S (default 470 s) once the environment is ready.
#
#   bash benchmarks/gpu_check.sh                  # from the repository root, on the GPU
#
# Steps, each under `timeout` (a hang costs its step, not the budget) and each recorded
# in summary.txt with its exit code and duration; a failed step does not stop the rest:
#   1. nvidia-smi; torch version, CUDA availability, device name
#   2. the GPU tests (pytest -m gpu)
#   3. training throughput, fp32 against AMP + channels-last (benchmarks/bench_train.py)
#   4. the demo workflow at 288x144 on the `small` stand-in: synth -> register -> import
#      ground truth -> export -> train (smoke preset, 30 epochs x 20 batches of 8x2x4,
#      AMP auto, channels-last, 8 workers) -> eval (predicted attributes) and eval (gt)
#   5. summary.txt: the step table, the throughput figures and both results.md tables
#
# Where it writes: summary.txt and log.txt (every step's output) in ${OUT:-runs/gpu-check};
# the bulky part (stand-in, database, manifest, run, per-step logs) in GPU_CHECK_WORK
# (default: $OUT/work). Through the device tool, whose $OUT brings back at most 8 files,
# set GPU_CHECK_WORK=/tmp/gpu-check so only the two text files come back.
#
# Environment overrides (the defaults are the GPU check):
#   GPU_CHECK_DEVICE   cuda | cpu (cpu skips steps 1-3: a dry run of step 4's commands)
#   GPU_CHECK_EPOCHS   30      GPU_CHECK_BATCHES  20     GPU_CHECK_SIZE  "288, 144"
#   GPU_CHECK_WORKERS  8       GPU_CHECK_SCALE    small  GPU_CHECK_BUDGET_S  470
#   GPU_CHECK_PYTHON   the interpreter (default .venv/bin/python; if that is missing,
#                      `make setup` runs first, and python3 is used if setup fails)
#   GPU_CHECK_WORK     see above
# CPU dry run of the command lines (minutes on 2 cores):
#   OUT=/tmp/gpu-dry GPU_CHECK_DEVICE=cpu GPU_CHECK_EPOCHS=1 GPU_CHECK_BATCHES=2 \
#     GPU_CHECK_SIZE="64, 32" GPU_CHECK_WORKERS=2 bash benchmarks/gpu_check.sh

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)

OUT_DIR=${OUT:-runs/gpu-check}
WORK=${GPU_CHECK_WORK:-$OUT_DIR/work}
DEVICE=${GPU_CHECK_DEVICE:-cuda}
EPOCHS=${GPU_CHECK_EPOCHS:-30}
BATCHES=${GPU_CHECK_BATCHES:-20}
SIZE=${GPU_CHECK_SIZE:-288, 144}
WORKERS=${GPU_CHECK_WORKERS:-8}
SCALE=${GPU_CHECK_SCALE:-small}
BUDGET=${GPU_CHECK_BUDGET_S:-470}

mkdir -p "$OUT_DIR" "$WORK"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
WORK=$(cd "$WORK" && pwd)
rm -rf "$WORK/data" "$WORK/manifest" "$WORK/run" "$WORK/logs" "$WORK/annotations.sqlite3"
mkdir -p "$WORK/logs"
SUMMARY=$OUT_DIR/summary.txt
LOG=$OUT_DIR/log.txt
ROWS=$WORK/logs/rows.txt
: >"$LOG"
: >"$ROWS"
export PYTHONUNBUFFERED=1
export PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH}

now() { date +%s.%N; }
T0=$(now)
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# step NAME CAP_S COMMAND...: run COMMAND under timeout (CAP_S, or what is left of the
# budget if less), log its output, record "NAME rc seconds limit". Returns COMMAND's rc.
step() {
	local name=$1 cap=$2
	shift 2
	local spent left limit rc=0 t
	spent=$(elapsed "$T0")
	left=$((BUDGET - ${spent%.*}))
	if ((left < 15)); then
		printf '%-16s %7s %8s %6s  %s\n' "$name" skipped - - "budget of ${BUDGET}s spent" >>"$ROWS"
		return 1
	fi
	limit=$((cap < left ? cap : left))
	printf '\n### %s (limit %ss): %s\n' "$name" "$limit" "${*@Q}" | tee -a "$LOG"
	t=$(now)
	timeout --kill-after=15 "$limit" "$@" >"$WORK/logs/$name.log" 2>&1 || rc=$?
	local took
	took=$(elapsed "$t")
	cat "$WORK/logs/$name.log" >>"$LOG"
	local note=""
	((rc == 124 || rc == 137)) && note="timed out"
	((rc != 0)) && [[ -z $note ]] && note="failed: $(tail -n 1 "$WORK/logs/$name.log" | cut -c1-80)"
	printf '%-16s %7s %8s %6s  %s\n' "$name" "$rc" "$took" "$limit" "$note" >>"$ROWS"
	printf '### %s: rc=%s in %ss\n' "$name" "$rc" "$took" | tee -a "$LOG"
	return "$rc"
}

skip() { printf '%-16s %7s %8s %6s  %s\n' "$1" skipped - - "$2" >>"$ROWS"; }

# The interpreter: the project's venv, made by `make setup` if missing.
NOTE=""
if [[ -n ${GPU_CHECK_PYTHON:-} ]]; then
	PY=$GPU_CHECK_PYTHON
else
	PY=$REPO/.venv/bin/python
	if [[ ! -x $PY ]]; then
		SAVED_BUDGET=$BUDGET
		BUDGET=100000 # setup is outside the check's budget
		step setup 900 make setup || true
		BUDGET=$SAVED_BUDGET
		T0=$(now)
	fi
	if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
		NOTE="no working .venv (make setup failed?): using python3, which may lack the project's packages"
		PY=$(command -v python3)
	fi
fi

# 1. the machine
if [[ $DEVICE == cpu ]]; then
	for s in nvidia-smi torch-info gpu-tests bench-train; do skip "$s" "device cpu"; done
else
	step nvidia-smi 30 nvidia-smi || true
	step torch-info 60 "$PY" -c '
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda)
ok = torch.cuda.is_available()
print("cuda available:", ok)
if ok:
    print("device:", torch.cuda.get_device_name(0), "| bf16:", torch.cuda.is_bf16_supported())
' || true
	# 2. the GPU tests (marker `gpu`, declared in pyproject.toml)
	step gpu-tests 150 "$PY" -m pytest -m gpu -q || true
	# 3. one training step's throughput: baseline and PAENet, fp32 and AMP, channels-last
	#    on CUDA (bench_train.py measures both AMP modes itself when CUDA is there)
	step bench-train 120 "$PY" benchmarks/bench_train.py --ids 8 --k 4 --steps 20 --warmup 3 || true
fi

# 4. the demo workflow (Makefile `demo`) at the check's size, on DEVICE
DB="sqlite:///$WORK/annotations.sqlite3"
DATA=$WORK/data/SYSU-MM01
M=$WORK/manifest
R=$WORK/run
chain=(synth register import-gt export train eval eval-gt)
run_chain() {
	step synth 120 "$PY" -m paenet.cli.data synth --layout sysu --scale "$SCALE" --seed 0 \
		--out "$DATA" --no-progress || return 0
	step register 60 "$PY" -m annotator.cli_labels --db "$DB" register --name sysu-check \
		--kind sysu "$DATA" || return 0
	step import-gt 60 "$PY" -m annotator.cli_labels --db "$DB" import synth "$DATA" \
		--dataset sysu-check --source synth-gt || return 0
	step export 60 "$PY" -m annotator.cli_export --db "$DB" --dataset sysu-check \
		--sources synth-gt --out "$M" || return 0
	step train 240 "$PY" -m paenet.cli.train --manifest "$M" --out "$R" --preset smoke \
		--set "data.input_size=[$SIZE]" --set data.pad=10 --set optim.epochs="$EPOCHS" \
		--set data.batches_per_epoch="$BATCHES" --set data.num_ids=8 --set data.per_modality=4 \
		--set runtime.device="$DEVICE" --set runtime.amp=auto --set runtime.channels_last=true \
		--set runtime.progress=false --set data.workers="$WORKERS" \
		--set data.persistent_workers=true || return 0
	step eval 90 "$PY" -m paenet.cli.eval --checkpoint "$R/checkpoints/final.pt" --manifest "$M" \
		--out "$R/eval" --device "$DEVICE" --no-progress || true
	step eval-gt 90 "$PY" -m paenet.cli.eval --checkpoint "$R/checkpoints/final.pt" \
		--manifest "$M" --out "$R/eval-gt" --attributes gt --device "$DEVICE" --no-progress || true
}
run_chain
for s in "${chain[@]}"; do
	grep -q "^$s " "$ROWS" || skip "$s" "an earlier step failed"
done

# 5. the summary
{
	echo "gpu_check $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname), device=$DEVICE"
	echo "python: $PY${NOTE:+ ($NOTE)}"
	echo "train: smoke preset, input [$SIZE], $EPOCHS epochs x $BATCHES batches, scale $SCALE, workers $WORKERS"
	echo "total: $(elapsed "$T0") s (budget ${BUDGET} s); step outputs in $LOG"
	echo
	printf '%-16s %7s %8s %6s  %s\n' step rc seconds limit note
	cat "$ROWS"
	if [[ -s $WORK/logs/torch-info.log ]]; then
		echo
		echo "## torch"
		cat "$WORK/logs/torch-info.log"
	fi
	if [[ -s $WORK/logs/gpu-tests.log ]]; then
		echo
		echo "## GPU tests (last lines)"
		tail -n 5 "$WORK/logs/gpu-tests.log"
	fi
	if [[ -s $WORK/logs/bench-train.log ]]; then
		echo
		echo "## Training throughput (bench_train.py)"
		cat "$WORK/logs/bench-train.log"
	fi
	for e in eval eval-gt; do
		echo
		echo "## $e: $R/$e/results.md"
		if [[ -f $R/$e/results.md ]]; then cat "$R/$e/results.md"; else echo "(not written)"; fi
	done
} >"$SUMMARY"
cat "$SUMMARY"
# Exit status: 1 if any step failed or timed out (skips for device cpu do not count).
if awk '$2 != "skipped" && $2 != 0 { bad = 1 } $2 == "skipped" && $0 !~ /device cpu/ { bad = 1 } END { exit !bad }' "$ROWS"; then
	exit 1
fi

#!/usr/bin/env bash
# gpu-check.sh: check ebb's CUDA device on a machine with an NVIDIA GPU and
# its driver. It needs no Go: it runs only what scripts/build-gpu-check.sh
# built into .gpu-build/. Run it in the repository root:
#
#   bash scripts/gpu-check.sh
#
#  1. the tagged device tests on the GPU: the devicetest conformance suite,
#     the host tier's cases (devicetest.RunTiers, and a byte-for-byte round
#     trip through pinned host memory that logs the measured bandwidth) and
#     the driver checks;
#  2. the seed workflow with real allocations at levels 0 and 2, sizes
#     scaled by EBB_GPU_SCALE under a cap of 22 GiB times the same factor
#     (the seed PR's 22 GiB card, shrunk), printing ebb's accounting next to
#     the driver's measurements (nvidia-smi sampled every 20 ms, when
#     present; the driver's MemInfo as the device saw it, when ebb reports
#     it).
#
# Level 2 must succeed within the cap; level 0 is expected to run out of
# memory, as it does on the seed PR's card. Exit status 0 when the tests
# pass and level 2 succeeds. It takes well under 3 minutes.
#
# Environment: EBB_CUDA_DEVICE (GPU ordinal, default 0), EBB_GPU_SCALE
# (default 0.0625: a 1.375 GiB cap), EBB_GPU_TIMEOUT (seconds per step,
# default 60).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

b=.gpu-build
dev=${EBB_CUDA_DEVICE:-0}
scale=${EBB_GPU_SCALE:-0.0625}
limit=${EBB_GPU_TIMEOUT:-60}
cap=$(awk -v s="$scale" 'BEGIN { printf "%d", 22 * 1024 * 1024 * 1024 * s }')

say() { echo "gpu-check: $*"; }
gib() { awk -v n="$1" 'BEGIN { if (n == "" || n < 0) print "n/a"; else printf "%.3f GiB", n / 1073741824 }'; }
# field NAME FILE: the first value of "NAME" in an ebb --json output.
field() { grep -o "\"$1\": *\(\"[^\"]*\"\|[-0-9.]*\)" "$2" | head -n 1 | sed 's/^[^:]*: *//; s/"//g'; }

for f in "$b/ebb" "$b/cuda.test" "$b/seed/seed-offload.json" "$b/seed/seed-offload.profile.json"; do
	if [[ ! -e $f ]]; then
		say "missing $f: run scripts/build-gpu-check.sh on a machine with Go first"
		exit 1
	fi
done
smi=
if command -v nvidia-smi >/dev/null; then
	smi=nvidia-smi
	say "$(nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader -i "$dev" 2>&1)"
else
	say "no nvidia-smi: the driver's used memory is not sampled"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ebb-gpu-check.XXXXXX")
sampler=
cleanup() {
	[[ -n $sampler ]] && kill "$sampler" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
notes=()
note() { notes+=("$*"); }

say "1/2 device tests on cuda:$dev"
EBB_CUDA_DEVICE=$dev timeout "$limit" "$b/cuda.test" -test.v -test.count=1 >"$tmp/test.out" 2>&1
rc=$?
grep -E '^(--- |    --- FAIL|ok|PASS|FAIL)|(cuda|tiers)_test.go|devicetest.go|tiers.go' "$tmp/test.out" | sed 's/^/  /'
if ((rc != 0)); then
	say "device tests FAILED (exit $rc); last lines:"
	tail -n 20 "$tmp/test.out" | sed 's/^/  /'
	fail=1
fi

say "2/2 seed workflow on cuda:$dev, sizes x$scale, cap $(gib "$cap")"
printf '  %-5s %-8s %-14s %-12s %-12s %-12s %-14s %-14s\n' \
	level status error "ebb peak" bound "device peak" "driver peak" "smi peak-base"
for level in 0 2; do
	out=$tmp/run$level.json
	base=
	if [[ -n $smi ]]; then
		base=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i "$dev" | head -n 1)
		nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i "$dev" -lms 20 >"$tmp/smi$level" 2>/dev/null &
		sampler=$!
	fi
	timeout "$limit" "$b/ebb" run --device "cuda:$dev" --level "$level" --cache none --parallel 1 \
		--profile "$b/seed/seed-offload.profile.json" --scale "$scale" --device-memory "$cap" \
		--json "$b/seed/seed-offload.json" >"$out" 2>"$tmp/run$level.err"
	rc=$?
	smipeak=n/a
	if [[ -n $sampler ]]; then
		kill "$sampler" 2>/dev/null
		wait "$sampler" 2>/dev/null
		sampler=
		smipeak=$(awk -v base="$base" '$1 + 0 > m { m = $1 + 0 } END { if (NR == 0 || base == "") print "n/a"; else printf "%.3f GiB", (m - base) / 1024 }' "$tmp/smi$level")
	fi
	status=$(field status "$out")
	errtype=$(field type "$out")
	printf '  %-5s %-8s %-14s %-12s %-12s %-12s %-14s %-14s\n' "$level" "${status:-none}" "${errtype:--}" \
		"$(gib "$(field peak_bytes "$out")")" "$(gib "$(field bound_bytes "$out")")" \
		"$(gib "$(field device_peak_bytes "$out")")" "$(gib "$(field driver_peak_bytes "$out")")" "$smipeak"
	if [[ -z $status ]]; then
		note "level $level: ebb printed no result (exit $rc): $(tail -n 5 "$tmp/run$level.err")"
		fail=1
		continue
	fi
	msg=$(field message "$out")
	[[ -n $msg ]] && note "level $level: $msg"
	if [[ $level == 2 && $status != success ]]; then
		note "level 2 should fit the cap and did not"
		fail=1
	fi
	if [[ $level == 0 && $status != success && $errtype != out_of_memory ]]; then
		note "level 0 failed with something other than out of memory"
		fail=1
	fi
	dpeak=$(field device_peak_bytes "$out")
	if [[ -n $dpeak ]] && ((dpeak > cap)); then
		note "level $level: device peak $dpeak exceeds the cap $cap"
		fail=1
	fi
done
echo "  ebb peak: live bytes by ebb's accounting; bound: exact peak live set of the order run;"
echo "  device peak: the CUDA device's own accounting; driver peak: the driver's used memory (MemInfo) at"
echo "  ebb's allocations; smi peak-base: nvidia-smi's highest used memory minus its value before the run"
echo "  (includes the CUDA context and the driver's 2 MiB rounding)."
for n in "${notes[@]}"; do
	say "$n"
done

if ((fail)); then
	say "FAILED"
	exit 1
fi
say "OK"

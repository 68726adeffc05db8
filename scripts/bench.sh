#!/usr/bin/env bash
# bench.sh: run ebb's benchmark suite and print markdown tables of the
# medians (docs/performance.md is made from its output). Run it in the
# repository root on a quiet machine:
#
#   bash scripts/bench.sh > bench.md
#
#  1. the Go benchmarks listed in BENCHES below, each -count $COUNT;
#  2. `ebb run --json` end to end on generated chains (benchtab gen chain
#     N: a StubImage, N AllocateVRAM nodes, a SaveImage) of each size in
#     $CLI_NODES, $COUNT times each under /usr/bin/time -v (wall time and
#     maximum resident set per node);
#  3. the tables: medians per benchmark and metric, the scaling of each
#     per-node metric (largest size over smallest) and the ratios in RATIOS,
#     all from this run.
#
# Environment: COUNT (default 5), BENCHTIME (go test -benchtime, default
# 1s), CLI_NODES (default "20000 200000 1000000"), ONLY (a regular
# expression: run only the BENCHES entries and CLI sizes whose line
# matches, e.g. ONLY=Decode), RAW (a file to keep the raw output in), BASE
# (another checkout of ebb, e.g. a `git worktree add` of main: every
# benchmark then runs there too, alternating with this tree run by run so
# that both see the same load, and a before/after table is added; RAW
# then keeps this tree's lines and RAW.base the other's).
# Progress goes to stderr, the tables to stdout. Workflows and binaries go
# to a temporary directory, removed at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

count=${COUNT:-5}
benchtime=${BENCHTIME:-1s}
cli_nodes=${CLI_NODES:-"20000 200000 1000000"}
only=${ONLY:-}

# BENCHES: one benchmark set per line: package, then the -bench pattern
# (anchor sub-benchmarks with $: 'BenchmarkChain/nodes=1000$'). Add lines
# to extend the suite; the tables pick up any benchmark and metric.
BENCHES=(
  "./engine/ ^BenchmarkChain$"
  "./engine/ ^BenchmarkSchedule$"
  "./engine/ ^BenchmarkValidateChain$"
  "./engine/ ^BenchmarkWalkChain$"
  "./engine/ ^BenchmarkDecodeWorkflow$"
  "./engine/ ^BenchmarkOrder$"
  "./nodes/testpack/ ^BenchmarkForLoop$"
  "./nodes/testpack/ ^BenchmarkForLoopNoCache$"
  "./lifetime/ ^BenchmarkTrace$"
)

# RATIOS: "METRIC:A / B", medians of this run (benchtab table -ratio).
RATIOS=(
  "ns/node:BenchmarkChain/nodes=1000000/level=2 / BenchmarkChain/nodes=1000000/level=0"
  "ns/node:BenchmarkChain/nodes=100000/level=2 / BenchmarkChain/nodes=100000/level=0"
  "ns/node:BenchmarkChain/nodes=1000/level=2 / BenchmarkChain/nodes=1000/level=0"
  "ns/node:BenchmarkEbbRun/nodes=1000000 / BenchmarkEbbRun/nodes=20000"
  "ns/node:BenchmarkEbbRun/nodes=200000 / BenchmarkEbbRun/nodes=20000"
  "ns/node:BenchmarkOrder/order=memory / BenchmarkOrder/order=stack"
  "GiB-peak:BenchmarkOrder/order=memory / BenchmarkOrder/order=comfy"
  "ns/iteration:BenchmarkForLoop/level=2/iterations=100000 / BenchmarkForLoop/level=0/iterations=100000"
  "heap-during-B:BenchmarkForLoop/level=2/iterations=100000 / BenchmarkForLoop/level=2/iterations=1000"
  "heap-during-B:BenchmarkForLoopNoCache/level=0/iterations=100000 / BenchmarkForLoopNoCache/level=0/iterations=1000"
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
raw=$tmp/raw.txt
: >"$raw"
: >"$raw.base"

if [ ! -x /usr/bin/time ]; then
  echo "bench.sh: /usr/bin/time is missing (apt-get install time)" >&2
  exit 1
fi
root=$PWD
trees=("$root")
if [ -n "${BASE:-}" ]; then
  base=$(cd "$BASE" && pwd)
  trees=("$base" "$root")
fi
# tag names a tree's output: "base" for BASE, "new" for this one.
tag() { if [ "$1" = "$root" ]; then echo new; else echo base; fi; }
out() { if [ "$1" = "$root" ]; then echo "$raw"; else echo "$raw.base"; fi; }

go build -o "$tmp/benchtab" ./scripts/benchtab
for t in "${trees[@]}"; do
  (cd "$t" && go build -o "$tmp/ebb.$(tag "$t")" ./cmd/ebb)
done

# With BASE, each round runs every tree once (count 1); without, one round
# of count $count.
rounds=1 per=$count
if [ ${#trees[@]} -gt 1 ]; then
  rounds=$count per=1
fi

for entry in "${BENCHES[@]}"; do
  if [ -n "$only" ] && ! grep -qE -- "$only" <<<"$entry"; then
    continue
  fi
  read -r pkg pattern <<<"$entry"
  for round in $(seq "$rounds"); do
    for t in "${trees[@]}"; do
      echo "== $(tag "$t"): go test -bench '$pattern' $pkg (count $per, round $round of $rounds)" >&2
      # EBB_DEBUG=0: no invariant checks in test binaries outside engine
      # (the engine's benchmarks turn them off themselves).
      (cd "$t" && EBB_DEBUG=0 go test -run '^$' -bench "$pattern" -benchmem -count "$per" -benchtime "$benchtime" -timeout 0 "$pkg") |
        tee -a "$(out "$t")" >&2
    done
  done
done

for n in $cli_nodes; do
  if [ -n "$only" ] && ! grep -qE -- "$only" <<<"BenchmarkEbbRun/nodes=$n"; then
    continue
  fi
  wf=$tmp/chain$n.json
  "$tmp/benchtab" gen chain "$n" >"$wf"
  nodes=$((n + 2))
  echo "== ebb run --json chain of $nodes nodes ($(wc -c <"$wf") bytes; count $count)" >&2
  for _ in $(seq "$count"); do
    for t in "${trees[@]}"; do
      /usr/bin/time -v "$tmp/ebb.$(tag "$t")" run --json "$wf" >"$tmp/out.json" 2>"$tmp/time.txt" || {
        cat "$tmp/time.txt" >&2
        exit 1
      }
      "$tmp/benchtab" timev "BenchmarkEbbRun/nodes=$n" "$nodes" <"$tmp/time.txt" | tee -a "$(out "$t")" >&2
    done
  done
  rm -f "$wf"
done

if [ -n "${RAW:-}" ]; then
  cp "$raw" "$RAW"
  if [ -n "${BASE:-}" ]; then
    cp "$raw.base" "$RAW.base"
  fi
fi

echo "## ebb benchmarks"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (modified)')"
echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "- $(go version)"
echo "- medians of $count runs each; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
ratio_args=()
for r in "${RATIOS[@]}"; do
  ratio_args+=(-ratio "$r")
done
"$tmp/benchtab" table "${ratio_args[@]}" "$raw"
if [ -n "${BASE:-}" ]; then
  echo
  echo "BASE: $(cd "$BASE" && git rev-parse --short HEAD 2>/dev/null || echo "$BASE")"
  "$tmp/benchtab" compare "$raw.base" "$raw"
fi

# The memory order's quality: peak over the exact optimum on random DAGs,
# and over ComfyUI's order and a lower bound on realistic workflows
# (deterministic: seeded generators, no timing).
if [ -z "$only" ] || grep -qE -- "$only" <<<"OrderQuality"; then
  echo
  echo "### Order quality (go test -run 'TestOrderNearOptimum|TestOrderVsComfy' -v ./engine)"
  echo
  echo '```'
  go test -count 1 -run 'TestOrderNearOptimum|TestOrderVsComfy' -v ./engine | sed -n 's/^ *order_quality_test.go:[0-9]*: //p'
  echo '```'
fi

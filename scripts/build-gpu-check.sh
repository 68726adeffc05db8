#!/usr/bin/env bash
# build-gpu-check.sh: build, on a CPU machine with Go, everything that
# scripts/gpu-check.sh runs on a GPU machine without Go, into the ignored
# folder .gpu-build/:
#
#   .gpu-build/ebb        the CLI built with -tags cuda
#   .gpu-build/cuda.test  the tagged device tests (package cuda)
#   .gpu-build/seed/      the seed workflow and its nodes/sim profile
#
# Both binaries are linux/amd64 and dynamically linked to libcuda.so.1,
# which the GPU machine's NVIDIA driver provides. cuda.h comes from
# scripts/cuda-headers.sh. Copy the repository (with .gpu-build/) to the GPU
# machine and run `bash scripts/gpu-check.sh` in its root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "build-gpu-check: $*" >&2; }

if [[ $(go env GOOS)/$(go env GOARCH) != linux/amd64 ]]; then
	say "this machine builds for $(go env GOOS)/$(go env GOARCH); cgo needs a linux/amd64 machine to build for the GPU machine"
	exit 1
fi
if ! flags=$(bash scripts/cuda-headers.sh); then
	say "cannot get cuda.h (see above); nothing built"
	exit 1
fi
eval "$flags"

out=.gpu-build
rm -rf "$out"
mkdir -p "$out/seed"

say "go build -tags cuda ./cmd/ebb"
CGO_ENABLED=1 go build -tags cuda -trimpath -o "$out/ebb" ./cmd/ebb
say "go test -tags cuda -c ./cuda/"
CGO_ENABLED=1 go test -tags cuda -c -trimpath -o "$out/cuda.test" ./cuda/
cp workflows/seed-offload.json workflows/seed-offload.profile.json "$out/seed/"

for bin in "$out/ebb" "$out/cuda.test"; do
	if ! readelf -d "$bin" | grep -q 'NEEDED.*\[libcuda\.so\.1\]'; then
		say "$bin is not linked to libcuda.so.1"
		exit 1
	fi
done
glibc=$(objdump -T "$out/ebb" "$out/cuda.test" | grep -o 'GLIBC_[0-9.]*' | sort -t. -k1,1 -k2,2n -u | tail -n 1)
say "built $out/ebb and $out/cuda.test (x86-64, need libcuda.so.1 and ${glibc:-glibc} or newer)"
say "next, on the GPU machine, in the repository root: bash scripts/gpu-check.sh"

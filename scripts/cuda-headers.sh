#!/usr/bin/env bash
# cuda-headers.sh: fetch what building ebb with -tags cuda needs on a machine
# without the CUDA toolkit: cuda.h, and libcuda.so (the toolkit's link stub,
# soname libcuda.so.1) to link against. Both come from Debian 12's non-free
# package nvidia-cuda-dev, fetched with `apt-get download` through a private
# apt configuration (the system's sources and state are not touched), and go
# into a cache outside the repository:
#
#   ${EBB_CUDA_CACHE:-$HOME/.cache/ebb-cuda}/include/cuda.h
#   ${EBB_CUDA_CACHE:-$HOME/.cache/ebb-cuda}/lib/libcuda.so
#
# Only those two files are kept; the .deb (about 780 MB) is deleted. NVIDIA's
# license does not let us redistribute the header: never commit it.
#
# On success it prints shell lines to stdout, for
#
#   eval "$(bash scripts/cuda-headers.sh)"
#
# which export CGO_CFLAGS, CGO_LDFLAGS, EBB_CUDA_INCLUDE and EBB_CUDA_LIB.
# Progress goes to stderr. Exit status: 0 done; 2 the files cannot be
# downloaded here (no apt-get, no Debian keyring, no network): callers may
# skip; 1 anything else.
#
# EBB_CUDA_HOME=/usr/local/cuda uses an installed toolkit instead.
set -euo pipefail

say() { echo "cuda-headers: $*" >&2; }
cannot() { say "cannot download: $*"; exit 2; }

emit() { # include-dir lib-dir
	printf "export CGO_CFLAGS='-O2 -g -I%s'\n" "$1"
	printf "export CGO_LDFLAGS='-O2 -g -L%s'\n" "$2"
	printf "export EBB_CUDA_INCLUDE='%s'\n" "$1"
	printf "export EBB_CUDA_LIB='%s'\n" "$2"
}

if [[ -n ${EBB_CUDA_HOME:-} ]]; then
	inc=$EBB_CUDA_HOME/include
	lib=$EBB_CUDA_HOME/lib64/stubs
	[[ -r $inc/cuda.h ]] || { say "EBB_CUDA_HOME=$EBB_CUDA_HOME has no include/cuda.h"; exit 1; }
	[[ -r $lib/libcuda.so ]] || lib=$EBB_CUDA_HOME/lib64
	say "using the toolkit in $EBB_CUDA_HOME"
	emit "$inc" "$lib"
	exit 0
fi

cache=${EBB_CUDA_CACHE:-$HOME/.cache/ebb-cuda}
suite=bookworm
pkg=nvidia-cuda-dev
mirror=${EBB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

if [[ -r $cache/VERSION && -r $cache/include/cuda.h && -r $cache/lib/libcuda.so ]]; then
	say "cached: $pkg $(cat "$cache/VERSION") in $cache"
	emit "$cache/include" "$cache/lib"
	exit 0
fi

command -v apt-get >/dev/null || cannot "no apt-get (a Debian or Ubuntu machine is needed)"
command -v dpkg-deb >/dev/null || cannot "no dpkg-deb"
[[ -r $keyring ]] || cannot "no Debian archive keyring at $keyring (install debian-archive-keyring)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ebb-cuda.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/archives/partial" "$tmp/parts" "$tmp/x"
echo "deb [signed-by=$keyring] $mirror $suite non-free" >"$tmp/sources.list"
apt=(
	-o "Dir::Etc::sourcelist=$tmp/sources.list"
	-o "Dir::Etc::sourceparts=$tmp/parts"
	-o "Dir::State::Lists=$tmp/lists"
	-o "Dir::Cache=$tmp"
	-o "Dir::Cache::archives=$tmp/archives"
	-o "Dir::State::status=/dev/null"
	-o "Debug::NoLocking=1"
	-o "APT::Sandbox::User=$(id -un)"
	-o "Acquire::Retries=2"
	-q
)

say "reading the index of $mirror $suite non-free"
apt-get "${apt[@]}" update >&2 || cannot "apt-get update of $mirror $suite non-free failed"
say "downloading $pkg (about 780 MB; only cuda.h and libcuda.so are kept)"
(cd "$tmp" && apt-get "${apt[@]}" download "$pkg" >&2) || cannot "apt-get download $pkg failed"

deb=$(find "$tmp" -maxdepth 1 -name "${pkg}_*.deb" | head -n 1)
[[ -n $deb ]] || { say "apt-get download left no .deb"; exit 1; }
version=$(dpkg-deb -f "$deb" Version)
dpkg-deb --fsys-tarfile "$deb" |
	tar -x -C "$tmp/x" --wildcards ./usr/include/cuda.h './usr/lib/*/stubs/libcuda.so' ||
	{ say "$deb has no usr/include/cuda.h or usr/lib/*/stubs/libcuda.so"; exit 1; }
rm -f "$deb"
stub=$(find "$tmp/x/usr/lib" -path '*/stubs/libcuda.so' | head -n 1)

mkdir -p "$cache/include" "$cache/lib"
rm -f "$cache/VERSION"
cp "$tmp/x/usr/include/cuda.h" "$cache/include/cuda.h"
cp "$stub" "$cache/lib/libcuda.so"
echo "$version" >"$cache/VERSION" # written last: marks a complete cache
say "cached: $pkg $version in $cache"
emit "$cache/include" "$cache/lib"

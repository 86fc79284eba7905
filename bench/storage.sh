#!/bin/sh
# Storage benchmark: the machine's own write limits measured with dd, then
# sluice's partition log (bench_storage, which measures the same limits again
# with C loops, interleaved with its own runs, and prints the ratios).
#
#   bench/storage.sh [BUILD_DIR] [extra bench_storage options]
#
# Uses a temporary directory under $TMPDIR (default /tmp) and removes it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
[ $# -gt 0 ] && shift
bin=$build/bench/bench_storage
[ -x "$bin" ] || { echo "storage.sh: $bin not built (make build)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/sl-storage-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

rate() { # dd's summary line -> MB/s
    awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "copied,") { s = $(i + 1) } ;
                    printf "%.0f", $1 / s / 1e6 }'
}

echo "== machine limits (dd, $(nproc) cores, $(df -h "$work" | awk 'NR==2 {print $1}'))"
sync
buf=$(dd if=/dev/zero of="$work/dd" bs=1M count=1024 2>&1 | rate); rm -f "$work/dd"; sync
dsync=$(dd if=/dev/zero of="$work/dd" bs=1M count=256 oflag=dsync 2>&1 | rate); rm -f "$work/dd"; sync
echo "dd buffered write, bs=1M, 1 GiB:              $buf MB/s"
echo "dd write+fdatasync per 1 MiB (oflag=dsync):   $dsync MB/s"
echo
echo "== sluice partition log"
"$bin" --dir "$work" "$@"

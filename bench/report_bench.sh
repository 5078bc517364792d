#!/bin/sh
# The report benchmark: time and peak memory (/usr/bin/time -v: elapsed, maximum resident set
# size) of `hotloop report` in every format and of `hotloop diff`, on synthetic stores
# (hotloop-synth, bench/synth_store.c) of 10^4 .. 10^7 samples, and at 10^6 samples with
# 10^3 .. 2x10^5 distinct stacks: how the cost grows with samples and with distinct stacks.
# Prints a markdown table (the "Reports" section of docs/benchmarks.md holds its output):
# per format, CPU seconds (user + system) and peak resident memory in MiB.
#
#   bench/report_bench.sh [BUILD_DIR] [--quick]     (default ./build; --quick: up to 10^6)
#
# The stores are mixed-mode (native, eval-loop and kernel frames), 4 threads, one profile;
# diff compares the store with a second sampling of the same layout.  Timing is noisy on
# shared machines: these are figures, not verdicts.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
quick=false
for arg in "$@"; do
	case $arg in
	--quick) quick=true ;;
	*) build=$arg ;;
	esac
done
hotloop=$build/hotloop
synth=$build/hotloop-synth
[ -x "$hotloop" ] && [ -x "$synth" ] || { echo "build first: cmake --build $build" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package time)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

formats="top tree lines folded svg html speedscope pprof json"
# samples:stacks
sizes="10000:1000 100000:10000 1000000:50000"
$quick || sizes="$sizes 10000000:50000"
sizes="$sizes 1000000:1000 1000000:10000 1000000:200000"

# Runs a command under /usr/bin/time -v; prints "CPU-seconds MiB": user + system time, which
# for this single-threaded program is its wall time on an idle machine and is less disturbed
# by other work on a shared one.
measure() {
	/usr/bin/time -v "$@" >/dev/null 2>"$tmp/time" || true
	awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 }
		/Maximum resident set size/ { kb = $2 }
		END { printf "%.2f %.0f", u + s, kb / 1024 }' "$tmp/time"
}

printf '| samples | distinct stacks | stack nodes | store MiB |'
for f in $formats diff; do printf ' %s |' "$f"; done
printf '\n|---:|---:|---:|---:|'
for f in $formats diff; do printf -- '---:|'; done
printf '\n'
for size in $sizes; do
	samples=${size%:*}
	stacks=${size#*:}
	db=$tmp/a.db
	head=$tmp/b.db
	rm -f "$db" "$head"
	distinct=$("$synth" "$db" --samples "$samples" --stacks "$stacks" --functions 2000 \
		--depth 30 --threads 4 --mixed --seed 1)
	"$synth" "$head" --samples "$samples" --stacks "$stacks" --functions 2000 --depth 30 \
		--threads 4 --mixed --seed 2 >/dev/null
	nodes=$(sqlite3 "$db" 'SELECT count(*) FROM stack')
	mib=$(du -m "$db" | cut -f1)
	printf '| %s | %s | %s | %s |' "$samples" "$distinct" "$nodes" "$mib"
	for f in $formats; do
		set -- $(measure "$hotloop" report "$db" --format "$f" -o "$tmp/out")
		printf ' %s s %s M |' "$1" "$2"
	done
	set -- $(measure "$hotloop" diff "$db" "$head" -o "$tmp/out")
	printf ' %s s %s M |\n' "$1" "$2"
done

#!/usr/bin/env bash
# Coverage-guided fuzzing of SharedRing's attach and validate path and of
# every row count read from an attached segment (libFuzzer, through swiftc
# -sanitize=fuzzer). The harness is AttachFuzz in Sources/ConveyorTorture;
# FuzzAttach.swift beside this script is only libFuzzer's entry point, so
# a plain `swift build` never sees -sanitize=fuzzer.
#
#   Tests/Fuzz/run.sh [RUNS] [libFuzzer flags…]     (RUNS: executions, default 1000000)
#   Tests/Fuzz/run.sh --update-corpus [RUNS]        (then merges what is new into Tests/Fuzz/corpus)
#
# Starts from Tests/Fuzz/corpus (kept small; plain `swift test` runs every
# input in it, and in Tests/Fuzz/crashes, through the harness). A crash is
# written to Tests/Fuzz/crashes/: keep it there as a regression test once fixed.
set -euo pipefail
cd "$(dirname "$0")/../.."
update=no
if [[ "${1:-}" == "--update-corpus" ]]; then update=yes; shift; fi
runs="${1:-1000000}"
shift || true

scratch=.build-fuzz
echo "== building the harness with -sanitize=fuzzer ($scratch)"
swift build -c release --scratch-path "$scratch" --target ConveyorTorture -Xswiftc -sanitize=fuzzer >/dev/null
built="$scratch/release"
# Every module the harness links, with the C modules' maps (GRDB's SQLite shim links the system's libsqlite3).
swiftc -O -sanitize=fuzzer -parse-as-library Tests/Fuzz/FuzzAttach.swift -I "$built/Modules" \
    -Xcc -fmodule-map-file="$built/CConveyor.build/module.modulemap" -Xcc -I -Xcc Sources/CConveyor/include \
    -Xcc -fmodule-map-file="$scratch/checkouts/GRDB.swift/Sources/GRDBSQLite/module.modulemap" \
    "$built"/{Conveyor,CConveyor,ConveyorTestDatasets,ConveyorTorture,Logging,Metrics,CoreMetrics,GRDB}.build/*.o \
    -lsqlite3 -o "$scratch/conveyor-fuzz"

work="$(mktemp -d /tmp/conveyor-fuzz-corpus-XXXXXX)"
trap 'rm -rf "$work"' EXIT
cp Tests/Fuzz/corpus/* "$work"/ 2>/dev/null || true
mkdir -p Tests/Fuzz/crashes
echo "== fuzzing: $runs executions"
export SWIFT_BACKTRACE=enable=no
status=0
"$scratch/conveyor-fuzz" -runs="$runs" -max_len=6000 -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=Tests/Fuzz/crashes/ "$@" "$work" >"$work.log" 2>&1 || status=$?
grep -E "^(Done|stat::|==|INFO: Seed)|crash-|timeout-|leak-|ERROR" "$work.log" || true
rm -f "$work.log"
if [[ "$update" == yes ]]; then
    fresh="$(mktemp -d /tmp/conveyor-fuzz-merge-XXXXXX)"
    "$scratch/conveyor-fuzz" -merge=1 -max_len=6000 "$fresh" Tests/Fuzz/corpus "$work" >/dev/null 2>&1
    rm -f Tests/Fuzz/corpus/*
    cp "$fresh"/* Tests/Fuzz/corpus/
    rm -rf "$fresh"
    echo "== corpus: $(ls Tests/Fuzz/corpus | wc -l) inputs"
fi
exit "$status"

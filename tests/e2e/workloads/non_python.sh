#!/bin/bash
# e2e workload "non-Python target": a process with no Python interpreter in it that keeps a
# CPU busy for SECONDS (default 3), using bash builtins only (no child processes), then
# exits 0.  The badinput scenario records it with
#     hotloop record -o X.db -- bash tests/e2e/workloads/non_python.sh 3
# and expects the recording to work, the process to be stored with python_version NULL and a
# python_status saying why, and its samples to carry no Python frames.
# Prints its pid on stdout as one JSON line, like the Python workloads (and appends it to
# $HOTLOOP_E2E_OUT when set).
seconds=${1:-3}
line="{\"workload\": \"non_python\", \"pid\": $$, \"seconds\": $seconds}"
echo "$line"
if [ -n "${HOTLOOP_E2E_OUT:-}" ]; then echo "$line" >>"$HOTLOOP_E2E_OUT"; fi
end=$((SECONDS + seconds))
while [ "$SECONDS" -lt "$end" ]; do :; done
exit 0

#!/usr/bin/env bash
# Runs HAProxy's reg-tests (VTC files) against fulcrum, one line per test
# and the totals at the end. It builds nothing: VTest (vtest/VTest) and the
# reg-tests folder (haproxy/haproxy's reg-tests/, v2.6) are built and
# unpacked by hand outside this repository, and their paths given here.
# CI does not run it.
#
#   usage: tests/regtests.sh VTEST REGTESTS [LIST [FULCRUM]]
#     VTEST     the vtest binary
#     REGTESTS  the reg-tests folder (the one holding balance/, checks/...)
#     LIST      test names, one per line, relative to REGTESTS without
#               .vtc ('#' starts a comment); default tests/regtests.txt
#     FULCRUM   the binary under test; default target/debug/fulcrum
set -u
VTEST=${1:?usage: regtests.sh VTEST REGTESTS [LIST [FULCRUM]]}
REGTESTS=${2:?usage: regtests.sh VTEST REGTESTS [LIST [FULCRUM]]}
HERE=$(cd "$(dirname "$0")" && pwd)
LIST=${3:-$HERE/regtests.txt}
FULCRUM=$(readlink -f "${4:-$HERE/../target/debug/fulcrum}")
[ -x "$VTEST" ] || { echo "not executable: $VTEST" >&2; exit 2; }
[ -x "$FULCRUM" ] || { echo "not executable: $FULCRUM (cargo build first)" >&2; exit 2; }
pass=0; fail=0; skip=0
while read -r name _; do
    case "$name" in ''|'#'*) continue ;; esac
    vtc="$REGTESTS/$name.vtc"
    if [ ! -f "$vtc" ]; then
        echo "MISSING $name"; fail=$((fail + 1)); continue
    fi
    out=$(HAPROXY_PROGRAM="$FULCRUM" timeout 120 "$VTEST" -q -t 10 "$vtc" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
        echo "PASS $name"; pass=$((pass + 1))
    elif [ $rc -eq 77 ] || printf '%s' "$out" | grep -q "skipped"; then
        # VTest exits 77 when a `feature` line says the test does not apply.
        echo "SKIP $name"; skip=$((skip + 1))
    else
        echo "FAIL $name"; fail=$((fail + 1))
    fi
done < "$LIST"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]

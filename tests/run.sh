#!/bin/bash
# Run every unit test program and integration scenario; end with one summary line.
set -u
cd "$(dirname "$0")/.."
B=${ISC_BUILD:-build-asan}
export ISC_BUILD=$B
pass=0 fail=0 skip=0
failed=()

for t in "$B"/tests/unit/test_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	out=$("$t" 2>&1)
	rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
	pass=$((pass + p)); fail=$((fail + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail=$((fail + 1)); fi
	if [ "$rc" -ne 0 ]; then failed+=("$(basename "$t")"); printf '%s\n' "$out" | grep -E 'FAIL|ERROR' | head -20; fi
	echo "unit $(basename "$t"): $p passed, $f failed"
done

. tests/leftovers.sh

if [ "$(id -u)" -ne 0 ]; then
	echo "integration tests skipped: they need root"
	# the scenarios, and the check for leftovers after the last
	skip=$((skip + $(ls tests/integration/t_*.sh | wc -l) + 1))
else
	# one scenario on this machine at a time, its leftover check included:
	# another suite (a second worktree, `flock /tmp/isc-it.lock bash
	# tests/integration/t_x.sh` by hand) waits its turn instead of being
	# counted as our leftovers
	exec 9>/tmp/isc-it.lock
	. tests/sweep.sh
	flock 9
	ISCADM=$(readlink -f "$B/iscadm") sweep_stale
	flock -u 9
	for t in tests/integration/t_*.sh; do
		flock 9
		start=$(date +%s)
		out=$(timeout 600 bash "$t" 2>&1 9>&-)
		rc=$?
		secs=$(( $(date +%s) - start ))
		# each scenario cleans up after itself: name the one that did not
		left=$(leftovers_settled)
		flock -u 9
		if [ -n "$left" ] && [ "$rc" -eq 0 ]; then
			rc=1; out="$out
left behind by $(basename "$t"):
$left"
		fi
		case $rc in
		0) pass=$((pass + 1)); echo "ok   $(basename "$t") (${secs}s)"
		   printf '%s\n' "$out" | grep '^cleanup: ' | sed 's/^/    /' ;;
		77) skip=$((skip + 1)); echo "skip $(basename "$t"): $(printf '%s\n' "$out" | tail -1)" ;;
		*) fail=$((fail + 1)); failed+=("$(basename "$t")"); echo "FAIL $(basename "$t") (rc $rc, ${secs}s)"; printf '%s\n' "$out" | tail -25 | sed 's/^/    /' ;;
		esac
	done
	# last, whatever the scenarios' names and however they ended: the
	# suite as a whole left nothing (a failed scenario's leftovers too)
	flock 9
	left=$(leftovers_settled)
	flock -u 9
	if [ -z "$left" ]; then
		pass=$((pass + 1)); echo "ok   nothing left behind"
	else
		fail=$((fail + 1)); failed+=("leftovers"); echo "FAIL left behind by the suite:"
		printf '%s\n' "$left" | sed 's/^/    /'
	fi
fi
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

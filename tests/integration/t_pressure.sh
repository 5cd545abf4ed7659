# on-pressure: the kernel's pressure stall information (PSI) on the ISC's cgroup. With
# pressure-threshold=PERCENT/SECONDS the supervisor holds a PSI trigger on each of cpu, memory and io;
# tasks stalled over that share of a window bring on-pressure (alert, restart, halt), and the
# metrics carry the stall times. PSI is kept per group on cgroup v2 only: on a v1 host the boot says
# it is not watched, and the scenario skips the rest with that reason (the Debian VMs run it).
. "$(dirname "$0")/lib.sh"
setup_pool
new_isc it-pa --set pressure-threshold=20/2
new_isc it-ph --set pressure-threshold=20/2 --set on-pressure=halt
[ "$(iscadm get it-pa pressure-threshold)" = 20/2 ] && [ "$(iscadm get it-pa on-pressure)" = alert ] || fail "settings"
new_isc it-pd
[ "$(iscadm get it-pd pressure-threshold)" = off ] || fail "the default is not off"
for bad in 0/2 101/2 20/0 20/11 20 /2 20/ x/2; do
	expect_err 1 "pressure-threshold '$bad': expected off or PERCENT/SECONDS, PERCENT from 1 to 100, SECONDS from 1 to 10" \
		iscadm set it-pd pressure-threshold=$bad
done
expect_err 1 "on-pressure 'quarantine': expected alert, restart or halt" iscadm set it-pd on-pressure=quarantine
iscadm set it-pd pressure-threshold=off || fail "pressure-threshold=off"
ok "pressure-threshold and on-pressure: defaults, bad values refused"

iscadm boot it-pa || fail "boot it-pa"
if ! [ -e /sys/fs/cgroup/cgroup.controllers ]; then
	iscadm notes it-pa | grep -qx "isc: pressure-threshold=20/2 is not watched: this host's cgroups are v1, and PSI is kept per group on v2 only" ||
		fail "no note that pressure is not watched: $(iscadm notes it-pa | tail -3)"
	iscadm metrics | grep -q '^isc_pressure_stall_seconds_total{isc="it-pa"' && fail "stall times in the metrics on v1"
	iscadm metrics | grep -qxF 'isc_pressure_events_total{isc="it-pa"} 0' || fail "no event count in the metrics"
	ok "cgroup v1: the boot says pressure is not watched, and why"
	echo "this host's cgroups are v1 (PSI is kept per group on v2 only): the triggers are shown in the Debian VMs"
	exit 77
fi
if ! [ -e /proc/pressure/cpu ]; then
	iscadm notes it-pa | grep -qx "isc: pressure-threshold=20/2 is not watched: the kernel keeps no pressure stall information (boot it with psi=1)" ||
		fail "no note that pressure is not watched: $(iscadm notes it-pa | tail -3)"
	ok "no PSI in this kernel: the boot says pressure is not watched, and why"
	echo "this kernel keeps no pressure stall information (psi=0 or built without it)"
	exit 77
fi
iscadm notes it-pa | grep -q "is not watched" && fail "not watched on a v2 host with PSI: $(iscadm notes it-pa | tail -2)"
m=$(iscadm metrics)
for r in cpu memory io; do
	for k in some full; do
		printf '%s\n' "$m" | grep -qE "^isc_pressure_stall_seconds_total\{isc=\"it-pa\",resource=\"$r\",kind=\"$k\"\} [0-9]+\.[0-9]{6}$" ||
			fail "metrics lack the $k stall time of $r"
	done
done
[ "$(iscadm notes it-pa | grep -c '^isc: cpu pressure')" = 0 ] || fail "pressure noted while idle"
ok "cgroup v2 with PSI: a trigger on each resource, stall times in the metrics, nothing noted while idle"

# more busy loops than CPUs: some task of the ISC always waits for one
HOGS=$(( $(nproc) + 2 ))
hog() { iscadm login "$1" -- sh -c "for i in \$(seq $HOGS); do (while :; do :; done) & done; wait" >/dev/null 2>&1 & }
hog it-pa; HOG=$!
for i in $(seq 200); do iscadm notes it-pa | grep -q '^isc: cpu pressure' && break; sleep 0.1; done
kill $HOG 2>/dev/null; wait $HOG 2>/dev/null
iscadm notes it-pa | grep -qE '^isc: cpu pressure: tasks stalled over 20% of 2 s \(some avg10=[0-9.]+ .*\); on-pressure=alert$' ||
	fail "no cpu pressure note: $(iscadm notes it-pa | tail -3)"
iscadm list -p | grep -q "^it-pa:running:" || fail "on-pressure=alert stopped it"
iscadm metrics | grep -qE '^isc_pressure_events_total\{isc="it-pa"\} [1-9][0-9]*$' || fail "no pressure event in the metrics"
if command -v promtool >/dev/null; then iscadm metrics | promtool check metrics || fail "promtool"; fi
ok "on-pressure=alert: $HOGS busy loops on $(nproc) CPUs are noted as cpu pressure, counted in the metrics; it runs on"
iscadm halt it-pa || fail "halt it-pa"

iscadm boot it-ph || fail "boot it-ph"
hog it-ph; HOG=$!
for i in $(seq 200); do iscadm list -p | grep -q "^it-ph:installed:" && break; sleep 0.1; done
kill $HOG 2>/dev/null; wait $HOG 2>/dev/null
iscadm list -p | grep -q "^it-ph:installed:" || fail "on-pressure=halt did not halt: $(iscadm notes it-ph | tail -3)"
iscadm notes it-ph | grep -q '^isc: cpu pressure: .*; on-pressure=halt$' || fail "no halt note: $(iscadm notes it-ph | tail -3)"
ok "on-pressure=halt: halted by its supervisor under cpu pressure"

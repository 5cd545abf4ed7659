# Every listing three ways: a table, -p (colon-separated, ':' and '\' escaped)
# and --json (valid, the same rows); bad options are usage errors.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "jq is not installed (make deps installs it)"; exit 77; }
setup_pool
new_isc it-lsa
new_isc it-lsb --profile strict
iscadm boot it-lsa || fail "boot"

# list
iscadm list | head -1 | grep -q '^NAME  *STATE  *PROFILE  *MODE  *IMAGE$' || fail "list header: $(iscadm list | head -1)"
[ "$(iscadm list -p)" = "it-lsa:running:fixed-configuration:R:base
it-lsb:installed:strict:-:base" ] || fail "list -p: $(iscadm list -p)"
js=$(iscadm list --json)
[ "$(printf '%s' "$js" | jq -r '.[] | "\(.name) \(.state) \(.mode)"')" = "it-lsa running R
it-lsb installed -" ] || fail "list --json: $js"
[ "$(printf '%s' "$js" | jq -r '.[0]["image-digest"] | length')" = 64 ] || fail "list --json digest: $js"
ok "list: table, -p, --json agree"

# image list
iscadm image list | head -1 | grep -q '^NAME  *DIGEST  *SIZE  *USED BY$' || fail "image list header"
line=$(iscadm image list -p)
d=$(printf '%s' "$line" | cut -d: -f2)
[ ${#d} = 64 ] || fail "image list -p digest: $line"
printf '%s\n' "$line" | grep -qx "base:$d:[0-9]*:it-lsa,it-lsb" || fail "image list -p: $line"
js=$(iscadm image list --json)
[ "$(printf '%s' "$js" | jq -r '.[0] | "\(.name) \(.digest) \(.source)"')" = "base $d busybox" ] ||
	fail "image list --json: $js"
ok "image list: table, -p, --json agree"

# key status: a keysource holds ':' -> escaped in -p
ks=$(iscadm key status -p | grep '^it-lsa:')
printf '%s\n' "$ks" | grep -q '^it-lsa:available:it-lsa:raw,file\\:///' || fail "key status -p: $ks"
[ "$(iscadm key status --json | jq -r '.[] | select(.name == "it-lsb") | .keystatus')" = available ] ||
	fail "key status --json: $(iscadm key status --json)"
[ "$(iscadm key status it-lsa)" = available ] || fail "key status ISC"
ok "key status: -p escapes ':', --json"

# history
h=$(iscadm history it-lsa)
printf '%s\n' "$h" | grep -qx "$d [0-9T:-]*Z build 0 current" || fail "history: $h"
[ "$(iscadm history -p it-lsa)" = "$(printf '%s' "$h" | awk '{print $1}'):$(printf '%s' "$h" | awk '{print $2}' | sed 's/:/\\:/g'):build:0:yes" ] ||
	fail "history -p: $(iscadm history -p it-lsa)"
[ "$(iscadm history --json it-lsa | jq -r '.[0].current')" = yes ] || fail "history --json"
ok "history: -p, --json"

# bash completion draws on these listings and on --help
comp() {
	bash -c '
		compopt() { :; }
		iscadm() { "$ISCADM" "$@"; }
		. contrib/bash-completion/iscadm
		COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
		_iscadm
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' comp "$@" | sort | tr '\n' ' '
}
export ISCADM
cd "$(dirname "$0")/../.."
[ "$(comp iscadm bo)" = "boot " ] || fail "complete a command: $(comp iscadm bo)"
[ "$(comp iscadm boot it-ls)" = "it-lsa it-lsb " ] || fail "complete an ISC: $(comp iscadm boot it-ls)"
[ "$(comp iscadm boot -)" = "-W -a -w " ] || fail "complete boot's options: $(comp iscadm boot -)"
[ "$(comp iscadm create x --image b)" = "base " ] || fail "complete an image: $(comp iscadm create x --image b)"
[ "$(comp iscadm set it-lsa var)" = "" ] || fail "set offers var-size"
[ "$(comp iscadm set it-lsa mem)" = "memory= " ] || fail "complete a property: $(comp iscadm set it-lsa mem)"
[ "$(comp iscadm image r)" = "rm " ] || fail "complete a verb: $(comp iscadm image r)"
ok "bash completion: commands, ISCs, images, properties"

expect_err 2 "list [-p | --json]" iscadm list -x
expect_err 2 "image list [-p | --json]" iscadm image list extra
expect_err 2 "key status" iscadm key status --json it-lsa
expect_err 2 "history" iscadm history --json it-lsa --prune 1
iscadm halt it-lsa

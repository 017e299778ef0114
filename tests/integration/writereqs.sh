#!/bin/sh
# The FUSE requests a run of write(2)s costs (docs/MOUNT.md "No getxattr
# round trip per write"): with FUSE_HANDLE_KILLPRIV_V2 the kernel asks for
# security.capability on the first write to a file only, not on each one.
# Counted with the fuse:fuse_request_send tracepoint (perf), on this
# mount's connection only.
. "$(dirname "$0")/lib.sh"

command -v perf >/dev/null || skip "perf missing (linux-perf): cannot count FUSE requests"
cs_new
CONN=$(mountpoint -d "$M" | cut -d: -f2)

# count OPCODE CMD...: how many requests of OPCODE the mount got during CMD.
count() {
	op=$1
	shift
	perf record -q -o "$T/perf.data" -e fuse:fuse_request_send -a -- "$@" \
		>/dev/null 2>"$T/perf.err" || return 1
	perf script -i "$T/perf.data" -F trace 2>/dev/null |
		awk -v c="$CONN" -v o="$op" '$2 == c && $6 == o { n++ } END { print n + 0 }'
}

n=$(count 22 true) || skip "perf record fails here: $(head -c 300 "$T/perf.err")"
writes=64
say "$writes write(2)s to a new file"
g=$(count 22 dd if=/dev/zero of="$M/new" bs=4k count=$writes status=none) ||
	fail "perf record"
echo "GETXATTR requests: $g"
[ "$g" -le 1 ] || fail "$g GETXATTR for $writes writes (want at most 1, on the first)"
say "$writes more write(2)s to it"
g=$(count 22 dd if=/dev/zero of="$M/new" bs=4k count=$writes seek=$writes \
	conv=notrunc status=none) || fail "perf record"
echo "GETXATTR requests: $g"
[ "$g" -le 1 ] || fail "$g GETXATTR for $writes writes to a written file"
say "the same without FUSE_HANDLE_KILLPRIV_V2 (CS_FRONTEND_KILLPRIV_V2=0)"
cs_umount "$M"
CS_FRONTEND_KILLPRIV_V2=0 cs_mount "$L" "$M"
CONN=$(mountpoint -d "$M" | cut -d: -f2)
g=$(count 22 dd if=/dev/zero of="$M/old" bs=4k count=$writes status=none) ||
	fail "perf record"
echo "GETXATTR requests: $g"
[ "$g" -ge $writes ] || fail "the counter sees only $g GETXATTR without killpriv_v2 (want $writes)"
cs_umount "$M"
echo "writereqs: all passed"

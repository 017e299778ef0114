# Sourced by the reliability scripts after tests/integration/lib.sh.
# A sup_pid that tolerates other mounts' pid files vanishing while it
# looks (lib.sh's version stops at the first one under set -e when tests
# run in parallel).
sup_pid() {
	for f in /run/cryptstack/*.pid; do
		p=$(cat "$f" 2>/dev/null) || continue
		[ -n "$p" ] || continue
		if tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null | grep -q " $1\$\| $1 "; then
			echo "$p"
			return 0
		fi
	done
	return 0
}

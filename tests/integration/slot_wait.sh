#!/bin/sh
# Receive threads short of slots (-o slots=1,workers=2: two slots for two
# receive threads): one request that does not complete (a lookup whose
# file size needs keyd, keyd SIGSTOPped) holds a slot; other applications'
# requests must still be read from /dev/fuse and answered. The thread
# holding the listening role must not sleep for a slot with the role held
# (frontend/main.c slot_get): the other thread, which has a slot, would
# wait for the role and nobody would read /dev/fuse until the stuck
# request completes. The scenario is reliability/keyd_stall.sh's.
#   sh slot_wait.sh BUILD_DIR
exec sh "$(dirname "$0")/../reliability/keyd_stall.sh" "$1" slots=1,workers=2

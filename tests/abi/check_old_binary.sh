#!/bin/sh
# check_old_binary.sh BINARY: BINARY, built against 0.1.0's libclip.h, needs
# from libclip exactly what a binary built against 0.1.0 needs: functions of
# version node LIBCLIP_0 only, among them lclip_options_init@LIBCLIP_0 (the
# 0.1.0 initialiser frozen to 0.1.0's struct, not 0.2's sized one), so that
# it also loads on libclip 0.1.0.
set -eu
binary=$1
needed=$(nm -D --undefined-only "$binary" | awk '$2 ~ /^lclip_/ { print $2 }' | sort)
printf '%s\n' "$needed"
status=0
if ! printf '%s\n' "$needed" | grep -qx 'lclip_options_init@LIBCLIP_0'; then
    echo "FAIL: $binary does not bind lclip_options_init@LIBCLIP_0" >&2
    status=1
fi
other=$(printf '%s\n' "$needed" | grep -v '@LIBCLIP_0$' || true)
if [ -n "$other" ]; then
    echo "FAIL: $binary needs functions outside LIBCLIP_0, which libclip 0.1.0 lacks:" >&2
    printf '%s\n' "$other" >&2
    status=1
fi
exit "$status"

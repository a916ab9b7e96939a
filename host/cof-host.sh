#!/bin/sh
# Commit-confirm for the host firewall, the way iptables-apply does it: keep the
# running table, schedule an automatic rollback to it, load the new one; only a
# confirmation from a NEW connection cancels the rollback and persists the ruleset.
# If that connection cannot be made (the new rules lock the owner out), the host
# reverts by itself.
#
#   sh cof-host.sh apply [seconds] < ruleset.nft    (default 60 s to confirm)
#   sh cof-host.sh confirm
#
# Only the table cloudflare_origin_firewall is ever touched, each load one nft transaction.
set -eu
TABLE=cloudflare_origin_firewall
STATE=${COF_STATE_DIR:-/var/lib/cloudflare-origin-firewall}
PERSIST=${COF_PERSIST:-/etc/cloudflare-origin-firewall/ruleset.nft}
SELF=$0

die() { echo "cof-host: $*" >&2; exit 1; }
command -v nft >/dev/null 2>&1 || die "nft not found; install the nftables package (apt-get install nftables)"

case "${1:-}" in
apply)
    seconds=${2:-60}
    case "$seconds" in *[!0-9]* | "") die "apply: seconds must be a whole number" ;; esac
    mkdir -p "$STATE"
    cat > "$STATE/pending.nft"
    nft -c -f "$STATE/pending.nft" || die "the new ruleset does not load; nothing was changed"
    pid=$(cat "$STATE/rollback.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
        # An earlier apply was never confirmed: keep the ruleset saved before it,
        # the last one known to let the owner in.
        :
    else
        { echo "table inet $TABLE"; echo "delete table inet $TABLE"; nft list table inet "$TABLE" 2>/dev/null || true; } > "$STATE/previous.nft"
    fi
    rm -f "$STATE/rolled-back"
    setsid sh "$SELF" rollback-after "$seconds" </dev/null >/dev/null 2>&1 &
    echo $! > "$STATE/rollback.pid"
    nft -f "$STATE/pending.nft"
    echo "cof-host: applied; rolls back in ${seconds}s unless confirmed over a new connection"
    ;;
confirm)
    [ -f "$STATE/pending.nft" ] || die "nothing to confirm"
    pid=$(cat "$STATE/rollback.pid" 2>/dev/null || true)
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || die "no rollback pending (it already ran: the previous ruleset is back in place)"
    rm -f "$STATE/rollback.pid"
    mkdir -p "$(dirname "$PERSIST")"
    cp "$STATE/pending.nft" "$PERSIST"
    echo "cof-host: confirmed; persisted to $PERSIST"
    ;;
rollback-after)
    sleep "${2:-60}"
    nft -f "$STATE/previous.nft"
    rm -f "$STATE/rollback.pid"
    date > "$STATE/rolled-back"
    ;;
*)
    die "usage: cof-host.sh apply [seconds] < ruleset.nft | cof-host.sh confirm"
    ;;
esac

#!/bin/sh
trap 'echo "cof-host: this copy of the script is cut short; nothing was done" >&2; exit 1' EXIT
# Commit-confirm for the host firewall, the way iptables-apply does it: keep the
# running table, schedule an automatic rollback to it, load the new one; only a
# confirmation from a NEW connection persists the ruleset for the next boot.
# If that connection cannot be made (the new rules lock the owner out), the host
# reverts by itself.
#
#   sh cof-host.sh apply [seconds] < ruleset.nft    (default 60 s to confirm)
#   sh cof-host.sh confirm [sha256]   (sha256 of the ruleset file: confirm only that apply)
#   sh cof-host.sh confirm sha256 seconds < ruleset.nft   (nothing pending: apply it again, fail)
#
# Apply, confirm and the rollback each run under one lock, so whichever takes it
# first decides: a confirmed apply is never rolled back afterwards, and a rolled-back
# one is never persisted. Nothing is ever killed by pid. Runtime state lives in /run
# (gone after a reboot); only the table cloudflare_origin_firewall is touched, each
# load one nft transaction. Invariant: the running table is the persisted one, or
# an apply is pending (and rolls back), or the rollback restored the table that ran
# before it (the persisted file unchanged).
#
# The whole script is one function called on its last line: a copy cut short (a
# deploy replacing it while this one is read) is a syntax error or ends in the trap
# on line 2, never half a run.
main() {
trap - EXIT
set -eu
umask 077
TABLE=cloudflare_origin_firewall
UNIT=cloudflare-origin-firewall.service
HERE=$(dirname "$0")
STATE=${COF_STATE_DIR:-/var/lib/cloudflare-origin-firewall}
RUN=${COF_RUN_DIR:-/run/cloudflare-origin-firewall}
PERSIST=${COF_PERSIST:-/etc/cloudflare-origin-firewall/ruleset.nft}
UNIT_DIR=${COF_UNIT_DIR:-/etc/systemd/system}
LOCK_WAIT=${COF_LOCK_WAIT:-60}

die() { echo "cof-host: $*" >&2; exit 1; }
for tool in nft flock sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found; install nftables, util-linux and coreutils"
done

# Takes the lock (fd 9), held until this process exits; the rollback waits for it as long as it takes.
lock() {
    mkdir -p "$RUN"
    exec 9>>"$RUN/lock"
    if [ "${1:-}" = wait ]; then flock 9; else flock -w "$LOCK_WAIT" 9 || die "another apply or confirm held the lock for ${LOCK_WAIT}s; nothing was changed"; fi
}
# What identifies the running table: its listing without counter values.
digest() { { nft -s list table inet "$TABLE" 2>/dev/null || true; } | sha256sum | cut -d' ' -f1; }
when() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S UTC' 2>/dev/null || echo "epoch $1"; }
write() { cat > "$1.tmp" && mv -f "$1.tmp" "$1"; }

case "${1:-}" in
apply)
    seconds=${2:-60}
    case "$seconds" in *[!0-9]* | "") die "apply: seconds must be a whole number" ;; esac
    trap '' HUP # a dropped SSH connection must not stop an apply half-way
    mkdir -p "$RUN"
    # Read stdin before taking the lock, into a file of our own: concurrent applies cannot interleave.
    new=$(mktemp "$RUN/new.XXXXXX")
    trap 'rm -f "$new" "$new.load"' EXIT
    cat > "$new"
    lock
    cp "$new" "$new.load"
    # A reload keeps the table's objects; delete the ones the new ruleset no longer declares.
    if grep -qx "flush table inet $TABLE" "$new"; then
        nft -s list table inet "$TABLE" 2>/dev/null | sed -nE 's/^[[:space:]]*(set|chain) ([A-Za-z0-9_]+) \{.*$/\1 \2/p' | while read -r kind name; do
            grep -Eq "^[[:space:]]*$kind $name \\{" "$new" || echo "delete $kind inet $TABLE $name"
        done >> "$new.load"
    fi
    nft -c -f "$new.load" || die "the new ruleset does not load; nothing was changed"
    if [ -f "$RUN/pending" ]; then
        # An earlier apply is not confirmed: keep the rollback to the table before it,
        # the last one known to let the owner in; its timer gives way to ours.
        cp "$RUN/pending" "$RUN/pending.before"
    else
        rm -f "$RUN/pending.before"
        { echo "table inet $TABLE"; echo "delete table inet $TABLE"; nft -s list table inet "$TABLE" 2>/dev/null || true; } | write "$RUN/previous.nft"
    fi
    id=$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
    deadline=$(($(date +%s) + seconds))
    # The rollback is scheduled before the load: whatever happens to this process
    # from here on, the table comes back unless a confirm takes the lock first.
    echo "$id - $deadline" | write "$RUN/pending"
    rm -f "$RUN/rolled-back" "$RUN/confirmed" "$RUN/confirming"
    setsid sh "$0" rollback-after "$seconds" "$id" </dev/null >/dev/null 2>&1 9>&- &
    if ! nft -f "$new.load"; then
        if [ -f "$RUN/pending.before" ]; then
            # The earlier apply is pending again; its timer may have left when ours
            # took over, so it gets a new one for the time it has left.
            mv -f "$RUN/pending.before" "$RUN/pending"
            read -r before_id _ before_deadline < "$RUN/pending"
            left=$((before_deadline - $(date +%s)))
            [ "$left" -gt 0 ] || left=0
            setsid sh "$0" rollback-after "$left" "$before_id" </dev/null >/dev/null 2>&1 9>&- &
        else
            rm -f "$RUN/pending"
        fi
        die "nft refused the ruleset; the running table is unchanged"
    fi
    rm -f "$RUN/pending.before"
    mv -f "$new" "$RUN/pending.nft"
    echo "$id $(digest) $deadline" | write "$RUN/pending"
    echo "cof-host: applied; rolls back in ${seconds}s ($(when "$deadline")) unless confirmed over a new connection"
    ;;
confirm)
    want=${2:-}
    case "$want" in *[!0-9a-f]*) die "confirm: the digest must be the sha256 of the ruleset, 64 hex digits" ;; esac
    [ -z "$want" ] || [ "${#want}" -eq 64 ] || die "confirm: the digest must be the sha256 of the ruleset, 64 hex digits"
    # A dropped SSH connection must not stop a confirm half-way (nor a write to its closed output).
    trap '' HUP PIPE
    lock
    running=$(digest)
    if [ ! -f "$RUN/pending" ] && [ ! -f "$RUN/confirming" ]; then
        if [ -f "$RUN/confirmed" ] && [ "$(cat "$RUN/confirmed")" = "$running" ] && { [ -z "$want" ] || [ "$(sha256sum < "$PERSIST" | cut -d' ' -f1)" = "$want" ]; }; then
            echo "cof-host: nothing pending: the last apply was already confirmed and persisted; the running table is the persisted one (sha256 $running)"
            exit 0
        fi
        if [ -n "$want" ] && [ -n "${3:-}" ]; then
            # Self-healing: this deployment's apply is not pending (rolled back, or lost to a
            # reboot), so its confirm step would fail at every deploy from now on. Apply it
            # again from stdin, with its rollback; only the next confirm, over a new
            # connection, can persist it.
            case "$3" in *[!0-9]*) die "confirm: seconds must be a whole number" ;; esac
            again=$(mktemp "$RUN/again.XXXXXX")
            cat > "$again"
            got=$(sha256sum < "$again" | cut -d' ' -f1)
            [ "$got" = "$want" ] || { rm -f "$again"; die "nothing to confirm, and the ruleset given to apply again is not the one asked for (sha256 $got, asked for $want); nothing was changed"; }
            why="no apply of it is pending since this host started"
            [ -f "$RUN/rolled-back" ] && why="its apply was rolled back at $(cat "$RUN/rolled-back") (no confirmation in time)"
            flock -u 9
            exec 9>&-
            status=0
            sh "$0" apply "$3" < "$again" || status=$?
            rm -f "$again"
            [ "$status" -eq 0 ] || die "nothing to confirm: $why; applying it again failed (above); $PERSIST is unchanged"
            die "nothing to confirm: $why; it is applied again now and rolls back in ${3}s unless confirmed over a new connection: run the deployment again (pulumi up) to confirm it; $PERSIST is unchanged"
        fi
        [ -f "$RUN/rolled-back" ] && die "nothing to confirm: the apply was rolled back at $(cat "$RUN/rolled-back") (no confirmation in time); the previous ruleset is running and $PERSIST is unchanged"
        [ -z "$want" ] || [ ! -f "$RUN/confirmed" ] || die "nothing to confirm: the ruleset confirmed last is not this one (sha256 $want); $PERSIST is unchanged"
        die "nothing to confirm: no apply is pending since this host started; $PERSIST is unchanged"
    fi
    if [ -f "$RUN/pending" ]; then
        read -r id applied deadline < "$RUN/pending"
        [ "$applied" != "-" ] || die "the last apply did not finish loading; nothing persisted; the previous ruleset comes back at $(when "$deadline")"
        [ "$running" = "$applied" ] || die "the running table is not the one applied (sha256 $running, applied $applied: changed since by something else); nothing persisted; the rollback to the previous ruleset still runs at $(when "$deadline")"
        if [ -n "$want" ]; then
            got=$(sha256sum < "$RUN/pending.nft" | cut -d' ' -f1)
            [ "$got" = "$want" ] || die "the pending apply is not the one to confirm (its ruleset sha256 $got, asked for $want: a later apply replaced it); nothing persisted; it rolls back at $(when "$deadline") unless its own confirm comes first"
        fi
        # Cancel the rollback first, in one rename: the timer and the rollback only act on
        # "pending". If this confirm stops after it, the next confirm finishes the job.
        mv -f "$RUN/pending" "$RUN/confirming"
    else
        # An earlier confirm stopped after cancelling the rollback: its apply was proven over a new connection.
        read -r id applied deadline < "$RUN/confirming"
        [ "$running" = "$applied" ] || die "an interrupted confirm left its apply unpersisted, and the running table changed since (sha256 $running, applied $applied); nothing persisted: apply again"
        if [ -n "$want" ]; then
            got=$(sha256sum < "$RUN/pending.nft" | cut -d' ' -f1)
            [ "$got" = "$want" ] || die "the apply an interrupted confirm left is not the one to confirm (sha256 $got, asked for $want); nothing persisted"
        fi
    fi
    mkdir -p "$(dirname "$PERSIST")"
    write "$PERSIST" < "$RUN/pending.nft"
    # The same unit as cloud-init's, loaded at boot after nftables.service (see README).
    if [ -f "$HERE/$UNIT" ]; then
        mkdir -p "$UNIT_DIR/multi-user.target.wants"
        write "$UNIT_DIR/$UNIT" < "$HERE/$UNIT"
        chmod 644 "$UNIT_DIR/$UNIT"
        ln -sf "../$UNIT" "$UNIT_DIR/multi-user.target.wants/$UNIT"
        # nftables.service's start, reload and stop flush the whole ruleset: the drop-in reloads ours after each.
        if [ -f "$HERE/nftables-dropin.conf" ]; then
            mkdir -p "$UNIT_DIR/nftables.service.d"
            write "$UNIT_DIR/nftables.service.d/cloudflare-origin-firewall.conf" < "$HERE/nftables-dropin.conf"
            chmod 644 "$UNIT_DIR/nftables.service.d/cloudflare-origin-firewall.conf"
        fi
        if [ "$UNIT_DIR" = /etc/systemd/system ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
        if command -v systemctl >/dev/null 2>&1; then boot="$UNIT enabled: it loads the ruleset at boot"; else boot="$UNIT written, but this host has no systemd: nothing loads the ruleset at boot (see the README)"; fi
    else
        boot="$HERE/$UNIT is missing: nothing loads the ruleset at boot"
    fi
    echo "$running" | write "$RUN/confirmed"
    rm -f "$RUN/confirming" "$RUN/pending.nft" "$RUN/previous.nft"
    echo "cof-host: confirmed: the running table is the one applied (sha256 $running); rollback cancelled; persisted to $PERSIST; $boot"
    ;;
rollback-after)
    deadline=$(($(date +%s) + ${2:-60}))
    # Leave early once this apply is no longer the pending one (confirmed, or replaced
    # by a later apply with its own timer); the decision itself is taken under the lock.
    while [ "$(date +%s)" -lt "$deadline" ]; do
        sleep 1
        { [ -f "$RUN/pending" ] && read -r id _ _ < "$RUN/pending" && [ "$id" = "${3:-}" ]; } || exit 0
    done
    lock wait
    [ -f "$RUN/pending" ] || exit 0
    read -r id _ _ < "$RUN/pending"
    [ "$id" = "${3:-}" ] || exit 0 # confirmed, or a later apply took over with its own timer
    if nft -f "$RUN/previous.nft"; then
        rm -f "$RUN/pending" "$RUN/pending.nft"
        date -u '+%Y-%m-%d %H:%M:%S UTC' | write "$RUN/rolled-back"
        msg="not confirmed in time: the previous ruleset is back"
    else
        msg="ROLLBACK FAILED: nft refused $RUN/previous.nft; the unconfirmed ruleset is still running"
    fi
    command -v logger >/dev/null 2>&1 && logger -t cloudflare-origin-firewall "$msg"
    echo "$msg" > "$RUN/rollback.log"
    ;;
*)
    die "usage: cof-host.sh apply [seconds] < ruleset.nft | cof-host.sh confirm [sha256 [seconds < ruleset.nft]]"
    ;;
esac
}
main "$@"

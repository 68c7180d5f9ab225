#!/bin/bash
# deploy/ha's backup files are valid: the systemd units (systemd-analyze
# verify, the template instantiated as the timers start it) and the example
# pgbackrest configurations (no option pgbackrest does not know).
set -euo pipefail
src=${1:?source tree}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$src"/deploy/ha/systemd/*.timer "$tmp/"
for type in full diff; do
    cp "$src/deploy/ha/systemd/pgbackrest-backup@.service" "$tmp/pgbackrest-backup@$type.service"
done
(cd "$tmp" && systemd-analyze verify ./*.service ./*.timer)
for conf in "$src"/deploy/ha/pgbackrest/*.conf; do
    # Options are checked when the file is loaded, before any connection.
    out=$(pgbackrest "--config=$conf" --stanza=referral --log-level-console=warn \
        --repo1-cipher-pass=x --repo1-host=localhost --log-path="$tmp" --lock-path="$tmp" \
        --cmd-ssh=/bin/false info 2>&1 || true)
    if grep -q 'invalid option' <<<"$out"; then
        echo "$conf: $out" >&2
        exit 1
    fi
done
echo "backup units and pgbackrest configurations: valid"

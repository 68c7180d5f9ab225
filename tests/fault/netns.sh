#!/bin/bash
# Hosts for the worker-partition fault test (fault.worker_host_partitioned):
# network namespaces joined to the root namespace over veth pairs, as
# worker machines on a LAN with the broker's and PostgreSQL's machine.
#
#   netns.sh up RUN NET COUNT  a bridge rrRUNbr holding NET.1/24 (the
#                              "server" address the broker and PostgreSQL
#                              listen on) and COUNT namespaces rr-RUN-wI,
#                              each with lo and eth0 = NET.(I+1)/24, eth0's
#                              peer rrRUNwI a port of the bridge
#   netns.sh cut RUN I         unplugs host I: its bridge port goes down, so
#                              its eth0 loses carrier and nothing passes either
#                              way, silently (no reset, no error to either side)
#   netns.sh heal RUN I        plugs it back
#   netns.sh down RUN          removes the veth pairs, the namespaces and the
#                              bridge; safe to repeat
#
# RUN names everything (at most 11 characters: interface names are short);
# NET is three octets (10.213.253); up refuses a range the machine already
# has an address or a route in. Needs root and iproute2.
set -euo pipefail
cmd=${1:?up, cut, heal or down}
run=${2:?run id, the test process id}
bridge="rr${run}br"
if [ "${#run}" -gt 11 ]; then
    echo "netns.sh: run id \"$run\" is longer than 11 characters" >&2
    exit 2
fi

case "$cmd" in
up)
    net=${3:?three octets, e.g. 10.213.253}
    count=${4:?number of hosts}
    # An address in the range, a route into it (root) or over it (match,
    # the default route aside): someone else's network.
    if [ -n "$(ip -4 -o addr show to "$net.0/24")" ] ||
        [ -n "$(ip -4 route show root "$net.0/24")" ] ||
        ip -4 route show match "$net.0/24" | grep -qv '^default'; then
        echo "netns.sh: $net.0/24 is in use on this machine: choose another range" >&2
        exit 1
    fi
    ip link add "$bridge" type bridge stp_state 0 forward_delay 0
    ip addr add "$net.1/24" dev "$bridge"
    ip link set "$bridge" up
    for i in $(seq 1 "$count"); do
        ns="rr-$run-w$i"
        ip netns add "$ns"
        ip link add "rr${run}w$i" type veth peer name eth0 netns "$ns"
        ip link set "rr${run}w$i" master "$bridge" up
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "$net.$((i + 1))/24" dev eth0
        ip -n "$ns" link set eth0 up
    done
    ;;
cut)
    ip link set "rr${run}w${3:?host number}" down
    ;;
heal)
    ip link set "rr${run}w${3:?host number}" up
    ;;
down)
    # The links first: a namespace outlives "ip netns delete" while sockets
    # of its own still hold it (a worker's connections stuck behind a cut),
    # and its veth pair with it.
    for link in $(ip -o link show type veth | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
        case "$link" in "rr${run}w"*) ip link delete "$link" ;; esac
    done
    for ns in $(ip netns list | awk -v p="rr-$run-w" 'index($1, p) == 1 { print $1 }'); do
        ip netns delete "$ns"
    done
    if ip link show "$bridge" >/dev/null 2>&1; then
        ip link delete "$bridge"
    fi
    ;;
*)
    echo "usage: $0 up RUN NET COUNT | cut RUN I | heal RUN I | down RUN" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Builds the deployment's network separation on one Linux host with network namespaces (SP-4):
#
#   PREFIX-public  10.231.1.2 ──veth── 10.231.1.1  PREFIX-gateway  10.231.2.1 ──veth── 10.231.2.2  PREFIX-private
#   (clients)                         (gateway: public 8443,           (vault 8444)
#                                      staff 8445 on 10.231.2.1)
#                                      10.231.3.2 ──veth── 10.231.3.1  PREFIX-data  10.231.4.1 ──veth── 10.231.4.2 (private)
#                                                                      (PostgreSQL, Redis, audit-worker)
#
# Each namespace routes only to the links it is on and forwards nothing (a new namespace starts
# with forwarding off), so `public` has no route to the vault, the staff listener or the data
# network, and nothing here has a default route out of the host. Usage: up.sh PREFIX (default pgw).
# A failure part-way removes what was made; down.sh PREFIX removes it all.
set -euo pipefail
prefix=${1:-pgw}
here=$(cd "$(dirname "$0")" && pwd)

if [[ ! $prefix =~ ^[a-z0-9]{1,8}$ ]]; then
  echo "up.sh: PREFIX must be 1-8 lower-case letters or digits (interface names are at most 15 characters)" >&2
  exit 2
fi

trap '"$here/down.sh" "$prefix"' ERR

for ns in public gateway private data; do
  ip netns add "$prefix-$ns"
  ip -n "$prefix-$ns" link set lo up
done

# link NS_A ADDR_A NS_B ADDR_B TAG: a veth pair between two namespaces, a /24 each side.
link() {
  local a=$1 addr_a=$2 b=$3 addr_b=$4 tag=$5
  ip link add "$prefix$tag-a" type veth peer name "$prefix$tag-b"
  ip link set "$prefix$tag-a" netns "$prefix-$a"
  ip link set "$prefix$tag-b" netns "$prefix-$b"
  ip -n "$prefix-$a" addr add "$addr_a/24" dev "$prefix$tag-a"
  ip -n "$prefix-$b" addr add "$addr_b/24" dev "$prefix$tag-b"
  ip -n "$prefix-$a" link set "$prefix$tag-a" up
  ip -n "$prefix-$b" link set "$prefix$tag-b" up
}

link public 10.231.1.2 gateway 10.231.1.1 pg
link gateway 10.231.2.1 private 10.231.2.2 gv
link gateway 10.231.3.2 data 10.231.3.1 gd
link private 10.231.4.2 data 10.231.4.1 vd

for ns in public gateway private data; do
  if [ "$(ip netns exec "$prefix-$ns" sysctl -n net.ipv4.ip_forward)" != 0 ]; then
    echo "up.sh: $prefix-$ns forwards packets; refusing to go on" >&2
    false
  fi
done
echo "namespaces $prefix-public, $prefix-gateway, $prefix-private, $prefix-data are up"

#!/usr/bin/env bash
# Removes what up.sh PREFIX made: ends every process still in its namespaces, then deletes them
# (deleting a namespace deletes its veth ends and so their peers). Safe to run twice.
set -uo pipefail
prefix=${1:-pgw}
for ns in public gateway private data; do
  name="$prefix-$ns"
  ip netns list | grep -qw -- "$name" || continue
  pids=$(ip netns pids "$name" 2>/dev/null || true)
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086 # one pid per word
    kill -TERM $pids 2>/dev/null || true
    sleep 1
    pids=$(ip netns pids "$name" 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
  fi
  ip netns del "$name"
done
rm -rf "/etc/netns/$prefix-public" "/etc/netns/$prefix-gateway" "/etc/netns/$prefix-private" "/etc/netns/$prefix-data"

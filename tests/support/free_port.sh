# Sourced by the shell tests, bench/run and scripts: one way to pick a port for a test daemon.
#
# free_port: prints a TCP port in 20000-31999 that nothing listens on now (IPv4 or IPv6). Below
# the ephemeral range (32768+, where client connections take their local ports), so no client
# can be holding it; starting at a random place, so two runs rarely try the same one first.
free_port() {
  local port=$((20000 + RANDOM % 12000)) tables=() t tries
  for t in /proc/net/tcp /proc/net/tcp6; do [[ -r $t ]] && tables+=("$t"); done
  for ((tries = 0; tries < 12000; tries++)); do
    # State 0A is LISTEN; the local address ends in :<port in hex>.
    awk -v p="$(printf ':%04X' "$port")" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 }
      END { exit !found }' "${tables[@]}" || { echo "$port"; return 0; }
    port=$((port < 31999 ? port + 1 : 20000))
  done
  echo "free_port: every port in 20000-31999 is listened on" >&2
  return 1
}

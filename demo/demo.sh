#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make demo`: three tenants in their own network namespaces behind veths, a peer on the
# far side, the agent metering them, live counters while traffic runs, then the bill.
# It all runs in private namespaces (nothing on the host changes) and ends by itself.
set -u
. "$(dirname "$0")/../tests/lib/topo.sh"
if [ "$(id -u)" != 0 ]; then
	echo "demo: run as root (BPF, tc and network namespaces need it)" >&2
	exit 1
fi
tg_sandbox "$0" "$@" || { echo "demo: cannot create private namespaces" >&2; exit 1; }

T=$(mktemp -d /tmp/tollgate-demo.XXXXXX)
cleanup() {
	local pids
	pids=$(jobs -p)
	[ -n "$pids" ] && kill $pids 2>/dev/null
	topo_cleanup
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "building a topology: tenants acme, globex, initech behind veths; a peer beyond"
topo init && topo peer && topo tenant acme 1 && topo tenant globex 2 && topo tenant initech 3 ||
	{ echo "demo: cannot build the topology" >&2; exit 1; }
cat >"$T/tollgate.yaml" <<YAML
node: {name: demo}
tenants:
  - name: acme
    interfaces: [vt-acme-*]
  - name: globex
    interfaces: [vt-globex-*]
  - name: initech
    cidrs: [10.3.0.0/24]
    interfaces: [vt-initech-*]
billing: {interval: 5s, store: "sqlite:$T/tollgate.db"}
YAML
sed 's/^/    /' "$T/tollgate.yaml"

say "tollgate check"
"$TG" check -c "$T/tollgate.yaml" || exit 1

say "tollgate run (in the background)"
"$TG" run -c "$T/tollgate.yaml" >"$T/agent.log" 2>&1 &
if ! wait_for 15 "$TG" status -c "$T/tollgate.yaml"; then
	cat "$T/agent.log"
	exit 1
fi
cat "$T/agent.log"
"$TG" status -c "$T/tollgate.yaml"

say "the agent's dashboard, metrics and API: http://127.0.0.1:9477/"
cat <<EOF
    The agent serves a live dashboard at http://127.0.0.1:9477/ (Prometheus metrics at
    /metrics, the JSON API under /api/v1/, docs/api.md). On a real host open it in a
    browser there, or from your workstation through ssh -L 9477:127.0.0.1:9477 HOST.
    This demo runs in a private network namespace; to look while it runs, from another
    shell:  nsenter -t $$ -n -m curl -s http://127.0.0.1:9477/metrics | head
    Live terminal view:  tollgate top -c /etc/tollgate/tollgate.yaml  (q quits; here:
    nsenter -t $$ -n -m $TG top -c $T/tollgate.yaml)
EOF
curl -s http://127.0.0.1:9477/metrics | grep '^tollgate_tenant_bytes_total' | head -6

say "traffic for 20 s: acme 200 Mbit/s up, globex 80 Mbit/s down, initech pings"
ip netns exec peer iperf3 -s -p 5201 >/dev/null 2>&1 &
ip netns exec peer iperf3 -s -p 5202 >/dev/null 2>&1 &
wait_for 10 nsx peer bash -c 'exec 3<>/dev/tcp/127.0.0.1/5202'
nsx t-acme iperf3 -c 192.0.2.2 -p 5201 -t 20 -b 200M >/dev/null 2>&1 &
nsx t-globex iperf3 -c 192.0.2.2 -p 5202 -t 20 -b 80M -R >/dev/null 2>&1 &
nsx t-initech ping -q -i 0.05 -s 1200 -w 20 192.0.2.2 >/dev/null 2>&1 &
for i in 1 2 3 4 5 6; do
	sleep 2
	say "tollgate tenants ($((i * 3)) s)"
	"$TG" tenants -c "$T/tollgate.yaml"
done
say "tollgate top --once (the live view's snapshot; tollgate top is the live view)"
"$TG" top --once -c "$T/tollgate.yaml"
wait_for 15 bash -c '! pgrep -f "iperf3 -c" >/dev/null'

say "tollgate stop (final harvest; the datapath stays)"
"$TG" stop -c "$T/tollgate.yaml"

say "tollgate bill"
"$TG" bill -c "$T/tollgate.yaml"

say "tollgate stop --purge (removes every filter, qdisc, pin and mount Tollgate made)"
"$TG" stop -c "$T/tollgate.yaml" --purge
echo
echo "demo finished: the namespaces and the demo's files go away with it."

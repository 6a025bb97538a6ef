#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The uplink guard on real captures, offline (`tollgate replay`, the real XDP program
# under BPF_PROG_TEST_RUN, capture time as its clock), judged against tshark:
#  - the two SYN floods of the corpus with a drop-mode SYN-flood configuration: the flood
#    is reported, and of the SYNs tshark finds from the moment of detection on, at least
#    99% are dropped;
#  - ordinary HTTP captures under the same configuration: nothing dropped, no event;
#  - the DVWA captures with signatures on: one sqli (traversal) event per request that
#    tshark shows to carry an injection (a traversal), by a rule independent of the
#    matcher: the `id` parameter is not a plain integer (`page` holds ".."); the
#    ordinary captures raise none; with action drop exactly those requests are dropped.
[ -n "${TG:-}" ] || TG=$(cd "$(dirname "$0")/../.." && pwd)/${OUT:-build}/tollgate
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"

for tool in tshark python3; do
	command -v "$tool" >/dev/null || bail "$tool is not installed (make deps installs it)"
done
CORPUS=${TG_CORPUS:-$TG_ROOT/../shared/corpus/pcap}
if [ ! -d "$CORPUS" ]; then # a worktree: beside the main checkout
	common=$(git -C "$TG_ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)
	[ -n "$common" ] && CORPUS=$(dirname "$common")/../shared/corpus/pcap
fi
[ -d "$CORPUS" ] || bail "no capture corpus at $CORPUS (set TG_CORPUS)"
T=$(mktemp -d /tmp/tollgate-greplay.XXXXXX)
trap 'rm -rf "$T"' EXIT

conf() { # conf NAME GUARD-LINES
	cat >"$T/$1.yaml" <<YAML
tenants: [{name: victim, cidrs: [10.10.10.0/24, 172.16.16.0/24, 192.168.0.0/16]}]
uplink:
  interfaces: [eth0]
$2
YAML
}
conf syn "  syn_flood: {threshold: 100, source_budget: 10, mode: drop}
  signatures: {ports: [80], action: alert}"
conf sigdrop "  signatures: {ports: [80], action: drop}"

replay() { # replay CONF FILE: JSON into $T/out.json
	"$TG" replay "$CORPUS/$2" -c "$T/$1.yaml" --json >"$T/out.json" 2>"$T/err" ||
		{ cat "$T/err"; return 1; }
}

# ---- floods ----
for cap in pkt.TCP.synflood.spoofed.pcap pkt.TCP.DOMINATE.syn.ecn.cwr.pcapng; do
	check "$cap: replays" -- replay syn "$cap"
	tshark -r "$CORPUS/$cap" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' \
		-T fields -e frame.time_epoch >"$T/syns" 2>/dev/null
	res=$(python3 - "$T/out.json" "$T/syns" <<'PY'
import datetime, json, sys
d = json.load(open(sys.argv[1]))
syns = [float(x) for x in open(sys.argv[2]) if x.strip()]
floods = [e for e in d["events"] if e["type"] == "syn_flood"]
if len(floods) != 1:
    print(f"floods={len(floods)}")
    sys.exit()
t = datetime.datetime.strptime(floods[0]["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
after = sum(1 for s in syns if s >= t - 0.0005)  # the event's time is to the ms
drops = d["drops"]
dropped = sum(drops.get(k, {}).get("packets", 0) for k in ("syn_flood", "ban"))
print(f"floods=1 syns={len(syns)} after={after} dropped={dropped} "
      f"verdict_drop={d['verdicts'].get('drop', 0)} rate={dropped / max(after, 1):.4f}")
PY
)
	diag "$cap: $res"
	check "$cap: the flood is reported once" -- grep -q 'floods=1 ' <<<"$res"
	check "$cap: at least 99% of the SYNs from detection on are dropped" -- python3 -c "
import sys; f = dict(x.split('=') for x in '''$res'''.split())
a, d = int(f['after']), int(f['dropped'])
sys.exit(not (a > 0 and d <= a and d >= 0.99 * a and int(f['verdict_drop']) == d))"
done

# ---- ordinary HTTP: nothing dropped, no event ----
for cap in http_google.pcapng http_post.pcapng http_ip4and6.pcapng tcp_ports.pcapng dns_tcp.pcapng; do
	replay syn "$cap" || { ok 1 "$cap: replays"; continue; }
	equal "$cap: SYN-flood and signature configuration: no drop, no event" \
		"$(python3 -c "import json; d = json.load(open('$T/out.json'))
print(list(d['verdicts']), d['drops'], d['events'])")" "['pass'] {} []"
done

# ---- signatures ----
# requests with their source, destination and destination port, and the URI
requests() {
	tshark -r "$CORPUS/$1" -Y http.request -T fields -E separator='|' \
		-e ip.src -e ip.dst -e tcp.dstport -e http.request.uri 2>/dev/null
}
sig_case() { # sig_case CAPTURE REASON PYTHON-PREDICATE-ON-URI
	local cap=$1 reason=$2 pred=$3 res
	requests "$cap" >"$T/reqs"
	replay syn "$cap" || { ok 1 "$cap: replays"; return; }
	res=$(python3 - "$T/out.json" "$T/reqs" "$reason" "$pred" <<'PY'
import json, sys, urllib.parse
d = json.load(open(sys.argv[1]))
reason, pred = sys.argv[3], eval("lambda q: " + sys.argv[4])
want = []
for line in open(sys.argv[2]):
    src, dst, port, uri = line.rstrip("\n").split("|", 3)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)
    if pred(q):
        want.append((src, dst, int(port)))
ev = [e for e in d["events"] if e.get("reason") == reason]
got = sorted((e["src"], e["dst"], e["dport"]) for e in ev for _ in range(e["count"]))
other = [e for e in d["events"] if e.get("reason") != reason]
print(f"want={len(want)} got={len(got)} same={sorted(want) == got} other={len(other)} "
      f"alert={all(e['action'] == 'alert' for e in ev)} "
      f"rule={all(e['rule'] == 'signatures.' + reason for e in ev)}")
PY
)
	diag "$cap: $res"
	check "$cap: one $reason event per attack request tshark shows, and no other event" -- \
		grep -q 'same=True other=0 alert=True rule=True' <<<"$res"
	check "$cap: the capture holds attack requests" -- bash -c "! grep -q 'want=0 ' <<<'$res'"
}
sig_case http_dvwa_sqlinjection.pcapng sqli \
	"any(not v.isdigit() for v in q.get('id', []))"
sig_case http_dvwa_directorytraversal.pcapng traversal \
	"any('..' in v for v in q.get('page', []))"

# action drop: exactly the attack requests are dropped, and not billed
requests http_dvwa_sqlinjection.pcapng >"$T/reqs"
want=$(python3 -c "
import sys, urllib.parse
n = 0
for line in open('$T/reqs'):
    uri = line.rstrip('\n').split('|', 3)[3]
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)
    n += any(not v.isdigit() for v in q.get('id', []))
print(n)")
check "sqli with action drop: replays" -- replay sigdrop http_dvwa_sqlinjection.pcapng
equal "sqli with action drop: the attack requests, and only they, are dropped" \
	"$(python3 -c "import json; d = json.load(open('$T/out.json'))
print(d['verdicts'].get('drop', 0), d['drops']['sqli']['packets'])")" "$want $want"
tap_done

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end, the live dashboard (docs/dashboard.md) served by a real agent and opened in
# Debian's headless Chromium: real TCP traffic from tenant acme (iperf3), none from globex,
# and a security event (a source banned with `tollgate block` sends anyway, the uplink
# guard drops it and writes a `guard` event). The page must load from the agent alone,
# draw acme's rate from that traffic (its peak near iperf3's own rate, globex flat), list
# the event the events file holds and the ban, with no JavaScript error; then, while the
# page stays open, a second source is banned and sends: its event and ban must appear
# live (long poll, polling). The DOM and a screenshot are kept in build/artifacts/.
#
#   t-acme 10.1.0.2 --- [vt-acme-0    host   up0] --- peer 192.0.2.2 (+ .66 .67, banned)
#   t-globex 10.2.0.2 - [vt-globex-0              ]
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"

for tool in ip ethtool iperf3 ping curl python3 chromium; do
	command -v "$tool" >/dev/null || bail "$tool is not installed (make deps installs it)"
done
[ -x "$TG" ] || bail "$TG is not built"

URL=http://127.0.0.1:9477
ART=$TG_ROOT/build/artifacts
LIB=$TG_ROOT/tests/lib
mkdir -p "$ART" || bail "cannot create $ART"
T=$(mktemp -d /tmp/tollgate-dash.XXXXXX)
AGENT=
cleanup() {
	local pids
	[ -n "$AGENT" ] && kill -9 "$AGENT" 2>/dev/null
	pids=$(jobs -p)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	topo_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

build() {
	set -e
	topo_init
	topo_peer
	topo_tenant acme 1
	topo_tenant globex 2
	for a in 192.0.2.66 192.0.2.67; do
		nsx peer ip addr add $a/24 dev eth0
		ip neigh replace $a lladdr 02:00:00:00:ff:02 dev up0 nud permanent
	done
}
(build) || bail "cannot build the topology"

cat >"$T/tollgate.yaml" <<YAML
node: {name: e2e-dashboard}
tenants:
  - name: acme
    interfaces: [vt-acme-*]
  - name: globex
    interfaces: [vt-globex-*]
billing: {interval: 2s, store: "sqlite:$T/tollgate.db"}
outputs: {events: "$T/events.json", audit: "$T/audit.log"}
uplink:
  interfaces: [up0]
YAML

"$TG" run -c "$T/tollgate.yaml" >>"$T/agent.log" 2>&1 &
AGENT=$!
check "the agent starts (tenants acme and globex, guard on up0)" -- \
	wait_for 15 "$TG" status -c "$T/tollgate.yaml" || cat "$T/agent.log"

# ---- real traffic: acme uploads to the peer for 5 s; globex stays quiet ----
nsx peer iperf3 -s -p 5201 >/dev/null 2>&1 &
wait_for 10 bash -c "ip netns exec peer ss -Hltn 'sport = :5201' | grep -q LISTEN" ||
	bail "iperf3 server did not start"
nsx t-acme iperf3 -c 192.0.2.2 -p 5201 -t 5 -J >"$T/iperf.json" 2>&1
iperf_bytes=$(python3 -c "import json; print(json.load(open('$T/iperf.json'))['end']['sum_sent']['bytes'])" 2>/dev/null)
check "iperf3 sent from tenant acme to the peer (${iperf_bytes:-?} bytes)" -- test "${iperf_bytes:-0}" -gt 0

diag "tollgate tenants: acme egress $("$TG" tenants --json -c "$T/tollgate.yaml" | python3 -c "import json, sys
print([t['bytes'] for t in json.load(sys.stdin) if t['tenant'] == 'acme' and t['direction'] == 'egress'])") bytes"

# ---- a security event: a banned source sends anyway ----
check "tollgate block 192.0.2.66" -- "$TG" block 192.0.2.66 --ttl 10m -c "$T/tollgate.yaml"
got=$(nsx peer ping -q -c 3 -i 0.2 -W 1 -I 192.0.2.66 10.1.0.2 2>/dev/null |
	sed -n 's/.* \([0-9]*\) received.*/\1/p')
equal "the banned source's pings are dropped" "${got:-?}" 0
check "the events file holds the guard's event for 192.0.2.66" -- \
	wait_for 10 grep -q '"src": "192.0.2.66"' "$T/events.json"
ev=$(grep '"src": "192.0.2.66"' "$T/events.json" | head -1)
diag "event: $ev"
ban=$("$TG" block --list --json -c "$T/tollgate.yaml" | python3 -c "import json, sys
print(' '.join(b['origin'] + ' ' + b['rule'] for b in json.load(sys.stdin) if b['prefix'] == '192.0.2.66/32'))")
diag "tollgate block --list: 192.0.2.66/32 ${ban:-missing}"

# ---- the agent's HTTP server (src/http.c) serves the page and the API ----
if ! wait_for 10 curl -sf -o /dev/null "$URL/api/v1/status"; then
	diag "GET $URL/api/v1/status: $(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/status" 2>&1)"
	tail -5 "$T/agent.log" | sed 's/^/# agent: /'
	bail "the agent's HTTP server does not answer on $URL (docs/api.md; src/http.c)"
fi
for f in index.html app.js style.css; do
	[ "$f" = index.html ] && path=/ || path=/ui/$f
	ct=$(curl -s -o "$T/$f" -w '%{http_code} %{content_type}' "$URL$path")
	check "GET $path: 200, the file assets/dashboard/$f byte for byte ($ct)" -- \
		bash -c "[ '${ct%% *}' = 200 ] && cmp -s '$T/$f' '$TG_ROOT/assets/dashboard/$f'"
done
rates=$(curl -s "$URL/api/v1/rates?seconds=120")
diag "rates: $(echo "$rates" | python3 -c "import json,sys
d=json.load(sys.stdin)['tenants']
print({t: [round(x / 1e6) for x in v.get('out_bps') or [] if x] for t, v in d.items()})" 2>&1 |
	tail -1) (out, Mbit/s, non-zero seconds)"

# ---- the dashboard in headless Chromium ----
python3 "$LIB/browser.py" "$URL/?window=60" --dom "$ART/dashboard.html" --screenshot "$ART/dashboard.png" \
	--profile "$T/chromium" --size 1280x900 --timeout 20 \
	--until "document.querySelector('#legend-out li[data-tenant=\"acme\"]') &&
		document.querySelector('tr.event[data-src=\"192.0.2.66\"]') &&
		document.querySelector('tr.ban[data-prefix=\"192.0.2.66/32\"]') &&
		document.querySelector('#flow-rows tr') &&
		document.getElementById('health').dataset.healthy !== ''" \
	--then "'$TG' block 192.0.2.67 --ttl 10m -c '$T/tollgate.yaml' &&
		{ ip netns exec peer ping -q -c 3 -i 0.2 -W 1 -I 192.0.2.67 10.1.0.2; true; }" \
	--after "document.querySelector('tr.event[data-src=\"192.0.2.67\"]') &&
		document.querySelector('tr.ban[data-prefix=\"192.0.2.67/32\"]')" \
	>"$T/report.json" 2>"$T/browser.err"
rc=$?
[ -s "$T/browser.err" ] && sed 's/^/# /' "$T/browser.err"
check "Chromium loaded $URL/ (DOM and screenshot written)" -- test "$rc" = 0
diag "report: $(head -c 1500 "$T/report.json")"

# The assertions, on the DOM as the page left it after its requests answered.
python3 - "$ART/dashboard.html" "$T/report.json" "$URL" "${iperf_bytes:-0}" "$T/events.json" "$ban" \
	<<'PY' >"$T/checks"
import json, sys
from html.parser import HTMLParser

dom_file, report_file, url, iperf_bytes, events_file, ban = sys.argv[1:7]
rep = json.load(open(report_file))
evs = {}
for line in open(events_file):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    evs.setdefault(e.get("src"), e)
ev = evs.get("192.0.2.66", {})

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.el, self.text = [], [], {}
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        a["_tag"], a["_parents"] = tag, [x.get("id") for x in self.stack if x.get("id")]
        a["_text"] = ""
        self.el.append(a)
        if tag not in ("meta", "link", "br", "img", "input"):
            self.stack.append(a)
    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()["_tag"] == tag:
                break
    def handle_data(self, data):
        for a in self.stack:
            a["_text"] += data

p = P()
p.feed(open(dom_file).read())
def find(tag, parent=None, **kv):
    return [e for e in p.el if e["_tag"] == tag and (parent is None or parent in e["_parents"])
            and all(e.get(k.replace("_", "-")) == v for k, v in kv.items())]
def out(ok, desc):
    print(("ok" if ok else "not ok") + " | " + desc)

out(rep["loaded"] and rep["title"] == "Tollgate dashboard",
    "the page loaded, titled %r" % rep["title"])
out(not rep["exceptions"], "no uncaught JavaScript error %s" % (rep["exceptions"] or ""))
outside = [u for u in rep["requests"] if not (u or "").startswith(url + "/")]
out(len(rep["requests"]) >= 8 and not outside,
    "all %d requests of the page went to the agent %s %s" % (len(rep["requests"]), url,
                                                            outside or ""))
errs = [e["_text"] for e in find("p", "errors")]
health = find("span", id="health")
out(bool(health) and health[0].get("data-healthy") == "true",
    "the header shows the agent healthy (%s)" % (health[0]["_text"] if health else "none"))
out(not errs, "the page shows no error %s" % (errs or ""))

for d in ("in", "out"):
    c = find("canvas", id="chart-" + d)
    pts = int(c[0].get("data-points", 0)) if c else 0
    out(pts > 0, "the %s chart drew %d points" % (d, pts))
legend = {e.get("data-tenant"): e for e in find("li", "legend-out") if e.get("data-tenant")}
acme, globex = legend.get("acme"), legend.get("globex")
out(acme is not None and int(acme["data-nonzero"]) > 0,
    "acme's out series has points above zero (%s of %s)" %
    (acme and acme["data-nonzero"], acme and acme["data-points"]))
# The area under acme's out line is the bits it sent: iperf3's payload plus the TCP, IP and
# Ethernet headers (66 bytes a 1448-byte segment: +4.6%), its control connection and ACKs.
area, want = (float(acme.get("data-sum", 0)) if acme else 0), 8 * float(iperf_bytes)
out(0.98 * want <= area <= 1.15 * want,
    "the area under acme's out line, %.0f bits, is iperf3's %.0f bits of payload (x%.3f)" %
    (area, want, area / want if want else 0))
quiet = [e for e in find("li", "legend-in") + find("li", "legend-out")
         if e.get("data-tenant") == "globex"]
out(len(quiet) == 2 and all(int(e["data-nonzero"]) == 0 and int(e["data-points"]) > 0
                            for e in quiet),
    "globex, which sent nothing, is drawn flat at zero in both charts")
flows = find("tr", "flow-rows", data_tenant="acme")
out(any("192.0.2.2:5201" in f["_text"] for f in flows),
    "the top flows list acme's flow to 192.0.2.2:5201 (%d acme rows)" % len(flows))

rows = find("tr", "event-rows", data_src="192.0.2.66")
want_ev = (ev.get("type"), str(ev.get("tenant")), ev.get("time"))
got_ev = [(r.get("data-type"), r.get("data-tenant"), r.get("data-time")) for r in rows]
out(bool(ev) and want_ev in got_ev,
    "the events list shows the file's event for 192.0.2.66 %s" % (want_ev,))
out(any(ev.get("reason", "?") in r["_text"] and ev.get("action", "?") in r["_text"] for r in rows),
    "its row shows the reason %r and the action %r" % (ev.get("reason"), ev.get("action")))
ev2 = evs.get("192.0.2.67", {})
out(rep["then_rc"] == 0 and rep["after_met"] is True,
    "with the page open, a second ban's event and ban appeared live in %s s" %
    rep["after_waited_s"])
rows = find("tr", "event-rows", data_src="192.0.2.67")
out(bool(ev2) and (ev2.get("type"), str(ev2.get("tenant")), ev2.get("time")) in
    [(r.get("data-type"), r.get("data-tenant"), r.get("data-time")) for r in rows],
    "it is the events file's event for 192.0.2.67 (%s at %s)" % (ev2.get("type"), ev2.get("time")))
bans = find("tr", "ban-rows", data_prefix="192.0.2.66/32")
cells = bans[0]["_text"] if bans else ""
out(len(bans) == 1 and bool(ban) and all(w in cells for w in ban.split()),
    "the bans list shows 192.0.2.66/32 with tollgate block --list's origin and rule (%s)" % ban)
PY
[ -s "$T/checks" ] || echo "not ok | the DOM could not be checked" >"$T/checks"
while IFS= read -r line; do
	ok "$([ "${line%% | *}" = ok ] && echo 0 || echo 1)" "${line#* | }"
done <"$T/checks"

check "the screenshot is a 1280-pixel-wide PNG" -- python3 -c "
import struct, sys
b = open('$ART/dashboard.png', 'rb').read(24)
sys.exit(not (b[:8] == b'\x89PNG\r\n\x1a\n' and struct.unpack('>I', b[16:20])[0] == 1280))"
diag "screenshot kept at build/artifacts/dashboard.png, the DOM at build/artifacts/dashboard.html"

check "the agent stops" -- "$TG" stop -c "$T/tollgate.yaml"
wait "$AGENT" 2>/dev/null
AGENT=
tap_done

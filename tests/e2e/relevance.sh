#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end, vulnerability relevance: a process of tenant acme (python3, in acme's
# cgroup) loads libz; the agent's runtime inventory records it; `tollgate relevance`
# with a Grype report naming vulnerabilities in two installed Debian packages (the one
# owning that libz, and libyaml-0-2, which the workload does not load) marks exactly the
# first as loaded, for acme; for beta, whose cgroup ran nothing, nothing is loaded.
#
# Oracles: the workload's own /proc/self/maps (the kernel's list of the files it has
# mapped), `dpkg -S` (which package owns that file) and `dpkg-query` (versions).
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"
[ -x "$TG" ] || bail "$TG is not built"
for tool in python3 dpkg dpkg-query sqlite3; do
	command -v "$tool" >/dev/null || bail "$tool is not installed (make deps installs it)"
done
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$CGROOT" ] || bail "no cgroup2 mount in /proc/self/mounts"
OTHER_PKG=libyaml-0-2
dpkg-query -W -f='${Status}' "$OTHER_PKG" 2>/dev/null | grep -q 'install ok installed' ||
	bail "$OTHER_PKG is not installed (make deps installs libyaml-dev)"

T=$(mktemp -d /tmp/tollgate-relevance.XXXXXX)
TOP=tollgate-rel-$$
CG=$CGROOT/$TOP
AGENT=
cleanup() {
	local pid d
	[ -n "$AGENT" ] && kill -9 "$AGENT" 2>/dev/null
	wait 2>/dev/null
	for d in "$CG/acme" "$CG/beta" "$CG"; do
		[ -d "$d" ] || continue
		for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do
			echo "$pid" >"$CGROOT/cgroup.procs" 2>/dev/null
		done
		rmdir "$d" 2>/dev/null || echo "# cannot remove $d" >&2
	done
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$CG/acme" "$CG/beta" || bail "cannot create test cgroups under $CGROOT"
INV=$T/inventory.db

cat >"$T/tollgate.yaml" <<YAML
tenants:
  - {name: acme, cgroups: [/$TOP/acme]}
  - {name: beta, cgroups: [/$TOP/beta]}
billing: {interval: 1s, store: "sqlite:$T/tollgate.db"}
runtime:
  monitor: [exec]
  inventory: true
  inventory_path: $INV
outputs: {audit: "$T/audit.log"}
YAML

"$TG" run -c "$T/tollgate.yaml" >>"$T/agent.log" 2>&1 &
AGENT=$!
check "agent starts with the runtime inventory" -- wait_for 30 "$TG" status -c "$T/tollgate.yaml" ||
	{ cat "$T/agent.log"; bail "no agent"; }

# The workload, in acme's cgroup: python3 imports zlib and prints the kernel's list of
# the files it has mapped.
sh -c 'echo $$ >"$1/cgroup.procs" && exec python3 -c "import zlib, sys
zlib.compress(b\"tollgate\")
sys.stdout.write(open(\"/proc/self/maps\").read())"' - "$CG/acme" >"$T/maps"
check "the workload ran in acme's cgroup" -- test -s "$T/maps"
LIBZ=$(awk '$6 ~ /\/libz\.so/ { print $6; exit }' "$T/maps")
check "it mapped a libz (/proc/self/maps: $LIBZ)" -- test -n "$LIBZ"
equal "it did not map libyaml" "$(grep -c 'libyaml' "$T/maps")" 0
# dpkg knows the file by its package's name for it (/lib/... on a merged /usr)
ZPKG=$(dpkg -S "$LIBZ" 2>/dev/null | head -1 | cut -d: -f1)
[ -n "$ZPKG" ] || ZPKG=$(dpkg -S "${LIBZ#/usr}" 2>/dev/null | head -1 | cut -d: -f1)
check "dpkg -S names the package owning $LIBZ ($ZPKG)" -- test -n "$ZPKG"
check "and it is not $OTHER_PKG" -- test "$ZPKG" != "$OTHER_PKG"
ZVER=$(dpkg-query -W -f='${Version}' "$ZPKG")
YVER=$(dpkg-query -W -f='${Version}' "$OTHER_PKG")

inventory_has_libz() {
	[ -f "$INV" ] && [ "$(sqlite3 "$INV" "SELECT count(*) FROM inventory WHERE tenant = 'acme' AND path LIKE '%/libz.so%'" 2>/dev/null)" -ge 1 ]
}
check "the agent's inventory records acme's libz" -- wait_for 10 inventory_has_libz ||
	{ sqlite3 "$INV" "SELECT * FROM inventory" 2>&1 | head -20; tail -5 "$T/agent.log"; }
equal "the inventory file is 0600" "$(stat -c %a "$INV")" 600

cat >"$T/grype.json" <<JSON
{"matches": [
 {"vulnerability": {"id": "CVE-2023-45853", "severity": "Critical"},
  "artifact": {"name": "$ZPKG", "version": "$ZVER", "type": "deb",
   "purl": "pkg:deb/debian/$ZPKG@$ZVER?arch=amd64&distro=debian-12"}},
 {"vulnerability": {"id": "CVE-2024-35325", "severity": "Medium"},
  "artifact": {"name": "$OTHER_PKG", "version": "$YVER", "type": "deb",
   "purl": "pkg:deb/debian/$OTHER_PKG@$YVER?arch=amd64&distro=debian-12"}}
]}
JSON

"$TG" relevance -c "$T/tollgate.yaml" --report "$T/grype.json" --tenant acme --json \
	>"$T/acme.json" 2>"$T/acme.err"
check "relevance --tenant acme exits 0" -- test $? -eq 0 || cat "$T/acme.err"
equal "acme: exactly $ZPKG is loaded" \
	"$(python3 -c "import json
d=json.load(open('$T/acme.json'))
print(sorted((v['package'], v['loaded']) for v in d['vulnerabilities']))")" \
	"[('$OTHER_PKG', False), ('$ZPKG', True)]"
equal "acme: the loaded file is the one the workload mapped, as a library of acme" \
	"$(python3 -c "import json, os
d=json.load(open('$T/acme.json'))
v=[v for v in d['vulnerabilities'] if v['loaded']][0]
print(sorted({(f['path'] == os.path.realpath('$LIBZ'), f['tenant'], f['kind']) for f in v['files']}))")" \
	"[(True, 'acme', 'lib')]"
equal "summary: 2 vulnerabilities, 1 loaded, 1 not" \
	"$(python3 -c "import json; s=json.load(open('$T/acme.json'))['summary']; print(s['vulnerabilities'], s['loaded'], s['not_loaded'])")" \
	"2 1 1"

"$TG" relevance -c "$T/tollgate.yaml" --report "$T/grype.json" --tenant beta --json \
	>"$T/beta.json" 2>"$T/beta.err"
RC=$?
# beta's cgroup ran nothing: no inventory at all for it, which is an error, not "no"
equal "beta (nothing ran): exit 1, said clearly" "$RC $(grep -c 'no entries' "$T/beta.err")" "1 1"

check "the table form names the loaded file" -- bash -c "'$TG' relevance -c '$T/tollgate.yaml' --report '$T/grype.json' --tenant acme | grep -q 'lib .*libz.*tenant acme'"

echo '{"bomFormat": "CycloneDX"}' >"$T/sbom.json"
"$TG" relevance -c "$T/tollgate.yaml" --report "$T/sbom.json" 2>"$T/sbom.err" >/dev/null
equal "an unknown report format: exit 1, said clearly" "$? $(grep -c 'unknown report format' "$T/sbom.err")" "1 1"

kill -TERM "$AGENT" && wait "$AGENT"
AGENT=
tap_done

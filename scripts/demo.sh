#!/usr/bin/env bash
# `make demo`: the whole story on a simulated Windows fleet, in about a minute.
#   1. bring the lab's demo fleet up (7 simulated Windows hosts on loopback: WinRM + a real smbd each)
#   2. audit: read every host, change nothing, show what is not compliant
#   3. enforce: apply each host's profile values
#   4. verify: read every host back and ask its smbd, on the wire, whether signing is required
#   5. the fleet report: print where it is
#   6. take the lab down (also on failure or Ctrl-C)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

export PATH="$root/.venv/bin:$PATH"
export PYTHONPATH="$root/tests"
export ANSIBLE_COLLECTIONS_PATH="$root/.collections"
mkdir -p .collections/ansible_collections/winhardening
ln -sfn ../../.. .collections/ansible_collections/winhardening/smb

# Quiet, readable Ansible: the default callback without the per-host "ok"/"skipping" lines; the
# full output goes to a log file per step, and the steps print a table from the report instead.
export ANSIBLE_STDOUT_CALLBACK=ansible.builtin.default
export ANSIBLE_DISPLAY_OK_HOSTS=false
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=false
export ANSIBLE_FORKS=8
export ANSIBLE_NOCOLOR=1

out="$root/build/demo"
state="$out/lab"
rm -rf "$out"
mkdir -p "$out"
fleet=tests/lab/fleets/demo.yml
started=$SECONDS

if [[ -t 1 ]]; then bold=$'\e[1m'; dim=$'\e[2m'; reset=$'\e[0m'; else bold=; dim=; reset=; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$reset"; }
note() { printf '%s%s%s\n' "$dim" "$*" "$reset"; }

lab_down() {
  if [[ -f $state/daemon.json ]]; then
    step "6/6 Taking the lab down"
    python -m lab down --state-dir "$state" >"$out/lab-down.json" || true
    note "every lab process stopped"
  fi
}
trap lab_down EXIT

# run_playbook NAME LOGFILE ARGS...: run one collection playbook, keep its output in LOGFILE,
# show the recap; on failure show the end of the log.
run_playbook() {
  local name=$1 log=$2
  shift 2
  if ansible-playbook "winhardening.smb.$name" -i "$state/inventory.yml" "$@" >"$log" 2>&1; then
    # PLAY RECAP, one short line per host.
    sed -n '/PLAY RECAP/,$p' "$log" | sed 1d | sed '/^$/d' |
      awk '{printf "  %-8s %s %s %s %s\n", $1, $3, $4, $6, $5}'
  else
    echo "ansible-playbook winhardening.smb.$name failed; the end of $log:" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
}

# table REPORT_JSON: one line per host from the report.
table() {
  python - "$1" <<'PY'
import json
import sys

report = json.load(open(sys.argv[1]))
def onoff(value):
    return "-" if value is None else ("yes" if value else "no")
print("  {:<8} {:<19} {:<14} {:>9} {:>9} {:>9}  {}".format(
    "host", "profile", "status", "srv req", "cli req", "wire req", "not compliant / notes"))
for h in sorted(report["hosts"], key=lambda h: h["host"]):
    s = h["settings"]
    wire = (h["wire"] or {}).get("signing_required")
    notes = list(h["noncompliant"])
    if "smb1_enabled" in h["flags"]:
        notes.append("SMB1 on")
    notes += ["GPO owns " + f[4:] for f in h["flags"] if f.startswith("gpo:")]
    events = h["audit_events"]
    if events and events["server"]["count"]:
        notes.append("unsigned clients in its audit log: " + ", ".join(
            p["peer"] for p in events["server"]["peers"]))
    print("  {:<8} {:<19} {:<14} {:>9} {:>9} {:>9}  {}".format(
        h["host"], h["profile"], h["status"], onoff(s["server_require"]["value"]),
        onoff(s["client_require"]["value"]), onoff(wire), ", ".join(notes)))
summary = report["summary"]
print("  -> {} of {} hosts compliant; {} client->server host pairs would talk SMB2/3 unsigned".format(
    summary["compliant_hosts"], summary["hosts"], summary["unsigned_pairs"]))
PY
}

step "1/6 Bringing up the demo fleet (tests/lab/fleets/demo.yml)"
python -m lab up --fresh --fleet "$fleet" --state-dir "$state" >/dev/null
python - "$state" <<'PY'
import sys
from lab.client import LabClient
for h in LabClient(sys.argv[1]).status()["hosts"]:
    print("  {:<8} {:<15} {:<20} DomainRole {}".format(
        h["name"], h["address"], h["os"], h["domain_role"]))
PY
note "two DCs, four member servers (2016 with SMB1 on, 2019 with a GPO owning client signing,"
note "2025 with unsigned clients in its audit log), one standalone server"

step "2/6 Audit: ansible-playbook winhardening.smb.audit (reads only, writes nothing)"
run_playbook audit "$out/audit.log" -e "smb_signing_report_dir=$out/audit-report"
table "$out/audit-report/smb_signing_report.json"
writes=$(python - "$state" <<'PY'
import sys
from lab.client import LabClient
client = LabClient(sys.argv[1])
print(sum(len(client.records(h)["writes"]) for h in client.hosts()))
PY
)
note "registry writes the lab recorded during the audit: $writes"
note "(with -e smb_signing_require_clean_audit=true, enforce would refuse to require server"
note " signing on a host whose audit log names unsigned clients, and name them)"

step "3/6 Enforce: ansible-playbook winhardening.smb.enforce (applies, then verifies)"
run_playbook enforce "$out/enforce.log" -e "smb_signing_report_dir=$out/report"

step "4/6 Verify: every host read back, and its smbd asked on the wire"
table "$out/report/smb_signing_report.json"
note "\"wire req\" is what an unauthenticated SMB2 NEGOTIATE to each host's smbd says now"

step "5/6 The fleet report"
echo "  HTML: $out/report/smb_signing_report.html"
echo "  JSON: $out/report/smb_signing_report.json"
echo "  CSV:  $out/report/smb_signing_report.csv"
note "the audit's report (before enforcing) is in $out/audit-report/"

lab_down
trap - EXIT
printf '\n%sDone in %ss.%s Open %s in a browser.\n' "$bold" "$((SECONDS - started))" "$reset" \
  "$out/report/smb_signing_report.html"

#!/usr/bin/env bash
# CTest deploy.alerts: the alert rules pass `promtool check rules`, and `promtool test rules`
# fires each alert on a synthetic series and keeps it silent on a healthy one
# (deploy/prometheus/inotrace-rules.test.yaml); the Grafana dashboard's queries parse.
# Exits 77 (skipped) without promtool.
set -euo pipefail
dir=$(cd "$(dirname "$0")/../prometheus" && pwd)
command -v promtool >/dev/null || { echo "SKIPPED deploy.alerts: promtool not installed (Debian package prometheus; scripts/install-deps.sh)"; exit 77; }
cd "$dir"
promtool check rules inotrace-rules.yaml
# promtool prints only SUCCESS; say what each test covered.
awk '/^- name: /{sub(/^- name: /,""); print "  test: " $0}' inotrace-rules.test.yaml
promtool test rules inotrace-rules.test.yaml
# Every alert of the rules file has a test in which it fires (an expected alert, not only []).
fired=$(awk '/- alertname: /{a=$NF} /- exp_labels:/{print a}' inotrace-rules.test.yaml | sort -u)
missing=""
for a in $(grep -oP '^\s+- alert: \K\w+' inotrace-rules.yaml); do
  grep -qx "$a" <<<"$fired" || missing+=" $a"
done
[[ -z $missing ]] || { echo "FAIL: no test for:$missing"; exit 1; }
echo "every alert fires in a test: $(echo $fired)"
# The dashboard's queries, as recording rules, through promtool's PromQL parser.
dashboard="$dir/../grafana/inotrace-dashboard.json"
tmp=$(mktemp /tmp/inotrace-dashboard-rules.XXXXXX.yaml)
trap 'rm -f "$tmp"' EXIT
{
  echo "groups: [{name: dashboard, rules: ["
  jq -r '[.panels[].targets[].expr] | to_entries[] |
    "{record: dashboard:query\(.key), expr: \(.value | gsub("\\$node"; ".*") | tojson)},"' "$dashboard"
  echo "]}]"
} >"$tmp"
echo "# dashboard queries ($(jq '[.panels[].targets[]] | length' "$dashboard")) parse:"
promtool check rules "$tmp" | grep -E 'SUCCESS|FAILED'

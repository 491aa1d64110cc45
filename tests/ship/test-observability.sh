#!/usr/bin/env bash
# Alerts and dashboard, without a cluster:
#  - promtool check rules on the plain rules file, on the kustomize PrometheusRule's spec
#    and on the chart's rendered PrometheusRule; promtool test rules (alerts_test.yaml);
#  - the Grafana dashboard has the panels the issue names, every query is valid PromQL
#    (promtool parses it as a recording rule) and names only metrics in docs/metrics.md.
source "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus; make deps)"
tmp="$(mktemp -d)"
on_exit "rm -rf '$tmp'"
mon="$SRC/manifests/monitoring"

promtool check rules "$mon/alerts.rules.yaml"
promtool test rules "$SRC/tests/ship/testdata/alerts_test.yaml"

# spec of a PrometheusRule document (on stdin) as a plain rules file
spec_of() { sed -n '/^spec:/,$p' | sed '1d; s/^  //'; }
spec_of <"$mon/prometheusrule.yaml" >"$tmp/kustomize.rules.yaml"
promtool check rules "$tmp/kustomize.rules.yaml"
use_helm
hb template r "$SRC/charts/failover-operator" --set prometheusRule.enabled=true |
  awk '/^# Source: .*prometheusrule.yaml/{p=1; next} /^---/{p=0} p' | spec_of >"$tmp/chart.rules.yaml"
promtool check rules "$tmp/chart.rules.yaml"
diff <(sed -n '/^groups:/,$p' "$mon/alerts.rules.yaml") "$tmp/kustomize.rules.yaml" ||
  fail "the kustomize PrometheusRule differs from alerts.rules.yaml"
# toYaml re-flows long strings: compare the chart's by alert names and rule counts.
diff <(grep -oE 'alert: [A-Za-z]+' "$mon/alerts.rules.yaml") <(grep -oE 'alert: [A-Za-z]+' "$tmp/chart.rules.yaml") ||
  fail "the chart PrometheusRule's alerts differ from alerts.rules.yaml"
expect_eq chart-rule-count "$(promtool check rules "$mon/alerts.rules.yaml" | grep -o 'SUCCESS.*')" \
  "$(promtool check rules "$tmp/chart.rules.yaml" | grep -o 'SUCCESS.*')"
for a in FailoverGroupFailoverOccurred FailoverGroupNoHealthyStandby FailoverGroupDegraded \
         FailoverGroupFlapping FailoverOperatorDown FailoverOperatorNotLeading; do
  grep -q "alert: $a\$" "$mon/alerts.rules.yaml" || fail "alert $a missing"
done
log "ok: alerts valid, tested, and identical in all three forms"

dash="$mon/grafana-dashboard.json"
jq -e . "$dash" >/dev/null || fail "dashboard is not JSON"
titles="$(jq -r '.panels[].title' "$dash")"
for t in "Failovers by group" "Failovers from → to" "Detection latency" "Switch duration" \
         "Active member" "Healthy members" "Phase" "Reconcile errors" "Work queue depth" "Leader"; do
  grep -qxF "$t" <<<"$titles" || fail "dashboard panel '$t' missing"
done
jq -e '[.panels[] | (.targets | length) > 0] | all' "$dash" >/dev/null || fail "a panel has no query"
jq -e '[.panels[].id] | length == (unique | length)' "$dash" >/dev/null || fail "panel ids are not unique"
# Every query, with Grafana's variables substituted, as a recording rule promtool must parse.
{
  echo "groups:"; echo "- name: dashboard"; echo "  rules:"
  jq -r '.panels[] | .title as $t | .targets[] | [$t + " " + .refId, .expr] | @tsv' "$dash" |
    while IFS=$'\t' read -r title expr; do
      expr="${expr//\$__rate_interval/1m}"; expr="${expr//\$namespace/.*}"; expr="${expr//\$group/.*}"
      printf '  - record: dashboard:%s\n    expr: %s\n' "$(tr -c 'a-zA-Z0-9\n' _ <<<"$title")" "$(jq -Rn --arg e "$expr" '$e')"
    done
} >"$tmp/dashboard.rules.yaml"
promtool check rules "$tmp/dashboard.rules.yaml" >"$tmp/check.out" 2>&1 || { cat "$tmp/check.out"; fail "a dashboard query is not valid PromQL"; }
grep -q FAILED "$tmp/check.out" && { cat "$tmp/check.out"; fail "promtool rejects a dashboard query"; }
known="$(grep -oE '^\| `[a-z_]+`' "$SRC/docs/metrics.md" | tr -d '|` ' ; echo up)"
for m in $(jq -r '.panels[].targets[].expr, .annotations.list[].expr // empty' "$dash" |
           grep -oE '\b(failover_[a-z_]+|controller_runtime_[a-z_]+|workqueue_[a-z_]+|leader_election_[a-z_]+|rest_client_[a-z_]+)' |
           sed -E 's/_(bucket|sum|count)$//' | sort -u); do
  grep -qx "$m" <<<"$known" || fail "dashboard queries $m, which docs/metrics.md does not define"
done
log "ok: $(jq '.panels | length' "$dash") panels, every query valid and on documented metrics"
log "PASS"

#!/usr/bin/env bash
# Alerts and dashboard, without a cluster:
#  - promtool check rules on the plain rules file, on the kustomize PrometheusRule's spec
#    and on the chart's rendered PrometheusRule; promtool test rules (alerts_test.yaml);
#  - every selector of every alert has job="failover-operator" (other components export
#    leader_election_master_status, controller_runtime_*, workqueue_*, ...), every alert has
#    a runbook_url to its section of docs/runbooks.md, and the chart keeps both (and
#    follows nameOverride, prometheusRule.job and prometheusRule.runbookBaseURL);
#  - the ServiceMonitors (kustomize and chart) set honorLabels: true and jobLabel
#    app.kubernetes.io/name, and the metrics Service's app.kubernetes.io/name is the job the
#    alerts select;
#  - the Grafana dashboard has the panels the issue names, every query is valid PromQL
#    (promtool parses it as a recording rule), names only metrics in docs/metrics.md, and
#    selects job=~"$job" (a variable over the jobs exporting failover_operator_build_info).
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

# The metric names docs/metrics.md defines, and up.
known="$(grep -oE '^\| `[a-z_]+`' "$SRC/docs/metrics.md" | tr -d '|` ' ; echo up)"
names_re="\\b($(paste -sd'|' <<<"$known"))(_bucket|_sum|_count)?\\b(\\{[^}]*\\})?"
# exprs FILE: each alert's expr on one line (block scalars joined).
exprs() {
  awk '
    blk && /^      / { e = e " " $0; next }
    blk { print e; blk = 0 }
    /^    expr: \|/ { blk = 1; e = ""; next }
    /^    expr: / { sub(/^    expr: /, ""); print }
    END { if (blk) print e }' "$1"
}
# selectors_without MATCHER: reads PromQL lines, prints each selector of a known metric
# that lacks MATCHER.
selectors_without() {
  local line sel
  while IFS= read -r line; do
    grep -oE "$names_re" <<<"$line" | while IFS= read -r sel; do
      [[ "$sel" == *"{"*"$1"*"}" ]] || echo "$sel"
    done
  done
}
n_alerts="$(grep -c '^  - alert: ' "$mon/alerts.rules.yaml")"
expect_eq exprs-per-alert "$n_alerts" "$(exprs "$mon/alerts.rules.yaml" | grep -c .)"
bare="$(exprs "$mon/alerts.rules.yaml" | selectors_without 'job="failover-operator"')"
[ -z "$bare" ] || fail "alert selectors without job=\"failover-operator\": $(sort -u <<<"$bare" | head -5)"
n_sel="$(exprs "$mon/alerts.rules.yaml" | grep -oE "$names_re" | grep -c .)"
[ "$n_sel" -ge "$n_alerts" ] || fail "found $n_sel metric selectors in $n_alerts alerts: is the metric list right?"
log "ok: all $n_sel metric selectors of the $n_alerts alerts select job=\"failover-operator\""

runbooks="$SRC/docs/runbooks.md"
base='https://github.com/failover-operator/failover-operator/blob/main/docs/runbooks.md'
# alert name and runbook_url, one pair per alert
awk '/^  - alert: /{a=$3} /^      runbook_url: /{u=$2; gsub(/"/, "", u); print a, u}' "$mon/alerts.rules.yaml" >"$tmp/runbooks"
expect_eq alerts-with-runbook_url "$n_alerts" "$(grep -c . "$tmp/runbooks")"
while read -r alert url; do
  anchor="$(tr 'A-Z' 'a-z' <<<"$alert")"
  expect_eq "runbook_url of $alert" "$base#$anchor" "$url"
  grep -qx "## $alert" "$runbooks" || fail "docs/runbooks.md has no section '## $alert' (anchor #$anchor)"
  for part in '**Means.**' '**Check.**' '**Do.**'; do
    awk -v h="## $alert" '$0 == h {p = 1; next} /^## /{p = 0} p' "$runbooks" | grep -qF "$part" ||
      fail "docs/runbooks.md, $alert: no $part paragraph"
  done
done <"$tmp/runbooks"
# Every kubectl failover command a runbook names exists in the plugin.
for cmd in $(grep -oE 'kubectl failover [a-z]+' "$runbooks" | awk '{print $3}' | sort -u); do
  grep -qE "^  $cmd( |\$)" <(sed -n '/^Commands:/,/^Options:/p' "$SRC/src/plugin/main.cpp") ||
    fail "docs/runbooks.md uses 'kubectl failover $cmd', which the plugin does not have"
done
log "ok: every alert links its runbook section (Means, Check, Do), whose plugin commands exist"

# The chart's PrometheusRule keeps the matchers and links; nameOverride, prometheusRule.job
# and prometheusRule.runbookBaseURL move them.
chart_rules() { hb template r "$SRC/charts/failover-operator" --set prometheusRule.enabled=true "$@" |
  awk '/^# Source: .*prometheusrule.yaml/{p=1; next} /^---/{p=0} p'; }
expect_eq chart-runbook-urls "$n_alerts" "$(grep -c "runbook_url: $base#[a-z]*\$" "$tmp/chart.rules.yaml")"
expect_eq chart-job-matchers "$n_sel" "$(grep -o 'job="failover-operator"' "$tmp/chart.rules.yaml" | grep -c .)"
chart_rules --set nameOverride=fo >"$tmp/fo.rules.yaml"
expect_eq nameOverride-job-matchers "$n_sel 0" "$(grep -o 'job="fo"' "$tmp/fo.rules.yaml" | grep -c .) $(grep -c 'job="failover-operator"' "$tmp/fo.rules.yaml")"
chart_rules --set prometheusRule.job=kubernetes-pods >"$tmp/job.rules.yaml"
expect_eq prometheusRule.job-matchers "$n_sel" "$(grep -o 'job="kubernetes-pods"' "$tmp/job.rules.yaml" | grep -c .)"
chart_rules --set prometheusRule.runbookBaseURL=https://wiki.example.com/failover/runbooks >"$tmp/url.rules.yaml"
expect_eq runbookBaseURL "$n_alerts" "$(grep -c 'runbook_url: https://wiki.example.com/failover/runbooks#[a-z]*$' "$tmp/url.rules.yaml")"
log "ok: the chart's alerts select its job and link the runbooks"

# ServiceMonitors: honorLabels (the group's namespace label survives the scrape) and the
# job the alerts select.
sm="$mon/servicemonitor.yaml"
grep -qx '  jobLabel: app.kubernetes.io/name' "$sm" || fail "kustomize ServiceMonitor: no jobLabel app.kubernetes.io/name"
grep -qx '    honorLabels: true' "$sm" || fail "kustomize ServiceMonitor: endpoint without honorLabels: true"
# Secure metrics: https with Prometheus's ServiceAccount token.
grep -qx '    scheme: https' "$sm" || fail "kustomize ServiceMonitor: not scheme https (metrics are secure by default)"
grep -qx '    bearerTokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token' "$sm" ||
  fail "kustomize ServiceMonitor: no bearerTokenFile (the scrape must carry Prometheus's token)"
grep -qx '    app.kubernetes.io/name: failover-operator' "$SRC/manifests/manager/metrics_service.yaml" ||
  fail "the kustomize metrics Service's app.kubernetes.io/name is not failover-operator (the alerts' job)"
chart_objects() { hb template r "$SRC/charts/failover-operator" --set serviceMonitor.enabled=true "$@"; }
only() { awk -v f="$1" '/^# Source: /{p = ($0 ~ f); next} /^---/{p=0} p'; }
for name in "" fo; do
  args=(); [ -z "$name" ] || args=(--set "nameOverride=$name")
  chart_objects "${args[@]}" >"$tmp/sm.yaml"
  only servicemonitor.yaml <"$tmp/sm.yaml" >"$tmp/sm-only.yaml"
  grep -qx '  jobLabel: app.kubernetes.io/name' "$tmp/sm-only.yaml" || fail "chart ServiceMonitor: no jobLabel"
  grep -qx '    honorLabels: true' "$tmp/sm-only.yaml" || fail "chart ServiceMonitor: no honorLabels: true"
  grep -qx '    scheme: https' "$tmp/sm-only.yaml" || fail "chart ServiceMonitor: not scheme https by default"
  grep -qx '    bearerTokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token' "$tmp/sm-only.yaml" ||
    fail "chart ServiceMonitor: no bearerTokenFile by default"
  expect_eq "chart metrics Service name label (nameOverride='$name')" "${name:-failover-operator}" \
    "$(only metrics-service.yaml <"$tmp/sm.yaml" | sed -n 's/^    app.kubernetes.io\/name: //p' | sort -u)"
done
log "ok: ServiceMonitors honour the operator's labels and give the job the alerts select"

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
      expr="${expr//\$__rate_interval/1m}"; expr="${expr//\$namespace/.*}"; expr="${expr//\$group/.*}"; expr="${expr//\$job/.*}"
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
jq -e '.templating.list[] | select(.name == "job") | .query.query == "label_values(failover_operator_build_info, job)"' "$dash" >/dev/null ||
  fail "dashboard: no job variable over label_values(failover_operator_build_info, job)"
bare="$(jq -r '.panels[].targets[].expr, .annotations.list[].expr // empty, (.templating.list[] | select(.name != "job") | .query.query? // empty)' "$dash" |
        selectors_without 'job=~"$job"')"
[ -z "$bare" ] || fail "dashboard selectors without job=~\"\$job\": $(sort -u <<<"$bare" | head -5)"
log "ok: $(jq '.panels | length' "$dash") panels, every query valid, on documented metrics, of the selected job"
log "PASS"

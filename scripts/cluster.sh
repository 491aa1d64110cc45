#!/usr/bin/env bash
# The local control plane: etcd, kube-apiserver and kube-controller-manager on free
# loopback ports, plus the harness (node agent, service proxy) when it is built.
#
#   cluster.sh up | down | status | env | stop-apiserver | start-apiserver | compact
#
# State lives in $FO_CLUSTER_DIR (default <repo>/.local/cluster), the admin kubeconfig in
# $FO_KUBECONFIG (default <repo>/.local/kubeconfig). Each running cluster owns a loopback
# /16, 127.N.0.0/16 with N in 10..250, so several clusters (one per build dir) can run at once.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${FO_CLUSTER_DIR:-$REPO/.local/cluster}"
KUBECONFIG_OUT="${FO_KUBECONFIG:-$REPO/.local/kubeconfig}"
BIN_DIR="${FO_BIN_DIR:-$REPO/build/bin}"
NODE_NAME="${FO_NODE_NAME:-local-node}"
CACHE_ROOT="${FAILOVER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/failover-operator}"
REGISTRY="$CACHE_ROOT/clusters"
SERVICE_CIDR="10.96.0.0/16"
SERVICE_IP="10.96.0.1"
STOP_GRACE_S=10
READY_TIMEOUT_S=120

# Stop order: harness first, etcd last.
COMPONENTS=(failover-service-proxy failover-node-agent kube-controller-manager kube-apiserver etcd)

log() { echo "cluster.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The last lines of a component's log, for error messages.
show_log() {
  local f="$STATE/logs/$1.log"
  if [ -s "$f" ]; then
    log "last lines of $f:"
    tail -n 25 "$f" | sed 's/^/    /' >&2
  fi
}

fail_component() { log "ERROR: $2 (log: $STATE/logs/$1.log)"; show_log "$1"; exit 1; }

abspath() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
STATE="$(abspath "$STATE")"
KUBECONFIG_OUT="$(abspath "$KUBECONFIG_OUT")"

# ---- processes: a PID counts as ours only while its start time matches the recorded one.

start_time_of() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null || true; }

# Prints the recorded PID of a component if that exact process is still alive.
live_pid() {
  local f="$STATE/pids/$1.pid" pid started
  [ -f "$f" ] || return 1
  read -r pid started <"$f" || return 1
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  [ "$(start_time_of "$pid")" = "$started" ] || return 1
  # A zombie of ours is gone for every purpose but the process table.
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != "Z" ] || return 1
  echo "$pid"
}

# start_component NAME: runs the command recorded in $STATE/cmd/NAME in its own session,
# detached from our stdio (so callers such as ctest are not held by inherited pipes) and
# from every other descriptor the caller had open: a lock the caller holds (`flock F make
# cluster-up`) must end with the caller, not live on in the daemons.
start_component() {
  local name="$1" pidfile="$STATE/pids/$1.pid"
  rm -f "$pidfile.tmp"
  setsid bash -c 'for f in /proc/$$/fd/*; do n="${f##*/}"; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null; done
    echo $$ >"$1"; shift; exec "$@"' _ "$pidfile.tmp" \
    bash "$STATE/cmd/$name" </dev/null >>"$STATE/logs/$name.log" 2>&1 7>&- 8>&- &
  local i pid=""
  for i in $(seq 1 100); do
    [ -s "$pidfile.tmp" ] && pid="$(cat "$pidfile.tmp")" && [ -n "$(start_time_of "$pid")" ] && break
    sleep 0.02
  done
  [ -n "$pid" ] || fail_component "$name" "could not start $name"
  echo "$pid $(start_time_of "$pid")" >"$pidfile"
  rm -f "$pidfile.tmp"
}

# record_command NAME ARGV...: the exact command line, replayable by start-apiserver.
record_command() {
  local name="$1"; shift
  { printf 'exec'; printf ' %q' "$@"; printf '\n'; } >"$STATE/cmd/$name"
}

# stop_component NAME [GRACE_S]: SIGTERM, SIGKILL after the grace, then verify it is gone.
stop_component() {
  local name="$1" grace="${2:-$STOP_GRACE_S}" pid i
  pid="$(live_pid "$name")" || { rm -f "$STATE/pids/$name.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 $((grace * 10))); do
    live_pid "$name" >/dev/null || break
    sleep 0.1
  done
  if live_pid "$name" >/dev/null; then
    log "$name (pid $pid) still running ${grace}s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do live_pid "$name" >/dev/null || break; sleep 0.1; done
  fi
  if live_pid "$name" >/dev/null; then
    die "$name (pid $pid) is still running after SIGKILL"
  fi
  rm -f "$STATE/pids/$name.pid"
}

stop_all() {
  local c
  for c in "${COMPONENTS[@]}"; do stop_component "$c"; done
}

# True if every component this cluster started (has a recorded command for) is alive.
all_recorded_running() {
  local f n=0
  for f in "$STATE"/cmd/*; do
    [ -f "$f" ] || continue
    live_pid "$(basename "$f")" >/dev/null || return 1
    n=$((n + 1))
  done
  [ "$n" -gt 0 ]
}

# ---- loopback slots: $REGISTRY/slot-N holds the state dir that owns 127.N.0.0/16.

slot_owner_alive() {
  local owner
  owner="$(cat "$REGISTRY/slot-$1" 2>/dev/null)" || return 1
  [ -n "$owner" ] && [ -f "$owner/slot" ] && [ "$(cat "$owner/slot")" = "$1" ]
}

claim_slot() {
  mkdir -p "$REGISTRY"
  local n start i
  exec 8>"$REGISTRY/.lock"
  flock 8
  if [ -f "$STATE/slot" ]; then
    n="$(cat "$STATE/slot")"
    echo "$STATE" >"$REGISTRY/slot-$n"
    flock -u 8; echo "$n"; return 0
  fi
  start=$(( $(printf '%s' "$STATE" | cksum | cut -d' ' -f1) % 241 ))
  for i in $(seq 0 240); do
    n=$(( 10 + (start + i) % 241 ))
    if ! slot_owner_alive "$n"; then
      echo "$STATE" >"$REGISTRY/slot-$n"
      echo "$n" >"$STATE/slot"
      flock -u 8; echo "$n"; return 0
    fi
  done
  flock -u 8
  die "no free loopback slot in 127.10-250.0.0 (see $REGISTRY)"
}

release_slot() {
  local n
  n="$(cat "$STATE/slot" 2>/dev/null)" || return 0
  mkdir -p "$REGISTRY"
  exec 8>"$REGISTRY/.lock"
  flock 8
  if [ "$(cat "$REGISTRY/slot-$n" 2>/dev/null)" = "$STATE" ]; then rm -f "$REGISTRY/slot-$n"; fi
  flock -u 8
}

# ---- ports

# free_port SLOT: sets PORT to a TCP port nothing uses now and this run has not handed out.
# Slot N owns ports 10000+(N-10)*50 .. +49: clusters starting at once cannot pick the same
# port, and the block stays below the kernel's ephemeral range (32768+), where outgoing
# connections would otherwise take a port between choosing it and binding it.
declare -A TAKEN_PORTS=()
PORT=""
free_port() {
  local base=$(( 10000 + ($1 - 10) * 50 )) p
  for p in $(seq "$base" $((base + 49))); do
    [ -z "${TAKEN_PORTS[$p]:-}" ] || continue
    if [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]; then
      TAKEN_PORTS[$p]=1; PORT="$p"; return 0
    fi
  done
  die "no free TCP port in $base..$((base + 49)) on 127.0.0.1 (slot $1)"
}

# ---- the pod network: a network namespace per cluster, as pods have on a real node.
# Pod IPs live in it (10.N.0.0/16 for slot N, all local there through one `local` route,
# so any of them can be bound at once); the host reaches them through a veth pair
# (169.254.N.1 on the host, .2 inside) and a route. EndpointSlices refuse loopback
# addresses (Kubernetes 1.2x+), which is why pods cannot simply use 127.N.x.y. Needs
# root (ip netns); without it pods keep loopback addresses and get no EndpointSlices.

pod_netns_name() { echo "fo-pods-$1"; }

pod_network_possible() { [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null; }

pod_network_down() {
  local ns; ns="$(pod_netns_name "$1")"
  ip netns del "$ns" 2>/dev/null || true
  ip link del "fo$1h" 2>/dev/null || true
}

# pod_network_up SLOT: prints the pod CIDR.
pod_network_up() {
  local n="$1" ns host="fo$1h" peer="fo$1p"
  ns="$(pod_netns_name "$n")"
  pod_network_down "$n"
  {
    ip netns add "$ns" &&
    ip link add "$host" type veth peer name "$peer" &&
    ip link set "$peer" netns "$ns" &&
    ip addr add "169.254.$n.1/30" dev "$host" &&
    ip link set "$host" up &&
    ip -n "$ns" link set lo up &&
    ip -n "$ns" addr add "169.254.$n.2/30" dev "$peer" &&
    ip -n "$ns" link set "$peer" up &&
    ip -n "$ns" route add local "10.$n.0.0/16" dev lo &&
    ip -n "$ns" route add default via "169.254.$n.1" &&
    ip route add "10.$n.0.0/16" via "169.254.$n.2" dev "$host"
  } >>"$STATE/logs/pod-network.log" 2>&1 || {
    pod_network_down "$n"
    fail_component pod-network "setting up the pod network namespace $ns failed"
  }
  echo "10.$n.0.0/16"
}

# ---- certificates

gen_certs() {
  local d="$STATE/pki" n="$1" node_ip="$2"
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -keyout ca.key -out ca.crt -subj "/CN=failover-operator-local-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    # sign NAME SUBJECT EXTENSIONS
    sign() {
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$1.key" -out "$1.csr" -subj "$2"
      printf '%s\n' "$3" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        -out "$1.crt" -extfile "$1.ext"
      rm -f "$1.csr" "$1.ext"
    }
    local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
    sign apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:::1,IP:$node_ip,IP:$SERVICE_IP"
    sign admin "/O=system:masters/CN=failover-admin" "$client"
    sign controller-manager "/CN=system:kube-controller-manager" "$client"
    # The controller-manager's own serving cert, so it does not write one into the repo.
    sign controller-manager-serving "/CN=kube-controller-manager" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key
    openssl pkey -in sa.key -pubout -out sa.pub
    chmod 600 ./*.key
  ) >"$STATE/logs/openssl.log" 2>&1 || fail_component openssl "certificate generation with openssl failed"
}

b64() { base64 -w0 <"$1"; }

# write_kubeconfig FILE USER CERT KEY
write_kubeconfig() {
  local tmp="$1.tmp.$$"
  mkdir -p "$(dirname "$1")"
  cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: failover-local
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $(b64 "$STATE/pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(b64 "$3")
    client-key-data: $(b64 "$4")
contexts:
- name: failover-local
  context:
    cluster: failover-local
    user: $2
current-context: failover-local
EOF
  chmod 600 "$tmp"
  mv "$tmp" "$1"
}

# ---- talking to the apiserver with the admin certificate

api() {
  # api METHOD PATH [curl args...]: prints the body; HTTP status in $STATE/.last-http-code
  local method="$1" path="$2"; shift 2
  curl -sS --max-time 10 --cacert "$STATE/pki/ca.crt" --cert "$STATE/pki/admin.crt" \
    --key "$STATE/pki/admin.key" -X "$method" -o /dev/stdout -w '\n%{http_code}' \
    "$@" "$APISERVER_URL$path"
}

http_code_of() { tail -n1 <<<"$1"; }

wait_for() {
  # wait_for COMPONENT WHAT TIMEOUT_S CMD...: polls CMD, failing early if COMPONENT died.
  local comp="$1" what="$2" timeout="$3"; shift 3
  local deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    live_pid "$comp" >/dev/null || fail_component "$comp" "$comp exited while waiting for $what"
    [ "$(date +%s)" -lt "$deadline" ] || fail_component "$comp" "timed out after ${timeout}s waiting for $what"
    sleep 0.1
  done
}

apiserver_ready() {
  local out; out="$(api GET /readyz)" || return 1
  [ "$(http_code_of "$out")" = 200 ]
}
api_exists() {
  local out; out="$(api GET "$1")" || return 1
  [ "$(http_code_of "$out")" = 200 ]
}
controller_manager_healthy() {
  curl -sS --max-time 2 --cacert "$STATE/pki/ca.crt" -o /dev/null -w '%{http_code}' \
    "https://127.0.0.1:$CM_PORT/healthz" | grep -qx 200
}

load_env() {
  [ -f "$STATE/cluster.env" ] || return 1
  local k v
  while IFS='=' read -r k v; do
    case "$k" in
      FO_APISERVER_URL) APISERVER_URL="$v" ;;
      FO_ETCD_ENDPOINT) ETCD_ENDPOINT="$v" ;;
      FO_NODE_IP) NODE_IP="$v" ;;
      FO_NODE_NAME) NODE_NAME="$v" ;;
      FO_K8S_VERSION) RUNNING_VERSION="$v" ;;
    esac
  done <"$STATE/cluster.env"
}

# ---- subcommands

cmd_up() {
  local t0; t0=$(date +%s.%N)
  mkdir -p "$(dirname "$STATE")"
  exec 7>"$STATE.lock"
  # Bounded: processes started by an older cluster.sh may hold this lock for their lifetime.
  flock -w 30 7 || log "warning: $STATE.lock is held by another process; going ahead"
  local want_version; want_version="v$(bash "$REPO/scripts/build-tools.sh" version)" || exit 1
  RUNNING_VERSION=""
  if [ -f "$STATE/cluster.env" ] && all_recorded_running; then
    load_env
    if [ "$RUNNING_VERSION" != "$want_version" ]; then
      log "the running cluster is Kubernetes ${RUNNING_VERSION:-of unknown version}, $want_version is asked for: replacing it"
    elif apiserver_ready; then
      log "already running (state $STATE, apiserver $APISERVER_URL)"
      return 0
    fi
  fi
  if [ -d "$STATE" ]; then
    log "removing a stale cluster state in $STATE"
    stop_all
    rm -rf "${STATE:?}/etcd" "${STATE:?}/pids" "${STATE:?}/cmd" "${STATE:?}/pki" "$STATE/cluster.env"
  fi

  # K8S_VERSION (scripts/build-tools.sh) selects the release; built once and cached.
  local k8s_bin etcd_bin k8s_version
  k8s_version="$(bash "$REPO/scripts/build-tools.sh" version)" || die "K8S_VERSION=${K8S_VERSION:-}: no such Kubernetes version (scripts/build-tools.sh)"
  k8s_bin="$(bash "$REPO/scripts/build-tools.sh" kubernetes)" || die "building Kubernetes $k8s_version failed (scripts/build-tools.sh kubernetes)"
  etcd_bin="$(bash "$REPO/scripts/build-tools.sh" etcd)" || die "building etcd failed (scripts/build-tools.sh etcd)"
  local b; for b in kube-apiserver kube-controller-manager kubectl; do
    [ -x "$k8s_bin/$b" ] || die "$k8s_bin/$b is missing"
  done
  [ -x "$etcd_bin/etcd" ] || die "$etcd_bin/etcd is missing"

  mkdir -p "$STATE"/{logs,pids,cmd}
  trap up_failed EXIT
  local n; n="$(claim_slot)"
  NODE_IP="${FO_NODE_IP:-127.$n.0.1}"
  local pod_cidr pod_netns=""
  if [ -n "${FO_POD_CIDR:-}" ]; then
    pod_cidr="$FO_POD_CIDR"
  elif pod_network_possible; then
    pod_cidr="$(pod_network_up "$n")"
    pod_netns="$(pod_netns_name "$n")"
  else
    pod_cidr="127.$n.0.0/16"
    log "warning: not root: pods get loopback addresses (127.$n.x.y), which EndpointSlices refuse"
  fi

  local etcd_port etcd_peer_port api_port cm_port
  free_port "$n"; etcd_port="$PORT"; free_port "$n"; etcd_peer_port="$PORT"
  free_port "$n"; api_port="$PORT"; free_port "$n"; cm_port="$PORT"
  CM_PORT="$cm_port"
  ETCD_ENDPOINT="http://127.0.0.1:$etcd_port"
  APISERVER_URL="https://127.0.0.1:$api_port"

  gen_certs "$n" "$NODE_IP"

  mkdir -p "$STATE/etcd"; chmod 700 "$STATE/etcd"
  record_command etcd "$etcd_bin/etcd" --name fo-local --data-dir "$STATE/etcd" \
    --listen-client-urls "$ETCD_ENDPOINT" --advertise-client-urls "$ETCD_ENDPOINT" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "fo-local=http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster-state new --logger zap --log-level warn
  start_component etcd

  local pki="$STATE/pki"
  # The ServiceAccount admission plugin is disabled: without a kubelet nothing mounts
  # tokens, and with it enabled every Pod create is rejected until the `default`
  # ServiceAccount exists in the namespace, which races with tests that create a
  # namespace and immediately create pods in it.
  # The `kubernetes` Service's endpoint reconciler is off: its address would be 127.0.0.1,
  # which core/v1 Endpoints reject as loopback.
  # FO_APISERVER_EXTRA_ARGS: more apiserver flags, split on whitespace (e.g. an audit
  # policy for the benchmarks).
  local -a api_extra=()
  read -r -a api_extra <<<"${FO_APISERVER_EXTRA_ARGS:-}"
  # The audit log records, for every request of a client of ours (not the control plane's
  # own controllers, which still clean up deprecated core/v1 Endpoints), whether it used a
  # deprecated API (annotation k8s.io/deprecated): tests/cluster/no_deprecated_apis_test.sh
  # fails a run on any. A caller with its own audit policy (the benchmarks) keeps it.
  case " ${FO_APISERVER_EXTRA_ARGS:-} " in
    *--audit-policy-file*) ;;
    *)
      cat >"$STATE/audit-policy.yaml" <<'POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
- level: None
  users: [system:apiserver, system:kube-controller-manager, system:kube-scheduler]
- level: None
  userGroups: [system:serviceaccounts:kube-system]
- level: None
  nonResourceURLs: ["*"]
- level: Metadata
POLICY
      api_extra+=(--audit-policy-file="$STATE/audit-policy.yaml" --audit-log-path="$STATE/logs/audit.log"
                  --audit-log-mode=batch --audit-log-batch-max-wait=1s --audit-log-maxsize=0) ;;
  esac
  record_command kube-apiserver "$k8s_bin/kube-apiserver" \
    --etcd-servers="$ETCD_ENDPOINT" \
    --bind-address=127.0.0.1 --secure-port="$api_port" --advertise-address=127.0.0.1 \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/ca.crt" \
    --authorization-mode=Node,RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-signing-key-file="$pki/sa.key" \
    --service-account-key-file="$pki/sa.pub" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --disable-admission-plugins=ServiceAccount \
    --endpoint-reconciler-type=none \
    --profiling=false --v=1 "${api_extra[@]}"
  start_component kube-apiserver

  write_kubeconfig "$STATE/controller-manager.kubeconfig" system:kube-controller-manager \
    "$pki/controller-manager.crt" "$pki/controller-manager.key"
  local cmk="$STATE/controller-manager.kubeconfig"
  # deployment and replicaset turn Deployments into pods (the node agent's --schedule binds them).
  # Node lifecycle is deliberately not among the controllers: no kubelet renews the Node's
  # heartbeat here, so it would mark the Node NotReady and evict its pods. The Endpoints
  # controller is left out too: core/v1 Endpoints are deprecated (1.33) and reject the
  # loopback pod addresses used here; the harness and the tests read EndpointSlices.
  # FO_KCM_CONTROLLERS replaces the list (the benchmarks leave the endpoint controllers out
  # and run them in a controller-manager of their own, only when they measure them).
  local kcm_controllers="${FO_KCM_CONTROLLERS:-endpointslice-controller,garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller,clusterrole-aggregation-controller,deployment-controller,replicaset-controller}"
  record_command kube-controller-manager "$k8s_bin/kube-controller-manager" \
    --kubeconfig="$cmk" --authentication-kubeconfig="$cmk" --authorization-kubeconfig="$cmk" \
    --controllers="$kcm_controllers" \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
    --leader-elect=false --bind-address=127.0.0.1 --secure-port="$cm_port" \
    --tls-cert-file="$pki/controller-manager-serving.crt" \
    --tls-private-key-file="$pki/controller-manager-serving.key" \
    --profiling=false --v=1

  wait_for kube-apiserver "/readyz on $APISERVER_URL" "$READY_TIMEOUT_S" apiserver_ready
  start_component kube-controller-manager
  write_kubeconfig "$KUBECONFIG_OUT" failover-admin "$pki/admin.crt" "$pki/admin.key"

  wait_for kube-apiserver "the default namespace" "$READY_TIMEOUT_S" api_exists /api/v1/namespaces/default
  create_node "$pod_cidr"
  wait_for kube-controller-manager "controller-manager /healthz" "$READY_TIMEOUT_S" controller_manager_healthy

  cat >"$STATE/cluster.env.tmp" <<EOF
KUBECONFIG=$KUBECONFIG_OUT
FO_NODE_NAME=$NODE_NAME
FO_NODE_IP=$NODE_IP
FO_POD_CIDR=$pod_cidr
FO_POD_NETNS=$pod_netns
FO_ETCD_ENDPOINT=$ETCD_ENDPOINT
FO_APISERVER_URL=$APISERVER_URL
FO_KUBECTL=$k8s_bin/kubectl
FO_K8S_BIN=$k8s_bin
FO_K8S_VERSION=v$k8s_version
FO_ETCD_BIN=$etcd_bin
FO_CA_CERT=$pki/ca.crt
FO_ADMIN_CERT=$pki/admin.crt
FO_ADMIN_KEY=$pki/admin.key
FO_CLUSTER_SLOT=$n
EOF
  mv "$STATE/cluster.env.tmp" "$STATE/cluster.env"

  start_harness "$pod_cidr" "$pod_netns"
  # The controllers run as their own ServiceAccounts; `default` in `default` shows the
  # serviceaccount controller acting, so tests can rely on the controllers from here on.
  wait_for kube-controller-manager "the default ServiceAccount (controller-manager working)" \
    "$READY_TIMEOUT_S" api_exists /api/v1/namespaces/default/serviceaccounts/default

  trap - EXIT
  local t1; t1=$(date +%s.%N)
  log "Kubernetes v$k8s_version up in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s: apiserver $APISERVER_URL, node $NODE_NAME ($NODE_IP, pods $pod_cidr), kubeconfig $KUBECONFIG_OUT"
}

# A failed up stops what it started; the logs stay in $STATE/logs until the next up or down.
up_failed() {
  local rc=$?
  trap - EXIT
  log "up failed; stopping what it started (logs stay in $STATE/logs; \`cluster.sh down\` removes them)"
  stop_all || true
  if [ -f "$STATE/slot" ] && pod_network_possible; then pod_network_down "$(cat "$STATE/slot")"; fi
  exit "$rc"
}

create_node() {
  local pod_cidr="$1" out code now
  out="$(api POST /api/v1/nodes -H 'Content-Type: application/json' -d @- <<EOF
{"apiVersion":"v1","kind":"Node","metadata":{"name":"$NODE_NAME","labels":{"kubernetes.io/hostname":"$NODE_NAME","kubernetes.io/os":"linux"}},
 "spec":{"podCIDR":"$pod_cidr","podCIDRs":["$pod_cidr"]}}
EOF
)" || die "creating Node $NODE_NAME: apiserver unreachable"
  code="$(http_code_of "$out")"
  [ "$code" = 201 ] || [ "$code" = 409 ] || { log "$out"; fail_component kube-apiserver "creating Node $NODE_NAME failed (HTTP $code)"; }
  now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  out="$(api PATCH "/api/v1/nodes/$NODE_NAME/status" -H 'Content-Type: application/strategic-merge-patch+json' -d @- <<EOF
{"status":{"addresses":[{"type":"InternalIP","address":"$NODE_IP"},{"type":"Hostname","address":"$NODE_NAME"}],
 "capacity":{"cpu":"64","memory":"256Gi","pods":"1000"},"allocatable":{"cpu":"64","memory":"256Gi","pods":"1000"},
 "conditions":[{"type":"Ready","status":"True","reason":"FailoverHarness","message":"local node (no kubelet; the harness plays its part)","lastHeartbeatTime":"$now","lastTransitionTime":"$now"}]}}
EOF
)" || die "marking Node $NODE_NAME Ready: apiserver unreachable"
  code="$(http_code_of "$out")"
  [ "$code" = 200 ] || { log "$out"; fail_component kube-apiserver "writing nodes/$NODE_NAME/status failed (HTTP $code)"; }
}

start_harness() {
  local pod_cidr="$1" pod_netns="$2"
  if [ -n "${FO_NO_HARNESS:-}" ]; then return 0; fi
  if [ ! -x "$BIN_DIR/failover-node-agent" ] || [ ! -x "$BIN_DIR/failover-service-proxy" ]; then
    log "harness not built in $BIN_DIR; starting the control plane only"
    return 0
  fi
  # --schedule: the agent binds unscheduled pods to its node (no kube-scheduler runs here);
  # FO_NO_SCHEDULE=1 leaves it out, and an agent built before the flag existed runs without it.
  local -a agent_extra=()
  if [ -z "${FO_NO_SCHEDULE:-}" ]; then
    case "$("$BIN_DIR/failover-node-agent" --help 2>&1 || true)" in *--schedule*) agent_extra+=(--schedule) ;; esac
  fi
  [ -z "$pod_netns" ] || agent_extra+=(--pod-netns "$pod_netns")
  record_command failover-node-agent "$BIN_DIR/failover-node-agent" --kubeconfig "$KUBECONFIG_OUT" \
    --node-name "$NODE_NAME" --node-ip "$NODE_IP" --pod-cidr "$pod_cidr" "${agent_extra[@]}"
  record_command failover-service-proxy "$BIN_DIR/failover-service-proxy" --kubeconfig "$KUBECONFIG_OUT" \
    --bind-address "$NODE_IP"
  start_component failover-node-agent
  start_component failover-service-proxy
  sleep 0.3
  local c; for c in failover-node-agent failover-service-proxy; do
    live_pid "$c" >/dev/null || fail_component "$c" "$c exited right after start"
  done
}

cmd_down() {
  if [ ! -d "$STATE" ]; then
    rm -f "$KUBECONFIG_OUT"
    log "nothing to stop (no state in $STATE)"
    return 0
  fi
  mkdir -p "$(dirname "$STATE")"
  exec 7>"$STATE.lock"
  # Bounded: processes started by an older cluster.sh may still hold this lock.
  flock -w 30 7 || log "warning: $STATE.lock is held by another process; stopping anyway"
  stop_all
  if [ -f "$STATE/slot" ] && pod_network_possible; then pod_network_down "$(cat "$STATE/slot")"; fi
  release_slot
  rm -rf "$STATE" "$KUBECONFIG_OUT"
  rm -f "$STATE.lock"
  log "stopped; removed $STATE"
}

cmd_status() {
  [ -d "$STATE" ] || { echo "not running (no state in $STATE)"; return 1; }
  local c pid rc=0
  for c in "${COMPONENTS[@]}"; do
    [ -f "$STATE/cmd/$c" ] || continue
    if pid="$(live_pid "$c")"; then echo "$c: running (pid $pid)"; else echo "$c: stopped"; rc=1; fi
  done
  if load_env; then
    if apiserver_ready; then echo "apiserver: ready at $APISERVER_URL"; else echo "apiserver: not ready at $APISERVER_URL"; rc=1; fi
    echo "node: $NODE_NAME ($NODE_IP)"
  fi
  return $rc
}

cmd_env() {
  [ -f "$STATE/cluster.env" ] || die "no cluster.env in $STATE (is the cluster up?)"
  cat "$STATE/cluster.env"
}

cmd_stop_apiserver() {
  [ -f "$STATE/cmd/kube-apiserver" ] || die "no cluster state in $STATE"
  # While clients hold watches the apiserver drains for up to a minute after SIGTERM;
  # tests that restart it want an outage, not a drain, so the grace is short.
  stop_component kube-apiserver 2
  log "kube-apiserver stopped"
}

cmd_start_apiserver() {
  [ -f "$STATE/cmd/kube-apiserver" ] || die "no cluster state in $STATE"
  load_env || die "no cluster.env in $STATE"
  if ! live_pid kube-apiserver >/dev/null; then
    start_component kube-apiserver
  fi
  wait_for kube-apiserver "/readyz on $APISERVER_URL" "$READY_TIMEOUT_S" apiserver_ready
  log "kube-apiserver ready at $APISERVER_URL"
}

cmd_compact() {
  load_env || die "no cluster.env in $STATE (is the cluster up?)"
  local out rev
  out="$(curl -sS --max-time 10 -X POST "$ETCD_ENDPOINT/v3/kv/range" -d '{"key":"AA==","limit":1}')" \
    || fail_component etcd "etcd at $ETCD_ENDPOINT did not answer"
  rev="$(jq -r '.header.revision // empty' <<<"$out")"
  [ -n "$rev" ] || { log "$out"; fail_component etcd "could not read the etcd revision"; }
  out="$(curl -sS --max-time 30 -X POST "$ETCD_ENDPOINT/v3/kv/compaction" -d "{\"revision\":\"$rev\",\"physical\":true}")" \
    || fail_component etcd "etcd compaction request failed"
  if jq -e '.error // .message' <<<"$out" >/dev/null 2>&1; then
    # Compacting twice at the same revision is not an error for our purposes.
    grep -q "required revision has been compacted" <<<"$out" || { log "$out"; fail_component etcd "etcd compaction failed"; }
  fi
  echo "$rev"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  stop-apiserver) cmd_stop_apiserver ;;
  start-apiserver) cmd_start_apiserver ;;
  compact) cmd_compact ;;
  *) echo "usage: $0 up|down|status|env|stop-apiserver|start-apiserver|compact" >&2; exit 2 ;;
esac

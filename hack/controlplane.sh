#!/usr/bin/env bash
# A real local Kubernetes control plane: etcd and kube-apiserver as processes on loopback, with
# freshly generated certificates, as controller-runtime's envtest does. Several can run at once,
# each in its own DIR.
#
#   hack/controlplane.sh start DIR           start etcd + kube-apiserver, write DIR/kubeconfig
#   hack/controlplane.sh stop DIR            stop both
#   hack/controlplane.sh kill DIR            crash both, as a power loss would: SIGKILL to
#                                            kube-apiserver, kube-apiserver-2 and etcd, no graceful
#                                            stop; waits until they are gone; etcd data kept, so
#                                            start DIR brings the cluster back on the same ports
#   hack/controlplane.sh stop-apiserver DIR [N]   stop only kube-apiserver N (default 1)
#   hack/controlplane.sh start-apiserver DIR [N]  start it again on the same port; N=2 starts a
#                                                 second apiserver on the same etcd and writes
#                                                 DIR/kubeconfig-2 (for changes made while the
#                                                 first is down)
#   hack/controlplane.sh status DIR          exit 0 when /readyz answers ok
#
# kube-apiserver serves MutatingAdmissionPolicy (admissionregistration.k8s.io/v1beta1) for the
# finalizer policy in config/admission/; DWCP_MUTATING_ADMISSION_POLICY=false when starting leaves
# it off, as on a cluster without that beta feature.
set -euo pipefail
# Everything here is created private to the user (keys, kubeconfigs holding the admin key, the
# directories that hold them), rather than made private after it was written.
umask 077
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${DWCP_TOOLS_DIR:-$ROOT/.tools}/bin"

usage() { awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0" >&2; exit 2; }
[[ $# -eq 2 || $# -eq 3 ]] || usage
cmd="$1"
mkdir -p "$2"
DIR="$(cd "$2" && pwd)"
N="${3:-1}"
[[ "$N" == 1 || "$N" == 2 ]] || usage
APISERVER_NAME="kube-apiserver"
[[ "$N" == 2 ]] && APISERVER_NAME="kube-apiserver-2"
# MutatingAdmissionPolicy is beta and off by default in 1.34 and 1.35: the gate turns on the
# admission plugin (enabled by default) and runtime-config serves its API, so the finalizer policy
# in config/admission/ can be applied (hack/install-admission.sh).
case "${DWCP_MUTATING_ADMISSION_POLICY:-true}" in
  true) ADMISSION_POLICY_FLAGS=(--feature-gates MutatingAdmissionPolicy=true
                                --runtime-config admissionregistration.k8s.io/v1beta1=true) ;;
  false) ADMISSION_POLICY_FLAGS=() ;;
  *) echo "controlplane: DWCP_MUTATING_ADMISSION_POLICY must be true or false, not '$DWCP_MUTATING_ADMISSION_POLICY'" >&2; exit 2 ;;
esac

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

gen_certs() {
  local pki="$DIR/pki"
  mkdir -p "$pki"
  [[ -f "$pki/admin.crt" ]] && return 0
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=dwcp-local-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    cat > serving.ext <<EXT
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1
extendedKeyUsage=serverAuth
EXT
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout serving.key \
      -out serving.csr 2>/dev/null
    openssl x509 -req -in serving.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile serving.ext -out serving.crt 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' > client.ext
    openssl req -newkey rsa:2048 -nodes -subj "/CN=admin/O=system:masters" -keyout admin.key \
      -out admin.csr 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile client.ext -out admin.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    chmod 600 ./*.key
  )
}

write_kubeconfig() {  # write_kubeconfig PORT FILE
  local pki="$DIR/pki" b64="base64 -w0" port="$1" file="$2"
  cat > "$file" <<KC
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:${port}
    certificate-authority-data: $($b64 < "$pki/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $($b64 < "$pki/admin.crt")
    client-key-data: $($b64 < "$pki/admin.key")
contexts:
- name: local
  context: {cluster: local, user: admin, namespace: default}
current-context: local
KC
  chmod 600 "$file"
}

is_running() { [[ -f "$DIR/$1.pid" ]] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }

stop_one() {
  local name="$1"
  is_running "$name" || { rm -f "$DIR/$name.pid"; return 0; }
  local pid; pid="$(cat "$DIR/$name.pid")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$DIR/$name.pid"
}

# kill_all NAME...: SIGKILL to each one running, then waits until all are gone (a zombie counts
# as gone: an orphan's parent may never reap it) and removes their pid files.
kill_all() {
  local name pid pids=() state left=()
  for name in "$@"; do
    if is_running "$name"; then pid="$(cat "$DIR/$name.pid")"; kill -9 "$pid" 2>/dev/null || true; pids+=("$pid"); fi
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || continue 2
      state="$(awk '{sub(/^.*\) /, ""); print $1}' "/proc/$pid/stat" 2>/dev/null)" || continue 2
      [[ "$state" == Z ]] && continue 2
      sleep 0.1
    done
    left+=("$pid")
  done
  if ((${#left[@]})); then
    echo "controlplane: still running 10 s after SIGKILL: pids ${left[*]}" >&2
    return 1
  fi
  for name in "$@"; do rm -f "$DIR/$name.pid"; done
}

wait_ready() {  # wait_ready PORT NAME
  local url="https://127.0.0.1:$1/readyz" pki="$DIR/pki" name="$2"
  for _ in $(seq 1 600); do
    if curl -sf --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$url" >/dev/null 2>&1; then
      return 0
    fi
    is_running "$name" || { echo "controlplane: $name exited; see $DIR/$name.log" >&2; tail -20 "$DIR/$name.log" >&2; return 1; }
    sleep 0.1
  done
  echo "controlplane: $name not ready after 60 s; see $DIR/$name.log" >&2
  return 1
}

start_etcd() {
  is_running etcd && return 0
  nohup "$BIN/etcd" --name default --data-dir "$DIR/etcd-data" \
    --listen-client-urls "http://127.0.0.1:${ETCD_PORT}" --advertise-client-urls "http://127.0.0.1:${ETCD_PORT}" \
    --listen-peer-urls "http://127.0.0.1:${ETCD_PEER_PORT}" --initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PEER_PORT}" \
    --initial-cluster "default=http://127.0.0.1:${ETCD_PEER_PORT}" --unsafe-no-fsync \
    --quota-backend-bytes 4294967296 --log-level warn > "$DIR/etcd.log" 2>&1 &
  echo $! > "$DIR/etcd.pid"
}

start_apiserver() {  # start_apiserver PORT NAME
  local port="$1" name="$2" pki="$DIR/pki"
  is_running "$name" && return 0
  nohup "$BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:${ETCD_PORT}" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$port" \
    --tls-cert-file "$pki/serving.crt" --tls-private-key-file "$pki/serving.key" \
    --client-ca-file "$pki/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range 10.0.0.0/24 --authorization-mode RBAC \
    --allow-privileged=true --disable-admission-plugins ServiceAccount \
    "${ADMISSION_POLICY_FLAGS[@]}" \
    --max-requests-inflight 2000 --max-mutating-requests-inflight 1000 \
    --v 1 > "$DIR/$name.log" 2>&1 &
  echo $! > "$DIR/$name.pid"
}

load_env() {
  if [[ -f "$DIR/ports.env" ]]; then
    # shellcheck disable=SC1091
    source "$DIR/ports.env"
  else
    ETCD_PORT="$(free_port)"; ETCD_PEER_PORT="$(free_port)"; APISERVER_PORT="$(free_port)"
    APISERVER2_PORT="$(free_port)"
    printf 'ETCD_PORT=%s\nETCD_PEER_PORT=%s\nAPISERVER_PORT=%s\nAPISERVER2_PORT=%s\n' \
      "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" "$APISERVER2_PORT" > "$DIR/ports.env"
  fi
}

case "$cmd" in
  start)
    for tool in etcd kube-apiserver kubectl; do
      [[ -x "$BIN/$tool" ]] || bash "$ROOT/hack/build-tools.sh" >/dev/null
    done
    gen_certs; load_env; write_kubeconfig "$APISERVER_PORT" "$DIR/kubeconfig"
    start_etcd; start_apiserver "$APISERVER_PORT" kube-apiserver; wait_ready "$APISERVER_PORT" kube-apiserver
    echo "$DIR/kubeconfig"
    ;;
  stop) stop_one kube-apiserver-2; stop_one kube-apiserver; stop_one etcd ;;
  kill) kill_all kube-apiserver-2 kube-apiserver etcd ;;
  stop-apiserver) stop_one "$APISERVER_NAME" ;;
  start-apiserver)
    load_env
    port="$APISERVER_PORT"; [[ "$N" == 2 ]] && port="$APISERVER2_PORT"
    [[ "$N" == 2 ]] && write_kubeconfig "$port" "$DIR/kubeconfig-2"
    start_apiserver "$port" "$APISERVER_NAME"; wait_ready "$port" "$APISERVER_NAME"
    ;;
  status) load_env; curl -sf --cacert "$DIR/pki/ca.crt" --cert "$DIR/pki/admin.crt" --key "$DIR/pki/admin.key" "https://127.0.0.1:${APISERVER_PORT}/readyz" >/dev/null ;;
  *) usage ;;
esac

#!/usr/bin/env bash
# Builds the pinned control-plane tools (kube-apiserver, etcd, kubectl) from hack/tools/go.mod
# into .tools/bin, once. A tool is rebuilt only when go.mod or go.sum changed since it was built.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${DWCP_TOOLS_DIR:-$ROOT/.tools}/bin"
MOD="$ROOT/hack/tools"
mkdir -p "$OUT"

stamp="$(cat "$MOD/go.mod" "$MOD/go.sum" | sha256sum | cut -c1-16)"
k8s_version="$(awk '$1=="k8s.io/kubernetes"{print $2}' "$MOD/go.mod" | head -1)"

build() {  # build NAME PACKAGE [LDFLAGS]
  local name="$1" pkg="$2" ldflags="${3:-}"
  if [[ -x "$OUT/$name" && "$(cat "$OUT/.$name.stamp" 2>/dev/null)" == "$stamp" ]]; then
    return 0
  fi
  echo "build-tools: building $name ($pkg)" >&2
  (cd "$MOD" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$OUT/$name" "$pkg")
  echo "$stamp" > "$OUT/.$name.stamp"
}

vflags="-X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$k8s_version" | cut -d. -f2)"
vflags="$vflags -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version"
build etcd ./cmd/etcd
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$vflags"
build kubectl k8s.io/kubernetes/cmd/kubectl "$vflags"
echo "$OUT"

#!/usr/bin/env bash
# The dependency rule (README, "Layout"), enforced: every #include "dir/..." in a layer's sources
# must name that layer or one it may depend on. Run by ctest (LayeringTest.*).
#   hack/check-layering.sh [ROOT]     check the tree at ROOT (default: the repository)
#   hack/check-layering.sh --self-test   prove the check fails on a tree that breaks the rule
set -euo pipefail

# layer: the layers its files may include (itself always allowed).
declare -A ALLOWED=(
  [base]=""
  [engines/placement]="base"
  [engines/state]="base"
  [engines/routing]="base"
  [net]="base"
  [kube]="base"
  [api]="base kube"
  [federation]="base engines/state net api kube"
  [routingapi]="base engines/routing net"
  [config]="base engines/routing net routingapi"
  [controllers]="base kube api engines/placement engines/state engines/routing"
  [operator]="base kube api engines/placement engines/state engines/routing net federation routingapi config controllers"
)

# The layer a quoted include path belongs to ("engines/state/wire.h" -> engines/state). A
# layer's testing/ folder holds its test doubles: "net/testing/pki.h" -> net.
layer_of() {
  case "$1" in
    */testing/*) echo "${1%%/testing/*}" ;;
    engines/*/*) local rest=${1#engines/}; echo "engines/${rest%%/*}" ;;
    */*) echo "${1%%/*}" ;;
    *) echo "" ;;
  esac
}

check() {
  local root=$1 violations=0
  for layer in "${!ALLOWED[@]}"; do
    [[ -d $root/$layer ]] || continue
    local allowed=" $layer ${ALLOWED[$layer]} "
    while IFS= read -r hit; do
      local file=${hit%%:*} rest=${hit#*:}
      local line=${rest%%:*} text=${rest#*:}
      local path
      path=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"$text")
      local target
      target=$(layer_of "$path")
      [[ -z $target || -z ${ALLOWED[$target]+x} ]] && continue  # not a layer (a same-directory file)
      # Test doubles are for tests: only *_test.cpp files and other testing/ files include them.
      if [[ $path == */testing/* && $file != *_test.cpp && $file != */testing/* ]]; then
        echo "${file#"$root"/}:$line: $path is a test double; only tests may include it"
        violations=$((violations + 1))
        continue
      fi
      if [[ $allowed != *" $target "* ]]; then
        echo "${file#"$root"/}:$line: $layer may not include $path ($target is not below it)"
        violations=$((violations + 1))
      fi
    done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$root/$layer" \
               --include='*.h' --include='*.hpp' --include='*.cpp' || true)
  done
  if ((violations > 0)); then
    echo "$violations include(s) break the dependency rule" >&2
    return 1
  fi
  echo "layering: every include points down"
}

if [[ ${1:-} == --self-test ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/engines/routing" "$tmp/engines/state" "$tmp/kube" "$tmp/base"
  printf '#include "base/clock.h"\n#include "engines/routing/router.h"\n' >"$tmp/engines/routing/ok.cpp"
  printf '#include "base/testing/eventually.h"\n' >"$tmp/kube/ok_test.cpp"
  check "$tmp" >/dev/null || { echo "self-test: a clean tree was refused" >&2; exit 1; }
  for bad in 'engines/routing/x.cpp:kube/client.h' 'engines/routing/y.h:engines/state/wire.h' \
             'base/z.h:kube/result.h' 'kube/w.cpp:api/region.h' 'kube/v.cpp:base/testing/eventually.h'; do
    file=${bad%%:*} include=${bad#*:}
    printf '#include <vector>\n  #include "%s"  // comment\n' "$include" >"$tmp/$file"
    if out=$(check "$tmp" 2>&1); then
      echo "self-test: $file including $include was not caught" >&2
      exit 1
    fi
    grep -q "^$file:2: " <<<"$out" || { echo "self-test: the report does not name $file:2: $out" >&2; exit 1; }
    rm "$tmp/$file"
  done
  echo "layering self-test: every violation caught"
  exit 0
fi

check "${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

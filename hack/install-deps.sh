#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the benchmarks need. Idempotent: it
# does nothing when all of them are present. Go itself must be on PATH (hack/build-tools.sh).
set -euo pipefail
PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libcpprest-dev libssl-dev openssl libboost-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  curl jq procps iproute2
  wrk nginx
  clang-tidy
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if ! command -v go >/dev/null; then
  echo "install-deps: go is not on PATH; install Go 1.25 or newer (golang-go from Debian backports)" >&2
  exit 1
fi

#!/usr/bin/env bash
# clang-tidy with the repository's .clang-tidy (every finding is an error).
#   hack/lint.sh                 every C++ source of the project (about 15-25 s per file per core)
#   hack/lint.sh --changed BASE  the sources changed since commit BASE, and the sources of changed
#                                headers (foo.h: foo.cpp and foo_test.cpp); nothing to do is success
#   hack/lint.sh FILE...         those files
# Needs $BUILD_DIR/compile_commands.json (make configure) and clang-tidy (hack/install-deps.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/${BUILD_DIR:-build}"
JOBS="${JOBS:-$(nproc)}"
cd "$ROOT"
command -v clang-tidy >/dev/null || { echo "lint: clang-tidy is not installed (bash hack/install-deps.sh)" >&2; exit 1; }
[[ -f "$BUILD/compile_commands.json" ]] || { echo "lint: $BUILD/compile_commands.json missing (make configure)" >&2; exit 1; }

# The translation units the build knows, relative to the root; generated and third-party files
# are not in it.
mapfile -t known < <(python3 - "$BUILD/compile_commands.json" "$ROOT" <<'PY'
import json, os, sys
root = sys.argv[2]
for entry in json.load(open(sys.argv[1])):
    path = os.path.relpath(os.path.join(entry["directory"], entry["file"]), root)
    if not path.startswith(".."):
        print(path)
PY
)
declare -A isKnown=()
for f in "${known[@]}"; do isKnown["$f"]=1; done

files=()
if [[ "${1:-}" == "--changed" ]]; then
  base="${2:?lint: --changed needs a commit}"
  if ! git rev-parse --verify -q "$base^{commit}" >/dev/null; then
    echo "lint: no commit $base to compare with; nothing linted (make lint checks every file)" >&2
    exit 0
  fi
  declare -A picked=()
  while IFS= read -r changed; do
    [[ -f "$changed" ]] || continue
    case "$changed" in
      *.cpp) candidates=("$changed") ;;
      *.h) candidates=("${changed%.h}.cpp" "${changed%.h}_test.cpp") ;;
      *) candidates=() ;;
    esac
    for c in "${candidates[@]}"; do
      [[ -n "${isKnown[$c]:-}" && -z "${picked[$c]:-}" ]] && { picked["$c"]=1; files+=("$c"); }
    done
  done < <(git diff --name-only "$base" HEAD --; git diff --name-only HEAD --)
elif (($# > 0)); then
  files=("$@")
else
  files=("${known[@]}")
fi
if ((${#files[@]} == 0)); then
  echo "lint: no C++ sources to check" >&2
  exit 0
fi

echo "lint: clang-tidy on ${#files[@]} files, $JOBS at a time" >&2
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
status=0
printf '%s\0' "${files[@]}" |
  xargs -0 -n 1 -P "$JOBS" clang-tidy -p "$BUILD" --quiet >"$out" 2>&1 || status=$?
if grep -E "(warning|error): " "$out" >/dev/null || ((status != 0)); then
  grep -E -A3 "(warning|error): " "$out" >&2 || cat "$out" >&2
  echo "lint: clang-tidy found problems (above)" >&2
  exit 1
fi
echo "lint: clean" >&2

#!/usr/bin/env bash
# Every GoogleTest suite is named <Subject>Test (TEST, TEST_F, TEST_P alike), so ctest's names
# read the same across the tree and a --gtest_filter=FooTest.* picks a whole subject. Run by
# ctest (TestNamesTest.*); prints each suite that does not follow the rule.
set -euo pipefail
ROOT="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
cd "$ROOT"
bad="$(git ls-files -- '*_test.cpp' 2>/dev/null || find . -name '*_test.cpp' -not -path './build*')"
bad="$(grep -HnE '^(TEST|TEST_F|TEST_P)\([A-Za-z0-9_]+,' $bad | grep -vE '^[^:]+:[0-9]+:TEST(_F|_P)?\([A-Za-z0-9_]*Test,' || true)"
if [[ -n "$bad" ]]; then
  echo "test suites must be named <Subject>Test:" >&2
  echo "$bad" >&2
  exit 1
fi

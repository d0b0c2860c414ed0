#!/usr/bin/env bash
# run.sh - the python_bindings test: pytest over bindings/python/tests
# with the first python3 that has pytest ($PYTHON, python3, /usr/bin/python3;
# Debian package python3-pytest, in scripts/lib.sh's DTC_TEST_PACKAGES).  ctest
# sets DTC_LIBRARY, DTC_BIN_DIR and DTC_LAYOUT_HELPER (tests/CMakeLists.txt),
# and in the sanitizer build PYTHON, LD_PRELOAD, ASAN_OPTIONS and
# DTC_PYTEST_ARGS=--capture=sys (an ASan report on fd 2 reaches the log).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for py in ${PYTHON:-} python3 /usr/bin/python3; do
    if "$py" -c 'import pytest' 2>/dev/null; then
        export PYTHONPATH=$here/..${PYTHONPATH:+:$PYTHONPATH} PYTHONDONTWRITEBYTECODE=1
        # shellcheck disable=SC2086 # DTC_PYTEST_ARGS: words on purpose
        exec "$py" -m pytest -p no:cacheprovider -q ${DTC_PYTEST_ARGS:-} "$here" "$@"
    fi
done
echo "python_bindings: no python3 with pytest (apt-get install python3-pytest)" >&2
exit 1

#!/usr/bin/env bash
# run.sh - the python_bindings test: pytest over bindings/python/tests
# with the first python3 that has pytest ($PYTHON, python3, /usr/bin/python3;
# Debian package python3-pytest, in scripts/lib.sh's DTC_PACKAGES).  ctest
# sets DTC_LIBRARY, DTC_BIN_DIR and DTC_LAYOUT_HELPER (tests/CMakeLists.txt).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for py in ${PYTHON:-} python3 /usr/bin/python3; do
    if "$py" -c 'import pytest' 2>/dev/null; then
        export PYTHONPATH=$here/..${PYTHONPATH:+:$PYTHONPATH} PYTHONDONTWRITEBYTECODE=1
        exec "$py" -m pytest -p no:cacheprovider -q "$here" "$@"
    fi
done
echo "python_bindings: no python3 with pytest (apt-get install python3-pytest)" >&2
exit 1

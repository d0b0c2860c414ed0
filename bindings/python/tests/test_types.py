"""The package's type hints hold: mypy (Debian's python3-mypy) checks
the package with every function annotated, as a user's checker would
read it through py.typed."""
import os
import subprocess
import sys

import dtc

PKG = os.path.dirname(os.path.dirname(os.path.abspath(dtc.__file__)))


def test_mypy_finds_no_error():
    try:
        import mypy  # noqa: F401
    except ImportError:
        raise AssertionError("mypy is missing: apt-get install python3-mypy "
                             "(scripts/lib.sh installs it)") from None
    assert os.path.exists(os.path.join(PKG, "dtc", "py.typed"))
    out = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental",
                          "--cache-dir", os.devnull, "--disallow-untyped-defs",
                          "--disallow-incomplete-defs", "-p", "dtc"],
                         cwd=PKG, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr

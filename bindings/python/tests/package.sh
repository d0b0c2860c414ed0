#!/usr/bin/env bash
# package.sh BUILD_DIR VERSION CONFIGURED_PREFIX - the python_package test:
# the Python package installs and finds libdtc, offline, with Debian's
# /usr/bin/python3 (python3-setuptools, python3-venv; no network):
#   1. cmake --install into a temp prefix: the package (and py.typed) lands
#      where Debian's python3 searches for the configured prefix (its
#      sys.path), and imports from there finding the prefix's libdtc.so.0
#      with no $DTC_LIBRARY;
#   2. pip install --no-build-isolation --no-index into a venv, and
#   3. into a --target directory: version metadata, py.typed, libdtc found
#      through LD_LIBRARY_PATH.
# Each import calls into the library (dtc_open of an instance that does
# not run: InstanceNotRunning).  Sources are copied first: pip builds in
# the tree it is given.
set -euo pipefail
build=$(cd "${1:?usage: package.sh BUILD_DIR VERSION PREFIX}" && pwd)
version=${2:?usage: package.sh BUILD_DIR VERSION PREFIX}
configured=${3:?usage: package.sh BUILD_DIR VERSION PREFIX}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dtc-pypkg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
unset DTC_LIBRARY PYTHONPATH
die() {
    echo "python_package: $*" >&2
    exit 1
}

# check PYTHON WHERE: imports dtc, which must come from WHERE and call libdtc.
check() {
    "$1" - "$2" "$version" <<'PY' || die "import with $1 from $2 failed"
import importlib.metadata, os, sys
import dtc
where, version = sys.argv[1], sys.argv[2]
assert os.path.realpath(dtc.__file__).startswith(os.path.realpath(where)), dtc.__file__
assert os.path.exists(os.path.join(os.path.dirname(dtc.__file__), "py.typed"))
assert dtc.__version__ == dtc.library_version() == version, (dtc.__version__, version)
try:
    dtc.TransactionManager("pypkg-nobody-%d" % os.getpid())
    raise SystemExit("an instance that does not run was opened")
except dtc.InstanceNotRunning:
    pass
print("python_package: dtc %s from %s, libdtc %s" % (dtc.__version__, dtc.__file__,
                                                   dtc.library_path))
PY
}

# 1. cmake --install
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" \
    || { cat "$tmp/install.log" >&2; die "cmake --install failed"; }
init=$(find "$prefix" -path '*/dtc/__init__.py' -print -quit)
[[ -n $init ]] || die "no dtc/__init__.py under $prefix"
pkgdir=${init%/dtc/__init__.py}
rel=${pkgdir#"$prefix"/}
searched=$("$py" -c 'import sys; print("\n".join(sys.path))')
case $configured in
/usr | /usr/local)
    grep -qxF "$configured/$rel" <<<"$searched" \
        || die "installs into $configured/$rel, which $py does not search: $(tr '\n' ' ' <<<"$searched")"
    echo "python_package: $configured/$rel is on $py's sys.path" ;;
*) echo "python_package: prefix $configured: PYTHONPATH=$configured/$rel is needed" ;;
esac
out=$(PYTHONPATH=$pkgdir check "$py" "$pkgdir")
echo "$out"
[[ $out == *"libdtc $prefix/"* ]] || die "the installed package did not load the prefix's libdtc"
libdir=$(dirname "$(find "$prefix" -name 'libdtc.so.0' -print -quit)")

# 2. a venv (Debian's setuptools through --system-site-packages)
src=$tmp/src
mkdir -p "$src"
cp -r "$here/../dtc" "$here/../pyproject.toml" "$src/"
"$py" -m venv --system-site-packages "$tmp/venv" || die "python3 -m venv failed"
"$tmp/venv/bin/python" -m pip install --no-build-isolation "$src" >"$tmp/pip.log" 2>&1 \
    || { cat "$tmp/pip.log" >&2; die "pip install into a venv failed"; }
LD_LIBRARY_PATH=$libdir check "$tmp/venv/bin/python" "$tmp/venv"
"$tmp/venv/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("dtc") != sys.argv[1])' \
    "$version" || die "the venv's dtc metadata is not version $version"

# 3. --target
rm -rf "$src/build" "$src"/*.egg-info
"$py" -m pip install --no-build-isolation --target "$tmp/target" "$src" >"$tmp/pip2.log" 2>&1 \
    || { cat "$tmp/pip2.log" >&2; die "pip install --target failed"; }
LD_LIBRARY_PATH=$libdir PYTHONPATH=$tmp/target check "$py" "$tmp/target"
echo "python_package: passed"

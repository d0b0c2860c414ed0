#!/usr/bin/env bash
# install_tree.sh BUILD_DIR VERSION - the install_tree test: installs the
# build into a temporary prefix (cmake --install BUILD_DIR --prefix TMP),
# then builds client.c, a program outside the tree, against it three ways:
# pkg-config (shared), pkg-config --static (libdtc.a with Libs.private) and
# find_package(dtc) (this directory's CMakeLists.txt).  Each runs one real
# transaction (begin, enlist a dtc-noop participant, commit) against a
# dtcd started from the installed tree (own instance name and data dir,
# stopped by pid at the end).  `dtcd --version` from the tree must say
# VERSION.
set -euo pipefail
build=$(cd "${1:?usage: install_tree.sh BUILD_DIR VERSION}" && pwd)
version=${2:?usage: install_tree.sh BUILD_DIR VERSION}
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
# Flags of the outside builds: the sanitizer build's tests pass
# -fsanitize=... here, for its instrumented libdtc.a and libdtc.so.
read -ra cflags <<<"${DTC_CLIENT_CFLAGS:-}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dtc-install-tree.XXXXXX")
prefix=$tmp/prefix
instance=inst-tree-$$
pids=()

# shellcheck source=scripts/lib.sh
source "$here/../../scripts/lib.sh" # the process kit: dtc_start, dtc_wait_ready, dtc_stop, dtc_stop_all

cleanup() {
    dtc_stop_all "${pids[@]}" # SIGTERM, SIGKILL after 5 s (scripts/lib.sh)
    rm -rf "$tmp"
}
trap cleanup EXIT

die() {
    echo "install_tree: $*" >&2
    exit 1
}

echo "install_tree: cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" \
    || { cat "$tmp/install.log" >&2; die "cmake --install failed"; }

got=$("$prefix/bin/dtcd" --version)
[[ $got == "dtcd (dtc) $version" ]] || die "dtcd --version says '$got', want 'dtcd (dtc) $version'"

for f in share/man/man8/dtcd.8 share/man/man1/dtcctl.1 share/man/man3/libdtc.3 \
         share/man/man8/dtc-inventory.8 share/bash-completion/completions/dtcctl; do
    [[ -s $prefix/$f ]] || die "not installed: $f"
done
# Units where systemd looks for a prefix other than /usr (lib/systemd/
# system, not LIBDIR/systemd/system), the user dtc, the instance config.
units=$prefix/lib/systemd/system
for f in "$units/dtcd@.service" "$units/dtc@.target" "$units/dtc-inventory@.service" \
         "$units/dtc-shipping@.service" "$prefix/lib/sysusers.d/dtc.conf" \
         "$prefix/etc/dtc/default.conf"; do
    [[ -s $f ]] || die "not installed: $f"
done
grep -q "^ExecStart=$prefix/bin/dtcd " "$units/dtcd@.service" \
    || die "dtcd@.service does not start $prefix/bin/dtcd: $(grep ExecStart "$units/dtcd@.service")"
grep -q "^ExecStart=$prefix/bin/dtc-inventory --instance %i " "$units/dtc-inventory@.service" \
    || die "dtc-inventory@.service: $(grep ExecStart "$units/dtc-inventory@.service")"
grep -q "^EnvironmentFile=-$prefix/etc/dtc/%i.conf$" "$units/dtc-inventory@.service" \
    || die "dtc-inventory@.service: $(grep EnvironmentFile "$units/dtc-inventory@.service")"
if grep -n '@[A-Z_]*@' "$units"/*; then
    die "unit left with an unset @VARIABLE@"
fi
if command -v man >/dev/null; then
    MANPATH=$prefix/share/man man dtc-payment 2>/dev/null | grep -q "DTC-SERVICES" \
        || die "man dtc-payment does not show dtc-services(8)"
fi

pc=$(find "$prefix" -name dtc.pc -print -quit)
[[ -n $pc ]] || die "no dtc.pc under $prefix"
export PKG_CONFIG_PATH=${pc%/*}
libdir=$(cd "$(pkg-config --variable=libdir dtc)" && pwd)
[[ $(pkg-config --modversion dtc) == "$version" ]] || die "dtc.pc: version is not $version"
# Users' cflags hold dtc's include directory and nothing else (dtc.h
# includes no libuuid header: no -I/usr/include/uuid).
read -ra cflags_pc < <(pkg-config --cflags dtc)
[[ ${#cflags_pc[@]} -eq 1 && $(cd "${cflags_pc[0]#-I}" && pwd) == "$prefix/include" ]] \
    || die "pkg-config --cflags dtc: '${cflags_pc[*]}', want only -I$prefix/include"
for f in libdtc.a "libdtc.so.${version%%.*}"; do
    [[ -f $libdir/$f ]] || die "$f not installed in $libdir"
done

mkdir -p "$tmp/out"
echo "install_tree: building client.c with pkg-config (shared and --static)"
# shellcheck disable=SC2046 # pkg-config's flags split into words on purpose
"$cc" "${cflags[@]}" $(pkg-config --cflags dtc) "$here/client.c" -o "$tmp/out/client-pc" \
    $(pkg-config --libs dtc) -Wl,-rpath,"$libdir"
# Static: libdtc.a named as a file (the .so sits next to it), then what
# Libs.private adds (-pthread -lrt -luuid).
# shellcheck disable=SC2046
"$cc" "${cflags[@]}" $(pkg-config --cflags dtc) "$here/client.c" -o "$tmp/out/client-static" \
    "$libdir/libdtc.a" $(pkg-config --static --libs dtc | sed 's/-ldtc//')
if [[ $(readelf -d "$tmp/out/client-static") == *libdtc.so* ]]; then
    die "client-static needs libdtc.so"
fi

echo "install_tree: building client.c with find_package(dtc)"
cmake -S "$here" -B "$tmp/cmake-client" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="${cflags[*]}" \
    >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log" >&2; die "configure failed"; }
cmake --build "$tmp/cmake-client" >>"$tmp/cmake.log" 2>&1 \
    || { cat "$tmp/cmake.log" >&2; die "build failed"; }
cp "$tmp/cmake-client/client" "$tmp/out/client-cmake"
# (Output captured first: grep -q closing a pipe would fail ldd with
# SIGPIPE, and the pipeline with it under pipefail.)
for c in client-pc client-cmake; do
    deps=$(ldd "$tmp/out/$c")
    [[ $deps == *"$libdir/libdtc.so"* ]] || die "$c does not use the installed libdtc.so: $deps"
done

echo "install_tree: dtcd and dtc-noop from $prefix/bin, instance $instance"
"$prefix/bin/dtcd" --instance "$instance" --data-dir "$tmp/data" \
    --log-file "$tmp/dtcd.log" >"$tmp/dtcd.out" 2>&1 &
pids+=($!)
dtc_wait_ready 10 "${pids[-1]}" dtc_has_ready "$tmp/dtcd.out" || die "dtcd not ready: $(cat "$tmp/dtcd.out")"
"$prefix/bin/dtc-noop" --instance "$instance" --name noop-tree >"$tmp/noop.out" 2>&1 &
pids+=($!)
registered() {
    [[ $("$prefix/bin/dtcctl" --instance "$instance" participants 2>/dev/null) == *noop-tree* ]]
}
dtc_wait_ready 10 "${pids[-1]}" registered || die "dtc-noop did not register: $(cat "$tmp/noop.out")"

for c in client-pc client-static client-cmake; do
    out=$("$tmp/out/$c" "$instance" noop-tree) || die "$c failed"
    echo "install_tree: $c: $out"
    [[ $out == committed\ * ]] || die "$c: unexpected output '$out'"
    shown=$("$prefix/bin/dtcctl" --instance "$instance" show "${out#committed }")
    [[ $shown == *committed* ]] || die "dtcctl show ${out#committed }: $shown"
done
echo "install_tree: ok"

#!/usr/bin/env bash
# deb_package.sh SRC_DIR VERSION - the deb_package test: builds the Debian
# packages from a copy of the tree (debian/, dpkg-buildpackage -b), checks
# their metadata and contents (dpkg-deb -I/-c), runs lintian (no tag of
# any level may remain; debian/*.lintian-overrides say why for the two
# overridden), then unpacks them with dpkg -x into a temporary root,
# creates the user dtc there as the postinst would (systemd-sysusers
# --root), and runs real transactions from the installed files: dtcd, the
# service dtc-inventory and dtcctl run from ROOT/usr/bin with
# LD_LIBRARY_PATH in ROOT, and tests/install/client.c built against
# ROOT's dtc.pc (with ROOT's dtc-noop as its participant).  Its own
# instance name and temp directory; every process it starts is stopped
# by pid.  $CMAKE_C_COMPILER_LAUNCHER (ccache) is used when set.
set -euo pipefail
src=$(cd "${1:?usage: deb_package.sh SRC_DIR VERSION}" && pwd)
version=${2:?usage: deb_package.sh SRC_DIR VERSION}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dtc-deb.XXXXXX")
root=$tmp/root
instance=deb-pkg-$$
pids=()
cc=${CC:-cc}

# shellcheck source=scripts/lib.sh
source "$src/scripts/lib.sh" # the process kit: dtc_start, dtc_wait_ready, dtc_stop, dtc_stop_all

cleanup() {
    dtc_stop_all "${pids[@]}" # SIGTERM, SIGKILL after 5 s (scripts/lib.sh)
    rm -rf "$tmp"
}
trap cleanup EXIT

die() {
    echo "deb_package: $*" >&2
    exit 1
}

# ---- build ------------------------------------------------------------------
# A copy of the tree without its build trees (any directory holding a
# CMakeCache.txt) or VCS data: dpkg-buildpackage builds in place.
excludes=()
for d in "$src"/*/; do
    [[ -f $d/CMakeCache.txt ]] && excludes+=("--exclude=./$(basename "$d")")
done
mkdir "$tmp/src"
tar -C "$src" --exclude-vcs "${excludes[@]}" -cf - . | tar -C "$tmp/src" -xf -
echo "deb_package: dpkg-buildpackage -b in $tmp/src"
(cd "$tmp/src" && CCACHE_BASEDIR=$tmp/src CCACHE_NOHASHDIR=1 \
    DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -b -us -uc) \
    >"$tmp/build.log" 2>&1 || { tail -n 40 "$tmp/build.log" >&2; die "dpkg-buildpackage failed"; }

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd)
deb() { echo "$tmp/${1}_${version}_$arch.deb"; }
for p in libdtc0 libdtc-dev dtc; do
    [[ -f $(deb $p) ]] || die "no package $p: $(ls "$tmp")"
done

# ---- metadata and contents ---------------------------------------------------
# has PACKAGE PATH...: dpkg-deb -c lists each PATH (./PATH, or a link to it).
has() {
    local list p
    list=$(dpkg-deb -c "$(deb "$1")" | awk '{ print $6 }')
    shift
    for p in "$@"; do
        grep -qxF "./$p" <<<"$list" || die "${p} is not in the package"
    done
}
# field PACKAGE FIELD: dpkg-deb -f.
field() { dpkg-deb -f "$(deb "$1")" "$2"; }

for p in libdtc0 libdtc-dev dtc; do
    [[ $(field $p Version) == "$version" ]] || die "$p: Version $(field $p Version), want $version"
done
has libdtc0 "usr/lib/$ma/libdtc.so.${version%%.*}" "usr/lib/$ma/libdtc.so.$version"
dpkg-deb -I "$(deb libdtc0)" shlibs | grep -qx "libdtc ${version%%.*} libdtc0 (>= $version)" \
    || die "libdtc0: shlibs: $(dpkg-deb -I "$(deb libdtc0)" shlibs)"
[[ $(field libdtc-dev Depends) == *"libdtc0 (= $version)"* ]] \
    || die "libdtc-dev: Depends: $(field libdtc-dev Depends)"
has libdtc-dev usr/include/dtc/dtc.h "usr/lib/$ma/libdtc.so" "usr/lib/$ma/libdtc.a" \
    "usr/lib/$ma/pkgconfig/dtc.pc" "usr/lib/$ma/cmake/dtc/dtcConfig.cmake" \
    usr/share/man/man3/libdtc.3.gz
# (dtc's programs link libdtc.a: they use internal dtc__ functions that
# libdtc.so.0 does not export; so dtc does not depend on libdtc0.)
[[ $(field dtc Depends) == *libuuid1* ]] || die "dtc: Depends: $(field dtc Depends)"
has dtc usr/bin/dtcd usr/bin/dtcctl usr/bin/dtc-inventory usr/bin/dtc-payment \
    usr/bin/dtc-order usr/bin/dtc-shipping usr/bin/dtc-noop \
    usr/share/man/man8/dtcd.8.gz usr/share/man/man1/dtcctl.1.gz \
    usr/share/man/man8/dtc-inventory.8.gz usr/share/bash-completion/completions/dtcctl \
    "${unitdir#/}/dtcd@.service" "${unitdir#/}/dtc@.target" \
    "${unitdir#/}/dtc-inventory@.service" "${unitdir#/}/dtc-shipping@.service" \
    usr/lib/sysusers.d/dtc.conf etc/dtc/default.conf
if dpkg-deb -c "$(deb dtc)" | grep -q "usr/lib/$ma/systemd"; then
    die "dtc: units under usr/lib/$ma/systemd, where systemd never looks"
fi
dpkg-deb -I "$(deb dtc)" conffiles | grep -qx /etc/dtc/default.conf \
    || die "dtc: /etc/dtc/default.conf is not a conffile"
dpkg-deb -I "$(deb dtc)" postinst | grep -q "systemd-sysusers.*dtc.conf" \
    || die "dtc: postinst does not create the user dtc (systemd-sysusers)"
echo "deb_package: contents and metadata ok"

# ---- lintian -----------------------------------------------------------------
# Every tag, info and pedantic ones included; overridden ones do not show.
lintian --display-info --pedantic "$tmp/dtc_${version}_$arch.changes" >"$tmp/lintian.log" 2>&1 \
    || true
cat "$tmp/lintian.log"
if grep -E '^[EWIPX]: ' "$tmp/lintian.log" >/dev/null; then
    die "lintian has tags to fix or to justify (debian/*.lintian-overrides, docs/install.md)"
fi

# ---- installed into a temporary root -----------------------------------------
for p in libdtc0 libdtc-dev dtc; do
    dpkg -x "$(deb $p)" "$root"
done
# What the postinst does (systemd-sysusers dtc.conf), into ROOT's /etc.
mkdir -p "$root/etc"
systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/dtc.conf" >"$tmp/sysusers.log" 2>&1 \
    || die "systemd-sysusers: $(cat "$tmp/sysusers.log")"
grep -q '^dtc:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$' "$root/etc/passwd" \
    || die "no system user dtc in ROOT/etc/passwd: $(cat "$root/etc/passwd")"
export LD_LIBRARY_PATH=$root/usr/lib/$ma
bin=$root/usr/bin
[[ $("$bin/dtcd" --version) == "dtcd (dtc) $version" ]] || die "dtcd --version: $("$bin/dtcd" --version)"
grep -qx "ExecStart=/usr/bin/dtcd --instance %i --data-dir /var/lib/dtc/%i \$DTCD_OPTIONS" \
    "$root$unitdir/dtcd@.service" || die "dtcd@.service: $(grep ExecStart "$root$unitdir/dtcd@.service")"

echo "deb_package: dtcd, dtc-inventory and dtcctl from $bin, instance $instance"
"$bin/dtcd" --instance "$instance" --data-dir "$tmp/data" >"$tmp/dtcd.out" 2>"$tmp/dtcd.err" &
pids+=($!)
dtc_wait_ready 20 "${pids[-1]}" dtc_has_ready "$tmp/dtcd.out" || die "dtcd not ready: $(cat "$tmp/dtcd.err")"
mkdir "$tmp/inventory"
"$bin/dtc-inventory" --instance "$instance" --data-dir "$tmp/inventory" --seed sku-1=5 \
    >"$tmp/inventory.out" 2>"$tmp/inventory.err" &
pids+=($!)
dtc_wait_ready 20 "${pids[-1]}" dtc_has_ready "$tmp/inventory.out" || die "dtc-inventory: $(cat "$tmp/inventory.err")"
out=$("$bin/dtcctl" --instance "$instance" run -p "inventory=reserve sku-1 2") || die "dtcctl run: $out"
echo "$out"
[[ $(tail -n 1 <<<"$out") == committed* ]] || die "dtcctl run did not commit"
txid=$(awk '$1 == "txid" { print $2 }' <<<"$out")
[[ $("$bin/dtcctl" --instance "$instance" show "$txid") == *committed* ]] || die "dtcctl show $txid"

# libdtc-dev: a program built against ROOT's dtc.pc (relocatable: its
# prefix is where it lies) runs a transaction too, with ROOT's dtc-noop.
"$bin/dtc-noop" --instance "$instance" --name noop-deb >"$tmp/noop.out" 2>&1 &
pids+=($!)
dtc_wait_ready 20 "${pids[-1]}" dtc_has_ready "$tmp/noop.out" || die "dtc-noop: $(cat "$tmp/noop.out")"
export PKG_CONFIG_PATH=$root/usr/lib/$ma/pkgconfig
# shellcheck disable=SC2046 # pkg-config's flags split into words on purpose
"$cc" $(pkg-config --cflags dtc) "$src/tests/install/client.c" -o "$tmp/client" \
    $(pkg-config --libs dtc) || die "client.c does not build against ROOT's dtc.pc"
deps=$(ldd "$tmp/client")
[[ $deps == *"$root/usr/lib/$ma/libdtc.so.${version%%.*}"* ]] || die "client does not use ROOT's libdtc: $deps"
out=$("$tmp/client" "$instance" noop-deb) || die "client: $out"
[[ $out == committed\ * ]] || die "client: '$out'"
echo "deb_package: client: $out"

dtc_stop "${pids[1]}" 10 || die "dtc-inventory did not stop cleanly"
unset "pids[1]" # stopped: cleanup never signals its pid again
dump=$("$bin/dtc-inventory" --dump --data-dir "$tmp/inventory" --name inventory)
[[ $(awk '$1 == "sku-1" { print $2 }' <<<"$dump") == 3 ]] || die "inventory after one reserve of 2: $dump"
echo "deb_package: ok"

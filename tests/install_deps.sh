#!/usr/bin/env bash
# install_deps.sh SRC_DIR - the install_deps test: scripts/lib.sh's
# dtc_install_deps against fake apt-get, dpkg-query and systemctl (first
# on PATH, recording what they are asked), with policy-rc.d and
# createcluster.d pointed into a temp directory.  Checks that
#   - build (scripts/demo.sh) asks for the build packages only: no
#     PostgreSQL, Prometheus or test tool;
#   - test (scripts/test.sh) asks for the test tools too;
#   - during apt-get install a policy-rc.d answers 101 (no daemon starts)
#     and create_main_cluster is off (pg_conftool reads it through
#     postgresql-common's include_dir, when pg_conftool is installed);
#     both are gone afterwards, also when apt-get fails; an existing
#     policy-rc.d is left as it was;
#   - prometheus.service is disabled when the install added prometheus;
#   - nothing is run when nothing is missing.
set -euo pipefail
src=$(cd "${1:?usage: install_deps.sh SRC_DIR}" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dtc-install-deps.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
check() {
    if (eval "$2"); then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}

mkdir "$tmp/bin"
# dpkg-query: installed are the names in $tmp/installed.
cat >"$tmp/bin/dpkg-query" <<EOF
#!/bin/sh
pkg=\$(eval echo "\\\${\$#}")
grep -qx "\$pkg" "$tmp/installed" 2>/dev/null && echo "install ok installed" && exit 0
exit 1
EOF
# apt-get: logs its arguments; at install, what policy-rc.d and
# createcluster.d say then; fails when $tmp/apt-fails exists.
cat >"$tmp/bin/apt-get" <<EOF
#!/bin/bash
echo "\$*" >>"$tmp/apt.log"
if [[ \$* == *install* ]]; then
    if [[ -x $tmp/policy-rc.d ]]; then "$tmp/policy-rc.d" prometheus start; echo "policy \$?"; \
        else echo "policy none"; fi >>"$tmp/during.log"
    cat "$tmp/cc.d"/*.conf >>"$tmp/during.log" 2>/dev/null || echo "cc none" >>"$tmp/during.log"
    if command -v pg_conftool >/dev/null && [[ -f /etc/postgresql-common/createcluster.conf ]]; then
        sed "s|/etc/postgresql-common/createcluster.d|$tmp/cc.d|" \
            /etc/postgresql-common/createcluster.conf >"$tmp/createcluster.conf"
        echo "pg_conftool \$(pg_conftool "$tmp/createcluster.conf" show -bs create_main_cluster)" \
            >>"$tmp/during.log"
    fi
    [[ ! -e $tmp/apt-fails ]]
fi
EOF
printf '#!/bin/sh\necho "$*" >>"%s/systemctl.log"\n' "$tmp" >"$tmp/bin/systemctl"
printf '#!/bin/sh\nexec "$@"\n' >"$tmp/bin/sudo"
chmod +x "$tmp/bin"/*

# run PURPOSE: dtc_install_deps PURPOSE in a fresh shell; logs reset.
run() {
    rm -f "$tmp"/{apt,during,systemctl}.log
    PATH=$tmp/bin:$PATH DTC_POLICY_RC_D=$tmp/policy-rc.d DTC_CREATECLUSTER_D=$tmp/cc.d \
        bash -c "source '$src/scripts/lib.sh'; dtc_install_deps $1" >"$tmp/out.log" 2>&1
}
asked() { grep '^install ' "$tmp/apt.log" 2>/dev/null | tr ' ' '\n'; }
# shellcheck source=scripts/lib.sh
source "$src/scripts/lib.sh"

: >"$tmp/installed"
check "build: runs" "run build"
check "build: asks for every build package" \
    "for p in ${DTC_BUILD_PACKAGES[*]}; do asked | grep -qx \$p || exit 1; done"
check "build: asks for nothing else (no postgresql, prometheus, lintian...)" \
    "[[ \$(asked | grep -cvE '^(install|-y|-q|--no-install-recommends)\$') -eq ${#DTC_BUILD_PACKAGES[@]} ]]"
check "build: policy-rc.d said 101 during the install" "grep -qx 'policy 101' '$tmp/during.log'"
check "build: create_main_cluster = false during the install" \
    "grep -qx 'create_main_cluster = false' '$tmp/during.log'"
if grep -q '^pg_conftool' "$tmp/during.log"; then
    check "postgresql-common reads it: create_main_cluster off" \
        "grep -qx 'pg_conftool off' '$tmp/during.log'"
fi
check "build: both removed afterwards" "[[ ! -e $tmp/policy-rc.d && -z \$(ls -A '$tmp/cc.d') ]]"
check "build: no unit disabled (prometheus not installed)" "[[ ! -e $tmp/systemctl.log ]]"

check "test: runs" "run test"
check "test: asks for the test tools too" \
    "for p in postgresql libpq-dev prometheus lintian debhelper strace libmicrohttpd-dev python3-setuptools; do asked | grep -qx \$p || exit 1; done"
check "test: prometheus.service disabled after installing prometheus" \
    "grep -qx 'disable prometheus.service' '$tmp/systemctl.log'"

printf '#!/bin/sh\n# the admin'"'"'s\nexit 0\n' >"$tmp/policy-rc.d"
chmod +x "$tmp/policy-rc.d"
cp "$tmp/policy-rc.d" "$tmp/policy-rc.d.orig"
touch "$tmp/apt-fails"
check "apt-get failing: dtc_install_deps fails" "! run build"
check "an existing policy-rc.d is left as it was" "cmp -s '$tmp/policy-rc.d' '$tmp/policy-rc.d.orig'"
check "apt-get failing: createcluster.d file removed all the same" "[[ -z \$(ls -A '$tmp/cc.d') ]]"
rm "$tmp/apt-fails"

dtc_packages test >"$tmp/installed"
check "nothing missing: runs" "run test"
check "nothing missing: apt-get not run" "[[ ! -e $tmp/apt.log ]]"
check "unknown purpose: fails" "! run bogus"

echo "$fails failure(s)"
((fails == 0))

#!/usr/bin/env bash
# package_test.sh BUILD_DIR - the Debian package (ctest -L package; slow).
#
# 1. cpack builds the .deb (into a temp dir, not the build tree).
# 2. dpkg-deb -I / -c: dependencies from dpkg-shlibdeps, conffiles, the
#    maintainer scripts, every file where it belongs.
# 3. When run as root on a system where rapport is not installed (and
#    RAPPORT_DEB_INSTALL is not 0): dpkg -i into the real system, then check
#    the user, the state directory, the enabled unit, that the binaries run,
#    and start rapportd by hand as user rapport with the shipped config
#    (PID 1 may not be systemd, so the unit itself is not started here);
#    reinstall over an edited conffile (kept); then dpkg --purge, and the
#    user is removed again if this test made it.
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/rapport-deb-XXXXXX)
installed=0 made_user=0 pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  if [ "$installed" = 1 ]; then
    dpkg_retry --purge rapport >/dev/null 2>&1 || echo "warning: dpkg --purge rapport failed"
    if [ "$made_user" = 1 ]; then userdel rapport 2>/dev/null || true; groupdel rapport 2>/dev/null || true; fi
  fi
  rm -rf "$work"
}
trap cleanup EXIT
# Other builds on the machine may hold the dpkg lock (apt-get in deps.sh).
dpkg_retry() {
  local i
  for i in $(seq 1 60); do
    if out=$(dpkg "$@" 2>&1); then echo "$out"; return 0; fi
    grep -qi 'lock' <<<"$out" || { echo "$out"; return 1; }
    sleep 2
  done
  echo "$out"; return 1
}
fail=0
check() { if ! eval "$1"; then echo "FAILED: $2"; fail=1; fi; }

(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work" >cpack.log 2>&1) \
  || { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/rapport_*.deb)
echo "built $(basename "$deb")"

info=$(dpkg-deb -I "$deb")
contents=$(dpkg-deb -c "$deb")
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
check 'grep -q "libsystemd0" <<<"$depends"' "Depends lacks libsystemd0 (shlibdeps)"
check 'grep -q "libcurl3-gnutls" <<<"$depends"' "Depends lacks libcurl3-gnutls (shlibdeps)"
check 'grep -q "libc6" <<<"$depends"' "Depends lacks libc6"
check 'grep -q "procps" <<<"$depends"' "Depends lacks procps (/bin/kill for ExecReload)"
for s in postinst prerm postrm conffiles; do
  check 'grep -qw "$s" <<<"$info"' "control member $s missing"
done
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)
for f in /etc/rapport/rapportd.toml /etc/rapport/default.toml /etc/rapport/jobclub.toml; do
  check 'grep -qx "$f" <<<"$conffiles"' "$f is not a conffile"
done
for f in ./usr/bin/rapportd ./usr/bin/rapportctl ./usr/lib/systemd/system/rapportd.service \
         ./usr/lib/systemd/system/rapportd.socket ./usr/lib/systemd/system/rapportd-http.socket \
         ./usr/lib/systemd/user/rapportd.service ./usr/lib/sysusers.d/rapport.conf \
         ./usr/lib/tmpfiles.d/rapport.conf ./etc/rapport/rapportd.toml ./etc/rapport/default.toml \
         ./usr/share/rapport/rapport.xpi ./usr/share/doc/rapport/README.md; do
  check 'grep -q " $f\$" <<<"$contents"' "$f not in the package"
done
check '! grep -q "_CPack_Packages\|/tmp/" <<<"$contents"' "staging paths leaked into the package"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/systemd/system/rapportd.service >"$work/unit"
check 'grep -qx "ExecStart=/usr/bin/rapportd --config /etc/rapport/rapportd.toml" "$work/unit"' "packaged unit ExecStart wrong"

if [ "$(id -u)" != 0 ] || [ "${RAPPORT_DEB_INSTALL:-1}" = 0 ]; then
  echo "SKIP dpkg -i (needs root; RAPPORT_DEB_INSTALL=0 turns it off)"
elif dpkg-query -W -f='${Status}' rapport 2>/dev/null | grep -q "ok installed"; then
  echo "SKIP dpkg -i (a rapport package is already installed; not touching it)"
else
  getent passwd rapport >/dev/null || made_user=1
  installed=1
  out=$(dpkg_retry -i "$deb") || { echo "$out"; echo "FAILED: dpkg -i"; exit 1; }
  echo "dpkg -i: ok"
  check 'getent passwd rapport >/dev/null' "no user rapport after install"
  check '[ "$(stat -c %U:%a /var/lib/rapport)" = rapport:700 ]' "/var/lib/rapport not rapport:700 ($(stat -c %U:%a /var/lib/rapport 2>&1))"
  check '[ -L /etc/systemd/system/multi-user.target.wants/rapportd.service ]' "rapportd.service not enabled"
  out=$(/usr/bin/rapportd --help 2>&1) || true
  check 'grep -q "usage: rapportd" <<<"$out"' "installed rapportd --help"
  printf 'From: ben@example.org\r\nTo: anna@example.net\r\nSubject: Tuesday\r\n\r\nHi Anna,\r\n\r\nSee you at ten.\r\n\r\nBen\r\n' >"$work/m.eml"
  check '/usr/bin/rapportctl check --policy /etc/rapport/jobclub.toml --json "$work/m.eml" | grep -q "\"action\""' "installed rapportctl check"
  # Start it as systemd would (user rapport, the shipped config), on free ports.
  log=$work/rapportd.log
  setpriv --reuid=rapport --regid=rapport --init-groups --no-new-privs \
    env -i PATH=/usr/bin:/bin HOME=/var/lib/rapport STATE_DIRECTORY=/var/lib/rapport \
    /usr/bin/rapportd --config /etc/rapport/rapportd.toml --listen 127.0.0.1:0 --http 127.0.0.1:0 >"$log" 2>&1 &
  pid=$!
  for i in $(seq 1 100); do [ -s /var/lib/rapport/smtp-address ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if [ -s /var/lib/rapport/smtp-address ]; then
    port=$(sed 's/.*://' /var/lib/rapport/smtp-address)
    greeting=$(/usr/bin/python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1',$port),5); print(s.recv(200).decode().strip())")
    echo "rapportd as user rapport: $greeting"
    check 'grep -q "^220 " <<<"$greeting"' "no SMTP greeting from the installed rapportd"
    check 'grep -q "policy /etc/rapport/default.toml" "$log"' "shipped config did not select /etc/rapport/default.toml"
    check '[ "$(stat -c %U /var/lib/rapport/queue.db)" = rapport ]' "state not written as rapport"
    kill -TERM "$pid"; wait "$pid" && rc=0 || rc=$?; pid=""
    check '[ "$rc" = 0 ]' "rapportd exit $rc after SIGTERM"
  else
    echo "FAILED: the installed rapportd did not start:"; cat "$log"; fail=1
  fi
  # Reinstall over a locally edited conffile: dpkg keeps the edit, postinst
  # runs as an upgrade.
  echo "# local edit" >>/etc/rapport/default.toml
  out=$(dpkg_retry -i "$deb") || { echo "$out"; echo "FAILED: dpkg -i (again)"; fail=1; }
  check 'grep -qx "# local edit" /etc/rapport/default.toml' "local conffile edit lost on reinstall"
  echo "dpkg -i again over an edited conffile: ok"
  out=$(dpkg_retry --purge rapport) || { echo "$out"; echo "FAILED: dpkg --purge"; fail=1; }
  installed=0
  check '[ ! -e /usr/bin/rapportd ] && [ ! -e /etc/rapport/rapportd.toml ] && [ ! -e /var/lib/rapport ]' "files left after purge"
  check '[ ! -e /etc/systemd/system/multi-user.target.wants/rapportd.service ]' "enable symlink left after purge"
  if [ "$made_user" = 1 ]; then userdel rapport 2>/dev/null || true; groupdel rapport 2>/dev/null || true; made_user=0; fi
  echo "dpkg --purge: ok"
fi

[ "$fail" = 0 ] && echo "PASS package" || echo "FAIL package"
exit "$fail"

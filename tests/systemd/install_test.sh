#!/usr/bin/env bash
# install_test.sh BUILD_DIR - `cmake --install` into a DESTDIR with prefix
# /usr: every file lands where systemd, dpkg and users look; the installed
# units name the installed binary and pass `systemd-analyze verify` and the
# hardening limit; the installed rapportd runs.
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
dest=$(mktemp -d /tmp/rapport-install-XXXXXX)
trap 'rm -rf "$dest"' EXIT

DESTDIR=$dest cmake --install "$build" --prefix /usr >"$dest.log" 2>&1 || { cat "$dest.log"; rm -f "$dest.log"; exit 1; }
rm -f "$dest.log"

fail=0
for f in usr/bin/rapportd usr/bin/rapportctl \
         usr/lib/systemd/system/rapportd.service usr/lib/systemd/system/rapportd.socket \
         usr/lib/systemd/system/rapportd-http.socket usr/lib/systemd/user/rapportd.service \
         usr/lib/sysusers.d/rapport.conf usr/lib/tmpfiles.d/rapport.conf \
         etc/rapport/rapportd.toml etc/rapport/default.toml etc/rapport/jobclub.toml \
         usr/share/rapport/rapport.xpi \
         usr/share/doc/rapport/README.md usr/share/doc/rapport/BENCHMARKS.md \
         usr/share/doc/rapport/daemon/README.md usr/share/doc/rapport/daemon/API.md; do
  if [ ! -s "$dest/$f" ]; then echo "missing: /$f"; fail=1; fi
done
[ -x "$dest/usr/bin/rapportd" ] || { echo "rapportd not executable"; fail=1; }
grep -qx 'ExecStart=/usr/bin/rapportd --config /etc/rapport/rapportd.toml' "$dest/usr/lib/systemd/system/rapportd.service" \
  || { echo "system unit ExecStart wrong"; fail=1; }
grep -q '^file = "/etc/rapport/default.toml"' "$dest/etc/rapport/rapportd.toml" || { echo "config names no policy"; fail=1; }

# The installed rapportd runs (--help: usage, exit 2) and so does rapportctl.
out=$("$dest/usr/bin/rapportd" --help 2>&1) && rc=0 || rc=$?
[ "$rc" = 2 ] && grep -q 'usage: rapportd' <<<"$out" || { echo "rapportd --help: rc $rc: $out"; fail=1; }
# The shipped policies parse (rapportctl check with each; a clean file, exit 0).
mail=$(mktemp /tmp/rapport-install-mail-XXXXXX.eml)
printf 'From: ben@example.org\r\nTo: anna@example.net\r\nSubject: Tuesday\r\n\r\nHi Anna,\r\n\r\nSee you at ten.\r\n\r\nBen\r\n' >"$mail"
for p in default jobclub; do
  "$dest/usr/bin/rapportctl" check --policy "$dest/etc/rapport/$p.toml" --json "$mail" >/dev/null \
    || { echo "rapportctl check --policy $p.toml failed"; fail=1; }
done
rm -f "$mail"

# systemd reads the installed units. `verify --root` wants a whole OS tree
# (sysinit.target, /bin/kill), so copies whose ExecStart names the binary in
# DESTDIR are verified instead; the ExecStart line itself is checked above.
mkdir -p "$dest/verify/system" "$dest/verify/user"
for u in rapportd.service rapportd.socket rapportd-http.socket; do
  sed "s|/usr/bin/rapportd|$dest/usr/bin/rapportd|" "$dest/usr/lib/systemd/system/$u" >"$dest/verify/system/$u"
done
sed "s|/usr/bin/rapportd|$dest/usr/bin/rapportd|" "$dest/usr/lib/systemd/user/rapportd.service" >"$dest/verify/user/rapportd.service"
# verify exits 0 on unknown keys and bad values ("ignoring"): any output fails.
if out=$(cd "$dest/verify/system" && systemd-analyze verify rapportd.service rapportd.socket rapportd-http.socket 2>&1) && [ -z "$out" ]; then
  echo "systemd-analyze verify (system units): ok"
else
  echo "systemd-analyze verify (system units) failed:"; echo "$out"; fail=1
fi
rt=$(mktemp -d /tmp/rapport-xdg-XXXXXX)
if out=$(cd "$dest/verify/user" && XDG_RUNTIME_DIR=$rt systemd-analyze verify --user rapportd.service 2>&1) && [ -z "$out" ]; then
  echo "systemd-analyze verify --user: ok"
else
  echo "systemd-analyze verify --user failed:"; echo "$out"; fail=1
fi
rm -rf "$rt"
/usr/bin/python3 "$here/security_score.py" "$dest/usr/lib/systemd/system/rapportd.service" 2.0 | tail -1 || fail=1

[ "$fail" = 0 ] && echo "PASS install" || echo "FAIL install"
exit "$fail"

#!/usr/bin/env bash
# nspawn_test.sh BUILD_DIR - the .deb under a real systemd (ctest -L nspawn; slow).
#
# PID 1 of this machine is not systemd, so the units cannot be started here.
# This test makes a machine where it is: a minimal Debian bookworm
# (debootstrap) booted with systemd-nspawn on a private network. In it:
#   1. the .deb installs (apt-get pulls its dependencies) and postinst
#      enables and starts rapportd.service: Type=notify reaches "active"
#      with our STATUS=, under the hardened unit (seccomp, Protect*, ...);
#   2. a CV-only mail over SMTP is held; `rapportctl held list` shows it;
#   3. `systemctl reload` re-reads the policy; a broken policy is logged at
#      priority err and the service stays active;
#   4. socket activation: with the service stopped and rapportd.socket +
#      rapportd-http.socket started, a connection starts it;
#   5. the job club: on 0.0.0.0 without members it refuses to start (err in
#      the journal); `rapportctl member add` as root, then a member sends
#      over STARTTLS (certificate checked) + AUTH.
# Needs root, debootstrap, systemd-nspawn (systemd-container) and Debian's
# mirror; exit 77 (skip) when any is missing. Everything is removed after.
# RAPPORT_NSPAWN_ROOTFS=DIR reuses (or keeps) a prepared root file system.
set -euo pipefail
build=$(cd "$1" && pwd)
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
command -v debootstrap >/dev/null || skip "no debootstrap"
command -v systemd-nspawn >/dev/null || skip "no systemd-nspawn (package systemd-container)"

work=$(mktemp -d /tmp/rapport-nspawn-XXXXXX)
root=${RAPPORT_NSPAWN_ROOTFS:-$work/root}
nspawn_pid="" mounted=""
cleanup() {
  if [ -n "$nspawn_pid" ]; then
    kill -TERM "$nspawn_pid" 2>/dev/null || true # nspawn shuts the container down
    for _ in $(seq 1 50); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$nspawn_pid" 2>/dev/null || true
  fi
  [ -n "$mounted" ] && umount "$mounted" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail=0
check() { if eval "$1"; then echo "ok: $2"; else echo "FAILED: $2"; fail=1; fi; }

# systemd-nspawn keeps propagation directories under /run/systemd/nspawn
# and refuses to clean them unless they are on a tmpfs.
if [ "$(findmnt -n -o FSTYPE /run 2>/dev/null)" != tmpfs ] && \
   [ "$(findmnt -n -o FSTYPE /run/systemd/nspawn 2>/dev/null)" != tmpfs ]; then
  mkdir -p /run/systemd/nspawn
  mount -t tmpfs tmpfs /run/systemd/nspawn
  mounted=/run/systemd/nspawn
fi

(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work" >cpack.log 2>&1) \
  || { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/rapport_*.deb)

if [ ! -x "$root/usr/lib/systemd/systemd" ]; then
  echo "debootstrap bookworm into $root"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,swaks \
    bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; skip "debootstrap failed (no Debian mirror?)"; }
fi
ns() { systemd-nspawn -D "$root" -q --register=no --keep-unit --pipe "$@"; }
cp "$deb" "$root/root/rapport.deb"
ns sh -c 'apt-get update -qq && apt-get install -y -qq /root/rapport.deb libnet-ssleay-perl' >"$work/apt.log" 2>&1 \
  || { tail -20 "$work/apt.log"; echo "FAILED: the .deb does not install"; exit 1; }
echo "installed $(basename "$deb") with its dependencies (and swaks' TLS module)"

# Boot. The container's PID 1 is nspawn's child; commands run in it by nsenter.
systemd-nspawn -D "$root" -b -q --register=no --keep-unit --private-network --console=passive \
  >"$work/boot.log" 2>&1 &
nspawn_pid=$!
init=""
# nspawn forks helpers first; the container's init is the child running systemd.
for _ in $(seq 1 150); do
  for pid in $(pgrep -P "$nspawn_pid" || true); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd ] && init=$pid
  done
  [ -n "$init" ] && break
  sleep 0.2
done
[ -n "$init" ] || { cat "$work/boot.log"; echo "FAILED: the container did not boot"; exit 1; }
inside() { nsenter -t "$init" -a "$@"; }
for _ in $(seq 1 150); do
  state=$(inside systemctl is-system-running 2>/dev/null || true)
  case "$state" in running|degraded) break ;; esac
  sleep 0.2
done
echo "container: systemd $state"

# 1. Started by systemd through the package's postinst.
for _ in $(seq 1 50); do [ "$(inside systemctl is-active rapportd 2>/dev/null)" = active ] && break; sleep 0.2; done
check '[ "$(inside systemctl is-active rapportd)" = active ]' "rapportd.service is active (Type=notify, READY=1)"
check 'inside systemctl show -p StatusText --value rapportd | grep -q "SMTP 127.0.0.1:2525"' "STATUS= is rapportd's"
check '[ "$(inside systemctl show -p NRestarts --value rapportd)" = 0 ]' "no restarts"
check 'inside stat -c "%U %a" /var/lib/rapport | grep -qx "rapport 700"' "StateDirectory owned by rapport, mode 700"

# 2. A CV-only mail is held.
cat >"$root/root/cv.eml" <<'EOF'
From: Jo Bloggs <jo.bloggs@example.org>
To: Priya Shah <priya.shah@acme-widgets.co.uk>
Subject: CV
Message-ID: <nspawn-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain

Hello, please find attached my CV. Jo
--b1
Content-Type: application/pdf; name="jo-cv.pdf"
Content-Disposition: attachment; filename="jo-cv.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw
--b1--
EOF
check 'inside swaks --server 127.0.0.1:2525 --from jo.bloggs@example.org --to priya.shah@acme-widgets.co.uk \
         --data /root/cv.eml 2>&1 | grep -c "^<-  250 2.0.0" >/dev/null' "SMTP accepts the mail"
for _ in $(seq 1 25); do inside rapportctl held list 2>/dev/null | grep -q cv-attachment-only && break; sleep 0.2; done
check 'inside rapportctl held list | grep -q cv-attachment-only' "rapportctl held list shows it held for cv-attachment-only"

# 3. Reload: good, then broken (logged at err, old policy kept).
check 'inside systemctl reload rapportd' "systemctl reload succeeds"
check 'inside journalctl -u rapportd -o cat | grep -q "reload: policy /etc/rapport/default.toml loaded"' "the policy was re-read"
inside cp /etc/rapport/default.toml /root/default.toml
inside sh -c 'printf "[rules.no-such-rule]\naction = \"hold\"\n" >> /etc/rapport/default.toml'
inside systemctl reload rapportd || true
check 'inside journalctl -u rapportd -p err -o cat | grep -q "error: reload: policy: /etc/rapport/default.toml:.*no-such-rule"' \
  "a broken policy is logged at priority err with file:line:col"
check '[ "$(inside systemctl is-active rapportd)" = active ]' "and rapportd keeps running"
inside cp /root/default.toml /etc/rapport/default.toml

# 4. Socket activation.
inside systemctl stop rapportd
inside systemctl start rapportd.socket rapportd-http.socket
check '[ "$(inside systemctl is-active rapportd)" != active ]' "stopped, sockets listening"
check 'inside swaks --server 127.0.0.1:2525 --from a@example.org --to b@example.net --body "Hi Bob, see you at ten. Ann" \
         2>&1 | grep -c "^<-  250 2.0.0" >/dev/null' "a connection to the socket is served"
check '[ "$(inside systemctl is-active rapportd)" = active ]' "and started rapportd.service"

# 5. The job club.
inside systemctl stop rapportd.socket rapportd-http.socket rapportd
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$root/etc/rapport/club.key" \
  -out "$root/etc/rapport/club.crt" -days 2 -subj /CN=club -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1
inside sh -c 'chown root:rapport /etc/rapport/club.key && chmod 0640 /etc/rapport/club.key &&
  sed -i "s|^listen = \"127.0.0.1:2525\".*|listen = \"0.0.0.0:2525\"|" /etc/rapport/rapportd.toml &&
  printf "\n[tls]\ncert = \"/etc/rapport/club.crt\"\nkey = \"/etc/rapport/club.key\"\n" >> /etc/rapport/rapportd.toml'
inside systemctl start rapportd 2>/dev/null || true
check 'inside journalctl -u rapportd -p err -o cat | grep -q "refusing to listen on 0.0.0.0:2525 (not loopback) without SMTP AUTH accounts"' \
  "on 0.0.0.0 without members it refuses to start, and says why"
sleep 3 # RestartSec=2s: a restart loop would have begun by now
check '[ "$(inside systemctl is-active rapportd)" = failed ] && [ "$(inside systemctl show -p NRestarts --value rapportd)" = 0 ]' \
  "and is not restarted in a loop (RestartPreventExitStatus=2)"
check 'echo amira-pass-1 | inside rapportctl member add amira --password-stdin >/dev/null' "rapportctl member add (as root)"
check 'inside stat -c %U /var/lib/rapport/members.db | grep -qx rapport' "members.db belongs to the service user"
inside systemctl reset-failed rapportd
inside systemctl start rapportd
check '[ "$(inside systemctl is-active rapportd)" = active ]' "with a member it starts"
check 'inside swaks --server 127.0.0.1:2525 --tls --tls-verify --tls-ca-path /etc/rapport/club.crt --auth PLAIN \
         --auth-user amira --auth-password amira-pass-1 --from jobclub@club.example --to hr@firm.example \
         --body "Hello, a short note. Amira" 2>&1 | grep -c "^<~  250 2.0.0" >/dev/null' \
  "a member sends over STARTTLS (certificate verified) + AUTH"
check '{ inside swaks --server 127.0.0.1:2525 --from x@example.org --to y@example.org --body hi 2>&1 || true; } |
         grep -c "^<\*\* 530" >/dev/null' \
  "without AUTH: 530"

if [ "$fail" != 0 ]; then
  echo "--- journal ---"
  inside journalctl -u rapportd --no-pager -o short-precise | tail -40 || true
fi
exit "$fail"

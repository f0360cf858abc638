#!/usr/bin/env bash
# Installs the Debian packages Rapport builds and tests with.
# Fast no-op when everything is already there: dpkg is asked first, and
# apt-get (update + install) runs only for what is missing.
set -euo pipefail

build_pkgs=(
  cmake g++ make pkg-config clang libclang-rt-14-dev
  libmimetic-dev libetpan-dev libcurl4-gnutls-dev libpsl-dev
  libboost-dev libboost-system-dev libssl-dev
  libsqlite3-dev nlohmann-json3-dev libtomlplusplus-dev
  libsodium-dev         # argon2id password hashes for job club members
  libgtest-dev libgmock-dev libbenchmark-dev
  libsystemd-dev        # sd_notify, sd_listen_fds (daemon/lib/systemd.cc)
  gettext libboost-locale-dev   # the translations: msgfmt compiles po/*.po, Boost.Locale reads them
  libpq-dev             # store/: PostgreSQL for [store] url (several rapportd, one store)
)
test_pkgs=(
  python3 python3-aiosmtpd swaks curl openssl
  postgresql            # tests/store: a throw-away PostgreSQL 15 per test run (initdb, pg_ctl)
  haproxy               # tests/store: two rapportd behind one address, as docs/multi-node.md sets up
  dovecot-imapd         # tests/daemon/ledger_e2e.py: the inbox the reply ledger reads (IMAP, TLS, IDLE)
  faketime              # ledger_e2e.py week: rapportd's clock moved on day by day (libfaketime)
  postfix   # smtp-source / smtp-sink and the relay baseline for bench/smtp_bench.sh
  thunderbird           # plugin/tests: the add-on loaded in a real headless Thunderbird
  chromium nodejs npm   # tests/browser: the held-mail page in headless chromium (playwright-core from npm)
  systemd dpkg-dev      # tests/systemd: systemd-analyze, systemd-socket-activate; cpack's .deb (dpkg-shlibdeps)
  debootstrap systemd-container  # tests/systemd/nspawn_test.sh: the .deb under a real systemd
  python3-polib         # tests/i18n: every message in every catalogue, placeholders kept
  dbus-daemon python3-dbus python3-gi  # tests/daemon/desktop_e2e.py: a private session bus and a notification server on it
)

want=("${build_pkgs[@]}")
if [ "${1:-}" = "--test" ]; then
  want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
  # node and npm may come from another repository (NodeSource's nodejs
  # ships npm): a working command is enough, and Debian's npm package
  # would conflict with it.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "rapport: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # Postfix: "No configuration" writes no main.cf, so the package starts no
  # daemon on port 25; the benchmark runs its own private instance.
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Dovecot: the package starts a system IMAP server where systemd runs; the
  # tests run their own on free ports, so the system one is switched off again.
  if [[ " ${missing[*]} " == *" dovecot-imapd "* ]] && [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
  fi
  # PostgreSQL and HAProxy likewise: the tests start their own, on free ports.
  if [[ " ${missing[*]} " == *" postgresql "* ]] && [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now postgresql.service >/dev/null 2>&1 || true
  fi
  if [[ " ${missing[*]} " == *" haproxy "* ]] && [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now haproxy.service >/dev/null 2>&1 || true
  fi
fi

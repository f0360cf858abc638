"""tb_lib.py - a throw-away headless Thunderbird for the add-on's tests.

Shared by tb_smoke.py (fake API) and tb_e2e.py (real rapportd). The profile
follows ../shared/recipes/thunderbird-headless.md: add-ons sideloaded as
PROFILE/extensions/<id>.xpi, one identity whose outgoing server is the SMTP
port under test, and an add-on's storage.local seeded through
PROFILE/browser-extension-data/<id>/storage.js (read on first use because the
profile sets extensions.webextensions.keepStorageOnUninstall).
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import zipfile

ADDON_ID = "rapport@rapport.local"
DRIVER_ID = "driver@rapport.test"
HERE = os.path.dirname(os.path.abspath(__file__))


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def thunderbird_or_skip():
    tb = shutil.which("thunderbird")
    if not tb:
        skip("thunderbird is not installed (apt-get install -y --no-install-recommends thunderbird)")
    return tb


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(pred, secs, step=0.2):
    end = time.time() + secs
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())


def user_js(smtp_port, email="jo.bloggs@example.org", name="Jo Bloggs", smtp_user=None, imap=None):
    """Prefs for one identity sending through 127.0.0.1:smtp_port.

    smtp_user: the outgoing server wants a login (normal password, which
    the test saves in the password manager), not none.
    imap: {"port": P, "user": U}: the account is IMAP at 127.0.0.1:P (no
    TLS, normal password), checked only when the test asks.
    """
    prefs = {
        "extensions.autoDisableScopes": 0, "extensions.enabledScopes": 15,
        "xpinstall.signatures.required": False, "mail.shell.checkDefaultClient": False,
        "app.update.enabled": False, "mail.accountmanager.accounts": "account1,account2",
        "mail.accountmanager.localfoldersserver": "server2", "mail.account.account1.identities": "id1",
        "mail.account.account1.server": "server1", "mail.account.account2.server": "server2",
        "mail.server.server1.type": "none", "mail.server.server1.hostname": "test.local",
        "mail.server.server1.userName": "jo", "mail.server.server2.type": "none",
        "mail.server.server2.hostname": "Local Folders", "mail.server.server2.userName": "nobody",
        "mail.identity.id1.useremail": email, "mail.identity.id1.fullName": name,
        "mail.identity.id1.smtpServer": "smtp1", "mail.identity.id1.valid": True, "mail.identity.id1.fcc": False,
        "mail.smtpservers": "smtp1", "mail.smtp.defaultserver": "smtp1",
        "mail.outgoingservers": "smtp1", "mail.outgoingserver.smtp1.type": "smtp",
        # add-on errors and console output reach the log the tests read
        "devtools.console.stdout.chrome": True, "devtools.console.stdout.content": True,
        "browser.dom.window.dump.enabled": True,
        # Without this a freshly installed add-on is marked "storage migrated"
        # and a seeded storage.js would be ignored (Extension.sys.mjs).
        "extensions.webextensions.keepStorageOnUninstall": True,
    }
    for prefix in ("mail.smtpserver.smtp1.", "mail.outgoingserver.smtp1."):
        prefs.update({prefix + "hostname": "127.0.0.1", prefix + "port": smtp_port,
                      prefix + "authMethod": 3 if smtp_user else 1, prefix + "try_ssl": 0})
        if smtp_user:
            prefs[prefix + "username"] = smtp_user
    if imap:
        prefs.update({"mail.server.server1.type": "imap", "mail.server.server1.hostname": "127.0.0.1",
                      "mail.server.server1.port": imap["port"], "mail.server.server1.userName": imap["user"],
                      "mail.server.server1.socketType": 0, "mail.server.server1.authMethod": 3,
                      # no sign-in before the test has saved the password (no prompt in headless mode)
                      "mail.server.server1.login_at_startup": False, "mail.server.server1.check_new_mail": False})
    return "".join("user_pref(%s, %s);\n" % (json.dumps(k), json.dumps(v)) for k, v in prefs.items())


def pack_dir(src_dir, dest, subs=None):
    """Zips an add-on folder into dest, replacing each key of subs in its .js files."""
    with zipfile.ZipFile(dest, "w") as z:
        for root, _, files in os.walk(src_dir):
            for f in sorted(files):
                path = os.path.join(root, f)
                arc = os.path.relpath(path, src_dir)
                if f.endswith(".js") and subs:
                    text = open(path, encoding="utf-8").read()
                    for k, v in subs.items():
                        text = text.replace(k, v)
                    z.writestr(arc, text)
                else:
                    z.write(path, arc)


def make_profile(work, smtp_port, addons, storage=None, **accounts):
    """A fresh profile under work/profile.

    addons: {add-on id: path of an .xpi, or (folder, {placeholder: value})}.
    storage: {add-on id: dict} seeded as that add-on's storage.local.
    """
    profile = os.path.join(work, "profile")
    os.makedirs(os.path.join(profile, "extensions"))
    for addon_id, src in addons.items():
        dest = os.path.join(profile, "extensions", addon_id + ".xpi")
        if isinstance(src, tuple):
            pack_dir(src[0], dest, src[1])
        else:
            shutil.copy(src, dest)
    for addon_id, data in (storage or {}).items():
        seed = os.path.join(profile, "browser-extension-data", addon_id)
        os.makedirs(seed)
        with open(os.path.join(seed, "storage.js"), "w") as f:
            json.dump(data, f)
    with open(os.path.join(profile, "user.js"), "w") as f:
        f.write(user_js(smtp_port, **accounts))
    return profile


class Thunderbird:
    """thunderbird --headless on a profile (or, with display=":N", on that X
    display, for screenshots); its output goes to work/thunderbird.log."""

    def __init__(self, binary, profile, work, display=None):
        self.log_path = os.path.join(work, "thunderbird.log")
        self.logf = open(self.log_path, "wb")
        if display:
            env = dict(os.environ, DISPLAY=display, HOME=work, TMPDIR=work)
            env.pop("MOZ_HEADLESS", None)
            args = [binary, "--no-remote", "--profile", profile]
        else:
            env = dict(os.environ, MOZ_HEADLESS="1", HOME=work, TMPDIR=work)
            args = [binary, "--headless", "--no-remote", "--profile", profile]
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=self.logf, env=env)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()

    def addon_problems(self):
        """Log lines about the add-ons that mention an error, warning or exception."""
        log = open(self.log_path, encoding="utf-8", errors="replace").read()
        return [l for l in log.splitlines()
                if re.search(r"rapport|moz-extension", l, re.I) and re.search(r"error|warn|exception", l, re.I)]

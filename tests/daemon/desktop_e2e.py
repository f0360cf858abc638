#!/usr/bin/python3
"""The desktop notice about held mail, on a real session bus, end to end.

    desktop_e2e.py RAPPORTD CASE     CASE: notice | no_bus

notice: the test starts its own `dbus-daemon --session` (a private bus in
its work directory) and a freedesktop Notifications server on it (python3-
dbus; it records every Notify call and emits ActionInvoked when the test
"clicks"). rapportd runs with DBUS_SESSION_BUS_ADDRESS naming that bus,
[hold] notify_desktop = true, and an `xdg-open` first on its PATH that
records the URL it is asked to open, as a browser would be handed it. A
CV-only application to "Anna Kowalska" is held: the server must get
"Rapport is holding your message to Anna Kowalska" with a "Review" action;
clicking Review must open a one-time login link to rapportd's page (it
logs in once, and only once), never written to rapportd's log; a click on
another program's notice opens nothing.

no_bus: no session bus at all (neither DBUS_SESSION_BUS_ADDRESS nor
XDG_RUNTIME_DIR, as for a system service): one log line says so, the mail
is held as always, rapportd stops cleanly.
"""
import http.client
import os
import smtplib
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import Rapportd, run_case, wait_for  # noqa: E402

import dbus  # noqa: E402
import dbus.mainloop.glib  # noqa: E402
import dbus.service  # noqa: E402
from gi.repository import GLib  # noqa: E402

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
CV_MAIL = (b"From: Jake Turner <jake.turner@gmail.com>\r\nTo: Anna Kowalska <anna.kowalska@brightwater.co.uk>\r\n"
           b"Subject: Warehouse Operative vacancy (ref WH-221)\r\nDate: Mon, 3 Mar 2025 09:12:40 +0000\r\n"
           b"Message-ID: <cv-only-desktop@gmail.com>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n"
           b"--XYZ\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
           b"Dear Hiring Manager,\r\n\r\nMy CV is attached.\r\n\r\nKind regards,\r\nJake Turner\r\n\r\n"
           b"--XYZ\r\nContent-Type: application/pdf; name=\"Jake_Turner_CV.pdf\"\r\n"
           b"Content-Disposition: attachment; filename=\"Jake_Turner_CV.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           b"JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoK\r\n--XYZ--\r\n")

# The same habit in French: the notice is said in the language of its finding.
CV_MAIL_FR = (b"From: Jacques Martin <jacques.martin@gmail.com>\r\nTo: Anna Kowalska <anna.kowalska@brightwater.co.uk>\r\n"
              b"Subject: Poste de cariste (ref WH-221)\r\nDate: Mon, 3 Mar 2025 09:14:02 +0000\r\n"
              b"Message-ID: <cv-only-desktop-fr@gmail.com>\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n"
              b"--XYZ\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
              b"Madame, Monsieur,\r\n\r\nVous trouverez mon CV en pi\xc3\xa8ce jointe.\r\n\r\n"
              b"Cordialement,\r\nJacques Martin\r\n\r\n"
              b"--XYZ\r\nContent-Type: application/pdf; name=\"CV.pdf\"\r\n"
              b"Content-Disposition: attachment; filename=\"CV.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
              b"JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoK\r\n--XYZ--\r\n")


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    assert ok, what


class SessionBus:
    """A private dbus-daemon --session, stopped by its PID."""

    def __init__(self, work):
        self.socket = os.path.join(work, "session-bus")
        self.proc = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address",
                                      "--address=unix:path=" + self.socket],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.address = self.proc.stdout.readline().strip()
        check(self.address.startswith("unix:path=" + self.socket), "a private session bus: %s" % self.address)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Notifications(dbus.service.Object):
    """A notification server as a desktop has one: records what it is asked to show."""

    def __init__(self, bus):
        super().__init__(bus, PATH)
        self.shown, self.lock, self.next_id = [], threading.Lock(), 40

    @dbus.service.method(NAME, in_signature="", out_signature="as")
    def GetCapabilities(self):
        return ["actions", "body"]

    @dbus.service.method(NAME, in_signature="", out_signature="ssss")
    def GetServerInformation(self):
        return ("desktop_e2e", "rapport tests", "1.0", "1.2")

    @dbus.service.method(NAME, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
        with self.lock:
            self.next_id += 1
            self.shown.append({"id": self.next_id, "app": str(app), "summary": str(summary), "body": str(body),
                               "actions": [str(a) for a in actions]})
            return self.next_id

    @dbus.service.method(NAME, in_signature="u", out_signature="")
    def CloseNotification(self, nid):
        self.NotificationClosed(nid, 3)

    @dbus.service.signal(NAME, signature="us")
    def ActionInvoked(self, nid, key):
        pass

    @dbus.service.signal(NAME, signature="uu")
    def NotificationClosed(self, nid, reason):
        pass

    def notices(self):
        with self.lock:
            return list(self.shown)


class Desktop:
    """The notification server on the private bus, served by a GLib loop on a thread."""

    def __init__(self, address):
        dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
        self.loop = GLib.MainLoop()
        self.bus = dbus.bus.BusConnection(address)
        self.name = dbus.service.BusName(NAME, self.bus)
        self.server = Notifications(self.bus)
        self.thread = threading.Thread(target=self.loop.run, daemon=True)
        self.thread.start()

    def click(self, nid, key):
        GLib.idle_add(lambda: self.server.ActionInvoked(dbus.UInt32(nid), key) and False)

    def stop(self):
        self.name = None  # gives the name back while the bus is still there
        GLib.idle_add(self.loop.quit)
        self.thread.join(timeout=10)
        self.bus.close()


def opener(work):
    """An xdg-open that writes down each URL it gets."""
    bin_dir = os.path.join(work, "bin")
    os.makedirs(bin_dir)
    opened = os.path.join(work, "opened")
    with open(os.path.join(bin_dir, "xdg-open"), "w") as f:
        f.write("#!/bin/sh\nprintf '%%s\\n' \"$1\" >> %s\n" % opened)
    os.chmod(os.path.join(bin_dir, "xdg-open"), 0o755)
    return bin_dir, opened


def urls(opened):
    try:
        return open(opened).read().split()
    except OSError:
        return []


def send_cv(d, mail=CV_MAIL, sender="jake.turner@gmail.com"):
    with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
        s.sendmail(sender, ["anna.kowalska@brightwater.co.uk"], mail)


def held_ids(d):
    return [r[0] for r in d.db_rows() if r[1] == "held"]


def get(url):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("GET", u.path + ("?" + u.query if u.query else ""))
    r = c.getresponse()
    r.read()
    c.close()
    return r.status, r.getheader("Set-Cookie") or "", r.getheader("Location") or ""


def case_notice(binary, work):
    bus = SessionBus(work)
    desktop = Desktop(bus.address)
    bin_dir, opened = opener(work)
    d = Rapportd(binary, work, config="[hold]\nnotify_desktop = true\n",
                 env={"DBUS_SESSION_BUS_ADDRESS": bus.address, "PATH": bin_dir + ":" + os.environ["PATH"]})
    try:
        d.start()
        check("desktop: held mail is shown as a desktop notification" in d.log(), "rapportd found the session bus")
        send_cv(d)
        check(wait_for(lambda: len(held_ids(d)) == 1, 20), "the CV-only application is held")
        check(wait_for(lambda: desktop.server.notices(), 20), "a notice reached the notification server")
        n = desktop.server.notices()[0]
        print("     notice: %r / %r / actions %r" % (n["summary"], n["body"], n["actions"]))
        check(n["summary"] == "Rapport is holding your message to Anna Kowalska",
              "it names the recipient by the To field's display name")
        check(n["app"] == "Rapport" and "review" in n["actions"][0::2]
              and n["actions"][n["actions"].index("review") + 1] == "Review", "with a Review action")
        check("CV" in n["body"], "its body is the reason it is held: %r" % n["body"])
        check(len(desktop.server.notices()) == 1, "one notice for one held message")

        desktop.click(n["id"] + 1000, "review")  # another program's notice
        time.sleep(1)
        check(urls(opened) == [], "a click on another program's notice opens nothing")

        desktop.click(n["id"], "review")
        check(wait_for(lambda: urls(opened), 20), "Review opened a page")
        url = urls(opened)[0]
        http_address = open(os.path.join(d.state, "http-address")).read().strip()
        parts = urllib.parse.urlsplit(url)
        check(parts.scheme == "http" and parts.netloc == http_address and parts.path == "/login"
              and len(urllib.parse.parse_qs(parts.query).get("code", [""])[0]) == 48,
              "a one-time login link to rapportd's page (http://%s/login?code=...)" % http_address)
        status, cookie, location = get(url)
        check(status in (302, 303) and "rapport_session=" in cookie,
              "the link logs in to the page (%d, a session cookie, on to %r)" % (status, location))
        status, cookie, _ = get(url)
        check(status == 403 and not cookie, "a second use of the same link is refused (%d)" % status)
        check(parts.query not in d.log(), "the link is not in rapportd's log")
        check("opening the held-mail page with a one-time login link" in d.log(), "the click is logged, without the link")

        send_cv(d, CV_MAIL_FR, "jacques.martin@gmail.com")
        check(wait_for(lambda: len(desktop.server.notices()) == 2, 20), "a second held message, a second notice")
        fr = desktop.server.notices()[1]
        print("     notice: %r / %r / actions %r" % (fr["summary"], fr["body"], fr["actions"]))
        check(fr["summary"] == "Rapport retient votre message \u00e0 Anna Kowalska"
              and fr["actions"][fr["actions"].index("review") + 1] == "Examiner" and "CV" in fr["body"],
              "a French letter's notice is in French, like its finding")
    finally:
        d.stop()
        desktop.stop()
        bus.stop()


def case_no_bus(binary, work):
    for k in ("DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"):
        os.environ.pop(k, None)
    bin_dir, opened = opener(work)
    d = Rapportd(binary, work, config="[hold]\nnotify_desktop = true\n",
                 env={"PATH": bin_dir + ":" + os.environ["PATH"]})
    try:
        d.start()
        line = "desktop: no session bus"
        check(wait_for(lambda: line in d.log(), 10), "one log line says there is no session bus")
        print("     " + [l for l in d.log().splitlines() if line in l][0])
        send_cv(d)
        check(wait_for(lambda: len(held_ids(d)) == 1, 20), "the mail is held as always")
        check(wait_for(lambda: "held " in d.log(), 10), "and its own log line says so")
        check(d.log().count(line) == 1, "the missing bus is logged once, not per message")
        check(urls(opened) == [], "nothing was opened")
    finally:
        d.stop()


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print("usage: desktop_e2e.py RAPPORTD CASE   (cases: %s)" % " ".join(CASES))
        return 2
    binary = os.path.abspath(sys.argv[1])
    return run_case("desktop-" + sys.argv[2], lambda work: CASES[sys.argv[2]](binary, work))


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Renders the real findings popup (popup/popup.html, its CSS and JS) in
headless chromium with example findings and saves a PNG.

    screenshot.py OUT.png [WIDTH HEIGHT]

A local HTTP server serves plugin/ and adds tests/preview/fake-messenger.js
to popup.html, since a plain browser has no `messenger`."""
import functools, os, subprocess, sys, threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class Handler(SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path.split("?")[0] == "/popup/popup.html":
            html = open(os.path.join(ROOT, "popup", "popup.html"), encoding="utf-8").read()
            html = html.replace("<link rel=\"stylesheet\"", "<script src=\"/tests/preview/fake-messenger.js\"></script>\n  <link rel=\"stylesheet\"", 1)
            data = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        super().do_GET()


def main():
    out = os.path.abspath(sys.argv[1])
    w, h = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else ("540", "620")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=ROOT))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/popup/popup.html?request=preview" % srv.server_address[1]
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=%s,%s" % (w, h), "--virtual-time-budget=3000",
                    "--screenshot=" + out, url], check=True, capture_output=True, timeout=60)
    srv.shutdown()
    print(out)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The findings popup in a real Thunderbird, captured for the README.

    tb_screenshot.py RAPPORTD RAPPORT_XPI OUT.png

Not a test (ctest does not run it). Needs Xvfb and ImageMagick's `import`
(apt-get install xvfb imagemagick). Sets up exactly what tb_e2e.py's "cv"
case does - real rapportd, real upstream, Thunderbird with the add-on - but
on an Xvfb display instead of --headless; when Rapport's popup is open it
captures the screen (the compose window with the popup over it), then
answers "Edit message" (nothing is sent).
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tb_e2e  # noqa: E402
from tb_lib import wait_for  # noqa: E402


def window_ids(display, title):
    out = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True,
                         env=dict(os.environ, DISPLAY=display)).stdout
    return [line.split()[0] for line in out.splitlines() if title in line]


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    rapportd, xpi, out = sys.argv[1:]
    for tool in ("Xvfb", "import", "xwininfo"):
        if not shutil.which(tool):
            print("needs %s (apt-get install xvfb imagemagick x11-utils)" % tool)
            return 2
    display = ":%d" % (90 + os.getpid() % 50)
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1152x900x24", "-nolisten", "tcp"])
    w = None
    try:
        time.sleep(1)
        w = tb_e2e.World(rapportd, xpi, "screenshot", display=display)
        w.ready()
        ref = w.compose(**tb_e2e.CV_ONLY)
        w.send(ref)
        pop = w.popup(1)
        # the popup page asks the add-on for its findings and lays them out
        title = "Before you send"
        if not wait_for(lambda: window_ids(display, title), 30):
            print("FAIL: no window titled %r on %s" % (title, display))
            return 1
        time.sleep(3)  # let it paint; this is a picture, not a test
        # the whole screen: the compose window with Rapport's popup over it
        subprocess.run(["import", "-display", display, "-window", "root", out], check=True)
        print("wrote " + out)
        w.answer(pop["request"], "edit")
        return 0
    finally:
        if w:
            w.close()
        xvfb.terminate()
        xvfb.wait()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""The hardening of a system unit, as systemd itself scores it.

    security_score.py UNIT_FILE [MAX]      (MAX defaults to 2.0)

Runs `systemd-analyze security --offline=true UNIT_FILE` (no running systemd
needed) and fails when the "Overall exposure level" is above MAX, printing
the settings that cost points.
"""
import re
import subprocess
import sys

unit = sys.argv[1]
limit = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", unit],
                   capture_output=True, text=True)
m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", r.stdout)
if not m:
    print("no exposure level in the output (rc %d):\n%s%s" % (r.returncode, r.stdout, r.stderr))
    sys.exit(1)
score = float(m.group(1))
for line in r.stdout.splitlines():
    if line.startswith("\u2717"):  # a setting that costs exposure
        print(line.rstrip())
print("exposure %.1f (limit %.1f) for %s" % (score, limit, unit))
sys.exit(0 if score <= limit else 1)

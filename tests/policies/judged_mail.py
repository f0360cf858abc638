#!/usr/bin/env python3
"""Score `rapportctl check --json` on labelled mail (tests/data/judged).

usage: judged_mail.py RAPPORTCTL SET_DIR...

Each SET_DIR holds cases/<timeline>/*.eml and expect.tsv (the shared
corpus's format). Every timeline is checked in one call with a fresh
--state directory, files in name order. Prints precision and recall per
rule for each set and for all of them together, and every disagreement;
exits 1 when, over all the sets, a rule's precision is under 0.95 or its
recall under 0.90, or when any mail that must pass clean is flagged.
"""
import json, os, subprocess, sys, tempfile

RULES = ["cv-attachment-only", "template-reuse", "bulk-recipients", "generic-greeting",
         "greeting-mismatch", "no-personalisation", "unfilled-placeholder",
         "wrong-organisation", "vague-subject"]


def expectations(set_dir):
    expect = {}
    with open(os.path.join(set_dir, "expect.tsv"), encoding="utf-8") as f:
        for n, line in enumerate(f):
            cols = line.rstrip("\n").split("\t")
            if n == 0 or not cols[0]:
                continue
            expect[cols[0]] = {r for r in (cols[1] if len(cols) > 1 else "").split(",") if r}
    return expect


def fired(rapportctl, set_dir, files):
    with tempfile.TemporaryDirectory() as state:
        out = subprocess.run([rapportctl, "check", "--json", "--state", state] + files,
                             cwd=set_dir, capture_output=True, text=True, check=False)
    result = {}
    for line in out.stdout.splitlines():
        row = json.loads(line)
        if "error" in row:
            raise SystemExit(f"{set_dir}: {row['file']}: {row['error']}")
        result[row["file"]] = {f["rule"] for f in row["flags"]}
    return result


def table(title, expect, got):
    """Prints the per-rule table; returns whether every rule meets the bar."""
    ok = True
    print(f"== {title}: {len(expect)} messages")
    print(f"{'rule':24} {'TP':>4} {'FP':>4} {'FN':>4} {'prec':>6} {'recall':>6}")
    for rule in RULES:
        tp = sum(1 for f in expect if rule in expect[f] and rule in got[f])
        fp = sum(1 for f in expect if rule not in expect[f] and rule in got[f])
        fn = sum(1 for f in expect if rule in expect[f] and rule not in got[f])
        prec = tp / (tp + fp) if tp + fp else 1.0
        rec = tp / (tp + fn) if tp + fn else 1.0
        ok = ok and prec >= 0.95 and rec >= 0.90
        print(f"{rule:24} {tp:4} {fp:4} {fn:4} {prec:6.3f} {rec:6.3f}")
    return ok


def score(rapportctl, set_dir):
    """(expect, got) for one set, keyed by set name and file."""
    expect = expectations(set_dir)
    got = {}
    for t in sorted({os.path.dirname(f) for f in expect}):
        files = sorted(f for f in expect if os.path.dirname(f) == t)
        got.update(fired(rapportctl, set_dir, files))
    name = os.path.basename(os.path.normpath(set_dir))
    table(name, expect, got)
    for f in sorted(expect):
        if expect[f] != got[f]:
            missing = sorted(expect[f] - got[f]) or "-"
            extra = sorted(got[f] - expect[f]) or "-"
            print(f"  {f}: missing {missing}; extra {extra}")
    return ({f"{name}/{f}": v for f, v in expect.items()}, {f"{name}/{f}": v for f, v in got.items()})


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    rapportctl = os.path.abspath(sys.argv[1])
    expect, got = {}, {}
    for d in sys.argv[2:]:
        e, g = score(rapportctl, d)
        expect.update(e)
        got.update(g)
    ok = table("all sets", expect, got)
    clean_flagged = sorted(f for f in expect if not expect[f] and got[f])
    print(f"clean mail flagged: {len(clean_flagged)} of {sum(1 for f in expect if not expect[f])}")
    for f in clean_flagged:
        print(f"  {f}: {sorted(got[f])}")
    sys.exit(0 if ok and not clean_flagged else 1)


if __name__ == "__main__":
    main()

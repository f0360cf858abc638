#!/usr/bin/env python3
"""rapportctl check: the contract of SPEC.md "The offline checker".

usage: rapportctl_cli_test.py RAPPORTCTL DATA_DIR
Runs the real binary on fixtures under DATA_DIR/check and asserts the JSON
lines, error handling, exit codes, --state persistence and --policy errors.
"""
import json, os, subprocess, sys, tempfile, unittest

BIN, DATA = sys.argv[1], os.path.join(sys.argv[2], "check")
del sys.argv[1:3]


def run(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def lines(out):
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def f(name):
    return os.path.join(DATA, name)


class Check(unittest.TestCase):
    def test_json_line_per_file_in_order(self):
        code, out, _ = run("check", "--json", f("cv-only.eml"), f("personal.eml"), f("placeholder.eml"))
        self.assertEqual(code, 0)
        got = lines(out)
        self.assertEqual([g["file"] for g in got], [f("cv-only.eml"), f("personal.eml"), f("placeholder.eml")])
        self.assertEqual(got[0]["action"], "hold")
        self.assertIn("cv-attachment-only", [x["rule"] for x in got[0]["flags"]])
        for x in got[0]["flags"]:
            self.assertTrue(x["message"].strip())
        self.assertEqual(got[1], {"file": f("personal.eml"), "action": "relay", "flags": []})
        self.assertEqual([x["rule"] for x in got[2]["flags"]], ["unfilled-placeholder"])
        self.assertIn("{{first_name}}", got[2]["flags"][0]["message"])

    def test_errors_do_not_stop_the_others(self):
        code, out, _ = run("check", "--json", f("missing.eml"), f("not-mail.txt"), f("personal.eml"))
        self.assertEqual(code, 1)
        got = lines(out)
        self.assertEqual(len(got), 3)
        self.assertIn("error", got[0])
        self.assertIn("error", got[1])
        self.assertEqual(got[2]["action"], "relay")

    def test_template_memory_within_one_call(self):
        files = [f(f"template-{i}.eml") for i in range(1, 6)]
        code, out, _ = run("check", "--json", *files)
        self.assertEqual(code, 0)
        rules = [[x["rule"] for x in g["flags"]] for g in lines(out)]
        self.assertEqual(rules[:4], [[], [], [], []])
        self.assertEqual(rules[4], ["template-reuse"])

    def test_state_dir_keeps_history_between_calls(self):
        with tempfile.TemporaryDirectory() as d:
            state = os.path.join(d, "state")
            for i in range(1, 5):
                code, out, _ = run("check", "--state", state, "--json", f(f"template-{i}.eml"))
                self.assertEqual(lines(out)[0]["flags"], [])
            code, out, _ = run("check", "--state", state, "--json", f("template-5.eml"))
            self.assertEqual([x["rule"] for x in lines(out)[0]["flags"]], ["template-reuse"])
            self.assertTrue(os.path.exists(os.path.join(state, "history.db")))
        # Without --state nothing is remembered between calls.
        code, out, _ = run("check", "--json", f("template-5.eml"))
        self.assertEqual(lines(out)[0]["flags"], [])

    def test_policy_changes_actions_and_bad_policy_names_the_line(self):
        with tempfile.TemporaryDirectory() as d:
            good = os.path.join(d, "p.toml")
            with open(good, "w") as fh:
                fh.write('[rules.cv-attachment-only]\naction = "reject"\n\n[rules.generic-greeting]\naction = "off"\n')
            code, out, _ = run("check", "--policy", good, "--json", f("cv-only.eml"))
            got = lines(out)[0]
            self.assertEqual(got["action"], "reject")
            self.assertNotIn("generic-greeting", [x["rule"] for x in got["flags"]])
            bad = os.path.join(d, "bad.toml")
            with open(bad, "w") as fh:
                fh.write('[rules.cv-attachment-only]\naction = "hold"\n\n[rules.vague-subjet]\naction = "warn"\n')
            code, out, err = run("check", "--policy", bad, "--json", f("cv-only.eml"))
            self.assertEqual(code, 2)
            self.assertEqual(out, "")
            self.assertIn("bad.toml:4:", err)
            self.assertIn("vague-subjet", err)

    def test_readable_output_without_json(self):
        code, out, _ = run("check", f("cv-only.eml"))
        self.assertEqual(code, 0)
        self.assertIn("hold", out)
        self.assertIn("cv-attachment-only", out)
        self.assertNotIn("\033[", out)  # no colour when not on a terminal

    def test_inspect(self):
        code, out, _ = run("inspect", "--json", f("cv-only.eml"))
        self.assertEqual(code, 0)
        model = json.loads(out)
        self.assertEqual(model["subject"], "Warehouse Operative vacancy")
        self.assertEqual(model["attachments"][0]["filename"], "CV_Jake_Turner.pdf")

    def test_usage(self):
        self.assertEqual(run("check")[0], 2)
        self.assertEqual(run("frobnicate")[0], 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)

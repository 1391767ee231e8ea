"""CPython's own test_ssl (Debian's libpython3.X-testsuite) with every test's outcome recorded as
JSON lines, and the summary of two such runs; for tests/libssl/python_test_ssl.sh.

    python_test_ssl_runner.py run OUT.jsonl [--exclude FILE] [--only ID...]
    python_test_ssl_runner.py summary META.json SYS.jsonl OURS.jsonl OUT.md

run: as `python3 -m test test_ssl` without -u: test.support.use_resources is [] before test_ssl is
imported, so the tests that need the network skip ("resource 'network' is not enabled"); the
local servers on loopback run. The first line, {"event": "begin"}, carries the libssl.so.3 files
that /proc/self/maps shows once test_ssl has imported ssl. Each test writes {"event": "start",
"id"} before it runs and {"event": "end", "id", "outcome", "reason", "seconds"} after (flushed: a
crash leaves its start without an end); outcome is one of passed, failed, error, skipped, xfail,
and reason a one-line summary of the failure or skip. --exclude names a file of test ids (one a
line: those an earlier, crashed run already did or crashed in) to leave out, so that the shell
script can go on after a crash. faulthandler prints the Python stack on a fatal signal, and after
PER_TEST_TIMEOUT seconds (environment, default 120) in one test it dumps the stacks and exits
with status 1, which pins a hang on the test that hung.

summary: the markdown report (deterministic: sorted, no timings) and a text summary on stdout.
"""

import json
import os
import re
import sys
import time

OUTCOMES = ["passed", "xfail", "skipped", "failed", "error"]
NOT_RUN = ("missing", "not run", "")


# --- run -----------------------------------------------------------------------------------------
def libssl_maps():
    paths = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and fields[5].endswith("/libssl.so.3"):
                paths.add(os.path.realpath(fields[5]))
    return sorted(paths)


def one_line(err):
    """'ExceptionType: first line of the message' for an exc_info tuple."""
    etype, value, _tb = err
    text = str(value).strip().splitlines()
    first = text[0] if text else ""
    if len(first) > 300:
        first = first[:297] + "..."
    return f"{etype.__name__}: {first}" if first else etype.__name__


def where(err):
    """'test_ssl.py:LINE: source' of the innermost test_ssl.py frame of a failure, else ''."""
    import traceback

    frames = [f for f in traceback.extract_tb(err[2]) if f.filename.endswith("test_ssl.py")]
    if not frames:
        return ""
    f = frames[-1]
    return f"test_ssl.py:{f.lineno}: {(f.line or '').strip()[:200]}"


def run(argv):
    import faulthandler
    import unittest

    from test import support

    support.use_resources = []  # regrtest without -u
    support.verbose = 0
    from test import test_ssl  # after use_resources, which its decorators read at import

    per_test_timeout = float(os.environ.get("PER_TEST_TIMEOUT", "120"))

    class JsonResult(unittest.TestResult):
        def __init__(self, out):
            super().__init__()
            self.out = out
            self.current = {}

        def emit(self, record):
            self.out.write(json.dumps(record, sort_keys=True) + "\n")
            self.out.flush()

        def emit_alone(self, test_id, outcome, reason, at=""):
            """A class or module fixture's result (an _ErrorHolder): a test of its own."""
            self.emit({"event": "start", "id": test_id})
            self.emit({"event": "end", "id": test_id, "outcome": outcome, "reason": reason, "where": at, "seconds": 0})

        def startTest(self, test):
            super().startTest(test)
            self.current[test.id()] = {"outcome": "passed", "reason": "", "where": "", "t": time.monotonic()}
            self.emit({"event": "start", "id": test.id()})
            faulthandler.dump_traceback_later(per_test_timeout, exit=True)

        def _set(self, test, outcome, reason, at=""):
            rec = self.current.setdefault(test.id(), {"outcome": "passed", "reason": "", "where": "", "t": time.monotonic()})
            # the worst outcome wins; its first reason is kept
            if OUTCOMES.index(outcome) > OUTCOMES.index(rec["outcome"]):
                rec["outcome"], rec["reason"], rec["where"] = outcome, reason, at

        def stopTest(self, test):
            faulthandler.cancel_dump_traceback_later()
            super().stopTest(test)
            rec = self.current.pop(test.id(), None)
            if rec is not None:
                self.emit({"event": "end", "id": test.id(), "outcome": rec["outcome"], "reason": rec["reason"],
                           "where": rec["where"], "seconds": round(time.monotonic() - rec["t"], 2)})

        def addError(self, test, err):
            super().addError(test, err)
            if isinstance(test, unittest.TestCase):
                self._set(test, "error", one_line(err), where(err))
            else:
                self.emit_alone(test.id(), "error", one_line(err), where(err))

        def addFailure(self, test, err):
            super().addFailure(test, err)
            self._set(test, "failed", one_line(err), where(err))

        def addSkip(self, test, reason):
            super().addSkip(test, reason)
            reason = str(reason).splitlines()[0] if reason else ""
            if isinstance(test, unittest.TestCase):
                self._set(test, "skipped", reason)
            else:
                self.emit_alone(test.id(), "skipped", reason)

        def addExpectedFailure(self, test, err):
            super().addExpectedFailure(test, err)
            self._set(test, "xfail", one_line(err))

        def addUnexpectedSuccess(self, test):
            super().addUnexpectedSuccess(test)
            self._set(test, "failed", "unexpected success")

        def addSubTest(self, test, subtest, err):
            super().addSubTest(test, subtest, err)
            if err is not None:
                if issubclass(err[0], unittest.SkipTest):
                    outcome = "skipped"
                elif issubclass(err[0], test.failureException):
                    outcome = "failed"
                else:
                    outcome = "error"
                self._set(test, outcome, f"{subtest._subDescription()}: {one_line(err)}", where(err))

    def flatten(suite):
        for item in suite:
            if isinstance(item, unittest.TestSuite):
                yield from flatten(item)
            else:
                yield item

    out_path = argv[0]
    rest = argv[1:]
    only = None
    exclude = set()
    if "--only" in rest:
        i = rest.index("--only")
        only = set(rest[i + 1:])
        rest = rest[:i]
    if rest[:1] == ["--exclude"] and len(rest) == 2:
        with open(rest[1]) as f:
            exclude = {line.strip() for line in f if line.strip()}
    elif rest:
        print(__doc__, file=sys.stderr)
        return 2
    faulthandler.enable()
    tests = [t for t in flatten(unittest.defaultTestLoader.loadTestsFromModule(test_ssl))
             if t.id() not in exclude and (only is None or t.id() in only)]
    with open(out_path, "a") as out:
        result = JsonResult(out)
        result.emit({"event": "begin", "count": len(tests), "pid": os.getpid(), "libssl": libssl_maps(),
                     "openssl_version": test_ssl.ssl.OPENSSL_VERSION})
        unittest.TestSuite(tests).run(result)
        result.emit({"event": "done", "testsRun": result.testsRun})
    return 0


# --- summary -------------------------------------------------------------------------------------
def load(path):
    """A side's runs (there is more than one after a crash): {id: (outcome, reason)}, the begin
    records, and the tests that started without ending (crashed or hung)."""
    results, begins, started = {}, [], []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
            if rec["event"] == "begin":
                begins.append(rec)
            elif rec["event"] == "start":
                started.append(rec["id"])
            elif rec["event"] == "end":
                results[rec["id"]] = (rec["outcome"], stable(rec["reason"]), rec.get("where", ""))
    unfinished = [t for t in dict.fromkeys(started) if t not in results]
    return results, begins, unfinished


def stable(reason):
    """A reason without what changes from run to run: long or truncated byte strings (session
    ids, random data), addresses, ports."""
    text = re.sub(r"b'(?:[^'\\]|\\.){40,}'|b\"(?:[^\"\\]|\\.){40,}\"",
                  lambda m: "b'…'" if m.group(0).count("\\x") >= 4 else m.group(0), reason)
    text = re.sub(r"b'(?:[^'\\]|\\.)*\[\d+ chars\](?:[^'\\]|\\.)*'", "b'…'", text)
    text = re.sub(r"0x[0-9a-f]{6,}", "0x…", text)
    text = re.sub(r"(127\.0\.0\.1|localhost|::1)(['\"]?, |:)\d{4,5}\b", r"\1\2PORT", text)
    return text


def short(test_id):
    return test_id.replace("test.test_ssl.", "")


def group_key(reason):
    """A failure's message with what varies between tests taken out: the subtest's parameters,
    byte strings, numbers."""
    text = re.sub(r"^\([^)]*\): ", "", reason)
    text = re.sub(r"b'(?:[^'\\]|\\.)*'|b\"(?:[^\"\\]|\\.)*\"", "b'…'", text)
    text = re.sub(r"(?<![A-Za-z_])\d+(?![A-Za-z_])", "N", text)
    return text


def md_escape(text):
    return text.replace("|", "\\|").replace("\n", " ")


def summary(argv):
    meta_path, sys_path, ours_path, md_path = argv
    with open(meta_path) as f:
        meta = json.load(f)
    sides = {}
    for side, path in (("sys", sys_path), ("ours", ours_path)):
        results, begins, unfinished = load(path)
        crashes = {c["test"]: c for c in meta.get(side, {}).get("crashes", [])}
        for t in unfinished:
            kind = crashes.get(t, {}).get("kind", "crashed")
            results[t] = (kind, crashes.get(t, {}).get("reason", "the process died in this test"), "")
        sides[side] = {"results": results, "begins": begins, "crashes": crashes}

    def counts(results):
        c = {k: 0 for k in OUTCOMES + ["crashed", "hung"]}
        for outcome, *_ in results.values():
            c[outcome] = c.get(outcome, 0) + 1
        return c

    sys_r, our_r = sides["sys"]["results"], sides["ours"]["results"]
    good = ("passed", "xfail")
    bad = ("failed", "error", "crashed", "hung")
    regressions = sorted(t for t, (o, *_) in sys_r.items() if o in good and our_r.get(t, ("missing",))[0] not in good + ("skipped",))
    missing = sorted(t for t in sys_r if t not in our_r)
    skipped_ours = sorted(t for t, (o, *_) in sys_r.items() if o in good and our_r.get(t, ("",))[0] == "skipped")
    better = sorted(t for t, (o, *_) in sys_r.items() if o in bad and our_r.get(t, ("",))[0] in good)
    sys_bad = sorted(t for t, (o, *_) in sys_r.items() if o in bad)
    groups = {}
    for t in regressions:
        outcome, reason, _ = our_r.get(t, NOT_RUN)
        groups.setdefault(group_key(reason), []).append(t)
    group_list = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))

    lines = []
    w = lines.append
    w("# CPython's test_ssl on ferrotls's libssl")
    w("")
    w("Generated by `bash tests/libssl/python_test_ssl.sh`; do not edit. Debian's python3 "
      f"({meta['python']}, `{meta['ssl_module']}`) runs its own `test.test_ssl` "
      f"({meta['testsuite']} {meta['testsuite_version']}) as `python3 -m test test_ssl` "
      "does without `-u` (the tests that need the network skip), once on Debian's libssl and "
      "once on ferrotls's, each process checked in /proc/self/maps.")
    w("")
    w("| libssl | total | passed | failed | errors | skipped | crashed | hung |")
    w("|---|---|---|---|---|---|---|---|")
    for side, label in (("sys", f"Debian's `{meta['sys_lib']}`"), ("ours", f"ferrotls's `{meta['ut_lib_rel']}`")):
        c = counts(sides[side]["results"])
        total = sum(c.values())
        w(f"| {label} | {total} | {c['passed'] + c['xfail']} | {c['failed']} | {c['error']} | {c['skipped']} | {c['crashed']} | {c['hung']} |")
    w("")
    w(f"## Pass on OpenSSL, fail on ferrotls ({len(regressions)})")
    w("")
    if regressions:
        w("| test | outcome | reason | where |")
        w("|---|---|---|---|")
        for t in regressions:
            o, r, at = our_r.get(t, NOT_RUN)
            w(f"| `{short(t)}` | {o} | {md_escape(r)} | {('`' + md_escape(at) + '`') if at else ''} |")
    else:
        w("None.")
    w("")
    w(f"## Failures grouped by message ({len(group_list)} groups)")
    w("")
    if group_list:
        w("Numbers are N, byte strings b'…' and a subtest's parameters are dropped; largest group first.")
        w("")
        w("| tests | message | which |")
        w("|---|---|---|")
        for key, tests in group_list:
            w(f"| {len(tests)} | {md_escape(key)} | {', '.join('`' + short(t) + '`' for t in tests)} |")
    else:
        w("None.")
    w("")
    if skipped_ours:
        w(f"## Pass on OpenSSL, skipped on ferrotls ({len(skipped_ours)})")
        w("")
        for t in skipped_ours:
            w(f"- `{short(t)}`: {md_escape(our_r[t][1])}")
        w("")
    if better:
        w(f"## Fail on OpenSSL, pass on ferrotls ({len(better)})")
        w("")
        for t in better:
            w(f"- `{short(t)}`")
        w("")
    if sys_bad:
        w(f"## Fail on Debian's libssl too ({len(sys_bad)})")
        w("")
        for t in sys_bad:
            w(f"- `{short(t)}`: {sys_r[t][0]}: {md_escape(sys_r[t][1])}")
        w("")
    for side in ("sys", "ours"):
        for t, c in sorted(sides[side]["crashes"].items()):
            w(f"## {'Crash' if c.get('kind') == 'crashed' else 'Hang'} on {'ferrotls' if side == 'ours' else 'Debian'}'s libssl: `{short(t)}`")
            w("")
            w(f"{md_escape(c.get('reason', ''))}")
            if c.get("python_stack"):
                w("")
                w("faulthandler's Python stack:")
                w("")
                w("```")
                lines.extend(c["python_stack"].rstrip("\n").splitlines())
                w("```")
            if c.get("backtrace"):
                w("")
                w("`gdb -batch -ex run -ex bt` on the test alone:")
                w("")
                w("```")
                lines.extend(c["backtrace"].rstrip("\n").splitlines())
                w("```")
            w("")
    if missing:
        w(f"## Not run on ferrotls's libssl ({len(missing)})")
        w("")
        for t in missing:
            w(f"- `{short(t)}`")
        w("")
    with open(md_path, "w") as f:
        f.write("\n".join(lines).rstrip("\n") + "\n")

    # the text summary
    for side, label in (("sys", f"Debian's libssl ({meta['sys_lib']})"), ("ours", f"ferrotls's libssl ({meta['ut_lib']})")):
        c = counts(sides[side]["results"])
        print(f"{label}: total {sum(c.values())}, passed {c['passed'] + c['xfail']}, failed {c['failed']}, "
              f"errors {c['error']}, skipped {c['skipped']}, crashed {c['crashed']}, hung {c['hung']}")
    print(f"pass on OpenSSL, fail on ours: {len(regressions)}")
    for t in regressions:
        o, r, _ = our_r.get(t, NOT_RUN)
        print(f"  {o:7} {short(t)}: {r[:160]}")
    print(f"failure groups ({len(group_list)}):")
    for key, tests in group_list:
        print(f"  {len(tests):3}  {key[:150]}")
    if skipped_ours:
        print(f"pass on OpenSSL, skipped on ours: {len(skipped_ours)}")
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "run":
        return run(argv[2:])
    if len(argv) == 6 and argv[1] == "summary":
        return summary(argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

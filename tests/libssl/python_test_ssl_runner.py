"""Runs CPython's own test_ssl (Debian's libpython3.11-testsuite) and records every test's outcome
as JSON lines, for tests/libssl/python_test_ssl.sh.

    /usr/bin/python3 tests/libssl/python_test_ssl_runner.py OUT.jsonl [EXCLUDE-FILE] [--only ID...]

As `python3 -m test test_ssl` without -u: test.support.use_resources is [] before test_ssl is
imported, so the tests that need the network skip ("resource 'network' is not enabled"); the local
servers on loopback run. Each test writes {"event": "start", "id": ...} before it runs and
{"event": "end", "id", "outcome", "reason"} after (flushed: a crash leaves its start without an
end), outcome one of passed, failed, error, skipped, xfail; reason a one-line summary of the
failure or skip. Tests listed in EXCLUDE-FILE (one id a line: the tests an earlier, crashed run
already did) are left out, so the shell script can go on after a crash. faulthandler prints the
Python stack on a fatal signal, and after PER_TEST_TIMEOUT seconds (env, default 120) in one test
it dumps the stack and exits (status 1) so a hang is pinned on the test that hung.
"""

import faulthandler
import json
import os
import sys
import time
import unittest

from test import support

support.use_resources = []  # regrtest without -u
support.verbose = 0
from test import test_ssl  # noqa: E402 - after use_resources, which its decorators read

PER_TEST_TIMEOUT = float(os.environ.get("PER_TEST_TIMEOUT", "120"))


def one_line(err):
    """'ExceptionType: first line of the message' for an exc_info tuple."""
    etype, value, _tb = err
    text = str(value).strip().splitlines()
    first = text[0] if text else ""
    # For assertEqual of long strings the first line can be a bare "'a' != 'b'" or a diff
    # header; keep it short either way.
    if len(first) > 300:
        first = first[:297] + "..."
    return f"{etype.__name__}: {first}" if first else etype.__name__


class JsonResult(unittest.TestResult):
    def __init__(self, out):
        super().__init__()
        self.out = out
        self.current = {}

    def emit(self, record):
        self.out.write(json.dumps(record, sort_keys=True) + "\n")
        self.out.flush()

    def startTest(self, test):
        super().startTest(test)
        self.current[test.id()] = {"outcome": "passed", "reason": "", "t": time.monotonic()}
        self.emit({"event": "start", "id": test.id()})
        faulthandler.dump_traceback_later(PER_TEST_TIMEOUT, exit=True)

    def _set(self, test, outcome, reason):
        tid = test.id()
        rec = self.current.setdefault(tid, {"outcome": "passed", "reason": "", "t": time.monotonic()})
        order = ["passed", "xfail", "skipped", "failed", "error"]
        if order.index(outcome) >= order.index(rec["outcome"]):
            if not (outcome == rec["outcome"] and rec["reason"]):
                rec["reason"] = reason
            rec["outcome"] = outcome

    def stopTest(self, test):
        faulthandler.cancel_dump_traceback_later()
        super().stopTest(test)
        tid = test.id()
        rec = self.current.pop(tid, None)
        if rec is not None:
            self.emit({"event": "end", "id": tid, "outcome": rec["outcome"], "reason": rec["reason"],
                       "seconds": round(time.monotonic() - rec["t"], 2)})

    def addError(self, test, err):
        super().addError(test, err)
        if isinstance(test, unittest.TestCase):
            self._set(test, "error", one_line(err))
        else:  # a class or module fixture (_ErrorHolder): a test of its own
            self.emit({"event": "start", "id": test.id()})
            self.emit({"event": "end", "id": test.id(), "outcome": "error", "reason": one_line(err), "seconds": 0})

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._set(test, "failed", one_line(err))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        if isinstance(test, unittest.TestCase):
            self._set(test, "skipped", str(reason).splitlines()[0] if reason else "")
        else:  # a skipped class (setUpClass raised SkipTest)
            self.emit({"event": "start", "id": test.id()})
            self.emit({"event": "end", "id": test.id(), "outcome": "skipped", "reason": str(reason), "seconds": 0})

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._set(test, "xfail", one_line(err))

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._set(test, "failed", "unexpected success")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            outcome = "failed" if issubclass(err[0], test.failureException) else "error"
            if issubclass(err[0], unittest.SkipTest):
                outcome = "skipped"
            self._set(test, outcome, f"{subtest._subDescription()}: {one_line(err)}")


def flatten(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from flatten(item)
        else:
            yield item


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out_path = argv[1]
    exclude = set()
    only = None
    rest = argv[2:]
    if "--only" in rest:
        i = rest.index("--only")
        only = set(rest[i + 1:])
        rest = rest[:i]
    if rest:
        with open(rest[0]) as f:
            exclude = {line.strip() for line in f if line.strip()}
    faulthandler.enable()
    tests = list(flatten(unittest.defaultTestLoader.loadTestsFromModule(test_ssl)))
    tests = [t for t in tests if t.id() not in exclude and (only is None or t.id() in only)]
    with open(out_path, "a") as out:
        result = JsonResult(out)
        result.emit({"event": "begin", "count": len(tests), "pid": os.getpid()})
        unittest.TestSuite(tests).run(result)
        result.emit({"event": "done", "testsRun": result.testsRun})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

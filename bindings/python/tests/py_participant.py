"""py_participant.py - a participant written with the dtc package, run as
its own process by the tests: it records every call in a file (one line
per call: "METHOD TXID PAYLOAD") and votes as told.

usage: py_participant.py --instance I --name N --log FILE
                         [--vote yes|no|error|readonly] [--fail-commit]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dtc  # noqa: E402


class Recorder(dtc.Participant):
    def __init__(self, args):
        super().__init__(args.name, instance=args.instance)
        self.vote = args.vote
        self.fail_commit = args.fail_commit
        self.log = open(args.log, "a", buffering=1, encoding="utf-8")

    def note(self, method, txid, payload):
        self.log.write("%s %s %s\n" % (method, txid, payload))

    def prepare(self, txid, payload):
        self.note("prepare", txid, payload)
        if self.vote == "error":
            raise RuntimeError("ledger closed for %s" % payload)
        if self.vote == "readonly":
            return dtc.READ_ONLY
        return self.vote == "yes"

    def commit(self, txid, payload):
        self.note("commit", txid, payload)
        if self.fail_commit:
            raise OSError("disk full")

    def rollback(self, txid, payload):
        self.note("rollback", txid, payload)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--instance", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--vote", choices=("yes", "no", "error", "readonly"), default="yes")
    ap.add_argument("--fail-commit", action="store_true")
    args = ap.parse_args()
    with Recorder(args) as p:
        p.register()
        print("ready name=%s pid=%d" % (args.name, os.getpid()), flush=True)
        p.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())

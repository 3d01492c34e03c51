#!/usr/bin/env python3
"""CTest driver: kafka-schema-dump | check-protocol-schema -, or skip (exit 77) without the checker.

Usage: run_schema_check.py DUMP_BINARY CHECKER_PATH
The checker and Kafka's reference specs live outside the repository (../shared); a fresh
clone in CI may not have them, and then the test is reported as skipped, not passed.
"""
import os
import subprocess
import sys

SKIP = 77


def main(argv):
    dump, checker = argv[1], argv[2]
    if not os.path.isfile(checker):
        print(f"skipping: {checker} not found")
        return SKIP
    layout = subprocess.run([dump], check=True, stdout=subprocess.PIPE).stdout
    result = subprocess.run([sys.executable, checker, "-"], input=layout)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""cred_process.py - a credential_process command for the tests: prints the
JSON the AWS CLI expects, with the RGW test user's keys ($S3_ACCESS_KEY,
$S3_SECRET_KEY, inherited from the daemon's environment), a session token
"StubProcess-N" and an Expiration TTL seconds from now; counts its runs.

  cred_process.py COUNT_FILE TTL [ok|garbage|fail|noversion]
"""
import json
import os
import sys
import time

count_file, ttl = sys.argv[1], int(sys.argv[2])
mode = sys.argv[3] if len(sys.argv) > 3 else "ok"
try:
    with open(count_file) as f:
        n = int(f.read() or "0") + 1
except OSError:
    n = 1
with open(count_file + ".tmp", "w") as f:
    f.write(str(n))
os.replace(count_file + ".tmp", count_file)
if mode == "fail":
    print("cred_process.py: no credentials for you", file=sys.stderr)
    sys.exit(3)
if mode == "garbage":
    print("Enter MFA code:")
    sys.exit(0)
doc = {"Version": 1, "AccessKeyId": os.environ["S3_ACCESS_KEY"],
       "SecretAccessKey": os.environ["S3_SECRET_KEY"], "SessionToken": "StubProcess-%d" % n,
       # An offset, not "Z": helpers print either.
       "Expiration": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + ttl))}
if mode == "noversion":
    del doc["Version"]
print(json.dumps(doc, indent=2))

#!/usr/bin/env python3
"""sts_stub.py - loopback stand-ins for the credential chain tests: what no
server here provides (the local Ceph RGW runs without STS, and there is no
ECS/EKS agent or SSO portal). Python stdlib only. Listens on 127.0.0.0/8 only.

1. STS (the query API: POST / with a form body, XML answers):

  sts_stub.py sts --port-file FILE [--listen 127.0.0.1:0]
              [--access-key AK] [--secret-key SK]  (default $S3_ACCESS_KEY, $S3_SECRET_KEY)
              [--ttl SECONDS] [--token-file PATH] [--external-id ID]

  AssumeRoleWithWebIdentity  WebIdentityToken must equal the content of
                             --token-file as it is now (read per request,
                             so a rotated file must be read again)
  AssumeRole                 SigV4-signed (service sts) with AK/SK; the
                             signature is verified; with --external-id
                             an ExternalId given must match
  GetCallerIdentity          signed; the Arn of the session whose token
                             signed it, else the user's
  The credentials handed out are AK/SK (the RGW test user's: they sign
  requests RGW accepts) with a fresh session token "StubSTS-N-..." (RGW
  ignores a token it did not issue when the signature is right) and
  Expiration now + min(--ttl, DurationSeconds).

  GET  /_stub/stats          {"AssumeRole", "AssumeRoleWithWebIdentity",
                              "GetCallerIdentity", "bad_signature",
                              "bad_token", "last_ACTION": {the last
                              call's parameters but the token}}
  POST /_stub/mode?m=MODE    ok | deny (403 AccessDenied) | down (503) | garbage
  POST /_stub/ttl?s=SECONDS

2. Container credentials (ECS task role / EKS Pod Identity agent):

  sts_stub.py container --port-file FILE [--listen 127.0.0.1:0] [--path PATH]
              [--token-file PATH] [--ttl SECONDS] [--access-key AK] [--secret-key SK]

  GET PATH -> {"AccessKeyId", "SecretAccessKey", "Token", "Expiration",
  "RoleArn"}; with --token-file, the Authorization header must equal the
  file's content now (else 401).
  GET /_stub/stats {"gets", "unauthorized"}; POST /_stub/mode?m=ok|garbage|down

3. The IAM Identity Center (SSO) portal's GetRoleCredentials:

  sts_stub.py sso --port-file FILE --bearer TOKEN [--account ID] [--role NAME] [--ttl S]

  GET /federation/credentials?account_id=ID&role_name=NAME with header
  x-amz-sso_bearer_token: TOKEN (else 401; another account or role: 403)
  -> {"roleCredentials": {"accessKeyId", "secretAccessKey", "sessionToken",
  "expiration": epoch milliseconds}}. GET /_stub/stats {"gets", "unauthorized"}
"""

import argparse
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets
import threading
import time
import urllib.parse

ACCOUNT = "123456789012"


def common(ap):
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--access-key", default=os.environ.get("S3_ACCESS_KEY", ""))
    ap.add_argument("--secret-key", default=os.environ.get("S3_SECRET_KEY", ""))
    ap.add_argument("--ttl", type=int, default=3600)
    ap.add_argument("--token-file", default=None)


def read_token(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def verify_sigv4(method, path, headers, body, secret_for):
    """True if the Authorization header is a valid SigV4 signature."""
    auth = headers.get("Authorization", "")
    m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,"
                 r"\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$", auth)
    if not m:
        return False
    ak, date, region, service, signed, sig = m.groups()
    secret = secret_for(ak)
    if secret is None or service != "sts":
        return False
    names = signed.split(";")
    canon_headers = "".join("%s:%s\n" % (n, " ".join((headers.get(n) or "").split()))
                            for n in names)
    creq = "\n".join([method, path, "", canon_headers, signed,
                      hashlib.sha256(body).hexdigest()])
    amz_date = headers.get("x-amz-date", "")
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, "%s/%s/%s/aws4_request" % (date, region, service),
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, sig)


def serve(a, handler_cls):
    host, _, port = a.listen.rpartition(":")
    if not host.startswith("127."):
        raise SystemExit("sts_stub: listens on loopback only")

    class S(http.server.ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = S((host, int(port)), handler_cls)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, a.port_file)
    srv.serve_forever()


class Base(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", ctype="text/xml"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""


def sts_main(argv):
    ap = argparse.ArgumentParser(prog="sts_stub.py sts")
    common(ap)
    ap.add_argument("--external-id", default=None)
    a = ap.parse_args(argv)
    lock = threading.Lock()
    state = {"mode": "ok", "ttl": a.ttl, "n": 0, "sessions": {},
             "stats": {"AssumeRole": 0, "AssumeRoleWithWebIdentity": 0, "GetCallerIdentity": 0,
                       "bad_signature": 0, "bad_token": 0}}

    def error(h, status, code, msg):
        h.reply(status, "<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code>"
                        "<Message>%s</Message></Error><RequestId>stub</RequestId>"
                        "</ErrorResponse>" % (code, msg))

    class H(Base):
        def do_GET(self):
            if self.path == "/_stub/stats":
                with lock:
                    return self.reply(200, json.dumps(state["stats"]), "application/json")
            self.reply(404, "")

        def do_POST(self):
            raw = self.body()
            u = urllib.parse.urlparse(self.path)
            q = dict(urllib.parse.parse_qsl(u.query))
            if u.path == "/_stub/mode":
                with lock:
                    state["mode"] = q.get("m", "ok")
                return self.reply(200, "ok\n", "text/plain")
            if u.path == "/_stub/ttl":
                with lock:
                    state["ttl"] = int(q.get("s", "3600"))
                return self.reply(200, "ok\n", "text/plain")
            if u.path != "/":
                return self.reply(404, "")
            p = dict(urllib.parse.parse_qsl(raw.decode(errors="replace")))
            action = p.get("Action", "")
            with lock:
                mode, ttl = state["mode"], state["ttl"]
                if action in state["stats"]:
                    state["stats"][action] += 1
                state["stats"]["last_" + action] = {k: v for k, v in p.items()
                                                    if k != "WebIdentityToken"}
            if mode == "down":
                return error(self, 503, "ServiceUnavailable", "stub is down")
            if mode == "garbage":
                return self.reply(200, "this is not XML <", "text/xml")
            if action == "AssumeRoleWithWebIdentity":
                want = read_token(a.token_file) if a.token_file else None
                if want is None or p.get("WebIdentityToken") != want:
                    with lock:
                        state["stats"]["bad_token"] += 1
                    return error(self, 400, "InvalidIdentityToken",
                                 "The web identity token that was passed could not be validated")
            elif action in ("AssumeRole", "GetCallerIdentity"):
                hdrs = {k.lower(): v for k, v in self.headers.items()}
                hdrs["Authorization"] = self.headers.get("Authorization", "")
                if not verify_sigv4("POST", "/", hdrs, raw,
                                    lambda ak: a.secret_key if ak == a.access_key else None):
                    with lock:
                        state["stats"]["bad_signature"] += 1
                    return error(self, 403, "SignatureDoesNotMatch",
                                 "The request signature we calculated does not match")
            else:
                return error(self, 400, "InvalidAction", "Could not find operation " + action)
            if mode == "deny" and action != "GetCallerIdentity":
                return error(self, 403, "AccessDenied",
                             "User is not authorized to perform: sts:%s" % action)
            if action == "GetCallerIdentity":
                tok = self.headers.get("x-amz-security-token", "")
                with lock:
                    arn = state["sessions"].get(tok, "arn:aws:iam::%s:user/s3csfs-test" % ACCOUNT)
                return self.reply(200, "<GetCallerIdentityResponse><GetCallerIdentityResult>"
                                       "<Arn>%s</Arn><UserId>AIDASTUB</UserId><Account>%s</Account>"
                                       "</GetCallerIdentityResult></GetCallerIdentityResponse>"
                                  % (arn, ACCOUNT))
            if action == "AssumeRole" and a.external_id is not None and \
                    p.get("ExternalId", a.external_id) != a.external_id:
                return error(self, 403, "AccessDenied", "ExternalId does not match")
            role = p.get("RoleArn", "")
            session = p.get("RoleSessionName", "")
            dur = int(p.get("DurationSeconds", "3600"))
            with lock:
                state["n"] += 1
                tok = "StubSTS-%d-%s" % (state["n"], secrets.token_hex(8))
                name = role.rsplit("/", 1)[-1]
                state["sessions"][tok] = "arn:aws:sts::%s:assumed-role/%s/%s" % (ACCOUNT, name, session)
            exp = iso(int(time.time()) + min(ttl, dur))
            self.reply(200, "<%sResponse><%sResult><Credentials><AccessKeyId>%s</AccessKeyId>"
                            "<SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken>"
                            "<Expiration>%s</Expiration></Credentials></%sResult></%sResponse>"
                       % (action, action, a.access_key, a.secret_key, tok, exp, action, action))

    serve(a, H)


def container_main(argv):
    ap = argparse.ArgumentParser(prog="sts_stub.py container")
    common(ap)
    ap.add_argument("--path", default="/v2/credentials/s3csfs-test")
    a = ap.parse_args(argv)
    lock = threading.Lock()
    state = {"mode": "ok", "n": 0, "stats": {"gets": 0, "unauthorized": 0}}

    class H(Base):
        def do_POST(self):
            self.body()
            u = urllib.parse.urlparse(self.path)
            q = dict(urllib.parse.parse_qsl(u.query))
            if u.path == "/_stub/mode":
                with lock:
                    state["mode"] = q.get("m", "ok")
                return self.reply(200, "ok\n", "text/plain")
            self.reply(404, "")

        def do_GET(self):
            if self.path == "/_stub/stats":
                with lock:
                    return self.reply(200, json.dumps(state["stats"]), "application/json")
            if self.path != a.path:
                return self.reply(404, "")
            if a.token_file and self.headers.get("Authorization") != read_token(a.token_file):
                with lock:
                    state["stats"]["unauthorized"] += 1
                return self.reply(401, '{"message": "unauthorized"}', "application/json")
            with lock:
                state["stats"]["gets"] += 1
                state["n"] += 1
                n, mode = state["n"], state["mode"]
            if mode == "down":
                return self.reply(500, "")
            if mode == "garbage":
                return self.reply(200, "{not json", "application/json")
            doc = {"RoleArn": "arn:aws:iam::%s:role/s3csfs-task" % ACCOUNT,
                   "AccessKeyId": a.access_key, "SecretAccessKey": a.secret_key,
                   "Token": "StubContainer-%d" % n,
                   "Expiration": iso(int(time.time()) + a.ttl)}
            self.reply(200, json.dumps(doc), "application/json")

    serve(a, H)


def sso_main(argv):
    ap = argparse.ArgumentParser(prog="sts_stub.py sso")
    common(ap)
    ap.add_argument("--bearer", required=True)
    ap.add_argument("--account", default=ACCOUNT)
    ap.add_argument("--role", default="ReadOnly")
    a = ap.parse_args(argv)
    lock = threading.Lock()
    state = {"stats": {"gets": 0, "unauthorized": 0}}

    class H(Base):
        def do_GET(self):
            u = urllib.parse.urlparse(self.path)
            q = dict(urllib.parse.parse_qsl(u.query))
            if u.path == "/_stub/stats":
                with lock:
                    return self.reply(200, json.dumps(state["stats"]), "application/json")
            if u.path != "/federation/credentials":
                return self.reply(404, "")
            if self.headers.get("x-amz-sso_bearer_token") != a.bearer:
                with lock:
                    state["stats"]["unauthorized"] += 1
                return self.reply(401, '{"message": "Session token not found or invalid"}',
                                  "application/json")
            if q.get("account_id") != a.account or q.get("role_name") != a.role:
                return self.reply(403, '{"message": "No access"}', "application/json")
            with lock:
                state["stats"]["gets"] += 1
                n = state["stats"]["gets"]
            doc = {"roleCredentials": {"accessKeyId": a.access_key,
                                       "secretAccessKey": a.secret_key,
                                       "sessionToken": "StubSSO-%d" % n,
                                       "expiration": (int(time.time()) + a.ttl) * 1000}}
            self.reply(200, json.dumps(doc), "application/json")

    serve(a, H)


if __name__ == "__main__":
    import sys
    mains = {"sts": sts_main, "container": container_main, "sso": sso_main}
    if len(sys.argv) < 2 or sys.argv[1] not in mains:
        raise SystemExit("usage: sts_stub.py sts|container|sso --port-file FILE [options]")
    mains[sys.argv[1]](sys.argv[2:])

#!/usr/bin/env python3
"""kahu tests: a verifying front for s3rver.

s3rver stores objects but is lenient about what a client sends.  This proxy sits in
front of it on 127.0.0.1 (ephemeral port) and, for every request:

  * recomputes the AWS Signature V4 with its own implementation (hashlib/hmac, written
    from the AWS documentation) and refuses a mismatch with S3's 403
    SignatureDoesNotMatch (an unknown access key: 403 InvalidAccessKeyId; a session
    token that does not belong to the key: 403 InvalidToken);
  * checks x-amz-content-sha256 against the body (400 XAmzContentSHA256Mismatch) and
    Content-MD5 when present (400 BadDigest); UNSIGNED-PAYLOAD and the streaming forms
    are refused for requests with a body;
  * records the request (method, key, query, the Object Lock and checksum headers,
    the payload hash form, the user agent, the answer's status) as a JSON line in
    STATE/requests.jsonl.

It also fills s3rver's gaps that kahu's provider uses: ListMultipartUploads and
AbortMultipartUpload (the proxy keeps the registry of unfinished uploads in
STATE/state.json, so it survives a restart), Object Lock retention (recorded from the
PUT headers, returned by HEAD/GET, DELETE refused while it runs), virtual-host
addressing (BUCKET.localhost), and a small STS (POST /__sts) answering
AssumeRoleWithWebIdentity for one token file content.

Control (no signature, tests only):
  POST /__proxy/fault   {"down_after_parts": N}   every request after the N-th
                        UploadPart gets its connection closed without an answer
                        {"status": 503, "times": K}  K answers 503 SlowDown
                        {"drop": K}  K requests get their connection closed unanswered
                        (both: "method": M to match one method, "parts_only": true for
                        UploadPart requests only)
                        {"complete_error": CODE, "times": K}  K CompleteMultipartUpload
                        answers are 200 with an <Error> CODE inside (not forwarded)
                        {"gather": N}  requests get no answer until N of them wait
                        at once (stats "gathered"), or 30 s passed
                        {"hold": true}  requests get no answer until the next
                        POST /__proxy/fault, then their connection is closed
                        {} clears
  GET  /__proxy/stats   counters ("faults": fired since the last POST /__proxy/fault)

Usage: s3proxy.py --upstream PORT --state DIR --key AK:SECRET [--key ...] [--region R]
                  [--sts-token TOKEN --sts-role ARN --sts-ttl SECONDS]
Prints "READY http://127.0.0.1:PORT".
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import secrets
import socketserver
import sys
import threading
import urllib.parse

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
LOCK = threading.Lock()


def xml_error(code, message, status, extra=""):
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s'
            '</Message>%s</Error>' % (code, message, extra)).encode()
    return status, {"Content-Type": "application/xml"}, body


def esc(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


# ---------------------------------------------------------------- SigV4 (independent)

def uri_encode(s, keep_slash):
    safe = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    if keep_slash:
        safe += b"/"
    out = []
    for byte in s.encode("utf-8") if isinstance(s, str) else s:
        if byte in safe:
            out.append(chr(byte))
        else:
            out.append("%%%02X" % byte)
    return "".join(out)


def parse_query(raw):
    pairs = []
    if not raw:
        return pairs
    for part in raw.split("&"):
        if part == "":
            continue
        name, _, value = part.partition("=")
        pairs.append((urllib.parse.unquote_to_bytes(name),
                      urllib.parse.unquote_to_bytes(value)))
    return pairs


def canonical_request(method, raw_path, raw_query, headers, signed, payload_hash):
    path = urllib.parse.unquote_to_bytes(raw_path)
    curi = uri_encode(path, True)
    q = sorted((uri_encode(n, False), uri_encode(v, False)) for n, v in parse_query(raw_query))
    cquery = "&".join("%s=%s" % nv for nv in q)
    lines = []
    for name in signed:
        values = headers.get(name)
        if values is None:
            return None
        vals = [re.sub(r"\s+", " ", v.strip()) for v in values]
        lines.append("%s:%s\n" % (name, ",".join(vals)))
    return "\n".join([method, curi, cquery, "".join(lines), ";".join(signed), payload_hash])


def signing_key(secret, date, region, service):
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/"
                     r"aws4_request\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-f]{64})$")


class State:
    def __init__(self, directory, keys):
        self.dir = directory
        self.keys = dict(keys)       # access key -> secret
        self.tokens = {}             # access key -> session token (STS)
        self.uploads = {}            # upload id -> {"bucket","key","initiated","lock"}
        self.locks = {}              # "bucket/key" -> {"mode","until"}
        self.fault = {}
        self.held = 0
        self.gather_waiting = 0
        self.gather_event = threading.Event()
        self.release = threading.Event()
        self.parts_seen = 0
        self.down = False
        self.stats = {"requests": 0, "refused_signature": 0, "sts": 0, "faults": 0,
                      "gathered": False}
        p = os.path.join(directory, "state.json")
        if os.path.exists(p):
            with open(p) as f:
                saved = json.load(f)
            self.uploads = saved.get("uploads", {})
            self.locks = saved.get("locks", {})

    def save(self):
        p = os.path.join(self.dir, "state.json")
        with open(p + ".tmp", "w") as f:
            json.dump({"uploads": self.uploads, "locks": self.locks}, f)
        os.replace(p + ".tmp", p)

    def log(self, rec):
        with open(os.path.join(self.dir, "requests.jsonl"), "a") as f:
            f.write(json.dumps(rec) + "\n")


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kahu-s3proxy"

    def log_message(self, fmt, *args):
        pass

    # -- plumbing

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                line = self.rfile.readline().strip()
                n = int(line.split(b";")[0], 16)
                if n == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def answer(self, status, headers, body, head=False):
        self.send_response(status)
        sent = set()
        for k, v in headers.items():
            if k.lower() in ("content-length", "transfer-encoding", "connection"):
                continue
            self.send_header(k, v)
            sent.add(k.lower())
        self.send_header("Content-Length", str(len(body)) if not head else
                         headers.get("Content-Length", headers.get("content-length", "0")))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def drop(self):
        """The server going away: close without an answer."""
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    def do_GET(self):
        self.handle_any("GET")

    def do_HEAD(self):
        self.handle_any("HEAD")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")

    # -- the request

    def handle_any(self, method):
        st = self.server.state
        raw_path, _, raw_query = self.path.partition("?")
        body = self.read_body()
        if raw_path.startswith("/__proxy/"):
            return self.control(method, raw_path, body)
        if raw_path == "/__sts":
            return self.sts(body)
        with LOCK:
            st.stats["requests"] += 1
            if st.down:
                return self.drop()
            fault = st.fault
            q0 = dict((k.decode(), v.decode()) for k, v in parse_query(raw_query))
            applies = fault.get("method", method) == method and \
                (not fault.get("parts_only") or "partNumber" in q0)
            if applies and fault.get("status") and fault.get("times", 0) > 0:
                fault["times"] -= 1
                st.stats["faults"] += 1
                return self.answer(*xml_error("SlowDown", "Please reduce your request rate.",
                                              fault["status"]))
            gather = applies and fault.get("gather")
            if gather:
                st.gather_waiting += 1
                if st.gather_waiting >= gather:
                    st.stats["gathered"] = True
                    st.gather_event.set()
                gather_event = st.gather_event
            hold = applies and fault.get("hold")
            if hold:
                st.held += 1
                st.stats["faults"] += 1
            release = st.release
        if gather:
            # Answer none until `gather` of them wait at once: proof that the client
            # sends them in parallel (a client that does not is answered after 30 s,
            # and "gathered" stays false).
            gather_event.wait(30)
        if hold:
            # A server that does not answer until the test says so.
            release.wait()
            with LOCK:
                st.held -= 1
            return self.drop()
        with LOCK:
            if applies and fault.get("drop", 0) > 0:
                fault["drop"] -= 1
                st.stats["faults"] += 1
                return self.drop()
            if method == "POST" and "uploadId" in q0 and fault.get("complete_error"):
                # S3 may answer CompleteMultipartUpload with 200 and an error inside.
                code = fault["complete_error"]
                if fault.get("times", 1) > 0:
                    fault["times"] = fault.get("times", 1) - 1
                    st.stats["faults"] += 1
                    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
                            '<Message>injected</Message></Error>' % code).encode()
                    return self.answer(200, {"Content-Type": "application/xml"}, body)

        # Who signed it?
        status, hdrs, out = self.verify(method, raw_path, raw_query, body)
        host = self.headers.get("Host", "")
        bucket, key = self.bucket_key(host, raw_path)
        q = dict((k.decode(), v.decode()) for k, v in parse_query(raw_query))
        rec = {"method": method, "bucket": bucket, "key": key, "query": sorted(q),
               "part": int(q["partNumber"]) if q.get("partNumber", "").isdigit() else None,
               "ua": self.headers.get("User-Agent", ""),
               "content_sha256": self.headers.get("x-amz-content-sha256", ""),
               "content_md5": bool(self.headers.get("Content-MD5")),
               "lock_mode": self.headers.get("x-amz-object-lock-mode"),
               "lock_until": self.headers.get("x-amz-object-lock-retain-until-date"),
               "body": len(body)}
        if status is None:
            status, hdrs, out = self.s3(method, bucket, key, q, raw_query, body)
        rec["status"] = status
        with LOCK:
            st.log(rec)
            if status in (200, 204) and method == "PUT" and "partNumber" in q:
                st.parts_seen += 1
                n = st.fault.get("down_after_parts")
                if n is not None and st.parts_seen >= n:
                    st.down = True
        self.answer(status, hdrs, out, head=(method == "HEAD"))

    def verify(self, method, raw_path, raw_query, body):
        st = self.server.state
        auth = self.headers.get("Authorization")
        if not auth:
            return xml_error("AccessDenied", "Anonymous access is not allowed here", 403)
        m = AUTH_RE.match(auth.strip())
        if not m:
            return xml_error("AuthorizationHeaderMalformed", "cannot parse " + auth[:40], 400)
        ak, date, region, service, signed, sig = m.groups()
        secret = st.keys.get(ak)
        if secret is None:
            return xml_error("InvalidAccessKeyId",
                             "The AWS Access Key Id you provided does not exist in our records.",
                             403)
        if ak in st.tokens and self.headers.get("x-amz-security-token") != st.tokens[ak]:
            return xml_error("InvalidToken", "The provided token is malformed or otherwise invalid.",
                             403)
        amz_date = self.headers.get("x-amz-date", "")
        try:
            t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            return xml_error("AccessDenied", "x-amz-date is missing or malformed", 403)
        if abs((now_utc() - t).total_seconds()) > 900:
            return xml_error("RequestTimeTooSkewed", "The difference between the request "
                             "time and the current time is too large.", 403)
        want_region = self.server.args.region
        if want_region and region != want_region:
            st_, h_, b_ = xml_error("AuthorizationHeaderMalformed", "the region '%s' is wrong; "
                                    "expecting '%s'" % (region, want_region), 400,
                                    "<Region>%s</Region>" % want_region)
            h_["x-amz-bucket-region"] = want_region
            return st_, h_, b_
        if amz_date[:8] != date:
            return xml_error("SignatureDoesNotMatch", "the credential scope's date is not "
                             "the request's", 403)
        signed_list = signed.split(";")
        if signed_list != sorted(signed_list) or "host" not in signed_list or \
                "x-amz-date" not in signed_list or "x-amz-content-sha256" not in signed_list:
            return xml_error("SignatureDoesNotMatch", "SignedHeaders must be sorted and "
                             "include host, x-amz-date and x-amz-content-sha256", 403)
        if self.headers.get("x-amz-security-token") and \
                "x-amz-security-token" not in signed_list:
            return xml_error("SignatureDoesNotMatch", "x-amz-security-token is not signed", 403)
        payload = self.headers.get("x-amz-content-sha256")
        if payload is None:
            return xml_error("InvalidRequest", "x-amz-content-sha256 is required", 400)
        if payload == "UNSIGNED-PAYLOAD" or payload.startswith("STREAMING-"):
            if body:
                return xml_error("InvalidRequest", "unsigned or streaming payloads are "
                                 "refused by this test server", 400)
        elif payload != hashlib.sha256(body).hexdigest():
            return xml_error("XAmzContentSHA256Mismatch", "The provided "
                             "'x-amz-content-sha256' header does not match what was computed.",
                             400)
        md5 = self.headers.get("Content-MD5")
        if md5 is not None and md5 != base64.b64encode(hashlib.md5(body).digest()).decode():
            return xml_error("BadDigest", "The Content-MD5 you specified did not match what "
                             "we received.", 400)
        headers = {}
        for k, v in self.headers.items():
            headers.setdefault(k.lower(), []).append(v)
        creq = canonical_request(method, raw_path, raw_query, headers, signed_list, payload)
        if creq is None:
            return xml_error("SignatureDoesNotMatch", "a signed header is missing", 403)
        sts = "\n".join(["AWS4-HMAC-SHA256", amz_date,
                         "/".join([date, region, service, "aws4_request"]),
                         hashlib.sha256(creq.encode()).hexdigest()])
        want = hmac.new(signing_key(secret, date, region, service), sts.encode(),
                        hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, sig):
            with LOCK:
                st.stats["refused_signature"] += 1
            return xml_error("SignatureDoesNotMatch", "The request signature we calculated "
                             "does not match the signature you provided. Check your key and "
                             "signing method.", 403)
        return None, None, None

    def bucket_key(self, host, raw_path):
        path = urllib.parse.unquote(raw_path)
        hostname = host.split(":")[0]
        if hostname.endswith(".localhost"):
            return hostname[:-len(".localhost")], path.lstrip("/")
        parts = path.lstrip("/").split("/", 1)
        return parts[0], parts[1] if len(parts) > 1 else ""

    # -- S3 behind

    def upstream(self, method, path, raw_query, body, extra=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=120)
        headers = {}
        for k, v in self.headers.items():
            lk = k.lower()
            if lk in ("authorization", "x-amz-security-token", "host", "expect", "connection",
                      "transfer-encoding", "content-length"):
                continue
            headers[k] = v
        headers["Content-Length"] = str(len(body))
        if extra:
            headers.update(extra)
        target = urllib.parse.quote(path, safe="/~") + ("?" + raw_query if raw_query else "")
        conn.request(method, target, body=body if method not in ("GET", "HEAD") else None,
                     headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        rh = {k: v for k, v in resp.getheaders()}
        conn.close()
        return resp.status, rh, data

    def s3(self, method, bucket, key, q, raw_query, body):
        st = self.server.state
        path = "/" + bucket + ("/" + key if key else "")
        lockname = bucket + "/" + key
        # ListMultipartUploads
        if method == "GET" and not key and "uploads" in q:
            prefix = q.get("prefix", "")
            with LOCK:
                ups = sorted((u["key"], uid) for uid, u in st.uploads.items()
                             if u["bucket"] == bucket and u["key"].startswith(prefix))
            items = "".join("<Upload><Key>%s</Key><UploadId>%s</UploadId></Upload>"
                            % (esc(k), esc(uid)) for k, uid in ups)
            xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult>'
                   "<Bucket>%s</Bucket><Prefix>%s</Prefix><IsTruncated>false</IsTruncated>%s"
                   "</ListMultipartUploadsResult>" % (esc(bucket), esc(prefix), items))
            return 200, {"Content-Type": "application/xml"}, xml.encode()
        # AbortMultipartUpload
        if method == "DELETE" and "uploadId" in q:
            with LOCK:
                u = st.uploads.pop(q["uploadId"], None)
                st.save()
            if u is None:
                return xml_error("NoSuchUpload", "The specified upload does not exist.", 404)
            return 204, {}, b""
        if method == "PUT" and "uploadId" in q:
            with LOCK:
                known = q["uploadId"] in st.uploads
            if not known:
                return xml_error("NoSuchUpload", "The specified upload does not exist.", 404)
        # DELETE of a locked object
        if method == "DELETE" and key:
            with LOCK:
                lk = st.locks.get(lockname)
            if lk and lk["until"] > now_utc().strftime("%Y-%m-%dT%H:%M:%SZ"):
                return xml_error("AccessDenied", "Access Denied because object protected by "
                                 "object lock.", 403)
        status, rh, data = self.upstream(method, path, raw_query, body)
        if status >= 300:
            return status, rh, data
        mode = self.headers.get("x-amz-object-lock-mode")
        until = self.headers.get("x-amz-object-lock-retain-until-date")
        if method == "POST" and "uploads" in q:
            m = re.search(rb"<UploadId>([^<]+)</UploadId>", data)
            if m:
                with LOCK:
                    st.uploads[m.group(1).decode()] = {
                        "bucket": bucket, "key": key,
                        "lock": {"mode": mode, "until": until} if mode else None}
                    st.save()
        elif method == "POST" and "uploadId" in q:
            with LOCK:
                u = st.uploads.pop(q["uploadId"], None)
                if u and u.get("lock"):
                    st.locks[lockname] = u["lock"]
                st.save()
        elif method == "PUT" and "partNumber" not in q:
            if mode:
                with LOCK:
                    st.locks[lockname] = {"mode": mode, "until": until}
                    st.save()
        elif method == "DELETE":
            with LOCK:
                if st.locks.pop(lockname, None):
                    st.save()
        if method in ("GET", "HEAD") and key:
            with LOCK:
                lk = st.locks.get(lockname)
            if lk:
                rh["x-amz-object-lock-mode"] = lk["mode"]
                rh["x-amz-object-lock-retain-until-date"] = lk["until"]
        return status, rh, data

    # -- control and STS

    def control(self, method, raw_path, body):
        st = self.server.state
        if raw_path == "/__proxy/fault" and method == "POST":
            with LOCK:
                st.fault = json.loads(body or b"{}")
                st.release.set()
                st.release = threading.Event()
                st.gather_event.set()
                st.gather_event = threading.Event()
                st.gather_waiting = 0
                st.stats["gathered"] = False
                st.stats["faults"] = 0
                st.parts_seen = 0
                st.down = False
            return self.answer(200, {"Content-Type": "application/json"}, b"{}")
        if raw_path == "/__proxy/stats":
            with LOCK:
                out = dict(st.stats, uploads=len(st.uploads), locks=len(st.locks),
                           down=st.down, held=st.held)
            return self.answer(200, {"Content-Type": "application/json"},
                               json.dumps(out).encode())
        return self.answer(404, {}, b"")

    def sts(self, body):
        st = self.server.state
        args = self.server.args
        form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        with LOCK:
            st.stats["sts"] += 1
        if form.get("Action") != "AssumeRoleWithWebIdentity" or not args.sts_token:
            return self.answer(*xml_error("InvalidAction", "unsupported", 400))
        if form.get("WebIdentityToken") != args.sts_token or form.get("RoleArn") != args.sts_role:
            return self.answer(*xml_error("AccessDenied", "Not authorized to perform "
                                          "sts:AssumeRoleWithWebIdentity", 403))
        ak = "ASIA" + secrets.token_hex(8).upper()
        sk = secrets.token_urlsafe(30)
        tok = secrets.token_urlsafe(60)
        with LOCK:
            st.keys[ak] = sk
            st.tokens[ak] = tok
        exp = (now_utc() + datetime.timedelta(seconds=args.sts_ttl)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        xml = ("<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
               "<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>"
               "<SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>"
               "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"
               % (ak, esc(sk), esc(tok), exp))
        return self.answer(200, {"Content-Type": "text/xml"}, xml.encode())


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--key", action="append", default=[])
    ap.add_argument("--region", help="the buckets' region: requests signed for another "
                    "are refused as AWS does (400 AuthorizationHeaderMalformed)")
    ap.add_argument("--sts-token")
    ap.add_argument("--sts-role")
    ap.add_argument("--sts-ttl", type=int, default=3600)
    args = ap.parse_args()
    keys = [k.split(":", 1) for k in args.key]
    os.makedirs(args.state, exist_ok=True)
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.state = State(args.state, keys)
    srv.upstream_port = args.upstream
    srv.args = args
    print("READY http://127.0.0.1:%d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())

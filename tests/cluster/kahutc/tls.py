"""Certificates (openssl CLI), tokens and the kubeconfig of a test cluster."""
import base64
import os
import secrets
import subprocess
import sys


def _openssl(args, cwd):
    r = subprocess.run(["openssl"] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.stderr.write(r.stderr.decode(errors="replace"))
        raise RuntimeError("openssl %s failed" % args[0])


def ensure_certs(d):
    """Create ca.crt/ca.key, server.crt/key and client.crt/key (CN=kahu-test-admin,
    O=system:masters) in d unless they exist.  Returns a dict of paths."""
    os.makedirs(d, exist_ok=True)
    p = {n: os.path.join(d, n) for n in ("ca.crt", "ca.key", "server.crt", "server.key",
                                         "client.crt", "client.key")}
    if all(os.path.exists(x) for x in p.values()):
        return p
    old = os.umask(0o077)
    try:
        _openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
                  "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=kahu-test-ca",
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"], d)
        with open(os.path.join(d, "server.ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,"
                    "DNS:kubernetes,DNS:kubernetes.default.svc\n")
        with open(os.path.join(d, "client.ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=clientAuth\n")
        for who, subj in (("server", "/CN=kube-apiserver"), ("client", "/O=system:masters/CN=kahu-test-admin")):
            _openssl(["req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-keyout", who + ".key",
                      "-out", who + ".csr", "-subj", subj], d)
            _openssl(["x509", "-req", "-in", who + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                      "-CAcreateserial", "-days", "3650", "-sha256", "-out", who + ".crt",
                      "-extfile", who + ".ext"], d)
            os.unlink(os.path.join(d, who + ".csr"))
    finally:
        os.umask(old)
    os.chmod(p["ca.crt"], 0o644)
    return p


def ensure_tokens(state_dir):
    """Tokens persist in STATE/tokens (token user per line); admin.token is written too."""
    path = os.path.join(state_dir, "tokens")
    tokens = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    tokens[parts[1]] = parts[0]
    for user in ("admin", "limited", "tenant"):
        if user not in tokens:
            tokens[user] = secrets.token_hex(24)
    _write_private(path, "".join("%s %s\n" % (t, u) for u, t in sorted(tokens.items())))
    _write_private(os.path.join(state_dir, "admin.token"), tokens["admin"] + "\n")
    return tokens


def _write_private(path, text):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _b64file(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def write_kubeconfig(path, url, certs, tokens, name="kahu-test"):
    """Contexts: admin (default), cert, cert-data, limited, tenant, badtoken.  JSON is valid YAML."""
    import json
    ca = _b64file(certs["ca.crt"])
    cluster = {"name": name, "cluster": {"server": url, "certificate-authority-data": ca}}
    users = [
        {"name": "admin", "user": {"token": tokens["admin"]}},
        {"name": "cert", "user": {"client-certificate": certs["client.crt"], "client-key": certs["client.key"]}},
        {"name": "cert-data", "user": {"client-certificate-data": _b64file(certs["client.crt"]),
                                       "client-key-data": _b64file(certs["client.key"])}},
        {"name": "limited", "user": {"token": tokens["limited"]}},
        {"name": "tenant", "user": {"token": tokens["tenant"]}},
        {"name": "badtoken", "user": {"token": "not-a-valid-token-" + secrets.token_hex(8)}},
    ]
    contexts = [{"name": u["name"], "context": {"cluster": name, "user": u["name"], "namespace": "default"}}
                for u in users]
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    out = ["apiVersion: v1", "kind: Config", "preferences: {}", "current-context: admin", "clusters:",
           "- name: %s" % _q(name), "  cluster:", "    server: %s" % _q(url),
           "    certificate-authority-data: %s" % ca, "users:"]
    for u in users:
        out.append("- name: %s" % _q(u["name"]))
        out.append("  user:")
        for k, v in u["user"].items():
            out.append("    %s: %s" % (k, _q(v)))
    out.append("contexts:")
    for c in contexts:
        out += ["- name: %s" % _q(c["name"]), "  context:", "    cluster: %s" % _q(name),
                "    user: %s" % _q(c["context"]["user"]), "    namespace: default"]
    _write_private(path, "\n".join(out) + "\n")


def _q(s):
    """A YAML scalar: plain when safe, else a double-quoted (JSON) string."""
    import json
    import re
    if re.match(r'^[A-Za-z0-9_./+=-][A-Za-z0-9_./+=:-]*$', s) and not re.search(r':(\s|$)', s) \
            and s.lower() not in ("true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"):
        return s
    return json.dumps(s)

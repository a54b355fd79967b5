"""Shared by the backup CLI tests: the server's types, read from its legacy discovery
documents directly (never through kahu), so a test's expectations do not depend on the
code under test."""
import json
import ssl
import urllib.request


def fetch_discovery(url, token, ca, out):
    """Write {"group-resource": {"group", "kind", "namespaced", "backupable"}} over every
    served version to `out`; a type is backupable when some version can list, get,
    create and delete it."""
    ctx = ssl.create_default_context(cafile=ca)

    def get(p):
        r = urllib.request.Request(url + p, headers={"Authorization": "Bearer " + token,
                                                     "Accept": "application/json"})
        return json.load(urllib.request.urlopen(r, context=ctx))
    gvs = [("", v) for v in get("/api")["versions"]]
    for g in get("/apis")["groups"]:
        gvs += [(g["name"], v["version"]) for v in g["versions"]]
    types = {}
    for g, v in gvs:
        try:
            rl = get(("/api/" if not g else "/apis/%s/" % g) + v)
        except Exception:
            continue  # metrics.k8s.io: broken on purpose
        for r in rl["resources"]:
            if "/" in r["name"]:
                continue
            gr = r["name"] + ("." + g if g else "")
            ok = {"list", "get", "create", "delete"} <= set(r.get("verbs", []))
            t = types.setdefault(gr, {"group": g, "kind": r["kind"],
                                      "namespaced": r["namespaced"], "backupable": False})
            t["backupable"] = t["backupable"] or ok
    json.dump(types, open(out, "w"), indent=1, sort_keys=True)

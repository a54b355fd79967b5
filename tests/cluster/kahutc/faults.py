"""Deterministic fault injection.

A rule: {"match": {"method": "GET", "path_regex": "...", "verb": "list", "resource": "configmaps",
                   "group": "", "query_regex": "..."},
         "action": "403"|"429"|"500"|"503"|"reset"|"slow"|"expire-continue"|"exec-break",
         "retry_after": 1, "delay_ms": 200, "times": N, "after": M, "page": N}
`after` skips the first M matching requests, `times` limits how often the rule fires
(absent = always).  expire-continue fires on list requests that carry a continue token;
with `page` only on the request for that page (page 1 = the first, token-less request,
so page >= 2).  slow answers after delay_ms (the request takes effect at once, its
response is held; other connections are served meanwhile).  exec-break matches pods/exec requests (verb create, resource pods) and cuts the
stream's TCP connection (a reset, no Status, no close frame) once `after_bytes` bytes of
stdout (default 0) have been sent; with `after_stdin_bytes` instead, once that many bytes
of stdin have been received (the restore direction); with `at_exit` true, when the
command has exited, its stdout and stderr sent, in place of its Status.  watch-drop
matches watch requests (verb watch) and ends the stream without its last chunk once
`after_events` events (default 0: at once) have been sent; `how` "close" (default: TLS
close and FIN) or "reset".

Pod actions act on the containers the test cluster runs (kubelet.py), when one starts
(each start of a container is one matching request; `after` skips the first M, so
"after": 1 is the second pod or the first retry; `times` 1 fires once, absent always):
  pod-fail           the container does not run; it ends at once with `exit_code`
                     (default 1) and `message` as its termination message
  pod-evict          the pod is evicted: phase Failed, reason Evicted, `message`
  pod-env            the container runs with `env` (an object: name -> string) added to
                     its environment, e.g. a test knob of the program it runs
The pod is chosen by match keys of its own: "job" (its job-name label), "namespace",
"pod_regex" (searched in its name) and "labels" (an object: each must be equal).

Shaping actions change a list response (hostile or unusual servers):
  ignore-limit       the whole list in one response, whatever `limit` asks
  items-not-array    "items" replaced by `value` (default {"not": "an array"})
  garbage-item       item `index` (default 1, from 0) replaced by `value` (default 42)
  missing-namespace  item `index` (default 1) without metadata.namespace
  repeat-continue    the response's continue token is the request's own (so the list
                     would never end); a request without one gets the normal token
  chunked            the body in HTTP chunks of `piece` bytes (default 4096) with
                     `pause_ms` between them (default 0); with `hold` (a fraction of the
                     body, e.g. 0.5, or a list of them) the rest waits there until POST
                     /_admin/faults/release (one release per hold point); GET
                     /_admin/faults says where each held response stands
  cut-body           the body stops at `at` (a fraction, default 0.5, or `at_byte`) and the
                     connection is closed; `framing` "length" (default: Content-Length says
                     more was due) or "close" (no length: the close is the body's end)
"""
import re
import threading

REQUEST_ACTIONS = ("403", "429", "500", "503", "reset", "slow")
BODY_ACTIONS = ("items-not-array", "garbage-item", "missing-namespace", "repeat-continue")
TRANSPORT_ACTIONS = ("chunked", "cut-body")
SHAPE_ACTIONS = ("ignore-limit",) + BODY_ACTIONS + TRANSPORT_ACTIONS
POD_ACTIONS = ("pod-fail", "pod-evict", "pod-env")
ACTIONS = REQUEST_ACTIONS + ("expire-continue", "exec-break", "watch-drop") + SHAPE_ACTIONS + POD_ACTIONS


class FaultError(ValueError):
    pass


class Rule:
    def __init__(self, d):
        if not isinstance(d, dict):
            raise FaultError("a fault rule must be an object")
        self.spec = d
        m = d.get("match") or {}
        if not isinstance(m, dict):
            raise FaultError("match must be an object")
        self.method = (m.get("method") or "").upper() or None
        try:
            self.path_re = re.compile(m["path_regex"]) if m.get("path_regex") else None
            self.query_re = re.compile(m["query_regex"]) if m.get("query_regex") else None
        except re.error as ex:
            raise FaultError("bad regex: %s" % ex)
        self.verb = m.get("verb")
        self.resource = m.get("resource")
        self.group = m.get("group")
        self.job = m.get("job")
        self.namespace = m.get("namespace")
        self.labels = m.get("labels") or {}
        if not isinstance(self.labels, dict):
            raise FaultError("match.labels must be an object")
        try:
            self.pod_re = re.compile(m["pod_regex"]) if m.get("pod_regex") else None
        except re.error as ex:
            raise FaultError("bad regex: %s" % ex)
        self.action = str(d.get("action", ""))
        if self.action not in ACTIONS:
            raise FaultError("unknown action %r (one of %s)" % (self.action, ", ".join(ACTIONS)))
        self.retry_after = d.get("retry_after", 1)
        self.delay_ms = int(d.get("delay_ms", 200))
        self.times = d.get("times")
        self.after = int(d.get("after", 0) or 0)
        self.page = d.get("page")
        try:
            self.index = int(d.get("index", 1))
            self.piece = max(1, int(d.get("piece", 4096)))
            self.pause_ms = max(0, int(d.get("pause_ms", 0)))
            h = d.get("hold")
            self.hold = sorted(float(x) for x in (h if isinstance(h, list) else [h])) if h is not None else None
            self.at = float(d.get("at", 0.5))
            self.at_byte = int(d["at_byte"]) if d.get("at_byte") is not None else None
        except (TypeError, ValueError) as ex:
            raise FaultError("bad parameter: %s" % ex)
        if self.action in POD_ACTIONS:
            try:
                int(d.get("exit_code", 1))
            except (TypeError, ValueError):
                raise FaultError("exit_code must be an integer")
        if self.action == "pod-env":
            env = d.get("env")
            if not isinstance(env, dict) or not all(isinstance(k, str) and k and isinstance(v, str)
                                                    for k, v in env.items()):
                raise FaultError("pod-env: env must be an object of strings")
        self.framing = d.get("framing", "length")
        if self.framing not in ("length", "close"):
            raise FaultError("framing must be length or close")
        self.seen = 0
        self.fired = 0

    def matches(self, ctx):
        if self.method and ctx.get("method") != self.method:
            return False
        if self.verb and ctx.get("verb") != self.verb:
            return False
        if self.resource and ctx.get("resource") != self.resource:
            return False
        if self.group is not None and ctx.get("group") != self.group:
            return False
        if self.path_re and not self.path_re.search(ctx.get("path", "")):
            return False
        if self.query_re and not self.query_re.search(ctx.get("query", "")):
            return False
        return True

    def matches_pod(self, pod):
        md = pod.get("metadata") or {}
        labels = md.get("labels") or {}
        if self.job is not None and labels.get("job-name") != self.job:
            return False
        if self.namespace is not None and md.get("namespace") != self.namespace:
            return False
        if self.pod_re and not self.pod_re.search(md.get("name", "")):
            return False
        return all(labels.get(k) == v for k, v in self.labels.items())

    def take(self):
        """Count a matching request; True when the rule fires for it."""
        self.seen += 1
        if self.seen <= self.after:
            return False
        if self.times is not None and self.fired >= int(self.times):
            return False
        self.fired += 1
        return True

    def report(self):
        d = dict(self.spec)
        d["seen"] = self.seen
        d["fired"] = self.fired
        return d


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.fired_total = 0

    def add(self, rules):
        if isinstance(rules, dict):
            rules = rules.get("rules", [rules]) if "rules" in rules else [rules]
        if not isinstance(rules, list):
            raise FaultError("expected a JSON list of rules")
        new = [Rule(r) for r in rules]
        with self.lock:
            self.rules.extend(new)
        return len(new)

    def clear(self):
        with self.lock:
            self.rules = []

    def report(self):
        with self.lock:
            return {"rules": [r.report() for r in self.rules], "fired_total": self.fired_total}

    def for_request(self, ctx):
        """(delay_seconds, rule or None) for a request."""
        delay = 0.0
        hit = None
        with self.lock:
            for r in self.rules:
                if r.action not in REQUEST_ACTIONS or not r.matches(ctx):
                    continue
                if r.action == "slow":
                    if r.take():
                        delay += r.delay_ms / 1000.0
                        self.fired_total += 1
                elif hit is None and r.take():
                    hit = r
                    self.fired_total += 1
        return delay, hit

    def shaping(self, ctx):
        """The shaping rules that fire for a list request (each counts it once)."""
        out = []
        with self.lock:
            for r in self.rules:
                if r.action in SHAPE_ACTIONS and r.matches(ctx) and r.take():
                    self.fired_total += 1
                    out.append(r)
        return out

    def exec_break(self, ctx):
        """For an exec request: where the exec-break rule matching it cuts the
        connection, {"stdout": N, "stdin": N, "at_exit": bool} (a count None: not by
        it), or None when no rule fires."""
        with self.lock:
            for r in self.rules:
                if r.action == "exec-break" and r.matches(ctx) and r.take():
                    self.fired_total += 1
                    sp = r.spec
                    stdin = sp.get("after_stdin_bytes")
                    at_exit = bool(sp.get("at_exit"))
                    stdout = sp.get("after_bytes")
                    if stdout is None and stdin is None and not at_exit:
                        stdout = 0
                    return {"stdout": None if stdout is None else max(0, int(stdout)),
                            "stdin": None if stdin is None else max(0, int(stdin)),
                            "at_exit": at_exit}
        return None

    def watch_drop(self, ctx):
        """For a watch request: the watch-drop rule that fires for it, or None."""
        with self.lock:
            for r in self.rules:
                if r.action == "watch-drop" and r.matches(ctx) and r.take():
                    self.fired_total += 1
                    return r
        return None

    def pod_fault(self, pod):
        """The pod action rule that fires for a container starting (or None)."""
        with self.lock:
            for r in self.rules:
                if r.action in POD_ACTIONS and r.matches_pod(pod) and r.take():
                    self.fired_total += 1
                    return r
        return None

    def expire_continue(self, ctx, page):
        with self.lock:
            for r in self.rules:
                if r.action != "expire-continue" or not r.matches(ctx):
                    continue
                if r.page is not None and int(r.page) != page:
                    continue
                if r.take():
                    self.fired_total += 1
                    return True
        return False

"""The Job controller: batch/v1 Jobs with completions and parallelism 1.

Admission defaults a Job as the API server does (backoffLimit 6, completions and
parallelism 1, completionMode NonIndexed, suspend false, the selector on the
controller-uid label, the template's job-name/controller-uid labels) and refuses what
this controller does not run: completions or parallelism other than 1, Indexed mode,
podFailurePolicy, restartPolicy other than Never/OnFailure.

A controller thread reconciles the Jobs when something changed (a Job created, a pod of
a Job finished) and once a second while a Job is active or waits for its TTL: it creates
a pod from the template (generateName NAME-, ownerReferences to the Job), counts
succeeded and failed pods (a container restart of an OnFailure pod counts as a failure),
retries up to backoffLimit, ends the Job with the condition Complete, or Failed with
BackoffLimitExceeded or DeadlineExceeded (activeDeadlineSeconds, its active pod
deleted), and deletes finished Jobs ttlSecondsAfterFinished after they finished.

Deleting a Job: propagationPolicy Background (kubectl's) or Foreground deletes its pods
with it (at once, in both cases, which kills their processes); Orphan, the API's default
for Jobs, removes the pods' ownerReferences and leaves them.
"""
import threading
import time

from . import errors

JOB_NAME = "job-name"
CONTROLLER_UID = "controller-uid"
BATCH_JOB_NAME = "batch.kubernetes.io/job-name"
BATCH_CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
MANAGER = "kube-controller-manager"


def now_rfc3339(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t if t is not None else time.time()))


def parse_time(s):
    try:
        import calendar
        return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return None


def _invalid(name, field, value, detail, reason="FieldValueInvalid"):
    return errors.invalid("Job", "batch", name, field, value, detail, reason)


def admit(obj, old):
    """Defaults and validation of a Job (create and update)."""
    md = obj["metadata"]
    name = md.get("name", "")
    spec = obj.setdefault("spec", {})
    if old is not None:
        # the template and the selector are immutable; the status is the controller's
        for k in ("template", "selector", "completions", "completionMode"):
            if k in (old.get("spec") or {}):
                spec[k] = old["spec"][k]
        obj["status"] = old.get("status", {})
        return
    for k, what in (("completions", "completions"), ("parallelism", "parallelism")):
        v = spec.get(k, 1)
        if v is None:
            v = 1
        if not isinstance(v, int) or v != 1:
            raise _invalid(name, "spec." + what, v, "the kahu test cluster runs Jobs with %s 1 only" % what,
                           "FieldValueNotSupported")
        spec[k] = 1
    if spec.setdefault("completionMode", "NonIndexed") != "NonIndexed":
        raise _invalid(name, "spec.completionMode", spec["completionMode"],
                       "the kahu test cluster runs NonIndexed Jobs only", "FieldValueNotSupported")
    if spec.get("podFailurePolicy") is not None:
        raise _invalid(name, "spec.podFailurePolicy", None, "not supported by the kahu test cluster",
                       "FieldValueNotSupported")
    bl = spec.setdefault("backoffLimit", 6)
    if not isinstance(bl, int) or bl < 0:
        raise _invalid(name, "spec.backoffLimit", bl, "must be greater than or equal to 0")
    spec.setdefault("suspend", False)
    tmpl = spec.get("template")
    if not isinstance(tmpl, dict) or not isinstance(tmpl.get("spec"), dict) or \
            not (tmpl["spec"].get("containers") or []):
        raise _invalid(name, "spec.template.spec.containers", None, "Required value", "FieldValueRequired")
    rp = tmpl["spec"].get("restartPolicy")
    if rp not in ("Never", "OnFailure"):
        raise errors.invalid("Job", "batch", name, "spec.template.spec.restartPolicy", rp,
                             'supported values: "OnFailure", "Never"', "FieldValueNotSupported")
    uid = md["uid"]
    tmd = tmpl.setdefault("metadata", {})
    labels = tmd.setdefault("labels", {})
    # as the API server's generated selector: labels and a selector entry the Job
    # already has are kept.  A real server then refuses a selector or labels with
    # another Job's uid ("`selector` not auto-generated") unless manualSelector is
    # true; this one accepts them (the controller finds its pods by ownerReferences).
    for k, v in ((CONTROLLER_UID, uid), (BATCH_CONTROLLER_UID, uid), (JOB_NAME, name), (BATCH_JOB_NAME, name)):
        labels.setdefault(k, v)
    if not spec.get("manualSelector"):
        sel = spec.get("selector")
        if not isinstance(sel, dict):
            sel = spec["selector"] = {}
        ml = sel.get("matchLabels")
        if not isinstance(ml, dict):
            ml = sel["matchLabels"] = {}
        ml.setdefault(BATCH_CONTROLLER_UID, uid)
    obj["status"] = {}


def _cond(status, ctype):
    return next((c for c in status.get("conditions") or [] if c.get("type") == ctype), None)


def finished(job):
    st = job.get("status") or {}
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in st.get("conditions") or [])


class JobController:
    def __init__(self, cluster):
        self.cluster = cluster
        self.wake = threading.Event()
        self.thread = None
        self.stop = False

    def kick(self, *_):
        if self.thread is None:
            self.thread = threading.Thread(target=self._loop, daemon=True, name="job-controller")
            self.thread.start()
        self.wake.set()

    def _loop(self):
        while not self.stop:
            self.wake.wait(1.0)
            self.wake.clear()
            try:
                self.sync_all()
            except Exception as ex:        # a controller keeps going; the error is logged
                import sys
                sys.stderr.write("kahu-test-cluster: job controller: %r\n" % (ex,))

    def pods_of(self, job):
        c = self.cluster
        uid = job["metadata"]["uid"]
        out = []
        for _, _, _, e in c.store.scan(("", "pods"), job["metadata"]["namespace"]):
            for o in e.obj["metadata"].get("ownerReferences") or []:
                if o.get("uid") == uid and o.get("controller"):
                    out.append(e.obj)
                    break
        return out

    def sync_all(self):
        c = self.cluster
        with c.lock:
            jobs = [e.obj for _, _, _, e in c.store.scan(("batch", "jobs"), None)]
            for job in jobs:
                self.sync(job)

    def _pod_rt(self):
        return self.cluster.registry.by_key[("", "pods")]

    def _job_rt(self):
        return self.cluster.registry.by_key[("batch", "jobs")]

    def sync(self, job):
        c = self.cluster
        md = job["metadata"]
        if md.get("deletionTimestamp"):
            return
        spec = job.get("spec") or {}
        status = dict(job.get("status") or {})
        now = time.time()
        if finished(job):
            ttl = spec.get("ttlSecondsAfterFinished")
            done = parse_time(status.get("completionTime")) or \
                parse_time((_cond(status, "Failed") or {}).get("lastTransitionTime"))
            if ttl is not None and done is not None and now >= done + int(ttl):
                self.delete_job(job, "Background")
            return
        if spec.get("suspend"):
            return
        pods = self.pods_of(job)
        active = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        for p in pods:
            for cs in (p.get("status") or {}).get("containerStatuses") or []:
                failed += int(cs.get("restartCount") or 0)
            if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                for cs in (p.get("status") or {}).get("containerStatuses") or []:
                    if (cs.get("state") or {}).get("waiting", {}).get("reason") == "CrashLoopBackOff":
                        failed += 1
        status.setdefault("startTime", now_rfc3339(now))
        start = parse_time(status["startTime"]) or now
        ads = spec.get("activeDeadlineSeconds")
        t = now_rfc3339(now)
        new_conds = None
        if succeeded >= 1:
            status["completionTime"] = t
            new_conds = [{"type": "Complete", "status": "True", "lastProbeTime": t, "lastTransitionTime": t}]
        elif ads is not None and now >= start + int(ads):
            new_conds = [{"type": "Failed", "status": "True", "lastProbeTime": t, "lastTransitionTime": t,
                          "reason": "DeadlineExceeded", "message": "Job was active longer than specified deadline"}]
        elif failed > int(spec.get("backoffLimit", 6)):
            new_conds = [{"type": "Failed", "status": "True", "lastProbeTime": t, "lastTransitionTime": t,
                          "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]
        if new_conds is not None:
            for p in active:
                self._delete_pod(p)
            if new_conds[0]["type"] == "Failed":
                failed += len(active)
            active = []
            status["conditions"] = (status.get("conditions") or []) + new_conds
        elif not active:
            if self._create_pod(job) is not None:
                active = [True]
        status["active"] = len(active)
        status["ready"] = sum(1 for p in active if isinstance(p, dict) and any(
            cd.get("type") == "Ready" and cd.get("status") == "True"
            for cd in (p.get("status") or {}).get("conditions") or []))
        status["succeeded"] = succeeded
        status["failed"] = failed
        status["terminating"] = 0
        status["uncountedTerminatedPods"] = {}
        for k in ("active", "succeeded", "failed"):
            if not status[k]:
                status.pop(k)
        if status != (job.get("status") or {}):
            from .cluster import jcopy
            new = jcopy(job)
            new["status"] = status
            c._store(self._job_rt(), new)

    def _create_pod(self, job):
        c = self.cluster
        from .cluster import jcopy
        md = job["metadata"]
        tmpl = jcopy((job.get("spec") or {}).get("template") or {})
        pmd = tmpl.get("metadata") or {}
        pmd.pop("name", None)
        pmd["generateName"] = md["name"] + "-"
        pmd["namespace"] = md["namespace"]
        pmd["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": md["name"], "uid": md["uid"],
                                   "controller": True, "blockOwnerDeletion": True}]
        pod = {"metadata": pmd, "spec": tmpl.get("spec") or {}}
        try:
            obj, _ = c.create(self._pod_rt(), "v1", md["namespace"], pod, {"fieldManager": MANAGER}, MANAGER)
            return obj
        except errors.ApiError as ex:
            import sys
            sys.stderr.write("kahu-test-cluster: job %s/%s: creating its pod: %s\n" % (md["namespace"], md["name"],
                                                                                    ex.message))
            return None

    def _delete_pod(self, p):
        try:
            self.cluster.delete(self._pod_rt(), "v1", p["metadata"]["namespace"], p["metadata"]["name"], {})
        except errors.ApiError:
            pass

    def delete_job(self, job, policy):
        c = self.cluster
        md = job["metadata"]
        try:
            c.delete(self._job_rt(), "v1", md["namespace"], md["name"], {"propagationPolicy": policy})
        except errors.ApiError:
            pass

    def after_delete(self, job, q):
        """The Job is gone (cluster lock held): its pods per the propagation policy."""
        policy = (q or {}).get("propagationPolicy") or "Orphan"
        if (q or {}).get("orphanDependents") in ("true", "1", True):
            policy = "Orphan"
        pods = self.pods_of(job)
        if policy == "Orphan":
            from .cluster import jcopy
            uid = job["metadata"]["uid"]
            for p in pods:
                new = jcopy(p)
                new["metadata"]["ownerReferences"] = [o for o in p["metadata"].get("ownerReferences") or []
                                                      if o.get("uid") != uid]
                if not new["metadata"]["ownerReferences"]:
                    del new["metadata"]["ownerReferences"]
                self.cluster._store(self._pod_rt(), new)
            return
        for p in pods:
            self._delete_pod(p)

/* kahu — the data movers' coordinator (see movers.h). */
#include "engine/movers.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/mover.h"
#include "engine/voldata.h"
#include "kube/client.h"
#include "kube/podlog.h"
#include "kube/pager.h"
#include "store/config.h"
#include "store/layout.h"
#include "store/store.h"
#include "util/cancel.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strv.h"

#define JOBS_RES { .group = "batch", .version = "v1", .resource = "jobs", .namespaced = 1 }
#define PODS_RES { .group = "", .version = "v1", .resource = "pods", .namespaced = 1 }
/* Rounds a pod may stay unable to start (image pull, missing Secret) before its
 * attempt fails: about a minute. */
#define STUCK_ROUNDS 60
/* Rounds a created Job may stay unseen in the lists before its attempt fails. */
#define UNSEEN_ROUNDS 30
/* Live progress (only for volumes with a progress callback): the tail of a running
 * mover's log (movers.h: every MOVERS_LOG_EVERY_S seconds per pod at most,
 * MOVERS_LOG_BUDGET reads a second for the run), each a small answer. */
#define LOG_EVERY_S MOVERS_LOG_EVERY_S
#define LOG_BUDGET MOVERS_LOG_BUDGET
#define LOG_TAIL_LINES 8
#define LOG_LIMIT_BYTES 4096

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* ---- pure pieces ---- */

const char *movers_node_key(const char *node, json_t *node_affinity)
{
	if (node && *node)
		return node;
	json_t *terms = json_object_get(json_object_get(node_affinity, "required"), "nodeSelectorTerms");
	if (json_array_size(terms) != 1)
		return "";
	json_t *exprs = json_object_get(json_array_get(terms, 0), "matchExpressions");
	if (json_array_size(exprs) != 1)
		return "";
	json_t *e = json_array_get(exprs, 0);
	json_t *vals = json_object_get(e, "values");
	const char *key = jstr(e, "key"), *op = jstr(e, "operator");
	if (!key || !op || strcmp(key, "kubernetes.io/hostname") != 0 || strcmp(op, "In") != 0 ||
	    json_array_size(vals) != 1 || !json_string_value(json_array_get(vals, 0)))
		return "";
	return json_string_value(json_array_get(vals, 0));
}

/* A printable copy of untrusted text, one line, at most `max` bytes. */
static char *one_line(const char *s, size_t max)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (n > max)
		n = max;
	char *o = xstrndup(s, n);
	for (char *p = o; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return o;
}

char *movers_pod_reason(json_t *pod)
{
	json_t *status = json_object_get(pod, "status");
	json_t *cs = json_array_get(json_object_get(status, "containerStatuses"), 0);
	json_t *term = json_object_get(json_object_get(cs, "state"), "terminated");
	if (!term)
		term = json_object_get(json_object_get(cs, "lastState"), "terminated");
	const char *preason = jstr(status, "reason"), *pmsg = jstr(status, "message");
	const char *creason = jstr(term, "reason"), *cmsg = jstr(term, "message");
	json_t *ec = json_object_get(term, "exitCode");
	struct kbuf b = KBUF_INIT;
	char *what = NULL;
	if (cmsg && *cmsg) {
		/* the mover's own termination message: {"error": …} on failure */
		json_t *j = json_loads(cmsg, 0, NULL);
		const char *err = jstr(j, "error");
		what = one_line(err ? err : cmsg, 1024);
		json_decref(j);
	}
	if (preason && *preason) {
		kbuf_addf(&b, "%s", preason);
		if (pmsg && *pmsg) {
			char *m = one_line(pmsg, 512);
			kbuf_addf(&b, ": %s", m);
			free(m);
		}
	} else if (creason && *creason) {
		kbuf_addf(&b, "%s", creason);
		if (json_is_integer(ec))
			kbuf_addf(&b, " (exit code %lld)", (long long)json_integer_value(ec));
	} else if (pmsg && *pmsg) {
		char *m = one_line(pmsg, 512);
		kbuf_addf(&b, "%s", m);
		free(m);
	} else {
		kbuf_addf(&b, "the pod failed");
	}
	if (what && *what)
		kbuf_addf(&b, ": %s", what);
	free(what);
	return kbuf_detach(&b);
}

size_t movers_log_pick(const double *next, size_t n, double now, size_t budget, size_t *out)
{
	size_t k = 0;
	while (k < budget) {
		size_t best = n;
		for (size_t i = 0; i < n; i++) {
			if (next[i] > now)
				continue;
			int taken = 0;
			for (size_t j = 0; j < k && !taken; j++)
				taken = out[j] == i;
			if (!taken && (best == n || next[i] < next[best]))
				best = i;
		}
		if (best == n)
			break;
		out[k++] = best;
	}
	return k;
}

/* ---- the coordinator ---- */

enum slot_state { SLOT_QUEUED, SLOT_STARTING, SLOT_ACTIVE, SLOT_ENDED };

struct slot {
	const struct movers_volume *v;
	struct mover_spec *spec;
	char *node;                      /* movers_node_key */
	enum slot_state state;
	unsigned tries;                  /* attempts started */
	char *job;                       /* the current attempt's Job */
	int seen, unseen, stuck;         /* the Job seen in a list; rounds not seen; rounds stuck */
	int running;                     /* its pod was seen Running (the waiter says so once) */
	int announced;
	char *where;                     /* the pod's node */
	char *pod;                       /* its pod's name, once listed */
	double next_log;                 /* when its log may be read next (monotonic s) */
	uint64_t live_bytes, live_files; /* the newest progress its log showed */
	unsigned live_seq;               /* bumped at each newer one */
	int ok;                          /* SLOT_ENDED: 1 succeeded */
	char *term;                      /* the termination message (success) */
	char *reason;                    /* why the attempt failed */
	struct slot *next;
};

struct ns_state {
	char *ns;
	int rc;                          /* 0 ready, < 0 failed (msg) */
	char *msg;
};

struct movers {
	struct movers_opts o;
	json_t *secret_data;             /* name -> base64 (NULL with --mover-secret) */
	char rnd[8];                     /* hex: this run's attempts and names */
	char *secret, *sa;               /* names in each namespace */
	pthread_mutex_t mu;
	pthread_cond_t cv;               /* slots changed (both ways) */
	pthread_t th;
	int started, stop;
	struct slot *slots;
	unsigned seq;
	struct ns_state *nss;
	size_t nns;
	pthread_mutex_t nsmu;            /* namespace setup, one at a time */
	long rounds;
	pthread_t log_th;                /* the log reader (started by the first volume with
					    a progress callback) */
	int log_started, logs_off;       /* logs_off: pods/log forbidden, not tried again */
	long log_reads;
};

static void *poller(void *ud);
static void *log_reader(void *ud);

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int movers_new(const struct movers_opts *o, struct movers **out)
{
	*out = NULL;
	json_t *bundle = NULL;
	int rc;
	/* Built with --mover-secret too: a location the cluster cannot reach is refused
	 * before anything is written, whoever made the Secret. */
	if ((rc = mover_bundle_build(o->loc, o->key, &bundle)) < 0)
		return kahu_error_wrap(rc, "--data-mover cluster");
	if (o->vol->mover.secret) {
		mover_bundle_free(bundle);
		bundle = NULL;
	}
	struct movers *m = xcalloc(1, sizeof *m);
	m->o = *o;
	unsigned char r[3];
	randombytes_buf(r, sizeof r);
	snprintf(m->rnd, sizeof m->rnd, "%02x%02x%02x", r[0], r[1], r[2]);
	m->sa = xasprintf("kahu-mover-%s", m->rnd);
	if (o->vol->mover.secret) {
		m->secret = xstrdup(o->vol->mover.secret);
	} else {
		m->secret = xasprintf("kahu-mover-%s", m->rnd);
		m->secret_data = json_object();
		const char *k;
		json_t *v;
		json_object_foreach(bundle, k, v) {
			size_t n = json_string_length(v);
			size_t bl = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
			char *b64 = xmalloc(bl);
			sodium_bin2base64(b64, bl, (const unsigned char *)json_string_value(v), n,
					  sodium_base64_VARIANT_ORIGINAL);
			json_object_set_new(m->secret_data, k, json_string(b64));
			sodium_memzero(b64, bl);
			free(b64);
		}
		mover_bundle_free(bundle);   /* the raw bundle (key, credentials) is not kept */
	}
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	pthread_mutex_init(&m->nsmu, NULL);
	if (pthread_create(&m->th, NULL, poller, m) != 0) {
		movers_free(m);
		return kahu_error_set(KAHU_EFAIL, "cannot start the movers' poller thread");
	}
	m->started = 1;
	*out = m;
	return 0;
}

static void secret_data_wipe(json_t *d)
{
	const char *k;
	json_t *v;
	json_object_foreach(d, k, v)
		if (json_string_length(v))
			sodium_memzero((void *)json_string_value(v), json_string_length(v));
}

void movers_free(struct movers *m)
{
	if (!m)
		return;
	if (m->started) {
		pthread_mutex_lock(&m->mu);
		m->stop = 1;
		pthread_cond_broadcast(&m->cv);
		pthread_mutex_unlock(&m->mu);
		pthread_join(m->th, NULL);
	}
	if (m->log_started)
		pthread_join(m->log_th, NULL);
	log_info("data movers: %ld poll round%s for the run's Jobs", m->rounds, m->rounds == 1 ? "" : "s");
	if (m->log_reads)
		log_info("data movers: %ld read%s of movers' logs for their progress", m->log_reads,
			 m->log_reads == 1 ? "" : "s");
	secret_data_wipe(m->secret_data);
	json_decref(m->secret_data);
	for (size_t i = 0; i < m->nns; i++) {
		free(m->nss[i].ns);
		free(m->nss[i].msg);
	}
	free(m->nss);
	free(m->secret);
	free(m->sa);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->nsmu);
	free(m);
}

/* ---- per namespace: the ServiceAccount and the Secret ---- */

static int64_t expires_at(const struct movers *m)
{
	const struct vol_mover_opts *mo = &m->o.vol->mover;
	return (int64_t)time(NULL) + (int64_t)mo->timeout_s * (mo->retries + 1) + 3600;
}

static int ns_setup(struct movers *m, const char *ns)
{
	int rc = 0;
	pthread_mutex_lock(&m->nsmu);
	for (size_t i = 0; i < m->nns; i++)
		if (strcmp(m->nss[i].ns, ns) == 0) {
			rc = m->nss[i].rc;
			if (rc < 0)
				kahu_error_set(rc, "%s", m->nss[i].msg);
			pthread_mutex_unlock(&m->nsmu);
			return rc;
		}
	char *coll = xasprintf("/api/v1/namespaces/%s/serviceaccounts", ns);
	json_t *sa = json_pack("{s:s, s:s, s:o, s:b}", "apiVersion", "v1", "kind", "ServiceAccount",
			       "metadata", vol_object_meta(m->o.run, MOVERS_PURPOSE, m->sa, ns, expires_at(m)),
			       "automountServiceAccountToken", 0);
	rc = vol_tracker_create(m->o.vt, coll, sa, NULL);
	json_decref(sa);
	free(coll);
	if (rc < 0) {
		kahu_error_wrap(rc, "namespace %s: the movers' ServiceAccount %s could not be created", ns, m->sa);
	} else if (m->secret_data) {
		coll = xasprintf("/api/v1/namespaces/%s/secrets", ns);
		json_t *sec = json_pack("{s:s, s:s, s:o, s:s, s:O}", "apiVersion", "v1", "kind", "Secret",
					"metadata", vol_object_meta(m->o.run, MOVERS_PURPOSE, m->secret, ns,
								    expires_at(m)),
					"type", "Opaque", "data", m->secret_data);
		rc = vol_tracker_create(m->o.vt, coll, sec, NULL);
		json_decref(sec);
		free(coll);
		if (rc < 0)
			kahu_error_wrap(rc, "namespace %s: the movers' Secret %s could not be created", ns, m->secret);
	} else {
		/* --mover-secret: it must be there (a mover would wait for it forever) */
		char *path = xasprintf("/api/v1/namespaces/%s/secrets/%s", ns, m->secret);
		struct kube_response r = { 0 };
		rc = kube_request(m->o.kc, "GET", path, NULL, NULL, NULL, 0, KUBE_REQ_FEW_TRIES, &r);
		if (r.body.data)
			sodium_memzero(r.body.data, r.body.len);
		kube_response_clear(&r);
		if (rc == KAHU_ENOTFOUND)
			rc = kahu_error_set(KAHU_ENOTFOUND, "--mover-secret: Secret %s is not in namespace %s "
					    "(movers mount a Secret of their own namespace: create it there "
					    "from `kahu mover bundle`)", m->secret, ns);
		else if (rc < 0)
			kahu_error_wrap(rc, "--mover-secret: cannot read Secret %s/%s", ns, m->secret);
		free(path);
	}
	m->nss = xrealloc(m->nss, (m->nns + 1) * sizeof *m->nss);
	m->nss[m->nns].ns = xstrdup(ns);
	m->nss[m->nns].rc = rc;
	m->nss[m->nns].msg = rc < 0 ? xstrdup(kahu_error_last()) : NULL;
	m->nns++;
	pthread_mutex_unlock(&m->nsmu);
	return rc;
}

/* ---- the Job ---- */

static json_t *job_spec(struct movers *m, struct slot *s)
{
	const struct vol_mover_opts *mo = &m->o.vol->mover;
	const struct vol_helper_opts *h = &m->o.vol->helper;
	const struct movers_volume *v = s->v;
	int ro = !m->o.restore;
	json_t *sj = mover_spec_json(s->spec);
	char *arg = json_dumps(sj, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(sj);
	char *image = mo->image ? xstrdup(mo->image) : xstrdup("kahu:" PACKAGE_VERSION);
	json_t *container = json_pack(
		"{s:s, s:s, s:s, s:[s,s,s,s], s:[{s:s,s:s,s:b},{s:s,s:s,s:b}], s:s, s:{s:b}}",
		"name", "mover",
		"image", image,
		"imagePullPolicy", "IfNotPresent",
		"args", "mover", m->o.restore ? "restore" : "backup", "--spec", arg,
		"volumeMounts", "name", "data", "mountPath", MOVER_VOLUME_MOUNT, "readOnly", ro,
		"name", "bundle", "mountPath", MOVER_BUNDLE_MOUNT, "readOnly", 1,
		"terminationMessagePolicy", "File",
		"securityContext", "allowPrivilegeEscalation", 0);
	free(arg);
	free(image);
	if (h->resources)
		json_object_set(container, "resources", h->resources);
	json_t *labels = json_pack("{s:s, s:s, s:s}", VOL_LABEL_MANAGED, "kahu", VOL_LABEL_RUN, m->o.run->id,
				   VOL_LABEL_PURPOSE, MOVERS_PURPOSE);
	json_t *pod = json_pack(
		"{s:s, s:s, s:b, s:i, s:I, s:{s:i,s:i}, s:[o], s:[{s:s,s:{s:s,s:b}},{s:s,s:{s:s,s:i}}]}",
		"restartPolicy", "Never",
		"serviceAccountName", m->sa,
		"automountServiceAccountToken", 0,
		"terminationGracePeriodSeconds", 10,
		"activeDeadlineSeconds", (json_int_t)mo->timeout_s,
		"securityContext", "runAsUser", 0, "runAsGroup", 0,
		"containers", container,
		"volumes", "name", "data", "persistentVolumeClaim", "claimName", v->claim, "readOnly", ro,
		"name", "bundle", "secret", "secretName", m->secret, "defaultMode", 0400);
	if (v->node && *v->node)
		json_object_set_new(pod, "nodeName", json_string(v->node));
	else if (v->node_affinity && json_object_get(v->node_affinity, "required"))
		json_object_set_new(pod, "affinity", json_pack("{s:{s:O}}", "nodeAffinity",
			"requiredDuringSchedulingIgnoredDuringExecution",
			json_object_get(v->node_affinity, "required")));
	if (h->node_selector && json_object_size(h->node_selector))
		json_object_set(pod, "nodeSelector", h->node_selector);
	if (h->tolerations && json_array_size(h->tolerations))
		json_object_set(pod, "tolerations", h->tolerations);
	json_t *md = vol_object_meta(m->o.run, MOVERS_PURPOSE, s->job, v->namespace_,
				     (int64_t)time(NULL) + mo->timeout_s + 600);
	json_object_set_new(json_object_get(md, "annotations"), "kahu.io/volume", json_string(v->label));
	return json_pack("{s:s, s:s, s:o, s:{s:i, s:I, s:i, s:{s:{s:o}, s:o}}}",
			 "apiVersion", "batch/v1", "kind", "Job", "metadata", md,
			 "spec", "backoffLimit", 0,
			 "activeDeadlineSeconds", (json_int_t)mo->timeout_s + 120,
			 "ttlSecondsAfterFinished", 3600,
			 "template", "metadata", "labels", labels, "spec", pod);
}

static char *job_path(const char *ns, const char *job)
{
	return xasprintf("/apis/batch/v1/namespaces/%s/jobs/%s", ns, job);
}

/* An attempt ended (the caller holds mu): its Job goes in the poller after this. */
static void slot_end(struct movers *m, struct slot *s, int ok, const char *term, const char *reason)
{
	s->state = SLOT_ENDED;
	s->ok = ok;
	free(s->term);
	free(s->reason);
	s->term = term ? xstrdup(term) : NULL;
	s->reason = reason ? xstrdup(reason) : NULL;
	pthread_cond_broadcast(&m->cv);
}

/* ---- the poller ---- */

struct lists {
	json_t *jobs;                    /* name (ns/name) -> Job */
	json_t *pods;                    /* job-name (ns/name) -> its newest pod */
};

static int job_item(void *ud, json_t *item)
{
	struct lists *l = ud;
	json_t *md = json_object_get(item, "metadata");
	const char *ns = jstr(md, "namespace"), *name = jstr(md, "name");
	if (ns && name) {
		char *k = xasprintf("%s/%s", ns, name);
		json_object_set(l->jobs, k, item);
		free(k);
	}
	return 0;
}

static int pod_item(void *ud, json_t *item)
{
	struct lists *l = ud;
	json_t *md = json_object_get(item, "metadata");
	const char *ns = jstr(md, "namespace"), *job = jstr(json_object_get(md, "labels"), "job-name");
	if (ns && job) {
		char *k = xasprintf("%s/%s", ns, job);
		json_t *old = json_object_get(l->pods, k);
		const char *t0 = old ? jstr(json_object_get(old, "metadata"), "creationTimestamp") : NULL;
		const char *t1 = jstr(md, "creationTimestamp");
		if (!old || (t0 && t1 && strcmp(t1, t0) >= 0))
			json_object_set(l->pods, k, item);
		free(k);
	}
	return 0;
}

/* One LIST of the run's Jobs and one of their pods (across the cluster; in each of the
 * run's namespaces when that is forbidden). */
static int list_round(struct movers *m, struct lists *l)
{
	char *sel = xasprintf(VOL_LABEL_RUN "=%s," VOL_LABEL_PURPOSE "=" MOVERS_PURPOSE, m->o.run->id);
	struct kube_list_opts lo = { .label_selector = sel };
	struct kube_resource jr = JOBS_RES, pr = PODS_RES;
	struct strv nsl = STRV_INIT;
	pthread_mutex_lock(&m->nsmu);
	for (size_t i = 0; i < m->nns; i++)
		strv_push(&nsl, m->nss[i].ns);
	pthread_mutex_unlock(&m->nsmu);
	int rc = kube_list_or_each_ns(m->o.kc, &jr, &lo, (const char *const *)nsl.v, nsl.n, job_item, l, NULL);
	if (rc == 0)
		rc = kube_list_or_each_ns(m->o.kc, &pr, &lo, (const char *const *)nsl.v, nsl.n, pod_item, l, NULL);
	strv_free(&nsl);
	free(sel);
	return rc;
}

/* A pod that cannot start: the container waiting for a reason that does not pass. */
static const char *pod_stuck(json_t *pod)
{
	json_t *cs = json_array_get(json_object_get(json_object_get(pod, "status"), "containerStatuses"), 0);
	json_t *w = json_object_get(json_object_get(cs, "state"), "waiting");
	const char *r = jstr(w, "reason");
	static const char *const stuck[] = { "ErrImagePull", "ImagePullBackOff", "InvalidImageName",
					     "CreateContainerConfigError", "CreateContainerError", NULL };
	for (size_t i = 0; r && stuck[i]; i++)
		if (strcmp(r, stuck[i]) == 0)
			return r;
	return NULL;
}

static json_t *job_failed_cond(json_t *job)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(job, "status"), "conditions"), i, c) {
		const char *t = jstr(c, "type"), *st = jstr(c, "status");
		if (t && st && strcmp(t, "Failed") == 0 && strcmp(st, "True") == 0)
			return c;
	}
	return NULL;
}

/* Read what one round's lists say of an active slot (mu held). */
static void judge(struct movers *m, struct slot *s, struct lists *l)
{
	char *k = xasprintf("%s/%s", s->v->namespace_, s->job);
	json_t *job = json_object_get(l->jobs, k), *pod = json_object_get(l->pods, k);
	free(k);
	if (!job) {
		if (s->seen || ++s->unseen > UNSEEN_ROUNDS)
			slot_end(m, s, 0, NULL, s->seen ? "its Job was deleted by someone else" :
				 "its Job does not appear in the list of the run's Jobs");
		return;
	}
	s->seen = 1;
	const char *pname = jstr(json_object_get(pod, "metadata"), "name");
	if (pname && (!s->pod || strcmp(s->pod, pname) != 0)) {
		free(s->pod);
		s->pod = xstrdup(pname);
	}
	const char *phase = jstr(json_object_get(pod, "status"), "phase");
	if (phase && strcmp(phase, "Succeeded") == 0) {
		json_t *cs = json_array_get(json_object_get(json_object_get(pod, "status"), "containerStatuses"), 0);
		const char *msg = jstr(json_object_get(json_object_get(cs, "state"), "terminated"), "message");
		slot_end(m, s, 1, msg ? msg : "", NULL);
		return;
	}
	if (phase && strcmp(phase, "Failed") == 0) {
		char *why = movers_pod_reason(pod);
		slot_end(m, s, 0, NULL, why);
		free(why);
		return;
	}
	json_t *fc = job_failed_cond(job);
	if (fc) {
		char *why = xasprintf("Job failed: %s%s%s", jstr(fc, "reason") ? jstr(fc, "reason") : "Failed",
				      jstr(fc, "message") ? ": " : "", jstr(fc, "message") ? jstr(fc, "message") : "");
		char *one = one_line(why, 1024);
		slot_end(m, s, 0, NULL, one);
		free(one);
		free(why);
		return;
	}
	if (phase && strcmp(phase, "Running") == 0 && !s->running) {
		s->running = 1;
		s->next_log = mono_now() + LOG_EVERY_S;
		const char *node = jstr(json_object_get(pod, "spec"), "nodeName");
		free(s->where);
		s->where = node ? xstrdup(node) : NULL;
		pthread_cond_broadcast(&m->cv);
	}
	const char *stuck = pod ? pod_stuck(pod) : NULL;
	if (stuck && ++s->stuck > STUCK_ROUNDS) {
		json_t *cs = json_array_get(json_object_get(json_object_get(pod, "status"), "containerStatuses"), 0);
		const char *wm = jstr(json_object_get(json_object_get(cs, "state"), "waiting"), "message");
		char *why = xasprintf("its pod cannot start: %s%s%s", stuck, wm ? ": " : "", wm ? wm : "");
		char *one = one_line(why, 1024);
		slot_end(m, s, 0, NULL, one);
		free(one);
		free(why);
	} else if (!stuck) {
		s->stuck = 0;
	}
}

/* Start the queued attempts that fit: at most per_node active on a node (mu held;
 * released while Jobs are created). */
static void start_queued(struct movers *m)
{
	long per = m->o.vol->mover.per_node;
	for (struct slot *s = m->slots; s && !m->stop; s = s->next) {
		if (s->state != SLOT_QUEUED)
			continue;
		long busy = 0;
		for (struct slot *t = m->slots; t; t = t->next)
			if ((t->state == SLOT_STARTING || t->state == SLOT_ACTIVE) && strcmp(t->node, s->node) == 0)
				busy++;
		if (busy >= per)
			continue;
		s->state = SLOT_STARTING;
		s->tries++;
		s->seen = s->unseen = s->stuck = s->running = s->announced = 0;
		free(s->pod);
		s->pod = NULL;
		s->live_bytes = s->live_files = 0;
		free(s->spec->attempt);
		s->spec->attempt = xasprintf("%s-%u-%u", m->rnd, ++m->seq, s->tries);
		free(s->job);
		s->job = xasprintf("kahu-mover-%s", s->spec->attempt);
		json_t *job = job_spec(m, s);
		char *coll = xasprintf("/apis/batch/v1/namespaces/%s/jobs", s->v->namespace_);
		pthread_mutex_unlock(&m->mu);
		int rc = vol_tracker_create(m->o.vt, coll, job, NULL);
		char *why = rc < 0 ? xasprintf("its Job could not be created: %s", kahu_error_last()) : NULL;
		pthread_mutex_lock(&m->mu);
		free(coll);
		json_decref(job);
		if (rc < 0)
			slot_end(m, s, 0, NULL, why);
		else {
			s->state = SLOT_ACTIVE;
			log_info("volume %s: mover Job %s/%s created (attempt %u%s%s)", s->v->label,
				 s->v->namespace_, s->job, s->tries, *s->node ? ", node " : "", s->node);
		}
		free(why);
	}
}

static void *poller(void *ud)
{
	struct movers *m = ud;
	pthread_mutex_lock(&m->mu);
	while (!m->stop && !kahu_cancelled()) {
		start_queued(m);
		int active = 0;
		for (struct slot *s = m->slots; s; s = s->next)
			if (s->state == SLOT_ACTIVE)
				active++;
		if (!active) {
			/* nothing to watch: sleep until a volume comes */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&m->cv, &m->mu, &ts);
			continue;
		}
		pthread_mutex_unlock(&m->mu);
		struct lists l = { json_object(), json_object() };
		int rc = list_round(m, &l);
		char *why = rc < 0 ? xstrdup(kahu_error_last()) : NULL;
		pthread_mutex_lock(&m->mu);
		m->rounds++;
		if (rc == KAHU_EINTR) {
			free(why);
			json_decref(l.jobs);
			json_decref(l.pods);
			break;
		}
		if (rc < 0)
			log_warn("data movers: listing the run's Jobs failed (%s); trying again", why);
		else
			for (struct slot *s = m->slots; s; s = s->next)
				if (s->state == SLOT_ACTIVE)
					judge(m, s, &l);
		free(why);
		json_decref(l.jobs);
		json_decref(l.pods);
		/* ended attempts: their Jobs go now (pods with them) */
		struct strv gone = STRV_INIT;
		for (struct slot *s = m->slots; s; s = s->next)
			if (s->state == SLOT_ENDED && s->job) {
				strv_push_owned(&gone, job_path(s->v->namespace_, s->job));
				free(s->job);
				s->job = NULL;
			}
		if (gone.n) {
			pthread_mutex_unlock(&m->mu);
			for (size_t i = 0; i < gone.n; i++)
				if (vol_tracker_delete(m->o.vt, gone.v[i]) < 0)
					log_warn("cannot remove %s: %s (the run's end tries again)", gone.v[i],
						 kahu_error_last());
			pthread_mutex_lock(&m->mu);
		}
		strv_free(&gone);
		pthread_mutex_unlock(&m->mu);
		kahu_cancel_sleep(MOVERS_POLL_MS);
		pthread_mutex_lock(&m->mu);
	}
	m->stop = 1;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

/* ---- live progress: the log reader ----
 *
 * A thread of its own, so a slow or failing read never delays the poller's decisions.
 * Once a second it takes the running movers whose volume has a progress callback and
 * whose log is due (LOG_EVERY_S after it was started or last read), those due longest
 * first, at most LOG_BUDGET, reads the tail of each one's log (tailLines, limitBytes),
 * and leaves the newest progress line's counts in the slot for the volume's thread,
 * which reports them.  A 403 (no `get` on pods/log) ends it for the run with one
 * warning; any other error is only logged at -vv and the pod is read again later. */

struct log_due {
	char *ns, *pod, *job;
};

static int log_stop(void *ud)
{
	struct movers *m = ud;
	return __atomic_load_n(&m->stop, __ATOMIC_RELAXED);
}

static void *log_reader(void *ud)
{
	struct movers *m = ud;
	struct log_due due[LOG_BUDGET];
	pthread_mutex_lock(&m->mu);
	while (!m->stop && !m->logs_off && !kahu_cancelled()) {
		double t = mono_now();
		size_t n = 0, ne = 0;
		for (struct slot *s = m->slots; s; s = s->next)
			ne++;
		struct slot **el = xcalloc(ne ? ne : 1, sizeof *el);
		double *next = xcalloc(ne ? ne : 1, sizeof *next);
		ne = 0;
		for (struct slot *s = m->slots; s; s = s->next)
			if (s->state == SLOT_ACTIVE && s->running && s->pod && s->job && s->v->progress) {
				el[ne] = s;
				next[ne++] = s->next_log;
			}
		size_t pick[LOG_BUDGET];
		n = movers_log_pick(next, ne, t, LOG_BUDGET, pick);
		for (size_t i = 0; i < n; i++) {
			struct slot *s = el[pick[i]];
			s->next_log = t + LOG_EVERY_S;
			due[i].ns = xstrdup(s->v->namespace_);
			due[i].pod = xstrdup(s->pod);
			due[i].job = xstrdup(s->job);
		}
		free(el);
		free(next);
		pthread_mutex_unlock(&m->mu);
		for (size_t i = 0; i < n; i++) {
			struct kbuf b = KBUF_INIT;
			struct kube_log_tail lt = { .container = "mover", .tail_lines = LOG_TAIL_LINES,
						    .limit_bytes = LOG_LIMIT_BYTES, .flags = KUBE_REQ_NO_RETRY,
						    .cancelled = log_stop, .ud = m };
			/* logs_off is written by this thread alone */
			int asked = !m->logs_off;
			int rc = asked ? kube_pod_log_tail(m->o.kc, due[i].ns, due[i].pod, &lt, &b) : 0;
			struct mover_progress p;
			int got = asked && rc == 0 && mover_progress_parse(b.data, b.len, &p);
			char *why = rc < 0 ? xstrdup(kahu_error_last()) : NULL;
			kbuf_free(&b);
			pthread_mutex_lock(&m->mu);
			m->log_reads += asked;
			if (rc == KAHU_EFORBIDDEN) {
				m->logs_off = 1;
				log_warn("data movers: their logs cannot be read (%s); each volume's progress is "
					 "shown at its start and end only (live progress needs get on pods/log)", why);
			} else if (rc < 0 && rc != KAHU_EINTR) {
				log_debug("data movers: the log of pod %s/%s: %s", due[i].ns, due[i].pod, why);
			}
			for (struct slot *s = m->slots; got && s; s = s->next)
				if (s->state == SLOT_ACTIVE && s->job && strcmp(s->job, due[i].job) == 0) {
					/* newer only: counts never go back within an attempt */
					if (p.bytes >= s->live_bytes && p.entries >= s->live_files &&
					    (p.bytes > s->live_bytes || p.entries > s->live_files)) {
						s->live_bytes = p.bytes;
						s->live_files = p.entries;
						s->live_seq++;
						pthread_cond_broadcast(&m->cv);
					}
					break;
				}
			pthread_mutex_unlock(&m->mu);
			free(why);
			free(due[i].ns);
			free(due[i].pod);
			free(due[i].job);
		}
		pthread_mutex_lock(&m->mu);
		/* a second from the round's start (m->cv wakes for other reasons too) */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		double left = t + 1.0 - mono_now();
		if (left > 0) {
			long ns = (long)(left * 1e9);
			ts.tv_sec += ns / 1000000000L;
			ts.tv_nsec += ns % 1000000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			while (!m->stop && !kahu_cancelled() &&
			       pthread_cond_timedwait(&m->cv, &m->mu, &ts) != ETIMEDOUT)
				;
		}
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

/* ---- a volume ---- */

struct rm_list {
	struct strv keys;
};

static int rm_collect(void *ud, const char *key, const struct store_stat *st)
{
	struct rm_list *r = ud;
	(void)st;
	strv_push(&r->keys, key);
	return 0;
}

/* What the attempts of a failed volume wrote: backups/<name>/volumes/<vid>/ and its
 * result objects.  The caller's error is kept. */
static void remove_written(struct kahu_store *st, const struct mover_spec *spec)
{
	struct kahu_error_state es;
	kahu_error_capture(&es);
	struct rm_list r = { STRV_INIT };
	char *p1 = xasprintf(LAYOUT_BACKUPS "%s/volumes/%s/", spec->backup, spec->vid);
	char *p2 = xasprintf(LAYOUT_BACKUPS "%s/movers/%s-", spec->backup, spec->vid);
	kahu_cancel_shield(1);
	if (store_list(st, p1, rm_collect, &r) < 0 || store_list(st, p2, rm_collect, &r) < 0)
		log_warn("volume %s: what its movers wrote could not be listed (%s); backup prune or a "
			 "backup delete removes it", spec->label, kahu_error_last());
	for (size_t i = 0; i < r.keys.n; i++)
		if (store_remove(st, r.keys.v[i]) < 0 && kahu_error_code() != KAHU_ENOTFOUND)
			log_warn("cannot remove %s: %s", r.keys.v[i], kahu_error_last());
	kahu_cancel_shield(0);
	if (r.keys.n)
		log_info("volume %s: removed the %zu object%s its failed movers wrote", spec->label, r.keys.n,
			 r.keys.n == 1 ? "" : "s");
	strv_free(&r.keys);
	free(p1);
	free(p2);
	kahu_error_restore(&es);
}

static void slot_unlink(struct movers *m, struct slot *s)
{
	for (struct slot **pp = &m->slots; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	free(s->node);
	free(s->job);
	free(s->where);
	free(s->pod);
	free(s->term);
	free(s->reason);
	free(s);
}

/* Run attempts until one succeeds (its termination message, allocated, in *term) or
 * every attempt failed (KAHU_EFAIL with the reasons).  `st`: where a failed backup
 * attempt's objects are removed (NULL: a restore). */
static int run_attempts(struct movers *m, struct kahu_store *st, const struct movers_volume *v,
			struct mover_spec *spec, char **term)
{
	*term = NULL;
	int rc = ns_setup(m, v->namespace_);
	if (rc < 0)
		return rc;
	struct slot *s = xcalloc(1, sizeof *s);
	s->v = v;
	s->spec = spec;
	s->node = xstrdup(movers_node_key(v->node, v->node_affinity));
	unsigned max = (unsigned)m->o.vol->mover.retries + 1;
	pthread_mutex_lock(&m->mu);
	struct slot **tail = &m->slots;
	while (*tail)
		tail = &(*tail)->next;
	*tail = s;
	if (v->progress && !m->log_started && !m->stop) {
		if (pthread_create(&m->log_th, NULL, log_reader, m) == 0)
			m->log_started = 1;
		else
			log_warn("data movers: cannot start the thread that reads their progress; each "
				 "volume's progress is shown at its start and end only");
	}
	unsigned shown = 0;
	pthread_cond_broadcast(&m->cv);
	for (;;) {
		while (s->state != SLOT_ENDED && !m->stop && !kahu_cancelled()) {
			if (v->progress && s->live_seq != shown) {
				shown = s->live_seq;
				uint64_t bytes = s->live_bytes, files = s->live_files;
				pthread_mutex_unlock(&m->mu);
				log_info("volume %s: %" PRIu64 " bytes %s, %" PRIu64 " entries so far (its mover's log)",
					 v->label, bytes, m->o.restore ? "written" : "read", files);
				v->progress(v->progress_ud, bytes, files);
				pthread_mutex_lock(&m->mu);
				continue;
			}
			if (s->running && !s->announced) {
				s->announced = 1;
				log_info("volume %s: mover %s running%s%s", v->label, s->job,
					 s->where ? " on node " : "", s->where ? s->where : "");
				if (v->progress) {
					pthread_mutex_unlock(&m->mu);
					v->progress(v->progress_ud, 0, 0);
					pthread_mutex_lock(&m->mu);
					continue;
				}
			}
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&m->cv, &m->mu, &ts);
		}
		if (s->state != SLOT_ENDED) {
			rc = kahu_error_set(KAHU_EINTR, "volume %s: interrupted while its mover ran", v->label);
			break;
		}
		if (s->ok) {
			*term = xstrdup(s->term);
			rc = 0;
			break;
		}
		char *why = xstrdup(s->reason ? s->reason : "failed");
		unsigned tries = s->tries;
		pthread_mutex_unlock(&m->mu);
		if (st)
			remove_written(st, spec);
		pthread_mutex_lock(&m->mu);
		if (tries >= max) {
			rc = kahu_error_set(KAHU_EFAIL, "its mover failed%s: %s", max > 1 ? " on every attempt" : "", why);
			free(why);
			break;
		}
		log_warn("volume %s: mover attempt %u of %u failed: %s; trying again", v->label, tries, max, why);
		free(why);
		s->state = SLOT_QUEUED;
		pthread_cond_broadcast(&m->cv);
	}
	slot_unlink(m, s);
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

int movers_backup_volume(struct movers *m, struct kahu_store *st, const struct movers_volume *v,
			 struct mover_spec *spec, struct vol_backup_result *out)
{
	char *term = NULL;
	memset(out, 0, sizeof *out);
	int rc = run_attempts(m, st, v, spec, &term);
	if (rc == 0) {
		rc = mover_result_read(st, m->o.key, spec, term, out);
		if (rc < 0) {
			kahu_error_wrap(rc, "what its mover reported does not hold");
			remove_written(st, spec);
		} else if (v->progress) {
			v->progress(v->progress_ud, out->counts.bytes_read, out->counts.files);
		}
	}
	free(term);
	if (rc < 0 && !out->reason)
		out->reason = xstrdup(kahu_error_last());
	return rc;
}

int movers_restore_volume(struct movers *m, const struct movers_volume *v, struct mover_spec *spec,
			  struct vol_restore_result *out)
{
	char *term = NULL;
	memset(out, 0, sizeof *out);
	int rc = run_attempts(m, NULL, v, spec, &term);
	if (rc == 0) {
		rc = mover_restore_result_parse(term, out);
		if (rc < 0)
			kahu_error_wrap(rc, "what its mover reported cannot be read");
		else if (v->progress)
			v->progress(v->progress_ud, out->bytes, out->files);
	}
	free(term);
	return rc;
}

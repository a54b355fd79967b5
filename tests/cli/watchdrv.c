/* kahu — test driver for tests/cli/t-watch.sh: watches types through kube/watch.h and
 * feeds the changes to the debounce decision (engine/debounce.h), printing one line per
 * event and per decision on stdout:
 *
 *   watchdrv [-k KUBECONFIG] [-q QUIET_MS] [-m MAX_MS] [-r RUN_MS] [-t TIMEOUT_S] [-o] TARGET...
 *     TARGET: GROUPVERSION,RESOURCE,namespaced|cluster[,NAMESPACE[,LABELSELECTOR]]
 *             e.g. v1,configmaps,namespaced,ns1   apps/v1,deployments,namespaced
 *
 *   SYNCED RESOURCE COUNT RV                 the first list of a type
 *   ADDED|MODIFIED|DELETED RESOURCE NS/NAME RV [relisted] [bytes=N with -o]
 *   RELIST RESOURCE MESSAGE                  after a 410
 *   RESUMED RESOURCE MESSAGE                 a broken watch opened again
 *   START N changes=C                        the debounce started backup N (covering C
 *                                            changes); it "runs" RUN_MS (default 0)
 *   DONE N
 *
 * Runs until SIGTERM/SIGINT (exit 0) or a watch fails for good (exit 1, the message on
 * stderr). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/debounce.h"
#include "kube/kubeconfig.h"
#include "kube/watch.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct debounce deb;
static long changes;        /* changes since the last start */
static atomic_int watch_done;
static int watch_rc;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int on_event(void *ud, const struct kube_watch_event *ev)
{
	(void)ud;
	const char *res = ev->target->resource;
	switch (ev->type) {
	case KUBE_WEV_SYNCED:
		printf("SYNCED %s %ld %s\n", res, ev->count, ev->resource_version ? ev->resource_version : "");
		break;
	case KUBE_WEV_RELIST:
	case KUBE_WEV_RESUMED:
		printf("%s %s %s\n", kube_wtype_name(ev->type), res, ev->message ? ev->message : "");
		break;
	default: {
		char extra[64] = "";
		if (ev->object) {
			char *s = json_dumps(ev->object, JSON_COMPACT);
			snprintf(extra, sizeof extra, " bytes=%zu", s ? strlen(s) : 0);
			free(s);
		}
		printf("%s %s %s/%s %s%s%s\n", kube_wtype_name(ev->type), res, ev->ns, ev->name,
		       ev->resource_version, ev->relisted ? " relisted" : "", extra);
		pthread_mutex_lock(&mu);
		debounce_change(&deb, now_ms());
		changes++;
		pthread_mutex_unlock(&mu);
		break;
	}
	}
	return 0;
}

struct run {
	struct kube_config *cfg;
	struct kube_watch_target *t;
	size_t n;
	struct kube_watch_opts o;
};

static void *watcher(void *arg)
{
	struct run *r = arg;
	watch_rc = kube_watch_run(r->cfg, r->t, r->n, &r->o, on_event, NULL);
	if (watch_rc < 0 && !(watch_rc == KAHU_EINTR && kahu_cancelled()))
		fprintf(stderr, "watchdrv: %s\n", kahu_error_last());
	atomic_store(&watch_done, 1);
	kahu_cancel(SIGTERM); /* wakes the ticker */
	return NULL;
}

static void on_signal(int sig)
{
	kahu_cancel(sig);
}

int main(int argc, char **argv)
{
	struct kube_load_opts lo = { 0 };
	long quiet = 60000, max = 0, run_ms = 0;
	struct run r = { .o = { .backoff_base_ms = 200, .backoff_cap_ms = 2000 } };
	int c;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt(argc, argv, "k:q:m:r:t:ov")) != -1) {
		switch (c) {
		case 'k': lo.kubeconfig = optarg; break;
		case 'q': quiet = atol(optarg); break;
		case 'm': max = atol(optarg); break;
		case 'r': run_ms = atol(optarg); break;
		case 't': r.o.timeout_s = atol(optarg); break;
		case 'o': r.o.want_objects = 1; break;
		case 'v': kahu_log_set_level(kahu_log_get_level() + 1); break;
		default: return 64;
		}
	}
	if (optind >= argc)
		return fprintf(stderr, "usage: watchdrv [-k KUBECONFIG] [-q MS] [-m MS] [-r MS] [-t S] [-o] "
				       "GV,RESOURCE,namespaced|cluster[,NS[,SELECTOR]]...\n"), 64;
	r.n = (size_t)(argc - optind);
	r.t = calloc(r.n, sizeof *r.t);
	char **texts = calloc(r.n, sizeof *texts);
	for (size_t i = 0; i < r.n; i++) {
		char *f[5] = { 0 };
		char *s = texts[i] = strdup(argv[optind + (int)i]), *save = NULL;
		int k = 0;
		for (char *p = strtok_r(s, ",", &save); p && k < 5; p = strtok_r(NULL, ",", &save))
			f[k++] = p;
		if (k < 3)
			return fprintf(stderr, "watchdrv: bad target %s\n", argv[optind + (int)i]), 64;
		char *slash = strchr(f[0], '/');
		if (slash) {
			*slash = 0;
			r.t[i].group = f[0];
			r.t[i].version = slash + 1;
		} else {
			r.t[i].group = "";
			r.t[i].version = f[0];
		}
		r.t[i].resource = f[1];
		r.t[i].namespaced = !strcmp(f[2], "namespaced");
		r.t[i].namespace = f[3] && *f[3] ? f[3] : NULL;
		r.t[i].label_selector = f[4];
	}
	if (kahu_cancel_init() < 0)
		return fprintf(stderr, "watchdrv: %s\n", kahu_error_last()), 1;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (kube_config_load(&lo, &r.cfg) < 0) {
		fprintf(stderr, "watchdrv: %s\n", kahu_error_last());
		for (size_t i = 0; i < r.n; i++)
			free(texts[i]);
		free(texts);
		free(r.t);
		return 1;
	}
	debounce_init(&deb, quiet, max);
	pthread_t th;
	if (pthread_create(&th, NULL, watcher, &r))
		return fprintf(stderr, "watchdrv: cannot start\n"), 1;
	int64_t run_end = 0;
	while (!kahu_cancelled()) {
		pthread_mutex_lock(&mu);
		int64_t now = now_ms();
		if (deb.running && now >= run_end) {
			debounce_finished(&deb, now);
			printf("DONE %ld\n", deb.runs);
		}
		if (debounce_due(&deb, now)) {
			debounce_started(&deb, now);
			printf("START %ld changes=%ld\n", deb.runs, changes);
			changes = 0;
			run_end = now + run_ms;
		}
		pthread_mutex_unlock(&mu);
		kahu_cancel_sleep(20);
	}
	pthread_join(th, NULL);
	kube_config_free(r.cfg);
	free(r.t);
	for (size_t i = 0; i < r.n; i++)
		free(texts[i]);
	free(texts);
	return watch_rc < 0 && !(watch_rc == KAHU_EINTR) ? 1 : 0;
}

#include "engine/multi.h"

#include "store/layout.h"
#include "store/lock.h"
#include "store/repo.h"
#include "store/store.h"
#include "store/volloc.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/pool.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int multi_backup_name(const char *base, const char *context, char **out)
{
	struct kbuf b = KBUF_INIT;
	*out = NULL;
	kbuf_adds(&b, base);
	kbuf_addc(&b, '-');
	size_t start = b.len;
	for (const unsigned char *p = (const unsigned char *)context; *p; p++) {
		char c = (char)*p;
		if (*p >= 'A' && *p <= 'Z')
			c = (char)(*p - 'A' + 'a');
		else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			c = '-';
		if (c == '-' && (b.len == start || kbuf_str(&b)[b.len - 1] == '-'))
			continue;   /* no leading '-', no runs of them */
		kbuf_addc(&b, c);
	}
	char *name = kbuf_detach(&b);
	size_t n = strlen(name);
	while (n > start && (name[n - 1] == '-' || name[n - 1] == '.'))
		name[--n] = '\0';
	size_t lead = start;
	while (lead < n && name[lead] == '.')
		lead++;
	memmove(name + start, name + lead, n - lead + 1);
	if (name[start] == '\0') {
		free(name);
		return kahu_error_set(KAHU_EUSAGE, "context \"%s\" gives no backup name: it has no letter "
				      "or digit", context);
	}
	if (layout_name_check(name) < 0) {
		int rc = kahu_error_wrap(KAHU_EUSAGE, "context \"%s\"", context);
		free(name);
		return rc;
	}
	*out = name;
	return 0;
}

void multi_backup_clear(struct multi_backup *m)
{
	free(m->error);
	m->error = NULL;
	backup_run_result_free(&m->res);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One cluster's backup, on a pool thread, in a log scope of its own. */
static int run_one(void *ud, size_t i)
{
	struct multi_backup *m = (struct multi_backup *)ud + i;
	struct kahu_log_scope *sc = kahu_log_scope_new(m->context);
	kahu_log_scope_enter(sc);
	m->started = 1;
	int64_t t0 = now_ms();
	log_info("backup %s of context %s started", m->rs.name, m->context);
	m->rc = backup_run(&m->rs, &m->res);
	m->duration_ms = now_ms() - t0;
	if (m->rc < 0)
		m->error = xstrdup(kahu_error_last());
	if (m->rs.dry_run && m->res.have_outcome)
		m->status = "Planned";
	else if (m->res.have_outcome)
		m->status = m->res.out.status;
	else
		m->status = m->rc == KAHU_EINTR ? "Interrupted" : "Failed";
	size_t k;
	json_t *v;
	json_array_foreach(m->res.volumes, k, v)
		m->volume_bytes += (uint64_t)json_integer_value(json_object_get(v, "bytesRead"));
	if (m->rc < 0)
		log_error("%s", m->error);
	else
		log_info("backup %s: %s", m->rs.name, m->status);
	kahu_log_scope_enter(NULL);
	kahu_log_scope_free(sc);   /* the run's own threads have ended */
	kahu_error_clear();
	return 0;
}

/* Before any backup starts: the location opened and keyed once (a key generated once),
 * locked, cleared of killed runs' uploads, every name checked free; the volume
 * location, when one is named, locked too. */
static int prepare(struct multi_backup *runs, size_t n, const struct run_repo *rr, const char *purpose,
		   struct repo **repo, struct store_lock **lock, struct repo **vrepo,
		   struct store_lock **vlock)
{
	const struct backup_run_spec *b = &runs[0].rs;
	const struct kahu_key *key = NULL;
	int rc;
	if ((rc = run_open_repo(rr, !b->no_encryption, repo)) < 0 ||
	    (rc = repo_check_writable(*repo)) < 0 ||
	    (rc = config_check_provider_active(repo_config(*repo), repo_location(*repo))) < 0)
		return rc;
	if (!b->no_encryption && !repo_location(*repo)->no_encryption &&
	    ((rc = repo_key(*repo, &key)) < 0 || (rc = repo_init_if_needed(*repo, key)) < 0))
		return rc;
	if ((rc = run_lock(rr, *repo, purpose, lock)) < 0)
		return rc;
	unsigned int temps = 0;
	if ((rc = store_cleanup(repo_store(*repo), LAYOUT_BACKUPS, &temps)) < 0)
		return rc;
	if (temps)
		log_info("removed %u unfinished upload%s of interrupted runs", temps, temps == 1 ? "" : "s");
	const char *loc = repo_location(*repo)->name;
	for (size_t i = 0; i < n; i++) {
		int state = repo_backup_exists(*repo, runs[i].rs.name);
		if (state == REPO_BACKUP_COMPLETE || state == REPO_BACKUP_VOLUME_DATA)
			return kahu_error_set(KAHU_EEXIST, "backup %s (context %s) %s on location %s; choose "
					      "another name: no backup was made", runs[i].rs.name,
					      runs[i].context, state == REPO_BACKUP_COMPLETE ? "already exists" :
					      "is taken by the volume data of another location's backup", loc);
		if (state < 0)
			return state;
	}
	const char *vl = b->volume_location;
	if (vl && strcmp(vl, loc) != 0 &&
	    ((rc = volloc_open(*repo, vl, b->name, vrepo)) < 0 ||
	     (rc = repo_check_writable(*vrepo)) < 0 ||
	     (rc = config_check_provider_active(repo_config(*vrepo), repo_location(*vrepo))) < 0 ||
	     (rc = run_lock(rr, *vrepo, purpose, vlock)) < 0))
		return rc;
	return 0;
}

/* The overall result and its message from each run's. */
static int verdict(struct multi_backup *runs, size_t n)
{
	size_t completed = 0, partial = 0, notrun = 0;
	int common = 0, mixed = 0;
	struct kbuf why = KBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		struct multi_backup *m = &runs[i];
		if (!m->started) {
			m->status = "NotStarted";
			notrun++;
			continue;
		}
		if (m->rc == 0) {
			completed++;
			continue;
		}
		if (m->rc == KAHU_EPARTIAL)
			partial++;
		if (!common)
			common = m->rc;
		else if (common != m->rc)
			mixed = 1;
		kbuf_addf(&why, "%s%s (%s)", why.len ? ", " : "", m->context, m->status);
	}
	if (notrun)
		kbuf_addf(&why, "%s%zu not started", why.len ? "; " : "", notrun);
	int rc;
	if (completed == n)
		rc = 0;
	else if (kahu_cancelled())
		rc = KAHU_EINTR;
	else if (completed || partial)
		rc = KAHU_EPARTIAL;
	else
		rc = mixed || !common ? KAHU_EFAIL : common;
	if (rc < 0)
		kahu_error_set(rc, "%s%zu of %zu cluster backups completed; not completed: %s",
			       rc == KAHU_EINTR ? "interrupted: " : "", completed, n, kbuf_str(&why));
	kbuf_free(&why);
	return rc;
}

int backup_run_multi(struct multi_backup *runs, size_t n, int parallel, const struct run_repo *rr,
		     const char *purpose)
{
	struct repo *repo = NULL, *vrepo = NULL;
	struct store_lock *lock = NULL, *vlock = NULL;
	int rc = 0;
	if (n == 0)
		return kahu_error_set(KAHU_EUSAGE, "no cluster to back up");
	int dry = runs[0].rs.dry_run;
	if (!dry && (rc = prepare(runs, n, rr, purpose, &repo, &lock, &vrepo, &vlock)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		runs[i].rs.location_locked = !dry;
		runs[i].status = "NotStarted";
	}
	/* Each job records its own result; the pool only bounds how many run at once and
	 * stops handing them out when the run is interrupted. */
	kahu_pool_run(n, parallel > 0 ? (unsigned)parallel : 1, KAHU_POOL_KEEP_GOING, run_one, runs);
	rc = verdict(runs, n);
out:
	if (vlock && repo_unlock(vlock) < 0 && rc == 0)
		rc = kahu_error_code();
	repo_close(vrepo);
	if (lock && repo_unlock(lock) < 0 && rc == 0)
		rc = kahu_error_code();
	repo_close(repo);
	return rc;
}

#include "engine/parent.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "archive/manifest.h"
#include "engine/bread.h"
#include "store/layout.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

struct manifest *backup_trusted_manifest(const struct repo_backup *b, const struct kahu_key *key,
					 char **why)
{
	struct manifest *m = NULL;
	*why = NULL;
	if (!b->m) {
		*why = xstrdup(b->problem ? b->problem : "its manifest cannot be read");
		return NULL;
	}
	/* The text as stored, parsed again and authenticated: what is acted on is exactly
	 * what the MAC covers. */
	int rc = manifest_load(b->m->text, b->m->text_len, key, &m);
	if (rc < 0) {
		*why = xstrdup(kahu_error_last());
		kahu_error_clear();
		return NULL;
	}
	if (strcmp(m->name, b->name) != 0) {
		/* Authentic, but another backup's, copied over this one's. */
		char *path = layout_backup_manifest(b->name);
		*why = xasprintf("%s is the manifest of backup %s", path, m->name);
		free(path);
		manifest_free(m);
		return NULL;
	}
	return m;
}

long parent_choose(const struct parent_candidate *v, size_t n, const char *scope_digest,
		   int want_full)
{
	long best = -1;
	int64_t best_time = 0;
	for (size_t i = 0; i < n; i++) {
		const struct parent_candidate *c = &v[i];
		if (c->failed || !c->scope_digest || strcmp(c->scope_digest, scope_digest) != 0 ||
		    (want_full && !c->full))
			continue;
		if (c->completed >= best_time) {
			best = (long)i;
			best_time = c->completed;
		}
	}
	return best;
}

/* The authenticated candidates, with what each chain starts from. */
struct parent_list {
	const char *scope_digest;
	const char *name;          /* the backup being created */
	const struct manifest_cluster *cluster; /* only its backups, when not NULL */
	const struct kahu_key *key;
	struct parent_candidate *v;
	char **base;               /* per candidate: the full backup its chain starts from */
	size_t n, cap;
};

static int collect_cb(void *ud, const struct repo_backup *b)
{
	struct parent_list *pl = ud;
	char *why = NULL;
	if (!b->complete || !b->m || strcmp(b->name, pl->name) == 0 ||
	    strcmp(b->m->scope_digest, pl->scope_digest) != 0)
		return 0;
	/* Of the same scope: what it says about itself counts once authenticated. */
	struct manifest *m = backup_trusted_manifest(b, pl->key, &why);
	if (!m) {
		log_warn("backup %s is not considered as a parent: %s", b->name, why);
		free(why);
		return 0;
	}
	/* a backup written before manifests named their cluster (no server) is taken as
	 * of any cluster, as it always was */
	if (pl->cluster && m->cluster.server && !manifest_cluster_same(&m->cluster, pl->cluster)) {
		log_debug("backup %s is not considered as a parent: it is of another cluster (%s)", b->name,
			  m->cluster.server ? m->cluster.server : "unknown");
		manifest_free(m);
		return 0;
	}
	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 16;
		pl->v = xrealloc(pl->v, pl->cap * sizeof *pl->v);
		pl->base = xrealloc(pl->base, pl->cap * sizeof *pl->base);
	}
	struct parent_candidate *c = &pl->v[pl->n];
	c->name = xstrdup(b->name);
	c->scope_digest = xstrdup(m->scope_digest);
	c->failed = m->status == MANIFEST_FAILED;
	c->full = m->type == MANIFEST_FULL;
	c->completed = (int64_t)m->completed;
	pl->base[pl->n] = m->type == MANIFEST_FULL || !m->base ? xstrdup(b->name) : xstrdup(m->base);
	pl->n++;
	manifest_free(m);
	return 0;
}

static void parent_list_free(struct parent_list *pl)
{
	for (size_t i = 0; i < pl->n; i++) {
		free((char *)pl->v[i].name);
		free((char *)pl->v[i].scope_digest);
		free(pl->base[i]);
	}
	free(pl->v);
	free(pl->base);
}

int parent_resolve(struct repo *repo, const struct kahu_key *key, const char *name,
		   const char *explicit_parent, enum backup_kind kind, const char *digest,
		   char **parent, char **full)
{
	return parent_resolve_in_cluster(repo, key, name, explicit_parent, kind, digest, NULL, parent,
					 full);
}

int parent_resolve_in_cluster(struct repo *repo, const struct kahu_key *key, const char *name,
			      const char *explicit_parent, enum backup_kind kind, const char *digest,
			      const struct manifest_cluster *cluster, char **parent, char **full)
{
	int rc;
	if (explicit_parent) {
		struct manifest *m;
		if ((rc = backup_read_manifest(repo, explicit_parent, 1, &m)) < 0)
			return kahu_error_wrap(rc, "--parent %s", explicit_parent);
		if (m->status == MANIFEST_FAILED) {
			manifest_free(m);
			return kahu_error_set(KAHU_EUSAGE, "--parent %s: that backup is Failed (no resource type "
					      "could be backed up), there is nothing to build on; name another one",
					      explicit_parent);
		}
		*parent = xstrdup(explicit_parent);
		*full = xstrdup(m->base ? m->base : explicit_parent);
		manifest_free(m);
		return 0;
	}
	struct parent_list pl = { .scope_digest = digest, .name = name, .key = key, .cluster = cluster };
	if ((rc = repo_list_backups(repo, collect_cb, &pl)) < 0) {
		parent_list_free(&pl);
		return rc;
	}
	long i = parent_choose(pl.v, pl.n, digest, kind == BACKUP_DIFFERENTIAL);
	if (i < 0) {
		parent_list_free(&pl);
		return kahu_error_set(KAHU_ENOTFOUND,
				      "no completed %sbackup of the same scope%s on this location to base a%s %s backup on; "
				      "create a full backup first (or name one with --parent)",
				      kind == BACKUP_DIFFERENTIAL ? "full " : "", cluster ? " of this cluster" : "",
				      kind == BACKUP_INCREMENTAL ? "n" : "",
				      kind == BACKUP_INCREMENTAL ? "incremental" : "differential");
	}
	*parent = xstrdup(pl.v[i].name);
	*full = xstrdup(pl.base[i]);
	parent_list_free(&pl);
	return 0;
}

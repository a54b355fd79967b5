/* kahu — the restore engine (see restore.h). */
#include "engine/restore.h"
#include "archive/key.h"
#include "archive/manifest.h"
#include "archive/velero.h"
#include "engine/bread.h"
#include "engine/order.h"
#include "engine/restore_hooks.h"
#include "engine/sanitize.h"
#include "engine/scope.h"
#include "engine/transform.h"
#include "engine/velero_src.h"
#include "engine/volrestore.h"
#include "kube/client.h"
#include "kube/discovery.h"
#include "kube/pager.h"
#include "kube/resource.h"
#include "store/layout.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/cancel.h"
#include "util/mem.h"
#include "util/pool.h"
#include "util/strset.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *restore_outcome_name(enum restore_outcome o)
{
	switch (o) {
	case OUTCOME_CREATED: return "created";
	case OUTCOME_UPDATED: return "updated";
	case OUTCOME_SKIPPED: return "skipped";
	case OUTCOME_FAILED: return "failed";
	case OUTCOME_WOULD_CREATE: return "would create";
	case OUTCOME_WOULD_UPDATE: return "would update";
	}
	return "?";
}

/* ---- spooling: the items of the final index, one JSON line each, a file per type ---- */

struct spool_type {
	char *gr;
	FILE *f;
	long n;
	const struct kube_resource *src;  /* the type as the backup knew it */
	json_t *refused;                  /* [[ns|null, name, why]]: found, but not what the
					   * index and member name say: never restored */
};

struct spool {
	char *dir;
	struct spool_type *t;
	size_t n;
	struct strset want;    /* "gr\tns\tname" of the final index */
	struct strset encoded; /* member name -> [gr, ns|null, name] of the items whose
				* member name has an encoded component */
	struct strset taken;
	struct strset mismatched; /* "gr\tns\tname" -> [gr, ns|null, name, why] of items
				   * an archive holds in another version than the index records */
	json_t *backup_spec;   /* kahu/backup.json of the restored backup */
};

static struct spool_type *spool_type(struct spool *sp, const char *gr)
{
	for (size_t i = 0; i < sp->n; i++)
		if (strcmp(sp->t[i].gr, gr) == 0)
			return &sp->t[i];
	sp->t = xrealloc(sp->t, (sp->n + 1) * sizeof *sp->t);
	struct spool_type *t = &sp->t[sp->n];
	memset(t, 0, sizeof *t);
	t->gr = xstrdup(gr);
	t->f = kahu_tmpstream(sp->dir, "spool.", "the restore spool");
	if (!t->f) {
		free(t->gr);
		return NULL;
	}
	sp->n++;
	return t;
}

static void spool_free(struct spool *sp)
{
	for (size_t i = 0; i < sp->n; i++) {
		if (sp->t[i].f)
			fclose(sp->t[i].f);
		free(sp->t[i].gr);
		json_decref(sp->t[i].refused);
	}
	free(sp->t);
	if (sp->dir)
		rmdir(sp->dir);
	free(sp->dir);
	strset_free(&sp->want);
	strset_free(&sp->encoded);
	strset_free(&sp->taken);
	strset_free(&sp->mismatched);
	json_decref(sp->backup_spec);
	memset(sp, 0, sizeof *sp);
}

/* Reading index lines into the final index: "gr\tns\tname" → the item's hash, its
 * first 64 bits (enough to tell the versions of one item in authenticated archives
 * apart, at a quarter of the memory). */
#define WANT_HASH_LEN 16
struct index_pass {
	struct strset *want;
	struct strset *encoded;      /* the spool's encoded member names */
	const struct strset *only;   /* NULL: every line; else the lines of these types */
};

static int want_line(void *ud, const char *line, size_t len)
{
	struct index_pass *ip = ud;
	struct index_entry ie;
	char *member = NULL;
	int rc = index_line_parse(line, len, &ie);
	if (rc < 0)
		return rc;
	if (!ip->only || strset_has(ip->only, ie.resource)) {
		char *k = bread_item_key(ie.resource, ie.ns, ie.name);
		if (!strset_get(ip->want, k)) { /* a newer backup's line wins */
			char h[WANT_HASH_LEN + 1];
			memcpy(h, ie.hash, WANT_HASH_LEN);
			h[WANT_HASH_LEN] = '\0';
			strset_put(ip->want, k, h);
		}
		free(k);
		/* An item under an encoded member name (FORMAT.md) is found by that name;
		 * the others by their plain Velero path, which is also how archives written
		 * before names were encoded hold every item. */
		if (bundle_resource_path(ie.resource, ie.ns, ie.name, &member) == 0 &&
		    strstr(member, "/%") && !strset_get(ip->encoded, member)) {
			json_t *v = json_pack("[s, s?, s]", ie.resource, ie.ns, ie.name);
			char *vs = json_dumps(v, JSON_COMPACT);
			strset_put(ip->encoded, member, vs);
			free(vs);
			json_decref(v);
		}
		free(member);
	}
	index_entry_clear(&ie);
	return 0;
}

/* "resources/<gr>/namespaces/<ns>/<name>.json" or "resources/<gr>/cluster/<name>.json"
 * → gr, ns (NULL), name, in one allocated buffer split in place. */
static int member_key(const char *member, char **buf, const char **gr, const char **ns, const char **name)
{
	if (strncmp(member, "resources/", 10) != 0)
		return 0;
	size_t l = strlen(member);
	if (l < 15 || strcmp(member + l - 5, ".json") != 0)
		return 0;
	char *p = xstrndup(member + 10, l - 15);
	char *s1 = strchr(p, '/');
	if (!s1)
		goto no;
	*s1 = '\0';
	*gr = p;
	if (strncmp(s1 + 1, "namespaces/", 11) == 0) {
		char *nsp = s1 + 12, *s2 = strchr(nsp, '/');
		if (!s2)
			goto no;
		*s2 = '\0';
		*ns = nsp;
		*name = s2 + 1;
	} else if (strncmp(s1 + 1, "cluster/", 8) == 0) {
		*ns = NULL;
		*name = s1 + 9;
	} else {
		goto no;
	}
	*buf = p;
	return 1;
no:
	free(p);
	return 0;
}

/* Objects are parsed with JSON_ALLOW_NUL: a string value may hold "\u0000" (a
 * ConfigMap's data may), which must not make the object unreadable. */

/* Why the object stored for the index item (ns, name) cannot be that item, or NULL. */
static char *identity_mismatch(json_t *o, const char *gr, const char *ns, const char *name)
{
	json_t *md = json_object_get(o, "metadata");
	const char *on = json_string_value(json_object_get(md, "name"));
	const char *ons = json_string_value(json_object_get(md, "namespace"));
	const char *kind = json_string_value(json_object_get(o, "kind"));
	if (!json_is_object(o) || !json_is_object(md))
		return xstrdup("the stored object has no metadata");
	if (ons && !*ons)
		ons = NULL;
	/* (a "\u0000" in them would cut the C strings short: lengths too) */
	if (!on || strcmp(on, name) != 0 || json_string_length(json_object_get(md, "name")) != strlen(on) ||
	    (ns ? !ons || strcmp(ons, ns) != 0 ||
		  json_string_length(json_object_get(md, "namespace")) != strlen(ons)
		: ons != NULL))
		return xasprintf("the archive holds %s %s%s%s under the name of %s %s%s%s (member "
				 "name and index entry): a corrupt or altered archive, not restored",
				 kind ? kind : "an object", ons ? ons : "", ons ? "/" : "",
				 on ? on : "(no name)", gr, ns ? ns : "", ns ? "/" : "", name);
	/* Not valid in any Kubernetes API, and no URL can name them. */
	if (!strcmp(name, ".") || !strcmp(name, "..") || (ns && (!strcmp(ns, ".") || !strcmp(ns, ".."))))
		return xasprintf("%s cannot be addressed in the Kubernetes API (a name or namespace "
				 "\".\" or \"..\"): not restored", ns && (!strcmp(ns, ".") || !strcmp(ns, "..")) ?
				 "its namespace" : "its name");
	return NULL;
}

/* One item found in an archive: to its type's spool file (one compact JSON object per
 * line), or to the type's refused items when it is not what it is stored as. */
static int spool_item_obj(struct spool *sp, const char *gr, const char *ns, const char *name,
			  const struct kbuf *data, json_t *o, const json_error_t *jerr)
{
	struct spool_type *t = spool_type(sp, gr);
	if (!t)
		return kahu_error_code();
	char *why = o ? identity_mismatch(o, gr, ns, name)
		      : xasprintf("the stored object is not valid JSON: %s", jerr->text);
	int rc = 0;
	if (why) {
		if (!t->refused)
			t->refused = json_array();
		json_array_append_new(t->refused, json_pack("[s?, s, s]", ns, name, why));
	} else {
		/* kahu stores compact JSON; anything else is made one line */
		char *line = memchr(data->data, '\n', data->len) ? json_dumps(o, JSON_COMPACT) : NULL;
		const char *p = line ? line : data->data;
		size_t len = line ? strlen(line) : data->len;
		if (fwrite(p, 1, len, t->f) != len || fputc('\n', t->f) == EOF)
			rc = kahu_error_set(errno == ENOSPC ? KAHU_ENOSPC : KAHU_EIO,
					    "cannot write the spool file: %s", strerror(errno));
		else
			t->n++;
		free(line);
	}
	free(why);
	return rc;
}

static int spool_item(struct spool *sp, const char *gr, const char *ns, const char *name,
		      const struct kbuf *data)
{
	json_error_t jerr;
	json_t *o = json_loadb(data->data ? data->data : "", data->len, JSON_ALLOW_NUL, &jerr);
	int rc = spool_item_obj(sp, gr, ns, name, data, o, &jerr);
	json_decref(o);
	return rc;
}

static int same_hash(const struct kbuf *data, const char *hex)
{
	char hash[KAHU_HASH_HEX_LEN + 1];
	kahu_key_hash(data->data ? data->data : "", data->len, hash);
	return strncmp(hash, hex, WANT_HASH_LEN) == 0;
}

static int spool_backup(struct kahu_store *st, const struct kahu_key *key, const char *name,
			const struct manifest *manifest, struct spool *sp, int is_target)
{
	const struct manifest_object *obj = bread_find_object(manifest, LAYOUT_METADATA);
	struct bread *b = NULL;
	struct bundle_entry e;
	struct kbuf data = KBUF_INIT;
	int rc;

	if (!obj)
		return kahu_error_set(KAHU_EDATA, "the manifest of backup %s names no metadata archive", name);
	if ((rc = bread_open_bundle(st, key, name, obj, &b)) < 0)
		return rc;
	struct bundle_reader *br = bread_bundle(b);
	while ((rc = bundle_next(br, &e)) == 1) {
		if (is_target && !sp->backup_spec && strcmp(e.name, "kahu/backup.json") == 0) {
			kbuf_reset(&data);
			if ((rc = bundle_read_all(br, &data, 64u << 20)) < 0)
				break;
			sp->backup_spec = json_loadb(data.data, data.len, 0, NULL);
			continue;
		}
		char *buf = NULL;
		const char *gr, *ns, *nm;
		json_t *enc = NULL;
		const char *ev = strstr(e.name, "/%") ? strset_get(&sp->encoded, e.name) : NULL;
		if (ev && (enc = json_loads(ev, 0, NULL))) {
			gr = json_string_value(json_array_get(enc, 0));
			ns = json_string_value(json_array_get(enc, 1));
			nm = json_string_value(json_array_get(enc, 2));
		} else if (!member_key(e.name, &buf, &gr, &ns, &nm)) {
			continue;
		}
		char *k = bread_item_key(gr, ns, nm);
		const char *want_hash = strset_get(&sp->want, k);
		if (want_hash && !strset_has(&sp->taken, k)) {
			kbuf_reset(&data);
			rc = bundle_read_all(br, &data, 64u << 20);
			/* Only the version the final index records: an archive may also hold
			 * objects of a list that failed half-way, whose type was carried over
			 * from an older backup (and an older archive holds that version). */
			if (rc == 0 && !same_hash(&data, want_hash)) {
				log_debug("backup %s: %s is not the version the index records; looking further down the chain",
					  name, e.name);
				if (!strset_has(&sp->mismatched, k)) {
					/* the reason: what the object is, when it is not this item */
					json_t *o = json_loadb(data.data ? data.data : "", data.len, JSON_ALLOW_NUL, NULL);
					char *why = o ? identity_mismatch(o, gr, ns, nm) : NULL;
					if (!why)
						why = xasprintf("backup %s holds another version of this object than its "
								"index records (a corrupt or altered archive): not restored", name);
					json_decref(o);
					json_t *v = json_pack("[s, s?, s, s]", gr, ns, nm, why);
					free(why);
					char *vs = json_dumps(v, JSON_COMPACT);
					strset_put(&sp->mismatched, k, vs);
					free(vs);
					json_decref(v);
				}
			} else if (rc == 0) {
				strset_add(&sp->taken, k);
				rc = spool_item(sp, gr, ns, nm, &data);
			}
		}
		free(k);
		free(buf);
		json_decref(enc);
		if (rc < 0)
			break;
	}
	if (rc == 0)
		rc = bread_finish(b);
	bread_free(b);
	kbuf_free(&data);
	if (rc < 0)
		kahu_error_wrap(rc, "reading backup %s", name);
	return rc;
}

/* ---- a Velero backup's tarball as the source (archive/velero.h) ----
 *
 * Read whole into the spool before anything is created, as a kahu backup is: an
 * archive that cannot be read (not gzip, truncated, a member escaping the tree, an
 * object that is not JSON, a format version kahu does not read) stops the restore
 * before it writes anything.  Each object is taken once: from the directory without a
 * version, else from the preferred version's (the same object); the copies in other
 * API versions (Velero's EnableAPIGroupVersions) and files in no layout kahu knows are
 * counted and reported.  The types are what the objects say they are. */

static void warn(struct restore_totals *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct velero_pass {
	struct spool *sp;
	json_t *types;          /* gr -> {resource, apiVersion, kind, namespaced, items} */
	json_t *claims;         /* "ns\tpvc" -> why its data cannot be brought */
	const json_t *pvs;      /* pv -> why */
	struct strset seen;     /* items taken */
	long other_versions, pvcs;
	long unknown;
	struct strv unknown_names;
	int version_seen;
};

static void velero_claim(struct velero_pass *vp, const char *ns, const char *pvc, const char *why)
{
	if (!ns || !pvc)
		return;
	char *k = xasprintf("%s\t%s", ns, pvc);
	if (!json_object_get(vp->claims, k))
		json_object_set_new(vp->claims, k, json_string(why));
	free(k);
}

/* What an object tells of volume data Velero kept outside the tarball. */
static void velero_volume_hints(struct velero_pass *vp, const char *gr, const char *ns, const char *name, json_t *o)
{
	json_t *spec = json_object_get(o, "spec");
	if (strcmp(gr, "persistentvolumeclaims") == 0)
		vp->pvcs++;
	else if (strcmp(gr, "persistentvolumes") == 0) {
		const char *why = json_string_value(json_object_get(vp->pvs, name));
		json_t *cr = json_object_get(spec, "claimRef");
		if (why)
			velero_claim(vp, json_string_value(json_object_get(cr, "namespace")),
				     json_string_value(json_object_get(cr, "name")), why);
	} else if (strcmp(gr, "pods") == 0) {
		/* Velero's opt-in annotation: these volumes' files were copied */
		const char *ann = json_string_value(json_object_get(json_object_get(json_object_get(o, "metadata"),
						    "annotations"), "backup.velero.io/backup-volumes"));
		struct strv vols = STRV_INIT;
		if (ann)
			strv_split(&vols, ann, ',');
		for (size_t i = 0; i < vols.n; i++) {
			size_t j;
			json_t *v;
			json_array_foreach(json_object_get(spec, "volumes"), j, v) {
				const char *vn = json_string_value(json_object_get(v, "name"));
				const char *cn = json_string_value(json_object_get(json_object_get(v,
						"persistentVolumeClaim"), "claimName"));
				if (vn && cn && strcmp(vn, vols.v[i]) == 0) {
					char *why = xasprintf("pod %s/%s names it in Velero's annotation "
							      "backup.velero.io/backup-volumes: Velero copied its files "
							      "into its own repository (restic or kopia), which kahu "
							      "does not read", ns, name);
					velero_claim(vp, ns, cn, why);
					free(why);
				}
			}
		}
		strv_free(&vols);
	} else if (strcmp(gr, "volumesnapshots.snapshot.storage.k8s.io") == 0) {
		char *why = xasprintf("Velero kept it as the CSI VolumeSnapshot %s/%s: restored as an object, but "
				      "kahu does not provision claims from Velero's snapshots", ns ? ns : "", name);
		velero_claim(vp, ns, json_string_value(json_object_get(json_object_get(spec, "source"),
						       "persistentVolumeClaimName")), why);
		free(why);
	}
}

static int velero_item(struct velero_pass *vp, const char *file, const char *member,
		       const struct velero_path *p, const struct kbuf *data)
{
	json_error_t jerr;
	json_t *o = json_loadb(data->data ? data->data : "", data->len, JSON_ALLOW_NUL, &jerr);
	if (!o) {
		struct kbuf m = KBUF_INIT;
		kbuf_add_printable(&m, member, 0);
		int rc = kahu_error_set(KAHU_EDATA, "%s: member %s is not valid JSON: %s (line %d, column %d)",
					file, m.data, jerr.text, jerr.line, jerr.column);
		kbuf_free(&m);
		return rc;
	}
	json_t *ty = json_object_get(vp->types, p->gr);
	const char *av = json_string_value(json_object_get(o, "apiVersion"));
	const char *kind = json_string_value(json_object_get(o, "kind"));
	if (!ty) {
		ty = json_pack("{s:s, s:b, s:I}", "resource", p->gr, "namespaced", p->ns != NULL,
			       "items", (json_int_t)0);
		json_object_set_new(vp->types, p->gr, ty);
	}
	/* The type is what its first object with an apiVersion and a kind says. */
	if (!json_object_get(ty, "kind") && av && *av && kind && *kind) {
		json_object_set_new(ty, "apiVersion", json_string(av));
		json_object_set_new(ty, "kind", json_string(kind));
	}
	json_object_set_new(ty, "items", json_integer(json_integer_value(json_object_get(ty, "items")) + 1));
	velero_volume_hints(vp, p->gr, p->ns, p->name, o);
	int rc = spool_item_obj(vp->sp, p->gr, p->ns, p->name, data, o, &jerr);
	json_decref(o);
	return rc;
}

static int spool_velero(const struct velero_src *v, struct spool *sp, json_t *claims, struct restore_totals *t)
{
	struct velero_pass vp = { .sp = sp, .types = json_object(), .claims = claims, .pvs = v->pvs };
	struct velero_reader *vr = NULL;
	struct kbuf data = KBUF_INIT;
	const char *member;
	int is_dir, rc;

	if ((rc = velero_open(v->file, &vr)) < 0)
		goto out;
	while ((rc = velero_next(vr, &member, &is_dir)) == 1) {
		struct velero_path p;
		if ((rc = velero_path_parse(member, is_dir, &p)) < 0) {
			kahu_error_wrap(rc, "%s", v->file);
			break;
		}
		if (p.kind == VELERO_VERSION) {
			int newer = 0;
			kbuf_reset(&data);
			if ((rc = velero_read(vr, &data, 4096)) == 0 &&
			    (rc = velero_version_check(data.data ? data.data : "", data.len, &newer)) < 0)
				kahu_error_wrap(rc, "%s", v->file);
			if (rc == 0 && newer)
				warn(t, "Velero backup %s has a newer format version than kahu knows (1.1.0): read "
				     "as 1.1.0, its additions are not read", v->backup);
			vp.version_seen = 1;
		} else if (p.kind == VELERO_UNKNOWN) {
			if (vp.unknown++ < 5) {
				struct kbuf m = KBUF_INIT;
				kbuf_add_printable(&m, member, 0);
				strv_push(&vp.unknown_names, m.data);
				kbuf_free(&m);
			}
		} else if (p.kind == VELERO_ITEM && p.version && !p.preferred) {
			vp.other_versions++;
		} else if (p.kind == VELERO_ITEM) {
			char *k = bread_item_key(p.gr, p.ns, p.name);
			if (!strset_has(&vp.seen, k)) {
				strset_add(&vp.seen, k);
				kbuf_reset(&data);
				if ((rc = velero_read(vr, &data, 64u << 20)) == 0)
					rc = velero_item(&vp, v->file, member, &p, &data);
			}
			free(k);
		}
		velero_path_clear(&p);
		if (rc < 0)
			break;
	}
	if (rc == 0 && !vp.version_seen)
		rc = kahu_error_set(KAHU_EDATA, "%s has no metadata/version: not a Velero backup tarball", v->file);
	if (rc < 0)
		goto out;
	if (vp.unknown) {
		char *names = strv_join(&vp.unknown_names, ", ");
		warn(t, "Velero backup %s: %ld files in no layout kahu knows were not read (%s%s)", v->backup,
		     vp.unknown, names, vp.unknown > 5 ? ", ..." : "");
		free(names);
	}
	if (vp.other_versions)
		warn(t, "Velero backup %s: %ld copies of objects in other API versions (Velero's "
		     "EnableAPIGroupVersions) were not read: each object is restored from its preferred "
		     "version, converted by the target as needed", v->backup, vp.other_versions);
	if (!v->records && vp.pvcs && !v->volumes_unwanted)
		warn(t, "Velero backup %s: only its tarball was given, so which of its %ld claims had their "
		     "data kept by Velero (volume snapshots, pod volume backups, recorded beside it in the "
		     "bucket: backups/%s/) is not known; kahu restores no volume data from Velero backups",
		     v->backup, vp.pvcs, v->backup);
	json_t *types = json_array(), *ty;
	const char *k;
	json_object_foreach(vp.types, k, ty) {
		/* no object of it said: each fails the type check, named */
		if (!json_object_get(ty, "kind"))
			json_object_set_new(ty, "kind", json_string(""));
		json_array_append(types, ty);
	}
	sp->backup_spec = json_pack("{s:o}", "types", types);
out:
	velero_close(vr);
	kbuf_free(&data);
	json_decref(vp.types);
	strset_free(&vp.seen);
	strv_free(&vp.unknown_names);
	return rc;
}

/* The backup's types as a discovery document: scope names resolve against what the
 * backup holds, whatever the target serves yet (its CRDs may come with the restore). */
static struct kube_discovery *backup_types(json_t *spec)
{
	struct kube_discovery *d = kube_discovery_new();
	size_t i, n = json_array_size(json_object_get(spec, "types"));
	json_t *t;
	d->res = xcalloc(n + 1, sizeof *d->res);
	json_array_foreach(json_object_get(spec, "types"), i, t) {
		struct kube_resource *r = &d->res[d->n++];
		const char *av = json_string_value(json_object_get(t, "apiVersion"));
		const char *gr = json_string_value(json_object_get(t, "resource"));
		const char *slash = av ? strchr(av, '/') : NULL;
		const char *dot = gr ? strchr(gr, '.') : NULL;
		r->group = slash ? xstrndup(av, (size_t)(slash - av)) : xstrdup("");
		r->version = xstrdup(slash ? slash + 1 : av ? av : "v1");
		r->resource = dot ? xstrndup(gr, (size_t)(dot - gr)) : xstrdup(gr ? gr : "");
		r->kind = xstrdup(json_string_value(json_object_get(t, "kind")));
		r->namespaced = json_is_true(json_object_get(t, "namespaced"));
		r->verbs = KUBE_VERB_GET | KUBE_VERB_LIST | KUBE_VERB_CREATE | KUBE_VERB_DELETE |
			   KUBE_VERB_UPDATE | KUBE_VERB_PATCH;
		r->preferred = 1;
	}
	d->cap = n + 1;
	return d;
}

static const struct kube_resource *find_gr(const struct kube_discovery *d, const char *gr)
{
	for (size_t i = 0; i < d->n; i++) {
		char *x = kube_group_resource(&d->res[i]);
		int eq = strcmp(x, gr) == 0;
		free(x);
		if (eq && d->res[i].preferred)
			return &d->res[i];
	}
	return NULL;
}

/* ---- creating ---- */

struct run {
	struct kube_client *kc;
	const struct restore_spec *s;
	struct restore_totals *t;
	struct kube_discovery *target;     /* the target cluster's discovery */
	struct clean_opts_holder *unused;
	struct restore_clean_opts copts;
	pthread_mutex_t lock;
	struct strset namespaces;          /* target namespaces known to exist */
	struct strset ref_ns, ref_pv, ref_gr; /* what included items need */
	struct strv crds;                  /* CRDs created or found, to wait for */
	struct strset dry_kinds;           /* dry run: "group\tKind" of the CRDs it would create */
	struct strset existing;            /* bread_item_key("", ns, name) of the current
					    * type's objects in the target, each with
					    * "OFFSET LENGTH" of its JSON in `live` */
	int have_existing;                 /* …listed: an item not in it is created without a GET */
	FILE *live;                        /* the listed objects (an unlinked file in spool_dir) */
	const struct kube_resource *live_type; /* the version they were listed at */
	const char *spool_dir;
	long done, total;
	int stop;
	/* the current type */
	struct spool_type *cur;
	const struct kube_resource *cur_src;
	enum scope_type_decision cur_decision;
	struct restore_hooks *hooks;       /* the restored pods' exec hooks */
	json_t *vclaims;                   /* Velero source: "ns\tpvc" -> why its data is not brought */
};

static json_t *listed_object(struct run *r, const char *where);

static const char *meta(json_t *o, const char *f)
{
	return json_string_value(json_object_get(json_object_get(o, "metadata"), f));
}

static void report(struct run *r, const char *gr, const char *ns, const char *src_ns, const char *name,
		   enum restore_outcome oc, const char *reason, json_t *obj, json_t *volume, json_t *xf)
{
	struct restore_item_result res = { gr, ns, src_ns && ns && strcmp(src_ns, ns) ? src_ns : NULL,
					   name, oc, reason, volume, xf };
	pthread_mutex_lock(&r->lock);
	if (volume) {
		r->t->volumes++;
		if (oc == OUTCOME_FAILED)
			r->t->volumes_failed++;
	}
	switch (oc) {
	case OUTCOME_CREATED: case OUTCOME_WOULD_CREATE: r->t->created++; break;
	case OUTCOME_UPDATED: case OUTCOME_WOULD_UPDATE: r->t->updated++; break;
	case OUTCOME_SKIPPED: r->t->skipped++; break;
	case OUTCOME_FAILED: r->t->failed++; break;
	}
	r->t->items++;
	r->done++;
	if (oc == OUTCOME_FAILED)
		log_info("%s %s%s%s failed: %s", gr, ns ? ns : "", ns ? "/" : "", name ? name : "?",
			 reason ? reason : "");
	if (strcmp(gr, "namespaces") == 0 && name && !r->s->dry_run &&
	    (oc == OUTCOME_CREATED || oc == OUTCOME_UPDATED ||
	     (oc == OUTCOME_SKIPPED && reason && strncmp(reason, "exists", 6) == 0)))
		strset_add(&r->namespaces, name); /* items in it need not look it up */
	if (r->s->on_item)
		r->s->on_item(r->s->ud, &res, obj);
	if (r->s->progress)
		r->s->progress(r->s->ud, r->done, r->total);
	pthread_mutex_unlock(&r->lock);
}

/* Make sure the target namespace exists (created bare, with kahu's labels, when the
 * backup does not bring its Namespace object). */
static int ensure_namespace(struct run *r, const char *ns, char **why)
{
	pthread_mutex_lock(&r->lock);
	int known = strset_has(&r->namespaces, ns);
	pthread_mutex_unlock(&r->lock);
	if (known || r->s->dry_run)
		return 0;
	struct kbuf path = KBUF_INIT;
	struct kube_response resp = { 0 };
	kbuf_adds(&path, "/api/v1/namespaces/");
	kube_pct_encode(&path, ns);
	int rc = kube_request(r->kc, "GET", path.data, NULL, NULL, NULL, 0, 0, &resp);
	if (rc == KAHU_ENOTFOUND) {
		json_t *o = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s}}}", "apiVersion", "v1", "kind", "Namespace",
				      "metadata", "name", ns, "labels", "kahu.io/backup-name",
				      r->copts.backup_label, "kahu.io/restore-name", r->copts.restore_label);
		char *body = json_dumps(o, JSON_COMPACT);
		kube_response_clear(&resp);
		rc = kube_request(r->kc, "POST", "/api/v1/namespaces", NULL, "application/json", body,
				  strlen(body), 0, &resp);
		if (rc == KAHU_ECONFLICT)
			rc = 0;
		free(body);
		json_decref(o);
	}
	if (rc < 0)
		*why = xasprintf("cannot create namespace %s: %s", ns, kahu_error_last());
	else {
		pthread_mutex_lock(&r->lock);
		strset_add(&r->namespaces, ns);
		pthread_mutex_unlock(&r->lock);
	}
	kube_response_clear(&resp);
	kbuf_free(&path);
	return rc;
}

/* A dry run creates no CRD, so the target never serves their custom resources: it
 * remembers the group and kind of each CRD it would create, and their objects are
 * "would create" rather than failures. */
static char *crd_kind_key(json_t *obj, int is_crd)
{
	const char *g, *k;
	if (is_crd) {
		json_t *spec = json_object_get(obj, "spec");
		g = json_string_value(json_object_get(spec, "group"));
		k = json_string_value(json_object_get(json_object_get(spec, "names"), "kind"));
	} else {
		const char *av = json_string_value(json_object_get(obj, "apiVersion"));
		const char *slash = av ? strchr(av, '/') : NULL;
		k = json_string_value(json_object_get(obj, "kind"));
		if (!slash || !k)
			return NULL;
		return xasprintf("%.*s\t%s", (int)(slash - av), av, k);
	}
	return g && k ? xasprintf("%s\t%s", g, k) : NULL;
}

static void dry_kind_add(struct run *r, json_t *crd)
{
	char *k = crd_kind_key(crd, 1);
	if (!k)
		return;
	pthread_mutex_lock(&r->lock);
	strset_add(&r->dry_kinds, k);
	pthread_mutex_unlock(&r->lock);
	free(k);
}

static int dry_kind_known(struct run *r, json_t *obj)
{
	char *k = crd_kind_key(obj, 0);
	if (!k)
		return 0;
	pthread_mutex_lock(&r->lock);
	int known = strset_has(&r->dry_kinds, k);
	pthread_mutex_unlock(&r->lock);
	free(k);
	return known;
}

/* Why obj, stored as an item of type gr (the backup's record of it: src), is not an
 * object of that type, or NULL. */
static char *type_mismatch(json_t *obj, const char *gr, const struct kube_resource *src)
{
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	if (!av || !kind || !*av || !*kind)
		return xstrdup("the stored object has no apiVersion or kind");
	if (!src)
		return NULL;
	const char *slash = strchr(av, '/');
	size_t glen = slash ? (size_t)(slash - av) : 0;
	if (strlen(src->group) != glen || strncmp(src->group, av, glen) != 0 || strcmp(src->kind, kind) != 0)
		return xasprintf("the archive holds a %s (%s) where a %s object belongs: a corrupt or "
				 "altered archive, not restored", kind, av, gr);
	if (!src->namespaced != !meta(obj, "namespace"))
		return xasprintf("the stored %s is %s, but %s objects are %s: a corrupt or altered "
				 "archive, not restored", kind, meta(obj, "namespace") ? "namespaced" :
				 "cluster-scoped", gr, src->namespaced ? "namespaced" : "cluster-scoped");
	return NULL;
}

/* ---- one item: a sequence of stages ----
 *
 * An item of the spool goes through the stages of item_stages[] in order, each a
 * function with one job, carried by a struct item.  Before them, when the archives
 * were spooled, each item was checked against its member name and index line (its
 * identity and hash: spool_item, spool_backup); what failed there never reaches the
 * stages (restore_type reports it).  Then:
 *
 *   decode     the spooled JSON line → it->obj
 *   check      the object is of the type it is stored as
 *   scope      the scope wants it (or, for a type restored only when referenced,
 *              an included item needs it)
 *   clean      restore_clean: skipped kinds and objects, server fields, status,
 *              kahu's labels (the mapping is the next stage)
 *   map        the namespace mapping (ns_map_apply); from here on it->ns and
 *              it->tname are the target's
 *   transform  the transform rules and shortcuts (transform.c): the object patched,
 *              the rules that applied kept for its result
 *   hooks      restore hooks' init containers added to pods and pod templates
 *              (restore_hooks.c)
 *   version    the target's resource for the object (restore_pick_version), which
 *              must be the type it is stored as
 *   namespace  its target namespace exists (created bare when the backup has none)
 *   lookup     the object in the target: the type's LIST, else a GET
 *   create     absent: created (a dry run: "would create")
 *   compare    present: identical, differs, or patched (--existing-resource-policy)
 *   velero     a Velero backup's claim created without the data Velero kept for it:
 *              its volume result says so (failed when volume data was asked for)
 *   execs      a created pod with restore exec hooks is kept: they run at the end of
 *              the restore, once its containers run (restore_hooks.c)
 *
 * and item_record() reports the outcome.  A stage returns ITEM_NEXT, or ITEM_DONE
 * when it has decided the outcome and the item ends there (item_done()).  create and
 * compare decide the outcome of an item that got so far and return ITEM_NEXT unless
 * it failed: stages after them see it->oc and act on what was written.
 *
 * Attach points for what comes:
 *   - between map and version: stages that change the object before it is written
 *     (a restore hook's init containers);
 *   - after compare: stages that act on the object created (a PVC's volume data
 *     written through a pod, a restore hook's command in a running pod), which look
 *     at it->oc (OUTCOME_CREATED …) and may make it OUTCOME_FAILED with a reason. */

enum { ITEM_NEXT = 0, ITEM_DONE = 1 };

struct item {
	struct run *r;
	const char *gr;
	const char *line;               /* the spooled JSON */
	size_t len;
	json_t *obj;                    /* decoded; cleaned and mapped in place */
	char *src_ns, *name;            /* as stored */
	int mapped;                     /* ns and tname are set: outcomes name the target */
	const char *ns, *tname;         /* in the target (in obj) */
	const struct kube_resource *tr; /* the target's resource */
	int found;                      /* it exists in the target: live, or resp's body */
	json_t *live;
	struct kube_response resp;
	/* the outcome */
	int decided;
	enum restore_outcome oc;
	char *reason;
	int with_obj;                   /* the object goes with the result */
	int vol_fill;                   /* a claim whose data this restore writes */
	json_t *volume;                 /* its volume's result */
	json_t *xf;                     /* the transform rules that applied, or NULL */
};

/* Decide the outcome (reason copied; NULL for none); returns ITEM_DONE. */
static int item_done(struct item *it, enum restore_outcome oc, const char *reason)
{
	it->decided = 1;
	it->oc = oc;
	free(it->reason);
	it->reason = reason ? xstrdup(reason) : NULL;
	it->with_obj = it->mapped;
	return ITEM_DONE;
}

/* The same, taking an allocated reason. */
static int item_done_take(struct item *it, enum restore_outcome oc, char *reason)
{
	item_done(it, oc, NULL);
	it->reason = reason;
	return ITEM_DONE;
}

static int stage_decode(struct item *it)
{
	it->obj = json_loadb(it->line, it->len, JSON_ALLOW_NUL, NULL);
	if (!it->obj) {
		it->name = xstrdup("?");
		return item_done(it, OUTCOME_FAILED, "unreadable object in the backup");
	}
	it->src_ns = xstrdup(meta(it->obj, "namespace"));
	it->name = xstrdup(meta(it->obj, "name"));
	return ITEM_NEXT;
}

/* The object must be of the type it is stored as: a member of configmaps holding a
 * ClusterRoleBinding is never created, whatever the scope lets through. */
static int stage_check(struct item *it)
{
	char *why = type_mismatch(it->obj, it->gr, it->r->cur_src);
	return why ? item_done_take(it, OUTCOME_FAILED, why) : ITEM_NEXT;
}

static int stage_scope(struct item *it)
{
	struct run *r = it->r;
	if (r->cur_decision == SCOPE_TYPE_ONLY_REFERENCED) {
		struct strset *set = strcmp(it->gr, "namespaces") == 0 ? &r->ref_ns :
				     strcmp(it->gr, "persistentvolumes") == 0 ? &r->ref_pv : &r->ref_gr;
		if (!strset_has(set, it->name) || scope_wants_referenced(r->s->scope, it->obj) != SCOPE_INCLUDED)
			return item_done(it, OUTCOME_SKIPPED, "excluded: not needed by included items");
		return ITEM_NEXT;
	}
	enum scope_reason sr = scope_wants_object(r->s->scope, r->cur_src, it->obj);
	return sr != SCOPE_INCLUDED ? item_done(it, OUTCOME_SKIPPED, scope_reason_name(sr)) : ITEM_NEXT;
}

/* (r->copts has no mapping: that is the next stage's job) */
static int stage_clean(struct item *it)
{
	const char *why = NULL;
	if (restore_clean(it->obj, it->gr, &it->r->copts, &why) == CLEAN_SKIP)
		return item_done(it, OUTCOME_SKIPPED, why);
	return ITEM_NEXT;
}

static int stage_map(struct item *it)
{
	ns_map_apply(it->r->s->map, it->obj);
	it->ns = meta(it->obj, "namespace");
	it->tname = meta(it->obj, "name");
	it->mapped = 1;
	return ITEM_NEXT;
}

/* Transforms, on the mapped object; a rule may rename it or move it to another
 * namespace, so ns and tname are read again. */
static int stage_transform(struct item *it)
{
	char *why = NULL;
	if (!it->r->s->xform)
		return ITEM_NEXT;
	if (transform_apply(it->r->s->xform, it->gr, &it->obj, &it->xf, &why) < 0)
		return item_done_take(it, OUTCOME_FAILED, why);
	it->ns = meta(it->obj, "namespace");
	it->tname = meta(it->obj, "name");
	if (!json_is_object(it->obj) || !it->tname || !*it->tname) {
		it->tname = it->name;
		it->ns = it->src_ns;
		item_done(it, OUTCOME_FAILED, "the transforms left the object without metadata.name");
		it->with_obj = 0;
		return ITEM_DONE;
	}
	return ITEM_NEXT;
}

static int stage_version(struct item *it)
{
	struct run *r = it->r;
	char *why = NULL;
	int rc = restore_pick_version(it->obj, r->target, &it->tr, &why);
	if (rc < 0) {
		if (r->s->dry_run && rc == KAHU_ENOTFOUND && dry_kind_known(r, it->obj)) {
			/* Not served yet, but the CRD comes with this restore. */
			free(why);
			return item_done(it, OUTCOME_WOULD_CREATE,
					 "once its CRD, which this restore creates, is established");
		}
		return why ? item_done_take(it, OUTCOME_FAILED, why) : item_done(it, OUTCOME_FAILED, kahu_error_last());
	}
	char *tgr = kube_group_resource(it->tr);
	if (strcmp(tgr, it->gr) != 0) {
		item_done_take(it, OUTCOME_FAILED, xasprintf("the stored %s object is served as %s by the target "
							     "cluster, not as %s: not restored", it->tr->kind, tgr, it->gr));
		it->with_obj = 0;
	}
	free(tgr);
	return it->decided ? ITEM_DONE : ITEM_NEXT;
}

static int stage_namespace(struct item *it)
{
	char *why = NULL;
	if (it->r->s->volumes_only)
		return ITEM_NEXT; /* nothing is created in place */
	if (it->tr->namespaced && it->ns && ensure_namespace(it->r, it->ns, &why) < 0)
		return item_done_take(it, OUTCOME_FAILED, why);
	return ITEM_NEXT;
}

static char *item_path(struct item *it)
{
	return kube_resource_path(it->tr, it->tr->namespaced ? it->ns : NULL, it->tname);
}

static int item_get(struct item *it)
{
	char *opath = item_path(it);
	kube_response_clear(&it->resp);
	int rc = kube_request(it->r->kc, "GET", opath, NULL, NULL, NULL, 0, 0, &it->resp);
	free(opath);
	return rc;
}

/* Look first, create only what is missing: a restore run again (or into a cluster that
 * has the objects) writes nothing for objects that are there, and a user who may read
 * but not create them gets "exists" rather than 403.  The type's objects were listed
 * before its items started (one LIST instead of a GET per item); only those that exist
 * are read one by one. */
static int stage_lookup(struct item *it)
{
	struct run *r = it->r;
	const char *where = NULL; /* of the listed object in r->live */
	int absent = 0, rc;
	if (r->have_existing) {
		char *k = bread_item_key("", it->tr->namespaced ? it->ns : NULL, it->tname);
		absent = !strset_has(&r->existing, k);
		where = strset_get(&r->existing, k);
		free(k);
	}
	if (absent)
		return ITEM_NEXT;
	if (where && it->tr == r->live_type && (it->live = listed_object(r, where))) {
		it->found = 1;
		return ITEM_NEXT;
	}
	rc = item_get(it);
	if (rc == 0)
		it->found = 1;
	else if (rc != KAHU_ENOTFOUND)
		return item_done(it, OUTCOME_FAILED, kahu_error_last());
	return ITEM_NEXT;
}

static void crd_created_or_found(struct item *it)
{
	if (!restore_is_crd(it->gr))
		return;
	pthread_mutex_lock(&it->r->lock);
	strv_push(&it->r->crds, it->tname);
	pthread_mutex_unlock(&it->r->lock);
}

static int stage_create(struct item *it)
{
	struct run *r = it->r;
	if (it->found)
		return ITEM_NEXT;
	if (r->s->dry_run) {
		item_done(it, OUTCOME_WOULD_CREATE, NULL);
		if (restore_is_crd(it->gr))
			dry_kind_add(r, it->obj);
		return ITEM_NEXT;
	}
	char *path = kube_resource_path(it->tr, it->tr->namespaced ? it->ns : NULL, NULL);
	char *body = json_dumps(it->obj, JSON_COMPACT);
	kube_response_clear(&it->resp);
	int rc = kube_request(r->kc, "POST", path, NULL, "application/json", body, strlen(body), 0, &it->resp);
	free(path);
	free(body);
	if (rc == 0) {
		item_done(it, OUTCOME_CREATED, NULL);
		crd_created_or_found(it);
		return ITEM_NEXT;
	}
	if (rc != KAHU_ECONFLICT)
		return item_done(it, OUTCOME_FAILED, kahu_error_last());
	/* Created by someone else since the lookup. */
	if (item_get(it) < 0)
		return item_done(it, OUTCOME_FAILED, kahu_error_last());
	it->found = 1;
	return ITEM_NEXT;
}

static int stage_compare(struct item *it)
{
	struct run *r = it->r;
	if (!it->found)
		return ITEM_NEXT;
	if (!r->s->dry_run)
		crd_created_or_found(it);
	if (!it->live)
		it->live = json_loadb(it->resp.body.data, it->resp.body.len, JSON_ALLOW_NUL, NULL);
	if (!it->live)
		return item_done(it, OUTCOME_FAILED, "the server's answer is not JSON");
	if (restore_same(it->obj, it->live))
		item_done(it, OUTCOME_SKIPPED, "exists, identical");
	else if (r->s->existing == EXISTING_NONE)
		item_done(it, OUTCOME_SKIPPED, "exists, differs");
	else if (r->s->dry_run)
		item_done(it, OUTCOME_WOULD_UPDATE, NULL);
	else {
		json_t *patch = restore_merge_patch(it->obj, it->live);
		char *pbody = json_dumps(patch, JSON_COMPACT);
		char *opath = item_path(it);
		kube_response_clear(&it->resp);
		int rc = kube_request(r->kc, "PATCH", opath, NULL, "application/merge-patch+json", pbody,
				      strlen(pbody), KUBE_REQ_IDEMPOTENT, &it->resp);
		item_done(it, rc == 0 ? OUTCOME_UPDATED : OUTCOME_FAILED, rc == 0 ? NULL : kahu_error_last());
		free(opath);
		free(pbody);
		json_decref(patch);
	}
	return it->oc == OUTCOME_FAILED ? ITEM_DONE : ITEM_NEXT;
}

static int stage_hooks(struct item *it)
{
	char *why = NULL;
	if (restore_hooks_init(it->r->s->hooks, it->gr, it->obj, &why) < 0)
		return item_done_take(it, OUTCOME_FAILED, why);
	return ITEM_NEXT;
}

static int stage_execs(struct item *it)
{
	char *why = NULL;
	if (it->r->s->dry_run || it->oc != OUTCOME_CREATED || strcmp(it->gr, "pods") != 0)
		return ITEM_NEXT;
	if (restore_hooks_add_pod(it->r->hooks, it->obj, &why) < 0)
		return item_done_take(it, OUTCOME_FAILED, xasprintf("created, but its restore hook is "
								    "invalid: %s", why));
	return ITEM_NEXT;
}

/* Volume data, before the mapping: a PV whose claim's data is restored is not
 * restored (the claim gets a new volume); such a claim loses its volumeName. */
static int stage_volprep(struct item *it)
{
	struct volr *v = it->r->s->vol;
	if (!v)
		return ITEM_NEXT;
	if (strcmp(it->gr, "persistentvolumes") == 0) {
		const char *why = volr_pv_skip(v, it->obj);
		return why ? item_done(it, OUTCOME_SKIPPED, why) : ITEM_NEXT;
	}
	if (strcmp(it->gr, "persistentvolumeclaims") == 0) {
		char *why = volr_pvc_refused(v, it->src_ns, ns_map_target(it->r->s->map, it->src_ns), it->name);
		if (why)
			return item_done_take(it, OUTCOME_FAILED, why);
		it->vol_fill = volr_pvc_prepare(v, it->src_ns, it->obj);
	}
	return ITEM_NEXT;
}

/* A claim provisioned from a CSI snapshot: its storage class as it will be created
 * (after the mapping and the transforms) must be one of the snapshot's driver. */
static int stage_volclass(struct item *it)
{
	if (!it->vol_fill || !it->r->s->vol || strcmp(it->gr, "persistentvolumeclaims") != 0)
		return ITEM_NEXT;
	char *why = volr_pvc_class_refused(it->r->s->vol, it->src_ns, it->name, it->obj);
	return why ? item_done_take(it, OUTCOME_FAILED, why) : ITEM_NEXT;
}

/* --volumes-only: the claim must exist; nothing is created or changed but its data,
 * which goes in while no running pod mounts it read-write (after --scale-down scaled
 * the workloads that mount it to zero). */
static int stage_inplace(struct item *it)
{
	struct run *r = it->r;
	if (!r->s->volumes_only)
		return ITEM_NEXT;
	struct volr *v = r->s->vol;
	if (!v || !volr_has(v, it->src_ns, it->name))
		return item_done(it, OUTCOME_SKIPPED, "no volume data in the backup");
	if (!it->found)
		return item_done(it, OUTCOME_FAILED, "the claim does not exist (--volumes-only writes into "
				 "existing claims only)");
	if (!r->s->dry_run && r->s->scale_down) {
		struct strv one = STRV_INIT;
		strv_push(&one, it->tname);
		int rc = volr_scale_down(v, it->ns, &one);
		strv_free(&one);
		if (rc < 0)
			return item_done(it, OUTCOME_FAILED, kahu_error_last());
	}
	/* (a dry run with --scale-down scales nothing: its pods would be gone) */
	json_t *pods = r->s->dry_run && r->s->scale_down ? json_array() : volr_mounting_pods(v, it->ns, it->tname);
	if (!pods)
		return item_done(it, OUTCOME_FAILED, kahu_error_last());
	if (json_array_size(pods)) {
		item_done_take(it, OUTCOME_FAILED,
			       xasprintf("pod %s/%s runs and mounts the claim read-write: not written in place "
					 "(stop it, or let kahu scale its workload to zero with --scale-down)",
					 it->ns, json_string_value(json_array_get(pods, 0))));
		json_decref(pods);
		return ITEM_DONE;
	}
	json_decref(pods);
	int failed = 0;
	it->volume = volr_fill(v, it->src_ns, it->ns, it->tname, &failed);
	if (failed)
		return item_done_take(it, OUTCOME_FAILED, xasprintf("volume data: %s",
			json_string_value(json_object_get(it->volume, "reason"))));
	return item_done(it, r->s->dry_run ? OUTCOME_WOULD_UPDATE : OUTCOME_UPDATED,
			 r->s->dry_run ? "its volume data would be written in place" : "volume data written in place");
}

/* A claim this restore created gets its data now, before the types that come after
 * it (pods, workloads) are created. */
static int stage_voldata(struct item *it)
{
	struct run *r = it->r;
	if (!it->vol_fill || !r->s->vol)
		return ITEM_NEXT;
	if (it->oc != OUTCOME_CREATED && it->oc != OUTCOME_WOULD_CREATE)
		return ITEM_NEXT; /* it existed: its data is left as it is */
	int failed = 0;
	it->volume = volr_fill(r->s->vol, it->src_ns, it->ns, it->tname, &failed);
	if (failed)
		return item_done_take(it, OUTCOME_FAILED, xasprintf("created, but its volume data was not restored: %s",
			json_string_value(json_object_get(it->volume, "reason"))));
	return ITEM_NEXT;
}

/* A claim of a Velero backup whose data Velero kept in its own stores (snapshots,
 * restic or kopia repositories): created without it, and said so on its result (failed
 * when the user asked for volume data). */
static int stage_velero(struct item *it)
{
	struct run *r = it->r;
	if (!r->vclaims || strcmp(it->gr, "persistentvolumeclaims") != 0 ||
	    (it->oc != OUTCOME_CREATED && it->oc != OUTCOME_WOULD_CREATE))
		return ITEM_NEXT;
	char *k = xasprintf("%s\t%s", it->src_ns ? it->src_ns : "", it->name);
	const char *why = json_string_value(json_object_get(r->vclaims, k));
	free(k);
	if (!why)
		return ITEM_NEXT;
	it->volume = json_pack("{s:s, s:s, s:s, s:i, s:i}", "method", "velero", "status", "NotRestored",
			       "reason", why, "files", 0, "bytes", 0);
	pthread_mutex_lock(&r->lock);
	warn(r->t, "claim %s/%s is restored without its data: %s", it->ns, it->tname, why);
	pthread_mutex_unlock(&r->lock);
	if (r->s->velero->volumes_required)
		return item_done_take(it, OUTCOME_FAILED, xasprintf("%s without its data (asked for with "
			"--restore-volumes or --pvc): %s", it->oc == OUTCOME_CREATED ? "created" : "would be created",
			why));
	return ITEM_NEXT;
}

static const struct item_stage {
	const char *name;
	int (*run)(struct item *it);
} item_stages[] = {
	{ "decode", stage_decode },
	{ "check", stage_check },
	{ "scope", stage_scope },
	{ "clean", stage_clean },
	{ "volprep", stage_volprep },
	{ "map", stage_map },
	{ "transform", stage_transform },
	{ "volclass", stage_volclass },
	{ "hooks", stage_hooks },
	{ "version", stage_version },
	{ "namespace", stage_namespace },
	{ "lookup", stage_lookup },
	{ "inplace", stage_inplace },
	{ "create", stage_create },
	{ "compare", stage_compare },
	{ "voldata", stage_voldata },
	{ "velero", stage_velero },
	{ "execs", stage_execs },
};

/* The outcome: counted, logged, passed to the caller (restore_spec.on_item).  Before
 * the map stage an item is named as stored; from it on, as in the target, with its
 * source namespace when that differs. */
static void item_record(struct item *it)
{
	if (!it->decided)
		return; /* (every path through the stages decides) */
	report(it->r, it->gr, it->mapped ? it->ns : it->src_ns, it->mapped ? it->src_ns : NULL,
	       it->mapped ? it->tname : it->name, it->oc, it->reason, it->with_obj ? it->obj : NULL, it->volume,
	       it->xf);
}

static void restore_item(struct run *r, const char *line, size_t len)
{
	struct item it = { .r = r, .gr = r->cur->gr, .line = line, .len = len };
	for (size_t i = 0; i < sizeof item_stages / sizeof item_stages[0]; i++)
		if (item_stages[i].run(&it) == ITEM_DONE)
			break;
	item_record(&it);
	json_decref(it.live);
	json_decref(it.volume);
	json_decref(it.xf);
	json_decref(it.obj);
	kube_response_clear(&it.resp);
	free(it.reason);
	free(it.src_ns);
	free(it.name);
}

/* One pool job: the type's next item from its spool file (items are read in order;
 * each job takes the next line).  Failures are reported per item, never to the pool. */
static int item_job(void *ud, size_t job)
{
	struct run *r = ud;
	char *line = NULL;
	size_t cap = 0;
	(void)job;
	pthread_mutex_lock(&r->lock);
	ssize_t n = r->stop ? -1 : getline(&line, &cap, r->cur->f);
	pthread_mutex_unlock(&r->lock);
	if (n > 0)
		restore_item(r, line, (size_t)n);
	free(line);
	return 0;
}

/* Each listed object's text goes to the file as the pager hands it on (the server's
 * bytes, apiVersion and kind inserted where missing: the text kube_list would parse),
 * so it is parsed once, when an item compares against it. */
static int add_existing(void *ud, const struct kube_item *item)
{
	struct run *r = ud;
	const char *ns = meta(item->summary, "namespace"), *name = meta(item->summary, "name");
	if (!name)
		return 0;
	char *k = bread_item_key("", ns, name); /* escaped: a tab cannot merge two names */
	char v[64];
	off_t off = r->live ? ftello(r->live) : -1;
	if (off >= 0 && fwrite(item->text, 1, item->len, r->live) == item->len) {
		snprintf(v, sizeof v, "%lld %zu", (long long)off, item->len);
		strset_put(&r->existing, k, v);
	} else {
		strset_add(&r->existing, k);
	}
	free(k);
	return 0;
}

/* The type's objects in the target cluster, when it serves the type and lets us list
 * it: their names, and the objects themselves in a file (so an existing object is
 * compared without a GET, and memory does not grow with the type).  Otherwise items
 * are looked up one by one. */
static void list_existing(struct run *r, const char *gr)
{
	const struct kube_resource *tr = find_gr(r->target, gr);
	struct kube_list_opts lo = { 0 };
	struct kube_list_stats st = { 0 };
	strset_free(&r->existing);
	r->have_existing = 0;
	r->live_type = NULL;
	if (r->live) {
		fclose(r->live);
		r->live = NULL;
	}
	if (!tr || !(tr->verbs & KUBE_VERB_LIST))
		return;
	r->live = kahu_tmpstream(r->spool_dir, "live.", "the listed objects"); /* NULL: looked up one by one */
	if (kube_list_text(r->kc, tr, &lo, add_existing, r, &st) == 0) {
		r->have_existing = 1;
		if (r->live && fflush(r->live) == 0 && !ferror(r->live))
			r->live_type = tr;
	} else {
		strset_free(&r->existing);
	}
	kube_list_stats_clear(&st);
}

/* The object as listed before the type's items started ("OFFSET LENGTH" in r->live),
 * or NULL (read it then). */
static json_t *listed_object(struct run *r, const char *where)
{
	long long off;
	size_t len;
	if (sscanf(where, "%lld %zu", &off, &len) != 2)
		return NULL;
	char *buf = xmalloc(len ? len : 1);
	json_t *o = NULL;
	if (pread(fileno(r->live), buf, len, (off_t)off) == (ssize_t)len)
		o = json_loadb(buf, len, JSON_ALLOW_NUL, NULL);
	free(buf);
	return o;
}

static void restore_type(struct run *r, struct spool_type *t, const struct kube_resource *src,
			 enum scope_type_decision dec)
{
	/* What the archive holds under another item's name fails, whatever the scope. */
	size_t ri;
	json_t *x;
	json_array_foreach(t->refused, ri, x)
		report(r, t->gr, json_string_value(json_array_get(x, 0)), NULL,
		       json_string_value(json_array_get(x, 1)), OUTCOME_FAILED,
		       json_string_value(json_array_get(x, 2)), NULL, NULL, NULL);
	list_existing(r, t->gr);
	log_info("%s: %ld item%s to restore%s", t->gr, t->n, t->n == 1 ? "" : "s",
		 r->have_existing ? "" : " (its existing objects could not be listed: each is looked up)");
	r->cur = t;
	r->cur_src = src;
	r->cur_decision = dec;
	rewind(t->f);
	unsigned n = r->s->parallel > 0 ? (unsigned)r->s->parallel : 4;
	if (n > 64)
		n = 64;
	/* Only a cancellation ends the pool early: the caller reports it. */
	if (kahu_pool_run(t->n > 0 ? (size_t)t->n : 0, n, 0, item_job, r) < 0)
		r->stop = 1;
}

/* Wait until every CRD created or found is Established and NamesAccepted. */
static void wait_crds(struct run *r)
{
	time_t deadline = time(NULL) + (r->s->crd_timeout > 0 ? r->s->crd_timeout : 60);
	for (size_t i = 0; i < r->crds.n; i++) {
		char *path = xasprintf("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/%s", r->crds.v[i]);
		int ready = 0;
		while (!ready && !kahu_cancelled()) {
			struct kube_response resp = { 0 };
			if (kube_request(r->kc, "GET", path, NULL, NULL, NULL, 0, 0, &resp) == 0) {
				json_t *o = json_loadb(resp.body.data, resp.body.len, 0, NULL);
				int est = 0, names = 0;
				size_t k;
				json_t *c;
				json_array_foreach(json_object_get(json_object_get(o, "status"), "conditions"), k, c) {
					const char *type = json_string_value(json_object_get(c, "type"));
					int t = strcmp(json_string_value(json_object_get(c, "status")) ?: "", "True") == 0;
					if (type && strcmp(type, "Established") == 0)
						est = t;
					if (type && strcmp(type, "NamesAccepted") == 0)
						names = t;
				}
				json_decref(o);
				ready = est && names;
			}
			kube_response_clear(&resp);
			if (!ready) {
				if (time(NULL) >= deadline) {
					char *w = xasprintf("CRD %s was not established within %d s; its custom resources may fail",
							    r->crds.v[i], r->s->crd_timeout > 0 ? r->s->crd_timeout : 60);
					log_warn("%s", w);
					json_array_append_new(r->t->warnings, json_string(w));
					free(w);
					break;
				}
				struct timespec ts = { 0, 250 * 1000000L };
				nanosleep(&ts, NULL);
			}
		}
		free(path);
	}
}

/* What included items need: their namespaces, the PVs of their PVCs, the CRDs of
 * their types.  A pass over the spooled objects of the types listed for themselves. */
static void find_references(struct run *r, struct spool *sp, const struct kube_discovery *bt)
{
	for (size_t i = 0; i < sp->n; i++) {
		struct spool_type *t = &sp->t[i];
		const struct kube_resource *src = find_gr(bt, t->gr);
		if (!src || scope_wants_type(r->s->scope, src) != SCOPE_TYPE_YES)
			continue;
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		rewind(t->f);
		while ((n = getline(&line, &cap, t->f)) > 0) {
			json_t *o = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, NULL);
			if (o && scope_wants_object(r->s->scope, src, o) == SCOPE_INCLUDED) {
				if (meta(o, "namespace"))
					strset_add(&r->ref_ns, meta(o, "namespace"));
				const char *vol = json_string_value(json_object_get(json_object_get(o, "spec"), "volumeName"));
				if (vol && strcmp(t->gr, "persistentvolumeclaims") == 0)
					strset_add(&r->ref_pv, vol);
				strset_add(&r->ref_gr, t->gr);
			}
			json_decref(o);
		}
		free(line);
	}
}

/* ---- the final index ---- */

static void warn(struct restore_totals *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct restore_totals *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *w = NULL;
	if (vasprintf(&w, fmt, ap) < 0)
		w = NULL;
	va_end(ap);
	if (!w)
		return;
	log_warn("%s", w);
	json_array_append_new(t->warnings, json_string(w));
	free(w);
}

/* The types that failed in a backup (kahu/backup.json), by name. */
static json_t *failed_type(json_t *spec, const char *gr)
{
	size_t i;
	json_t *ty;
	json_array_foreach(json_object_get(spec, "types"), i, ty) {
		const char *r = json_string_value(json_object_get(ty, "resource"));
		if (r && strcmp(r, gr) == 0)
			return json_object_get(ty, "error") ? ty : NULL;
	}
	return NULL;
}

static const char *type_error(json_t *ty)
{
	const char *e = json_string_value(json_object_get(ty, "error"));
	return e ? e : "failed";
}

/* What the restore will hold: the index of the backup restored, each item with its
 * hash.  Lines missing for a type that failed would read as deletions.  A backup
 * written by this kahu carried the type's lines over from an older backup
 * ("carriedOverFrom" in kahu/backup.json): say so.  For one that did not (written by
 * an earlier kahu), the lines of that type are taken from the older backups of the
 * chain here.  Either way the items of a failed type are never dropped as deletions,
 * and the result says where they come from. */
/* The key for one backup of the chain: none for one written without encryption. */
static const struct kahu_key *chain_key(const struct restore_spec *s, const struct manifest *m)
{
	return m->encrypted ? s->key : NULL;
}

static int final_index(const struct restore_spec *s, const struct strv *chain, struct manifest **manifests,
		       struct spool *sp, struct restore_totals *t)
{
	struct index_pass ip = { .want = &sp->want, .encoded = &sp->encoded };
	struct strset pending = STRSET_INIT;
	json_t *newer, *older = NULL;
	size_t i;
	json_t *ty;
	int rc;

	if ((rc = bread_index_spec(s->st, chain_key(s, manifests[0]), chain->v[0], manifests[0], want_line, &ip,
				   &sp->backup_spec)) < 0)
		return rc;
	if (manifests[0]->status == MANIFEST_FAILED)
		warn(t, "backup %s is Failed: none of its resource types could be backed up", chain->v[0]);
	json_array_foreach(json_object_get(sp->backup_spec, "types"), i, ty) {
		const char *gr = json_string_value(json_object_get(ty, "resource"));
		const char *from = json_string_value(json_object_get(ty, "carriedOverFrom"));
		if (!gr || !json_object_get(ty, "error"))
			continue;
		if (from)
			warn(t, "backup %s could not back up %s (%s): its %lld items come from the older backup %s%s",
			     chain->v[0], gr, type_error(ty), (long long)json_integer_value(json_object_get(ty, "items")),
			     from, json_is_true(json_object_get(ty, "carriedOverIncomplete")) ?
			     ", which could not back up all of them either: some may be missing" : "");
		else if (chain->n > 1)
			strset_add(&pending, gr);
		else
			warn(t, "backup %s could not back up %s (%s): %lld of its items were backed up, others may be missing",
			     chain->v[0], gr, type_error(ty), (long long)json_integer_value(json_object_get(ty, "items")));
	}
	/* Backups that did not carry failed types over: their older backups' lines. */
	newer = sp->backup_spec;
	for (size_t k = 1; pending.n && k < chain->n; k++) {
		struct strset still = STRSET_INIT;
		ip.only = &pending;
		if ((rc = bread_index_spec(s->st, chain_key(s, manifests[k]), chain->v[k], manifests[k], want_line, &ip, &older)) < 0)
			break;
		for (size_t j = 0; j < pending.cap; j++) {
			const char *gr = pending.slots[j];
			if (!gr)
				continue;
			warn(t, "backup %s could not back up %s (%s) and did not carry its items over: "
			     "they are taken from the older backup %s (objects deleted in between may come back)",
			     chain->v[k - 1], gr, type_error(failed_type(newer, gr)), chain->v[k]);
			json_t *oty = failed_type(older, gr);
			if (!oty || json_object_get(oty, "carriedOverFrom"))
				continue;
			if (k + 1 < chain->n)
				strset_add(&still, gr);
			else
				warn(t, "backup %s could not back up %s either (%s): some of its items may be missing",
				     chain->v[k], gr, type_error(oty));
		}
		strset_free(&pending);
		pending = still;
		if (newer != sp->backup_spec)
			json_decref(newer);
		newer = older;
		older = NULL;
	}
	if (newer != sp->backup_spec)
		json_decref(newer);
	strset_free(&pending);
	return rc;
}

static int cmp_spool(const void *a, const void *b)
{
	return restore_type_cmp(((const struct spool_type *)a)->gr, ((const struct spool_type *)b)->gr);
}

int restore_run(struct kube_client *kc, const struct restore_spec *s, struct restore_totals *t)
{
	struct spool sp = { 0 };
	struct strv chain = STRV_INIT;
	struct manifest **manifests = NULL;
	struct kube_discovery *bt = NULL;
	struct run r = { .kc = kc, .s = s, .t = t };
	r.hooks = restore_hooks_new(kc, s->hooks, s->parallel);
	int rc;

	memset(t, 0, sizeof *t);
	t->started = time(NULL);
	t->warnings = json_array();
	pthread_mutex_init(&r.lock, NULL);

	/* The chain: the backup, its parent, … back to the full backup (none for a Velero
	 * backup). */
	const char *cur = s->velero ? NULL : s->backup;
	while (cur) {
		struct manifest *m = NULL;
		if (chain.n > 1000) {
			rc = kahu_error_set(KAHU_EDATA, "the backup chain of %s does not end", s->backup);
			goto out;
		}
		if ((rc = bread_manifest(s->st, s->key, cur, 1, &m)) < 0) {
			if (rc == KAHU_ENOTFOUND)
				kahu_error_set(rc, chain.n ? "backup %s, which %s builds on, is missing" :
					       "no backup named %s", cur, chain.n ? chain.v[chain.n - 1] : "");
			goto out;
		}
		if (!m->encrypted && s->key && !s->allow_unencrypted) {
			/* No MAC: anyone who can write to the location could have put it there. */
			char *which = chain.n ? xasprintf("backup %s (in the chain of %s)", cur, s->backup) :
				      xasprintf("backup %s", cur);
			rc = kahu_error_set(KAHU_ECRYPTO, "%s is not encrypted, so it cannot be "
					    "authenticated: refusing it in a restore with a key (if it "
					    "is yours, written with --no-encryption, accept it with "
					    "--allow-unencrypted)", which);
			free(which);
			manifest_free(m);
			goto out;
		}
		strv_push(&chain, cur);
		manifests = xrealloc(manifests, chain.n * sizeof *manifests);
		manifests[chain.n - 1] = m;
		cur = m->type == MANIFEST_DIFFERENTIAL ? m->base :
		      m->type == MANIFEST_INCREMENTAL ? m->parent : NULL;
	}

	/* Spool the items of the final index, newest archive first. */
	const char *tmp = getenv("TMPDIR");
	sp.dir = xasprintf("%s/kahu-restore.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(sp.dir)) {
		rc = kahu_error_set(KAHU_EIO, "cannot create a temporary directory: %s", strerror(errno));
		free(sp.dir);
		sp.dir = NULL;
		goto out;
	}
	r.spool_dir = sp.dir;
	if (s->velero) {
		size_t ni;
		json_t *nv;
		json_array_foreach(s->velero->notes, ni, nv)
			warn(t, "%s", json_string_value(nv));
		r.vclaims = s->velero->volumes_unwanted ? json_object() : json_deep_copy(s->velero->claims);
		if ((rc = spool_velero(s->velero, &sp, r.vclaims, t)) < 0)
			goto out;
	} else if ((rc = final_index(s, &chain, manifests, &sp, t)) < 0)
		goto out;
	for (size_t i = 0; i < chain.n; i++)
		if ((rc = spool_backup(s->st, chain_key(s, manifests[i]), chain.v[i], manifests[i], &sp,
				       i == 0)) < 0)
			goto out;
	/* Items that no archive of the chain holds in the version the index records, but
	 * one holds in another: a corrupt or altered archive.  Each fails with the reason,
	 * none is restored from a version nothing vouches for. */
	size_t refused_versions = 0;
	for (size_t j = 0; j < sp.mismatched.cap; j++) {
		const char *k = sp.mismatched.slots ? sp.mismatched.slots[j] : NULL;
		if (!k || strset_has(&sp.taken, k))
			continue;
		json_t *v = json_loads(sp.mismatched.values[j], 0, NULL);
		const char *gr = json_string_value(json_array_get(v, 0));
		struct spool_type *st = gr ? spool_type(&sp, gr) : NULL;
		if (st) {
			if (!st->refused)
				st->refused = json_array();
			json_array_append_new(st->refused, json_pack("[O, O, O]", json_array_get(v, 1),
								     json_array_get(v, 2), json_array_get(v, 3)));
			refused_versions++;
		}
		json_decref(v);
	}
	if (sp.taken.n + refused_versions < sp.want.n) {
		char *w = xasprintf("%zu items of the index were not found in the backup chain",
				    sp.want.n - sp.taken.n - refused_versions);
		log_warn("%s", w);
		json_array_append_new(t->warnings, json_string(w));
		free(w);
	}
	if (!sp.backup_spec) {
		rc = kahu_error_set(KAHU_EDATA, "backup %s has no kahu/backup.json", s->backup);
		goto out;
	}

	/* Scope names resolve against the backup's types. */
	bt = backup_types(sp.backup_spec);
	struct strv warnings = STRV_INIT;
	rc = scope_resolve(s->scope, bt, &warnings);
	for (size_t i = 0; i < warnings.n; i++)
		log_warn("%s", warnings.v[i]);
	strv_free(&warnings);
	if (rc < 0)
		goto out;

	r.copts.backup_name = s->backup;
	r.copts.restore_name = s->name;
	r.copts.preserve_nodeports = s->preserve_nodeports;
	r.copts.restore_owned = s->restore_owned;
	r.copts.status_include = s->status_include;
	/* (no mapping in copts: the item's map stage applies s->map after cleaning) */
	restore_clean_opts_init(&r.copts);

	if ((rc = kube_discover(kc, &r.target)) < 0)
		goto out;
	find_references(&r, &sp, bt);
	qsort(sp.t, sp.n, sizeof *sp.t, cmp_spool);
	for (size_t i = 0; i < sp.n; i++)
		r.total += sp.t[i].n + (long)json_array_size(sp.t[i].refused);

	int crds_done = 0;
	for (size_t i = 0; i < sp.n && !r.stop; i++) {
		struct spool_type *st = &sp.t[i];
		const struct kube_resource *src = find_gr(bt, st->gr);
		enum scope_type_decision dec = src ? scope_wants_type(s->scope, src) : SCOPE_TYPE_NO;
		int only_claims = s->volumes_only && strcmp(st->gr, "persistentvolumeclaims") != 0;
		if (only_claims)
			dec = SCOPE_TYPE_NO;
		if (!crds_done && !restore_is_crd(st->gr)) {
			/* Custom resources come after their CRDs are served. */
			crds_done = 1;
			if (r.crds.n && !s->dry_run) {
				wait_crds(&r);
				kube_discovery_free(r.target);
				r.target = NULL;
				if ((rc = kube_discover(kc, &r.target)) < 0)
					goto out;
			}
		}
		if (dec == SCOPE_TYPE_NO) {
			/* Report the type's items as excluded without reading them one by one. */
			char *why = only_claims ? xasprintf("not restored: --volumes-only writes the data of claims only") :
				    xasprintf("excluded: type %s not in the scope", st->gr);
			long n = st->n + (long)json_array_size(st->refused);
			pthread_mutex_lock(&r.lock);
			t->skipped += n;
			t->items += n;
			r.done += n;
			pthread_mutex_unlock(&r.lock);
			log_info("%s: %ld items not restored (%s)", st->gr, n, why);
			free(why);
			continue;
		}
		restore_type(&r, st, src, dec);
	}
	rc = 0;
	if (!r.stop && !kahu_cancelled()) {
		struct strv unused = STRV_INIT;
		transform_unused(s->xform, &unused);
		for (size_t i = 0; i < unused.n; i++)
			warn(t, "%s", unused.v[i]);
		strv_free(&unused);
	}
	/* The restored pods' exec hooks, once everything is created. */
	if (!r.stop && !kahu_cancelled() && restore_hooks_run(r.hooks) == 0 &&
	    restore_hooks_results(r.hooks)->n) {
		struct hook_results *hr = restore_hooks_results(r.hooks);
		t->hooks = hook_results_json(hr);
		t->hooks_failed = hr->failed;
		for (size_t i = 0; i < hr->n; i++)
			if (hr->v[i].error)
				json_array_append_new(t->warnings, json_sprintf(
					"restore hook %s in pod %s/%s failed (on-error %s): %s", hr->v[i].hook,
					hr->v[i].namespace_, hr->v[i].pod,
					hr->v[i].on_error == HOOK_FAIL ? "Fail" : "Continue", hr->v[i].error));
	}
	if (r.stop || kahu_cancelled()) {
		t->interrupted = 1;
		rc = kahu_error_set(KAHU_EINTR, "restore %s interrupted; %ld of %ld items were handled",
				    s->name, r.done, r.total);
	}
out:
	t->completed = time(NULL);
	t->status = t->interrupted ? "Interrupted" : rc < 0 ? "Failed" :
		    t->failed == 0 ? (t->hooks_failed ? "PartiallyFailed" : "Completed") :
		    (t->created + t->updated + t->skipped) ? "PartiallyFailed" : "Failed";
	for (size_t i = 0; i < chain.n; i++)
		manifest_free(manifests[i]);
	free(manifests);
	strv_free(&chain);
	spool_free(&sp);
	kube_discovery_free(bt);
	kube_discovery_free(r.target);
	strset_free(&r.namespaces);
	strset_free(&r.ref_ns);
	strset_free(&r.ref_pv);
	strset_free(&r.ref_gr);
	strset_free(&r.existing);
	if (r.live)
		fclose(r.live);
	strv_free(&r.crds);
	strset_free(&r.dry_kinds);
	json_decref(r.vclaims);
	restore_clean_opts_release(&r.copts);
	pthread_mutex_destroy(&r.lock);
	restore_hooks_free(r.hooks);
	return rc;
}

void restore_totals_clear(struct restore_totals *t)
{
	json_decref(t->warnings);
	json_decref(t->hooks);
	memset(t, 0, sizeof *t);
}

/* kahu — the data of a volume.  See voldata.h and FORMAT.md "Volume data". */
#include "engine/voldata.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <sodium.h>

#include "archive/envelope.h"
#include "archive/key.h"
#include "archive/seal.h"
#include "engine/vol_int.h"
#include "store/layout.h"
#include "store/store.h"
#include "util/backoff.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strset.h"
#include "util/strv.h"
#include "util/writeq.h"

#define IO_CHUNK (64 * 1024)
#define INDEX_BLOCK (64 * 1024) /* index lines handed to the compressor together */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vol_id(const struct kahu_key *key, const char *namespace_, const char *pvc,
	    char out[VOL_ID_HEX_LEN + 1])
{
	uint8_t sub[32], h[16];
	char *s = xasprintf("%s/%s", namespace_, pvc);
	kahu_crypto_init();
	if (key) {
		kahu_key_subkey(key, "kahu-vid", sub);
		crypto_generichash(h, sizeof h, (const uint8_t *)s, strlen(s), sub, sizeof sub);
		sodium_memzero(sub, sizeof sub);
	} else {
		crypto_generichash(h, sizeof h, (const uint8_t *)s, strlen(s), NULL, 0);
	}
	sodium_bin2hex(out, VOL_ID_HEX_LEN + 1, h, sizeof h);
	free(s);
}

/* ---- running a command ---- */

/* What a failed command said (its stderr tail, escaped), as ": …" or "". */
static char *said(const char *tail)
{
	struct kbuf b = KBUF_INIT;
	size_t n = tail ? strlen(tail) : 0;
	while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r' || tail[n - 1] == ' '))
		n--; /* its last line's end */
	if (n) {
		char *t = xstrndup(tail, n);
		kbuf_adds(&b, ": ");
		kbuf_add_printable(&b, t, 0);
		free(t);
	}
	kbuf_adds(&b, "");
	return kbuf_detach(&b);
}

/* How messages name a volume: "namespace/pvc" as users know it, else its vid. */
static const char *vol_label(const char *label, const char *vid)
{
	return label ? label : vid;
}

/* Run argv, writing `in` (a file from its start, in_len bytes; NULL: no stdin) and
 * spooling stdout into `out` (may be NULL: discarded).  *exit_code set.  not_started
 * (may be NULL): set when the command could not be started at all. */
static int run_simple(const struct vol_exec_ops *ops, void *ctx, const char *const *argv, FILE *in,
		      uint64_t in_len, FILE *out, int *exit_code, char **said_out, bool *not_started)
{
	void *h = NULL;
	char *buf = xmalloc(IO_CHUNK);
	struct kahu_error_state unread = { .code = 0 };
	int rc = ops->start(ctx, argv, in != NULL, &h);
	if (rc < 0) {
		if (not_started)
			*not_started = true;
		goto out;
	}
	if (in) {
		uint64_t left = in_len;
		rewind(in);
		while (rc == 0 && left > 0) {
			size_t n = fread(buf, 1, left < IO_CHUNK ? (size_t)left : IO_CHUNK, in);
			if (n == 0) {
				rc = kahu_error_set(KAHU_EIO, "cannot read a temporary file: %s",
						    ferror(in) ? strerror(errno) : "short");
				break;
			}
			rc = ops->write(h, buf, n);
			left -= n;
		}
		if (rc == 0)
			rc = ops->close_stdin(h);
		if (rc == KAHU_EFAIL && ops->ended && ops->ended(h)) {
			/* It ended before it read all of its input: its exit status and stderr
			 * say why (the caller reports them); an exit status of 0 does not make
			 * that a success. */
			kahu_error_capture(&unread);
			rc = 0;
		}
	}
	while (rc == 0) {
		size_t got = 0;
		if ((rc = ops->read(h, buf, IO_CHUNK, &got)) < 0 || got == 0)
			break;
		if (out && fwrite(buf, 1, got, out) != got)
			rc = kahu_error_set(KAHU_EIO, "cannot write a temporary file: %s", strerror(errno));
	}
	if (rc == 0) {
		*said_out = said(ops->stderr_tail ? ops->stderr_tail(h) : NULL);
		rc = ops->finish(h, exit_code);
		h = NULL;
		if (rc == 0 && *exit_code == 0 && unread.code < 0)
			rc = kahu_error_restore(&unread);
	}
out:
	if (h)
		ops->abort(h);
	free(buf);
	return rc;
}

/* ---- reading a stored sealed object ---- */

struct obj_pull {
	struct kahu_store *st;
	const char *key;
	uint64_t off, size;
	struct kbuf buf;
	size_t pos;
};

static int obj_append(void *ud, const void *buf, size_t len)
{
	kbuf_add(ud, buf, len);
	return 0;
}

static int obj_pull_read(void *ud, void *buf, size_t cap, size_t *got)
{
	struct obj_pull *p = ud;
	if (p->pos == p->buf.len) {
		kbuf_reset(&p->buf);
		p->pos = 0;
		if (p->off < p->size) {
			uint64_t want = p->size - p->off < (1u << 20) ? p->size - p->off : (1u << 20);
			int rc = store_get(p->st, p->key, p->off, want, obj_append, &p->buf);
			if (rc < 0)
				return rc;
			if (p->buf.len == 0)
				return kahu_error_set(KAHU_EDATA, "%s: shorter than it was", p->key);
			p->off += p->buf.len;
		}
	}
	size_t n = p->buf.len - p->pos < cap ? p->buf.len - p->pos : cap;
	memcpy(buf, p->buf.data + p->pos, n);
	p->pos += n;
	*got = n;
	return 0;
}

struct sealed_in {
	struct obj_pull src;
	struct seal_pull *sp;
	char *path;
};

/* run: hex of the run the object must be bound to (manifest.h), or NULL: not checked. */
static int run_bytes(const char *run, uint8_t out[KENC_RUN_BYTES])
{
	size_t n = 0;
	if (strlen(run) != 2 * KENC_RUN_BYTES ||
	    sodium_hex2bin(out, KENC_RUN_BYTES, run, strlen(run), NULL, &n, NULL) != 0 ||
	    n != KENC_RUN_BYTES)
		return kahu_error_set(KAHU_EINTERNAL, "bad run id \"%s\"", run);
	return 0;
}

static int sealed_open(struct kahu_store *st, const struct kahu_key *key, char *path,
		       const char *run, struct sealed_in *in)
{
	uint8_t rb[KENC_RUN_BYTES];
	struct store_stat ss;
	memset(in, 0, sizeof *in);
	in->path = path;
	int rc = store_stat(st, path, &ss);
	if (rc < 0)
		return rc;
	in->src.st = st;
	in->src.key = path;
	in->src.size = ss.size;
	if (key && run && (rc = run_bytes(run, rb)) < 0)
		return rc;
	if ((rc = seal_pull_new(key, path, obj_pull_read, &in->src, &in->sp)) < 0)
		return rc;
	if (key && run)
		seal_pull_expect_run(in->sp, rb);
	return 0;
}

static void sealed_close(struct sealed_in *in)
{
	if (in->sp)
		seal_pull_free(in->sp);
	kbuf_free(&in->src.buf);
	free(in->path);
	memset(in, 0, sizeof *in);
}

/* A whole sealed object, decompressed, into an unlinked temp file (rewound). */
static int sealed_spool(struct kahu_store *st, const struct kahu_key *key, char *path,
			const char *run, FILE **out)
{
	struct sealed_in in;
	char *buf = xmalloc(IO_CHUNK);
	FILE *f = NULL;
	int rc = sealed_open(st, key, path, run, &in);
	if (rc == 0 && !(f = kahu_tmpstream(NULL, "kahu-vol-", "a volume index")))
		rc = kahu_error_code() ? kahu_error_code() : KAHU_EIO;
	while (rc == 0) {
		size_t got = 0;
		if ((rc = seal_pull_read(in.sp, buf, IO_CHUNK, &got)) < 0 || got == 0)
			break;
		if (fwrite(buf, 1, got, f) != got)
			rc = kahu_error_set(KAHU_EIO, "cannot write a temporary file: %s", strerror(errno));
	}
	sealed_close(&in);
	free(buf);
	if (rc == 0 && fflush(f) != 0)
		rc = kahu_error_set(KAHU_EIO, "cannot write a temporary file: %s", strerror(errno));
	if (rc < 0) {
		if (f)
			fclose(f);
		return rc;
	}
	rewind(f);
	*out = f;
	return 0;
}

/* ---- writing a sealed object ---- */

struct sealed_out {
	struct store_put *put;
	struct seal_writer sw;
	struct seal_async *as;  /* instead of sw: sealed on threads of its own */
	struct kahu_hash *hash; /* NULL: bound to the run instead (no hash) */
	uint64_t size;
	char *path;
};

static int sealed_out_sink(void *ud, const void *buf, size_t len)
{
	struct sealed_out *o = ud;
	if (o->hash)
		kahu_hash_update(o->hash, buf, len);
	o->size += len;
	return store_put_write(o->put, buf, len);
}

/* async: compressed, encrypted and stored on threads of its own (seal_async_open;
 * sealed_out_sink then runs on one of them, using o->put alone until it is joined).
 * run (hex, with a key): the envelope carries it and the object gets no hash (the
 * manifest's format 2); NULL: the BLAKE2b of the stored bytes is computed. */
static int sealed_begin(struct kahu_store *st, const struct kahu_key *key, const char *run,
			int level, bool async, char *path, struct sealed_out *o)
{
	uint8_t rb[KENC_RUN_BYTES];
	const uint8_t *r = NULL;
	memset(o, 0, sizeof *o);
	o->path = path;
	int rc = 0;
	if (key && run) {
		if ((rc = run_bytes(run, rb)) < 0)
			return rc;
		r = rb;
	} else {
		o->hash = kahu_hash_new();
	}
	rc = store_put_begin_ex(st, path, KAHU_PUT_EXCLUSIVE, KAHU_BACKEND_SIZE_UNKNOWN, &o->put);
	if (rc == 0)
		rc = async ? seal_async_open_run(&o->as, key, path, r, level, sealed_out_sink, o)
			   : seal_open_run(&o->sw, key, path, r, level, sealed_out_sink, o);
	return rc;
}

static int sealed_write(struct sealed_out *o, const void *buf, size_t len)
{
	return o->as ? seal_async_write(o->as, buf, len) : seal_write(&o->sw, buf, len);
}

/* Commit; its {path, size, blake2b} (path relative to backups/<backup>/) into objects,
 * {path, size} for an object bound to the run. */
static int sealed_commit(struct sealed_out *o, const char *backup, json_t *objects)
{
	char hex[KAHU_HASH_HEX_LEN + 1] = "";
	int rc = o->as ? seal_async_finish(o->as) : seal_finish(&o->sw);
	if (rc == 0) {
		rc = store_put_commit(o->put);
		o->put = NULL;
	}
	if (rc == 0) {
		if (o->hash)
			kahu_hash_final_hex(o->hash, hex);
		json_array_append_new(objects, json_pack("{s:s, s:I, s:s*}", "path",
							 layout_backup_rel(backup, o->path), "size",
							 (json_int_t)o->size, "blake2b",
							 o->hash ? hex : NULL));
	}
	return rc;
}

static void sealed_discard(struct sealed_out *o)
{
	seal_async_free(o->as); /* its threads are joined before the put is aborted */
	if (o->put)
		store_put_abort(o->put);
	seal_close(&o->sw);
	if (o->hash)
		kahu_hash_free(o->hash);
	free(o->path);
	memset(o, 0, sizeof *o);
}

/* ---- commands ---- */

/* The tools a file copy runs, checked first by a listing that checks them: a missing
 * one is exit status 127, as a missing command is to sh. */
#define TOOLS_CHECK "for t in find stat sort xargs tar; do command -v $t >/dev/null || " \
	"{ echo \"no $t\" >&2; exit 127; }; done; "

static char *listing_script(const char *nonce, bool check_tools)
{
	/* find's failure (an unreadable directory) must not read as deletions: it makes
	 * stat fail on a name that cannot exist, so the whole command fails. */
	return xasprintf("%scd \"$1\" || exit 2; printf '%s|now|%%s\\n' \"$(date +%%s)\"; { find . -xdev ! -path . -print0 || "
			 "printf './\\n/kahu: find failed\\0'; } | LC_ALL=C sort -z | "
			 "xargs -0 -r stat -c '%s|%%i|%%h|%%f|%%u|%%g|%%s|%%Y|%%Z|%%n'",
			 check_tools ? TOOLS_CHECK : "", nonce, nonce);
}

static const char TRANSFER_SCRIPT[] =
	"cd \"$1\" || exit 2; head -c \"$2\" | LC_ALL=C sort -z | "
	"xargs -0 -r tar -c -f - --no-recursion --numeric-owner --";

static const char DELETE_SCRIPT[] =
	"cd \"$1\" || exit 2; head -c \"$2\" | xargs -0 -r rm -rf --";
/* Symlink owners: "UID:GID\0./PATH\0" pairs on stdin (busybox's tar -x does not set a
 * symlink's owner; GNU tar does, and this does it again). */
static const char LCHOWN_SCRIPT[] =
	"cd \"$1\" || exit 2; head -c \"$2\" | xargs -0 -r -n 2 chown -h";

/* List the volume into a spool (rewound); nonce: 16 random hex.  check_tools: the
 * command first checks the tools of a file copy; when it cannot be started at all or
 * exits 126 or 127 (a tool missing), *no_tools is set and the error says which. */
static int run_listing(const struct vol_exec_ops *ops, void *ctx, const char *mount, char *nonce,
		       bool check_tools, bool *no_tools, FILE **out)
{
	uint8_t r[VOL_NONCE_LEN / 2];
	int code = 0, rc;
	randombytes_buf(r, sizeof r);
	sodium_bin2hex(nonce, VOL_NONCE_LEN + 1, r, sizeof r);
	char *script = listing_script(nonce, check_tools);
	const char *argv[] = { "sh", "-c", script, "sh", mount, NULL };
	FILE *f = kahu_tmpstream(NULL, "kahu-vol-", "a volume listing");
	if (!f) {
		free(script);
		return kahu_error_code() ? kahu_error_code() : KAHU_EIO;
	}
	char *msg = NULL;
	bool not_started = false;
	rc = run_simple(ops, ctx, argv, NULL, 0, f, &code, &msg, &not_started);
	free(script);
	/* Not started (the container gone, exec refused), or refused by the runtime with no
	 * exit status (no sh: a Status Failure, KAHU_EFAIL): as a failed probe was.  A
	 * stream that breaks once the command runs (KAHU_EIO) is retried like any listing. */
	if (check_tools && rc < 0 && rc != KAHU_EINTR && (not_started || rc == KAHU_EFAIL)) {
		*no_tools = true;
		kahu_error_wrap(rc, "cannot run the file copy");
	} else if (check_tools && rc == 0 && (code == 126 || code == 127)) {
		*no_tools = true;
		rc = kahu_error_set(KAHU_EFAIL, "lacks a tool the file copy needs (exit %d)%s", code, msg);
	} else if (rc == 0 && code != 0) {
		rc = kahu_error_set(KAHU_EFAIL, "listing the volume failed (exit status %d)%s", code, msg);
	}
	free(msg);
	if (rc == 0 && fflush(f) != 0)
		rc = kahu_error_set(KAHU_EIO, "cannot write a temporary file: %s", strerror(errno));
	if (rc < 0) {
		fclose(f);
		return rc;
	}
	rewind(f);
	*out = f;
	return 0;
}

/* ---- backup ---- */

struct ingest {
	const struct vol_backup_spec *s;
	struct vol_backup_result *r;
	json_t *objects;
	struct strv written;      /* object paths written (removed on failure) */
	/* plan and transfer list */
	FILE *plan, *results, *xfer;
	uint64_t xfer_len, xfer_count;
	uint64_t plan_x;             /* plan lines flagged X (new or changed) */
	struct strset group_first;   /* ino → first path of a hard-link group (files with nlink > 1) */
	struct strset group_changed; /* inos of groups with a changed member */
	struct strset group_hash;    /* ino → content hash of the group's first member */
	/* the segment being written: *seg, one of segs (the sealing threads write through
	 * its address, so it stays where it is until committed) */
	struct sealed_out segs[2], *seg;
	struct archive *aw;
	/* The segment before it, committed on a thread of its own (its compressor's tail,
	 * the envelope's end, the store's commit: fsync and rename) while this one is
	 * written.  Segments alternate between the store handle and a second one
	 * (store_reopen: a handle is used by one thread at a time), so the commit's
	 * handle is never the writing segment's. */
	struct seg_commit {
		bool active;              /* a segment is being or has been committed */
		bool threaded;            /* on th (else in line: nothing to join) */
		pthread_t th;
		struct sealed_out *seg;   /* one of segs */
		const char *backup;
		json_t *objects;          /* what sealed_commit lists, moved at the join */
		int rc;
		struct kahu_error_state err;
		struct kahu_log_scope *log_scope;
	} pending;
	struct kahu_store *st2;       /* the second handle; NULL until the second segment */
	bool no_overlap;              /* store_reopen failed: commits in line */
	long seg_no;
	uint64_t seg_in;
	int sink_rc;
	/* the command's stdout */
	void *h;
	int src_rc;
	uint64_t src_bytes;
	char *rbuf;
	/* expected entries: the plan read from plan_pos */
	long plan_pos;
	bool plan_at_pos;         /* the plan's stream stands at plan_pos (no seek needed) */
	uint64_t done;            /* transfer-list entries handled */
	uint64_t done_off;        /* their bytes in the transfer list */
	char *said;               /* the last transfer command's stderr, for messages */
};

static bool needs_xfer(struct ingest *g, char flag, const struct vol_entry *e)
{
	if (flag == 'X')
		return true;
	if ((e->type == VOL_T_FILE || e->type == VOL_T_HARDLINK) && e->nlink > 1) {
		char ino[24];
		snprintf(ino, sizeof ino, "%" PRIu64, e->ino);
		return strset_has(&g->group_changed, ino);
	}
	return false;
}

/* Can the listed entry keep the parent's line?  A regular file: same size and times,
 * inode, mode, owner and nlink.  A directory, symlink or FIFO has no content: the
 * listing holds all of it but a symlink's target, and that cannot change in place (a
 * new target is a new symlink, with its own ctime), so the same times, inode, mode,
 * owner, nlink (and a symlink's size) keep it without a transfer. */
static bool unchanged(const struct vol_entry *cur, const struct vol_entry *par)
{
	if (par->racy || cur->mtime != par->mtime || cur->ctime != par->ctime || cur->ino != par->ino ||
	    cur->mode != par->mode || cur->uid != par->uid || cur->gid != par->gid ||
	    cur->nlink != par->nlink)
		return false;
	if (cur->type == VOL_T_FILE) {
		char pt = par->type == VOL_T_HARDLINK ? VOL_T_FILE : par->type;
		return pt == VOL_T_FILE && cur->size == par->size;
	}
	if (cur->type == VOL_T_SYMLINK)
		return par->type == VOL_T_SYMLINK && cur->size == par->size;
	return (cur->type == VOL_T_DIR || cur->type == VOL_T_FIFO) && cur->type == par->type;
}

static int write_plan_line(FILE *f, char flag, const struct vol_entry *e)
{
	char *line = vol_index_format(e);
	int ok = fprintf(f, "%c%s\n", flag, line) > 0;
	free(line);
	return ok ? 0 : kahu_error_set(KAHU_EIO, "cannot write a temporary file: %s", strerror(errno));
}

/* Read one plan line: flag and entry; 0 at the end. */
static int read_plan_line(FILE *f, char **line, size_t *cap, char *flag, struct vol_entry *e)
{
	ssize_t n = getline(line, cap, f);
	if (n <= 0)
		return 0;
	if ((*line)[n - 1] == '\n')
		n--;
	*flag = (*line)[0];
	int rc = vol_index_parse_ex(*line + 1, (size_t)n - 1, e, false);
	return rc < 0 ? rc : 1;
}

/* A cursor over an index (one line per entry, sorted by path): the other side of a
 * merge join with a listing.  f NULL: an empty index. */
struct idx_cursor {
	FILE *f;
	struct vol_entry e;       /* the entry at the cursor, when have */
	char *line;
	size_t cap;
	bool have, end;
};

static void idx_cursor_init(struct idx_cursor *c, FILE *f)
{
	memset(c, 0, sizeof *c);
	c->f = f;
	c->e.segment = -1;
	c->end = f == NULL;
}

/* Moves past the entries before `path` (the listing's next one): then c->have says
 * whether an entry is at the cursor (its path not before `path`).  0 or an error. */
static int idx_cursor_seek(struct idx_cursor *c, const char *path, size_t len)
{
	while (!c->end) {
		if (!c->have) {
			ssize_t n = getline(&c->line, &c->cap, c->f);
			if (n <= 0) {
				c->end = true;
				break;
			}
			if (c->line[n - 1] == '\n')
				c->line[--n] = 0;
			int rc = vol_index_parse(c->line, (size_t)n, &c->e);
			if (rc < 0)
				return rc;
			c->have = true;
		}
		if (vol_path_cmp(c->e.path, c->e.path_len, path, len) >= 0)
			break;
		c->have = false;
	}
	return 0;
}

/* The entry at the cursor is `path`'s (after idx_cursor_seek to it). */
static bool idx_cursor_at(const struct idx_cursor *c, const char *path)
{
	return c->have && !strcmp(c->e.path, path);
}

static void idx_cursor_free(struct idx_cursor *c)
{
	vol_entry_clear(&c->e);
	free(c->line);
}

/* The merge join of the listing with the parent's index (both sorted): the plan. */
static int make_plan(struct ingest *g, FILE *listing, const char *nonce, FILE *parent)
{
	struct vol_listing l;
	struct vol_entry cur = { .segment = -1 };
	struct idx_cursor pc;
	struct vol_entry *par = &pc.e;
	int rc;

	idx_cursor_init(&pc, parent);
	vol_listing_init(&l, listing, nonce);
	while ((rc = vol_listing_next(&l, &cur)) == 1) {
		if (vol_glob_match_any(g->s->exclude, cur.path))
			continue;
		/* the parent's entries before this one were deleted */
		if ((rc = idx_cursor_seek(&pc, cur.path, cur.path_len)) < 0)
			goto out;
		char flag = 'X';
		/* changed in the second the listing began: a later change in that second
		 * would leave size and times as they are */
		cur.racy = l.now >= 0 && (cur.ctime >= l.now || cur.mtime >= l.now);
		if (idx_cursor_at(&pc, cur.path) && unchanged(&cur, par)) {
			flag = 'K';
			cur.type = par->type;
			cur.size = par->size; /* a directory's and a FIFO's are 0 in the index */
			memcpy(cur.hash, par->hash, sizeof cur.hash);
			cur.target = par->target;
			par->target = NULL;
			cur.backup = par->backup;
			par->backup = NULL;
			cur.segment = par->segment;
		}
		if ((cur.type == VOL_T_FILE || cur.type == VOL_T_HARDLINK) && cur.nlink > 1) {
			char ino[24];
			snprintf(ino, sizeof ino, "%" PRIu64, cur.ino);
			if (!strset_get(&g->group_first, ino))
				strset_put(&g->group_first, ino, cur.path);
			if (flag == 'X')
				strset_add(&g->group_changed, ino);
		}
		if (flag == 'X')
			g->plan_x++;
		if ((rc = write_plan_line(g->plan, flag, &cur)) < 0)
			goto out;
	}
out:
	vol_entry_clear(&cur);
	idx_cursor_free(&pc);
	vol_listing_free(&l);
	if (rc == 0 && fflush(g->plan) != 0)
		rc = kahu_error_set(KAHU_EIO, "cannot write a temporary file: %s", strerror(errno));
	return rc;
}

/* The transfer list: "./path" NUL-terminated, in plan order. */
static int make_xfer(struct ingest *g)
{
	struct vol_entry e = { .segment = -1 };
	char *line = NULL, flag = 0;
	size_t cap = 0;
	int rc;
	if (g->plan_x == 0)
		return 0; /* nothing new or changed (so no hard-link group changed either) */
	rewind(g->plan);
	while ((rc = read_plan_line(g->plan, &line, &cap, &flag, &e)) == 1) {
		if (!needs_xfer(g, flag, &e))
			continue;
		if (fprintf(g->xfer, "./%s", e.path) < 0 || fputc(0, g->xfer) == EOF) {
			rc = kahu_error_set(KAHU_EIO, "cannot write a temporary file: %s", strerror(errno));
			break;
		}
		g->xfer_len += e.path_len + 3;
		g->xfer_count++;
	}
	vol_entry_clear(&e);
	free(line);
	if (rc == 0 && fflush(g->xfer) != 0)
		rc = kahu_error_set(KAHU_EIO, "cannot write a temporary file: %s", strerror(errno));
	return rc;
}

/* ---- segments ---- */

static la_ssize_t seg_write_cb(struct archive *a, void *ud, const void *buf, size_t len)
{
	struct ingest *g = ud;
	(void)a;
	if (g->sink_rc < 0)
		return -1;
	int rc = sealed_write(g->seg, buf, len);
	if (rc < 0) {
		g->sink_rc = rc;
		archive_set_error(a, EIO, "%s", kahu_error_last());
		return -1;
	}
	return (la_ssize_t)len;
}

/* The store handle of segment n: the spec's for odd ones, the second handle for even
 * ones (opened for the first of them; when that fails, commits are done in line). */
static struct kahu_store *seg_store(struct ingest *g, long n)
{
	if (n % 2 || g->no_overlap)
		return g->s->st;
	if (!g->st2 && store_reopen(g->s->st, &g->st2) < 0) {
		log_debug("volume %s: no second store handle (%s): segments are committed in line",
			  vol_label(g->s->label, g->s->vid), kahu_error_last());
		g->no_overlap = true;
		return g->s->st;
	}
	return g->st2;
}

static void *seg_commit_main(void *arg)
{
	struct seg_commit *c = arg;
	kahu_log_scope_enter(c->log_scope);
	c->rc = sealed_commit(c->seg, c->backup, c->objects);
	if (c->rc < 0)
		kahu_error_capture(&c->err);
	return NULL;
}

/* The pending commit joined: its object listed and counted, or its error returned. */
static int seg_join(struct ingest *g)
{
	struct seg_commit *c = &g->pending;
	if (!c->active)
		return 0;
	if (c->threaded)
		pthread_join(c->th, NULL);
	c->active = false;
	int rc = c->rc;
	if (rc == 0) {
		size_t i;
		json_t *o;
		json_array_foreach(c->objects, i, o)
			json_array_append(g->objects, o);
		g->r->segments++;
		g->r->counts.bytes_stored += c->seg->size;
	} else {
		kahu_error_restore(&c->err);
	}
	json_decref(c->objects);
	c->objects = NULL;
	sealed_discard(c->seg);
	c->seg = NULL;
	return rc;
}

static int seg_open(struct ingest *g)
{
	if (g->seg_no >= LAYOUT_VOLUME_SEGMENT_MAX)
		return kahu_error_set(KAHU_EFAIL, "volume: too many segments");
	g->seg_no++;
	char *path = layout_volume_segment(g->s->backup, g->s->vid, g->seg_no, g->s->key != NULL);
	strv_push(&g->written, path);
	/* the slot of the segment before the previous one, whose commit was joined */
	g->seg = &g->segs[g->seg_no % 2];
	int rc = sealed_begin(seg_store(g, g->seg_no), g->s->key, g->s->run, g->s->compression_level,
			      true, path, g->seg);
	if (rc < 0)
		return rc;
	g->seg_in = 0;
	g->sink_rc = 0;
	g->aw = archive_write_new();
	archive_write_set_format_pax_restricted(g->aw);
	/* Unblocked: headers and content go straight to the sealed stream, which gathers
	 * its own blocks (libarchive's 10 KiB blocks were one more copy of every byte).
	 * The bytes are the same: the last block was not padded either. */
	archive_write_set_bytes_per_block(g->aw, 0);
	if (archive_write_open2(g->aw, g, NULL, seg_write_cb, NULL, NULL) != ARCHIVE_OK)
		return g->sink_rc < 0 ? g->sink_rc :
		       kahu_error_set(KAHU_EFAIL, "cannot start a tar segment: %s", archive_error_string(g->aw));
	return 0;
}

/* The segment's tar ended and its commit started on a thread (seg_commit) after the
 * previous one's is joined; in line when there is no second handle.  seg_join then
 * says how it went. */
static int seg_close(struct ingest *g)
{
	if (!g->aw)
		return 0;
	int rc = 0;
	if (archive_write_close(g->aw) != ARCHIVE_OK)
		rc = g->sink_rc < 0 ? g->sink_rc :
		     kahu_error_set(KAHU_EFAIL, "cannot finish a tar segment: %s", archive_error_string(g->aw));
	archive_write_free(g->aw);
	g->aw = NULL;
	int jrc = seg_join(g);
	if (rc == 0)
		rc = jrc;
	if (rc < 0) {
		sealed_discard(g->seg);
		return rc;
	}
	struct seg_commit *c = &g->pending;
	c->seg = g->seg;
	g->seg = NULL;
	c->backup = g->s->backup;
	c->objects = json_array();
	c->rc = 0;
	c->log_scope = kahu_log_scope_current();
	c->active = true;
	c->threaded = !g->no_overlap && pthread_create(&c->th, NULL, seg_commit_main, c) == 0;
	if (!c->threaded) /* in line: seg_join only collects the result */
		seg_commit_main(c);
	return 0;
}

/* ---- the transfer ---- */

static la_ssize_t src_read_cb(struct archive *a, void *ud, const void **buf)
{
	struct ingest *g = ud;
	size_t got = 0;
	if (kahu_cancelled()) {
		g->src_rc = kahu_error_set(KAHU_EINTR, "interrupted");
		archive_set_error(a, EINTR, "interrupted");
		return -1;
	}
	int rc = g->s->ops->read(g->h, g->rbuf, IO_CHUNK, &got);
	if (rc < 0) {
		g->src_rc = rc;
		archive_set_error(a, EIO, "%s", kahu_error_last());
		return -1;
	}
	g->src_bytes += got;
	g->r->counts.bytes_read += got;
	*buf = g->rbuf;
	return (la_ssize_t)got;
}

static const char *member_path(struct archive_entry *ae)
{
	const char *p = archive_entry_pathname(ae);
	if (!p)
		return "";
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	return p;
}

static int write_result(struct ingest *g, const struct vol_entry *e)
{
	char *line = vol_index_format(e);
	int ok = fputs(line, g->results) >= 0 && putc('\n', g->results) != EOF;
	free(line);
	return ok ? 0 : kahu_error_set(KAHU_EIO, "cannot write a temporary file: %s", strerror(errno));
}

/* Copy a regular file member's content into the segment (or nowhere: seg false),
 * hashing it.  Returns 0, a source error (g->src_rc) or another error. */
static int copy_content(struct ingest *g, struct archive *ar, bool to_seg, uint64_t size,
			char hash[65])
{
	struct vol_chash hh;
	vol_chash_init(&hh, NULL);
	static const char zeros[4096];
	uint64_t pos = 0;
	int rc = 0;
	for (;;) {
		const void *blk;
		size_t n;
		la_int64_t off;
		int r = archive_read_data_block(ar, &blk, &n, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = g->src_rc < 0 ? g->src_rc :
			     kahu_error_set(KAHU_EDATA, "volume tar: %s", archive_error_string(ar));
			goto out;
		}
		while (pos < (uint64_t)off) { /* a hole: zeros */
			size_t z = (uint64_t)off - pos < sizeof zeros ? (size_t)((uint64_t)off - pos) : sizeof zeros;
			vol_chash_update(&hh, zeros, z);
			if (to_seg && archive_write_data(g->aw, zeros, z) < 0) {
				rc = g->sink_rc < 0 ? g->sink_rc : kahu_error_set(KAHU_EFAIL, "tar segment: %s", archive_error_string(g->aw));
				goto out;
			}
			pos += z;
		}
		vol_chash_update(&hh, blk, n);
		if (to_seg && n && archive_write_data(g->aw, blk, n) < 0) {
			rc = g->sink_rc < 0 ? g->sink_rc : kahu_error_set(KAHU_EFAIL, "tar segment: %s", archive_error_string(g->aw));
			goto out;
		}
		pos += n;
	}
	while (pos < size) { /* a trailing hole */
		size_t z = size - pos < sizeof zeros ? (size_t)(size - pos) : sizeof zeros;
		vol_chash_update(&hh, zeros, z);
		if (to_seg && archive_write_data(g->aw, zeros, z) < 0) {
			rc = g->sink_rc < 0 ? g->sink_rc : KAHU_EFAIL;
			goto out;
		}
		pos += z;
	}
	vol_chash_final(&hh, hash);
out:
	vol_chash_drop(&hh);
	return rc;
}

/* One member of the command's tar against the expected entry e (from the listing). */
static int ingest_member(struct ingest *g, struct archive *ar, struct archive_entry *ae,
			 struct vol_entry *e)
{
	mode_t ft = archive_entry_filetype(ae);
	const char *hl = archive_entry_hardlink(ae);
	int rc = 0;

	e->mode = (uint32_t)(archive_entry_perm(ae) & 07777);
	e->uid = (uint64_t)archive_entry_uid(ae);
	e->gid = (uint64_t)archive_entry_gid(ae);
	e->mtime = archive_entry_mtime(ae);
	free(e->target);
	e->target = NULL;
	free(e->backup);
	e->backup = NULL;
	e->segment = -1;
	e->hash[0] = 0;
	uint64_t listed_size = e->size;
	e->size = 0;

	char ino[24];
	snprintf(ino, sizeof ino, "%" PRIu64, e->ino);
	const char *first = e->nlink > 1 ? strset_get(&g->group_first, ino) : NULL;
	bool secondary = first && strcmp(first, e->path) != 0 && strset_get(&g->group_hash, ino);

	if (hl || (ft == AE_IFREG && secondary)) {
		e->type = VOL_T_HARDLINK;
		e->target = xstrdup(secondary ? first : hl);
		while (!secondary && e->target[0] == '.' && e->target[1] == '/')
			memmove(e->target, e->target + 2, strlen(e->target + 2) + 1);
		const char *gh = strset_get(&g->group_hash, ino);
		if (gh)
			snprintf(e->hash, sizeof e->hash, "%s", gh);
		e->size = listed_size; /* the group's content size, as the listing says */
		if (ft == AE_IFREG && !hl) {
			char tmp[65];
			rc = copy_content(g, ar, false, (uint64_t)archive_entry_size(ae), tmp);
		}
		g->r->counts.links++;
	} else if (ft == AE_IFREG) {
		e->type = VOL_T_FILE;
		e->size = (uint64_t)archive_entry_size(ae);
		if (e->size > 0) {
			if (!g->aw && (rc = seg_open(g)) < 0)
				return rc;
			struct archive_entry *we = archive_entry_new();
			archive_entry_copy_pathname(we, e->path);
			archive_entry_set_filetype(we, AE_IFREG);
			archive_entry_set_perm(we, e->mode);
			archive_entry_set_size(we, (la_int64_t)e->size);
			archive_entry_set_mtime(we, e->mtime, 0);
			archive_entry_set_uid(we, (la_int64_t)e->uid);
			archive_entry_set_gid(we, (la_int64_t)e->gid);
			if (archive_write_header(g->aw, we) < ARCHIVE_WARN)
				rc = g->sink_rc < 0 ? g->sink_rc :
				     kahu_error_set(KAHU_EFAIL, "tar segment: %s", archive_error_string(g->aw));
			archive_entry_free(we);
			if (rc == 0)
				rc = copy_content(g, ar, true, e->size, e->hash);
			if (rc == 0 && archive_write_finish_entry(g->aw) < ARCHIVE_WARN)
				rc = g->sink_rc < 0 ? g->sink_rc : KAHU_EFAIL;
			if (rc < 0)
				return rc;
			e->backup = xstrdup(g->s->backup);
			e->segment = g->seg_no;
			g->seg_in += e->size;
		} else {
			struct vol_chash hh;
			vol_chash_init(&hh, NULL);
			vol_chash_final(&hh, e->hash);
		}
		if (e->nlink > 1)
			strset_put(&g->group_hash, ino, e->hash);
		g->r->counts.files++;
		g->r->counts.bytes_transferred += e->size;
	} else if (ft == AE_IFDIR) {
		e->type = VOL_T_DIR;
		g->r->counts.dirs++;
	} else if (ft == AE_IFLNK) {
		e->type = VOL_T_SYMLINK;
		e->target = xstrdup(archive_entry_symlink(ae) ? archive_entry_symlink(ae) : "");
		e->size = strlen(e->target);
		g->r->counts.links++;
	} else if (ft == AE_IFIFO) {
		e->type = VOL_T_FIFO;
	} else {
		char *p = vol_path_printable(e->path, e->path_len);
		log_warn("volume: %s: a special file in the transfer, not kept", p);
		free(p);
		return 1;
	}
	return rc;
}

/* Expected entry at the plan cursor (transfer entries only). 1, 0 at the end. */
static int next_expected(struct ingest *g, struct vol_entry *e, char **line, size_t *cap)
{
	char flag;
	int rc;
	/* (a seek of a stdio stream is a system call, and empties its buffer: only when
	 * the stream moved away from the cursor, not once per member) */
	if (!g->plan_at_pos && fseek(g->plan, g->plan_pos, SEEK_SET) != 0)
		return kahu_error_set(KAHU_EIO, "cannot read a temporary file: %s", strerror(errno));
	g->plan_at_pos = true;
	while ((rc = read_plan_line(g->plan, line, cap, &flag, e)) == 1) {
		if (needs_xfer(g, flag, e)) {
			g->plan_at_pos = false; /* past e, until advance */
			return 1;
		}
		g->plan_pos = ftell(g->plan);
	}
	if (rc != 0)
		g->plan_at_pos = false;
	return rc;
}

/* The entry at the cursor is handled (ingested or vanished): move past it. */
static void advance(struct ingest *g, const struct vol_entry *e)
{
	g->plan_pos = ftell(g->plan);
	g->plan_at_pos = true;
	g->done++;
	g->done_off += e->path_len + 3;
}

/* One run of the transfer command over the rest of the list.  0 when its tar ended
 * well; a source error (broken stream) is returned with *broken set. */
static int transfer_once(struct ingest *g, bool *broken, int *exit_code)
{
	const struct vol_backup_spec *s = g->s;
	char len[24];
	snprintf(len, sizeof len, "%" PRIu64, g->xfer_len - g->done_off);
	const char *argv[] = { "sh", "-c", TRANSFER_SCRIPT, "sh", s->mount_path, len, NULL };
	struct archive *ar = NULL;
	struct vol_entry e = { .segment = -1 };
	char *line = NULL;
	size_t cap = 0;
	int rc;

	*broken = false;
	g->src_rc = 0;
	g->src_bytes = 0;
	g->plan_at_pos = false;
	if ((rc = s->ops->start(s->ctx, argv, true, &g->h)) < 0)
		return rc;
	/* The list: the shell's sort reads all of it before tar writes anything. */
	if (fseek(g->xfer, (long)g->done_off, SEEK_SET) != 0) {
		rc = kahu_error_set(KAHU_EIO, "cannot read a temporary file: %s", strerror(errno));
		goto out;
	}
	for (uint64_t left = g->xfer_len - g->done_off; rc == 0 && left > 0;) {
		size_t n = fread(g->rbuf, 1, left < IO_CHUNK ? (size_t)left : IO_CHUNK, g->xfer);
		if (n == 0) {
			rc = kahu_error_set(KAHU_EIO, "cannot read a temporary file");
			break;
		}
		rc = s->ops->write(g->h, g->rbuf, n);
		left -= n;
	}
	if (rc == 0)
		rc = s->ops->close_stdin(g->h);
	if (rc < 0) {
		*broken = true;
		goto out;
	}

	ar = archive_read_new();
	archive_read_support_format_tar(ar);
	archive_read_set_format_option(ar, "tar", "read_concatenated_archives", "1");
	if (archive_read_open(ar, g, NULL, src_read_cb, NULL) != ARCHIVE_OK) {
		rc = g->src_rc < 0 ? g->src_rc :
		     kahu_error_set(KAHU_EDATA, "volume tar: %s", archive_error_string(ar));
		*broken = g->src_rc < 0;
		goto out;
	}
	for (;;) {
		struct archive_entry *ae;
		int r = archive_read_next_header(ar, &ae);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			*broken = g->src_rc < 0;
			rc = g->src_rc < 0 ? g->src_rc :
			     kahu_error_set(KAHU_EDATA, "volume tar: %s", archive_error_string(ar));
			goto out;
		}
		const char *name = member_path(ae);
		size_t nlen = strlen(name);
		while (nlen > 0 && name[nlen - 1] == '/')
			nlen--;
		for (;;) {
			if ((rc = next_expected(g, &e, &line, &cap)) < 0)
				goto out;
			int c = rc == 0 ? -1 : vol_path_cmp(name, nlen, e.path, e.path_len);
			rc = 0;
			if (c < 0) {
				char *p = vol_path_printable(name, nlen);
				rc = kahu_error_set(KAHU_EDATA, "volume tar: unexpected member %s", p);
				free(p);
				goto out;
			}
			if (c == 0)
				break;
			char *p = vol_path_printable(e.path, e.path_len);
			log_warn("volume: %s vanished before it was transferred", p);
			free(p);
			g->r->vanished++;
			advance(g, &e);
		}
		rc = ingest_member(g, ar, ae, &e);
		if (rc < 0) {
			*broken = g->src_rc < 0;
			goto out;
		}
		if (rc == 0 && (rc = write_result(g, &e)) < 0)
			goto out;
		rc = 0;
		advance(g, &e);
		if (s->progress) {
			struct vol_progress p = { g->r->counts.bytes_read, g->done };
			s->progress(s->progress_ud, &p);
		}
		if (g->aw && g->seg_in >= (s->segment_bytes ? s->segment_bytes : VOL_SEGMENT_BYTES_DEFAULT) &&
		    (rc = seg_close(g)) < 0)
			goto out;
	}
	/* What tar did not send vanished. */
	while ((rc = next_expected(g, &e, &line, &cap)) == 1) {
		char *p = vol_path_printable(e.path, e.path_len);
		log_warn("volume: %s vanished before it was transferred", p);
		free(p);
		g->r->vanished++;
		advance(g, &e);
	}
	if (rc < 0)
		goto out;
	free(g->said);
	g->said = said(s->ops->stderr_tail ? s->ops->stderr_tail(g->h) : NULL);
	rc = s->ops->finish(g->h, exit_code);
	g->h = NULL;
out:
	if (rc < 0 && g->h) {
		if (!*broken && rc != KAHU_EINTR && s->ops->stderr_tail) {
			char *msg = said(s->ops->stderr_tail(g->h));
			if (*msg) {
				char *last = xstrdup(kahu_error_last());
				kahu_error_set(rc, "%s (the transfer command said%s)", last, msg);
				free(last);
			}
			free(msg);
		}
		s->ops->abort(g->h);
		g->h = NULL;
	}
	if (ar)
		archive_read_free(ar);
	vol_entry_clear(&e);
	free(line);
	fflush(g->results);
	return rc;
}

/* The index: the plan with the results of the transfer, into the index object. */
static int write_index(struct ingest *g)
{
	struct sealed_out o;
	struct vol_entry e = { .segment = -1 }, res = { .segment = -1 };
	struct kbuf text = KBUF_INIT;
	char *line = NULL, *rline = NULL, flag = 0;
	size_t cap = 0, rcap = 0;
	bool have_res = false;
	int rc;

	char *path = layout_volume_index(g->s->backup, g->s->vid, g->s->key != NULL);
	strv_push(&g->written, path);
	rc = sealed_begin(g->s->st, g->s->key, g->s->run, g->s->compression_level, false, path, &o);
	rewind(g->plan);
	rewind(g->results);
	while (rc == 0 && (rc = read_plan_line(g->plan, &line, &cap, &flag, &e)) == 1) {
		rc = 0;
		if (needs_xfer(g, flag, &e)) {
			if (!have_res) {
				ssize_t n = getline(&rline, &rcap, g->results);
				if (n > 0) {
					if (rline[n - 1] == '\n')
						rline[--n] = 0;
					if ((rc = vol_index_parse(rline, (size_t)n, &res)) < 0)
						break;
					have_res = true;
				}
			}
			if (!have_res || strcmp(res.path, e.path) != 0)
				continue; /* vanished */
			have_res = false;
			char *t = vol_index_format(&res);
			kbuf_adds(&text, t);
			kbuf_addc(&text, '\n');
			free(t);
		} else {
			/* unchanged: the files that kept the parent's content */
			if (e.type == VOL_T_FILE || e.type == VOL_T_HARDLINK)
				g->r->counts.unchanged++;
			if (e.type == VOL_T_FILE)
				g->r->counts.files++;
			else if (e.type == VOL_T_HARDLINK || e.type == VOL_T_SYMLINK)
				g->r->counts.links++;
			else if (e.type == VOL_T_DIR)
				g->r->counts.dirs++;
			/* the plan line is the index line (vol_index_format's) after its flag */
			size_t n = strlen(line + 1);
			kbuf_add(&text, line + 1, n);
			if (n == 0 || line[n] != '\n')
				kbuf_addc(&text, '\n');
		}
		/* lines go to the compressor in blocks, not two calls each */
		if (text.len >= INDEX_BLOCK) {
			rc = seal_write(&o.sw, text.data, text.len);
			kbuf_reset(&text);
		}
	}
	if (rc == 0 && text.len)
		rc = seal_write(&o.sw, text.data, text.len);
	kbuf_free(&text);
	if (rc == 0)
		rc = sealed_commit(&o, g->s->backup, g->objects);
	if (rc == 0)
		g->r->counts.bytes_stored += o.size;
	sealed_discard(&o);
	vol_entry_clear(&e);
	vol_entry_clear(&res);
	free(line);
	free(rline);
	return rc;
}

static FILE *tmp_or_fail(int *rc)
{
	FILE *f = kahu_tmpstream(NULL, "kahu-vol-", "volume data");
	if (!f)
		*rc = kahu_error_code() ? kahu_error_code() : KAHU_EIO;
	return f;
}

int vol_backup(const struct vol_backup_spec *s, struct vol_backup_result *r)
{
	struct ingest g = { .s = s, .r = r };
	FILE *listing = NULL, *parent = NULL;
	char nonce[VOL_NONCE_LEN + 1];
	int64_t t0 = now_ms();
	int retries = s->retries < 0 ? VOL_RETRIES_DEFAULT : s->retries;
	struct kahu_backoff bo = { .base_ms = s->retry_base_ms > 0 ? s->retry_base_ms : 500,
				   .cap_ms = 30000, .jitter_div = 4 };
	int rc = 0, attempt = 0;

	memset(r, 0, sizeof *r);
	if ((rc = layout_vid_check(s->vid)) < 0)
		goto fail;
	g.objects = json_array();
	g.rbuf = xmalloc(IO_CHUNK);

	/* The listing (retried like the transfer) */
	for (;;) {
		/* The first listing may check the tools: without them, no retry. */
		rc = run_listing(s->ops, s->ctx, s->mount_path, nonce, s->check_tools && attempt == 0,
				 &r->tools_missing, &listing);
		if (rc == 0 || rc == KAHU_EINTR || attempt >= retries || r->tools_missing)
			break;
		attempt++;
		r->retries++;
		log_warn("volume %s: listing failed (%s); trying again", vol_label(s->label, s->vid),
			 kahu_error_last());
		long want, wait;
		if (kahu_backoff_plan(&bo, attempt, -1, &want, &wait) == KAHU_BACKOFF_SPENT ||
		    kahu_backoff_wait(&bo, wait) < 0)
			break;
	}
	if (rc < 0)
		goto fail;
	if (s->parent) {
		char *ppath = layout_volume_index(s->parent, s->vid, s->key != NULL);
		struct store_stat ss;
		rc = store_stat(s->st, ppath, &ss);
		if (rc == KAHU_ENOTFOUND) {
			log_info("volume %s: no index in %s: a full copy", vol_label(s->label, s->vid), s->parent);
			free(ppath);
			rc = 0;
		} else if (rc == 0) {
			rc = sealed_spool(s->st, s->key, ppath, s->parent_run, &parent);
		} else {
			free(ppath);
		}
		if (rc < 0)
			goto fail;
	}
	if (!(g.plan = tmp_or_fail(&rc)) || !(g.results = tmp_or_fail(&rc)) || !(g.xfer = tmp_or_fail(&rc)))
		goto fail;
	if ((rc = make_plan(&g, listing, nonce, parent)) < 0 || (rc = make_xfer(&g)) < 0)
		goto fail;

	/* The transfer, resumed after broken streams */
	attempt = 0;
	while (g.done < g.xfer_count) {
		bool broken = false;
		int code = 0;
		rc = transfer_once(&g, &broken, &code);
		if (rc == 0 && code != 0) {
			if (code == 123 || code == 1 || code == 2)
				log_warn("volume %s: the transfer command exited with status %d (files changed or vanished while read)%s",
					 vol_label(s->label, s->vid), code, g.said ? g.said : "");
			else
				rc = kahu_error_set(KAHU_EFAIL, "the volume's transfer command exited with status %d%s",
						    code, g.said ? g.said : "");
		}
		if (rc == 0 || !broken || rc == KAHU_EINTR)
			break;
		/* Finish the segment where it is: no index line names its last, partial member. */
		struct kahu_error_state es;
		kahu_error_capture(&es);
		int crc = seg_close(&g);
		if (crc == 0)
			crc = seg_join(&g);
		kahu_error_restore(&es);
		if (crc < 0) {
			rc = crc;
			break;
		}
		if (attempt >= retries) {
			rc = kahu_error_wrap(rc, "volume transfer failed after %d retr%s", retries,
					     retries == 1 ? "y" : "ies");
			break;
		}
		attempt++;
		r->retries++;
		log_warn("volume %s: %s; resuming after %" PRIu64 " of %" PRIu64 " entries",
			 vol_label(s->label, s->vid), kahu_error_last(), g.done, g.xfer_count);
		long want, wait;
		if (kahu_backoff_plan(&bo, attempt, -1, &want, &wait) == KAHU_BACKOFF_SPENT)
			break;
		if (kahu_backoff_wait(&bo, wait) < 0) {
			rc = kahu_error_set(KAHU_EINTR, "interrupted");
			break;
		}
		rc = 0; /* the stream broke after its last member: nothing is left to send */
	}
	if (rc < 0)
		goto fail;
	if ((rc = seg_close(&g)) < 0 || (rc = seg_join(&g)) < 0 || (rc = write_index(&g)) < 0)
		goto fail;
	r->objects = g.objects;
	g.objects = NULL;
	goto out;
fail:
	r->reason = xstrdup(kahu_error_last());
	{
		struct kahu_error_state es;
		kahu_error_capture(&es);
		if (g.aw) {
			archive_write_free(g.aw);
			g.aw = NULL;
		}
		if (g.seg)
			sealed_discard(g.seg);
		seg_join(&g); /* its object is removed with the others */
		for (size_t i = 0; i < g.written.n; i++) {
			int x = store_remove(s->st, g.written.v[i]);
			if (x < 0 && x != KAHU_ENOTFOUND)
				log_warn("volume %s: cannot remove %s: %s", vol_label(s->label, s->vid), g.written.v[i],
					 kahu_error_last());
		}
		kahu_error_restore(&es);
	}
out:
	r->duration_ms = now_ms() - t0;
	if (g.aw)
		archive_write_free(g.aw);
	if (g.seg)
		sealed_discard(g.seg);
	seg_join(&g);
	store_close(g.st2);
	if (listing)
		fclose(listing);
	if (parent)
		fclose(parent);
	if (g.plan)
		fclose(g.plan);
	if (g.results)
		fclose(g.results);
	if (g.xfer)
		fclose(g.xfer);
	strset_free(&g.group_first);
	strset_free(&g.group_changed);
	strset_free(&g.group_hash);
	strv_free(&g.written);
	json_decref(g.objects);
	free(g.rbuf);
	free(g.said);
	return rc;
}

void vol_backup_result_free(struct vol_backup_result *r)
{
	json_decref(r->objects);
	free(r->reason);
	memset(r, 0, sizeof *r);
}

/* ---- restore: the composer ---- */

/* A sequential reader of one backup's segments of the volume. */
struct segr {
	char *backup;
	long seg;              /* open segment, 0: none */
	struct sealed_in in;
	struct archive *ar;
	bool at_eof;
	char *buf;             /* its own: libarchive keeps pointing into it */
	int read_rc;           /* what reading the sealed object failed with, or 0 */
	struct segr *next;
};

/* The error of a segment's tar: the sealed object's own (its code and message: a
 * replaced object is KAHU_ECRYPTO) when reading it failed, else libarchive's. */
static int segr_error(struct segr *r)
{
	if (r->read_rc < 0)
		return kahu_error_set(r->read_rc, "%s", archive_error_string(r->ar));
	return kahu_error_set(KAHU_EDATA, "%s: %s", r->in.path, archive_error_string(r->ar));
}

struct composer {
	struct kahu_store *st;
	const struct kahu_key *key;
	const char *vid;
	const char *backup;             /* the chosen backup, and its run (NULL: not checked) */
	const char *run;
	const struct strset *chain_runs; /* the chain's runs (vol_restore_spec), or NULL */
	struct segr *readers;
	struct archive *aw;
	int sink_rc;
	struct vol_restore_result *res;
	vol_progress_fn progress;
	void *progress_ud;
	uint64_t done;
	char *buf;
	bool count_only;       /* only the tar's length: no content read, nothing counted */
	uint64_t out_bytes;    /* tar bytes written */
	uint64_t count_bytes;  /* the length computed by the counting pass */
	struct strset fixdirs; /* directories holding an entry some tar creates last */
};

static la_ssize_t segr_read_cb(struct archive *a, void *ud, const void **buf)
{
	struct segr *r = ud;
	char *b = r->buf;
	size_t got = 0;
	int rc = seal_pull_read(r->in.sp, b, IO_CHUNK, &got);
	if (rc < 0) {
		r->read_rc = rc;
		archive_set_error(a, EIO, "%s", kahu_error_last());
		return -1;
	}
	*buf = b;
	return (la_ssize_t)got;
}

static void segr_close(struct segr *r)
{
	if (r->ar)
		archive_read_free(r->ar);
	r->ar = NULL;
	sealed_close(&r->in);
	r->at_eof = false;
	r->read_rc = 0;
}

static int segr_open(struct composer *c, struct segr *r, long seg)
{
	segr_close(r);
	r->seg = seg;
	/* The run its envelope must carry: the chosen backup's, or that of the backup of
	 * the chain that wrote it (chain_runs; "" when its objects are not bound to a run). */
	const char *run = NULL;
	if (c->chain_runs) {
		run = strset_get(c->chain_runs, r->backup);
		if (!run)
			return kahu_error_set(KAHU_EDATA, "the volume index of backup %s names backup %s, "
					      "which is not in its chain", c->backup, r->backup);
	}
	if (c->backup && !strcmp(r->backup, c->backup))
		run = c->run;
	char *path = layout_volume_segment(r->backup, c->vid, seg, c->key != NULL);
	int rc = sealed_open(c->st, c->key, path, run && *run ? run : NULL, &r->in);
	if (rc == KAHU_ENOTFOUND)
		return kahu_error_set(KAHU_EDATA, "volume data segment %ld of backup %s is missing", seg,
				      r->backup);
	if (rc < 0)
		return rc;
	r->ar = archive_read_new();
	archive_read_support_format_tar(r->ar);
	if (archive_read_open(r->ar, r, NULL, segr_read_cb, NULL) != ARCHIVE_OK)
		return segr_error(r);
	return 0;
}

/* Position the backup's reader at the member `path` of segment seg. */
static int segr_find(struct composer *c, const char *backup, long seg, const char *path)
{
	struct segr *r;
	for (r = c->readers; r && strcmp(r->backup, backup); r = r->next)
		;
	if (!r) {
		r = xcalloc(1, sizeof *r);
		r->backup = xstrdup(backup);
		r->buf = xmalloc(IO_CHUNK);
		r->next = c->readers;
		c->readers = r;
	}
	if (r->seg > seg) {
		char *p = vol_path_printable(path, strlen(path));
		int rc = kahu_error_set(KAHU_EDATA, "volume index of backup %s: %s names segment %ld after %ld (out of order)",
					backup, p, seg, r->seg);
		free(p);
		return rc;
	}
	if (r->seg != seg || !r->ar) {
		int rc = segr_open(c, r, seg);
		if (rc < 0)
			return rc;
	}
	for (;;) {
		struct archive_entry *ae;
		int x = r->at_eof ? ARCHIVE_EOF : archive_read_next_header(r->ar, &ae);
		if (x == ARCHIVE_EOF) {
			r->at_eof = true;
			char *p = vol_path_printable(path, strlen(path));
			int rc = kahu_error_set(KAHU_EDATA, "the content of %s is missing from %s", p, r->in.path);
			free(p);
			return rc;
		}
		if (x < ARCHIVE_WARN)
			return segr_error(r);
		if (!strcmp(member_path(ae), path))
			return 0;
	}
}

static struct segr *segr_of(struct composer *c, const char *backup)
{
	struct segr *r;
	for (r = c->readers; r && strcmp(r->backup, backup); r = r->next)
		;
	return r;
}

/* The readers of the chain's segments closed: a tar composed again starts afresh. */
static void composer_rewind(struct composer *c)
{
	while (c->readers) {
		struct segr *r = c->readers;
		c->readers = r->next;
		segr_close(r);
		free(r->backup);
		free(r->buf);
		free(r);
	}
}

static void composer_free(struct composer *c)
{
	composer_rewind(c);
	free(c->buf);
	strset_free(&c->fixdirs);
}

static int aw_err(struct composer *c, struct archive *aw)
{
	if (c->sink_rc < 0)
		return c->sink_rc;
	return kahu_error_set(KAHU_EFAIL, "writing the volume: %s", archive_error_string(aw));
}

/* One entry into aw: header, and the content of a file from its segment. */
static int compose_entry(struct composer *c, const struct vol_entry *e, bool as_dir_again)
{
	struct archive_entry *ae = archive_entry_new();
	int rc = 0;
	archive_entry_copy_pathname(ae, e->path);
	archive_entry_set_perm(ae, e->mode);
	archive_entry_set_uid(ae, (la_int64_t)e->uid);
	archive_entry_set_gid(ae, (la_int64_t)e->gid);
	archive_entry_set_mtime(ae, e->mtime, 0);
	switch (e->type) {
	case VOL_T_DIR: archive_entry_set_filetype(ae, AE_IFDIR); break;
	case VOL_T_SYMLINK:
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_copy_symlink(ae, e->target);
		break;
	case VOL_T_FIFO: archive_entry_set_filetype(ae, AE_IFIFO); break;
	case VOL_T_HARDLINK:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_copy_hardlink(ae, e->target);
		archive_entry_set_size(ae, 0);
		break;
	default:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_size(ae, (la_int64_t)e->size);
	}
	if (e->type == VOL_T_FILE && e->size > 0 && !c->count_only)
		rc = segr_find(c, e->backup, e->segment, e->path);
	if (rc == 0 && archive_write_header(c->aw, ae) < ARCHIVE_WARN)
		rc = aw_err(c, c->aw);
	archive_entry_free(ae);
	if (c->count_only) { /* the member's data: the padding finish_entry writes */
		if (rc == 0 && archive_write_finish_entry(c->aw) < ARCHIVE_WARN)
			rc = aw_err(c, c->aw);
		return rc;
	}
	if (rc == 0 && e->type == VOL_T_FILE && e->size > 0) {
		struct segr *r = segr_of(c, e->backup);
		struct vol_chash hh;
		uint64_t total = 0;
		char hex[65];
		vol_chash_init(&hh, e->hash);
		for (;;) {
			la_ssize_t n = archive_read_data(r->ar, c->buf, IO_CHUNK);
			if (n == 0)
				break;
			if (n < 0) {
				rc = segr_error(r);
				break;
			}
			vol_chash_update(&hh, c->buf, (size_t)n);
			total += (uint64_t)n;
			if (archive_write_data(c->aw, c->buf, (size_t)n) < 0) {
				rc = aw_err(c, c->aw);
				break;
			}
			if (c->progress && (total & ((1u << 20) - 1)) < (uint64_t)n) {
				/* a large file: every MiB */
				struct vol_progress p = { c->res->bytes + total, c->done };
				c->progress(c->progress_ud, &p);
			}
		}
		vol_chash_final(&hh, hex);
		if (rc == 0 && (total != e->size || strcmp(hex, e->hash))) {
			char *p = vol_path_printable(e->path, e->path_len);
			rc = kahu_error_set(KAHU_EDATA, "%s: the content in %s does not match the index (altered or damaged)",
					    p, r->in.path);
			free(p);
		}
		c->res->bytes += total;
	}
	if (rc == 0 && archive_write_finish_entry(c->aw) < ARCHIVE_WARN)
		rc = aw_err(c, c->aw);
	if (rc == 0 && !as_dir_again) {
		if (e->type == VOL_T_FILE)
			c->res->files++;
		else if (e->type == VOL_T_DIR)
			c->res->dirs++;
		else if (e->type == VOL_T_SYMLINK || e->type == VOL_T_HARDLINK)
			c->res->links++;
		c->done++;
		if (c->progress) {
			struct vol_progress p = { c->res->bytes, c->done };
			c->progress(c->progress_ud, &p);
		}
	}
	return rc;
}

/* Every path of the index checked before anything is sent: relative, no "." or ".."
 * component, sorted, nothing below a symlink, hard links to earlier files only. */
static int validate_index(FILE *idx)
{
	struct vol_entry e = { .segment = -1 };
	struct strset symlinks = STRSET_INIT, files = STRSET_INIT;
	char *line = NULL, *prev = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	uint64_t lineno = 0;

	rewind(idx);
	while (rc == 0 && (n = getline(&line, &cap, idx)) > 0) {
		lineno++;
		if (line[n - 1] == '\n')
			line[--n] = 0;
		if ((rc = vol_index_parse(line, (size_t)n, &e)) < 0) {
			kahu_error_wrap(rc, "line %" PRIu64, lineno);
			break;
		}
		if ((rc = vol_path_check(e.path, e.path_len, "volume index: refused path")) < 0)
			break;
		if (prev && strcmp(prev, e.path) >= 0) {
			char *p = vol_path_printable(e.path, e.path_len);
			rc = kahu_error_set(KAHU_EDATA, "volume index: refused path %s: out of order", p);
			free(p);
			break;
		}
		free(prev);
		prev = xstrdup(e.path);
		/* below a symlink? */
		for (size_t i = 0; i < e.path_len && rc == 0; i++) {
			if (e.path[i] != '/')
				continue;
			e.path[i] = 0;
			bool hit = strset_has(&symlinks, e.path);
			e.path[i] = '/';
			if (hit) {
				char *p = vol_path_printable(e.path, e.path_len);
				rc = kahu_error_set(KAHU_EDATA, "volume index: refused path %s: below a symlink", p);
				free(p);
			}
		}
		if (rc < 0)
			break;
		if (e.type == VOL_T_SYMLINK)
			strset_add(&symlinks, e.path);
		if (e.type == VOL_T_FILE && e.nlink > 1)
			strset_add(&files, e.path);
		if (e.type == VOL_T_HARDLINK && !strset_has(&files, e.target)) {
			char *p = vol_path_printable(e.path, e.path_len);
			char *t = vol_path_printable(e.target, strlen(e.target));
			rc = kahu_error_set(KAHU_EDATA, "volume index: refused path %s: a hard link to %s, which is no earlier file of the index",
					    p, t);
			free(p);
			free(t);
		}
	}
	if (rc == 0 && ferror(idx))
		rc = kahu_error_set(KAHU_EIO, "cannot read a temporary file: %s", strerror(errno));
	vol_entry_clear(&e);
	strset_free(&symlinks);
	strset_free(&files);
	free(line);
	free(prev);
	rewind(idx);
	return rc;
}

static bool selected(const char *const *paths, const char *path)
{
	return !paths || vol_glob_match_any(paths, path);
}

/* Which entries of the index a pass over it composes. */
enum compose_pass {
	PASS_ALL,       /* every entry in index order (libarchive's disk writer) */
	PASS_NONDIRS,   /* everything but directories */
	PASS_DIRS,      /* a directory (compose_dirs_backwards) */
	PASS_FIXDIRS,   /* again, the directories in c->fixdirs */
};

/* Whether some tar creates this entry only at its end, after the directories' times
 * are set: busybox's tar defers every hard link and, as GNU tar does, a symlink whose
 * target is absolute or holds "..". */
static bool created_last(const struct vol_entry *e)
{
	return e->type == VOL_T_HARDLINK ||
	       (e->type == VOL_T_SYMLINK && e->target && (e->target[0] == '/' || strstr(e->target, "..")));
}

/* One index line at the file's position into compose_entry (when the pass takes it).
 * 1: composed or skipped, 0: the end of the index, or an error. */
static int compose_line(struct composer *c, FILE *idx, struct vol_entry *e, char **line, size_t *cap,
			const char *const *paths, enum compose_pass pass, FILE *dirs)
{
	off_t at = dirs ? ftello(idx) : 0;
	ssize_t n = getline(line, cap, idx);
	if (n <= 0)
		return 0;
	if ((*line)[n - 1] == '\n')
		(*line)[--n] = 0;
	int rc = vol_index_parse(*line, (size_t)n, e);
	if (rc < 0)
		return rc;
	bool dir = e->type == VOL_T_DIR;
	if (!selected(paths, e->path))
		return 1;
	if (pass == PASS_NONDIRS && dir) {
		/* its place, for the directories' pass (backwards) */
		uint64_t off = (uint64_t)at;
		if (fwrite(&off, sizeof off, 1, dirs) != 1)
			return kahu_error_set(KAHU_EIO, "cannot write a temporary file: %s", strerror(errno));
		return 1;
	}
	if ((pass == PASS_DIRS || pass == PASS_FIXDIRS) && !dir)
		return 1;
	if (pass == PASS_FIXDIRS && !strset_has(&c->fixdirs, e->path))
		return 1;
	if (paths && e->type == VOL_T_HARDLINK && !selected(paths, e->target)) {
		char *p = vol_path_printable(e->path, e->path_len);
		log_warn("volume: %s is a hard link to a path not selected: not extracted", p);
		free(p);
		return 1;
	}
	if (pass == PASS_NONDIRS && created_last(e)) {
		char *slash = strrchr(e->path, '/');
		if (slash) {
			*slash = 0;
			strset_add(&c->fixdirs, e->path);
			*slash = '/';
		}
	}
	if (kahu_cancelled())
		return kahu_error_set(KAHU_EINTR, "interrupted");
	rc = compose_entry(c, e, pass == PASS_FIXDIRS);
	return rc < 0 ? rc : 1;
}

/* The index through compose_entry, the entries of one pass; PASS_NONDIRS notes where
 * each directory's line is in `dirs`. */
static int compose_all(struct composer *c, FILE *idx, const char *const *paths, enum compose_pass pass,
		       FILE *dirs)
{
	struct vol_entry e = { .segment = -1 };
	char *line = NULL;
	size_t cap = 0;
	int rc;
	rewind(idx);
	while ((rc = compose_line(c, idx, &e, &line, &cap, paths, pass, dirs)) == 1)
		;
	vol_entry_clear(&e);
	free(line);
	return rc;
}

/* The directories noted in `dirs`, last first: a directory comes after everything
 * below it (the index is sorted bytewise, so a parent precedes its children), and
 * creating a directory never changes a parent whose times are set already. */
static int compose_dirs_backwards(struct composer *c, FILE *idx, FILE *dirs)
{
	struct vol_entry e = { .segment = -1 };
	char *line = NULL;
	size_t cap = 0;
	uint64_t offs[1024];
	int rc = 0;
	if (fflush(dirs) != 0)
		return kahu_error_set(KAHU_EIO, "cannot write a temporary file: %s", strerror(errno));
	off_t end = ftello(dirs);
	uint64_t left = end > 0 ? (uint64_t)end / sizeof offs[0] : 0;
	while (rc == 0 && left > 0) {
		size_t n = left < 1024 ? (size_t)left : 1024;
		left -= n;
		if (pread(fileno(dirs), offs, n * sizeof offs[0], (off_t)(left * sizeof offs[0])) !=
		    (ssize_t)(n * sizeof offs[0])) {
			rc = kahu_error_set(KAHU_EIO, "cannot read a temporary file: %s", strerror(errno));
			break;
		}
		for (size_t i = n; rc == 0 && i-- > 0;) {
			if (fseeko(idx, (off_t)offs[i], SEEK_SET) != 0) {
				rc = kahu_error_set(KAHU_EIO, "cannot read a temporary file: %s", strerror(errno));
				break;
			}
			rc = compose_line(c, idx, &e, &line, &cap, NULL, PASS_DIRS, NULL);
			if (rc == 0)
				rc = kahu_error_set(KAHU_EIO, "a temporary file ended early");
			else if (rc == 1)
				rc = 0;
		}
	}
	vol_entry_clear(&e);
	free(line);
	return rc;
}

/* The restore's tar: everything but the directories, then the directories, deepest
 * first, so that a directory's mode and times are set after its contents are created
 * (each tar makes a missing parent itself).  fix: only the directories that hold an
 * entry created last. */
static int compose_restore(struct composer *c, FILE *idx, bool fix)
{
	if (fix)
		return compose_all(c, idx, NULL, PASS_FIXDIRS, NULL);
	int rc = 0;
	FILE *dirs = tmp_or_fail(&rc);
	if (!dirs)
		return rc;
	rc = compose_all(c, idx, NULL, PASS_NONDIRS, dirs);
	if (rc == 0)
		rc = compose_dirs_backwards(c, idx, dirs);
	fclose(dirs);
	return rc;
}

static la_ssize_t ops_write_cb(struct archive *a, void *ud, const void *buf, size_t len);

struct ops_sink {
	struct composer *c;
	const struct vol_exec_ops *ops;
	void *h;
	struct kahu_writeq *q; /* the sender of the command's stdin, when started */
	bool send_failed;      /* the sender's error ended the writing (in err) */
	bool cmd_failed;       /* an error of the command's stream (in err) */
	struct kahu_error_state err;
};

static la_ssize_t count_write_cb(struct archive *a, void *ud, const void *buf, size_t len)
{
	struct composer *c = ud;
	(void)a;
	(void)buf;
	c->out_bytes += len;
	return (la_ssize_t)len;
}

static la_ssize_t ops_write_cb(struct archive *a, void *ud, const void *buf, size_t len)
{
	struct ops_sink *s = ud;
	if (s->c->sink_rc < 0)
		return -1;
	if (s->c->out_bytes + len > s->c->count_bytes) {
		s->c->sink_rc = kahu_error_set(KAHU_EINTERNAL, "the volume's tar is longer than its length computed before");
		return -1;
	}
	s->c->out_bytes += len;
	int rc = kahu_writeq_write(s->q, buf, len);
	if (rc < 0) {
		s->send_failed = true;
		kahu_error_capture(&s->err);
		s->c->sink_rc = rc;
		archive_set_error(a, EIO, "%s", kahu_error_last());
		return -1;
	}
	return (la_ssize_t)len;
}

static int open_final_index(struct kahu_store *st, const struct kahu_key *key, const char *backup,
			    const char *run, const char *vid, FILE **idx)
{
	int rc = layout_vid_check(vid);
	if (rc < 0)
		return rc;
	char *path = layout_volume_index(backup, vid, key != NULL);
	rc = sealed_spool(st, key, path, run, idx);
	if (rc == KAHU_ENOTFOUND)
		rc = kahu_error_set(KAHU_ENOTFOUND, "backup %s holds no data of volume %s", backup, vid);
	if (rc == 0 && (rc = validate_index(*idx)) < 0) {
		fclose(*idx);
		*idx = NULL;
	}
	return rc;
}

/* The owners of the symlinks that tar -x may have left to root. */
static int symlink_owners(const struct vol_restore_spec *s, FILE *idx)
{
	struct vol_entry ie = { .segment = -1 };
	FILE *list = NULL;
	char *line = NULL;
	size_t cap = 0;
	uint64_t len = 0;
	ssize_t n;
	int rc = 0;
	if (!(list = tmp_or_fail(&rc)))
		return rc;
	rewind(idx);
	while ((n = getline(&line, &cap, idx)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = 0;
		if ((rc = vol_index_parse(line, (size_t)n, &ie)) < 0)
			goto out;
		if (ie.type != VOL_T_SYMLINK || (ie.uid == 0 && ie.gid == 0))
			continue;
		int w = fprintf(list, "%" PRIu64 ":%" PRIu64, ie.uid, ie.gid);
		fputc(0, list);
		fprintf(list, "./%s", ie.path);
		fputc(0, list);
		len += (uint64_t)w + 1 + ie.path_len + 3;
	}
	if (len > 0) {
		char lens[24];
		int code = 0;
		snprintf(lens, sizeof lens, "%" PRIu64, len);
		const char *argv[] = { "sh", "-c", LCHOWN_SCRIPT, "sh", s->mount_path, lens, NULL };
		fflush(list);
		char *msg = NULL;
		rc = run_simple(s->ops, s->ctx, argv, list, len, NULL, &code, &msg, NULL);
		if (rc == 0 && code != 0)
			rc = kahu_error_set(KAHU_EFAIL, "setting the owners of symlinks failed (exit status %d)%s",
					    code, msg);
		free(msg);
	}
out:
	vol_entry_clear(&ie);
	free(line);
	fclose(list);
	return rc;
}

/* delete_extra: list the volume, remove what the index lacks. */
static int delete_extra(const struct vol_restore_spec *s, FILE *idx, uint64_t *deleted)
{
	char nonce[VOL_NONCE_LEN + 1];
	FILE *listing = NULL, *list = NULL;
	struct vol_listing l;
	struct vol_entry cur = { .segment = -1 };
	struct idx_cursor ic;
	uint64_t len = 0;
	bool no_tools = false;
	int rc = run_listing(s->ops, s->ctx, s->mount_path, nonce, false, &no_tools, &listing);
	if (rc < 0)
		return rc;
	if (!(list = tmp_or_fail(&rc))) {
		fclose(listing);
		return rc;
	}
	rewind(idx);
	idx_cursor_init(&ic, idx);
	vol_listing_init(&l, listing, nonce);
	while ((rc = vol_listing_next(&l, &cur)) == 1) {
		if ((rc = idx_cursor_seek(&ic, cur.path, cur.path_len)) < 0)
			goto out;
		if (idx_cursor_at(&ic, cur.path))
			continue;
		fprintf(list, "./%s", cur.path);
		fputc(0, list);
		len += cur.path_len + 3;
		(*deleted)++;
	}
	if (rc < 0)
		goto out;
	if (len > 0) {
		char lens[24];
		int code = 0;
		snprintf(lens, sizeof lens, "%" PRIu64, len);
		const char *argv[] = { "sh", "-c", DELETE_SCRIPT, "sh", s->mount_path, lens, NULL };
		fflush(list);
		char *msg = NULL;
		rc = run_simple(s->ops, s->ctx, argv, list, len, NULL, &code, &msg, NULL);
		if (rc == 0 && code != 0)
			rc = kahu_error_set(KAHU_EFAIL, "removing the files the backup lacks failed (exit status %d)%s",
					    code, msg);
		free(msg);
	}
out:
	vol_listing_free(&l);
	vol_entry_clear(&cur);
	idx_cursor_free(&ic);
	fclose(listing);
	fclose(list);
	return rc;
}

/* The blocks libarchive hands to the command's stdin: large, so that pods/exec carries
 * few large frames.  They are sent on a thread of their own (util/writeq.h) behind a
 * queue of RESTORE_QUEUE blocks, so that composing (reading, decrypting, decompressing,
 * checking) and sending (TLS) overlap. */
#define RESTORE_BLOCK (256 * 1024)
#define RESTORE_QUEUE 4

static struct archive *restore_writer(void)
{
	struct archive *aw = archive_write_new();
	archive_write_set_format_pax_restricted(aw);
	archive_write_set_bytes_per_block(aw, RESTORE_BLOCK);
	archive_write_set_bytes_in_last_block(aw, 1);
	return aw;
}

/* The length of the tar compose_restore will write: the same headers, the content as
 * the padding libarchive writes for it. */
static int count_tar(struct composer *c, FILE *idx, bool fix, uint64_t *len)
{
	int rc = 0;
	c->count_only = true;
	c->out_bytes = 0;
	c->sink_rc = 0;
	c->aw = restore_writer();
	if (archive_write_open2(c->aw, c, NULL, count_write_cb, NULL, NULL) != ARCHIVE_OK)
		rc = aw_err(c, c->aw);
	if (rc == 0)
		rc = compose_restore(c, idx, fix);
	if (rc == 0 && archive_write_close(c->aw) != ARCHIVE_OK)
		rc = aw_err(c, c->aw);
	archive_write_free(c->aw);
	c->aw = NULL;
	c->count_only = false;
	*len = c->out_bytes;
	c->out_bytes = 0;
	return rc;
}

/* One `tar -x` in the volume fed with the composed tar.  Its first line of input says
 * how the tar ends: "eof" when kahu can close the command's stdin (pods/exec v5, a
 * pipe), so tar reads it directly; else the tar's length, and `head -c LENGTH` ends
 * the input, since tar needs the end of its input (pods/exec v4 cannot half-close, and
 * both GNU tar and busybox's read their input to its end).  The length then comes from
 * a counting pass that reads no content.  `read` takes the line byte by byte, leaving
 * the tar on stdin. */
static const char RESTORE_SCRIPT[] =
	"IFS= read -r how || exit 2; "
	"if [ \"$how\" = eof ]; then exec tar -x -f - --numeric-owner -C \"$1\"; fi; "
	"head -c \"$how\" | tar -x -f - --numeric-owner -C \"$1\"";

/* How the `tar -x` ended, once its input is written or its stream failed (first: the
 * failure, NULL when none).  The command is finished (*h NULL).  What the command tells
 * is reported before a failure of its stream:
 * - a non-zero exit status: that status and its stderr (KAHU_EFAIL);
 * - a stream that broke (KAHU_EIO) after tar wrote to stderr: tar's message first
 *   (KAHU_EFAIL; running it again would fail the same way);
 * - else the failure; *broken when the stream broke or went idle (run it again). */
static int tar_x_end(const struct vol_restore_spec *s, void **h, const struct kahu_error_state *first,
		     bool *broken)
{
	int code = 0, rc;
	char *msg = said(s->ops->stderr_tail ? s->ops->stderr_tail(*h) : NULL);
	int frc = s->ops->finish(*h, &code);
	*h = NULL;
	if (frc == 0 && code != 0) {
		rc = kahu_error_set(KAHU_EFAIL, "tar -x in the volume exited with status %d%s", code, msg);
	} else {
		rc = first ? kahu_error_restore(first) : frc;
		if (rc == KAHU_EIO && *msg) {
			char *was = xstrdup(kahu_error_last());
			rc = kahu_error_set(KAHU_EFAIL, "tar -x in the volume failed%s (its exit status was lost: %s)",
					    msg, was);
			free(was);
		} else {
			*broken = rc == KAHU_EIO || rc == KAHU_ETEMP;
		}
	}
	free(msg);
	return rc;
}

static int run_tar_x(const struct vol_restore_spec *s, struct composer *c, FILE *idx, bool fix, bool *broken)
{
	struct ops_sink sink = { .c = c, .ops = s->ops };
	int rc;
	char how[32];
	const char *argv[] = { "sh", "-c", RESTORE_SCRIPT, "sh", s->mount_path, NULL };
	*broken = false;
	c->sink_rc = 0;
	c->out_bytes = 0;
	if ((rc = s->ops->start(s->ctx, argv, true, &sink.h)) < 0)
		return rc;
	bool eof = s->ops->can_close_stdin && s->ops->can_close_stdin(sink.h);
	if (eof) {
		c->count_bytes = UINT64_MAX;
		snprintf(how, sizeof how, "eof\n");
	} else {
		if ((rc = count_tar(c, idx, fix, &c->count_bytes)) < 0)
			goto out;
		snprintf(how, sizeof how, "%" PRIu64 "\n", c->count_bytes);
	}
	/* From here until the queue is finished, its sender alone uses the command (its
	 * stdin; while it waits to send, it takes in what the command says: stderr, the
	 * status, the end).  A command that ended fails the sending at once (ops->write:
	 * KAHU_EFAIL), so composing stops there. */
	if ((rc = kahu_writeq_open(&sink.q, RESTORE_BLOCK, RESTORE_QUEUE, s->ops->write, sink.h)) < 0)
		goto out;
	if ((rc = kahu_writeq_write(sink.q, how, strlen(how))) < 0) {
		sink.send_failed = true;
		kahu_error_capture(&sink.err);
		goto out;
	}
	c->aw = restore_writer();
	if (archive_write_open2(c->aw, &sink, NULL, ops_write_cb, NULL, NULL) != ARCHIVE_OK)
		rc = aw_err(c, c->aw);
	if (rc == 0)
		rc = compose_restore(c, idx, fix);
	if (rc == 0 && archive_write_close(c->aw) != ARCHIVE_OK)
		rc = aw_err(c, c->aw);
	if (rc == 0 && !eof && c->out_bytes != c->count_bytes)
		rc = kahu_error_set(KAHU_EINTERNAL, "the volume's tar has %" PRIu64 " bytes, not the %" PRIu64 " computed before",
				    c->out_bytes, c->count_bytes);
	if (rc == 0 && (rc = kahu_writeq_finish(sink.q)) < 0) { /* everything sent; the sender joined */
		sink.send_failed = true;
		kahu_error_capture(&sink.err);
	}
	if (rc == 0 && (rc = s->ops->close_stdin(sink.h)) < 0) {
		sink.cmd_failed = true;
		kahu_error_capture(&sink.err);
	}
	if (rc == 0) {
		/* drain stdout (nothing expected) */
		size_t got;
		while ((rc = s->ops->read(sink.h, c->buf, IO_CHUNK, &got)) == 0 && got > 0)
			;
		if (rc < 0) {
			sink.cmd_failed = true;
			kahu_error_capture(&sink.err);
		}
	}
	if (rc == 0)
		rc = tar_x_end(s, &sink.h, NULL, broken);
out:
	if (c->aw) {
		if (c->sink_rc == 0)
			c->sink_rc = rc < 0 ? rc : KAHU_EFAIL; /* no more writes to the command */
		archive_write_free(c->aw);
	}
	c->aw = NULL;
	kahu_writeq_free(sink.q); /* stopped and joined before the command is used again */
	if (sink.h && (sink.send_failed || sink.cmd_failed) && rc != KAHU_EINTR && !kahu_cancelled())
		rc = tar_x_end(s, &sink.h, &sink.err, broken);
	if (sink.h)
		s->ops->abort(sink.h);
	return rc;
}

/* run_tar_x, run again from the start after a broken stream (tar -x overwrites what
 * the broken run wrote), with backoff, at most s->retries times. */
static int run_tar_x_retried(const struct vol_restore_spec *s, struct composer *c, FILE *idx, bool fix,
			     struct vol_restore_result *res)
{
	int retries = s->retries < 0 ? 0 : s->retries == 0 ? VOL_RETRIES_DEFAULT : s->retries;
	struct kahu_backoff bo = { .base_ms = s->retry_base_ms > 0 ? s->retry_base_ms : 500,
				   .cap_ms = 30000, .jitter_div = 4 };
	struct vol_restore_result before = *res;
	uint64_t done = c->done;
	for (int attempt = 0;; attempt++) {
		bool broken = false;
		int rc = run_tar_x(s, c, idx, fix, &broken);
		if (c->out_bytes)
			res->incomplete = true; /* until a run completes */
		if (rc == 0) {
			res->incomplete = false;
			return 0;
		}
		if (!broken || rc == KAHU_EINTR)
			return rc;
		if (attempt >= retries)
			return retries ? kahu_error_wrap(rc, "volume data restore failed after %d retr%s", retries,
							 retries == 1 ? "y" : "ies")
				       : rc;
		log_warn("volume %s: %s; writing its data again (retry %d of %d)", vol_label(s->label, s->vid),
			 kahu_error_last(), attempt + 1, retries);
		long want, wait;
		if (kahu_backoff_plan(&bo, attempt + 1, -1, &want, &wait) == KAHU_BACKOFF_SPENT)
			return rc;
		if (kahu_backoff_wait(&bo, wait) < 0)
			return kahu_error_set(KAHU_EINTR, "interrupted");
		/* The counts are those of the run that completes. */
		unsigned retried = res->retries + 1;
		bool incomplete = res->incomplete;
		*res = before;
		res->retries = retried;
		res->incomplete = incomplete;
		c->done = done;
		composer_rewind(c);
	}
}

int vol_restore(const struct vol_restore_spec *s, struct vol_restore_result *res)
{
	struct composer c = { .st = s->st, .key = s->key, .vid = s->vid, .res = res,
			      .backup = s->backup, .run = s->run, .chain_runs = s->chain_runs,
			      .progress = s->progress, .progress_ud = s->progress_ud,
			      .fixdirs = STRSET_INIT };
	FILE *idx = NULL;
	int64_t t0 = now_ms();
	int rc;

	memset(res, 0, sizeof *res);
	if ((rc = open_final_index(s->st, s->key, s->backup, s->run, s->vid, &idx)) < 0)
		return rc;
	c.buf = xmalloc(IO_CHUNK);
	/* What the backup lacks goes first: removed afterwards, it would change the times
	 * of the directories the tar has just set. */
	if (s->delete_extra)
		rc = delete_extra(s, idx, &res->deleted);
	if (rc == 0)
		rc = run_tar_x_retried(s, &c, idx, false, res);
	/* the directories holding what a tar created at its end, once more (few) */
	if (rc == 0 && c.fixdirs.n > 0)
		rc = run_tar_x_retried(s, &c, idx, true, res);
	if (rc == 0)
		rc = symlink_owners(s, idx);
	if (rc < 0 && rc != KAHU_EINTR && (res->incomplete || res->deleted)) {
		res->incomplete = true;
		char *was = xstrdup(kahu_error_last());
		kahu_error_set(rc, "%s; the volume holds part of the backup's data", was);
		free(was);
	}
	composer_free(&c);
	fclose(idx);
	res->duration_ms = now_ms() - t0;
	return rc;
}

int vol_extract_local(const struct vol_extract_spec *s, struct vol_restore_result *res)
{
	struct composer c = { .st = s->st, .key = s->key, .vid = s->vid, .res = res,
			      .backup = s->backup, .run = s->run, .chain_runs = s->chain_runs,
			      .fixdirs = STRSET_INIT };
	FILE *idx = NULL;
	int64_t t0 = now_ms();
	int rc, cwd = -1, dfd = -1;

	memset(res, 0, sizeof *res);
	if ((rc = open_final_index(s->st, s->key, s->backup, s->run, s->vid, &idx)) < 0)
		return rc;
	if (mkdir(s->dest, 0700) < 0 && errno != EEXIST) {
		rc = kahu_error_set(KAHU_EIO, "cannot create %s: %s", s->dest, strerror(errno));
		goto out;
	}
	if ((cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (dfd = open(s->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fchdir(dfd) < 0) {
		rc = kahu_error_set(KAHU_EIO, "cannot enter %s: %s", s->dest, strerror(errno));
		goto out;
	}
	c.buf = xmalloc(IO_CHUNK);
	int flags = ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
		    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM;
	if (geteuid() == 0)
		flags |= ARCHIVE_EXTRACT_OWNER;
	c.aw = archive_write_disk_new();
	archive_write_disk_set_options(c.aw, flags);
	rc = compose_all(&c, idx, s->paths, PASS_ALL, NULL);
	if (rc == 0 && archive_write_close(c.aw) != ARCHIVE_OK)
		rc = aw_err(&c, c.aw);
out:
	if (cwd >= 0) {
		if (fchdir(cwd) < 0)
			log_warn("cannot return to the working directory: %s", strerror(errno));
		close(cwd);
	}
	if (dfd >= 0)
		close(dfd);
	if (c.aw)
		archive_write_free(c.aw);
	composer_free(&c);
	if (idx)
		fclose(idx);
	res->duration_ms = now_ms() - t0;
	return rc;
}

/* ---- the catalog ---- */

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

json_t *vol_cat_entry_json(const struct vol_cat_entry *e)
{
	json_t *o = json_object();
	set_str(o, "vid", e->vid);
	set_str(o, "namespace", e->namespace_);
	set_str(o, "pvc", e->pvc);
	set_str(o, "pv", e->pv);
	set_str(o, "storageClass", e->storage_class);
	set_str(o, "driver", e->driver);
	set_str(o, "capacity", e->capacity);
	set_str(o, "method", e->method);
	set_str(o, "status", e->status);
	set_str(o, "reason", e->reason);
	set_str(o, "parent", e->parent);
	json_object_set_new(o, "counts", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"files", (json_int_t)e->counts.files, "dirs", (json_int_t)e->counts.dirs,
		"links", (json_int_t)e->counts.links, "bytesRead", (json_int_t)e->counts.bytes_read,
		"bytesStored", (json_int_t)e->counts.bytes_stored,
		"bytesTransferred", (json_int_t)e->counts.bytes_transferred,
		"unchanged", (json_int_t)e->counts.unchanged));
	json_object_set_new(o, "durationMs", json_integer(e->duration_ms));
	json_object_set_new(o, "retries", json_integer(e->retries));
	json_object_set_new(o, "segments", json_integer(e->segments));
	if (e->csi)
		json_object_set(o, "csi", e->csi);
	return o;
}

static const char *get_str(json_t *o, const char *k, bool *bad)
{
	json_t *v = json_object_get(o, k);
	if (v && !json_is_string(v))
		*bad = true;
	return json_string_value(v);
}

static uint64_t get_u(json_t *o, const char *k, bool *bad)
{
	json_t *v = json_object_get(o, k);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		*bad = true;
		return 0;
	}
	return (uint64_t)json_integer_value(v);
}

int vol_cat_entry_from_json(json_t *o, struct vol_cat_entry *e)
{
	bool bad = false;
	memset(e, 0, sizeof *e);
	if (!json_is_object(o))
		return kahu_error_set(KAHU_EDATA, "volume catalog: a line that is not an object");
	e->vid = get_str(o, "vid", &bad);
	e->namespace_ = get_str(o, "namespace", &bad);
	e->pvc = get_str(o, "pvc", &bad);
	e->pv = get_str(o, "pv", &bad);
	e->storage_class = get_str(o, "storageClass", &bad);
	e->driver = get_str(o, "driver", &bad);
	e->capacity = get_str(o, "capacity", &bad);
	e->method = get_str(o, "method", &bad);
	e->status = get_str(o, "status", &bad);
	e->reason = get_str(o, "reason", &bad);
	e->parent = get_str(o, "parent", &bad);
	json_t *c = json_object_get(o, "counts");
	if (c && !json_is_object(c))
		bad = true;
	e->counts.files = get_u(c, "files", &bad);
	e->counts.dirs = get_u(c, "dirs", &bad);
	e->counts.links = get_u(c, "links", &bad);
	e->counts.bytes_read = get_u(c, "bytesRead", &bad);
	e->counts.bytes_stored = get_u(c, "bytesStored", &bad);
	e->counts.bytes_transferred = get_u(c, "bytesTransferred", &bad);
	e->counts.unchanged = get_u(c, "unchanged", &bad);
	e->duration_ms = (int64_t)get_u(o, "durationMs", &bad);
	e->retries = (unsigned)get_u(o, "retries", &bad);
	e->segments = (unsigned)get_u(o, "segments", &bad);
	e->csi = json_object_get(o, "csi");
	if (!e->vid || !e->namespace_ || !e->pvc)
		return kahu_error_set(KAHU_EDATA, "volume catalog: a line without vid, namespace or pvc");
	if (bad || layout_vid_check(e->vid) < 0)
		return kahu_error_set(KAHU_EDATA, "volume catalog: a line with a mistyped member");
	return 0;
}

int vol_cat_write(struct kahu_store *st, const struct kahu_key *key, const char *backup,
		  int level, json_t *lines, json_t *objects)
{
	struct sealed_out o;
	size_t i;
	json_t *v;
	int rc = sealed_begin(st, key, NULL, level, false, layout_volume_catalog(backup, key != NULL),
			      &o);
	json_array_foreach(lines, i, v) {
		if (rc < 0)
			break;
		char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		rc = seal_write(&o.sw, s, strlen(s));
		if (rc == 0)
			rc = seal_write(&o.sw, "\n", 1);
		free(s);
	}
	if (rc == 0)
		rc = sealed_commit(&o, backup, objects);
	sealed_discard(&o);
	return rc;
}

int vol_cat_read(struct kahu_store *st, const struct kahu_key *key, const char *backup, json_t **lines)
{
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = sealed_spool(st, key, layout_volume_catalog(backup, key != NULL), NULL, &f);
	*lines = NULL;
	if (rc == KAHU_ENOTFOUND)
		return kahu_error_set(KAHU_ENOTFOUND, "backup %s holds no volume data", backup);
	if (rc < 0)
		return rc;
	json_t *arr = json_array();
	while ((n = getline(&line, &cap, f)) > 0) {
		json_error_t jerr;
		struct vol_cat_entry e;
		json_t *o = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
		if ((rc = vol_cat_entry_from_json(o, &e)) < 0) {
			json_decref(o);
			break;
		}
		json_array_append_new(arr, o);
	}
	free(line);
	fclose(f);
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*lines = arr;
	return 0;
}

json_t *vol_cat_find(json_t *lines, const char *namespace_, const char *pvc)
{
	size_t i;
	json_t *v;
	json_array_foreach(lines, i, v) {
		if (!strcmp(json_string_value(json_object_get(v, "namespace")) ?: "", namespace_) &&
		    !strcmp(json_string_value(json_object_get(v, "pvc")) ?: "", pvc))
			return v;
	}
	return NULL;
}

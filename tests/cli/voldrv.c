/* kahu — test driver for tests/cli/t-voldata.sh: writes a volume's data into an existing
 * backup of an fs location with the volume data core (engine/voldata.h) through local
 * ops, as the backup run will through pods/exec, and its catalog line.  With a key the
 * objects are bound to the run the backup's manifest names (and the parent's index read
 * with the parent's run), as a backup run binds them; KAHU_VOLDRV_UNBOUND=1 writes them
 * without it, as kahu did before runs existed.
 *
 *   voldrv backup LOCDIR KEYFILE BACKUP NS/PVC SRCDIR [PARENT]   (KEYFILE "-": none)
 *   voldrv hostile LOCDIR KEYFILE BACKUP NS/PVC LINE...          an index of these lines
 *
 * Prints the volume's counts as JSON; exit 0, or 1 with the message on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "archive/envelope.h"
#include "archive/key.h"
#include "archive/manifest.h"
#include "archive/seal.h"
#include "engine/bread.h"
#include "engine/vol_local.h"
#include "engine/voldata.h"
#include "store/layout.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

static int fail(const char *what)
{
	fprintf(stderr, "voldrv: %s: %s\n", what, kahu_error_last());
	return 1;
}

int main(int argc, char **argv)
{
	struct kahu_store *st = NULL;
	struct kahu_key *key = NULL;
	char vid[VOL_ID_HEX_LEN + 1];
	if (argc < 7)
		return fprintf(stderr, "usage: voldrv backup|hostile LOCDIR KEYFILE BACKUP NS/PVC ...\n"), 64;
	struct kahu_backend_kv cfg[] = { { "path", argv[2] } };
	if (store_open_builtin("fs", cfg, 1, &st) < 0)
		return fail("location");
	if (strcmp(argv[3], "-") && kahu_key_load(argv[3], &key) < 0)
		return fail("key");
	char *ns = strdup(argv[5]), *pvc = strchr(ns, '/');
	if (!pvc)
		return fprintf(stderr, "voldrv: NS/PVC\n"), 64;
	*pvc++ = 0;
	vol_id(key, ns, pvc, vid);
	/* The runs of the backup and of its parent, from their authenticated manifests. */
	char run[MANIFEST_RUN_HEX_LEN + 1] = "", prun[MANIFEST_RUN_HEX_LEN + 1] = "";
	const char *unbound = getenv("KAHU_VOLDRV_UNBOUND");
	if (key && !(unbound && !strcmp(unbound, "1"))) {
		struct manifest *m = NULL;
		if (bread_manifest(st, key, argv[4], 1, &m) < 0)
			return fail("manifest");
		snprintf(run, sizeof run, "%s", m->run);
		manifest_free(m);
		if (!strcmp(argv[1], "backup") && argc > 7) {
			if (bread_manifest(st, key, argv[7], 1, &m) < 0)
				return fail("parent manifest");
			snprintf(prun, sizeof prun, "%s", m->run);
			manifest_free(m);
		}
	}
	json_t *lines = json_array(), *objects = json_array();
	struct vol_cat_entry ce = { .vid = vid, .namespace_ = ns, .pvc = pvc, .method = "exec",
				    .status = "Completed" };

	if (!strcmp(argv[1], "backup")) {
		struct vol_local local = { 0 };
		struct vol_backup_spec s = { .ops = &vol_local_ops, .ctx = &local, .mount_path = argv[6],
					     .backup = argv[4], .vid = vid, .st = st, .key = key,
					     .parent = argc > 7 ? argv[7] : NULL, .retries = -1,
					     .run = *run ? run : NULL, .parent_run = *prun ? prun : NULL };
		struct vol_backup_result r;
		if (vol_backup(&s, &r) < 0)
			return fail("vol_backup");
		ce.counts = r.counts;
		ce.segments = r.segments;
		ce.parent = s.parent;
		printf("{\"files\":%llu,\"dirs\":%llu,\"links\":%llu,\"transferred\":%llu,\"unchanged\":%llu,\"segments\":%u}\n",
		       (unsigned long long)r.counts.files, (unsigned long long)r.counts.dirs,
		       (unsigned long long)r.counts.links, (unsigned long long)r.counts.bytes_transferred,
		       (unsigned long long)r.counts.unchanged, r.segments);
		vol_backup_result_free(&r);
	} else if (!strcmp(argv[1], "hostile")) {
		struct kbuf text = KBUF_INIT, out = KBUF_INIT;
		for (int i = 6; i < argc; i++) {
			kbuf_adds(&text, argv[i]);
			kbuf_addc(&text, '\n');
		}
		char *path = layout_volume_index(argv[4], vid, key != NULL);
		struct seal_writer sw = { 0 };
		uint8_t rb[KENC_RUN_BYTES];
		size_t rn = 0;
		if (*run && sodium_hex2bin(rb, sizeof rb, run, strlen(run), NULL, &rn, NULL) != 0)
			return fail("run id");
		if (seal_open_run(&sw, key, path, *run ? rb : NULL, 3, kahu_write_to_kbuf, &out) < 0 ||
		    seal_write(&sw, text.data, text.len) < 0 || seal_finish(&sw) < 0 ||
		    store_write_small(st, path, out.data, out.len) < 0)
			return fail("hostile index");
		seal_close(&sw);
		free(path);
		kbuf_free(&text);
		kbuf_free(&out);
	} else {
		return fprintf(stderr, "voldrv: unknown command %s\n", argv[1]), 64;
	}
	json_array_append_new(lines, vol_cat_entry_json(&ce));
	if (vol_cat_write(st, key, argv[4], 3, lines, objects) < 0)
		return fail("catalog");
	json_decref(lines);
	json_decref(objects);
	free(ns);
	kahu_key_free(key);
	store_close(st);
	return 0;
}

/* kahu — the layout of a location.  See layout.h. */
#include "store/layout.h"

#include <ctype.h>
#include <string.h>

#include "util/err.h"
#include "util/mem.h"

int layout_name_check(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0)
		return kahu_error_set(KAHU_EUSAGE, "a backup name must not be empty");
	if (n > LAYOUT_NAME_MAX)
		return kahu_error_set(KAHU_EUSAGE, "backup name '%.40s…' is too long (%zu characters, "
				      "at most %d)", name, n, LAYOUT_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!(islower(c) || isdigit(c) || c == '-' || c == '.') || c > 127)
			return kahu_error_set(KAHU_EUSAGE, "invalid backup name '%s': character %zu "
					      "is not a lowercase letter, digit, '-' or '.' (names "
					      "follow Kubernetes' DNS-1123 subdomain rule)",
					      name, i + 1);
	}
	if (!isalnum((unsigned char)name[0]) || !isalnum((unsigned char)name[n - 1]))
		return kahu_error_set(KAHU_EUSAGE, "invalid backup name '%s': it must start and end "
				      "with a lowercase letter or a digit", name);
	return 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- backups ---- */

char *layout_backup_dir(const char *name)
{
	return xasprintf(LAYOUT_BACKUPS "%s/", name);
}

char *layout_backup_manifest(const char *name)
{
	return xasprintf(LAYOUT_BACKUPS "%s/" LAYOUT_MANIFEST, name);
}

char *layout_backup_data(const char *name, const char *object, int encrypted)
{
	return xasprintf(LAYOUT_BACKUPS "%s/%s%s", name, object, encrypted ? LAYOUT_SEALED : "");
}

char *layout_backup_object(const char *name, const char *rel)
{
	return xasprintf(LAYOUT_BACKUPS "%s/%s", name, rel);
}

int layout_vid_check(const char *vid)
{
	if (!vid || strlen(vid) != 32 || strspn(vid, "0123456789abcdef") != 32)
		return kahu_error_set(KAHU_EDATA, "not a volume id (32 lowercase hex digits)");
	return 0;
}

char *layout_volume_marker(const char *name)
{
	return xasprintf(LAYOUT_BACKUPS "%s/" LAYOUT_VOLUME_MARKER, name);
}

char *layout_volume_catalog(const char *name, int encrypted)
{
	return layout_backup_data(name, LAYOUT_VOLUMES_CATALOG, encrypted);
}

char *layout_volume_index(const char *name, const char *vid, int encrypted)
{
	return xasprintf(LAYOUT_BACKUPS "%s/volumes/%s/" LAYOUT_VOLUME_INDEX "%s", name, vid,
			 encrypted ? LAYOUT_SEALED : "");
}

char *layout_mover_result(const char *name, const char *vid, const char *attempt, int encrypted)
{
	return xasprintf(LAYOUT_BACKUPS "%s/" LAYOUT_MOVERS "%s-%s" LAYOUT_MOVER_RESULT "%s", name,
			 vid, attempt, encrypted ? LAYOUT_SEALED : "");
}

char *layout_volume_segment(const char *name, const char *vid, long seg, int encrypted)
{
	return xasprintf(LAYOUT_BACKUPS "%s/volumes/%s/data-%06ld.tar.zst%s", name, vid, seg,
			 encrypted ? LAYOUT_SEALED : "");
}

const char *layout_backup_rel(const char *name, const char *path)
{
	size_t nb = strlen(LAYOUT_BACKUPS), nn = strlen(name);
	if (strncmp(path, LAYOUT_BACKUPS, nb) == 0 && strncmp(path + nb, name, nn) == 0 &&
	    path[nb + nn] == '/')
		return path + nb + nn + 1;
	return path;
}

const char *layout_object_rel(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

int layout_rel_is(const char *rel, const char *object)
{
	size_t n = strlen(object);
	return rel && strncmp(rel, object, n) == 0 &&
	       (rel[n] == '\0' || strcmp(rel + n, LAYOUT_SEALED) == 0);
}

int layout_parse_backup_key(const char *key, char **name, const char **rest)
{
	*name = NULL;
	*rest = NULL;
	if (strncmp(key, LAYOUT_BACKUPS, strlen(LAYOUT_BACKUPS)) != 0)
		return 0;
	const char *n = key + strlen(LAYOUT_BACKUPS), *slash = strchr(n, '/');
	*name = xstrndup(n, slash ? (size_t)(slash - n) : strlen(n));
	*rest = slash ? slash + 1 : NULL;
	return 1;
}

/* ---- restores ---- */

char *layout_restore_dir(const char *name)
{
	return xasprintf(LAYOUT_RESTORES "%s/", name);
}

char *layout_restore_summary(const char *name)
{
	return xasprintf(LAYOUT_RESTORES "%s/" LAYOUT_SUMMARY, name);
}

char *layout_restore_data(const char *name, const char *object, int encrypted)
{
	return xasprintf(LAYOUT_RESTORES "%s/%s%s", name, object, encrypted ? LAYOUT_SEALED : "");
}

int layout_parse_restore_summary(const char *key, char **name)
{
	const size_t plen = strlen(LAYOUT_RESTORES), slen = strlen("/" LAYOUT_SUMMARY);
	size_t l = strlen(key);
	*name = NULL;
	if (strncmp(key, LAYOUT_RESTORES, plen) != 0 || l <= plen + slen ||
	    !ends_with(key, "/" LAYOUT_SUMMARY))
		return 0;
	size_t nlen = l - plen - slen;
	if (memchr(key + plen, '/', nlen))
		return 0;
	*name = xstrndup(key + plen, nlen);
	return 1;
}

/* ---- keys and locks ---- */

char *layout_wrapped_key(const char *id_hex, int n)
{
	return n <= 1 ? xasprintf(LAYOUT_KEYS "%s.json", id_hex) :
	       xasprintf(LAYOUT_KEYS "%s-%d.json", id_hex, n);
}

#define KEY_ID_HEX 32

int layout_parse_wrapped_key(const char *key, char *id)
{
	id[0] = '\0';
	if (strncmp(key, LAYOUT_KEYS, strlen(LAYOUT_KEYS)) != 0)
		return -1;
	const char *base = key + strlen(LAYOUT_KEYS);
	if (strchr(base, '/') || strlen(base) < 5 || !ends_with(base, ".json"))
		return -1;
	for (size_t i = 0; i < KEY_ID_HEX; i++)
		if (!((base[i] >= '0' && base[i] <= '9') || (base[i] >= 'a' && base[i] <= 'f')))
			return 0;
	if (base[KEY_ID_HEX] != '.' && base[KEY_ID_HEX] != '-')
		return 0;
	memcpy(id, base, KEY_ID_HEX);
	id[KEY_ID_HEX] = '\0';
	return 1;
}

char *layout_probe(const char *id)
{
	return xasprintf(LAYOUT_PROBES "%s", id);
}

char *layout_lock(const char *id)
{
	return xasprintf(LAYOUT_LOCKS "%s.json", id);
}

int layout_is_lock(const char *key)
{
	return strncmp(key, LAYOUT_LOCKS, strlen(LAYOUT_LOCKS)) == 0 &&
	       strlen(key) >= strlen(LAYOUT_LOCKS) + 5 && ends_with(key, ".json");
}

/* shard: how a key becomes a path under the location's root, and back.
 *
 *   key "backups/b1/backup.json"
 *   -> <root>/3f/a2/backups+b1+backup.json
 *
 * The two directory levels are the first four hex digits of the key's 32-bit FNV-1a
 * hash, so objects spread evenly over at most 65,536 directories whatever their names.
 * The file name is the key, encoded so that it is one safe path component:
 *
 *   '/'                         -> '+'
 *   A-Z a-z 0-9 '-' '_' '.'     -> themselves ('.' as "%2E" where a component starts)
 *   any other byte              -> '%' and two upper-case hex digits ("%2B" for '+')
 *
 * A name longer than NAMES_CHUNK_MAX bytes is cut into chunks: every chunk but the last
 * is a directory whose name ends in '~' (which the encoding never produces itself), so
 *
 *   <root>/ab/cd/<chunk 1>~/<chunk 2>~/<last chunk>
 *
 * and every component stays far below the 255 bytes of NAME_MAX.  Names starting with
 * '.' are the provider's own (temporary files); the encoding never starts a component
 * with '.'.
 *
 * Pure functions, no I/O, no allocation: unit-tested by test-names.c. */
#ifndef SHARD_NAMES_H
#define SHARD_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* Longest key (kahu's KAHU_BACKEND_KEY_MAX). */
#define NAMES_KEY_MAX 1024

/* Longest encoded chunk (bytes).  A temporary file's name adds 22 bytes to it. */
#define NAMES_CHUNK_MAX 200

/* 32-bit FNV-1a of the key's bytes. */
uint32_t names_hash(const char *key);

/* The shard directories of `key`: "ab/cd" into out (6 bytes). */
void names_shard(const char *key, char out[6]);

/* The path of `key` relative to the root: "ab/cd/<chunk>~/.../<last chunk>".  Returns
 * its length, or the length it would need (without the NUL) when that is >= outlen,
 * as snprintf does.  names_rel_max(strlen(key)) bytes are always enough. */
size_t names_rel(const char *key, char *out, size_t outlen);
size_t names_rel_max(size_t keylen);

/* Decode the path of an object relative to the root ("ab/cd/<chunk>~/.../<last
 * chunk>") into the key (at most NAMES_KEY_MAX bytes and the NUL).  Returns 0, or -1
 * when `rel` is not something names_rel() writes: a malformed escape, a byte the
 * encoding never writes, a decoded key longer than NAMES_KEY_MAX, or a path that does
 * not re-encode to itself, shard included (so a key returned here is one that
 * names_rel() maps to the same file). */
int names_decode(const char *rel, char key[NAMES_KEY_MAX + 1]);

#endif

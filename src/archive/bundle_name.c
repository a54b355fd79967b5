/* kahu — bundle member names: the checks every name passes (written or read), the
 * encoding of API names into name components, the quoting of names in messages, and
 * the UTF-8 locale libarchive converts names under.  See bundle.h. */
#include "archive/bundle.h"
#include "archive/bundle_int.h"

#include <locale.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"

/* ---- member names ---------------------------------------------------------------- */

/* Length of the UTF-8 sequence at s (1..4), or 0 when it is not valid UTF-8 (overlong
 * forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = utf8_seq_len(p);
		if (!n)
			return false;
		p += n;
	}
	return true;
}

const char *bundle_quote(const char *s, char *out, size_t cap)
{
	bool utf8 = utf8_valid(s);
	size_t o = 0;
	out[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (o + 8 >= cap || o > 200) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\' || (*p >= 0x80 && !utf8))
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

int bundle_name_check(const char *name)
{
	char q[BUNDLE_QUOTE_CAP];
	size_t len = strlen(name);
	if (len == 0)
		return kahu_error_set(KAHU_EUSAGE, "empty member name");
	if (len > BUNDLE_NAME_MAX)
		return kahu_error_set(KAHU_EUSAGE, "member name %s is too long (%zu bytes, at most %d)",
				      bundle_quote(name, q, sizeof q), len, BUNDLE_NAME_MAX);
	if (name[0] == '/')
		return kahu_error_set(KAHU_EUSAGE, "member name %s is an absolute path",
				      bundle_quote(name, q, sizeof q));
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return kahu_error_set(KAHU_EUSAGE,
					      "member name %s contains a control character",
					      bundle_quote(name, q, sizeof q));
	if (!utf8_valid(name))
		return kahu_error_set(KAHU_EUSAGE, "member name %s is not valid UTF-8",
				      bundle_quote(name, q, sizeof q));
	for (const char *c = name; c; ) {
		const char *slash = strchr(c, '/');
		size_t clen = slash ? (size_t)(slash - c) : strlen(c);
		if (clen == 0)
			return kahu_error_set(KAHU_EUSAGE,
					      "member name %s has an empty component (a doubled or "
					      "trailing '/')", bundle_quote(name, q, sizeof q));
		if ((clen == 1 && c[0] == '.') || (clen == 2 && c[0] == '.' && c[1] == '.'))
			return kahu_error_set(KAHU_EUSAGE, "member name %s has a '%.*s' component",
					      bundle_quote(name, q, sizeof q), (int)clen, c);
		c = slash ? slash + 1 : NULL;
	}
	return 0;
}

/* ---- member-name components ------------------------------------------------------- */

int bundle_component_safe(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	if (len == 0 || len > BUNDLE_COMPONENT_RAW_MAX || p[0] == BUNDLE_ENCODED_MARK)
		return 0;
	if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
		return 0;
	for (size_t i = 0; i < len; ) {
		if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '/')
			return 0;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		/* utf8_seq_len reads at most 4 bytes and stops at the first that is not a
		 * continuation byte, so a sequence cut by len is caught below. */
		size_t n = utf8_seq_len(p + i);
		if (!n || n > len - i)
			return 0;
		if (p[i] == 0xc2 && p[i + 1] <= 0x9f) /* U+0080..U+009F: C1 controls */
			return 0;
		i += n;
	}
	return 1;
}

void bundle_component_encode(const char *s, size_t len, struct kbuf *out)
{
	char hex[KAHU_HASH_HEX_LEN + 1];
	kbuf_addc(out, BUNDLE_ENCODED_MARK);
	for (size_t i = 0; i < len && i < BUNDLE_ENCODED_PREFIX_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		kbuf_addc(out, keep ? (char)c : '_');
	}
	kbuf_addc(out, '~');
	kbuf_adds(out, kahu_key_hash(s, len, hex));
}

void bundle_component_add(const char *s, size_t len, struct kbuf *out)
{
	if (bundle_component_safe(s, len))
		kbuf_add(out, s, len);
	else
		bundle_component_encode(s, len, out);
}

/* ---- names and the locale ----------------------------------------------------------
 * libarchive converts names between the pax header's UTF-8 and the current locale's
 * charset.  Our names are UTF-8 whatever the user's locale, so header calls run under
 * a UTF-8 LC_CTYPE for this thread (uselocale), which makes the conversions identities.
 * Without any UTF-8 locale the writer falls back to hdrcharset=BINARY (the raw bytes,
 * which are UTF-8 anyway; GNU tar warns about that keyword but reads the names). */

static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;
static locale_t utf8_loc;

static void utf8_init(void)
{
	static const char *const names[] = { "C.UTF-8", "C.utf8", "en_US.UTF-8" };
	for (size_t i = 0; i < sizeof names / sizeof *names && !utf8_loc; i++)
		utf8_loc = newlocale(LC_CTYPE_MASK, names[i], (locale_t)0);
}

locale_t bundle_utf8_enter(void)
{
	pthread_once(&utf8_once, utf8_init);
	return utf8_loc ? uselocale(utf8_loc) : (locale_t)0;
}

bool bundle_utf8_available(void)
{
	pthread_once(&utf8_once, utf8_init);
	return utf8_loc != (locale_t)0;
}

void bundle_utf8_leave(locale_t old)
{
	if (old)
		uselocale(old);
}

/* kahu — the s3 provider's credentials; see creds.h. */
#include "creds.h"

#include <sodium.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *sdup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static void wipe_free(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

void s3_creds_clear(struct s3_creds *c)
{
	if (!c)
		return;
	wipe_free(c->access_key);
	wipe_free(c->secret_key);
	wipe_free(c->session_token);
	free(c->role_arn);
	free(c->token_file);
	memset(c, 0, sizeof *c);
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t' || **s == '\r'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
		(*e)--;
}

int s3_creds_parse(const char *text, const char *origin, const char *profile,
		   struct s3_creds *out, char *err, size_t errlen)
{
	int in = 0, found = 0;
	char *ak = NULL, *sk = NULL, *tok = NULL;
	for (const char *line = text; *line;) {
		const char *le = strchr(line, '\n');
		const char *s = line, *e = le ? le : line + strlen(line);
		line = le ? le + 1 : e;
		trim(&s, &e);
		if (s == e || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			const char *c = memchr(s, ']', (size_t)(e - s));
			if (!c)
				continue;
			const char *ns = s + 1, *ne = c;
			trim(&ns, &ne);
			/* The config file's spelling, "[profile NAME]", is accepted too. */
			if ((size_t)(ne - ns) > 8 && strncmp(ns, "profile ", 8) == 0) {
				ns += 8;
				trim(&ns, &ne);
			}
			in = strlen(profile) == (size_t)(ne - ns) &&
			     strncmp(ns, profile, (size_t)(ne - ns)) == 0;
			found |= in;
			continue;
		}
		if (!in)
			continue;
		const char *eq = memchr(s, '=', (size_t)(e - s));
		if (!eq)
			continue;
		const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
		trim(&ks, &ke);
		trim(&vs, &ve);
		size_t kl = (size_t)(ke - ks);
		char **dst = NULL;
		if (kl == 17 && strncmp(ks, "aws_access_key_id", kl) == 0)
			dst = &ak;
		else if (kl == 21 && strncmp(ks, "aws_secret_access_key", kl) == 0)
			dst = &sk;
		else if (kl == 17 && strncmp(ks, "aws_session_token", kl) == 0)
			dst = &tok;
		if (dst) {
			wipe_free(*dst);
			*dst = sdup(vs, (size_t)(ve - vs));
		}
	}
	if (!found || !ak || !sk || !*ak || !*sk) {
		if (!found)
			snprintf(err, errlen, "credentials file %s has no profile \"%s\"", origin,
				 profile);
		else
			snprintf(err, errlen,
				 "profile \"%s\" of credentials file %s lacks aws_access_key_id or "
				 "aws_secret_access_key", profile, origin);
		wipe_free(ak);
		wipe_free(sk);
		wipe_free(tok);
		return -1;
	}
	memset(out, 0, sizeof *out);
	out->kind = S3_CREDS_STATIC;
	out->access_key = ak;
	out->secret_key = sk;
	out->session_token = tok && *tok ? tok : NULL;
	if (tok && !*tok)
		free(tok);
	snprintf(out->source, sizeof out->source, "credentials file %s, profile %s", origin,
		 profile);
	return 0;
}

static int from_file(const char *path, const char *profile, struct s3_creds *out, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "cannot read credentials file %s: %s", path, strerror(errno));
		return -1;
	}
	size_t cap = 0, n = 0;
	char *buf = NULL;
	for (;;) {
		if (cap - n < 4096) {
			if (cap > (1u << 20)) {
				snprintf(err, errlen, "credentials file %s is larger than 1 MiB", path);
				fclose(f);
				wipe_free(buf);
				return -1;
			}
			char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);
			if (!nb) {
				fclose(f);
				wipe_free(buf);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	buf[n] = '\0';
	int rc = s3_creds_parse(buf, path, profile, out, err, errlen);
	sodium_memzero(buf, n);
	free(buf);
	return rc;
}

int s3_creds_resolve(const char *cred_file, const char *profile, struct s3_creds *out,
		     char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	const char *prof = profile && *profile ? profile : env("AWS_PROFILE");
	if (!prof)
		prof = "default";
	if (cred_file && *cred_file)
		return from_file(cred_file, prof, out, err, errlen);

	const char *ak = env("AWS_ACCESS_KEY_ID"), *sk = env("AWS_SECRET_ACCESS_KEY");
	if (ak || sk) {
		if (!ak || !sk) {
			snprintf(err, errlen, "%s is set but %s is not",
				 ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
				 ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
			return -1;
		}
		const char *tok = env("AWS_SESSION_TOKEN");
		out->kind = S3_CREDS_STATIC;
		out->access_key = sdup(ak, strlen(ak));
		out->secret_key = sdup(sk, strlen(sk));
		out->session_token = tok ? sdup(tok, strlen(tok)) : NULL;
		if (!out->access_key || !out->secret_key || (tok && !out->session_token)) {
			s3_creds_clear(out);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		snprintf(out->source, sizeof out->source, "the environment (AWS_ACCESS_KEY_ID)");
		return 0;
	}

	const char *role = env("AWS_ROLE_ARN"), *tf = env("AWS_WEB_IDENTITY_TOKEN_FILE");
	if (role && tf) {
		out->kind = S3_CREDS_WEB_IDENTITY;
		out->role_arn = sdup(role, strlen(role));
		out->token_file = sdup(tf, strlen(tf));
		if (!out->role_arn || !out->token_file) {
			s3_creds_clear(out);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		snprintf(out->source, sizeof out->source, "web identity (role %.100s)", role);
		return 0;
	}

	const char *file = env("AWS_SHARED_CREDENTIALS_FILE");
	char path[4096];
	if (!file) {
		const char *home = env("HOME");
		if (!home) {
			snprintf(err, errlen,
				 "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
				 "or name a credentials file");
			return -1;
		}
		snprintf(path, sizeof path, "%s/.aws/credentials", home);
		file = path;
		FILE *f = fopen(file, "re");
		if (!f) {
			snprintf(err, errlen,
				 "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
				 "AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, or write %s", file);
			return -1;
		}
		fclose(f);
	}
	return from_file(file, prof, out, err, errlen);
}

/* kahu — command-line parsing from the command tables.
 *
 * Pass 1 finds the command words: tokens that are not options, skipping global
 * options (and their values) that may stand before the words, as kubectl allows
 * (`kahu --context prod backup list`).  Pass 2 runs getopt_long over what is left with
 * the global options plus the command's own, so flags may come anywhere after too. */
#include "cli/cmdtab.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const struct kahu_opt_names kahu_opt_names = {
#define NAME_(id, name) name,
	KAHU_OPTIONS(NAME_)
#undef NAME_
};

const struct kahu_opt kahu_global_opts[] = {
	OPTION(KUBECONFIG, 0, "FILE", "kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)", "file", 0, NULL),
	OPTION(CONTEXT, 0, "NAME", "kubeconfig context to use", "@context", 0, NULL),
	OPTION(NAMESPACE, 'n', "NAMESPACE", "namespace for namespaced commands", "@namespace", 0, NULL),
	OPTION(CONFIG, 0, "FILE", "kahu configuration file (default: $KAHU_CONFIG, then ~/.config/kahu/config.json)", "file", 0, NULL),
	OPTION(OUTPUT, 'o', "FORMAT", "output format: table, json, yaml or name (what each command accepts)", "table json yaml name", 0, NULL),
	OPTION(VERBOSE, 'v', NULL, "more output: -v requests and steps, -vv details, -vvv traces", NULL, OPTF_COUNT, NULL),
	OPTION(QUIET, 'q', NULL, "print only errors and the result", NULL, 0, NULL),
	OPTION(LOG_FORMAT, 0, "FORMAT", "format of log messages on stderr: text or json", "text json", 0, "text"),
	OPTION(NO_PROGRESS, 0, NULL, "do not show progress on a terminal", NULL, 0, NULL),
	OPTION(INSECURE_SKIP_TLS_VERIFY, 0, NULL, "do not verify the API server's certificate (test clusters only)", NULL, 0, NULL),
	OPTION(REQUEST_TIMEOUT, 0, "SECONDS", "timeout of one API request, its retries and their waits included", NULL, 0, "60"),
	OPTION(MAX_REQUESTS, 0, "N", "most API requests in flight at once", NULL, 0, "8"),
	OPTION(PAGE_SIZE, 0, "N", "items per page when listing (limit/continue)", NULL, 0, "500"),
	OPTION(HELP, 'h', NULL, "show help for the command", NULL, 0, NULL),
	OPT_END
};

static size_t nopts(const struct kahu_opt *o)
{
	size_t n = 0;
	while (o && o[n].name)
		n++;
	return n;
}

size_t cli_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return SIZE_MAX;
	size_t d[65][65];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* A suggestion is close when the distance is at most a third of the length (min 1,
 * max 3), or when one is a prefix of the other. */
static int is_close(const char *typed, const char *cand)
{
	size_t lt = strlen(typed), lc = strlen(cand);
	if (lt >= 3 && strncmp(typed, cand, lt) == 0)
		return 1;
	size_t limit = lc / 3;
	if (limit < 1)
		limit = 1;
	if (limit > 3)
		limit = 3;
	return cli_edit_distance(typed, cand) <= limit;
}

const struct kahu_cmd *cli_find_cmd(const struct kahu_cmd *const *cmds, const char *name)
{
	for (size_t i = 0; cmds[i]; i++)
		if (strcmp(cmds[i]->name, name) == 0)
			return cmds[i];
	return NULL;
}

/* Does any command start with the words "words " ? */
int cli_is_prefix_noun(const struct kahu_cmd *const *cmds, const char *words)
{
	size_t n = strlen(words);
	for (size_t i = 0; cmds[i]; i++)
		if (strncmp(cmds[i]->name, words, n) == 0 && cmds[i]->name[n] == ' ')
			return 1;
	return 0;
}

static const struct kahu_opt *find_long(const struct kahu_opt *o, const char *name, size_t len)
{
	for (; o && o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

static const struct kahu_opt *find_short(const struct kahu_opt *o, char c)
{
	for (; o && o->name; o++)
		if (o->short_name == c)
			return o;
	return NULL;
}

void cli_next_words(const struct kahu_cmd *const *cmds, const char *prefix, struct strv *out)
{
	size_t n = prefix ? strlen(prefix) : 0;
	for (size_t i = 0; cmds[i]; i++) {
		const char *name = cmds[i]->name;
		if (cmds[i]->flags & CMD_HIDDEN)
			continue;
		if (n) {
			if (strncmp(name, prefix, n) != 0 || name[n] != ' ')
				continue;
			name += n + 1;
		}
		size_t wl = strcspn(name, " ");
		char *w = xstrndup(name, wl);
		if (!strv_contains(out, w))
			strv_push(out, w);
		free(w);
	}
}

static int unknown_word(const struct kahu_cmd *const *cmds, const char *prefix, const char *word)
{
	struct strv words = STRV_INIT;
	struct kbuf close = KBUF_INIT;
	cli_next_words(cmds, prefix, &words);
	for (size_t i = 0; i < words.n; i++) {
		if (is_close(word, words.v[i])) {
			if (close.len)
				kbuf_adds(&close, ", ");
			kbuf_adds(&close, prefix ? prefix : "");
			kbuf_adds(&close, prefix ? " " : "");
			kbuf_adds(&close, words.v[i]);
		}
	}
	char *all = strv_join(&words, ", ");
	if (close.len)
		kahu_error_set(KAHU_EUSAGE, "unknown command \"%s%s%s\" (did you mean %s?)",
			       prefix ? prefix : "", prefix ? " " : "", word, kbuf_str(&close));
	else
		kahu_error_set(KAHU_EUSAGE, "unknown command \"%s%s%s\"; %s commands are: %s",
			       prefix ? prefix : "", prefix ? " " : "", word,
			       prefix ? prefix : "the", all);
	free(all);
	kbuf_free(&close);
	strv_free(&words);
	return KAHU_EUSAGE;
}

static int unknown_option(const struct kahu_cmd *cmd, const char *arg)
{
	const char *name = arg;
	while (*name == '-')
		name++;
	size_t len = strcspn(name, "=");
	char *typed = xstrndup(name, len);
	const char *best = NULL;
	size_t bestd = SIZE_MAX;
	const struct kahu_opt *sets[2] = { kahu_global_opts, cmd ? cmd->opts : NULL };
	for (int s = 0; s < 2; s++) {
		for (const struct kahu_opt *o = sets[s]; o && o->name; o++) {
			if (o->flags & OPTF_HIDDEN)
				continue;
			if (!is_close(typed, o->name))
				continue;
			size_t d = cli_edit_distance(typed, o->name);
			if (d < bestd) {
				bestd = d;
				best = o->name;
			}
		}
	}
	const char *where = cmd ? cmd->name : "kahu";
	if (best)
		kahu_error_set(KAHU_EUSAGE, "unknown flag %.*s for \"%s\" (did you mean --%s?)",
			       (int)strcspn(arg, "="), arg, where, best);
	else
		kahu_error_set(KAHU_EUSAGE, "unknown flag %.*s for \"%s\"; see 'kahu %s --help'",
			       (int)strcspn(arg, "="), arg, where, where);
	free(typed);
	return KAHU_EUSAGE;
}

/* Pass 1.  Returns the command and fills `rest` with argv minus the command words. */
static int find_command(const struct kahu_cmd *const *cmds, int argc, char **argv,
			const struct kahu_cmd **out, struct strv *rest, int *help)
{
	struct kbuf words = KBUF_INIT;
	const struct kahu_cmd *cmd = NULL;
	int done_words = 0, dashdash = 0, rc = 0;

	strv_push(rest, argv[0]);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (dashdash || done_words) {
			strv_push(rest, a);
			continue;
		}
		if (a[0] != '-' || a[1] == '\0') {
			/* A command word, or the first positional argument. */
			struct kbuf cand = KBUF_INIT;
			kbuf_adds(&cand, kbuf_str(&words));
			if (words.len)
				kbuf_addc(&cand, ' ');
			kbuf_adds(&cand, a);
			const struct kahu_cmd *c = cli_find_cmd(cmds, cand.data);
			int noun = cli_is_prefix_noun(cmds, cand.data);
			if (!c && !noun) {
				kbuf_free(&cand);
				rc = unknown_word(cmds, words.len ? words.data : NULL, a);
				goto out;
			}
			kbuf_reset(&words);
			kbuf_adds(&words, cand.data);
			kbuf_free(&cand);
			if (c && !(c->flags & CMD_NOUN)) {
				cmd = c;
				done_words = 1;
			}
			continue;
		}
		strv_push(rest, a);
		if (strcmp(a, "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			*help = 1;
		/* Skip the value of a global option given as a separate word. */
		const struct kahu_opt *o = NULL;
		if (a[1] == '-') {
			if (!strchr(a, '='))
				o = find_long(kahu_global_opts, a + 2, strlen(a + 2));
		} else if (a[2] == '\0') {
			o = find_short(kahu_global_opts, a[1]);
		}
		if (o && o->argname && i + 1 < argc)
			strv_push(rest, argv[++i]);
	}
	if (!cmd) {
		/* A noun without a verb (or nothing at all): help for it. */
		const struct kahu_cmd *noun = words.len ? cli_find_cmd(cmds, words.data) : NULL;
		*out = noun;
		if (!noun && words.len) {
			rc = kahu_error_set(KAHU_EUSAGE, "\"%s\" needs a command", words.data);
			goto out;
		}
		*help = 1;
		rc = 0;
		goto out;
	}
	*out = cmd;
out:
	kbuf_free(&words);
	return rc;
}

int cli_parse(const struct kahu_cmd *const *cmds, int argc, char **argv,
	      struct kahu_invocation *inv)
{
	struct strv rest = STRV_INIT;
	const struct kahu_cmd *cmd = NULL;
	struct option *longopts = NULL;
	struct kbuf shortopts = KBUF_INIT;
	int rc;

	memset(inv, 0, sizeof *inv);
	if ((rc = find_command(cmds, argc, argv, &cmd, &rest, &inv->help)) < 0)
		goto out;
	inv->cmd = cmd;

	size_t ng = nopts(kahu_global_opts), nc = cmd ? nopts(cmd->opts) : 0;
	inv->nvals = ng + nc;
	inv->vals = xcalloc(inv->nvals, sizeof *inv->vals);
	longopts = xcalloc(inv->nvals + 1, sizeof *longopts);
	kbuf_adds(&shortopts, ":"); /* report missing arguments as ':' */
	for (size_t i = 0; i < inv->nvals; i++) {
		const struct kahu_opt *o = i < ng ? &kahu_global_opts[i] : &cmd->opts[i - ng];
		inv->vals[i].opt = o;
		/* A bug in the tables. */
		int bad_id = o->id <= OPT_NONE || o->id >= OPT_NIDS;
		if (bad_id || inv->by_id[o->id]) {
			rc = kahu_error_set(KAHU_EINTERNAL, "option table of \"%s\": --%s %s",
					    cmd ? cmd->name : "kahu", o->name,
					    bad_id ? "has no id" : "is there twice");
			goto out;
		}
		inv->by_id[o->id] = &inv->vals[i];
		longopts[i].name = o->name;
		longopts[i].has_arg = o->argname ? required_argument : no_argument;
		longopts[i].val = 0x100 + (int)i;
		/* A command option may take over a global option's letter (download -o FILE,
		 * as Velero's); the global option keeps its long name. */
		int shadowed = i < ng && o->short_name && cmd && find_short(cmd->opts, o->short_name);
		if (o->short_name && !shadowed) {
			kbuf_addc(&shortopts, o->short_name);
			if (o->argname)
				kbuf_addc(&shortopts, ':');
		}
	}

	int n = (int)rest.n, c, longidx;
	opterr = 0;
	optind = 0; /* full reinitialisation of GNU getopt */
	while ((c = getopt_long(n, rest.v, shortopts.data, longopts, &longidx)) != -1) {
		struct opt_value *v = NULL;
		if (c == '?') {
			const char *bad = rest.v[optind - 1];
			if (optopt && bad[0] == '-' && bad[1] != '-') {
				char sb[3] = { '-', (char)optopt, 0 };
				rc = unknown_option(cmd, sb);
			} else {
				rc = unknown_option(cmd, bad);
			}
			goto out;
		}
		if (c == ':') {
			const char *bad = rest.v[optind - 1];
			rc = kahu_error_set(KAHU_EUSAGE, "flag %s needs a value (%s)", bad,
					    optopt >= 0x100 ? inv->vals[optopt - 0x100].opt->argname : "");
			goto out;
		}
		if (c >= 0x100) {
			v = &inv->vals[c - 0x100];
		} else {
			/* The command's own option wins over a global one with the same letter. */
			for (size_t i = inv->nvals; i-- > 0;)
				if (inv->vals[i].opt->short_name == c) {
					v = &inv->vals[i];
					break;
				}
		}
		if (!v) {
			rc = kahu_error_set(KAHU_EINTERNAL, "option table mismatch for -%c", c);
			goto out;
		}
		v->count++;
		if (v->opt->argname) {
			free(v->value);
			v->value = xstrdup(optarg);
			strv_push(&v->values, optarg);
		}
	}
	for (int i = optind; i < n; i++)
		strv_push(&inv->args, rest.v[i]);
	if (inv_count(inv, OPT_HELP))
		inv->help = 1;

	if (cmd && !inv->help && !(cmd->flags & CMD_NOUN)) {
		int na = (int)inv->args.n;
		if (na < cmd->min_args) {
			rc = kahu_error_set(KAHU_EUSAGE, "\"%s\" needs %s; usage: kahu %s %s",
					    cmd->name, cmd->args, cmd->name, cmd->args);
			goto out;
		}
		if (cmd->max_args >= 0 && na > cmd->max_args) {
			rc = kahu_error_set(KAHU_EUSAGE, "\"%s\" takes %s; unexpected argument \"%s\"",
					    cmd->name,
					    cmd->max_args == 0 ? "no arguments" : cmd->args,
					    inv->args.v[cmd->max_args]);
			goto out;
		}
		const char *fmt = inv_str(inv, OPT_OUTPUT);
		if (fmt) {
			int ok = 0;
			if (cmd->outputs) {
				struct strv outs = STRV_INIT;
				strv_split(&outs, cmd->outputs, ' ');
				ok = strv_contains(&outs, fmt);
				strv_free(&outs);
			}
			if (!ok) {
				rc = kahu_error_set(KAHU_EUSAGE, cmd->outputs ?
						    "\"%s\" does not support -o %s (it supports: %s)" :
						    "\"%s\" does not support -o %s%s",
						    cmd->name, fmt, cmd->outputs ? cmd->outputs : "");
				goto out;
			}
		}
		const char *lf = inv_str(inv, OPT_LOG_FORMAT);
		if (lf && strcmp(lf, "text") && strcmp(lf, "json")) {
			rc = kahu_error_set(KAHU_EUSAGE, "--log-format must be text or json, not \"%s\"", lf);
			goto out;
		}
	}
	rc = 0;
out:
	free(longopts);
	kbuf_free(&shortopts);
	strv_free(&rest);
	return rc;
}

void cli_invocation_free(struct kahu_invocation *inv)
{
	for (size_t i = 0; i < inv->nvals; i++) {
		free(inv->vals[i].value);
		strv_free(&inv->vals[i].values);
	}
	free(inv->vals);
	strv_free(&inv->args);
	memset(inv, 0, sizeof *inv);
}

static const struct opt_value *lookup(const struct kahu_invocation *inv, enum kahu_opt_id id)
{
	const struct opt_value *v = id > OPT_NONE && id < OPT_NIDS ? inv->by_id[id] : NULL;
	if (v)
		return v;
	fprintf(stderr, "kahu: internal error: option id %d is not an option of \"%s\"\n",
		(int)id, inv->cmd ? inv->cmd->name : "kahu");
	abort();
}

int inv_has(const struct kahu_invocation *inv, enum kahu_opt_id id)
{
	return id > OPT_NONE && id < OPT_NIDS && inv->by_id[id];
}

const char *inv_str(const struct kahu_invocation *inv, enum kahu_opt_id id)
{
	return lookup(inv, id)->value;
}

int inv_count(const struct kahu_invocation *inv, enum kahu_opt_id id)
{
	return lookup(inv, id)->count;
}

const struct strv *inv_list(const struct kahu_invocation *inv, enum kahu_opt_id id)
{
	return &lookup(inv, id)->values;
}

int inv_long(const struct kahu_invocation *inv, enum kahu_opt_id id, long min, long max, long *out)
{
	const struct opt_value *v = lookup(inv, id);
	const char *s = v->value;
	if (!s)
		return 0;
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < min || n > max)
		return kahu_error_set(KAHU_EUSAGE, "--%s must be a whole number from %ld to %ld, not \"%s\"",
				      v->opt->name, min, max, s);
	*out = n;
	return 0;
}

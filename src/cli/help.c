/* kahu — help text from the command tables. */
#include "cli/cmdtab.h"
#include "util/buf.h"

#include <string.h>

static void print_opts(const struct kahu_opt *o, FILE *f)
{
	for (; o && o->name; o++) {
		if (o->flags & OPTF_HIDDEN)
			continue;
		struct kbuf left = KBUF_INIT;
		if (o->short_name)
			kbuf_addf(&left, "-%c, ", o->short_name);
		else
			kbuf_adds(&left, "    ");
		kbuf_addf(&left, "--%s", o->name);
		if (o->argname)
			kbuf_addf(&left, " %s", o->argname);
		fprintf(f, "  %-34s %s", kbuf_str(&left), o->help);
		if (o->def)
			fprintf(f, " (default %s)", o->def);
		if (o->flags & OPTF_REPEAT)
			fprintf(f, " (repeatable)");
		fputc('\n', f);
		kbuf_free(&left);
	}
}

void cli_print_usage_line(const struct kahu_cmd *cmd, FILE *f)
{
	fprintf(f, "Usage: kahu %s%s%s [flags]\n", cmd->name, cmd->args && *cmd->args ? " " : "",
		cmd->args ? cmd->args : "");
}

static void print_commands(const struct kahu_cmd *const *cmds, const char *prefix, FILE *f)
{
	size_t n = prefix ? strlen(prefix) : 0;
	for (size_t i = 0; cmds[i]; i++) {
		const struct kahu_cmd *c = cmds[i];
		if (c->flags & CMD_HIDDEN)
			continue;
		if (n && (strncmp(c->name, prefix, n) != 0 || c->name[n] != ' '))
			continue;
		/* At the top, nouns stand for their verbs. */
		if (!n && strchr(c->name, ' '))
			continue;
		fprintf(f, "  %-22s %s\n", c->name + (n ? n + 1 : 0), c->summary);
	}
}

void cli_print_help(const struct kahu_cmd *const *cmds, const struct kahu_cmd *cmd,
		    const char *noun, FILE *f)
{
	if (!cmd) {
		fprintf(f, "kahu backs up and restores Kubernetes clusters.\n\n"
			"Usage: kahu [global flags] COMMAND [flags] [arguments]\n\n"
			"Commands:\n");
		print_commands(cmds, NULL, f);
		fprintf(f, "\nGlobal flags (before or after the command):\n");
		print_opts(kahu_global_opts, f);
		fprintf(f, "\nRun 'kahu help COMMAND' or 'kahu COMMAND --help' for more; man kahu.\n");
		return;
	}
	if (cmd->flags & CMD_NOUN) {
		fprintf(f, "%s\n\nUsage: kahu %s COMMAND [flags]\n\nCommands:\n", cmd->summary, cmd->name);
		print_commands(cmds, cmd->name, f);
		fprintf(f, "\nRun 'kahu %s COMMAND --help' for the flags of each.\n", cmd->name);
		return;
	}
	(void)noun;
	cli_print_usage_line(cmd, f);
	fprintf(f, "\n%s\n", cmd->summary);
	if (cmd->opts && cmd->opts[0].name) {
		fprintf(f, "\nFlags:\n");
		print_opts(cmd->opts, f);
	}
	if (cmd->outputs)
		fprintf(f, "\nOutput formats (-o): %s\n", cmd->outputs);
	fprintf(f, "\nGlobal flags:\n");
	print_opts(kahu_global_opts, f);
}

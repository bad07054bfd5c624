// SPDX-License-Identifier: GPL-2.0-only
/* Global option handling and the subcommand table helpers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct global_opt {
	const char *name;
	bool takes_value;
};

static const struct global_opt global_opts[] = {
	{"--state-dir", true}, {"--pin-dir", true}, {"--log-format", true}, {"-v", false},
	{"-vv", false},	       {"-vvv", false},	    {"--verbose", false},   {NULL, false},
};

static const struct global_opt *match_global(const char *arg, const char **inline_value)
{
	const struct global_opt *o;
	size_t len;

	*inline_value = NULL;
	for (o = global_opts; o->name; o++) {
		len = strlen(o->name);
		if (strncmp(arg, o->name, len))
			continue;
		if (arg[len] == '\0')
			return o;
		if (arg[len] == '=' && o->takes_value) {
			*inline_value = arg + len + 1;
			return o;
		}
	}
	return NULL;
}

static int apply_global(struct cli_globals *g, const char *name, const char *value)
{
	if (!strcmp(name, "--state-dir"))
		g->state_dir = value;
	else if (!strcmp(name, "--pin-dir"))
		g->pin_dir = value;
	else if (!strcmp(name, "--log-format")) {
		if (strcmp(value, "json") && strcmp(value, "text")) {
			fprintf(stderr, "bpfmesh: --log-format takes text or json, not '%s'\n",
				value);
			return -EINVAL;
		}
		g->is_log_json = !strcmp(value, "json");
	} else if (!strcmp(name, "-vvv"))
		g->verbosity += 3;
	else if (!strcmp(name, "-vv"))
		g->verbosity += 2;
	else
		g->verbosity++;
	if (value && !*value) {
		fprintf(stderr, "bpfmesh: %s needs a non-empty value\n", name);
		return -EINVAL;
	}
	return 0;
}

/* See cli.h. */
int cli_extract_globals(int argc, char **argv, struct cli_globals *g)
{
	const struct global_opt *o;
	const char *value;
	int in, out = 1;

	for (in = 1; in < argc; in++) {
		if (!strcmp(argv[in], "--"))
			break;
		o = match_global(argv[in], &value);
		if (!o) {
			argv[out++] = argv[in];
			continue;
		}
		if (o->takes_value && !value) {
			if (in + 1 >= argc) {
				fprintf(stderr, "bpfmesh: %s needs a value\n", o->name);
				return -EINVAL;
			}
			value = argv[++in];
		}
		if (apply_global(g, o->name, value))
			return -EINVAL;
	}
	for (; in < argc; in++)
		argv[out++] = argv[in];
	argv[out] = NULL;
	return out;
}

/* See cli.h. */
const struct cli_command *cli_find(const struct cli_command *table, const char *name)
{
	for (; table->name; table++) {
		if (!strcmp(table->name, name))
			return table;
	}
	return NULL;
}

/* See cli.h. */
void cli_print_usage(const struct cli_command *table, const struct cli_command *cmd, int to_err)
{
	FILE *f = to_err ? stderr : stdout;

	if (cmd) {
		fprintf(f, "usage:\n%s\n%s\n", cmd->usage, cmd->help);
		return;
	}
	fprintf(f, "usage: bpfmesh [--state-dir DIR] [--pin-dir DIR] [-v] "
		   "[--log-format text|json] COMMAND [ARGS]\n\ncommands:\n");
	for (; table->name; table++)
		fprintf(f, "%s\n", table->usage);
	fprintf(f, "\nrun 'bpfmesh help COMMAND' for details and examples\n");
}

/* See cli.h. */
int cli_parse_u32(const char *text, unsigned long min, unsigned long max, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (!text || !*text || *text == '-')
		return -EINVAL;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-only */
/* The bpfmesh command line: global options and the subcommand table. */
#ifndef BM_CLI_H
#define BM_CLI_H

#include <stdbool.h>

#define CLI_DEFAULT_STATE_DIR "/var/lib/bpfmesh"
#define CLI_DEFAULT_PIN_DIR "/sys/fs/bpf/bpfmesh"

/* Exit statuses every subcommand uses. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_DENY 1 /* a check said deny, a verification failed */
#define CLI_EXIT_ERROR 2 /* usage or runtime error */

struct cli_globals {
	const char *state_dir;
	const char *pin_dir;
	int verbosity;
	bool is_log_json;
};

struct cli_command {
	const char *name;
	int (*run)(const struct cli_globals *g, int argc, char **argv); /* argv[0] = name */
	const char *usage; /* one line per form */
	const char *help; /* what it does, with an example */
};

/*
 * Remove the global options from argv wherever they stand (before or after
 * the subcommand, "--opt VALUE" or "--opt=VALUE", up to a "--"), filling g.
 * Returns the new argc, or -EINVAL after printing what was wrong.
 */
int cli_extract_globals(int argc, char **argv, struct cli_globals *g);

/* Find a subcommand in a NULL-terminated table; NULL if unknown. */
const struct cli_command *cli_find(const struct cli_command *table, const char *name);

/* Print "usage:" lines for one command or, with cmd NULL, a table summary. */
void cli_print_usage(const struct cli_command *table, const struct cli_command *cmd, int to_err);

/* Parse an unsigned number in [min, max]; returns 0 or -EINVAL. */
int cli_parse_u32(const char *text, unsigned long min, unsigned long max, unsigned int *out);

/* Subcommands. */
int cmd_attach(const struct cli_globals *g, int argc, char **argv);
int cmd_detach(const struct cli_globals *g, int argc, char **argv);
int cmd_guard(const struct cli_globals *g, int argc, char **argv);
int cmd_status(const struct cli_globals *g, int argc, char **argv);
int cmd_policy(const struct cli_globals *g, int argc, char **argv);
int cmd_observe(const struct cli_globals *g, int argc, char **argv);
int cmd_auth(const struct cli_globals *g, int argc, char **argv);
int cmd_handshake(const struct cli_globals *g, int argc, char **argv);
int cmd_agent(const struct cli_globals *g, int argc, char **argv);
int cmd_rootless(const struct cli_globals *g, int argc, char **argv);
int cmd_apply(const struct cli_globals *g, int argc, char **argv);
int cmd_runtime(const struct cli_globals *g, int argc, char **argv);
int cmd_get(const struct cli_globals *g, int argc, char **argv);
int cmd_delete(const struct cli_globals *g, int argc, char **argv);

#endif /* BM_CLI_H */

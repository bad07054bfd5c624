/* SPDX-License-Identifier: GPL-2.0-only */
/* `bpfmesh identity ...`: the identity subcommands. */
#ifndef BM_IDENT_CLI_H
#define BM_IDENT_CLI_H

#define IDENT_CLI_OK 0
#define IDENT_CLI_DENY 1 /* verification failed */
#define IDENT_CLI_ERROR 2 /* usage or runtime error */

/*
 * Run `identity ACTION ...`: argv[0] is "identity", argv[1] the action
 * (init, enroll, issue, show, verify, revoke, rotate). Global options have
 * been removed by the caller; state_dir is --state-dir. Messages go to
 * stdout (results) and stderr (errors); no key material is ever printed.
 * Returns an exit status: 0 ok, 1 verification failed, 2 usage or error.
 */
int ident_cli_main(int argc, char **argv, const char *state_dir);

#endif /* BM_IDENT_CLI_H */

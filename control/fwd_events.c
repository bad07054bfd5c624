// SPDX-License-Identifier: GPL-2.0-only
/*
 * The forwarder's verdict events: struct bm_flow_event records (source
 * BM_EVENT_SRC_USER), 80 bytes each, appended to STATE_DIR/rootless/events
 * with one write() per record; at FWD_EVENTS_MAX_BYTES the file is renamed
 * to events.1 (replacing the older one) and a new one started. Readers
 * (`bpfmesh rootless observe`) follow the path and start over when its
 * inode changes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fwd_priv.h"
#include "ident_authz.h"
#include "log.h"

static int open_events(struct fwd *f)
{
	f->events_fd = open(f->events_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (f->events_fd < 0) {
		pr_warn("rootless: open %s: %s", f->events_path, strerror(errno));
		return -errno;
	}
	f->events_size = lseek(f->events_fd, 0, SEEK_END);
	return 0;
}

/* See fwd_priv.h: open (create) the events file. 0 or -errno. */
int fwd_events_open(struct fwd *f)
{
	snprintf(f->events_path, sizeof(f->events_path), "%s/%s", f->cfg.state_dir,
		 FWD_EVENTS_FILE);
	return open_events(f);
}

/* See fwd_priv.h. */
void fwd_events_close(struct fwd *f)
{
	if (f->events_fd >= 0)
		close(f->events_fd);
	f->events_fd = -1;
}

static void rotate(struct fwd *f)
{
	char old[PATH_MAX + 4];

	snprintf(old, sizeof(old), "%s.1", f->events_path);
	fwd_events_close(f);
	if (rename(f->events_path, old))
		pr_warn("rootless: rotate %s: %s", f->events_path, strerror(errno));
	open_events(f);
}

/* See fwd_priv.h: record the verdict r on t. Cannot fail (a lost event is logged). */
void fwd_event_emit(struct fwd *f, const struct pe_tuple *t, const struct pe_result *r)
{
	struct bm_flow_event e;
	struct ident_clock now;

	if (f->events_size >= FWD_EVENTS_MAX_BYTES)
		rotate(f);
	if (f->events_fd < 0)
		return;
	ident_clock_now(&now);
	memset(&e, 0, sizeof(e));
	e.ts_boot_ns = now.boot_ns;
	e.src_id = r->src_id;
	e.dst_id = r->dst_id;
	e.rule_id = r->rule_id;
	memcpy(e.saddr, t->saddr, 16);
	memcpy(e.daddr, t->daddr, 16);
	e.sport = htons(t->sport);
	e.dport = htons(t->dport);
	e.proto = t->proto;
	e.family = t->family;
	e.verdict = r->verdict;
	e.reason = r->reason;
	e.source = BM_EVENT_SRC_USER;
	if (write(f->events_fd, &e, sizeof(e)) != (ssize_t)sizeof(e))
		pr_warn("rootless: write event: %s", strerror(errno));
	else
		f->events_size += (off_t)sizeof(e);
}

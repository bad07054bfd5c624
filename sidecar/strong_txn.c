// SPDX-License-Identifier: GPL-2.0-only
/*
 * Strong mode's control subject: atomic multi-key transactions and read
 * barriers (see strong_int.h and docs/sidecar.md, "Transactions").
 *
 * A transaction commits as ONE message, its record (every operation with
 * its value), published on the control subject expecting the stream's last
 * sequence to be the one its conditions were checked at: the leader accepts
 * it only if nothing was written in between, so the conditions held at the
 * record's place in the log, and that place is the transaction's single
 * commit point. The record is then rolled forward: each operation is
 * written to its key unless the key already has a message after the record
 * (applied by another roller, or superseded by a later write). Every read
 * and every conditional write first rolls forward a pending record, so no
 * one observes a transaction half applied, and the record is marked done
 * (an idle marker) only after all its operations are on their keys.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../control/log.h"
#include "strong_int.h"

/* Publish m expecting last; see strong_int.h. */
int strong_publish_at(struct strong *st, natsMsg *m, uint64_t last, uint64_t *seq)
{
	jsPubAck *pa = NULL;
	jsErrCode jerr = 0;
	jsPubOptions po;
	natsStatus s;
	int err;

	jsPubOptions_Init(&po);
	po.MaxWait = STRONG_WAIT_MS;
	po.ExpectLastSeq = last;
	/* libnats treats 0 as "no expectation": say it in the header. */
	if (!last && natsMsgHeader_Set(m, "Nats-Expected-Last-Sequence", "0") != NATS_OK)
		return -ENOMEM;
	s = js_PublishMsg(&pa, st->js, m, &po, &jerr);
	if (s == NATS_OK) {
		if (seq)
			*seq = pa->Sequence;
		jsPubAck_Destroy(pa);
		return 0;
	}
	err = strong_map_status(s, jerr);
	return err == -ECANCELED ? -EAGAIN : err;
}

static int ctl_msg(struct strong *st, const char *kind, const char *data, size_t len, natsMsg **m)
{
	if (natsMsg_Create(m, st->ctl, NULL, data, (int)len) != NATS_OK)
		return -ENOMEM;
	if (natsMsgHeader_Set(*m, STRONG_CTL_HDR, kind) != NATS_OK) {
		natsMsg_Destroy(*m);
		return -ENOMEM;
	}
	return 0;
}

/* Barrier; see strong_int.h. */
int strong_barrier(struct strong *st, uint64_t last)
{
	natsMsg *m = NULL;
	int err = ctl_msg(st, "idle", NULL, 0, &m);

	if (!err)
		err = strong_publish_at(st, m, last, NULL);
	natsMsg_Destroy(m);
	return err;
}

/* The pending record (caller destroys) or NULL when the subject is idle. */
static int ctl_pending(struct strong *st, natsMsg **rec)
{
	const char *kind = NULL;
	natsMsg *m = NULL;
	int err = strong_last_msg(st, st->ctl, &m);

	*rec = NULL;
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	if (natsMsgHeader_Get(m, STRONG_CTL_HDR, &kind) == NATS_OK && kind && !strcmp(kind, "txn"))
		*rec = m;
	else
		natsMsg_Destroy(m);
	return 0;
}

/*
 * One attempt to write op (committed at sequence t) to its key: nothing to
 * do once the key has a message after t. Returns 0, -EAGAIN or -errno.
 */
static int apply_once(struct strong *st, uint64_t t, natsMsg *m)
{
	uint64_t last, rev;
	bool is_live;
	int err;

	err = strong_stream_last_seq(st, &last, NULL);
	if (!err)
		err = strong_current_rev(st, natsMsg_GetSubject(m), &rev, &is_live);
	if (err || rev > t)
		return err;
	return strong_publish_at(st, m, last, NULL);
}

/* Write one operation {"k": encoded key, "v": value or null} of record t. */
static int apply_op(struct strong *st, uint64_t t, json_t *op)
{
	char subj[STRONG_KEY_MAX];
	const char *key = NULL;
	json_t *v = NULL;
	natsMsg *m = NULL;
	int err = -EAGAIN, i;

	if (json_unpack(op, "{s:s,s:o}", "k", &key, "v", &v) ||
	    (!json_is_string(v) && !json_is_null(v)) ||
	    (size_t)snprintf(subj, sizeof(subj), "%s%s", st->prefix, key) >= sizeof(subj)) {
		pr_warn("sidecar: %s: malformed operation in transaction %" PRIu64 ": skipped",
			st->stream, t);
		return 0;
	}
	if (natsMsg_Create(&m, subj, NULL, json_string_value(v),
			   json_is_string(v) ? (int)json_string_length(v) : 0) != NATS_OK)
		return -ENOMEM;
	if (json_is_null(v) && natsMsgHeader_Set(m, "KV-Operation", "DEL") != NATS_OK)
		err = -ENOMEM;
	for (i = 0; i < STRONG_TRIES && err == -EAGAIN; i++)
		err = apply_once(st, t, m);
	natsMsg_Destroy(m);
	return err == -EAGAIN ? -ETIMEDOUT : err;
}

/* Replace record t by an idle marker, unless someone already did. */
static int mark_done(struct strong *st, uint64_t t)
{
	natsMsg *m = NULL, *cur = NULL;
	int err = -EAGAIN, i;
	uint64_t last;

	for (i = 0; i < STRONG_TRIES && err == -EAGAIN; i++) {
		err = strong_stream_last_seq(st, &last, NULL);
		if (!err)
			err = strong_last_msg(st, st->ctl, &cur);
		if (err == -ENOENT)
			err = 0;
		if (err || !cur)
			break;
		if (natsMsg_GetSequence(cur) != t) {
			natsMsg_Destroy(cur);
			break;
		}
		natsMsg_Destroy(cur);
		cur = NULL;
		err = ctl_msg(st, "idle", NULL, 0, &m);
		if (!err)
			err = strong_publish_at(st, m, last, NULL);
		natsMsg_Destroy(m);
		m = NULL;
	}
	return err == -EAGAIN ? -ETIMEDOUT : err;
}

/* Write every operation of record t (data, len), then mark it done. */
static int roll_forward(struct strong *st, uint64_t t, const char *data, size_t len)
{
	json_t *root, *ops = NULL, *op;
	json_error_t e;
	size_t i;
	int err = 0;

	root = json_loadb(data, len, 0, &e);
	if (!root || json_unpack_ex(root, &e, 0, "{s:o}", "ops", &ops) || !json_is_array(ops))
		pr_warn("sidecar: %s: transaction record %" PRIu64 " malformed: skipped",
			st->stream, t);
	else
		json_array_foreach (ops, i, op) {
			err = apply_op(st, t, op);
			if (err)
				break;
		}
	json_decref(root);
	return err ? err : mark_done(st, t);
}

/* Settle; see strong_int.h. */
int strong_settle(struct strong *st, uint64_t *last, char leader[STRONG_NAME_MAX])
{
	natsMsg *rec = NULL;
	int err, i;

	for (i = 0; i < STRONG_TRIES; i++) {
		err = strong_stream_last_seq(st, last, leader);
		if (!err)
			err = ctl_pending(st, &rec);
		if (err || !rec)
			return err;
		err = roll_forward(st, natsMsg_GetSequence(rec), natsMsg_GetData(rec),
				   (size_t)natsMsg_GetDataLength(rec));
		natsMsg_Destroy(rec);
		if (err)
			return err;
	}
	return -ETIMEDOUT;
}

static bool is_conditional(const struct store_write *w)
{
	return (w->etag && *w->etag) || (w->is_first_write && w->value);
}

/* Whether w's condition holds now: 0, -ECANCELED or -errno. */
static int check_condition(struct strong *st, const struct store_write *w, const char *subj)
{
	unsigned long long want = 0;
	uint64_t rev;
	bool is_live;
	int err;

	if (w->etag && *w->etag && store_etag_parse(w->etag, &want))
		return -EINVAL;
	err = strong_current_rev(st, subj, &rev, &is_live);
	if (err)
		return err;
	if (want ? (!is_live || rev != want) : is_live)
		return -ECANCELED;
	return 0;
}

/* Whether a later operation of the transaction writes the same key. */
static bool is_overwritten(const struct store_write *ws, size_t n, size_t i)
{
	size_t j;

	for (j = i + 1; j < n; j++)
		if (!strcmp(ws[j].key, ws[i].key))
			return true;
	return false;
}

/*
 * The record {"ops": [{"k": encoded key, "v": value or null}]}, with only
 * the last operation on each key (they apply in order), in *body (caller
 * frees). Returns 0, -EINVAL (*bad), -E2BIG or -ENOMEM.
 */
static int txn_record(const struct store_write *ws, size_t n, char **body, size_t *bad)
{
	json_t *ops = json_array(), *root;
	char enc[STRONG_KEY_MAX];
	int err = ops ? 0 : -ENOMEM;
	json_t *v;
	size_t i;

	for (i = 0; i < n && !err; i++) {
		*bad = i;
		err = store_key_encode(ws[i].key, enc, sizeof(enc));
		if (err || is_overwritten(ws, n, i))
			continue;
		v = ws[i].value ? json_stringn(ws[i].value, ws[i].len) : json_null();
		if (!v || json_array_append_new(ops, json_pack("{s:s,s:o}", "k", enc, "v", v)))
			err = -EINVAL;
	}
	root = err ? NULL : json_pack("{s:o}", "ops", ops);
	if (!root) {
		json_decref(ops);
		return err ? err : -ENOMEM;
	}
	*body = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!*body)
		return -ENOMEM;
	if (strlen(*body) > STORE_VALUE_MAX) {
		free(*body);
		*body = NULL;
		return -E2BIG;
	}
	return 0;
}

/* Check every condition at one settled state and publish the record there. */
static int commit_once(struct strong *st, const struct store_write *ws, size_t n, natsMsg *rec,
		       uint64_t *t, size_t *bad)
{
	char subj[STRONG_KEY_MAX];
	uint64_t last;
	size_t i;
	int err;

	err = strong_settle(st, &last, NULL);
	for (i = 0; i < n && !err; i++) {
		if (!is_conditional(&ws[i]))
			continue;
		*bad = i;
		snprintf(subj, sizeof(subj), "%s", st->prefix);
		err = store_key_encode(ws[i].key, subj + strlen(subj), sizeof(subj) - strlen(subj));
		if (!err)
			err = check_condition(st, &ws[i], subj);
	}
	return err ? err : strong_publish_at(st, rec, last, t);
}

/* Atomic transaction; see strong_int.h. */
int strong_txn(void *impl, const struct store_write *ws, size_t n, size_t *bad)
{
	struct strong *st = impl;
	natsMsg *rec = NULL;
	char *body = NULL;
	int err, i;
	uint64_t t = 0;

	*bad = 0;
	if (!n)
		return 0;
	err = txn_record(ws, n, &body, bad);
	if (!err)
		err = ctl_msg(st, "txn", body, strlen(body), &rec);
	for (i = 0, err = err ? err : -EAGAIN; i < STRONG_TRIES && err == -EAGAIN; i++)
		err = commit_once(st, ws, n, rec, &t, bad);
	if (err == -EAGAIN)
		err = -ETIMEDOUT;
	/*
	 * Committed: the outcome is decided. If rolling forward fails here, the
	 * next read or conditional write of the bucket finishes it.
	 */
	if (!err && roll_forward(st, t, body, strlen(body)))
		pr_warn("sidecar: %s: transaction %" PRIu64 " committed, rolled forward later",
			st->stream, t);
	natsMsg_Destroy(rec);
	free(body);
	return err;
}

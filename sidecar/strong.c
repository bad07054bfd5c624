// SPDX-License-Identifier: GPL-2.0-only
/* Strong mode: JetStream KV through the stream API; see strong.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../control/log.h"
#include "strong.h"

#define STRONG_WAIT_MS 5000
#define STRONG_KEY_MAX 1024

struct strong {
	jsCtx *js;
	char stream[160];
	char prefix[160]; /* "$KV.<bucket>." */
};

static int map_status(natsStatus s, jsErrCode jerr)
{
	if (jerr == JSStreamWrongLastSequenceErr)
		return -ECANCELED;
	if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr)
		return -ENOENT;
	if (s == NATS_TIMEOUT)
		return -ETIMEDOUT;
	if (s == NATS_NO_RESPONDERS || s == NATS_CONNECTION_CLOSED || s == NATS_CONNECTION_DISCONNECTED)
		return -ENOTCONN;
	return -EIO;
}

static int subject_of(const struct strong *st, const char *key, char *subj, size_t size)
{
	size_t n = strlen(st->prefix);

	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(subj, st->prefix, n);
	return store_key_encode(key, subj + n, size - n);
}

static bool is_tombstone(natsMsg *m)
{
	const char *op = NULL;

	if (natsMsgHeader_Get(m, "KV-Operation", &op) != NATS_OK || !op)
		return false;
	return !strcmp(op, "DEL") || !strcmp(op, "PURGE");
}

/*
 * The key's last message through STREAM.MSG.GET, which only the stream
 * leader answers. Returns 0 with *m (caller destroys) or -errno.
 */
static int last_msg(struct strong *st, const char *subj, natsMsg **m)
{
	jsErrCode jerr = 0;
	jsOptions o;
	natsStatus s;

	jsOptions_Init(&o);
	o.Wait = STRONG_WAIT_MS;
	s = js_GetLastMsg(m, st->js, st->stream, subj, &o, &jerr);
	return s == NATS_OK ? 0 : map_status(s, jerr);
}

static int strong_get(void *impl, const char *key, bool is_strong, char **val, size_t *len,
		      char etag[STORE_ETAG_MAX])
{
	char subj[STRONG_KEY_MAX];
	natsMsg *m = NULL;
	int err, n;

	(void)is_strong; /* every read of this store is a leader read */
	err = subject_of(impl, key, subj, sizeof(subj));
	if (!err)
		err = last_msg(impl, subj, &m);
	if (err)
		return err;
	if (is_tombstone(m)) {
		err = -ENOENT;
		goto out;
	}
	n = natsMsg_GetDataLength(m);
	*val = malloc((size_t)n + 1);
	if (!*val) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(*val, natsMsg_GetData(m), (size_t)n);
	(*val)[n] = '\0';
	*len = (size_t)n;
	snprintf(etag, STORE_ETAG_MAX, "%" PRIu64, natsMsg_GetSequence(m));
out:
	natsMsg_Destroy(m);
	return err;
}

/*
 * First-write without an ETag: the key must not hold a value. A tombstone
 * still has a sequence, so expect exactly that one; no message at all is
 * expected sequence 0 (the header, since the options treat 0 as unset).
 */
static int expect_absent(struct strong *st, const char *subj, natsMsg *out, jsPubOptions *po)
{
	natsMsg *m = NULL;
	int err = last_msg(st, subj, &m);

	if (err == -ENOENT)
		return natsMsgHeader_Set(out, "Nats-Expected-Last-Subject-Sequence", "0") ==
				       NATS_OK
			       ? 0
			       : -ENOMEM;
	if (err)
		return err;
	if (is_tombstone(m))
		po->ExpectLastSubjectSeq = natsMsg_GetSequence(m);
	else
		err = -ECANCELED;
	natsMsg_Destroy(m);
	return err;
}

static int strong_write(void *impl, const struct store_write *w, char etag[STORE_ETAG_MAX])
{
	struct strong *st = impl;
	unsigned long long expect = 0;
	char subj[STRONG_KEY_MAX];
	jsPubAck *pa = NULL;
	jsErrCode jerr = 0;
	natsMsg *m = NULL;
	jsPubOptions po;
	natsStatus s;
	int err;

	jsPubOptions_Init(&po);
	po.MaxWait = STRONG_WAIT_MS;
	err = subject_of(st, w->key, subj, sizeof(subj));
	if (!err && w->etag && *w->etag)
		err = store_etag_parse(w->etag, &expect);
	if (err)
		return err;
	po.ExpectLastSubjectSeq = expect;
	if (natsMsg_Create(&m, subj, NULL, w->value, w->value ? (int)w->len : 0) != NATS_OK)
		return -ENOMEM;
	if (!w->value && natsMsgHeader_Set(m, "KV-Operation", "DEL") != NATS_OK)
		err = -ENOMEM;
	if (!err && w->is_first_write && !po.ExpectLastSubjectSeq)
		err = expect_absent(st, subj, m, &po);
	if (err)
		goto out;
	s = js_PublishMsg(&pa, st->js, m, &po, &jerr);
	if (s != NATS_OK) {
		err = map_status(s, jerr);
		if (err == -EIO)
			pr_warn("sidecar: strong write %s: %s", st->stream, natsStatus_GetText(s));
		goto out;
	}
	if (etag)
		snprintf(etag, STORE_ETAG_MAX, "%" PRIu64, pa->Sequence);
	jsPubAck_Destroy(pa);
out:
	natsMsg_Destroy(m);
	return err;
}

static void strong_close(void *impl)
{
	struct strong *st = impl;

	if (!st)
		return;
	jsCtx_Destroy(st->js);
	free(st);
}

static const struct store_ops strong_ops = {
	.get = strong_get,
	.write = strong_write,
	.close = strong_close,
	.mode = "strong",
};

/* The KV bucket's stream, as a KV bucket but without direct (follower) gets. */
static int ensure_stream(struct strong *st, const char *bucket, int replicas)
{
	jsStreamInfo *si = NULL;
	jsStreamConfig sc;
	jsErrCode jerr = 0;
	char subj[200];
	const char *subjects[1] = {subj};
	natsStatus s;

	snprintf(subj, sizeof(subj), "$KV.%s.>", bucket);
	jsStreamConfig_Init(&sc);
	sc.Name = st->stream;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.MaxMsgsPerSubject = 1;
	sc.Discard = js_DiscardNew;
	sc.Storage = js_FileStorage;
	sc.Replicas = replicas;
	sc.AllowRollup = true;
	sc.DenyDelete = true;
	sc.AllowDirect = false;
	sc.Duplicates = 120LL * 1000 * 1000 * 1000;
	s = js_AddStream(&si, st->js, &sc, NULL, &jerr);
	jsStreamInfo_Destroy(si);
	if (s == NATS_OK || jerr == JSStreamNameExistErr)
		return 0;
	pr_warn("sidecar: create stream %s (R%d): %s (%d)", st->stream, replicas,
		natsStatus_GetText(s), (int)jerr);
	return map_status(s, jerr) == -EIO ? -EIO : -ENOTCONN;
}

/* Open the bucket; see strong.h. */
int strong_open(natsConnection *nc, const char *bucket, int replicas, struct store *out)
{
	struct strong *st = calloc(1, sizeof(*st));
	jsOptions o;
	int err;

	if (!st)
		return -ENOMEM;
	jsOptions_Init(&o);
	o.Wait = STRONG_WAIT_MS;
	if (natsConnection_JetStream(&st->js, nc, &o) != NATS_OK) {
		free(st);
		return -ENOMEM;
	}
	snprintf(st->stream, sizeof(st->stream), "KV_%s", bucket);
	snprintf(st->prefix, sizeof(st->prefix), "$KV.%s.", bucket);
	err = ensure_stream(st, bucket, replicas);
	if (err) {
		strong_close(st);
		return err;
	}
	out->ops = &strong_ops;
	out->impl = st;
	return 0;
}

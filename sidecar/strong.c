// SPDX-License-Identifier: GPL-2.0-only
/* Strong mode: JetStream KV through the stream API; see strong.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../control/log.h"
#include "strong.h"
#include "strong_int.h"

/* Status mapping; see strong_int.h. */
int strong_map_status(natsStatus s, jsErrCode jerr)
{
	if (jerr == JSStreamWrongLastSequenceErr)
		return -ECANCELED;
	if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr)
		return -ENOENT;
	/* The stream has no (reachable) leader now: the bus, not the request, failed. */
	if (jerr == JSClusterNotAvailErr || jerr == JSClusterNotLeaderErr ||
	    jerr == JSClusterNotAssignedErr || jerr == JSClusterIncompleteErr ||
	    jerr == JSStreamOfflineErr)
		return -ENOTCONN;
	if (s == NATS_TIMEOUT)
		return -ETIMEDOUT;
	if (s == NATS_NO_RESPONDERS || s == NATS_CONNECTION_CLOSED ||
	    s == NATS_CONNECTION_DISCONNECTED)
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

/* The subject's last message from the stream leader; see strong_int.h. */
int strong_last_msg(struct strong *st, const char *subj, natsMsg **m)
{
	jsErrCode jerr = 0;
	jsOptions o;
	natsStatus s;

	jsOptions_Init(&o);
	o.Wait = STRONG_WAIT_MS;
	s = js_GetLastMsg(m, st->js, st->stream, subj, &o, &jerr);
	return s == NATS_OK ? 0 : strong_map_status(s, jerr);
}

/*
 * One attempt of a read: the key's last message (*m, or NULL when it never
 * existed) at a settled state; with is_strong, confirmed current by a
 * barrier. Returns 0, -EAGAIN (written meanwhile: read again) or -errno.
 */
static int read_once(struct strong *st, const char *subj, bool is_strong, natsMsg **m)
{
	char leader[STRONG_NAME_MAX], now[STRONG_NAME_MAX];
	uint64_t last, again;
	int err;

	*m = NULL;
	err = strong_settle(st, &last, leader);
	if (!err)
		err = strong_last_msg(st, subj, m);
	if (err == -ENOENT)
		err = 0;
	/*
	 * The value and last come from two requests: the same leader must have
	 * answered both (a new leader may answer before it applied everything
	 * committed), and nothing may have been written in between.
	 */
	if (!err && is_strong)
		err = strong_stream_last_seq(st, &again, now);
	if (!err && is_strong && (again != last || strcmp(now, leader)))
		err = -EAGAIN;
	if (!err && is_strong)
		err = strong_barrier(st, last);
	if (err) {
		natsMsg_Destroy(*m);
		*m = NULL;
	}
	return err;
}

static int strong_get(void *impl, const char *key, bool is_strong, char **val, size_t *len,
		      char etag[STORE_ETAG_MAX])
{
	char subj[STRONG_KEY_MAX];
	int err = -EAGAIN, i;
	natsMsg *m = NULL;
	int n;

	if (subject_of(impl, key, subj, sizeof(subj)))
		return -ENAMETOOLONG;
	for (i = 0; i < STRONG_TRIES && err == -EAGAIN; i++)
		err = read_once(impl, subj, is_strong, &m);
	if (err == -EIO)
		pr_warn("sidecar: strong read %s: %s", ((struct strong *)impl)->stream,
			nats_GetLastError(NULL));
	if (err)
		return err == -EAGAIN ? -ETIMEDOUT : err;
	if (!m || is_tombstone(m)) {
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

/* The stream's last sequence (and leader); see strong_int.h. */
int strong_stream_last_seq(struct strong *st, uint64_t *seq, char leader[STRONG_NAME_MAX])
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	jsOptions o;
	natsStatus s;

	jsOptions_Init(&o);
	o.Wait = STRONG_WAIT_MS;
	s = js_GetStreamInfo(&si, st->js, st->stream, &o, &jerr);
	if (s != NATS_OK)
		return strong_map_status(s, jerr);
	*seq = si->State.LastSeq;
	if (leader)
		snprintf(leader, STRONG_NAME_MAX, "%s",
			 si->Cluster && si->Cluster->Leader ? si->Cluster->Leader : "");
	jsStreamInfo_Destroy(si);
	return 0;
}

/* The subject's current revision; see strong_int.h. */
int strong_current_rev(struct strong *st, const char *subj, uint64_t *rev, bool *is_live)
{
	natsMsg *m = NULL;
	int err = strong_last_msg(st, subj, &m);

	*rev = 0;
	*is_live = false;
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	*rev = natsMsg_GetSequence(m);
	*is_live = !is_tombstone(m);
	natsMsg_Destroy(m);
	return 0;
}

/*
 * One attempt of a conditional write. nats-server 2.9 does not serialize
 * the per-subject expected sequence against in-flight proposals in a
 * cluster (two concurrent CAS on one revision both succeed; the sidecar
 * test shows it), but it does check the stream-wide expected last sequence
 * at the leader. So: read the key's revision, check the condition here,
 * then publish expecting the stream's last sequence to be unchanged (and
 * the key's revision too). Any write to the bucket in between makes the
 * publish fail with "wrong last sequence" and the caller tries again.
 * Returns 0, -EAGAIN (retry), -ECANCELED or -errno.
 */
static int conditional_once(struct strong *st, natsMsg *m, const char *subj, uint64_t want,
			    jsPubAck **pa)
{
	uint64_t rev, last;
	jsErrCode jerr = 0;
	jsPubOptions po;
	bool is_live;
	natsStatus s;
	int err;

	err = strong_settle(st, &last, NULL);
	if (!err)
		err = strong_current_rev(st, subj, &rev, &is_live);
	if (err)
		return err;
	if (want ? (!is_live || rev != want) : is_live)
		return -ECANCELED;
	jsPubOptions_Init(&po);
	po.MaxWait = STRONG_WAIT_MS;
	po.ExpectLastSeq = last;
	if (rev)
		po.ExpectLastSubjectSeq = rev;
	else if (natsMsgHeader_Set(m, "Nats-Expected-Last-Subject-Sequence", "0") != NATS_OK)
		return -ENOMEM;
	if (!last && natsMsgHeader_Set(m, "Nats-Expected-Last-Sequence", "0") != NATS_OK)
		return -ENOMEM;
	s = js_PublishMsg(pa, st->js, m, &po, &jerr);
	if (s == NATS_OK)
		return 0;
	err = strong_map_status(s, jerr);
	return err == -ECANCELED ? -EAGAIN : err;
}

static int strong_write(void *impl, const struct store_write *w, char etag[STORE_ETAG_MAX])
{
	bool is_conditional = (w->etag && *w->etag) || (w->is_first_write && w->value);
	struct strong *st = impl;
	unsigned long long want = 0;
	char subj[STRONG_KEY_MAX];
	jsPubAck *pa = NULL;
	jsErrCode jerr = 0;
	natsMsg *m = NULL;
	jsPubOptions po;
	natsStatus s;
	int err, i;

	err = subject_of(st, w->key, subj, sizeof(subj));
	if (!err && w->etag && *w->etag)
		err = store_etag_parse(w->etag, &want);
	if (err)
		return err;
	if (natsMsg_Create(&m, subj, NULL, w->value, w->value ? (int)w->len : 0) != NATS_OK)
		return -ENOMEM;
	if (!w->value && natsMsgHeader_Set(m, "KV-Operation", "DEL") != NATS_OK) {
		err = -ENOMEM;
		goto out;
	}
	if (is_conditional) {
		err = -EAGAIN;
		for (i = 0; i < STRONG_TRIES && err == -EAGAIN; i++)
			err = conditional_once(st, m, subj, want, &pa);
		if (err == -EAGAIN)
			err = -ETIMEDOUT;
		goto done;
	}
	jsPubOptions_Init(&po);
	po.MaxWait = STRONG_WAIT_MS;
	s = js_PublishMsg(&pa, st->js, m, &po, &jerr);
	err = s == NATS_OK ? 0 : strong_map_status(s, jerr);
done:
	if (err == -EIO)
		pr_warn("sidecar: strong write %s: %s", st->stream, nats_GetLastError(NULL));
	if (!err && etag)
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
	.txn = strong_txn,
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
	if (s != NATS_OK && replicas > 1 && jerr == JSStreamReplicasNotSupportedErr) {
		/* One server that is not clustered: R1 is all there is (docs/sidecar.md). */
		pr_warn("sidecar: stream %s: the server is not clustered, R1 instead of R%d",
			st->stream, replicas);
		jsStreamInfo_Destroy(si);
		si = NULL;
		sc.Replicas = 1;
		jerr = 0;
		s = js_AddStream(&si, st->js, &sc, NULL, &jerr);
	}
	jsStreamInfo_Destroy(si);
	if (s == NATS_OK || jerr == JSStreamNameExistErr)
		return 0;
	/* A cluster still forming has no peers to place replicas on yet. */
	if (jerr == JSClusterNoPeersErr || jerr == JSClusterNotAvailErr)
		return -ENOTCONN;
	pr_warn("sidecar: create stream %s (R%d): %s (%d)", st->stream, replicas,
		natsStatus_GetText(s), (int)jerr);
	return strong_map_status(s, jerr) == -EIO ? -EIO : -ENOTCONN;
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
	snprintf(st->ctl, sizeof(st->ctl), "$KV.%s." STRONG_CTL_TOKEN, bucket);
	err = ensure_stream(st, bucket, replicas);
	if (err) {
		strong_close(st);
		return err;
	}
	out->ops = &strong_ops;
	out->impl = st;
	return 0;
}

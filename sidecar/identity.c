// SPDX-License-Identifier: GPL-2.0-only
/* The replica's identity document, checked at start; see identity.h. */
#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "identity.h"
#include "ident_store.h"

/* Whether subject is a workload of namespace ns; see identity.h. */
bool sc_identity_in_namespace(const char *subject, const char *ns)
{
	const char *p = strstr(subject, "://");
	size_t n = strlen(ns);

	p = p ? strchr(p + 3, '/') : NULL;
	if (!p || strncmp(p, "/ns/", 4))
		return false;
	p += 4;
	return !strncmp(p, ns, n) && !strncmp(p + n, "/sa/", 4) && p[n + 4];
}

static int check_key(const struct sc_identity *id)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];

	crypto_sign_ed25519_sk_to_pk(pk, id->sk);
	return sodium_memcmp(pk, id->doc.certs[0].public_key, sizeof(pk)) ? -EKEYREJECTED : 0;
}

/* See identity.h. */
int sc_identity_load(const struct sc_identity_config *cfg, struct sc_identity *id, char *why,
		     size_t why_len)
{
	const char *ns = cfg->namespace ? cfg->namespace : "default";
	char key_path[4096];
	int err;

	memset(id, 0, sizeof(*id));
	ident_crl_init(&id->crl);
	if (sodium_init() < 0)
		return -ENOMEM;
	snprintf(key_path, sizeof(key_path), "%s%s", cfg->key_path ? cfg->key_path : cfg->doc_path,
		 cfg->key_path ? "" : ".key");
	err = ident_trust_load(cfg->dir, &id->trust);
	if (err) {
		snprintf(why, why_len, "trust bundle in %s: %s", cfg->dir, strerror(-err));
		return err;
	}
	err = ident_crl_load(cfg->dir, &id->trust, &id->crl);
	if (err) {
		snprintf(why, why_len, "revocation list in %s: %s", cfg->dir, strerror(-err));
		return err;
	}
	err = ident_file_read(cfg->doc_path, 0, IDENT_DOC_MAX_LEN, &id->doc_bytes, &id->doc_len);
	if (!err)
		err = ident_doc_decode(id->doc_bytes, id->doc_len, &id->doc);
	if (err) {
		snprintf(why, why_len, "identity document %s: %s", cfg->doc_path,
			 err == -EBADMSG ? "malformed" : strerror(-err));
		return err;
	}
	err = ident_doc_verify(&id->doc, &id->trust, &id->crl, (int64_t)time(NULL),
			       cfg->skew_s < 0 ? IDENT_DEFAULT_SKEW_S : cfg->skew_s, NULL);
	if (err) {
		snprintf(why, why_len, "identity document %s: %s", cfg->doc_path,
			 ident_verify_reason(err));
		return err;
	}
	if (id->doc.certs[0].kind != IDENT_KIND_WORKLOAD ||
	    !sc_identity_in_namespace(id->doc.certs[0].subject, ns)) {
		snprintf(why, why_len, "identity %s is not a workload of namespace %s",
			 id->doc.certs[0].subject, ns);
		return -EPERM;
	}
	err = ident_key_load(key_path, id->sk);
	if (err) {
		snprintf(why, why_len, "identity key %s: %s", key_path, strerror(-err));
		return err;
	}
	err = check_key(id);
	if (err) {
		snprintf(why, why_len, "identity key %s does not belong to %s", key_path,
			 cfg->doc_path);
		return err;
	}
	id->not_after = ident_doc_not_after(&id->doc);
	return 0;
}

/* See identity.h. */
void sc_identity_release(struct sc_identity *id)
{
	if (!id)
		return;
	sodium_memzero(id->sk, sizeof(id->sk));
	free(id->doc_bytes);
	id->doc_bytes = NULL;
	ident_crl_release(&id->crl);
}

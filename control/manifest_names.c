// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kubernetes name syntax (k8s.io/apimachinery validation): DNS-1123 labels
 * and subdomains, qualified names (label keys), label values, port names.
 * Each returns NULL when valid, else a message in Kubernetes' wording.
 */
#include <stdbool.h>
#include <string.h>

#include "manifest_priv.h"

static bool is_lower_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static bool is_alnum(char ch)
{
	return is_lower_alnum(ch) || (ch >= 'A' && ch <= 'Z');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over len bytes of s */
static bool dns_label_ok(const char *s, size_t len)
{
	size_t i;

	if (!len || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
		return false;
	for (i = 0; i < len; i++) {
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	}
	return true;
}

/* See manifest_priv.h. */
const char *mf_dns_label_error(const char *s)
{
	if (strlen(s) > 63)
		return "must be no more than 63 characters";
	if (!dns_label_ok(s, strlen(s)))
		return "a lowercase RFC 1123 label must consist of lower case alphanumeric "
		       "characters or '-', and must start and end with an alphanumeric character";
	return NULL;
}

/* See manifest_priv.h. */
const char *mf_dns_subdomain_error(const char *s)
{
	const char *dot;

	if (strlen(s) > 253)
		return "must be no more than 253 characters";
	for (;; s = dot + 1) {
		dot = strchr(s, '.');
		if (!dns_label_ok(s, dot ? (size_t)(dot - s) : strlen(s)))
			return "a lowercase RFC 1123 subdomain must consist of lower case "
			       "alphanumeric characters, '-' or '.', and must start and end with "
			       "an "
			       "alphanumeric character";
		if (!dot)
			return NULL;
	}
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], non-empty */
static bool name_part_ok(const char *s, size_t len)
{
	size_t i;

	if (!len || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return false;
	for (i = 0; i < len; i++) {
		if (!is_alnum(s[i]) && !strchr("-_.", s[i]))
			return false;
	}
	return true;
}

/* See manifest_priv.h. */
const char *mf_qualified_name_error(const char *s)
{
	const char *slash = strchr(s, '/');
	const char *name = slash ? slash + 1 : s;
	char prefix[254];
	size_t plen;

	if (slash) {
		plen = (size_t)(slash - s);
		if (!plen)
			return "prefix part must be non-empty";
		if (plen >= sizeof(prefix))
			return "prefix part must be no more than 253 characters";
		memcpy(prefix, s, plen);
		prefix[plen] = '\0';
		if (mf_dns_subdomain_error(prefix))
			return "prefix part must be a lowercase RFC 1123 subdomain";
	}
	if (!*name)
		return "name part must be non-empty";
	if (strlen(name) > 63)
		return "name part must be no more than 63 characters";
	if (!name_part_ok(name, strlen(name)))
		return "name part must consist of alphanumeric characters, '-', '_' or '.', and "
		       "must start and end with an alphanumeric character";
	return NULL;
}

/* See manifest_priv.h. */
const char *mf_label_value_error(const char *s)
{
	if (strlen(s) > 63)
		return "must be no more than 63 characters";
	if (*s && !name_part_ok(s, strlen(s)))
		return "a valid label value must be empty or consist of alphanumeric characters, "
		       "'-', '_' or '.', and must start and end with an alphanumeric character";
	return NULL;
}

/* See manifest_priv.h. IANA_SVC_NAME, as for container and NetworkPolicy ports. */
const char *mf_port_name_error(const char *s)
{
	bool has_letter = false;
	size_t i, len = strlen(s);

	if (!len || len > 15)
		return "a port name must be 1 to 15 characters";
	for (i = 0; i < len; i++) {
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return "a port name must contain only lower case alphanumeric characters "
			       "or '-'";
		has_letter |= s[i] >= 'a' && s[i] <= 'z';
	}
	if (!has_letter)
		return "a port name must contain at least one letter";
	if (s[0] == '-' || s[len - 1] == '-' || strstr(s, "--"))
		return "a port name must not begin or end with '-' or contain '--'";
	return NULL;
}

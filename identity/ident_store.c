// SPDX-License-Identifier: GPL-2.0-only
/* The identity state directory: permission checks and atomic file writes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ident_store.h"

/* See ident_store.h. */
int ident_store_path(const char *dir, const char *name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int ensure_dir(const char *path, int is_create)
{
	if (!mkdir(path, 0700) || errno == EEXIST)
		return 0;
	if (errno == ENOENT && !is_create)
		return -ENOENT;
	return -errno;
}

/* See ident_store.h. */
int ident_store_dir(const char *state_dir, int is_create, char *dir, size_t cap)
{
	struct stat st;
	int ret;

	ret = ident_store_path(state_dir, "identity", dir, cap);
	if (ret)
		return ret;
	if (is_create) {
		ret = ensure_dir(state_dir, 1);
		if (!ret)
			ret = ensure_dir(dir, 1);
		if (ret)
			return ret;
	}
	if (stat(state_dir, &st))
		return -errno;
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return -EPERM;
	if (stat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if ((st.st_mode & 077) || st.st_uid != geteuid())
		return -EPERM;
	return 0;
}

/* See ident_store.h. */
int ident_file_exists(const char *path)
{
	return !access(path, F_OK);
}

static int check_secret(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((st.st_mode & 077) || st.st_uid != geteuid())
		return -EPERM;
	return 0;
}

/* See ident_store.h. */
int ident_file_read(const char *path, int is_secret, size_t max, uint8_t **buf, size_t *len)
{
	uint8_t *data = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (is_secret) {
		ret = check_secret(fd);
		if (ret)
			goto out_close;
	}
	data = malloc(max + 1);
	if (!data) {
		ret = -ENOMEM;
		goto out_close;
	}
	while ((n = read(fd, data + got, max + 1 - got)) > 0 && got + (size_t)n <= max)
		got += (size_t)n;
	if (n < 0)
		ret = -errno;
	else if (n > 0)
		ret = -EFBIG;
	if (ret)
		goto out_free;
	*buf = data;
	*len = got;
	goto out_close;
out_free:
	sodium_memzero(data, max + 1);
	free(data);
out_close:
	close(fd);
	return ret;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* See ident_store.h. */
int ident_file_write(const char *path, const void *buf, size_t len)
{
	char tmp[IDENT_PATH_MAX];
	int fd, ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	ret = write_all(fd, buf, len);
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

/* See ident_store.h. */
int ident_key_save(const char *path, const uint8_t *sk)
{
	uint8_t buf[IDENT_KEY_FILE_LEN] = IDENT_KEY_MAGIC "\1";
	int ret;

	memcpy(buf + 8, sk, crypto_sign_SECRETKEYBYTES);
	ret = ident_file_write(path, buf, sizeof(buf));
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

/* See ident_store.h. */
int ident_key_load(const char *path, uint8_t *sk)
{
	uint8_t *buf;
	size_t len;
	int ret;

	ret = ident_file_read(path, 1, IDENT_KEY_FILE_LEN, &buf, &len);
	if (ret)
		return ret;
	if (len != IDENT_KEY_FILE_LEN || memcmp(buf, IDENT_KEY_MAGIC "\1\0\0\0", 8))
		ret = -EBADMSG;
	else
		memcpy(sk, buf + 8, crypto_sign_SECRETKEYBYTES);
	sodium_memzero(buf, IDENT_KEY_FILE_LEN + 1);
	free(buf);
	return ret;
}

/* See ident_store.h. */
int ident_doc_load(const char *path, struct ident_doc *d)
{
	uint8_t *buf;
	size_t len;
	int ret;

	ret = ident_file_read(path, 0, IDENT_DOC_MAX_LEN, &buf, &len);
	if (ret)
		return ret;
	ret = ident_doc_decode(buf, len, d);
	free(buf);
	return ret;
}

/* See ident_store.h. */
int ident_doc_save(const char *path, const struct ident_doc *d)
{
	uint8_t buf[IDENT_DOC_MAX_LEN];
	size_t len;
	int ret;

	ret = ident_doc_encode(d, buf, sizeof(buf), &len);
	if (ret)
		return ret;
	return ident_file_write(path, buf, len);
}

/* See ident_store.h. */
int ident_trust_load(const char *dir, struct ident_trust *t)
{
	char path[IDENT_PATH_MAX];
	uint8_t *buf;
	size_t len;
	int ret;

	ret = ident_store_path(dir, IDENT_FILE_TRUST, path, sizeof(path));
	if (!ret)
		ret = ident_file_read(path, 0, IDENT_TRUST_MAX_LEN, &buf, &len);
	if (ret)
		return ret;
	ret = ident_trust_decode(buf, len, t);
	free(buf);
	return ret;
}

/* See ident_store.h. */
int ident_crl_load(const char *dir, const struct ident_trust *t, struct ident_crl *crl)
{
	size_t max = 64 + (size_t)IDENT_CRL_MAX_SERIALS * 8;
	char path[IDENT_PATH_MAX];
	uint8_t *buf;
	size_t len;
	int ret;

	ident_crl_release(crl);
	ret = ident_store_path(dir, IDENT_FILE_CRL, path, sizeof(path));
	if (!ret)
		ret = ident_file_read(path, 0, max, &buf, &len);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	ret = ident_crl_decode(buf, len, t, crl);
	free(buf);
	return ret;
}

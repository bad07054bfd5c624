/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * YAML (and JSON) to jansson, remembering where every value came from.
 *
 * A stream holds the documents of one input, each converted to a json_t
 * tree. Anchors, aliases and merge keys (<<) are resolved; an alias shares
 * the anchored json_t (reference counted), so a document must be treated as
 * read-only. Plain scalars follow the YAML 1.2 core schema (null, true/false,
 * decimal/0x/0o integers, floats); quoted and block scalars are strings, as
 * is anything tagged !!str.
 *
 * Positions are kept in a side table, not in the json_t, because jansson's
 * true, false and null are shared singletons: ask for the position of a
 * member (object + key) or an element (array + index) rather than of the
 * value itself when the value may be one of those.
 */
#ifndef BM_YAML_JSON_H
#define BM_YAML_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* 1-based line and column; 0 when unknown. */
struct yj_pos {
	unsigned int line;
	unsigned int column;
};

/* The first syntax error of an input. */
struct yj_error {
	struct yj_pos pos;
	char text[256];
};

struct yj_stream;

/*
 * Parse the file at path ("-" reads stdin; a ".json" name enables libfyaml's
 * JSON mode). Input must be UTF-8 and at most 64 MiB. On success *out owns
 * every document; free it with yj_stream_free(). Returns 0, -EINVAL for
 * malformed input (err filled with libfyaml's message and position),
 * -ENOENT/-EACCES/... if the file cannot be opened, -EIO on a read error,
 * -EFBIG if it is too large, or -ENOMEM.
 */
int yj_load_file(const char *path, struct yj_stream **out, struct yj_error *err);

/* As yj_load_file() on len bytes of buf; name is used for JSON detection only. */
int yj_load_buffer(const char *name, const char *buf, size_t len, struct yj_stream **out,
		   struct yj_error *err);

/*
 * YJ_FAST_JSON: an input that is exactly one JSON object or array (first
 * non-blank byte '{' or '['; no duplicate keys; nesting within the YAML
 * path's limit) is parsed by jansson instead: same documents, about a
 * tenth of the memory and time for large inputs, but no positions
 * (yj_stream_has_positions() false, every *_pos() lookup false). Anything
 * jansson refuses goes through the YAML path, so errors keep their
 * positions; callers that report problems found later re-load without the
 * flag to get them (manifest.c does).
 */
#define YJ_FAST_JSON 1u

/* As yj_load_buffer() with flags (YJ_FAST_JSON or 0). */
int yj_load_buffer_flags(const char *name, const char *buf, size_t len, unsigned int flags,
			 struct yj_stream **out, struct yj_error *err);

/* Whether the stream knows where its values came from. Cannot fail. */
bool yj_stream_has_positions(const struct yj_stream *s);

/* Free a stream and all its documents. NULL-safe. */
void yj_stream_free(struct yj_stream *s);

/* Number of documents (an empty document counts, as a JSON null). Cannot fail. */
size_t yj_stream_n_docs(const struct yj_stream *s);

/* Document i (borrowed; valid until yj_stream_free()), or NULL if out of range. */
json_t *yj_stream_doc(const struct yj_stream *s, size_t i);

/* Position of document i's root. Returns false if unknown. */
bool yj_doc_pos(const struct yj_stream *s, size_t i, struct yj_pos *out);

/* Position of the value of obj[key], of that key, or of arr[index]. False if unknown. */
bool yj_member_pos(const struct yj_stream *s, const json_t *obj, const char *key,
		   struct yj_pos *out);
bool yj_key_pos(const struct yj_stream *s, const json_t *obj, const char *key, struct yj_pos *out);
bool yj_index_pos(const struct yj_stream *s, const json_t *arr, size_t index, struct yj_pos *out);

#endif /* BM_YAML_JSON_H */

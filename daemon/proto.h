/*
 * The wire protocol, without any I/O: decoding one request line into a
 * proto_request, and encoding every response shape into a trawl_buf (one
 * complete line, newline included). docs/protocol.md is the spec; keep the
 * two in step.
 *
 * Nothing here touches libuv or the index's lifetime, so the decoder can be
 * driven directly by a fuzzer.
 */
#ifndef TRAWLD_PROTO_H
#define TRAWLD_PROTO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "trawl/buf.h"
#include "trawl/index.h"
#include "trawl/search.h"

/* Error codes (the "code" member of an error response). */
#define PROTO_BAD_JSON          "bad_json"
#define PROTO_INVALID_UTF8      "invalid_utf8"
#define PROTO_BAD_REQUEST       "bad_request"
#define PROTO_UNKNOWN_OP        "unknown_op"
#define PROTO_BAD_QUERY         "bad_query"
#define PROTO_REQUEST_TOO_LARGE "request_too_large"
#define PROTO_NOT_FOUND         "not_found"
#define PROTO_NO_INDEX          "no_index"
#define PROTO_BUSY              "busy"
#define PROTO_INTERNAL          "internal"

/* Largest accepted "offset" (deep pages cost a heap of offset+limit). */
#define PROTO_MAX_OFFSET 100000

/* Accepted ranges of the ranking options (requests and trawld flags). */
#define PROTO_MAX_K1          100.0
#define PROTO_MAX_WEIGHT      1000.0 /* title, body and proximity weights */
#define PROTO_MAX_SNIPPET_LEN 10000

/* Hit members a search can return ("fields"). */
enum {
    PF_ID = 1 << 0,
    PF_TITLE = 1 << 1,
    PF_DATE = 1 << 2,
    PF_SCORE = 1 << 3,
    PF_SNIPPET = 1 << 4,
    PF_HIGHLIGHTS = 1 << 5,
    PF_AUTHOR = 1 << 6,
    PF_URL = 1 << 7,
    PF_DEFAULT =
        PF_ID | PF_TITLE | PF_DATE | PF_SCORE | PF_SNIPPET | PF_HIGHLIGHTS,
};

typedef enum proto_op {
    OP_PING,
    OP_STATS,
    OP_RELOAD,
    OP_SEARCH,
    OP_COUNT,
    OP_GET,
} proto_op;

typedef struct proto_request {
    proto_op op;
    json_t *root;      /* the parsed object; owns the strings below */
    char *id_json;     /* "id" re-encoded as compact JSON, "null" if absent */
    trawl_query query; /* search and count: q/qlen point into root */
    int explain;       /* search and count: add "explain" to the response */
    unsigned fields;   /* search: PF_* bits of the hit members to send */
    int snippet_asked; /* search: the client's "snippet" (default true) */
    const char *doc;   /* get: the document id, points into root */
    size_t doc_len;
} proto_request;

typedef struct proto_fail {
    const char *code; /* PROTO_* */
    char msg[256];
} proto_fail;

/*
 * The ranking defaults a request starts from (trawld's command line);
 * trawl_query_init()'s until this is called. Not thread-safe: call it
 * before serving. Only the ranking and snippet members of d are used.
 */
void proto_set_defaults(const trawl_query *d);

/*
 * Decode one request line (without its newline). Returns 0, or -1 with
 * *fail filled in; either way req->id_json is set (to "null" when the id
 * could not be read) and proto_request_free() must be called.
 */
int proto_parse(proto_request *req,
                const char *line,
                size_t len,
                proto_fail *fail);
void proto_request_free(proto_request *req);

/* The protocol error code for a core TRAWL_E* code. */
const char *proto_core_code(int rc);

/* Encoders. gen is the generation that served the request, or NULL. */
void proto_put_error(trawl_buf *out,
                     const char *id_json,
                     const uint64_t *gen,
                     const char *code,
                     const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));
void proto_put_pong(trawl_buf *out, const char *id_json);

void proto_put_search(trawl_buf *out,
                      const proto_request *req,
                      uint64_t gen,
                      const trawl_results *res,
                      uint64_t took_us);
/* parsed: the analyzed query, sent as "explain" if req->explain. */
void proto_put_count(trawl_buf *out,
                     const proto_request *req,
                     uint64_t gen,
                     uint64_t count,
                     const char *parsed,
                     uint64_t took_us);
void proto_put_doc(trawl_buf *out,
                   const char *id_json,
                   uint64_t gen,
                   const trawl_stored *doc);
void proto_put_reload(trawl_buf *out,
                      const char *id_json,
                      const uint64_t *gen,
                      int reloaded,
                      const char *error);

typedef struct proto_stats {
    const trawl_index_info *info; /* NULL when no index is loaded */
    double uptime_s;
    uint64_t queries, errors;
    unsigned connections;
    uint64_t p50, p95, p99;        /* microseconds */
    const char *last_reload_error; /* NULL if none */
} proto_stats;

void proto_put_stats(trawl_buf *out,
                     const char *id_json,
                     const proto_stats *st);

/* Append s[0..n) as a JSON string, repairing invalid UTF-8 if needed. */
void proto_put_str(trawl_buf *out, const char *s, size_t n);

#endif

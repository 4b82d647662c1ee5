/*
 * libFuzzer target: the JSON Lines id scanner (indexer/jsonid.c), against
 * jansson. When the scanner names an id, jansson (with the flags the
 * article parser uses) must take the line as an object whose member has
 * that id, as a string or as an integer's decimal form; and the article
 * parser, when it takes the line, must read the same id. The first input
 * byte picks the key: "id", "url" or "_id".
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "jsonid.h"
#include "trawl/analyze.h"
#include "trawl/article.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const keys[] = {"id", "url", "_id"};
    const char *key = keys[data[0] % 3];
    const char *line = (const char *)data + 1;
    size_t len = size - 1;
    jsonid j;
    int rc = jsonid_find_key(line, len, key, strlen(key), &j);
    FUZZ_CHECK(rc == 0 || rc == 1, "rc %d", rc);
    if (rc == 0)
        return 0;
    FUZZ_CHECK(j.len > 0, "empty id");
    FUZZ_CHECK(j.id == j.num || (j.id >= line && j.id + j.len <= line + len),
               "id outside the line");

    json_error_t jerr;
    json_t *root = json_loadb(line, len,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    FUZZ_CHECK(root != NULL, "scanner found id \"%.*s\" in a line jansson "
               "rejects: %s", (int)j.len, j.id, jerr.text);
    FUZZ_CHECK(json_is_object(root), "not an object");
    json_t *v = json_object_get(root, key);
    FUZZ_CHECK(v != NULL, "jansson has no %s", key);
    char num[64];
    const char *w;
    size_t wn;
    if (json_is_string(v)) {
        w = json_string_value(v);
        wn = json_string_length(v);
    } else {
        FUZZ_CHECK(json_is_integer(v), "id neither string nor integer");
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        w = num;
        wn = strlen(num);
    }
    FUZZ_CHECK(wn == j.len && memcmp(w, j.id, wn) == 0,
               "scanner id \"%.*s\", jansson's \"%.*s\"", (int)j.len, j.id,
               (int)wn, w);
    json_decref(root);

    trawl_json_fields f;
    memset(&f, 0, sizeof(f));
    f.id = key;
    trawl_article a;
    trawl_err err;
    if (trawl_article_parse_json_fields(&a, line, len, &f, &err) == 0) {
        FUZZ_CHECK(a.id_len == j.len && memcmp(a.id, j.id, j.len) == 0,
                   "parser id \"%s\", scanner's \"%.*s\"", a.id, (int)j.len,
                   j.id);
        trawl_article_clear(&a);
    }
    return 0;
}

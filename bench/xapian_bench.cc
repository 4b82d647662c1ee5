/*
 * xapian_bench: the Xapian peer.
 *
 *   xapian_bench build DBDIR CORPUS.jsonl
 *   xapian_bench query DBDIR QUERIES [--threads 1,2,8]
 *   xapian_bench known DBDIR KNOWN
 *
 * build: a new glass database; per article a TermGenerator with the English
 * stemmer (default STEM_SOME: stemmed Z-terms plus unstemmed terms with
 * positions, needed for phrases) indexes the title with wdf increment 3
 * (title weight 3, as trawl's BM25F default) and the body with 1; the
 * document data is the article id (the text itself is not stored); a
 * unique "Q<id>" boolean term. One commit at the end (Xapian flushes every
 * 10000 documents by default).
 *
 * query: QueryParser with the English stemmer, default op AND,
 * FLAG_DEFAULT | FLAG_PHRASE (the trawl query line is valid Xapian syntax:
 * words and "quoted phrases"); Enquire with BM25Weight(k1 1.2, k2 0, k3 1,
 * b 0.75, min_normlen 0.5) (trawl's k1 and b; Xapian's own default is
 * k1 1, b 0.5), get_mset(0, 10), and each hit's document data (its id).
 * One Database per thread.
 */
#include <xapian.h>

#include <jansson.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "benchutil.h"

static std::string jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        return std::string();
    return std::string(json_string_value(v), json_string_length(v));
}

static int build(const char *dbpath, const char *corpus)
{
    FILE *f = std::fopen(corpus, "r");
    if (f == nullptr) {
        std::perror(corpus);
        return 2;
    }
    Xapian::WritableDatabase db(dbpath, Xapian::DB_CREATE_OR_OVERWRITE);
    Xapian::TermGenerator tg;
    tg.set_stemmer(Xapian::Stem("english"));
    char *line = nullptr;
    size_t cap = 0;
    ssize_t len;
    long docs = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        if (len <= 1)
            continue;
        json_error_t jerr;
        json_t *o = json_loadb(line, (size_t)len, 0, &jerr);
        if (o == nullptr) {
            std::fprintf(stderr, "xapian_bench: bad JSON line: %s\n", jerr.text);
            continue;
        }
        std::string id = jstr(o, "id");
        Xapian::Document doc;
        doc.set_data(id);
        tg.set_document(doc);
        tg.index_text(jstr(o, "title"), 3);
        tg.increase_termpos();
        tg.index_text(jstr(o, "body"));
        doc.add_boolean_term("Q" + id);
        db.add_document(doc);
        json_decref(o);
        docs++;
    }
    db.commit();
    db.close();
    std::free(line);
    std::fclose(f);
    std::printf("{\"engine\":\"xapian\",\"mode\":\"build\",\"docs\":%ld}\n", docs);
    return 0;
}

struct xstate {
    Xapian::Database db;
    Xapian::QueryParser qp;
    Xapian::Enquire enq;
    bench_lines *qs;
    std::vector<std::string> ids;

    xstate(const char *path, bench_lines *q) : db(path), enq(db), qs(q)
    {
        qp.set_stemmer(Xapian::Stem("english"));
        qp.set_stemming_strategy(Xapian::QueryParser::STEM_SOME);
        qp.set_default_op(Xapian::Query::OP_AND);
        qp.set_database(db);
        enq.set_weighting_scheme(Xapian::BM25Weight(1.2, 0, 1, 0.75, 0.5));
    }

    long search(const char *q)
    {
        try {
            Xapian::Query query = qp.parse_query(
                q, Xapian::QueryParser::FLAG_DEFAULT | Xapian::QueryParser::FLAG_PHRASE);
            enq.set_query(query);
            Xapian::MSet m = enq.get_mset(0, 10);
            ids.clear();
            for (Xapian::MSetIterator it = m.begin(); it != m.end(); ++it)
                ids.push_back(it.get_document().get_data());
            return (long)ids.size();
        } catch (const Xapian::Error &e) {
            std::fprintf(stderr, "xapian_bench: query %s: %s\n", q,
                         e.get_description().c_str());
            return -1;
        }
    }
};

static long run_query(void *state, size_t i)
{
    xstate *s = static_cast<xstate *>(state);
    return s->search(s->qs->line[i]);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        std::fprintf(stderr, "usage: xapian_bench build|query|known DB FILE [options]\n");
        return 2;
    }
    try {
        if (std::strcmp(argv[1], "build") == 0)
            return build(argv[2], argv[3]);
        int levels[16] = {1}, nlevels = 1;
        for (int i = 4; i + 1 < argc; i += 2)
            if (std::strcmp(argv[i], "--threads") == 0)
                nlevels = bench_parse_levels(argv[i + 1], levels, 16);
            else if (std::strcmp(argv[i], "--repeat") == 0)
                bench_repeat = std::atoi(argv[i + 1]);
        bench_lines qs;
        bench_read_lines(argv[3], &qs);
        if (std::strcmp(argv[1], "query") == 0) {
            void *states[256];
            int maxt = 1;
            for (int l = 0; l < nlevels; l++)
                if (levels[l] > maxt)
                    maxt = levels[l];
            for (int t = 0; t < maxt; t++)
                states[t] = new xstate(argv[2], &qs);
            bench_pass_run("xapian", "inproc", run_query, states, 1, qs.n, 0);
            for (int l = 0; l < nlevels; l++)
                bench_pass_run("xapian", "inproc", run_query, states, levels[l], qs.n, 1);
            for (int t = 0; t < maxt; t++)
                delete static_cast<xstate *>(states[t]);
        } else if (std::strcmp(argv[1], "known") == 0) {
            xstate s(argv[2], &qs);
            bench_known k;
            size_t errors = 0;
            std::memset(&k, 0, sizeof(k));
            for (size_t n = 0; n < qs.n; n++) {
                const char *q;
                const char *target = bench_known_split(qs.line[n], &q);
                long nh = s.search(q);
                int rank = 0;
                if (nh < 0)
                    errors++;
                for (long h = 0; h < nh && h < 10; h++) {
                    if (s.ids[h] == target) {
                        rank = (int)h + 1;
                        break;
                    }
                }
                bench_known_add(&k, rank);
            }
            bench_known_print("xapian", "bm25", &k, errors);
        } else {
            std::fprintf(stderr, "xapian_bench: unknown mode %s\n", argv[1]);
            return 2;
        }
    } catch (const Xapian::Error &e) {
        std::fprintf(stderr, "xapian_bench: %s\n", e.get_description().c_str());
        return 2;
    }
    return 0;
}

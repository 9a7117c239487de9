/* leaky: a small "server" that leaks on purpose.
 *
 * It handles a stream of made-up requests. Each request is parsed into a
 * few heap blocks (the request, a copy of its path, a header list); the
 * handler keeps a reference to the last CACHE_SIZE requests and simply
 * forgets every other one without calling free(). Under glibc malloc the
 * process grows by roughly a kilobyte per request, for ever. Under
 * reclaim's collector the lost requests are found unreachable and
 * reclaimed, so the heap stays near the live set (the cache).
 *
 *   ./examples/leaky [REQUESTS]          default 100000
 *
 * It prints a short result; the last line (peak resident memory) is the
 * one that shows the difference. Everything else is deterministic. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define CACHE_SIZE 64
#define NHEADERS   8

struct header {
    char *name;
    char *value;
    struct header *next;
};

struct request {
    unsigned long id;
    char *path;
    struct header *headers;
    char body[256];
};

static unsigned long rng = 12345;

static unsigned long next_random(void)
{
    rng = rng * 6364136223846793005ul + 1442695040888963407ul;
    return rng >> 33;
}

static char *dup_printf(const char *fmt, unsigned long a, unsigned long b)
{
    char buf[128];
    int n = snprintf(buf, sizeof buf, fmt, a, b);
    char *s = malloc((size_t)n + 1);
    if (!s) {
        perror("malloc");
        exit(1);
    }
    memcpy(s, buf, (size_t)n + 1);
    return s;
}

static struct request *parse_request(unsigned long id)
{
    struct request *r = malloc(sizeof *r);
    if (!r) {
        perror("malloc");
        exit(1);
    }
    r->id = id;
    r->path = dup_printf("/api/v1/items/%lu/part/%lu", next_random() % 100000, id);
    r->headers = NULL;
    for (int i = 0; i < NHEADERS; i++) {
        struct header *h = malloc(sizeof *h);
        if (!h) {
            perror("malloc");
            exit(1);
        }
        h->name = dup_printf("X-Header-%lu-%lu", (unsigned long)i, id % 7);
        h->value = dup_printf("value-%lu-%lu", next_random(), id);
        h->next = r->headers;
        r->headers = h;
    }
    memset(r->body, (int)('a' + id % 26), sizeof r->body);
    return r;
}

static unsigned long handle(const struct request *r)
{
    unsigned long sum = r->id;
    for (const char *p = r->path; *p; p++)
        sum = sum * 31 + (unsigned char)*p;
    for (const struct header *h = r->headers; h; h = h->next)
        sum ^= strlen(h->name) * 131 + strlen(h->value);
    return sum + (unsigned char)r->body[17];
}

int main(int argc, char **argv)
{
    unsigned long requests = 100000;
    if (argc > 1) {
        char *end;
        requests = strtoul(argv[1], &end, 10);
        if (*end || !requests) {
            fprintf(stderr, "usage: %s [REQUESTS]\n", argv[0]);
            return 2;
        }
    }

    struct request *cache[CACHE_SIZE] = { 0 };
    unsigned long checksum = 0, kept = 0;
    for (unsigned long id = 0; id < requests; id++) {
        struct request *r = parse_request(id);
        checksum += handle(r);
        if (id % 3 == 0) {
            /* Worth caching: this replaces (and loses, without free) the
             * request that was in the slot. */
            cache[(id / 3) % CACHE_SIZE] = r;
            kept++;
        }
        /* Every other request is simply dropped: the leak. */
    }

    unsigned long cached = 0;
    for (int i = 0; i < CACHE_SIZE; i++)
        if (cache[i])
            cached += handle(cache[i]) % 1000;

    printf("handled %lu requests (%lu cached along the way, %d still cached)\n",
           requests, kept, CACHE_SIZE);
    printf("checksum %016lx, cache check %lu\n", checksum, cached);

    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        printf("peak resident memory: %ld MiB\n", ru.ru_maxrss / 1024);
    return 0;
}

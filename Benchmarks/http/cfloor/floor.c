/*
 * floor.c: the floor any libuv HTTP/1.1 server pays.
 *
 *   floor --port 8082
 *
 * One thread, one uv loop, listening on 127.0.0.1. On every read it scans the
 * connection's buffer for complete requests (ending in "\r\n\r\n"; the
 * benchmark's requests have no body), so pipelining and keep-alive work, and
 * answers
 *   GET /plaintext -> "Hello, World!"                (text/plain)
 *   GET /json      -> {"message":"Hello, World!"}    (application/json)
 *   anything else  -> 404
 * with Server, Content-Type, Content-Length and a Date header. The two full
 * responses are rebuilt whenever the Date second changes (checked by a timer),
 * so a response costs one memcpy. All responses produced by one read go out
 * together: uv_try_write first, and uv_write for whatever did not fit.
 * "Connection: close" (or HTTP/1.0 without keep-alive) closes after the reply.
 *
 * Build: gcc -O2 -o floor floor.c $(pkg-config --cflags --libs libuv)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <time.h>
#include <uv.h>

#define INITIAL_BUF 4096
#define MAX_REQUEST (64 * 1024)     /* a header block larger than this is refused */
#define MAX_PENDING_OUT (256 * 1024) /* stop reading while this much waits to be written */

/* ---- cached responses ---------------------------------------------------- */

static const char plaintext_body[] = "Hello, World!";
static const char json_body[] = "{\"message\":\"Hello, World!\"}";
static const char notfound_body[] = "Not Found";

typedef struct {
    char data[256];
    size_t len;
} cached_response;

static cached_response resp_plaintext, resp_json, resp_notfound;
static time_t cached_second = (time_t)-1;

static void build_response(cached_response *r, const char *status, const char *ctype,
                           const char *body, size_t body_len, const char *date) {
    int n = snprintf(r->data, sizeof r->data,
                     "HTTP/1.1 %s\r\n"
                     "Server: floor\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "Date: %s\r\n"
                     "\r\n",
                     status, ctype, body_len, date);
    memcpy(r->data + n, body, body_len);
    r->len = (size_t)n + body_len;
}

static void refresh_date(void) {
    time_t now = time(NULL);
    if (now == cached_second) return;
    cached_second = now;
    struct tm tm;
    gmtime_r(&now, &tm);
    char date[64];
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    build_response(&resp_plaintext, "200 OK", "text/plain", plaintext_body,
                   sizeof plaintext_body - 1, date);
    build_response(&resp_json, "200 OK", "application/json", json_body,
                   sizeof json_body - 1, date);
    build_response(&resp_notfound, "404 Not Found", "text/plain", notfound_body,
                   sizeof notfound_body - 1, date);
}

static void on_date_timer(uv_timer_t *t) {
    (void)t;
    refresh_date();
}

/* ---- connections ---------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len, cap;
} buffer;

typedef struct {
    uv_tcp_t tcp;           /* first: the handle's address is the connection's */
    uv_write_t write_req;
    buffer in;              /* bytes read but not yet consumed (a partial request) */
    buffer out;             /* responses waiting to be written */
    buffer inflight;        /* the buffer uv_write owns while a write is in flight */
    int writing;
    int reading;
    int close_after_write;
} conn;

static uv_loop_t *loop;

static void buf_reserve(buffer *b, size_t extra) {
    if (b->len + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : INITIAL_BUF;
    while (cap < b->len + extra) cap *= 2;
    b->data = realloc(b->data, cap);
    if (!b->data) { perror("realloc"); exit(1); }
    b->cap = cap;
}

static void buf_append(buffer *b, const char *p, size_t n) {
    buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void on_close(uv_handle_t *h) {
    conn *c = (conn *)h;
    free(c->in.data);
    free(c->out.data);
    free(c->inflight.data);
    free(c);
}

static void conn_close(conn *c) {
    if (!uv_is_closing((uv_handle_t *)&c->tcp)) uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    conn *c = (conn *)h;
    if (c->in.cap - c->in.len < 1024) buf_reserve(&c->in, c->in.cap ? c->in.cap : INITIAL_BUF);
    buf->base = c->in.data + c->in.len;
    buf->len = c->in.cap - c->in.len;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void flush(conn *c);

static void on_write(uv_write_t *req, int status) {
    conn *c = req->data;
    c->writing = 0;
    c->inflight.len = 0;
    if (status < 0 || uv_is_closing((uv_handle_t *)&c->tcp)) {
        conn_close(c);
        return;
    }
    if (c->out.len > 0) {
        flush(c);
    } else if (c->close_after_write) {
        conn_close(c);
        return;
    }
    if (!c->reading && !c->close_after_write && c->out.len < MAX_PENDING_OUT) {
        c->reading = 1;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
}

/* Send everything in c->out: try_write first, uv_write for the remainder. */
static void flush(conn *c) {
    if (c->writing || c->out.len == 0) return;
    uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == UV_EAGAIN) n = 0;
    if (n < 0) { conn_close(c); return; }
    if ((size_t)n == c->out.len) {
        c->out.len = 0;
        if (c->close_after_write) conn_close(c);
        return;
    }
    /* Hand the unsent tail to uv_write: swap buffers so `out` can keep filling. */
    buffer tmp = c->inflight;
    c->inflight = c->out;
    c->out = tmp;
    c->out.len = 0;
    if (n > 0) {
        memmove(c->inflight.data, c->inflight.data + n, c->inflight.len - (size_t)n);
        c->inflight.len -= (size_t)n;
    }
    b = uv_buf_init(c->inflight.data, (unsigned)c->inflight.len);
    c->writing = 1;
    c->write_req.data = c;
    if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
        c->writing = 0;
        conn_close(c);
    }
}

/* Case-insensitive search for `needle` (lower case) in [p, end). */
static const char *find_ci(const char *p, const char *end, const char *needle, size_t n) {
    for (; p + n <= end; p++)
        if (strncasecmp(p, needle, n) == 0) return p;
    return NULL;
}

/* Handle one complete request [p, end) where end points past "\r\n\r\n". */
static int handle_request(conn *c, const char *p, const char *end) {
    const char *line_end = memchr(p, '\r', (size_t)(end - p));
    const char *sp1 = memchr(p, ' ', (size_t)(line_end - p));
    if (!sp1) return -1;
    const char *path = sp1 + 1;
    const char *sp2 = memchr(path, ' ', (size_t)(line_end - path));
    if (!sp2 || line_end - sp2 != 9 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0) return -1;
    size_t method_len = (size_t)(sp1 - p), path_len = (size_t)(sp2 - path);

    int http10 = sp2[8] == '0';
    int has_close = find_ci(line_end, end, "\r\nconnection: close", 19) != NULL;
    int has_keepalive = http10 && find_ci(line_end, end, "\r\nconnection: keep-alive", 24) != NULL;
    if (has_close || (http10 && !has_keepalive)) c->close_after_write = 1;

    const cached_response *r = &resp_notfound;
    if (method_len == 3 && memcmp(p, "GET", 3) == 0) {
        if (path_len == 10 && memcmp(path, "/plaintext", 10) == 0) r = &resp_plaintext;
        else if (path_len == 5 && memcmp(path, "/json", 5) == 0) r = &resp_json;
    }
    buf_append(&c->out, r->data, r->len);
    return 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    (void)buf;
    conn *c = (conn *)s;
    if (nread < 0) { conn_close(c); return; }
    if (nread == 0) return;
    c->in.len += (size_t)nread;

    char *p = c->in.data, *end = c->in.data + c->in.len;
    while (p < end && !c->close_after_write) {
        char *hdr_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (!hdr_end) break;
        hdr_end += 4;
        if (handle_request(c, p, hdr_end) < 0) {
            static const char bad[] =
                "HTTP/1.1 400 Bad Request\r\nServer: floor\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n";
            buf_append(&c->out, bad, sizeof bad - 1);
            c->close_after_write = 1;
        }
        p = hdr_end;
    }
    size_t rest = (size_t)(end - p);
    if (rest && p != c->in.data) memmove(c->in.data, p, rest);
    c->in.len = rest;
    if (c->in.len > MAX_REQUEST) { conn_close(c); return; }

    if (c->close_after_write || c->out.len >= MAX_PENDING_OUT) {
        uv_read_stop(s);
        c->reading = 0;
    }
    flush(c);
}

static void on_connection(uv_stream_t *server, int status) {
    if (status < 0) return;
    conn *c = calloc(1, sizeof *c);
    if (!c) return;
    uv_tcp_init(loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->reading = 1;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int main(int argc, char **argv) {
    int port = 8082;
    const char *host = "127.0.0.1";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) host = argv[++i];
        else { fprintf(stderr, "usage: floor --port P [--host ADDR]\n"); return 2; }
    }
    signal(SIGPIPE, SIG_IGN);
    loop = uv_default_loop();
    refresh_date();

    uv_timer_t date_timer;
    uv_timer_init(loop, &date_timer);
    uv_timer_start(&date_timer, on_date_timer, 100, 100);

    uv_tcp_t server;
    uv_tcp_init(loop, &server);
    struct sockaddr_in addr;
    uv_ip4_addr(host, port, &addr);
    int rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&server, 1024, on_connection);
    if (rc != 0) {
        fprintf(stderr, "floor: listen %s:%d: %s\n", host, port, uv_strerror(rc));
        return 1;
    }
    fprintf(stderr, "floor listening on %s:%d\n", host, port);
    return uv_run(loop, UV_RUN_DEFAULT);
}

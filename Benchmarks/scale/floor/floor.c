/*
 * Benchmarks/scale/floor/floor.c: what this machine allows at all, with no framework, for two of
 * the scale benchmark's goals (Benchmarks/scale/NOTES.md):
 *
 *   publish  one ~80-byte WebSocket text frame written to each of N loopback TCP connections, from
 *            S server processes sharing one port (SO_REUSEPORT), read by C client processes; the
 *            time from the trigger to the moment the last client process has read its copy.
 *   ping     R ping/pong exchanges a second in all, spread evenly over N connections and S servers
 *            (the server writes a 2-byte ping frame, the client answers with a 6-byte masked pong
 *            frame, the server reads it); the CPU this costs the server processes, the clients and
 *            the whole machine over a window.
 *
 * One binary, raw epoll, nonblocking sockets, one write() per frame, one read() per readable event:
 * the floor any server framework on this kernel sits on.
 *
 *   floor publish N S ROUNDS PORT          N connections, S servers, ROUNDS publishes on them
 *   floor ping N S RATES WINDOW PORT [TICK_MS]   RATES: comma-separated exchanges/s in all (0 =
 *                                          idle); the servers send the due pings every TICK_MS (10)
 *
 * The orchestrating process forks S servers and C = ceil(N / 18000) clients (a process may hold
 * 20,000 file descriptors here), talks to each over a SOCK_SEQPACKET socketpair and prints one
 * key=value line per measurement (run.sh turns them into tables). The clients connect from
 * 127.0.0.2..127.0.0.9 (IP_BIND_ADDRESS_NO_PORT, so ephemeral ports are per source address), at most
 * 256 connects in flight per client process. Children die with the orchestrator (PR_SET_PDEATHSIG).
 *
 * CPU: utime+stime from /proc/<pid>/stat (clock ticks, as the scale benchmark counts it) and the
 * children's own CLOCK_PROCESS_CPUTIME_ID (ns), and the machine's busy time from /proc/stat (user,
 * nice, system, irq, softirq, steal). This kernel has no IRQ time accounting, so softirq work (on
 * loopback, the receiving side's TCP processing runs in the sender's write()) is charged to the
 * process it interrupted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#define PER_CLIENT_MAX 18000
#define MAX_CHILDREN 64
#define NSOURCES 8
#define CONNECT_INFLIGHT 256
#define PUBLISH_LEN 80

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static int64_t cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static void die(const char *what) {
    fprintf(stderr, "floor[%d]: %s: %s\n", getpid(), what, strerror(errno));
    exit(1);
}

/* ---- control messages (orchestrator <-> child) ---- */
enum { M_READY = 1, M_COUNT, M_ARM, M_PUBLISH, M_GOT, M_PING, M_STATS, M_EXIT, M_ACK };
typedef struct {
    int32_t cmd, a;
    int64_t t0, t1;       /* times (CLOCK_MONOTONIC ns) */
    int64_t c0, c1, c2, c3; /* counters */
    int64_t cpu;          /* the child's CLOCK_PROCESS_CPUTIME_ID, ns */
} msg_t;

static void send_msg(int fd, msg_t *m) {
    m->cpu = cpu_ns();
    if (write(fd, m, sizeof *m) != (ssize_t)sizeof *m) die("control write");
}
static int recv_msg(int fd, msg_t *m, int timeout_ms) {
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);
    if (r <= 0) return -1;
    ssize_t n = read(fd, m, sizeof *m);
    if (n == 0) return -2;
    if (n != (ssize_t)sizeof *m) die("control read");
    return 0;
}

static void raise_nofile(void) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static const unsigned char PING[2] = {0x89, 0x00};
static const unsigned char PONG[6] = {0x8A, 0x80, 0x12, 0x34, 0x56, 0x78}; /* masked, empty */
static unsigned char PUBLISH_FRAME[PUBLISH_LEN];

/* ---- server ---- */
static void server_main(int ctl, int port) {
    raise_nofile();
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(lfd, 65535) < 0) die("listen");

    int ep = epoll_create1(0);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.u64 = (uint64_t)-1; epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.u64 = (uint64_t)-2; epoll_ctl(ep, EPOLL_CTL_ADD, ctl, &ev);
    ev.data.u64 = (uint64_t)-3; epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);

    struct rlimit rl; getrlimit(RLIMIT_NOFILE, &rl);
    int cap = (int)rl.rlim_cur;
    int *conns = malloc(sizeof(int) * cap);
    int n = 0, live = 0;
    int64_t pings = 0, pong_bytes = 0, write_errors = 0, wakeups = 0;
    long tick_ns = 10000000;
    double rate = 0; int64_t ping_start = 0, ping_base = 0; int rr = 0;

    msg_t m = {.cmd = M_READY};
    send_msg(ctl, &m);

    struct epoll_event evs[1024];
    unsigned char buf[4096];
    for (;;) {
        int k = epoll_wait(ep, evs, 1024, -1);
        if (k < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        wakeups++;
        for (int i = 0; i < k; i++) {
            uint64_t d = evs[i].data.u64;
            if (d == (uint64_t)-1) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0) {
                        if (errno == EAGAIN || errno == EINTR) break;
                        if (errno == EMFILE || errno == ENFILE) { fprintf(stderr, "server: out of fds at %d\n", n); break; }
                        die("accept");
                    }
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event ce = {.events = EPOLLIN};
                    ce.data.u64 = (uint64_t)n;
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                    conns[n++] = fd; live++;
                }
            } else if (d == (uint64_t)-2) {
                if (recv_msg(ctl, &m, 0) < 0) exit(0);
                msg_t r = {.cmd = M_ACK};
                switch (m.cmd) {
                case M_COUNT: r.c0 = live; break;
                case M_PUBLISH: {
                    int64_t t0 = now_ns(), ok = 0;
                    for (int j = 0; j < n; j++) {
                        if (conns[j] < 0) continue;
                        if (write(conns[j], PUBLISH_FRAME, PUBLISH_LEN) == PUBLISH_LEN) ok++;
                        else write_errors++;
                    }
                    r.t0 = t0; r.t1 = now_ns(); r.c0 = ok; r.c1 = write_errors;
                    break;
                }
                case M_PING: {
                    rate = m.a / 100.0; ping_start = now_ns(); ping_base = pings;
                    if (m.c0 > 0) tick_ns = (long)m.c0;
                    struct itimerspec its = {{tick_ns / 1000000000L, tick_ns % 1000000000L}, {0, 1000000}};
                    if (rate <= 0) memset(&its, 0, sizeof its);
                    timerfd_settime(tfd, 0, &its, NULL);
                    break;
                }
                case M_STATS: r.c0 = pings; r.c1 = pong_bytes / 6; r.c2 = write_errors; r.c3 = wakeups; break;
                case M_EXIT: exit(0);
                }
                send_msg(ctl, &r);
            } else if (d == (uint64_t)-3) {
                uint64_t exp; if (read(tfd, &exp, sizeof exp) < 0) {}
                if (rate > 0 && live > 0) {
                    int64_t target = ping_base + (int64_t)(rate * (double)(now_ns() - ping_start) / 1e9);
                    while (pings < target) {
                        int fd = conns[rr]; rr = (rr + 1) % n;
                        if (fd < 0) continue;
                        if (write(fd, PING, 2) == 2) pings++; else { write_errors++; pings++; }
                    }
                }
            } else {
                int fd = conns[d];
                ssize_t r = read(fd, buf, sizeof buf);
                if (r > 0) pong_bytes += r;
                else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                    close(fd); conns[d] = -1; live--;
                }
            }
        }
    }
}

/* ---- client ---- */
static void client_main(int ctl, int port, int count, int first_index) {
    raise_nofile();
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.u64 = (uint64_t)-2; epoll_ctl(ep, EPOLL_CTL_ADD, ctl, &ev);
    int *conns = malloc(sizeof(int) * count);
    uint16_t *got = calloc(count, sizeof(uint16_t));
    unsigned char *carry = calloc(count, 1);
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(port)};
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    int started = 0, connected = 0, inflight = 0, failures = 0;
    struct epoll_event evs[1024];
    unsigned char buf[4096], out[6 * 64];
    for (int j = 0; j < 64; j++) memcpy(out + 6 * j, PONG, 6);

    /* connect, at most CONNECT_INFLIGHT in flight */
    int *retry = malloc(sizeof(int) * count); int nretry = 0;
    while (connected < count) {
        while (inflight < CONNECT_INFLIGHT && (started < count || nretry > 0)) {
            int idx = nretry > 0 ? retry[--nretry] : started++;
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (fd < 0) die("socket");
            int one = 1;
            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            struct sockaddr_in src = {.sin_family = AF_INET};
            src.sin_addr.s_addr = htonl(0x7F000002 + (uint32_t)((first_index + idx) % NSOURCES));
            if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) die("bind source");
            if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) die("connect");
            conns[idx] = fd;
            struct epoll_event ce = {.events = EPOLLOUT};
            ce.data.u64 = (uint64_t)idx;
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
            inflight++;
        }
        int k = epoll_wait(ep, evs, 1024, 1000);
        for (int i = 0; i < k; i++) {
            uint64_t d = evs[i].data.u64;
            if (d == (uint64_t)-2) { msg_t m; if (recv_msg(ctl, &m, 0) < 0 || m.cmd == M_EXIT) exit(0); continue; }
            int fd = conns[d], err = 0; socklen_t l = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
            inflight--;
            if (err) { epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL); close(fd); retry[nretry++] = (int)d; failures++; continue; }
            struct epoll_event ce = {.events = EPOLLIN};
            ce.data.u64 = d;
            epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ce);
            connected++;
        }
    }
    msg_t m = {.cmd = M_READY, .c0 = connected, .c1 = failures};
    send_msg(ctl, &m);

    enum { IDLE, PUBLISH, PONG_MODE } mode = IDLE;
    int done = 0; int64_t t_first = 0, t_last = 0, pongs = 0, reads = 0;
    for (;;) {
        int k = epoll_wait(ep, evs, 1024, -1);
        if (k < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int i = 0; i < k; i++) {
            uint64_t d = evs[i].data.u64;
            if (d == (uint64_t)-2) {
                if (recv_msg(ctl, &m, 0) < 0) exit(0);
                msg_t r = {.cmd = M_ACK};
                switch (m.cmd) {
                case M_ARM: mode = PUBLISH; done = 0; t_first = t_last = 0; memset(got, 0, sizeof(uint16_t) * count); break;
                case M_PING: mode = PONG_MODE; memset(carry, 0, count); break;
                case M_STATS: r.c0 = pongs; r.c1 = reads; break;
                case M_EXIT: {
                    struct linger lg = {1, 0}; /* RST: no TIME_WAIT left behind for the next run */
                    for (int j = 0; j < count; j++) { setsockopt(conns[j], SOL_SOCKET, SO_LINGER, &lg, sizeof lg); close(conns[j]); }
                    exit(0);
                }
                }
                send_msg(ctl, &r);
                continue;
            }
            int fd = conns[d];
            ssize_t r = read(fd, buf, sizeof buf);
            if (r <= 0) {
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                fprintf(stderr, "client: connection %d closed by the server\n", (int)d);
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                continue;
            }
            reads++;
            if (mode == PUBLISH) {
                int before = got[d];
                got[d] += (uint16_t)r;
                if (before < PUBLISH_LEN && got[d] >= PUBLISH_LEN) {
                    int64_t t = now_ns();
                    if (done == 0) t_first = t;
                    t_last = t;
                    if (++done == count) {
                        msg_t g = {.cmd = M_GOT, .t0 = t_first, .t1 = t_last, .c0 = done};
                        send_msg(ctl, &g);
                        mode = IDLE;
                    }
                }
            } else if (mode == PONG_MODE) {
                int total = carry[d] + (int)r;
                int np = total / 2;
                carry[d] = (unsigned char)(total % 2);
                while (np > 0) {
                    int b = np > 64 ? 64 : np;
                    if (write(fd, out, 6 * b) > 0) pongs += b;
                    np -= b;
                }
            }
        }
    }
}

/* ---- orchestrator ---- */
typedef struct { pid_t pid; int ctl; int server; } child_t;
static child_t kids[MAX_CHILDREN];
static int nkids = 0, nservers = 0, nclients = 0;

static void spawn(int server, int port, int count, int first_index) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) die("socketpair");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(sv[0]);
        for (int i = 0; i < nkids; i++) close(kids[i].ctl);
        if (server) server_main(sv[1], port); else client_main(sv[1], port, count, first_index);
        exit(0);
    }
    close(sv[1]);
    kids[nkids++] = (child_t){pid, sv[0], server};
}

static void shutdown_all(int code) {
    msg_t m = {.cmd = M_EXIT};
    for (int i = 0; i < nkids; i++) if (!kids[i].server) { m.cpu = 0; if (write(kids[i].ctl, &m, sizeof m) < 0) {} }
    for (int i = 0; i < nkids; i++) if (!kids[i].server) waitpid(kids[i].pid, NULL, 0);
    for (int i = 0; i < nkids; i++) if (kids[i].server) { if (write(kids[i].ctl, &m, sizeof m) < 0) {} }
    for (int i = 0; i < nkids; i++) if (kids[i].server) waitpid(kids[i].pid, NULL, 0);
    exit(code);
}
static void fail(const char *what) {
    fprintf(stderr, "floor: %s\n", what);
    for (int i = 0; i < nkids; i++) kill(kids[i].pid, SIGKILL);
    for (int i = 0; i < nkids; i++) waitpid(kids[i].pid, NULL, 0);
    exit(1);
}

/* utime+stime of a process, clock ticks */
static int64_t proc_ticks(pid_t pid) {
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    if (!fgets(line, sizeof line, f)) { fclose(f); return 0; }
    fclose(f);
    char *p = strrchr(line, ')');
    long long ut = 0, st = 0;
    /* after ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &ut, &st);
    return ut + st;
}
/* machine busy and total, clock ticks */
static int64_t steal_ticks;
static void machine_ticks(int64_t *busy, int64_t *total) {
    FILE *f = fopen("/proc/stat", "r");
    long long v[10] = {0};
    if (f) { if (fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) < 8) {} fclose(f); }
    *busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    *total = *busy + v[3] + v[4];
    steal_ticks = v[7];
}

typedef struct {
    int64_t t, srv_ticks, cli_ticks, srv_cpu, cli_cpu, busy, total, steal;
    int64_t pings, pongs_srv, pongs_cli, errors, srv_wakeups;
} snap_t;

static int64_t tick_ns_arg = 10000000;
static void ask(int i, int cmd, int a, msg_t *r) {
    msg_t m = {.cmd = cmd, .a = a, .c0 = cmd == M_PING ? tick_ns_arg : 0};
    send_msg(kids[i].ctl, &m);
    if (recv_msg(kids[i].ctl, r, 30000) < 0) fail("no answer from a child");
}

static void snapshot(snap_t *s) {
    memset(s, 0, sizeof *s);
    for (int i = 0; i < nkids; i++) {
        msg_t r; ask(i, M_STATS, 0, &r);
        if (kids[i].server) { s->srv_cpu += r.cpu; s->pings += r.c0; s->pongs_srv += r.c1; s->errors += r.c2; s->srv_wakeups += r.c3; }
        else { s->cli_cpu += r.cpu; s->pongs_cli += r.c0; }
        int64_t t = proc_ticks(kids[i].pid);
        if (kids[i].server) s->srv_ticks += t; else s->cli_ticks += t;
    }
    machine_ticks(&s->busy, &s->total);
    s->steal = steal_ticks;
    s->t = now_ns();
}

static void setup(int n, int s, int port) {
    signal(SIGPIPE, SIG_IGN);
    nservers = s;
    nclients = (n + PER_CLIENT_MAX - 1) / PER_CLIENT_MAX;
    for (int i = 0; i < s; i++) spawn(1, port, 0, 0);
    msg_t r;
    for (int i = 0; i < s; i++) if (recv_msg(kids[i].ctl, &r, 10000) < 0 || r.cmd != M_READY) fail("a server did not start");
    int64_t t0 = now_ns();
    int first = 0;
    for (int c = 0; c < nclients; c++) {
        int k = n / nclients + (c < n % nclients ? 1 : 0);
        spawn(0, port, k, first);
        first += k;
    }
    int64_t failures = 0;
    for (int i = s; i < nkids; i++) {
        if (recv_msg(kids[i].ctl, &r, 300000) < 0 || r.cmd != M_READY) fail("a client did not connect");
        failures += r.c1;
    }
    /* until the servers have accepted every connection */
    int64_t accepted = 0;
    for (int tries = 0; tries < 600; tries++) {
        accepted = 0;
        for (int i = 0; i < s; i++) { ask(i, M_COUNT, 0, &r); accepted += r.c0; }
        if (accepted >= n) break;
        usleep(100000);
    }
    if (accepted < n) fail("the servers did not accept every connection");
    printf("setup N=%d S=%d C=%d connect_s=%.2f connect_retries=%lld per_server=", n, s, nclients,
           (now_ns() - t0) / 1e9, (long long)failures);
    for (int i = 0; i < s; i++) { ask(i, M_COUNT, 0, &r); printf("%s%lld", i ? "," : "", (long long)r.c0); }
    printf("\n");
    fflush(stdout);
}

static int publish_main(int n, int s, int rounds, int port) {
    setup(n, s, port);
    for (int round = 1; round <= rounds; round++) {
        usleep(300000);
        msg_t r;
        for (int i = s; i < nkids; i++) ask(i, M_ARM, 0, &r);
        snap_t a, b; snapshot(&a);
        int64_t trig = now_ns();
        msg_t m = {.cmd = M_PUBLISH};
        for (int i = 0; i < s; i++) send_msg(kids[i].ctl, &m);
        int64_t lag_max = 0, write_max = 0, wrote = 0, first = INT64_MAX, last = 0;
        for (int i = 0; i < s; i++) {
            if (recv_msg(kids[i].ctl, &r, 60000) < 0) fail("a server did not publish");
            if (r.t0 - trig > lag_max) lag_max = r.t0 - trig;
            if (r.t1 - r.t0 > write_max) write_max = r.t1 - r.t0;
            wrote += r.c0;
        }
        for (int i = s; i < nkids; i++) {
            if (recv_msg(kids[i].ctl, &r, 60000) < 0) fail("a client did not get the publish");
            if (r.t0 < first) first = r.t0;
            if (r.t1 > last) last = r.t1;
        }
        snapshot(&b);
        printf("publish N=%d S=%d C=%d round=%d complete_ms=%.1f first_ms=%.1f server_start_lag_ms=%.1f "
               "server_write_loop_ms=%.1f wrote=%lld cpu_servers_ms=%.1f cpu_clients_ms=%.1f machine_busy_ms=%lld steal_ms=%lld\n",
               n, s, nclients, round, (last - trig) / 1e6, (first - trig) / 1e6, lag_max / 1e6, write_max / 1e6,
               (long long)wrote, (b.srv_cpu - a.srv_cpu) / 1e6, (b.cli_cpu - a.cli_cpu) / 1e6,
               (long long)((b.busy - a.busy) * 1000 / sysconf(_SC_CLK_TCK)),
               (long long)((b.steal - a.steal) * 1000 / sysconf(_SC_CLK_TCK)));
        fflush(stdout);
    }
    shutdown_all(0);
    return 0;
}

static int ping_main(int n, int s, const char *rates, int window, int port) {
    setup(n, s, port);
    msg_t r;
    for (int i = s; i < nkids; i++) ask(i, M_PING, 0, &r);
    char *list = strdup(rates);
    double hz = (double)sysconf(_SC_CLK_TCK);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        int rate = atoi(tok);
        for (int i = 0; i < s; i++) ask(i, M_PING, (int)((int64_t)rate * 100 / s), &r);
        sleep(2);
        snap_t a, b; snapshot(&a);
        sleep(window);
        snapshot(&b);
        double secs = (b.t - a.t) / 1e9;
        int64_t ex = b.pongs_srv - a.pongs_srv;
        double exs = ex / secs;
        double srv_pct = 100.0 * (b.srv_ticks - a.srv_ticks) / hz / secs;
        double cli_pct = 100.0 * (b.cli_ticks - a.cli_ticks) / hz / secs;
        double srv_pct_ns = 100.0 * (b.srv_cpu - a.srv_cpu) / 1e9 / secs;
        double cli_pct_ns = 100.0 * (b.cli_cpu - a.cli_cpu) / 1e9 / secs;
        double mach_pct = 100.0 * (b.busy - a.busy) / hz / secs;
        printf("ping N=%d S=%d C=%d rate=%d window_s=%.1f pings=%lld pongs=%lld exchanges_per_s=%.0f "
               "server_cpu_pct=%.2f server_cpu_pct_ns=%.2f client_cpu_pct=%.2f client_cpu_pct_ns=%.2f "
               "machine_busy_pct=%.2f server_us_per_exchange=%.2f client_us_per_exchange=%.2f write_errors=%lld tick_ms=%.0f server_wakeups_per_s=%.0f steal_pct=%.2f\n",
               n, s, nclients, rate, secs, (long long)(b.pings - a.pings), (long long)ex, exs,
               srv_pct, srv_pct_ns, cli_pct, cli_pct_ns, mach_pct,
               ex ? (b.srv_ticks - a.srv_ticks) / hz * 1e6 / ex : 0.0,
               ex ? (b.cli_ticks - a.cli_ticks) / hz * 1e6 / ex : 0.0, (long long)(b.errors - a.errors),
               tick_ns_arg / 1e6, (b.srv_wakeups - a.srv_wakeups) / secs, 100.0 * (b.steal - a.steal) / hz / secs);
        fflush(stdout);
    }
    for (int i = 0; i < s; i++) ask(i, M_PING, 0, &r);
    shutdown_all(0);
    return 0;
}

int main(int argc, char **argv) {
    PUBLISH_FRAME[0] = 0x81; PUBLISH_FRAME[1] = PUBLISH_LEN - 2;
    memset(PUBLISH_FRAME + 2, 'x', PUBLISH_LEN - 2);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 6 && !strcmp(argv[1], "publish"))
        return publish_main(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    if ((argc == 7 || argc == 8) && !strcmp(argv[1], "ping")) {
        if (argc == 8) tick_ns_arg = (int64_t)atoi(argv[7]) * 1000000;
        return ping_main(atoi(argv[2]), atoi(argv[3]), argv[4], atoi(argv[5]), atoi(argv[6]));
    }
    fprintf(stderr, "usage: floor publish N S ROUNDS PORT\n       floor ping N S RATES WINDOW PORT [TICK_MS]\n");
    return 2;
}

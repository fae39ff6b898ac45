/* The four network perf tools (local_thr, remote_thr, local_lat, remote_lat) over any
 * libzmq, with libzmq's command lines and output lines, and ferrozmq's convention for
 * CURVE: with ZMQ_PERF_CURVE=1 in the environment the bind side is a CURVE server and the
 * connect side its client, with libzmq's well-known test keys (issue 10).
 *
 * libzmq 4.3.4's own tools take CURVE as a fifth argument instead (thr only), and the
 * `zmq` crate's libzmq has no CURVE; benches/compare builds this file against a libzmq
 * that has it (pyzmq's bundled one), so that libzmq's CURVE is measured natively, side
 * by side with ferrozmq's examples of the same names. One source, four binaries: the tool
 * is chosen by the name it runs under. */

#include <zmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char server_secret[] = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
static const char server_public[] = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
static const char client_secret[] = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
static const char client_public[] = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";

static void die (const char *what)
{
    fprintf (stderr, "%s: %s\n", what, zmq_strerror (zmq_errno ()));
    exit (1);
}

static void check (int rc, const char *what)
{
    if (rc < 0)
        die (what);
}

static double now_us (void)
{
    struct timespec t;
    clock_gettime (CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec * 1e6 + (double) t.tv_nsec / 1e3;
}

/* Sets CURVE on `s` when ZMQ_PERF_CURVE=1: server for the bind side, client otherwise. */
static void security (void *s, int bind_side)
{
    const char *env = getenv ("ZMQ_PERF_CURVE");
    if (!env || strcmp (env, "1") != 0)
        return;
    if (!zmq_has ("curve")) {
        fprintf (stderr, "ZMQ_PERF_CURVE=1, but this libzmq has no CURVE\n");
        exit (1);
    }
    if (bind_side) {
        int one = 1;
        check (zmq_setsockopt (s, ZMQ_CURVE_SECRETKEY, server_secret, 40),
               "ZMQ_CURVE_SECRETKEY");
        check (zmq_setsockopt (s, ZMQ_CURVE_SERVER, &one, sizeof one),
               "ZMQ_CURVE_SERVER");
    } else {
        check (zmq_setsockopt (s, ZMQ_CURVE_SECRETKEY, client_secret, 40),
               "ZMQ_CURVE_SECRETKEY");
        check (zmq_setsockopt (s, ZMQ_CURVE_PUBLICKEY, client_public, 40),
               "ZMQ_CURVE_PUBLICKEY");
        check (zmq_setsockopt (s, ZMQ_CURVE_SERVERKEY, server_public, 40),
               "ZMQ_CURVE_SERVERKEY");
    }
}

/* Receives one message and checks its size. */
static void recv_sized (void *s, zmq_msg_t *msg, size_t size)
{
    check (zmq_msg_recv (msg, s, 0), "zmq_msg_recv");
    if (zmq_msg_size (msg) != size) {
        fprintf (stderr, "message of incorrect size received\n");
        exit (1);
    }
}

static int local_thr (void *ctx, const char *ep, size_t size, long count)
{
    void *s = zmq_socket (ctx, ZMQ_PULL);
    zmq_msg_t msg;
    double start, elapsed;
    long i;
    unsigned long throughput;
    if (!s)
        die ("zmq_socket");
    security (s, 1);
    check (zmq_bind (s, ep), "zmq_bind");
    check (zmq_msg_init (&msg), "zmq_msg_init");
    recv_sized (s, &msg, size);
    start = now_us ();
    for (i = 1; i < count; i++)
        recv_sized (s, &msg, size);
    elapsed = now_us () - start;
    if (elapsed < 1)
        elapsed = 1;
    /* the arithmetic of libzmq's perf/local_thr.cpp, on whole microseconds */
    throughput = (unsigned long) ((double) count / (unsigned long) elapsed * 1000000);
    printf ("message size: %d [B]\n", (int) size);
    printf ("message count: %d\n", (int) count);
    printf ("mean throughput: %d [msg/s]\n", (int) throughput);
    printf ("mean throughput: %.3f [Mb/s]\n",
            (double) throughput * size * 8 / 1000000);
    zmq_msg_close (&msg);
    zmq_close (s);
    return 0;
}

static int remote_thr (void *ctx, const char *ep, size_t size, long count)
{
    void *s = zmq_socket (ctx, ZMQ_PUSH);
    zmq_msg_t msg;
    long i;
    if (!s)
        die ("zmq_socket");
    security (s, 0);
    check (zmq_connect (s, ep), "zmq_connect");
    for (i = 0; i < count; i++) {
        /* a fresh message each time, as libzmq's remote_thr does */
        check (zmq_msg_init_size (&msg, size), "zmq_msg_init_size");
        memset (zmq_msg_data (&msg), 0, size);
        check (zmq_msg_send (&msg, s, 0), "zmq_msg_send");
    }
    zmq_close (s); /* the context's termination waits until all is delivered */
    return 0;
}

static int local_lat (void *ctx, const char *ep, size_t size, long count)
{
    void *s = zmq_socket (ctx, ZMQ_REP);
    zmq_msg_t msg;
    long i;
    if (!s)
        die ("zmq_socket");
    security (s, 1);
    check (zmq_bind (s, ep), "zmq_bind");
    check (zmq_msg_init (&msg), "zmq_msg_init");
    for (i = 0; i < count; i++) {
        recv_sized (s, &msg, size);
        check (zmq_msg_send (&msg, s, 0), "zmq_msg_send");
    }
    zmq_msg_close (&msg);
    zmq_close (s);
    return 0;
}

static int remote_lat (void *ctx, const char *ep, size_t size, long count)
{
    void *s = zmq_socket (ctx, ZMQ_REQ);
    zmq_msg_t msg;
    double start, elapsed;
    long i;
    if (!s)
        die ("zmq_socket");
    security (s, 0);
    check (zmq_connect (s, ep), "zmq_connect");
    check (zmq_msg_init_size (&msg, size), "zmq_msg_init_size");
    memset (zmq_msg_data (&msg), 0, size);
    start = now_us ();
    for (i = 0; i < count; i++) {
        check (zmq_msg_send (&msg, s, 0), "zmq_msg_send");
        recv_sized (s, &msg, size);
    }
    elapsed = now_us () - start;
    printf ("message size: %d [B]\n", (int) size);
    printf ("roundtrip count: %d\n", (int) count);
    printf ("average latency: %.3f [us]\n", elapsed / (count * 2));
    zmq_msg_close (&msg);
    zmq_close (s);
    return 0;
}

int main (int argc, char *argv[])
{
    const char *name = strrchr (argv[0], '/');
    int (*tool) (void *, const char *, size_t, long);
    void *ctx;
    int rc;
    name = name ? name + 1 : argv[0];
    if (strcmp (name, "local_thr") == 0)
        tool = local_thr;
    else if (strcmp (name, "remote_thr") == 0)
        tool = remote_thr;
    else if (strcmp (name, "local_lat") == 0)
        tool = local_lat;
    else if (strcmp (name, "remote_lat") == 0)
        tool = remote_lat;
    else {
        fprintf (stderr, "run as local_thr, remote_thr, local_lat or remote_lat\n");
        return 1;
    }
    if (argc != 4) {
        fprintf (stderr, "usage: %s <endpoint> <message-size> <count>\n", name);
        return 1;
    }
    ctx = zmq_ctx_new ();
    if (!ctx)
        die ("zmq_ctx_new");
    rc = tool (ctx, argv[1], (size_t) atol (argv[2]), atol (argv[3]));
    zmq_ctx_term (ctx);
    return rc;
}

/*
 * stallproxy: a TCP proxy for tests that makes the network to a server misbehave on demand.
 * It listens on a free loopback port and forwards each connection it accepts to
 * 127.0.0.1:<target port> (for the worker's tests: the local Temporal server, HTTP/2 in
 * plaintext). It copies bytes and never parses them: anything that speaks TCP goes through.
 *
 * Modes, switched at any time from the test's thread:
 *   STALLPROXY_PASS          forward both ways.
 *   STALLPROXY_STALL         forward nothing in either direction, but keep every socket open
 *                            (the peers see a silent network, not an error). Bytes sent
 *                            meanwhile wait, and flow on, in order, once the mode is PASS again.
 *                            New connections are still accepted (and counted) but stay silent.
 *   STALLPROXY_RANDOM_STALL  each connection and each direction on its own alternates
 *                            forwarding for a random time in [pass_min_ms, pass_max_ms] and
 *                            stalling for a random time in [stall_min_ms, stall_max_ms].
 *                            Random from |seed|: the same seed draws the same durations in the
 *                            same order (which connection draws first depends on timing).
 *   STALLPROXY_VANISH        the server vanished: every open connection is reset (RST to the
 *                            client and to the server), and each new one is accepted, counted
 *                            and reset at once. Going back to PASS serves new connections again.
 *   STALLPROXY_RANDOM        a bad network, for chaos runs: each connection lives through
 *                            periods one after the other, and when one ends draws the next by
 *                            weight: a reset (RST both ways; the connection is gone), a stall
 *                            of both directions for [stall_min_ms, stall_max_ms], a latency
 *                            period of [pass_min_ms, pass_max_ms] in which every byte read is
 *                            held [latency_min_ms, latency_max_ms] (one delay drawn per period)
 *                            before it is written on, or plain forwarding for as long. A new
 *                            connection starts forwarding. Bytes are never reordered or lost
 *                            while the connection lives. Same seed, same draws.
 *
 * Not here: TLS (it would only pass through), IPv6, other target hosts, bandwidth shaping.
 *
 * Threading: the proxy runs in one thread of its own, started by stallproxy_start() and joined
 * by stallproxy_stop(). stallproxy_set_mode(), stallproxy_mode() and the counters may be called
 * from any thread while the proxy runs; start and stop belong to one thread (the test's).
 * Ownership: the proxy owns its sockets and memory; stallproxy_stop() closes and frees all of
 * it. |opt| is copied by stallproxy_start().
 */
#ifndef TW_STALLPROXY_H
#define TW_STALLPROXY_H

typedef struct stallproxy stallproxy;

typedef enum stallproxy_mode {
    STALLPROXY_PASS = 0,
    STALLPROXY_STALL,
    STALLPROXY_RANDOM_STALL,
    STALLPROXY_VANISH,
    STALLPROXY_RANDOM,
} stallproxy_mode;

typedef struct stallproxy_options {
    int target_port;  /* forward to 127.0.0.1:target_port; required */
    /* RANDOM_STALL's ranges in ms; 0 for both of a pair takes the default. */
    int stall_min_ms; /* default 2000 */
    int stall_max_ms; /* default 6000 */
    int pass_min_ms;  /* default 500 */
    int pass_max_ms;  /* default 3000 */
    unsigned seed;    /* RANDOM_STALL's and RANDOM's random source; 0 is a seed like any other */
    stallproxy_mode mode; /* the mode at start, usually STALLPROXY_PASS */
    /* RANDOM's draw at the end of each period, by weight (each >= 0). All four 0 takes
     * 1 reset : 2 stalls : 3 latency periods : 4 forwarding periods. */
    int reset_weight;
    int stall_weight;
    int latency_weight;
    int pass_weight;
    int latency_min_ms; /* RANDOM's delay range; 0 for both takes 20..300 */
    int latency_max_ms;
} stallproxy_options;

/* What RANDOM (and VANISH) did so far. */
typedef struct stallproxy_counters {
    long connections;     /* accepted, as stallproxy_connections() */
    long open;            /* open now, as stallproxy_open_connections() */
    long resets;          /* connections RANDOM reset */
    long stalls;          /* RANDOM's stall periods begun */
    long latency_periods; /* RANDOM's latency periods begun */
} stallproxy_counters;

/* Starts a proxy listening on 127.0.0.1:<a free port> (stallproxy_port()) in a thread of its
 * own. On success *out is the proxy (the caller owns it; end it with stallproxy_stop()) and 0 is
 * returned. On failure *out is NULL and a negative errno value is returned (-EINVAL for a
 * missing target port, a range whose min is above its max, or a negative weight). */
int stallproxy_start(stallproxy **out, const stallproxy_options *opt);

/* The loopback port clients connect to. */
int stallproxy_port(const stallproxy *p);

/* Switches the mode; takes effect in the proxy's thread within a few milliseconds. Switching to
 * RANDOM_STALL starts every open connection on a fresh forwarding period. */
void stallproxy_set_mode(stallproxy *p, stallproxy_mode mode);
stallproxy_mode stallproxy_get_mode(const stallproxy *p);

/* Connections accepted since start, whatever the mode (those reset by VANISH included). */
long stallproxy_connections(const stallproxy *p);
/* Connections open now (accepted, not yet closed). */
long stallproxy_open_connections(const stallproxy *p);
/* All the counters at once, into *out. */
void stallproxy_get_counters(const stallproxy *p, stallproxy_counters *out);

/* Stops the thread, closes every socket (open connections are reset) and frees the proxy.
 * NULL is a no-op. */
void stallproxy_stop(stallproxy *p);

#endif

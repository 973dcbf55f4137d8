/* sp_frame.h: the bytes of nng's REQ/REP protocols (SP) on a stream, for
 * the two ends that speak them without an nng socket: the client library
 * (client_conn.c) and the daemon's stream server (tools/sluiced/sp_conn.c).
 * PROTOCOL.md, "Transports", describes the same frames in prose.
 *
 * A connection opens with an 8-byte handshake each way: 0 'S' 'P' 0, the
 * sender's protocol number (big-endian, 2 bytes), 0 0. Then each message is
 * one frame: on tcp:// an 8-byte big-endian length, on ipc:// a type byte 1
 * before it; then that many bytes. A request's bytes begin with its
 * backtrace, 4-byte big-endian words of which the last has its top bit set
 * (the request id); a reply begins with the same words.
 *
 * Everything here is inline and allocation-free. */
#ifndef SLUICE_PROTO_SP_FRAME_H
#define SLUICE_PROTO_SP_FRAME_H

#include <nng/nng.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SP_PROTO_REQ 0x30        /* nng's REQ v0 protocol number */
#define SP_PROTO_REP 0x31        /* nng's REP v0 protocol number */
#define SP_HANDSHAKE_LEN 8
#define SP_WORD_LEN 4            /* one backtrace word; the request id is one */
#define SP_HEAD_MAX 9            /* the longest frame head (ipc) */

/* How frames are delimited: by the URL's scheme. */
typedef enum sp_framing {
    SP_FRAMING_NONE, /* not a stream transport this code speaks (tls+tcp, ws, ...) */
    SP_FRAMING_TCP,  /* tcp://, tcp4://, tcp6://: 8-byte big-endian length */
    SP_FRAMING_IPC   /* ipc://, unix://, abstract://: type byte 1, then the length */
} sp_framing;

static inline sp_framing sp_framing_of(const char *url)
{
    static const struct {
        const char *scheme;
        sp_framing framing;
    } known[] = {
        {"tcp://", SP_FRAMING_TCP},  {"tcp4://", SP_FRAMING_TCP},
        {"tcp6://", SP_FRAMING_TCP}, {"ipc://", SP_FRAMING_IPC},
        {"unix://", SP_FRAMING_IPC}, {"abstract://", SP_FRAMING_IPC},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strncmp(url, known[i].scheme, strlen(known[i].scheme)) == 0)
            return known[i].framing;
    return SP_FRAMING_NONE;
}

static inline void sp_put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline uint64_t sp_get_be(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

/* Our handshake, as protocol proto. */
static inline void sp_handshake_put(uint8_t out[SP_HANDSHAKE_LEN], uint16_t proto)
{
    const uint8_t h[SP_HANDSHAKE_LEN] = {0, 'S', 'P', 0, (uint8_t)(proto >> 8),
                                         (uint8_t)proto, 0, 0};
    memcpy(out, h, sizeof h);
}

/* Is in the handshake of a peer speaking protocol proto? */
static inline bool sp_handshake_is(const uint8_t in[SP_HANDSHAKE_LEN], uint16_t proto)
{
    uint8_t want[SP_HANDSHAKE_LEN];
    sp_handshake_put(want, proto);
    return memcmp(in, want, sizeof want) == 0;
}

/* The frame head's length on this framing. */
static inline size_t sp_head_len(sp_framing f)
{
    return f == SP_FRAMING_IPC ? 9 : 8;
}

/* Write the head of a frame of len bytes; returns its length. */
static inline size_t sp_head_put(sp_framing f, uint8_t head[SP_HEAD_MAX], uint64_t len)
{
    size_t at = 0;
    if (f == SP_FRAMING_IPC)
        head[at++] = 1;
    sp_put_be(head + at, len, 8);
    return at + 8;
}

/* Read a frame head (sp_head_len(f) bytes): false when it is malformed. */
static inline bool sp_head_get(sp_framing f, const uint8_t *head, uint64_t *len)
{
    if (f == SP_FRAMING_IPC && *head++ != 1)
        return false;
    *len = sp_get_be(head, 8);
    return true;
}

/* Streams may move fewer bytes than asked: step the n vectors at iov past
 * moved bytes. Returns where the rest begins (*n of them; the first one
 * trimmed in place). */
static inline nng_iov *sp_iov_advance(nng_iov *iov, unsigned *n, size_t moved)
{
    while (*n > 0 && moved >= iov[0].iov_len) {
        moved -= iov[0].iov_len;
        iov++;
        (*n)--;
    }
    if (*n > 0) {
        iov[0].iov_buf = (uint8_t *)iov[0].iov_buf + moved;
        iov[0].iov_len -= moved;
    }
    return iov;
}

#endif

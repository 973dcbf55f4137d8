/* journal.c: see journal.h. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bytes.h"

#define MAGIC 0x534c4a52u /* "SLJR" */
#define ZERO_CHUNK (1u << 20)

struct sl_journal {
    int fd;
    uint64_t capacity; /* file size */
    uint64_t lap;
    uint64_t first_lsn; /* lsn of the lap's first record */
    uint64_t next_lsn;
    uint64_t offset;    /* where the next record goes */
    uint8_t *scratch;   /* replay: one record's body (owned) */
    size_t scratch_cap;
};

/* ---- CRC-32C ---------------------------------------------------------------- */

static const uint32_t crc_nibble[16] = {
    0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1, 0x417b1dbc, 0x5125dad3,
    0x61c69362, 0x7198540d, 0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9,
    0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
};

static uint32_t crc_soft(uint32_t c, const uint8_t *p, size_t n)
{
    while (n--) {
        c ^= *p++;
        c = (c >> 4) ^ crc_nibble[c & 15];
        c = (c >> 4) ^ crc_nibble[c & 15];
    }
    return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t c, const uint8_t *p,
                                                            size_t n)
{
    uint64_t c64 = c;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = __builtin_ia32_crc32di(c64, v);
    }
    c = (uint32_t)c64;
    while (n--)
        c = __builtin_ia32_crc32qi(c, *p++);
    return c;
}
#endif

uint32_t sl_crc32c(uint32_t crc, const void *data, size_t n)
{
    uint32_t c = ~crc;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2"))
        return ~crc_sse42(c, data, n);
#endif
    return ~crc_soft(c, data, n);
}

/* ---- the file ------------------------------------------------------------- */

static sl_err err_from_errno(int e)
{
    if (e == ENOSPC || e == EDQUOT)
        return SL_ERR_STORAGE_FULL;
    return e == ENOMEM ? SL_ERR_NOMEM : SL_ERR_STORAGE;
}

static sl_err write_all(int fd, const void *buf, size_t n, uint64_t off)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return err_from_errno(w < 0 ? errno : ENOSPC);
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return SL_OK;
}

/* Write zeros from `from` to `to`, so later appends overwrite allocated blocks. */
static sl_err zero_fill(int fd, uint64_t from, uint64_t to)
{
    uint8_t *zeros = calloc(1, ZERO_CHUNK);
    if (!zeros)
        return SL_ERR_NOMEM;
    sl_err rc = SL_OK;
    while (rc == SL_OK && from < to) {
        size_t n = to - from < ZERO_CHUNK ? (size_t)(to - from) : ZERO_CHUNK;
        rc = write_all(fd, zeros, n, from);
        from += n;
    }
    free(zeros);
    if (rc == SL_OK && fsync(fd) != 0)
        rc = err_from_errno(errno);
    return rc;
}

static sl_err sync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return SL_ERR_STORAGE;
    int rc = fsync(dfd);
    close(dfd);
    return rc == 0 ? SL_OK : SL_ERR_STORAGE;
}

/* Create path: capacity bytes of zeros, synced with its directory. */
static sl_err create_file(const char *dir, const char *path, uint64_t capacity, int *fd)
{
    *fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (*fd < 0)
        return err_from_errno(errno);
    sl_err rc = zero_fill(*fd, 0, capacity);
    if (rc == SL_OK)
        rc = sync_dir(dir);
    if (rc != SL_OK) {
        close(*fd);
        *fd = -1;
        unlink(path);
    }
    return rc;
}

sl_err sl_journal_open(const char *dir, uint64_t capacity, bool create, sl_journal **out)
{
    *out = NULL;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/journal", dir) >= (int)sizeof path)
        return SL_ERR_INVALID;
    sl_journal *j = calloc(1, sizeof *j);
    if (!j)
        return SL_ERR_NOMEM;
    struct stat st;
    sl_err rc = SL_OK;
    j->fd = open(path, O_RDWR | O_CLOEXEC);
    if (j->fd >= 0) {
        if (fstat(j->fd, &st) != 0) {
            rc = SL_ERR_STORAGE;
        } else if (st.st_size < (off_t)(2 * SL_JOURNAL_HEAD)) {
            /* cut short while being created: it cannot hold a record */
            close(j->fd);
            j->fd = -1;
            rc = unlink(path) == 0 ? SL_OK : SL_ERR_STORAGE;
        } else {
            j->capacity = (uint64_t)st.st_size;
        }
    } else if (errno != ENOENT) {
        rc = SL_ERR_STORAGE;
    }
    if (rc == SL_OK && j->fd < 0 && create && capacity >= 2 * SL_JOURNAL_HEAD)
        rc = create_file(dir, path, j->capacity = capacity, &j->fd);
    if (rc != SL_OK || j->fd < 0) {
        sl_journal_close(j);
        return rc;
    }
    *out = j;
    return SL_OK;
}

void sl_journal_close(sl_journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    free(j->scratch);
    free(j);
}

void sl_journal_start_lap(sl_journal *j, uint64_t lap, uint64_t lsn)
{
    j->lap = lap;
    j->first_lsn = j->next_lsn = lsn;
    j->offset = 0;
}

uint64_t sl_journal_lap(const sl_journal *j)
{
    return j->lap;
}

uint64_t sl_journal_capacity(const sl_journal *j)
{
    return j->capacity;
}

uint64_t sl_journal_first_lsn(const sl_journal *j)
{
    return j->first_lsn;
}

uint64_t sl_journal_next_lsn(const sl_journal *j)
{
    return j->next_lsn;
}

bool sl_journal_fits(const sl_journal *j, size_t n)
{
    return n <= UINT32_MAX && j->offset + SL_JOURNAL_HEAD + n <= j->capacity;
}

static void encode_head(uint8_t *h, uint64_t lap, uint64_t lsn, const uint8_t *body, size_t n)
{
    sl_put_u32(h, MAGIC);
    sl_put_u64(h + 8, lap);
    sl_put_u64(h + 16, lsn);
    sl_put_u32(h + 24, (uint32_t)n);
    sl_put_u32(h + 28, 0);
    uint32_t crc = sl_crc32c(0, h + 8, SL_JOURNAL_HEAD - 8);
    sl_put_u32(h + 4, sl_crc32c(crc, body, n));
}

sl_err sl_journal_append(sl_journal *j, const uint8_t *body, size_t n, bool sync)
{
    if (!sl_journal_fits(j, n))
        return SL_ERR_TOO_LARGE;
    uint8_t head[SL_JOURNAL_HEAD];
    encode_head(head, j->lap, j->next_lsn, body, n);
    struct iovec iov[2] = {{head, sizeof head}, {(void *)body, n}};
    size_t want = sizeof head + n;
    ssize_t w;
    do
        w = pwritev(j->fd, iov, n ? 2 : 1, (off_t)j->offset);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return err_from_errno(errno);
    if ((size_t)w != want) /* a short write: the file cannot be short; give up on it */
        return SL_ERR_STORAGE;
    if (sync && fdatasync(j->fd) != 0)
        return err_from_errno(errno);
    j->offset += want;
    j->next_lsn++;
    return SL_OK;
}

/* ---- replay --------------------------------------------------------------- */

static bool read_exact(int fd, void *buf, size_t n, uint64_t off)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return true;
}

/* The record at j->offset if it is the next one of the lap: its body in
 * j->scratch, its length in *n. false when the lap ends there. */
static bool next_record(sl_journal *j, size_t *n, sl_err *err)
{
    uint8_t h[SL_JOURNAL_HEAD];
    if (j->offset + SL_JOURNAL_HEAD > j->capacity || !read_exact(j->fd, h, sizeof h, j->offset))
        return false;
    uint64_t len = sl_get_u32(h + 24);
    if (sl_get_u32(h) != MAGIC || sl_get_u64(h + 8) != j->lap ||
        sl_get_u64(h + 16) != j->next_lsn || j->offset + SL_JOURNAL_HEAD + len > j->capacity)
        return false;
    if (len > j->scratch_cap) {
        uint8_t *b = realloc(j->scratch, len);
        if (!b) {
            *err = SL_ERR_NOMEM;
            return false;
        }
        j->scratch = b;
        j->scratch_cap = len;
    }
    if (!read_exact(j->fd, j->scratch, len, j->offset + SL_JOURNAL_HEAD))
        return false;
    uint32_t crc = sl_crc32c(0, h + 8, SL_JOURNAL_HEAD - 8);
    if (sl_crc32c(crc, j->scratch, len) != sl_get_u32(h + 4))
        return false;
    *n = (size_t)len;
    return true;
}

sl_err sl_journal_replay(sl_journal *j, uint64_t end_lsn, sl_journal_record_fn fn, void *ctx)
{
    j->offset = 0;
    j->next_lsn = j->first_lsn;
    sl_err err = SL_OK;
    size_t n;
    while (j->next_lsn < end_lsn && next_record(j, &n, &err)) {
        err = fn(ctx, j->scratch, n);
        if (err != SL_OK)
            return err;
        j->offset += SL_JOURNAL_HEAD + n;
        j->next_lsn++;
    }
    return err;
}

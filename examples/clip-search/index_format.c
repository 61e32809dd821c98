#define _DEFAULT_SOURCE /* flock() */
#define _FILE_OFFSET_BITS 64

#include "index_format.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

static const char index_magic[8] = {'L', 'C', 'L', 'I', 'P', 'I', 'D', 'X'};

/* ---- little-endian encoding, independent of the host's byte order ---- */

static void put_u32(unsigned char *at, uint32_t value)
{
    for (int i = 0; i < 4; i++)
        at[i] = (unsigned char)(value >> (8 * i));
}

static void put_u64(unsigned char *at, uint64_t value)
{
    for (int i = 0; i < 8; i++)
        at[i] = (unsigned char)(value >> (8 * i));
}

static uint32_t get_u32(const unsigned char *at)
{
    uint32_t value = 0;
    for (int i = 0; i < 4; i++)
        value |= (uint32_t)at[i] << (8 * i);
    return value;
}

static uint64_t get_u64(const unsigned char *at)
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value |= (uint64_t)at[i] << (8 * i);
    return value;
}

/* CRC-32 as zlib's crc32() computes it (reflected polynomial 0xEDB88320). */
static uint32_t crc32_of(const unsigned char *bytes, size_t size)
{
    static uint32_t table[256];
    if (table[1] == 0) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    }
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; i++)
        crc = table[(crc ^ bytes[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

static void encode_header(const index_header *header, unsigned char bytes[INDEX_HEADER_SIZE])
{
    memset(bytes, 0, INDEX_HEADER_SIZE);
    memcpy(bytes, index_magic, sizeof index_magic);
    put_u32(bytes + 8, header->version);
    put_u32(bytes + 12, header->dim);
    put_u32(bytes + 16, header->image_size);
    put_u64(bytes + 24, header->fingerprint);
    put_u64(bytes + 32, header->count);
}

/* Record layout: u32 path length, path, dim float32, u32 CRC-32. */
static uint64_t record_size(uint32_t path_length, uint32_t dim)
{
    return 4 + (uint64_t)path_length + 4 * (uint64_t)dim + 4;
}

/* ---- reading ---- */

/* Checks the header fields one by one, so that each problem gets its own
 * message, and the count against what the file can hold, so that no
 * allocation or loop is ever sized by an unchecked number. */
static int validate_header(const index_reader *r)
{
    const index_header *h = &r->header;
    if (h->version != INDEX_VERSION) {
        report("%s: unsupported index format version %" PRIu32 " (this clip-search reads version %d)", r->name,
               h->version, INDEX_VERSION);
        return -1;
    }
    if (h->dim == 0 || h->dim > INDEX_MAX_DIM) {
        report("%s: corrupt index: embedding dim %" PRIu32 " is outside 1..%d", r->name, h->dim, INDEX_MAX_DIM);
        return -1;
    }
    uint64_t room = r->file_size - INDEX_HEADER_SIZE, smallest = record_size(1, h->dim);
    if (h->count > room / smallest) {
        report("%s: corrupt or truncated index: the header counts %" PRIu64 " records, but its %" PRIu64
               " bytes hold at most %" PRIu64,
               r->name, h->count, r->file_size, room / smallest);
        return -1;
    }
    return 0;
}

static int read_header(index_reader *r)
{
    unsigned char bytes[INDEX_HEADER_SIZE];
    size_t got = fread(bytes, 1, sizeof bytes, r->file);
    if (got == 0) {
        report("%s: empty file, not a clip-search index", r->name);
        return -1;
    }
    if (got < sizeof index_magic || memcmp(bytes, index_magic, sizeof index_magic) != 0) {
        report("%s: not a clip-search index (no LCLIPIDX magic)", r->name);
        return -1;
    }
    if (got < INDEX_HEADER_SIZE) {
        report("%s: truncated index: %zu bytes, shorter than the %d-byte header", r->name, got, INDEX_HEADER_SIZE);
        return -1;
    }
    /* The size is taken after the header is read: a writer raises the count
     * only once the records it covers are on disk, so the file is then at
     * least as long as that count needs, even while a writer appends. */
    struct stat st;
    if (fstat(fileno(r->file), &st) != 0) {
        report("%s: %s", r->name, strerror(errno));
        return -1;
    }
    r->file_size = (uint64_t)st.st_size;
    r->header.version = get_u32(bytes + 8);
    r->header.dim = get_u32(bytes + 12);
    r->header.image_size = get_u32(bytes + 16);
    r->header.fingerprint = get_u64(bytes + 24);
    r->header.count = get_u64(bytes + 32);
    return validate_header(r);
}

int index_reader_open(index_reader *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->name = path;
    r->file = fopen(path, "rb");
    struct stat st;
    if (!r->file || fstat(fileno(r->file), &st) != 0) {
        report("%s: %s", path, strerror(errno));
        index_reader_close(r);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        report("%s: not a regular file", path);
        index_reader_close(r);
        return -1;
    }
    r->offset = INDEX_HEADER_SIZE;
    if (read_header(r) != 0) {
        index_reader_close(r);
        return -1;
    }
    r->record = malloc(record_size(INDEX_MAX_PATH, r->header.dim));
    r->path = malloc(INDEX_MAX_PATH + 1);
    r->vector = malloc(r->header.dim * sizeof *r->vector);
    if (!r->record || !r->path || !r->vector) {
        report("out of memory");
        index_reader_close(r);
        return -1;
    }
    return 0;
}

/* Reports a problem with the record being read; returns -1. */
static int bad_record(const index_reader *r, const char *fmt, ...) REPORT_PRINTF(2, 3);

static int bad_record(const index_reader *r, const char *fmt, ...)
{
    char problem[256];
    va_list args;
    va_start(args, fmt);
    vsnprintf(problem, sizeof problem, fmt, args);
    va_end(args);
    report("%s: corrupt or truncated index: record %" PRIu64 " of %" PRIu64 " (at byte %" PRIu64 "): %s", r->name,
           r->records_read + 1, r->header.count, r->offset, problem);
    return -1;
}

/* Reads the record at r->offset into r->record after checking that its
 * length field is sane and that the file holds all of it. */
static int read_record_bytes(index_reader *r, uint64_t *size)
{
    if (r->file_size - r->offset < 4)
        return bad_record(r, "the file ends inside its length field");
    if (fread(r->record, 1, 4, r->file) != 4)
        return bad_record(r, "unexpected end of file or read error");
    uint32_t path_length = get_u32(r->record);
    if (path_length == 0 || path_length > INDEX_MAX_PATH)
        return bad_record(r, "path length %" PRIu32 " is outside 1..%d", path_length, INDEX_MAX_PATH);
    *size = record_size(path_length, r->header.dim);
    if (r->file_size - r->offset < *size)
        return bad_record(r, "the record needs %" PRIu64 " bytes, the file ends after %" PRIu64, *size,
                          r->file_size - r->offset);
    if (fread(r->record + 4, 1, (size_t)*size - 4, r->file) != *size - 4)
        return bad_record(r, "unexpected end of file or read error");
    return 0;
}

/* Checks the record in r->record and unpacks its path and vector. */
static int decode_record(index_reader *r, uint64_t size)
{
    uint32_t path_length = get_u32(r->record);
    const unsigned char *values = r->record + 4 + path_length;
    if (crc32_of(r->record, (size_t)size - 4) != get_u32(r->record + size - 4))
        return bad_record(r, "checksum mismatch");
    if (memchr(r->record + 4, '\0', path_length))
        return bad_record(r, "NUL byte in the path");
    memcpy(r->path, r->record + 4, path_length);
    r->path[path_length] = '\0';
    for (uint32_t i = 0; i < r->header.dim; i++) {
        uint32_t bits = get_u32(values + 4 * (size_t)i);
        memcpy(&r->vector[i], &bits, sizeof bits);
        if (!isfinite(r->vector[i]))
            return bad_record(r, "value %" PRIu32 " is not finite", i);
    }
    return 0;
}

int index_reader_next(index_reader *r, const char **path, const float **vector)
{
    if (r->records_read == r->header.count)
        return 0;
    uint64_t size = 0;
    if (read_record_bytes(r, &size) != 0 || decode_record(r, size) != 0)
        return -1;
    r->offset += size;
    r->records_read++;
    *path = r->path;
    *vector = r->vector;
    return 1;
}

uint64_t index_reader_trailing_bytes(const index_reader *r)
{
    return r->file_size - r->offset;
}

void index_reader_close(index_reader *r)
{
    if (r->file)
        fclose(r->file);
    free(r->record);
    free(r->path);
    free(r->vector);
    memset(r, 0, sizeof *r);
}

/* ---- writing ---- */

static int write_all(int fd, const unsigned char *bytes, size_t size, uint64_t offset)
{
    while (size > 0) {
        ssize_t wrote = pwrite(fd, bytes, size, (off_t)offset);
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote <= 0) {
            if (wrote == 0)
                errno = EIO;
            return -1;
        }
        bytes += wrote;
        size -= (size_t)wrote;
        offset += (uint64_t)wrote;
    }
    return 0;
}

/* Makes a rename in path's directory durable. Some file systems refuse to
 * fsync a directory; the rename itself has happened anyway. */
static void sync_parent_directory(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    int fd = dir ? open(dir, O_RDONLY) : -1;
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Writes an empty index to a temporary file beside path and renames it into
 * place, so that path never holds a partial header. */
static int create_index(const char *path, const index_header *fresh)
{
    size_t size = strlen(path) + 32;
    char *temp = malloc(size);
    if (!temp) {
        report("out of memory");
        return -1;
    }
    snprintf(temp, size, "%s.%ld.tmp", path, (long)getpid());
    unsigned char bytes[INDEX_HEADER_SIZE];
    encode_header(fresh, bytes);
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    int ok = fd >= 0 && write_all(fd, bytes, sizeof bytes, 0) == 0 && fsync(fd) == 0;
    int saved_errno = errno;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (ok && rename(temp, path) != 0) {
        ok = 0;
        saved_errno = errno;
    }
    if (!ok) {
        report("%s: cannot create the index: %s", path, strerror(saved_errno));
        unlink(temp);
    } else {
        sync_parent_directory(path);
    }
    free(temp);
    return ok ? 0 : -1;
}

int index_writer_open(index_writer *w, const char *path, const index_header *fresh)
{
    memset(w, 0, sizeof *w);
    w->name = path;
    w->fd = open(path, O_RDWR);
    if (w->fd < 0 && errno == ENOENT) {
        if (create_index(path, fresh) != 0)
            return -1;
        w->fd = open(path, O_RDWR);
    }
    if (w->fd < 0) {
        report("%s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(w->fd, LOCK_EX | LOCK_NB) != 0) {
        report("%s: %s", path,
               errno == EWOULDBLOCK ? "another clip-search is writing this index" : strerror(errno));
        index_writer_close(w);
        return -1;
    }
    struct stat st;
    if (fstat(w->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
        unsigned char bytes[INDEX_HEADER_SIZE];
        encode_header(fresh, bytes);
        if (write_all(w->fd, bytes, sizeof bytes, 0) != 0 || fsync(w->fd) != 0) {
            report("%s: cannot write the index header: %s", path, strerror(errno));
            index_writer_close(w);
            return -1;
        }
    }
    return 0;
}

int index_writer_resume(index_writer *w, const index_header *committed, uint64_t committed_end, uint64_t *dropped)
{
    struct stat st;
    if (fstat(w->fd, &st) != 0) {
        report("%s: %s", w->name, strerror(errno));
        return -1;
    }
    w->header = *committed;
    w->end = committed_end;
    *dropped = (uint64_t)st.st_size > committed_end ? (uint64_t)st.st_size - committed_end : 0;
    if (*dropped && (ftruncate(w->fd, (off_t)committed_end) != 0 || fsync(w->fd) != 0)) {
        report("%s: cannot drop the unfinished batch at its end: %s", w->name, strerror(errno));
        return -1;
    }
    return 0;
}

int index_writer_add(index_writer *w, const char *path, const float *vector)
{
    size_t path_length = strlen(path);
    if (path_length == 0 || path_length > INDEX_MAX_PATH) {
        report("%s: path longer than %d bytes", path, INDEX_MAX_PATH);
        return -1;
    }
    size_t size = (size_t)record_size((uint32_t)path_length, w->header.dim);
    if (w->pending_size + size > w->pending_capacity) {
        size_t capacity = 2 * (w->pending_size + size);
        unsigned char *grown = realloc(w->pending, capacity);
        if (!grown) {
            report("out of memory");
            return -1;
        }
        w->pending = grown;
        w->pending_capacity = capacity;
    }
    unsigned char *record = w->pending + w->pending_size;
    put_u32(record, (uint32_t)path_length);
    memcpy(record + 4, path, path_length);
    for (uint32_t i = 0; i < w->header.dim; i++) {
        uint32_t bits;
        memcpy(&bits, &vector[i], sizeof bits);
        put_u32(record + 4 + path_length + 4 * (size_t)i, bits);
    }
    put_u32(record + size - 4, crc32_of(record, size - 4));
    w->pending_size += size;
    w->pending_count++;
    return 0;
}

int index_writer_commit(index_writer *w)
{
    if (w->pending_count == 0)
        return 0;
    if (write_all(w->fd, w->pending, w->pending_size, w->end) != 0 || fsync(w->fd) != 0) {
        report("%s: cannot append to the index: %s", w->name, strerror(errno));
        return -1;
    }
    /* Only now that the records are on disk may the count include them. */
    index_header next = w->header;
    next.count += w->pending_count;
    unsigned char bytes[INDEX_HEADER_SIZE];
    encode_header(&next, bytes);
    if (write_all(w->fd, bytes, sizeof bytes, 0) != 0 || fsync(w->fd) != 0) {
        report("%s: cannot update the index header: %s", w->name, strerror(errno));
        return -1;
    }
    w->header = next;
    w->end += w->pending_size;
    w->pending_size = 0;
    w->pending_count = 0;
    return 0;
}

void index_writer_close(index_writer *w)
{
    if (w->fd >= 0)
        close(w->fd); /* releases the flock */
    free(w->pending);
    memset(w, 0, sizeof *w);
    w->fd = -1;
}

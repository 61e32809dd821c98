/* The clip-search index file (format version 1; specified in docs/tools.md).
 *
 *   header  64 bytes: "LCLIPIDX", version, dim, image size, model
 *           fingerprint, record count (all integers little-endian)
 *   record  u32 path length, path bytes, dim float32 values, CRC-32 of
 *           everything before it in the record
 *
 * Records are only ever appended. The header's count says how many of them
 * are committed: a writer appends a batch, fsyncs, then rewrites the count
 * and fsyncs again, so bytes after the last counted record are an
 * interrupted batch that the next writer drops.
 *
 * Every function that returns int returns 0 on success and -1 after
 * reporting what went wrong on stderr. */
#ifndef CLIP_SEARCH_INDEX_FORMAT_H
#define CLIP_SEARCH_INDEX_FORMAT_H

#include <stdint.h>
#include <stdio.h>

enum {
    INDEX_VERSION = 1,
    INDEX_HEADER_SIZE = 64,
    INDEX_MAX_DIM = 65536,    /* far above any CLIP model (ViT-bigG: 1280) */
    INDEX_MAX_PATH = 4096     /* bytes of one record's path (Linux's PATH_MAX) */
};

typedef struct index_header {
    uint32_t version;
    uint32_t dim;          /* floats per embedding */
    uint32_t image_size;   /* the model's input resolution, for information */
    uint64_t fingerprint;  /* model_fingerprint() of the model that wrote it; 0 = unknown */
    uint64_t count;        /* committed records */
} index_header;

/* Streams the committed records of an index, validating each. */
typedef struct index_reader {
    FILE *file;
    const char *name;       /* the index's path, for messages */
    index_header header;
    uint64_t file_size;
    uint64_t offset;        /* where the next record starts */
    uint64_t records_read;
    unsigned char *record;  /* room for the longest record this dim allows */
    char *path;             /* the current record's path, NUL-terminated */
    float *vector;          /* the current record's embedding */
} index_reader;

/* Opens the index at path and validates its header: magic, version, dim and
 * a record count that the file's size can hold. */
int index_reader_open(index_reader *reader, const char *path);

/* The next record: 1 with *path and *vector pointing into the reader (valid
 * until the next call), 0 after the last committed record, -1 on a corrupt
 * or truncated record. */
int index_reader_next(index_reader *reader, const char **path, const float **vector);

/* Bytes after the last committed record (an interrupted batch); meaningful
 * once index_reader_next() has returned 0. */
uint64_t index_reader_trailing_bytes(const index_reader *reader);

void index_reader_close(index_reader *reader);

/* Appends records in committed batches. */
typedef struct index_writer {
    int fd;
    const char *name;
    index_header header;      /* as committed on disk */
    uint64_t end;             /* where the next batch goes */
    unsigned char *pending;   /* encoded records of the batch being built */
    size_t pending_size, pending_capacity;
    uint64_t pending_count;
} index_writer;

/* Opens path for appending and locks it against other writers. A missing or
 * empty file first becomes an empty index with header *fresh (count 0),
 * written to a temporary file that is fsynced and renamed into place. */
int index_writer_open(index_writer *writer, const char *path, const index_header *fresh);

/* Continues the committed index the caller has read and validated: header
 * and the offset after its last record. Bytes beyond that offset (an
 * interrupted batch) are cut off; *dropped says how many. */
int index_writer_resume(index_writer *writer, const index_header *committed, uint64_t committed_end,
                        uint64_t *dropped);

/* Adds one record to the batch being built (nothing is written yet). */
int index_writer_add(index_writer *writer, const char *path, const float *vector);

/* Appends the batch, fsyncs, then rewrites the header's count and fsyncs. */
int index_writer_commit(index_writer *writer);

/* Closes the file (dropping any uncommitted batch) and releases the lock. */
void index_writer_close(index_writer *writer);

#endif

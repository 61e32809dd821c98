/* The safetensors container: an 8-byte little-endian header length, a JSON
 * header mapping tensor names to {dtype, shape, data_offsets}, then the data.
 * Every byte is untrusted: the parser checks sizes against the buffer and
 * limits, rejects unknown dtypes, and proves each tensor's byte span equals
 * shape x dtype size and lies inside the data section. */
#ifndef LCLIP_LOAD_SAFETENSORS_H
#define LCLIP_LOAD_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "libclip.h"
#include "common/file.h"

#define LCLIP_MAX_DIMS 8

typedef enum lclip_dtype {
    LCLIP_DTYPE_F32,
    LCLIP_DTYPE_F16,
    LCLIP_DTYPE_BF16,
    LCLIP_DTYPE_F64,
    LCLIP_DTYPE_I64,
    LCLIP_DTYPE_I32,
    LCLIP_DTYPE_I16,
    LCLIP_DTYPE_I8,
    LCLIP_DTYPE_U64,
    LCLIP_DTYPE_U32,
    LCLIP_DTYPE_U16,
    LCLIP_DTYPE_U8,
    LCLIP_DTYPE_BOOL,
    LCLIP_DTYPE_F8_E4M3,
    LCLIP_DTYPE_F8_E5M2
} lclip_dtype;

typedef struct lclip_tensor_info {
    const char *name;
    lclip_dtype dtype;
    int ndim;
    int64_t shape[LCLIP_MAX_DIMS];
    uint64_t n_elements;
    const unsigned char *data; /* inside the container's buffer; no alignment promised */
    uint64_t n_bytes;
} lclip_tensor_info;

typedef struct lclip_safetensors {
    lclip_mapped_file file; /* empty when parsed from a caller's buffer, or sharded */
    char *label;            /* file path, for messages */
    lclip_tensor_info *tensors; /* sorted by name */
    size_t count;
    char *names; /* storage of all tensor names (NULL when sharded) */
    /* A sharded checkpoint (load/sharded.h): the shards whose tensors and
     * names the table above points into. */
    struct lclip_safetensors **shards;
    size_t n_shards;
} lclip_safetensors;

typedef struct lclip_safetensors_limits {
    uint64_t max_header_bytes;
    uint64_t max_tensor_count;
} lclip_safetensors_limits;

/* Maps and parses a file. */
lclip_status lclip_safetensors_open(const char *path, const lclip_safetensors_limits *limits,
                                    lclip_safetensors **out);

/* Parses a buffer that the caller keeps alive and unchanged for the lifetime
 * of the result; label names it in messages. */
lclip_status lclip_safetensors_parse(const unsigned char *data, size_t size, const char *label,
                                     const lclip_safetensors_limits *limits,
                                     lclip_safetensors **out);

void lclip_safetensors_close(lclip_safetensors *st);

/* lclip_mapped_release for the file (of st or of one of its shards) whose
 * mapping holds [addr, addr + len); nothing where none does. */
void lclip_safetensors_release(const lclip_safetensors *st, const void *addr, size_t len);

/* NULL when absent. */
const lclip_tensor_info *lclip_safetensors_find(const lclip_safetensors *st, const char *name);

const char *lclip_dtype_name(lclip_dtype dtype);
size_t lclip_dtype_size(lclip_dtype dtype);

#endif

/* Typed, range-checked reads of configuration JSON (cJSON underneath). An
 * absent key keeps the caller's default; a present key of the wrong type or
 * out of range is LCLIP_E_FORMAT naming the file and the key. */
#ifndef LCLIP_LOAD_JSON_H
#define LCLIP_LOAD_JSON_H

#include <cjson/cJSON.h>

#include "libclip.h"

/* cJSON_ParseWithLengthOpts (require_null_terminated off), serialised: cJSON
 * records its last parse error in a process-wide variable, which concurrent
 * opens would otherwise race on. */
cJSON *lclip_json_parse(const char *text, size_t len, const char **end);

/* Reads and parses path (at most 16 MiB), which must hold a JSON object. */
lclip_status lclip_json_load_object(const char *path, cJSON **out);

lclip_status lclip_json_int(const cJSON *obj, const char *key, const char *label, int lo, int hi,
                            int *value);
lclip_status lclip_json_float(const cJSON *obj, const char *key, const char *label, double lo,
                              double hi, float *value);
lclip_status lclip_json_bool(const cJSON *obj, const char *key, const char *label, int *value);
/* A JSON array of exactly three numbers. */
lclip_status lclip_json_float3(const cJSON *obj, const char *key, const char *label, float value[3]);
/* The string value of key, or NULL when absent or not a string. */
const char *lclip_json_string(const cJSON *obj, const char *key);
/* The object value of key, or NULL when absent or not an object. */
const cJSON *lclip_json_object(const cJSON *obj, const char *key);

#endif

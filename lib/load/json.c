#include "load/json.h"

#include <math.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/file.h"

#define MAX_CONFIG_BYTES (16u * 1024u * 1024u)

#if !defined(_WIN32)
#include <pthread.h>
/* Guards cJSON's process-wide error slot; it is libclip's only lock shared
 * between handles, and holds no data of its own. */
static pthread_mutex_t parse_lock = PTHREAD_MUTEX_INITIALIZER;
#define PARSE_LOCK() pthread_mutex_lock(&parse_lock)
#define PARSE_UNLOCK() pthread_mutex_unlock(&parse_lock)
#else
#define PARSE_LOCK() ((void)0)
#define PARSE_UNLOCK() ((void)0)
#endif

cJSON *lclip_json_parse(const char *text, size_t len, const char **end)
{
    const char *stop = NULL;
    PARSE_LOCK();
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &stop, 0);
    PARSE_UNLOCK();
    if (end)
        *end = stop;
    return root;
}

lclip_status lclip_json_load_object(const char *path, cJSON **out)
{
    *out = NULL;
    char *text;
    size_t len;
    lclip_status s = lclip_read_file(path, MAX_CONFIG_BYTES, &text, &len);
    if (s != LCLIP_OK)
        return s;
    cJSON *root = lclip_json_parse(text, len, NULL);
    lclip_free(text);
    if (!root)
        return lclip_fail(LCLIP_E_FORMAT, "%s: not valid JSON", path);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return lclip_fail(LCLIP_E_FORMAT, "%s: JSON but not an object", path);
    }
    *out = root;
    return LCLIP_OK;
}

lclip_status lclip_json_int(const cJSON *obj, const char *key, const char *label, int lo, int hi,
                            int *value)
{
    const cJSON *item = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (!item || cJSON_IsNull(item))
        return LCLIP_OK;
    double d = cJSON_IsNumber(item) ? item->valuedouble : NAN;
    if (!(d >= lo && d <= hi) || floor(d) != d)
        return lclip_fail(LCLIP_E_FORMAT, "%s: \"%s\" must be an integer in [%d, %d]", label, key, lo, hi);
    *value = (int)d;
    return LCLIP_OK;
}

lclip_status lclip_json_float(const cJSON *obj, const char *key, const char *label, double lo,
                              double hi, float *value)
{
    const cJSON *item = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (!item || cJSON_IsNull(item))
        return LCLIP_OK;
    double d = cJSON_IsNumber(item) ? item->valuedouble : NAN;
    if (!(d >= lo && d <= hi))
        return lclip_fail(LCLIP_E_FORMAT, "%s: \"%s\" must be a number in [%g, %g]", label, key, lo, hi);
    *value = (float)d;
    return LCLIP_OK;
}

lclip_status lclip_json_bool(const cJSON *obj, const char *key, const char *label, int *value)
{
    const cJSON *item = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (!item || cJSON_IsNull(item))
        return LCLIP_OK;
    if (!cJSON_IsBool(item))
        return lclip_fail(LCLIP_E_FORMAT, "%s: \"%s\" must be true or false", label, key);
    *value = cJSON_IsTrue(item);
    return LCLIP_OK;
}

lclip_status lclip_json_float3(const cJSON *obj, const char *key, const char *label, float value[3])
{
    const cJSON *item = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (!item || cJSON_IsNull(item))
        return LCLIP_OK;
    float parsed[3];
    int ok = cJSON_IsArray(item) && cJSON_GetArraySize(item) == 3;
    for (int i = 0; ok && i < 3; i++) {
        const cJSON *v = cJSON_GetArrayItem(item, i);
        ok = cJSON_IsNumber(v) && isfinite(v->valuedouble) && fabs(v->valuedouble) < 1e6;
        if (ok)
            parsed[i] = (float)v->valuedouble;
    }
    if (!ok)
        return lclip_fail(LCLIP_E_FORMAT, "%s: \"%s\" must be an array of three numbers", label, key);
    memcpy(value, parsed, sizeof parsed);
    return LCLIP_OK;
}

const char *lclip_json_string(const cJSON *obj, const char *key)
{
    const cJSON *item = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

const cJSON *lclip_json_object(const cJSON *obj, const char *key)
{
    const cJSON *item = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsObject(item) ? item : NULL;
}

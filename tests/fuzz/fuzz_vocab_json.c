/* vocab.json's reader on arbitrary bytes, against cJSON on the same bytes:
 * whatever it accepts, cJSON must read as the same object (members, order,
 * unescaped keys, integer ids). It may refuse more than cJSON (fractions,
 * U+0000, control characters), never less. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/alloc.h"
#include "fuzz_support.h"
#include "text/vocab_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    lclip_vocab_json_entry *entries = NULL;
    size_t count = 0;
    lclip_status s = lclip_vocab_json_parse("vocab.json", text, size, &entries, &count);
    fuzz_check_status(s);
    if (s == LCLIP_OK) {
        cJSON *json = cJSON_ParseWithLength((const char *)data, size);
        FUZZ_REQUIRE(cJSON_IsObject(json));
        size_t i = 0;
        for (const cJSON *e = json->child; e; e = e->next, i++) {
            FUZZ_REQUIRE(i < count);
            FUZZ_REQUIRE(cJSON_IsNumber(e) && e->valuedouble == (double)entries[i].id);
            FUZZ_REQUIRE(strlen(e->string) == entries[i].len && strcmp(e->string, entries[i].token) == 0);
        }
        FUZZ_REQUIRE(i == count);
        cJSON_Delete(json);
    } else {
        FUZZ_REQUIRE(!entries && count == 0);
    }
    lclip_free(entries);
    free(text);
    return 0;
}

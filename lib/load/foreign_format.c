#include "load/foreign_format.h"

#include <string.h>

#include "common/error.h"

lclip_status lclip_fail_pytorch_checkpoint(const char *path)
{
    return lclip_fail(LCLIP_E_UNSUPPORTED,
                      "%s: a PyTorch checkpoint (pickle), which libclip does not read; convert it to safetensors "
                      "with: python3 -c \"import torch, safetensors.torch as st; sd = torch.load('%s', "
                      "map_location='cpu'); sd = sd.get('state_dict', sd); st.save_file({k: v.contiguous().clone() "
                      "for k, v in sd.items()}, 'model.safetensors')\"",
                      path, path);
}

/* torch.save writes a zip archive (since PyTorch 1.6) or, before that, a
 * bare pickle: protocol 2 to 5 starts with the PROTO opcode 0x80. */
static int is_pytorch(const unsigned char *d, size_t size)
{
    if (size >= 4 && memcmp(d, "PK\x03\x04", 4) == 0)
        return 1;
    return size >= 2 && d[0] == 0x80 && d[1] >= 2 && d[1] <= 5;
}

/* An ONNX ModelProto as exporters write it: field 1 (ir_version, a small
 * varint) first, then another ModelProto field's tag: producer_name (0x12),
 * producer_version, domain, model_version, doc_string, graph (0x3a),
 * opset_import (0x42). */
static int is_onnx(const unsigned char *d, size_t size)
{
    static const unsigned char next_tags[] = {0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42};
    if (size < 3 || d[0] != 0x08 || d[1] < 3 || d[1] > 30)
        return 0;
    return memchr(next_tags, d[2], sizeof next_tags) != NULL;
}

/* Printable ASCII and whitespace throughout the first bytes. A safetensors
 * file cannot start so: its first 8 bytes would give a header length above
 * 2^61. */
static int is_text(const unsigned char *d, size_t size)
{
    size_t n = size < 64 ? size : 64;
    for (size_t i = 0; i < n; i++)
        if ((d[i] < 0x20 && d[i] != '\t' && d[i] != '\n' && d[i] != '\r') || d[i] >= 0x7f)
            return 0;
    return n > 0;
}

static int starts_like_json(const unsigned char *d, size_t size)
{
    size_t i = 0;
    while (i < size && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r'))
        i++;
    return i < size && (d[i] == '{' || d[i] == '[');
}

lclip_status lclip_name_foreign_format(const unsigned char *data, size_t size, const char *label)
{
    if (is_pytorch(data, size))
        return lclip_fail_pytorch_checkpoint(label);
    if (size >= 4 && memcmp(data, "GGUF", 4) == 0)
        return lclip_fail(LCLIP_E_UNSUPPORTED,
                          "%s: a GGUF file (llama.cpp / clip.cpp format), which libclip does not read; libclip "
                          "reads safetensors (the Hugging Face or open_clip release of the model)",
                          label);
    if (is_onnx(data, size))
        return lclip_fail(LCLIP_E_UNSUPPORTED,
                          "%s: an ONNX model (protobuf), which libclip does not read; libclip reads safetensors "
                          "(the Hugging Face or open_clip release of the model)",
                          label);
    if (is_text(data, size))
        return lclip_fail(LCLIP_E_FORMAT, "%s: not a safetensors file: it starts with text%s", label,
                          starts_like_json(data, size) ? " (JSON)" : "");
    return LCLIP_OK;
}

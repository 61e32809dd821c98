/* The one EXIF field libclip reads: IFD0's Orientation (tag 0x0112). Every
 * offset comes from the file, so every read is bounds-checked against the
 * payload first. */
#include "image/decode.h"

enum { TAG_ORIENTATION = 0x0112, TYPE_SHORT = 3, TYPE_LONG = 4, ENTRY_SIZE = 12 };

typedef struct tiff_reader {
    const uint8_t *data;
    size_t size;
    int big_endian;
} tiff_reader;

/* 0 when [offset, offset + n) is not inside the payload. */
static int in_bounds(const tiff_reader *r, size_t offset, size_t n)
{
    return offset <= r->size && n <= r->size - offset;
}

static uint32_t read_u16(const tiff_reader *r, size_t offset)
{
    const uint8_t *p = r->data + offset;
    return r->big_endian ? (uint32_t)p[0] << 8 | p[1] : (uint32_t)p[1] << 8 | p[0];
}

static uint32_t read_u32(const tiff_reader *r, size_t offset)
{
    return r->big_endian ? read_u16(r, offset) << 16 | read_u16(r, offset + 2)
                         : read_u16(r, offset + 2) << 16 | read_u16(r, offset);
}

/* The value of an IFD entry holding one SHORT or LONG, inline. */
static int entry_value(const tiff_reader *r, size_t entry, uint32_t *value)
{
    uint32_t type = read_u16(r, entry + 2), count = read_u32(r, entry + 4);
    if (count < 1)
        return 0;
    if (type == TYPE_SHORT)
        *value = read_u16(r, entry + 8);
    else if (type == TYPE_LONG)
        *value = read_u32(r, entry + 8);
    else
        return 0;
    return 1;
}

int lclip_exif_orientation(const uint8_t *tiff, size_t size)
{
    tiff_reader r = {tiff, size, 0};
    if (!in_bounds(&r, 0, 8))
        return 0;
    if (tiff[0] == 'M' && tiff[1] == 'M')
        r.big_endian = 1;
    else if (tiff[0] != 'I' || tiff[1] != 'I')
        return 0;
    if (read_u16(&r, 2) != 42)
        return 0;
    size_t ifd = read_u32(&r, 4);
    if (!in_bounds(&r, ifd, 2))
        return 0;
    uint32_t entries = read_u16(&r, ifd);
    for (uint32_t i = 0; i < entries; i++) {
        size_t entry = ifd + 2 + (size_t)i * ENTRY_SIZE;
        if (!in_bounds(&r, entry, ENTRY_SIZE))
            return 0;
        if (read_u16(&r, entry) != TAG_ORIENTATION)
            continue;
        uint32_t value;
        if (!entry_value(&r, entry, &value) || value < 1 || value > 8)
            return 0;
        return (int)value;
    }
    return 0;
}

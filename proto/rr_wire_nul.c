// Finding NUL bytes inside string fields, from the encoded body: the one
// thing protobuf-c's unpacked strings cannot tell (see rr_wire.h). Walks the
// protobuf wire format (varint keys, four wire types) guided by the
// message's descriptor; anything it does not understand ends the walk,
// since the body has already unpacked cleanly.
#include "rr_wire.h"

#include <stdint.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_64BIT = 1, WIRE_LEN = 2, WIRE_32BIT = 5, MAX_VARINT_BYTES = 10 };

static bool
varint(const uint8_t *p, size_t size, size_t *i, uint64_t *value)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < MAX_VARINT_BYTES && *i < size; k++) {
        uint8_t b = p[(*i)++];
        v |= (uint64_t) (b & 0x7F) << (7 * k);
        if ((b & 0x80) == 0) {
            *value = v;
            return true;
        }
    }
    return false;
}

static bool
skip(size_t *i, size_t size, uint64_t n)
{
    if (n > size - *i) {
        return false;
    }
    *i += (size_t) n;
    return true;
}

const char *
rr_wire_nul_field(const ProtobufCMessageDescriptor *d, const void *data, size_t size)
{
    const uint8_t *p = data;
    size_t i = 0;
    while (i < size) {
        uint64_t key = 0;
        uint64_t n = 0;
        if (!varint(p, size, &i, &key)) {
            return NULL;
        }
        switch (key & 7) {
        case WIRE_VARINT:
            if (!varint(p, size, &i, &n)) {
                return NULL;
            }
            break;
        case WIRE_64BIT:
            if (!skip(&i, size, 8)) {
                return NULL;
            }
            break;
        case WIRE_32BIT:
            if (!skip(&i, size, 4)) {
                return NULL;
            }
            break;
        case WIRE_LEN: {
            if (!varint(p, size, &i, &n) || n > size - i || key >> 3 > UINT32_MAX) {
                return NULL;
            }
            const ProtobufCFieldDescriptor *f =
                protobuf_c_message_descriptor_get_field(d, (unsigned) (key >> 3));
            if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING && memchr(p + i, 0, n) != NULL) {
                return f->name;
            }
            if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                const char *inner = rr_wire_nul_field(f->descriptor, p + i, (size_t) n);
                if (inner != NULL) {
                    return inner;
                }
            }
            i += (size_t) n;
            break;
        }
        default:
            return NULL; // groups: not in our messages, and unpack refused them
        }
    }
    return NULL;
}

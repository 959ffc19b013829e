/* hex: lower-case hex encoding of ids and keys. */
#ifndef EMBASSY_HEX_H
#define EMBASSY_HEX_H
#include <stddef.h>
#include <stdint.h>

/* Write 2*len hex chars and a NUL into out (size >= 2*len+1). */
void hex_encode(const uint8_t *in, size_t len, char *out);
/* Decode exactly 2*len hex chars; returns 0 or -EINVAL (wrong length/char). */
int hex_decode(const char *in, uint8_t *out, size_t len);

#endif

#!/usr/bin/env python3
"""frec_ref.py - an independent implementation of the format 2 framed data record
(docs/FORMAT.md 3.4), written from the document with Python's hashlib and the
`cryptography` package (ChaCha20-Poly1305 IETF, plus HChaCha20 by hand for XChaCha20).
It prints the known answers that tests/unit/test_frec.c and FORMAT.md pin:

    python3 tests/tools/frec_ref.py            # the known-answer vectors
    python3 tests/tools/frec_ref.py RECORD_FILE PLEN ID_HEX   # open a record (master 00..1f)

Frames are sealed raw here (zstd is not needed for the vectors; the opener rejects a
compressed frame it cannot inflate). Not used by the build; run it by hand to re-derive."""
import hashlib, struct, sys
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

FRAME = 65536

def rotl(v, c): return ((v << c) & 0xffffffff) | (v >> (32 - c))

def hchacha20(key, n16):
    s = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]
    s += list(struct.unpack('<8I', key)) + list(struct.unpack('<4I', n16))
    def qr(a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 7)
    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack('<8I', *(s[0:4] + s[12:16]))

def xaead(key, nonce24):
    return ChaCha20Poly1305(hchacha20(key, nonce24[:16])), b'\0' * 4 + nonce24[16:]

def subkey(master, slot):  # crypto_kdf_derive_from_key, ctx "embassy1"
    return hashlib.blake2b(b'', digest_size=32, key=master, salt=struct.pack('<Q', slot) + b'\0' * 8,
                           person=b'embassy1' + b'\0' * 8).digest()

def frame_nonce(n, i):
    tail = struct.unpack('<Q', n[16:])[0] ^ (i + 1)
    return n[:16] + struct.pack('<Q', tail)

def frames(p): return [p[o:o + FRAME] for o in range(0, len(p), FRAME)]

def hashes_and_id(kid, p):
    hs = [hashlib.blake2b(b'\x12' + f, digest_size=32, key=kid).digest() for f in frames(p)]
    rid = hashlib.blake2b(b'\x11' + struct.pack('<Q', len(p)) + b''.join(hs), digest_size=32, key=kid).digest()
    return hs, rid

def seal_raw(master, sid, p, nonce):
    kid, kdata = subkey(master, 1), subkey(master, 2)
    hs, rid = hashes_and_id(kid, p)
    cts, tab = [], b''
    for i, f in enumerate(frames(p)):
        a, n12 = xaead(kdata, frame_nonce(nonce, i))
        c = a.encrypt(n12, f, b'EMBF2' + sid + b'\x01' + rid + struct.pack('<I', i))
        cts.append(c); tab += hs[i] + struct.pack('<I', len(c))
    a, n12 = xaead(kdata, nonce)
    hdr = a.encrypt(n12, tab, b'EMBH2' + sid + b'\x01' + rid)
    return hs, rid, nonce + hdr + b''.join(cts)

def open_record(master, sid, rid, plen, rec):
    kid, kdata = subkey(master, 1), subkey(master, 2)
    n = (plen + FRAME - 1) // FRAME
    a, n12 = xaead(kdata, rec[:24])
    tab = a.decrypt(n12, rec[24:24 + 36 * n + 16], b'EMBH2' + sid + b'\x01' + rid)
    ents = [(tab[36 * i:36 * i + 32], struct.unpack('<I', tab[36 * i + 32:36 * i + 36])[0]) for i in range(n)]
    if hashlib.blake2b(b'\x11' + struct.pack('<Q', plen) + b''.join(h for h, _ in ents),
                       digest_size=32, key=kid).digest() != rid:
        raise ValueError('frame hashes do not give the id')
    pos, out = 24 + 36 * n + 16, b''
    for i, (h, clen) in enumerate(ents):
        flen = min(FRAME, plen - i * FRAME)
        a, n12 = xaead(kdata, frame_nonce(rec[:24], i))
        body = a.decrypt(n12, rec[pos:pos + clen], b'EMBF2' + sid + b'\x01' + rid + struct.pack('<I', i))
        if len(body) != flen:
            raise ValueError('frame %d is compressed: not handled by this reference' % i)
        if hashlib.blake2b(b'\x12' + body, digest_size=32, key=kid).digest() != h:
            raise ValueError('frame %d does not hash to its entry' % i)
        out += body; pos += clen
    if pos != len(rec):
        raise ValueError('frame lengths do not add up')
    return out

MASTER, SID = bytes(range(32)), bytes(range(0xf0, 0x100))

if __name__ == '__main__':
    if len(sys.argv) == 4:
        rec = open(sys.argv[1], 'rb').read()
        p = open_record(MASTER, SID, bytes.fromhex(sys.argv[3]), int(sys.argv[2]), rec)
        sys.stdout.buffer.write(p)
        sys.exit(0)
    p = bytes((i * 7 + 3) & 0xff for i in range(FRAME + 100))
    nonce = bytes(range(0x40, 0x58))
    hs, rid, rec = seal_raw(MASTER, SID, p, nonce)
    assert open_record(MASTER, SID, rid, len(p), rec) == p
    print('plaintext   P[i] = (7 i + 3) mod 256, i < %d (2 frames)' % len(p))
    print('h_0         %s' % hs[0].hex())
    print('h_1         %s' % hs[1].hex())
    print('id          %s' % rid.hex())
    print('nonce       %s' % nonce.hex())
    print('record len  %d' % len(rec))
    print('header      %s' % rec[24:24 + 36 * 2 + 16].hex())
    print('c_1         %s' % rec[-116:].hex())
    print('BLAKE2b-256(record) %s' % hashlib.blake2b(rec, digest_size=32).digest().hex())

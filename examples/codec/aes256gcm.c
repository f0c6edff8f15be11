/*
 * aes256gcm: AES-256 (FIPS 197) and GCM (SP 800-38D). See aes256gcm.h.
 */
#include "aes256gcm.h"

#include <string.h>

static const uint8_t SBOX[256] = {
    0x63, 0x7c, 0x77, 0x7b, 0xf2, 0x6b, 0x6f, 0xc5, 0x30, 0x01, 0x67, 0x2b,
    0xfe, 0xd7, 0xab, 0x76, 0xca, 0x82, 0xc9, 0x7d, 0xfa, 0x59, 0x47, 0xf0,
    0xad, 0xd4, 0xa2, 0xaf, 0x9c, 0xa4, 0x72, 0xc0, 0xb7, 0xfd, 0x93, 0x26,
    0x36, 0x3f, 0xf7, 0xcc, 0x34, 0xa5, 0xe5, 0xf1, 0x71, 0xd8, 0x31, 0x15,
    0x04, 0xc7, 0x23, 0xc3, 0x18, 0x96, 0x05, 0x9a, 0x07, 0x12, 0x80, 0xe2,
    0xeb, 0x27, 0xb2, 0x75, 0x09, 0x83, 0x2c, 0x1a, 0x1b, 0x6e, 0x5a, 0xa0,
    0x52, 0x3b, 0xd6, 0xb3, 0x29, 0xe3, 0x2f, 0x84, 0x53, 0xd1, 0x00, 0xed,
    0x20, 0xfc, 0xb1, 0x5b, 0x6a, 0xcb, 0xbe, 0x39, 0x4a, 0x4c, 0x58, 0xcf,
    0xd0, 0xef, 0xaa, 0xfb, 0x43, 0x4d, 0x33, 0x85, 0x45, 0xf9, 0x02, 0x7f,
    0x50, 0x3c, 0x9f, 0xa8, 0x51, 0xa3, 0x40, 0x8f, 0x92, 0x9d, 0x38, 0xf5,
    0xbc, 0xb6, 0xda, 0x21, 0x10, 0xff, 0xf3, 0xd2, 0xcd, 0x0c, 0x13, 0xec,
    0x5f, 0x97, 0x44, 0x17, 0xc4, 0xa7, 0x7e, 0x3d, 0x64, 0x5d, 0x19, 0x73,
    0x60, 0x81, 0x4f, 0xdc, 0x22, 0x2a, 0x90, 0x88, 0x46, 0xee, 0xb8, 0x14,
    0xde, 0x5e, 0x0b, 0xdb, 0xe0, 0x32, 0x3a, 0x0a, 0x49, 0x06, 0x24, 0x5c,
    0xc2, 0xd3, 0xac, 0x62, 0x91, 0x95, 0xe4, 0x79, 0xe7, 0xc8, 0x37, 0x6d,
    0x8d, 0xd5, 0x4e, 0xa9, 0x6c, 0x56, 0xf4, 0xea, 0x65, 0x7a, 0xae, 0x08,
    0xba, 0x78, 0x25, 0x2e, 0x1c, 0xa6, 0xb4, 0xc6, 0xe8, 0xdd, 0x74, 0x1f,
    0x4b, 0xbd, 0x8b, 0x8a, 0x70, 0x3e, 0xb5, 0x66, 0x48, 0x03, 0xf6, 0x0e,
    0x61, 0x35, 0x57, 0xb9, 0x86, 0xc1, 0x1d, 0x9e, 0xe1, 0xf8, 0x98, 0x11,
    0x69, 0xd9, 0x8e, 0x94, 0x9b, 0x1e, 0x87, 0xe9, 0xce, 0x55, 0x28, 0xdf,
    0x8c, 0xa1, 0x89, 0x0d, 0xbf, 0xe6, 0x42, 0x68, 0x41, 0x99, 0x2d, 0x0f,
    0xb0, 0x54, 0xbb, 0x16,
};

static uint8_t xtime(uint8_t x) { return (uint8_t)((x << 1) ^ ((x >> 7) * 0x1b)); }

static void encrypt_block(const gcm_key *k, const uint8_t *in, uint8_t *out);

void gcm_init(gcm_key *k, const uint8_t key[32])
{
    uint8_t *w = k->rk, rcon = 1;
    memcpy(w, key, 32);
    for (int i = 8; i < 60; i++) {
        uint8_t t[4];
        memcpy(t, w + 4 * (i - 1), 4);
        if (i % 8 == 0) {
            uint8_t t0 = t[0];
            t[0] = (uint8_t)(SBOX[t[1]] ^ rcon);
            t[1] = SBOX[t[2]];
            t[2] = SBOX[t[3]];
            t[3] = SBOX[t0];
            rcon = xtime(rcon);
        } else if (i % 8 == 4) {
            for (int j = 0; j < 4; j++)
                t[j] = SBOX[t[j]];
        }
        for (int j = 0; j < 4; j++)
            w[4 * i + j] = w[4 * (i - 8) + j] ^ t[j];
    }
    static const uint8_t zero[16];
    encrypt_block(k, zero, k->h);
}

/* One block: |in| and |out| may be the same. */
static void encrypt_block(const gcm_key *k, const uint8_t *in, uint8_t *out)
{
    uint8_t s[16], t[16];
    for (int i = 0; i < 16; i++)
        s[i] = in[i] ^ k->rk[i];
    for (int round = 1; round <= 14; round++) {
        for (int i = 0; i < 16; i++) /* SubBytes and ShiftRows (row r moves left by r) */
            t[i] = SBOX[s[(i + 4 * (i % 4)) % 16]];
        if (round < 14) {
            for (int c = 0; c < 4; c++) { /* MixColumns */
                uint8_t *a = t + 4 * c, a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
                uint8_t all = a0 ^ a1 ^ a2 ^ a3;
                a[0] ^= all ^ xtime(a0 ^ a1);
                a[1] ^= all ^ xtime(a1 ^ a2);
                a[2] ^= all ^ xtime(a2 ^ a3);
                a[3] ^= all ^ xtime(a3 ^ a0);
            }
        }
        for (int i = 0; i < 16; i++)
            s[i] = t[i] ^ k->rk[16 * round + i];
    }
    memcpy(out, s, 16);
}

/* x = x * h in GF(2^128), GCM's bit order (SP 800-38D, algorithm 1). */
static void gf_mul(uint8_t x[16], const uint8_t h[16])
{
    uint8_t z[16] = {0}, v[16];
    memcpy(v, h, 16);
    for (int i = 0; i < 128; i++) {
        uint8_t bit = (uint8_t)((x[i / 8] >> (7 - i % 8)) & 1), mask = (uint8_t)-bit;
        for (int j = 0; j < 16; j++)
            z[j] ^= v[j] & mask;
        uint8_t lsb = (uint8_t)-(v[15] & 1);
        for (int j = 15; j > 0; j--)
            v[j] = (uint8_t)((v[j] >> 1) | (v[j - 1] << 7));
        v[0] = (uint8_t)((v[0] >> 1) ^ (0xe1 & lsb));
    }
    memcpy(x, z, 16);
}

static void ghash(const gcm_key *k, const uint8_t *c, size_t len, uint8_t x[16])
{
    memset(x, 0, 16);
    for (size_t off = 0; off < len; off += 16) {
        size_t n = len - off < 16 ? len - off : 16;
        for (size_t j = 0; j < n; j++)
            x[j] ^= c[off + j];
        gf_mul(x, k->h);
    }
    uint64_t bits = (uint64_t)len * 8; /* no additional data: its length is 0 */
    for (int j = 0; j < 8; j++)
        x[15 - j] ^= (uint8_t)(bits >> (8 * j));
    gf_mul(x, k->h);
}

static void ctr(const gcm_key *k, const uint8_t nonce[GCM_NONCE], uint32_t counter,
                const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t block[16], stream[16];
    memcpy(block, nonce, GCM_NONCE);
    for (size_t off = 0; off < len; off += 16, counter++) {
        block[12] = (uint8_t)(counter >> 24);
        block[13] = (uint8_t)(counter >> 16);
        block[14] = (uint8_t)(counter >> 8);
        block[15] = (uint8_t)counter;
        encrypt_block(k, block, stream);
        size_t n = len - off < 16 ? len - off : 16;
        for (size_t j = 0; j < n; j++)
            out[off + j] = in[off + j] ^ stream[j];
    }
}

/* The tag of ciphertext |c|: E(K, J0) xor GHASH, J0 the nonce with counter 1. */
static void tag_of(const gcm_key *k, const uint8_t nonce[GCM_NONCE], const uint8_t *c,
                   size_t len, uint8_t tag[GCM_TAG])
{
    uint8_t x[16];
    ghash(k, c, len, x);
    ctr(k, nonce, 1, x, 16, tag);
}

void gcm_seal(const gcm_key *k, const uint8_t nonce[GCM_NONCE], const uint8_t *in, size_t len,
              uint8_t *out, uint8_t tag[GCM_TAG])
{
    ctr(k, nonce, 2, in, len, out);
    tag_of(k, nonce, out, len, tag);
}

int gcm_open(const gcm_key *k, const uint8_t nonce[GCM_NONCE], const uint8_t *in, size_t len,
             const uint8_t tag[GCM_TAG], uint8_t *out)
{
    uint8_t want[GCM_TAG], diff = 0;
    tag_of(k, nonce, in, len, want);
    for (int i = 0; i < GCM_TAG; i++)
        diff |= want[i] ^ tag[i];
    if (diff)
        return -1;
    ctr(k, nonce, 2, in, len, out);
    return 0;
}

/*
 * aes256gcm: AES-256 in Galois/Counter Mode (NIST SP 800-38D) with 96-bit nonces, small and
 * self-contained so that the example builds with nothing but a C compiler.
 *
 * It is the example's, not a vetted library: its table lookups are not constant-time (a
 * process sharing the CPU's caches could learn about the key). In production, seal payloads
 * with a vetted library (mbedTLS's mbedtls_gcm_*, OpenSSL's EVP_aes_256_gcm, libsodium), built
 * -fPIC and linked statically into the library with -Wl,--exclude-libs,ALL.
 *
 * Threading: a key schedule is read-only once made; any number of threads may use it.
 */
#ifndef AES256GCM_H
#define AES256GCM_H

#include <stddef.h>
#include <stdint.h>

#define GCM_NONCE 12
#define GCM_TAG 16

typedef struct gcm_key {
    uint8_t rk[240]; /* the 15 round keys */
    uint8_t h[16];   /* the hash subkey, E(K, 0) */
} gcm_key;

void gcm_init(gcm_key *k, const uint8_t key[32]);
/* Writes |len| bytes of ciphertext to |out| (may be |in|) and the tag to |tag|. */
void gcm_seal(const gcm_key *k, const uint8_t nonce[GCM_NONCE], const uint8_t *in, size_t len,
              uint8_t *out, uint8_t tag[GCM_TAG]);
/* Checks |tag| and writes the plaintext to |out|: 0, or -1 (nothing written) when the tag does
 * not match (a wrong key, or bytes changed). */
int gcm_open(const gcm_key *k, const uint8_t nonce[GCM_NONCE], const uint8_t *in, size_t len,
             const uint8_t tag[GCM_TAG], uint8_t *out);

#endif

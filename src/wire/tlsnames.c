/*
 * Names for TLS numbers, as the IANA registries spell them: cipher suites, named groups,
 * signature schemes, alerts, handshake types, versions. Rows, looked up by number;
 * an unknown number gives NULL and the caller prints it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "mqttls/attrib.h"
#include "mqttls/tlsdec.h"

struct tls_name {
	uint16_t id;
	const char *name;
};

/* Sorted by id: looked up with bsearch on every offered suite of every ClientHello. */
static const struct tls_name ciphers[] = {
	{ 0x0000, "TLS_NULL_WITH_NULL_NULL" },
	{ 0x0001, "TLS_RSA_WITH_NULL_MD5" },
	{ 0x0002, "TLS_RSA_WITH_NULL_SHA" },
	{ 0x0004, "TLS_RSA_WITH_RC4_128_MD5" },
	{ 0x0005, "TLS_RSA_WITH_RC4_128_SHA" },
	{ 0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0x002C, "TLS_PSK_WITH_NULL_SHA" },
	{ 0x002D, "TLS_DHE_PSK_WITH_NULL_SHA" },
	{ 0x002E, "TLS_RSA_PSK_WITH_NULL_SHA" },
	{ 0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA" },
	{ 0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA" },
	{ 0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA" },
	{ 0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA" },
	{ 0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA" },
	{ 0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA" },
	{ 0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA" },
	{ 0x003A, "TLS_DH_anon_WITH_AES_256_CBC_SHA" },
	{ 0x003B, "TLS_RSA_WITH_NULL_SHA256" },
	{ 0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256" },
	{ 0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256" },
	{ 0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256" },
	{ 0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA" },
	{ 0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA" },
	{ 0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA" },
	{ 0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA" },
	{ 0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256" },
	{ 0x006A, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256" },
	{ 0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256" },
	{ 0x006C, "TLS_DH_anon_WITH_AES_128_CBC_SHA256" },
	{ 0x006D, "TLS_DH_anon_WITH_AES_256_CBC_SHA256" },
	{ 0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA" },
	{ 0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA" },
	{ 0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA" },
	{ 0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA" },
	{ 0x008C, "TLS_PSK_WITH_AES_128_CBC_SHA" },
	{ 0x008D, "TLS_PSK_WITH_AES_256_CBC_SHA" },
	{ 0x0090, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA" },
	{ 0x0091, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA" },
	{ 0x0094, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA" },
	{ 0x0095, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA" },
	{ 0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0x00A2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256" },
	{ 0x00A3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384" },
	{ 0x00A6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256" },
	{ 0x00A7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384" },
	{ 0x00A8, "TLS_PSK_WITH_AES_128_GCM_SHA256" },
	{ 0x00A9, "TLS_PSK_WITH_AES_256_GCM_SHA384" },
	{ 0x00AA, "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256" },
	{ 0x00AB, "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384" },
	{ 0x00AC, "TLS_RSA_PSK_WITH_AES_128_GCM_SHA256" },
	{ 0x00AD, "TLS_RSA_PSK_WITH_AES_256_GCM_SHA384" },
	{ 0x00AE, "TLS_PSK_WITH_AES_128_CBC_SHA256" },
	{ 0x00AF, "TLS_PSK_WITH_AES_256_CBC_SHA384" },
	{ 0x00B0, "TLS_PSK_WITH_NULL_SHA256" },
	{ 0x00B1, "TLS_PSK_WITH_NULL_SHA384" },
	{ 0x00B2, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA256" },
	{ 0x00B3, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA384" },
	{ 0x00B4, "TLS_DHE_PSK_WITH_NULL_SHA256" },
	{ 0x00B5, "TLS_DHE_PSK_WITH_NULL_SHA384" },
	{ 0x00B6, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA256" },
	{ 0x00B7, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA384" },
	{ 0x00B8, "TLS_RSA_PSK_WITH_NULL_SHA256" },
	{ 0x00B9, "TLS_RSA_PSK_WITH_NULL_SHA384" },
	{ 0x00BA, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256" },
	{ 0x00BD, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256" },
	{ 0x00BE, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256" },
	{ 0x00BF, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256" },
	{ 0x00C0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256" },
	{ 0x00C3, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256" },
	{ 0x00C4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256" },
	{ 0x00C5, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256" },
	{ 0x00FF, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV" },
	{ 0x1301, "TLS_AES_128_GCM_SHA256" },
	{ 0x1302, "TLS_AES_256_GCM_SHA384" },
	{ 0x1303, "TLS_CHACHA20_POLY1305_SHA256" },
	{ 0x1304, "TLS_AES_128_CCM_SHA256" },
	{ 0x1305, "TLS_AES_128_CCM_8_SHA256" },
	{ 0x5600, "TLS_FALLBACK_SCSV" },
	{ 0xC001, "TLS_ECDH_ECDSA_WITH_NULL_SHA" },
	{ 0xC002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA" },
	{ 0xC003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0xC004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA" },
	{ 0xC005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA" },
	{ 0xC006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA" },
	{ 0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA" },
	{ 0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA" },
	{ 0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA" },
	{ 0xC00B, "TLS_ECDH_RSA_WITH_NULL_SHA" },
	{ 0xC00C, "TLS_ECDH_RSA_WITH_RC4_128_SHA" },
	{ 0xC00D, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0xC00E, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA" },
	{ 0xC00F, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA" },
	{ 0xC010, "TLS_ECDHE_RSA_WITH_NULL_SHA" },
	{ 0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA" },
	{ 0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" },
	{ 0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA" },
	{ 0xC015, "TLS_ECDH_anon_WITH_NULL_SHA" },
	{ 0xC018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA" },
	{ 0xC019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA" },
	{ 0xC01D, "TLS_SRP_SHA_WITH_AES_128_CBC_SHA" },
	{ 0xC01E, "TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA" },
	{ 0xC01F, "TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA" },
	{ 0xC020, "TLS_SRP_SHA_WITH_AES_256_CBC_SHA" },
	{ 0xC021, "TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA" },
	{ 0xC022, "TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA" },
	{ 0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256" },
	{ 0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384" },
	{ 0xC025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256" },
	{ 0xC026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384" },
	{ 0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" },
	{ 0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384" },
	{ 0xC029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256" },
	{ 0xC02A, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384" },
	{ 0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" },
	{ 0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" },
	{ 0xC02D, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256" },
	{ 0xC02E, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384" },
	{ 0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0xC031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0xC032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0xC035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA" },
	{ 0xC036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA" },
	{ 0xC037, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256" },
	{ 0xC038, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384" },
	{ 0xC039, "TLS_ECDHE_PSK_WITH_NULL_SHA" },
	{ 0xC03A, "TLS_ECDHE_PSK_WITH_NULL_SHA256" },
	{ 0xC03B, "TLS_ECDHE_PSK_WITH_NULL_SHA384" },
	{ 0xC03C, "TLS_RSA_WITH_ARIA_128_CBC_SHA256" },
	{ 0xC03D, "TLS_RSA_WITH_ARIA_256_CBC_SHA384" },
	{ 0xC044, "TLS_DHE_RSA_WITH_ARIA_128_CBC_SHA256" },
	{ 0xC045, "TLS_DHE_RSA_WITH_ARIA_256_CBC_SHA384" },
	{ 0xC048, "TLS_ECDHE_ECDSA_WITH_ARIA_128_CBC_SHA256" },
	{ 0xC049, "TLS_ECDHE_ECDSA_WITH_ARIA_256_CBC_SHA384" },
	{ 0xC04A, "TLS_ECDH_ECDSA_WITH_ARIA_128_CBC_SHA256" },
	{ 0xC04B, "TLS_ECDH_ECDSA_WITH_ARIA_256_CBC_SHA384" },
	{ 0xC04C, "TLS_ECDHE_RSA_WITH_ARIA_128_CBC_SHA256" },
	{ 0xC04D, "TLS_ECDHE_RSA_WITH_ARIA_256_CBC_SHA384" },
	{ 0xC04E, "TLS_ECDH_RSA_WITH_ARIA_128_CBC_SHA256" },
	{ 0xC04F, "TLS_ECDH_RSA_WITH_ARIA_256_CBC_SHA384" },
	{ 0xC050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256" },
	{ 0xC051, "TLS_RSA_WITH_ARIA_256_GCM_SHA384" },
	{ 0xC052, "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256" },
	{ 0xC053, "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384" },
	{ 0xC056, "TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256" },
	{ 0xC057, "TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384" },
	{ 0xC05C, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256" },
	{ 0xC05D, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384" },
	{ 0xC05E, "TLS_ECDH_ECDSA_WITH_ARIA_128_GCM_SHA256" },
	{ 0xC05F, "TLS_ECDH_ECDSA_WITH_ARIA_256_GCM_SHA384" },
	{ 0xC060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256" },
	{ 0xC061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384" },
	{ 0xC062, "TLS_ECDH_RSA_WITH_ARIA_128_GCM_SHA256" },
	{ 0xC063, "TLS_ECDH_RSA_WITH_ARIA_256_GCM_SHA384" },
	{ 0xC06A, "TLS_PSK_WITH_ARIA_128_GCM_SHA256" },
	{ 0xC06B, "TLS_PSK_WITH_ARIA_256_GCM_SHA384" },
	{ 0xC06C, "TLS_DHE_PSK_WITH_ARIA_128_GCM_SHA256" },
	{ 0xC06D, "TLS_DHE_PSK_WITH_ARIA_256_GCM_SHA384" },
	{ 0xC06E, "TLS_RSA_PSK_WITH_ARIA_128_GCM_SHA256" },
	{ 0xC06F, "TLS_RSA_PSK_WITH_ARIA_256_GCM_SHA384" },
	{ 0xC072, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256" },
	{ 0xC073, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384" },
	{ 0xC074, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_CBC_SHA256" },
	{ 0xC075, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_CBC_SHA384" },
	{ 0xC076, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256" },
	{ 0xC077, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384" },
	{ 0xC078, "TLS_ECDH_RSA_WITH_CAMELLIA_128_CBC_SHA256" },
	{ 0xC079, "TLS_ECDH_RSA_WITH_CAMELLIA_256_CBC_SHA384" },
	{ 0xC088, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_GCM_SHA256" },
	{ 0xC089, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_GCM_SHA384" },
	{ 0xC08C, "TLS_ECDH_RSA_WITH_CAMELLIA_128_GCM_SHA256" },
	{ 0xC08D, "TLS_ECDH_RSA_WITH_CAMELLIA_256_GCM_SHA384" },
	{ 0xC094, "TLS_PSK_WITH_CAMELLIA_128_CBC_SHA256" },
	{ 0xC095, "TLS_PSK_WITH_CAMELLIA_256_CBC_SHA384" },
	{ 0xC096, "TLS_DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256" },
	{ 0xC097, "TLS_DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384" },
	{ 0xC098, "TLS_RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256" },
	{ 0xC099, "TLS_RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384" },
	{ 0xC09A, "TLS_ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256" },
	{ 0xC09B, "TLS_ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384" },
	{ 0xC09C, "TLS_RSA_WITH_AES_128_CCM" },
	{ 0xC09D, "TLS_RSA_WITH_AES_256_CCM" },
	{ 0xC09E, "TLS_DHE_RSA_WITH_AES_128_CCM" },
	{ 0xC09F, "TLS_DHE_RSA_WITH_AES_256_CCM" },
	{ 0xC0A0, "TLS_RSA_WITH_AES_128_CCM_8" },
	{ 0xC0A1, "TLS_RSA_WITH_AES_256_CCM_8" },
	{ 0xC0A2, "TLS_DHE_RSA_WITH_AES_128_CCM_8" },
	{ 0xC0A3, "TLS_DHE_RSA_WITH_AES_256_CCM_8" },
	{ 0xC0A4, "TLS_PSK_WITH_AES_128_CCM" },
	{ 0xC0A5, "TLS_PSK_WITH_AES_256_CCM" },
	{ 0xC0A6, "TLS_DHE_PSK_WITH_AES_128_CCM" },
	{ 0xC0A7, "TLS_DHE_PSK_WITH_AES_256_CCM" },
	{ 0xC0A8, "TLS_PSK_WITH_AES_128_CCM_8" },
	{ 0xC0A9, "TLS_PSK_WITH_AES_256_CCM_8" },
	{ 0xC0AA, "TLS_PSK_DHE_WITH_AES_128_CCM_8" },
	{ 0xC0AB, "TLS_PSK_DHE_WITH_AES_256_CCM_8" },
	{ 0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM" },
	{ 0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM" },
	{ 0xC0AE, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8" },
	{ 0xC0AF, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8" },
	{ 0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xCCAB, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xCCAC, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xCCAD, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xCCAE, "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256" },
};

static const struct tls_name groups[] = {
	{ 1, "sect163k1" }, { 2, "sect163r1" }, { 3, "sect163r2" }, { 4, "sect193r1" }, { 5, "sect193r2" },
	{ 6, "sect233k1" }, { 7, "sect233r1" }, { 8, "sect239k1" }, { 9, "sect283k1" }, { 10, "sect283r1" },
	{ 11, "sect409k1" }, { 12, "sect409r1" }, { 13, "sect571k1" }, { 14, "sect571r1" }, { 15, "secp160k1" },
	{ 16, "secp160r1" }, { 17, "secp160r2" }, { 18, "secp192k1" }, { 19, "secp192r1" }, { 20, "secp224k1" },
	{ 21, "secp224r1" }, { 22, "secp256k1" }, { 23, "secp256r1" }, { 24, "secp384r1" }, { 25, "secp521r1" },
	{ 26, "brainpoolP256r1" }, { 27, "brainpoolP384r1" }, { 28, "brainpoolP512r1" }, { 29, "x25519" },
	{ 30, "x448" }, { 31, "brainpoolP256r1tls13" }, { 32, "brainpoolP384r1tls13" },
	{ 33, "brainpoolP512r1tls13" }, { 34, "GC256A" }, { 35, "GC256B" }, { 36, "GC256C" }, { 37, "GC256D" },
	{ 38, "GC512A" }, { 39, "GC512B" }, { 40, "GC512C" }, { 41, "curveSM2" },
	{ 256, "ffdhe2048" }, { 257, "ffdhe3072" }, { 258, "ffdhe4096" }, { 259, "ffdhe6144" }, { 260, "ffdhe8192" },
	{ 0x11EC, "X25519MLKEM768" }, { 0x6399, "X25519Kyber768Draft00" },
	{ 0xFF01, "arbitrary_explicit_prime_curves" }, { 0xFF02, "arbitrary_explicit_char2_curves" },
};

static const struct tls_name sigalgs[] = {
	{ 0x0201, "rsa_pkcs1_sha1" }, { 0x0202, "dsa_sha1" }, { 0x0203, "ecdsa_sha1" },
	{ 0x0301, "rsa_pkcs1_sha224" }, { 0x0302, "dsa_sha224" }, { 0x0303, "ecdsa_sha224" },
	{ 0x0401, "rsa_pkcs1_sha256" }, { 0x0402, "dsa_sha256" }, { 0x0403, "ecdsa_secp256r1_sha256" },
	{ 0x0501, "rsa_pkcs1_sha384" }, { 0x0502, "dsa_sha384" }, { 0x0503, "ecdsa_secp384r1_sha384" },
	{ 0x0601, "rsa_pkcs1_sha512" }, { 0x0602, "dsa_sha512" }, { 0x0603, "ecdsa_secp521r1_sha512" },
	{ 0x0804, "rsa_pss_rsae_sha256" }, { 0x0805, "rsa_pss_rsae_sha384" }, { 0x0806, "rsa_pss_rsae_sha512" },
	{ 0x0807, "ed25519" }, { 0x0808, "ed448" }, { 0x0809, "rsa_pss_pss_sha256" },
	{ 0x080A, "rsa_pss_pss_sha384" }, { 0x080B, "rsa_pss_pss_sha512" },
	{ 0x081A, "ecdsa_brainpoolP256r1tls13_sha256" }, { 0x081B, "ecdsa_brainpoolP384r1tls13_sha384" },
	{ 0x081C, "ecdsa_brainpoolP512r1tls13_sha512" }, { 0x0708, "sm2sig_sm3" },
};

static const struct tls_name alerts[] = {
	{ 0, "close_notify" }, { 10, "unexpected_message" }, { 20, "bad_record_mac" },
	{ 21, "decryption_failed" }, { 22, "record_overflow" }, { 30, "decompression_failure" },
	{ 40, "handshake_failure" }, { 41, "no_certificate" }, { 42, "bad_certificate" },
	{ 43, "unsupported_certificate" }, { 44, "certificate_revoked" }, { 45, "certificate_expired" },
	{ 46, "certificate_unknown" }, { 47, "illegal_parameter" }, { 48, "unknown_ca" }, { 49, "access_denied" },
	{ 50, "decode_error" }, { 51, "decrypt_error" }, { 60, "export_restriction" }, { 70, "protocol_version" },
	{ 71, "insufficient_security" }, { 80, "internal_error" }, { 86, "inappropriate_fallback" },
	{ 90, "user_canceled" }, { 100, "no_renegotiation" }, { 109, "missing_extension" },
	{ 110, "unsupported_extension" }, { 111, "certificate_unobtainable" }, { 112, "unrecognized_name" },
	{ 113, "bad_certificate_status_response" }, { 114, "bad_certificate_hash_value" },
	{ 115, "unknown_psk_identity" }, { 116, "certificate_required" }, { 120, "no_application_protocol" },
};

static const struct tls_name handshakes[] = {
	{ 0, "HelloRequest" }, { 1, "ClientHello" }, { 2, "ServerHello" }, { 3, "HelloVerifyRequest" },
	{ 4, "NewSessionTicket" }, { 5, "EndOfEarlyData" }, { 8, "EncryptedExtensions" }, { 11, "Certificate" },
	{ 12, "ServerKeyExchange" }, { 13, "CertificateRequest" }, { 14, "ServerHelloDone" },
	{ 15, "CertificateVerify" }, { 16, "ClientKeyExchange" }, { 20, "Finished" }, { 21, "CertificateURL" },
	{ 22, "CertificateStatus" }, { 24, "KeyUpdate" }, { 254, "MessageHash" },
};

static const struct tls_name versions[] = {
	{ 0x0002, "SSLv2" }, { 0x0300, "SSLv3" }, { 0x0301, "TLSv1" }, { 0x0302, "TLSv1.1" },
	{ 0x0303, "TLSv1.2" }, { 0x0304, "TLSv1.3" },
};

static int cmp_name(const void *a, const void *b)
{
	const struct tls_name *x = a, *y = b;

	return (int)x->id - (int)y->id;
}

static const char *lookup(const struct tls_name *t, size_t n, uint16_t id)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].id == id)
			return t[i].name;
	return NULL;
}

const char *tlsdec_cipher_name(uint16_t id)
{
	struct tls_name key = { id, NULL };
	const struct tls_name *r = bsearch(&key, ciphers, MQ_ARRAY_LEN(ciphers), sizeof(ciphers[0]), cmp_name);

	return r ? r->name : NULL;
}

const char *tlsdec_group_name(uint16_t id)
{
	return lookup(groups, MQ_ARRAY_LEN(groups), id);
}

const char *tlsdec_sigalg_name(uint16_t id)
{
	return lookup(sigalgs, MQ_ARRAY_LEN(sigalgs), id);
}

const char *tlsdec_alert_name(uint8_t desc)
{
	return lookup(alerts, MQ_ARRAY_LEN(alerts), desc);
}

const char *tlsdec_handshake_name(uint8_t type)
{
	return lookup(handshakes, MQ_ARRAY_LEN(handshakes), type);
}

const char *tlsdec_version_name(uint16_t v)
{
	return lookup(versions, MQ_ARRAY_LEN(versions), v);
}

const char *tlsdec_name(enum tls_name_kind kind, uint16_t v, char *buf, size_t size)
{
	const char *n = NULL;

	switch (kind) {
	case TLSN_CIPHER: n = tlsdec_cipher_name(v); break;
	case TLSN_GROUP: n = tlsdec_group_name(v); break;
	case TLSN_SIGALG: n = tlsdec_sigalg_name(v); break;
	case TLSN_VERSION: n = tlsdec_version_name(v); break;
	case TLSN_ALERT: n = v <= 0xFF ? tlsdec_alert_name((uint8_t)v) : NULL; break;
	case TLSN_HANDSHAKE: n = v <= 0xFF ? tlsdec_handshake_name((uint8_t)v) : NULL; break;
	}
	if (n)
		return n;
	if (kind == TLSN_ALERT || kind == TLSN_HANDSHAKE)
		snprintf(buf, size, "unknown (%u)", v);
	else if (kind == TLSN_CIPHER)
		snprintf(buf, size, "0x%04X", v);
	else
		snprintf(buf, size, "0x%04x", v);
	return buf;
}

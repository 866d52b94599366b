// The browser side of sealed deposits: age (X25519 recipients, streaming), SHA-256 and
// Shamir's secret sharing. Bundled once with esbuild; see static/vendor/README.md.
export { Encrypter, Decrypter, generateX25519Identity, identityToRecipient } from "age-encryption";
export { split, combine } from "shamir-secret-sharing";
export { sha256 } from "@noble/hashes/sha2.js";
export { bytesToHex } from "@noble/hashes/utils.js";

// Vectors for mutualis.deposits.shamir: shares made by shamir-secret-sharing 0.0.4.
import { split } from "shamir-secret-sharing";
import { randomBytes } from "node:crypto";
const hex = (b) => Buffer.from(b).toString("hex");
const cases = [[2, 2, 32], [2, 3, 32], [2, 4, 74], [3, 4, 74], [3, 5, 48], [4, 6, 64], [5, 5, 80], [2, 6, 33], [6, 8, 40], [3, 3, 79]];
const vectors = [];
for (const [k, n, len] of cases) {
  const secret = randomBytes(len);
  const shares = await split(new Uint8Array(secret), n, k);
  vectors.push({ threshold: k, shares: shares.map(hex), secret: hex(secret) });
}
// An age identity string, as the browser splits it (UTF-8 of AGE-SECRET-KEY-1…).
const identity = "AGE-SECRET-KEY-1QQPQ3FZZ8K6RXN3ZXQ0JZ5X2VR0C8YTC9WAKA3Y7RE0LSF2VU44QHC9A5M";
const s = await split(new TextEncoder().encode(identity), 4, 2);
vectors.push({ threshold: 2, shares: s.map(hex), secret: hex(Buffer.from(identity)) });
console.log(JSON.stringify({ generator: "shamir-secret-sharing@0.0.4 (npm), node " + process.version, vectors }, null, 1));

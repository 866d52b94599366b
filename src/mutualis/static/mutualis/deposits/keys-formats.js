// The key ceremony's formats in the browser, shared by the enrolment and opening-key page
// (keys.js) and by the opening's unlock: age's ASCII armor, shares in lowercase
// hexadecimal, and a holder's unlock (passphrase → their private key → their share).
// The server's side of the same formats: mutualis/deposits/key_formats.py and keys.py.

const ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----";
const ARMOR_END = "-----END AGE ENCRYPTED FILE-----";

/** An age file in age's ASCII armor: padded base64, 64 columns, final newline. */
export function armor(bytes) {
  const lines = [ARMOR_BEGIN];
  for (let i = 0; i < bytes.length; i += 48) {
    let text = "";
    for (const byte of bytes.subarray(i, i + 48)) text += String.fromCharCode(byte);
    lines.push(btoa(text));
  }
  lines.push(ARMOR_END);
  return lines.join("\n") + "\n";
}

/** The bytes of an armored age file, parsed as strictly as age does. */
export function dearmor(text) {
  const lines = text.trim().replaceAll("\r\n", "\n").split("\n");
  if (lines.shift() !== ARMOR_BEGIN || lines.pop() !== ARMOR_END || !lines.length) {
    throw new Error("not an armored age file");
  }
  lines.forEach((line, i) => {
    const last = i === lines.length - 1;
    const sized = last ? line.length > 0 && line.length <= 64 && line.length % 4 === 0
      : line.length === 64;
    if (!sized || !/^[A-Za-z0-9+/=]+$/.test(line)) throw new Error("malformed armor");
  });
  return Uint8Array.from(atob(lines.join("")), (c) => c.charCodeAt(0));
}

/** Lowercase hexadecimal, as a share travels inside its sealed file and on paper. */
export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A share from its hexadecimal text (spaces, line breaks and capitals ignored). */
export function fromHex(text) {
  const digits = text.replace(/\s+/g, "").toLowerCase();
  if (!digits || digits.length % 2 || !/^[0-9a-f]+$/.test(digits)) {
    throw new Error("not hexadecimal");
  }
  return Uint8Array.from(digits.match(/../g), (pair) => Number.parseInt(pair, 16));
}

/** Groups of four digits, eight groups a line: easy to read back and type. */
export function grouped(text) {
  const groups = text.match(/.{1,4}/g) || [];
  const lines = [];
  for (let i = 0; i < groups.length; i += 8) lines.push(groups.slice(i, i + 8).join(" "));
  return lines.join("\n");
}

/**
 * A holder's share of an opening key: their passphrase opens their sealed private key
 * (HolderKey.sealed_identity), which opens their sealed share (SealedShare.sealed_share).
 * `sealing` is the vendored module (static/vendor/sealing/sealing.min.js). A wrong
 * passphrase rejects the promise (age's "no identity matched").
 */
export async function unlockShare(sealing, sealedIdentity, passphrase, sealedShare) {
  const own = new sealing.Decrypter();
  own.addPassphrase(passphrase);
  const identity = await own.decrypt(dearmor(sealedIdentity), "text");
  const shares = new sealing.Decrypter();
  shares.addIdentity(identity.trim());
  return fromHex(await shares.decrypt(dearmor(sealedShare), "text"));
}

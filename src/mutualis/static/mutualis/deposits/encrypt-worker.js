// Encrypts a deposit's files off the page's thread (a module Web Worker), streaming: each
// File is read twice, never whole in memory.
//
// 1. "prepare": read the file once and compute the SHA-256 of its plaintext (noble's
//    incremental sha256); then set up age's streaming encryption to the consultation's
//    X25519 recipient (a fresh file key each time) and announce the ciphertext's size
//    (age's streaming output knows it from the plaintext size).
// 2. "pull": hand the page the next ciphertext chunk (about `max` bytes), hashing the
//    plaintext again as it is encrypted; at the end, a file whose fingerprint changed
//    between the two reads is refused (it was modified while being sent).
//
// Messages in: {type: "prepare", id, file, recipient, bundle}, {type: "pull", id, max},
// {type: "discard", id}. Messages out: {type: "hashing", id, done}, {type: "prepared",
// id, sha256, ciphertextSize}, {type: "chunk", id, bytes, done}, {type: "error", id,
// code, message}.

let library = null;
const files = new Map();
const PROGRESS_EVERY = 1024 * 1024;

async function load(bundle) {
  // The vendored bundle's address comes from the page: it carries the static files'
  // hashed name.
  if (library === null) {
    library = await import(bundle);
  }
  return library;
}

async function prepare(message) {
  const { Encrypter, sha256, bytesToHex } = await load(message.bundle);
  const file = message.file;
  const hash = sha256.create();
  const reader = file.stream().getReader();
  let done = 0;
  let reported = 0;
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    hash.update(value);
    done += value.length;
    if (done - reported >= PROGRESS_EVERY) {
      reported = done;
      self.postMessage({ type: "hashing", id: message.id, done });
    }
  }
  if (done !== file.size) {
    throw Object.assign(new Error("size changed"), { code: "changed" });
  }
  const digest = bytesToHex(hash.digest());

  const encrypter = new Encrypter();
  encrypter.addRecipient(message.recipient);
  const check = sha256.create();
  const hashing = new TransformStream({
    transform(chunk, controller) {
      check.update(chunk);
      controller.enqueue(chunk);
    },
  });
  const ciphertext = await encrypter.encrypt(file.stream().pipeThrough(hashing));
  const ciphertextSize = ciphertext.size(file.size);
  files.set(message.id, {
    reader: ciphertext.getReader(),
    leftover: null,
    check,
    digest,
    bytesToHex,
  });
  self.postMessage({ type: "prepared", id: message.id, sha256: digest, ciphertextSize });
}

async function pull(message) {
  const state = files.get(message.id);
  if (state === undefined) {
    throw Object.assign(new Error("unknown file"), { code: "unknown" });
  }
  const parts = [];
  let length = 0;
  let end = false;
  if (state.leftover !== null) {
    parts.push(state.leftover);
    length += state.leftover.length;
    state.leftover = null;
  }
  while (length < message.max) {
    const { value, done } = await state.reader.read();
    if (done) {
      end = true;
      break;
    }
    parts.push(value);
    length += value.length;
  }
  // Exactly `max` bytes unless the file ends: the rest waits for the next pull.
  let bytes = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  if (length > message.max) {
    state.leftover = bytes.slice(message.max);
    bytes = bytes.slice(0, message.max);
  }
  if (end && state.leftover === null) {
    files.delete(message.id);
    if (state.bytesToHex(state.check.digest()) !== state.digest) {
      throw Object.assign(new Error("content changed"), { code: "changed" });
    }
  }
  const done = end && state.leftover === null;
  self.postMessage({ type: "chunk", id: message.id, bytes, done }, [bytes.buffer]);
}

self.onmessage = async (event) => {
  const message = event.data;
  try {
    if (message.type === "prepare") {
      await prepare(message);
    } else if (message.type === "pull") {
      await pull(message);
    } else if (message.type === "discard") {
      const state = files.get(message.id);
      files.delete(message.id);
      if (state !== undefined) {
        await state.reader.cancel();
      }
    }
  } catch (error) {
    self.postMessage({
      type: "error",
      id: message.id,
      code: error.code || "encryption",
      message: String((error && error.message) || error),
    });
  }
};

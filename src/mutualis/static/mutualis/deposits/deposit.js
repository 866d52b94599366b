// The company's deposit page (deposits/company_deposit.html): the server's clock and the
// countdown, the checks before encryption, the deposit through the deposit API
// (docs/adr/0008-sealed-deposits.md, "Deposit API") with files encrypted in a Web Worker
// (encrypt-worker.js), resumable chunked uploads, the acknowledgement, and withdrawal.
// Plaintext never leaves the browser.

const root = document.getElementById("deposit-page");
const text = JSON.parse(document.getElementById("deposit-text").textContent);
const api = root.dataset.api;
const consultationId = Number(root.dataset.consultation);
const csrf = root.dataset.csrf;
const siren = root.dataset.company;
let deadline = Number(root.dataset.deadline);
const language = document.documentElement.lang || "fr";

// Ciphertext chunks: 8 MiB a call, or less if the API says so (max_chunk_bytes).
let chunkBytes = 8 * 1024 * 1024;
// About three and a half minutes of retries (backoff up to 30 s) before giving up.
const MAX_ATTEMPTS = 12;
const RESYNC_LIMIT = 3;

// --- Small helpers -------------------------------------------------------------------------

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (all, key) => (key in values ? String(values[key]) : all));
}

const numbers = new Intl.NumberFormat(language, { maximumFractionDigits: 1 });

function bytes(size) {
  const units = language.startsWith("fr") ? ["o", "Ko", "Mo", "Go", "To"] : ["B", "kB", "MB", "GB", "TB"];
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${numbers.format(value)} ${units[unit]}`;
}

function percent(done, total) {
  if (total <= 0) return 100;
  return Math.min(100, Math.floor((done * 100) / total));
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function element(tag, properties = {}, children = []) {
  const node = document.createElement(tag);
  Object.assign(node, properties);
  for (const child of children) node.append(child);
  return node;
}

class DepositError extends Error {}

const statusBox = document.getElementById("deposit-status");
const errorBox = document.getElementById("deposit-error");

function say(message) {
  if (statusBox) statusBox.textContent = message;
}

function fail(message) {
  if (errorBox) errorBox.textContent = message;
}

// --- The server's clock --------------------------------------------------------------------

// The difference between the server's clock and this computer's, first from the page,
// then from the API's server_time measured at the middle of the round trip.
let clockOffset = Number(root.dataset.serverNow) - Date.now();

function serverNow() {
  return Date.now() + clockOffset;
}

const serverTime = document.getElementById("deposit-server-time");
const countdown = document.getElementById("deposit-countdown");
const lateNotice = document.getElementById("deposit-late");
const clockFormat = new Intl.DateTimeFormat(language, {
  timeZone: "Europe/Paris",
  dateStyle: "short",
  timeStyle: "medium",
});

function two(n) {
  return String(n).padStart(2, "0");
}

function tick() {
  const now = serverNow();
  serverTime.textContent = `${clockFormat.format(new Date(now))} (Paris)`;
  serverTime.dateTime = new Date(now).toISOString();
  const remaining = deadline - now;
  if (remaining <= 0) {
    countdown.textContent = text.deadline_passed;
    lateNotice.hidden = false;
    return;
  }
  lateNotice.hidden = true;
  const left = Math.ceil(remaining / 1000);
  const days = Math.floor(left / 86400);
  const time = `${two(Math.floor((left % 86400) / 3600))}:${two(Math.floor((left % 3600) / 60))}:${two(left % 60)}`;
  countdown.textContent = days > 0 ? format(text.days, { days, time }) : time;
}

tick();
setInterval(tick, 1000);

// --- Calls to the deposit API --------------------------------------------------------------

function backoff(attempt) {
  return Math.min(30000, 500 * 2 ** attempt) + Math.floor(Math.random() * 250);
}

// One call; network errors, 5xx and 429 are retried with backoff (the same idempotency
// key, so a retried creation never makes a second row).
async function call(method, url, { json, body, key, contentType } = {}) {
  const headers = { "X-CSRFToken": csrf, Accept: "application/json" };
  if (key) headers["Idempotency-Key"] = key;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (contentType) {
    headers["Content-Type"] = contentType;
  }
  for (let attempt = 0; ; attempt += 1) {
    let response = null;
    try {
      response = await fetch(url, { method, headers, body, credentials: "same-origin" });
    } catch (error) {
      response = null;
    }
    const retry = response === null || response.status >= 500 || response.status === 429;
    if (!retry) return response;
    if (attempt + 1 >= MAX_ATTEMPTS) {
      if (response === null) throw new DepositError(text.network);
      return response;
    }
    let wait = backoff(attempt);
    const after = response && Number(response.headers.get("Retry-After"));
    if (after > 0) wait = Math.max(wait, after * 1000);
    say(format(text.retrying, { seconds: Math.ceil(wait / 1000) }));
    await sleep(wait);
  }
}

async function problem(response) {
  try {
    const body = await response.json();
    return body.message || body.detail || `HTTP ${response.status}`;
  } catch (error) {
    return `HTTP ${response.status}`;
  }
}

async function expectOk(response) {
  if (!response.ok) {
    throw new DepositError(format(text.failed, { message: await problem(response) }));
  }
  return response.json();
}

async function consultationInfo() {
  const sent = Date.now();
  const response = await call("GET", `${api}/consultations/${consultationId}`);
  const arrived = Date.now();
  if (!response.ok) {
    throw new DepositError(format(text.no_key, { message: await problem(response) }));
  }
  const info = await response.json();
  const limit = Number(info.max_chunk_bytes);
  if (limit > 0) chunkBytes = Math.min(chunkBytes, limit);
  const server = Date.parse(info.server_time);
  if (!Number.isNaN(server)) clockOffset = server - (sent + arrived) / 2;
  // A rectification may have moved the deadline since the page was made.
  const due = Date.parse(info.deadline);
  if (!Number.isNaN(due)) deadline = due;
  tick();
  return info;
}

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// --- Accepted types and limits (advisory: the opening checks the plaintext again) --------

function normalisedTypes(types) {
  return (types || []).map((t) => String(t).trim().toLowerCase()).filter(Boolean);
}

function accepted(name, mime, types) {
  if (types.length === 0) return true;
  const lower = name.toLowerCase();
  const extension = lower.includes(".") ? lower.slice(lower.lastIndexOf(".")) : "";
  const type = (mime || "").toLowerCase();
  return types.some((t) => {
    if (t.startsWith(".")) return extension === t;
    if (t.endsWith("/*")) return type.startsWith(t.slice(0, -1));
    if (t.includes("/")) return type === t;
    return extension === `.${t}`;
  });
}

function describeTypes(types) {
  return types.join(", ");
}

function check(items, info) {
  const types = normalisedTypes(info.accepted_types);
  const maxFile = Number(info.max_file_bytes || root.dataset.maxFile);
  const maxDeposit = Number(info.max_deposit_bytes || root.dataset.maxDeposit);
  const problems = [];
  let total = 0;
  for (const item of items) {
    total += item.size;
    if (item.size === 0) problems.push(format(text.empty_file, { name: item.name }));
    if (item.size > maxFile) {
      problems.push(format(text.file_too_large, { name: item.name, limit: bytes(maxFile) }));
    }
    if (!accepted(item.name, item.type, types)) {
      problems.push(format(text.type_refused, { name: item.name, types: describeTypes(types) }));
    }
  }
  if (total > maxDeposit) problems.push(format(text.deposit_too_large, { limit: bytes(maxDeposit) }));
  return problems;
}

// --- The encryption worker -----------------------------------------------------------------

class Sealer {
  constructor() {
    this.worker = new Worker(root.dataset.worker, { type: "module" });
    this.waiting = new Map();
    this.listeners = new Map();
    this.worker.onmessage = (event) => this.receive(event.data);
    this.worker.onerror = (event) => {
      for (const [, pending] of this.waiting) pending.reject(new DepositError(event.message || "worker"));
      this.waiting.clear();
    };
  }

  receive(message) {
    if (message.type === "hashing") {
      const listener = this.listeners.get(message.id);
      if (listener) listener(message.done);
      return;
    }
    const pending = this.waiting.get(message.id);
    if (!pending) return;
    this.waiting.delete(message.id);
    if (message.type === "error") {
      const error = new DepositError(message.message);
      error.code = message.code;
      pending.reject(error);
    } else {
      pending.resolve(message);
    }
  }

  ask(id, message, transfer = []) {
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  prepare(id, file, recipient, onHashing) {
    this.listeners.set(id, onHashing);
    return this.ask(id, { type: "prepare", file, recipient, bundle: root.dataset.bundle });
  }

  pull(id) {
    return this.ask(id, { type: "pull", max: chunkBytes });
  }

  stop() {
    this.worker.terminate();
  }
}

// --- Progress ------------------------------------------------------------------------------

const progressSection = document.getElementById("deposit-progress");
const overall = document.getElementById("deposit-overall");
const overallText = document.getElementById("deposit-overall-text");
const fileList = document.getElementById("deposit-files");

// Each file's work: hashing its plaintext, then sending its ciphertext.
function addProgress(item, index) {
  const id = `deposit-file-${index}`;
  item.bar = element("progress", { id, max: 100, value: 0 });
  item.text = element("span", { textContent: text.waiting });
  const label = element("label", { htmlFor: id, textContent: `${item.name} (${bytes(item.size)})` });
  fileList.append(element("li", {}, [label, " ", item.bar, " ", item.text]));
}

function updateProgress(items) {
  let done = 0;
  let total = 0;
  let sentDone = 0;
  let sentTotal = 0;
  for (const item of items) {
    const work = item.size + (item.ciphertextSize || item.size);
    const did = item.hashed + item.sent;
    done += did;
    total += work;
    sentDone += item.sent;
    sentTotal += item.ciphertextSize || item.size;
    const value = percent(did, work);
    item.bar.value = value;
    item.bar.textContent = `${value} %`;
    if (item.finished) {
      item.bar.value = 100;
      item.text.textContent = text.done;
    } else if (item.ciphertextSize && (item.sent > 0 || item.hashed >= item.size)) {
      item.text.textContent = format(text.sending, {
        done: bytes(item.sent),
        total: bytes(item.ciphertextSize),
        percent: percent(item.sent, item.ciphertextSize),
      });
    } else if (item.hashed > 0) {
      item.text.textContent = format(text.hashing, { percent: percent(item.hashed, item.size) });
    }
  }
  const value = percent(done, total);
  overall.value = value;
  overall.textContent = `${value} %`;
  overallText.textContent = format(text.overall, {
    done: bytes(sentDone),
    total: bytes(sentTotal),
    percent: value,
  });
}

// --- The deposit ---------------------------------------------------------------------------

function collect(form) {
  const items = [];
  for (const input of form.querySelectorAll("input[type=file]")) {
    for (const file of input.files) {
      items.push({ kind: input.dataset.kind, file, name: file.name, type: file.type, size: file.size });
    }
  }
  for (const box of form.querySelectorAll("input.deposit-vault:checked:not(:disabled)")) {
    items.push({
      kind: box.dataset.kind,
      vault: box.dataset.url,
      name: box.dataset.name,
      type: box.dataset.type,
      size: Number(box.dataset.size),
    });
  }
  for (const item of items) {
    item.hashed = 0;
    item.sent = 0;
  }
  return items;
}

// A vault document's bytes, read through its own download address; encrypted like any file.
async function fetchVault(item) {
  say(format(text.vault_fetch, { name: item.name }));
  let response = null;
  try {
    response = await fetch(item.vault, { credentials: "same-origin" });
  } catch (error) {
    response = null;
  }
  if (response === null || !response.ok) {
    throw new DepositError(format(text.vault_failed, { name: item.name }));
  }
  const blob = await response.blob();
  item.file = new File([blob], item.name, { type: item.type || blob.type });
  item.size = item.file.size;
}

async function receivedSize(reference, fileId) {
  const response = await call("GET", `${api}/${reference}/files/${fileId}`);
  const body = await expectOk(response);
  return Number(body.received_size);
}

// PUT one ciphertext chunk at its offset; returns the size the server then holds.
// A 409 means the server holds another size: read it and resume there.
async function sendChunk(reference, item, offset, chunk) {
  let start = offset;
  for (let resync = 0; ; resync += 1) {
    const response = await call(
      "PUT",
      `${api}/${reference}/files/${item.id}/content?offset=${start}`,
      {
        body: chunk.subarray(start - offset),
        key: `${reference}:${item.id}:${start}`,
        contentType: "application/octet-stream",
      },
    );
    if (response.ok) return Number((await response.json()).received_size);
    if (response.status !== 409 || resync >= RESYNC_LIMIT) {
      throw new DepositError(format(text.failed, { message: await problem(response) }));
    }
    const received = await receivedSize(reference, item.id);
    if (received >= offset + chunk.length) return received;
    if (received < offset) throw new DepositError(format(text.lost, { name: item.name }));
    start = received;
  }
}

async function upload(sealer, reference, item, items) {
  let offset = 0;
  for (;;) {
    let message;
    try {
      message = await sealer.pull(item.index);
    } catch (error) {
      if (error.code === "changed") throw new DepositError(format(text.changed, { name: item.name }));
      throw error;
    }
    const chunk = message.bytes;
    if (chunk.length > 0) {
      offset = await sendChunk(reference, item, offset, chunk);
      item.sent = offset;
      updateProgress(items);
    }
    if (message.done) break;
  }
  item.finished = true;
  updateProgress(items);
}

function showAcknowledgement(ack, items) {
  const section = document.getElementById("deposit-ack");
  document.getElementById("deposit-ack-reference").textContent = ack.reference;
  const received = Date.parse(ack.received_at);
  document.getElementById("deposit-ack-received").textContent = Number.isNaN(received)
    ? String(ack.received_at || "")
    : `${clockFormat.format(new Date(received))} (Paris)`;
  document.getElementById("deposit-ack-late").textContent = ack.late ? text.late_yes : text.late_no;
  const body = document.getElementById("deposit-ack-files");
  body.replaceChildren();
  // The acknowledgement document's files: what the server recorded, with the
  // ciphertext's SHA-256 it computed itself.
  const files = (ack.receipt && ack.receipt.files) || ack.files || items;
  for (const file of files) {
    const size = file.plaintext_size ?? file.size;
    const encrypted = file.ciphertext_size ?? file.ciphertextSize;
    body.append(
      element("tr", {}, [
        element("td", { textContent: file.name }),
        element("td", {
          textContent: format(text.sizes, { size: bytes(size), encrypted: bytes(encrypted) }),
        }),
        element("td", {}, [element("code", { className: "deposit-hash", textContent: file.plaintext_sha256 ?? file.sha256 })]),
        element("td", {}, [element("code", { className: "deposit-hash", textContent: file.ciphertext_sha256 ?? "" })]),
      ]),
    );
  }
  section.hidden = false;
  section.focus();
  watchReceipt(ack.reference);
}

// The signed receipt is made by a background job: offer its link once it exists.
async function watchReceipt(reference) {
  const url = `${api}/${reference}/receipt.pdf`;
  for (let attempt = 0; attempt < 20; attempt += 1) {
    await sleep(3000);
    let response = null;
    try {
      response = await fetch(url, { credentials: "same-origin" });
      if (response.body) await response.body.cancel();
    } catch (error) {
      response = null;
    }
    if (response && response.ok) {
      const paragraph = document.getElementById("deposit-ack-receipt");
      paragraph.replaceChildren(element("a", { href: url, textContent: text.receipt_link }));
      return;
    }
  }
}

// Reread the list of the company's deposits from the page itself (no inline script).
async function refreshList() {
  try {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("deposit-list");
    if (fresh) document.getElementById("deposit-list").replaceChildren(...fresh.childNodes);
  } catch (error) {
    // The list stays as it was; the acknowledgement above is what counts.
  }
}

function warnOnLeave(event) {
  event.preventDefault();
  event.returnValue = text.leave;
  return text.leave;
}

function startBody(lot) {
  const body = { consultation: consultationId, company: siren, lot, phase: root.dataset.phase };
  // Offered only when the API records the announcement of a backup copy.
  const backup = document.getElementById("deposit-backup-copy");
  if (backup) body.backup_copy_announced = backup.checked;
  return body;
}

async function deposit(form) {
  fail("");
  const lots = form.querySelectorAll("input[name=lot]");
  let lot = null;
  if (lots.length > 0) {
    const chosen = form.querySelector("input[name=lot]:checked");
    if (!chosen) throw new DepositError(text.choose_lot);
    lot = Number(chosen.value);
  }
  const items = collect(form);
  if (items.length === 0) throw new DepositError(text.choose_files);
  const info = await consultationInfo();
  const problems = check(items, info);
  if (problems.length > 0) throw new DepositError(problems.join(" "));

  const button = document.getElementById("deposit-submit");
  button.disabled = true;
  window.addEventListener("beforeunload", warnOnLeave);
  fileList.replaceChildren();
  items.forEach((item, index) => {
    item.index = index;
    addProgress(item, index);
  });
  progressSection.hidden = false;
  updateProgress(items);
  const sealer = new Sealer();
  try {
    for (const item of items) {
      if (item.vault) await fetchVault(item);
    }
    const again = check(items, info);
    if (again.length > 0) throw new DepositError(again.join(" "));
    // Hash every file first: the API takes each file's fingerprint and ciphertext size
    // before its bytes, and the overall bar knows the whole size.
    for (const item of items) {
      const prepared = await sealer.prepare(item.index, item.file, info.recipient, (done) => {
        item.hashed = done;
        updateProgress(items);
      });
      item.hashed = item.size;
      item.sha256 = prepared.sha256;
      item.ciphertextSize = prepared.ciphertextSize;
      updateProgress(items);
    }
    say(text.starting);
    const started = await expectOk(
      await call("POST", api, {
        json: startBody(lot),
        key: uuid(),
      }),
    );
    const reference = started.reference;
    for (const item of items) {
      const registered = await expectOk(
        await call("POST", `${api}/${reference}/files`, {
          json: {
            name: item.name,
            content_type: item.type || "application/octet-stream",
            kind: item.kind,
            plaintext_size: item.size,
            plaintext_sha256: item.sha256,
            ciphertext_size: item.ciphertextSize,
          },
          key: `${reference}:file:${item.index}`,
        }),
      );
      item.id = registered.id;
    }
    for (const item of items) {
      say(`${item.name}…`);
      await upload(sealer, reference, item, items);
    }
    say(text.completing);
    const ack = await expectOk(
      await call("POST", `${api}/${reference}/complete`, { key: `${reference}:complete` }),
    );
    say(format(text.acknowledged, { reference: ack.reference || reference }));
    showAcknowledgement({ reference, ...ack }, items);
    form.reset();
    await refreshList();
  } finally {
    sealer.stop();
    window.removeEventListener("beforeunload", warnOnLeave);
    button.disabled = false;
  }
}

// --- Withdrawal ----------------------------------------------------------------------------

async function withdraw(button) {
  const reference = button.dataset.reference;
  if (!window.confirm(format(text.withdraw_confirm, { reference }))) return;
  fail("");
  button.disabled = true;
  try {
    await expectOk(
      await call("POST", `${api}/${reference}/withdraw`, { key: `${reference}:withdraw` }),
    );
    say(format(text.withdrawn, { reference }));
    await refreshList();
  } catch (error) {
    fail(error instanceof DepositError ? error.message : String(error));
    button.disabled = false;
  }
}

// --- Wiring --------------------------------------------------------------------------------

const form = document.getElementById("deposit-form");
const capable =
  typeof Worker === "function" &&
  typeof TransformStream === "function" &&
  typeof Blob.prototype.stream === "function" &&
  Boolean(window.crypto && crypto.getRandomValues);
if (form && !capable) {
  fail(text.old_browser);
  document.getElementById("deposit-submit").disabled = true;
} else if (form) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    deposit(form).catch((error) => {
      say("");
      fail(error instanceof DepositError ? error.message : format(text.failed, { message: String(error) }));
    });
  });
  // An ESPD response answers for one lot: only the chosen lot's may go with the deposit.
  const offerEspdOfLot = () => {
    const chosen = form.querySelector("input[name=lot]:checked");
    for (const box of form.querySelectorAll("input.deposit-espd[data-lot]")) {
      box.disabled = !chosen || box.dataset.lot !== chosen.value;
      if (box.disabled) box.checked = false;
    }
  };
  for (const radio of form.querySelectorAll("input[name=lot]")) radio.addEventListener("change", offerEspdOfLot);
  offerEspdOfLot();
  // The accepted types, from the API (advisory), on the file pickers too.
  consultationInfo()
    .then((info) => {
      const types = normalisedTypes(info.accepted_types);
      if (types.length === 0) return;
      document.getElementById("deposit-accepted-types").textContent = format(text.accepted_types, {
        types: describeTypes(types),
      });
      const accept = types.map((t) => (t.startsWith(".") || t.includes("/") ? t : `.${t}`)).join(",");
      for (const input of form.querySelectorAll("input[type=file]")) input.accept = accept;
    })
    .catch((error) => fail(error.message));
}

document.getElementById("deposit-list").addEventListener("click", (event) => {
  const button = event.target.closest("button.deposit-withdraw");
  if (button) withdraw(button);
});

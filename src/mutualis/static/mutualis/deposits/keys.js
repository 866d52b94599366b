// The key ceremony, in the browser (docs/adr/0008-sealed-deposits.md). Two pages read
// their configuration from the json_script block "keys-config" (no inline script):
//
// - "enrol": a commission member's age X25519 key pair is generated here; its private key
//   (AGE-SECRET-KEY-1…) is sealed with age's passphrase mode (scrypt, default work factor)
//   and ASCII-armored; only the public key and that armored file are posted. The
//   passphrase fields have no name: they are never sent.
// - "opening": a consultation's key pair is generated here; the UTF-8 bytes of its private
//   key are split with shamir-secret-sharing into n + 1 shares (threshold k); the share of
//   each chosen holder is written in lowercase hexadecimal and sealed to that holder's
//   public key (armored age file); the last share is the paper share, shown once on a
//   printable sheet and never posted (only its x coordinate, its last byte, is).
//
// shamir-secret-sharing refuses a threshold of 1; with k = 1 each share is the degree-0
// case of its format, the secret followed by a distinct x coordinate (deposits/shamir.py
// reads both).
// The format helpers (keys-formats.js) and the vendored bundle are imported by the URLs
// the page gives (hashed names in production), not by relative paths.
let armor, grouped, hex;

const configNode = document.getElementById("keys-config");
const config = configNode ? JSON.parse(configNode.textContent) : null;

function distinctCoordinates(count) {
  // Unbiased shuffle of 1..255 (rejection sampling), the first `count` values.
  const xs = Array.from({ length: 255 }, (_, i) => i + 1);
  const random = new Uint8Array(1);
  for (let i = xs.length - 1; i > 0; i--) {
    let j;
    do {
      crypto.getRandomValues(random);
      j = random[0];
    } while (j >= 256 - (256 % (i + 1)));
    j %= i + 1;
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs.slice(0, count);
}

async function splitSecret(sealing, secret, shares, threshold) {
  if (threshold >= 2) return sealing.split(secret, shares, threshold);
  return distinctCoordinates(shares).map((x) => {
    const share = new Uint8Array(secret.length + 1);
    share.set(secret);
    share[secret.length] = x;
    return share;
  });
}

async function enrol(sealing) {
  const form = document.getElementById("enrol-form");
  const first = document.getElementById("passphrase");
  const second = document.getElementById("passphrase-again");
  const status = document.getElementById("enrol-status");
  const button = form.querySelector("[type=submit]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const passphrase = first.value;
    if (passphrase.length < config.minLength) {
      status.textContent = config.messages.short;
      first.focus();
      return;
    }
    if (passphrase !== second.value) {
      status.textContent = config.messages.mismatch;
      second.focus();
      return;
    }
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    status.textContent = config.messages.working;
    try {
      const identity = await sealing.generateX25519Identity();
      const recipient = await sealing.identityToRecipient(identity);
      const encrypter = new sealing.Encrypter();
      encrypter.setPassphrase(passphrase);
      const sealed = armor(await encrypter.encrypt(identity));
      form.elements.recipient.value = recipient;
      form.elements.sealed_identity.value = sealed;
      first.value = "";
      second.value = "";
      form.submit(); // No submit event: the handler does not run again.
    } catch (error) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      status.textContent = config.messages.failed + " (" + error + ")";
    }
  });
}

async function opening(sealing) {
  const form = document.getElementById("opening-form");
  const status = document.getElementById("opening-status");
  const generate = document.getElementById("generate-key");
  const after = document.getElementById("after-generation");
  const register = document.getElementById("register-key");
  const sharesBox = document.getElementById("sealed-shares");
  const sheet = document.getElementById("escrow-sheet");
  const printed = form.elements.escrow_printed;
  register.disabled = true;

  function chosen() {
    return Array.from(form.querySelectorAll("input[name=holders]:checked"), (i) => i.value);
  }

  function discard(announce) {
    // A changed choice makes the generated key and its printed sheet worthless.
    const hadKey = Boolean(form.elements.recipient.value);
    form.elements.recipient.value = "";
    form.elements.escrow_index.value = "";
    sharesBox.replaceChildren();
    for (const id of ["escrow-recipient", "escrow-share", "escrow-threshold", "escrow-date"]) {
      document.getElementById(id).textContent = "";
    }
    sheet.hidden = true;
    after.hidden = true;
    printed.checked = false;
    register.disabled = true;
    if (announce && hadKey) status.textContent = config.messages.changed;
  }

  form.addEventListener("change", (event) => {
    if (event.target.name === "holders" || event.target.name === "threshold") discard(true);
  });
  form.elements.threshold.addEventListener("input", () => discard(true));
  printed.addEventListener("change", () => {
    register.disabled = !(printed.checked && form.elements.recipient.value);
  });
  document.getElementById("print-escrow").addEventListener("click", () => window.print());

  generate.addEventListener("click", async () => {
    discard(false);
    const holders = chosen();
    const threshold = Number.parseInt(form.elements.threshold.value, 10);
    if (!holders.length || !(threshold >= 1 && threshold <= holders.length)) {
      status.textContent = config.messages.threshold;
      form.elements.threshold.focus();
      return;
    }
    generate.disabled = true;
    generate.setAttribute("aria-busy", "true");
    status.textContent = config.messages.working;
    try {
      const identity = await sealing.generateX25519Identity();
      const recipient = await sealing.identityToRecipient(identity);
      const secret = new TextEncoder().encode(identity);
      const shares = await splitSecret(sealing, secret, holders.length + 1, threshold);
      const inputs = [];
      for (let i = 0; i < holders.length; i++) {
        const encrypter = new sealing.Encrypter();
        encrypter.addRecipient(config.recipients[holders[i]]);
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = "share_" + holders[i];
        input.value = armor(await encrypter.encrypt(hex(shares[i])));
        inputs.push(input);
      }
      const escrow = shares[holders.length];
      sharesBox.replaceChildren(...inputs);
      form.elements.recipient.value = recipient;
      form.elements.escrow_index.value = String(escrow[escrow.length - 1]);
      document.getElementById("escrow-recipient").textContent = recipient;
      document.getElementById("escrow-share").textContent = grouped(hex(escrow));
      document.getElementById("escrow-threshold").textContent =
        threshold + " / " + holders.length;
      document.getElementById("escrow-date").textContent = new Date().toLocaleString();
      sheet.hidden = false;
      after.hidden = false;
      status.textContent = "";
      document.getElementById("print-escrow").focus();
    } catch (error) {
      discard(false);
      status.textContent = config.messages.failed + " (" + error + ")";
    } finally {
      generate.disabled = false;
      generate.removeAttribute("aria-busy");
    }
  });
}

if (config) {
  const formats = await import(config.formats);
  ({ armor, grouped, hex } = formats);
  const sealing = await import(config.sealing);
  if (config.mode === "enrol") await enrol(sealing);
  else if (config.mode === "opening") await opening(sealing);
}

// The opening session: the holder unlocks in this browser (passphrase → their age
// identity → their share of the consultation's key) and posts only the share; the list of
// holders who have unlocked refreshes itself until the responses are opened.
import { Decrypter } from "../../vendor/sealing/sealing.min.js";

const ARMOR = /-----BEGIN AGE ENCRYPTED FILE-----([\s\S]*?)-----END AGE ENCRYPTED FILE-----/;

// An age file as the server keeps it: ASCII-armored, or the binary file in base64.
function ageBytes(text) {
  const armored = ARMOR.exec(text);
  const base64 = (armored ? armored[1] : text).replace(/\s+/g, "");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

async function decryptText(file, unlock) {
  const decrypter = new Decrypter();
  unlock(decrypter);
  return (await decrypter.decrypt(ageBytes(file), "text")).trim();
}

function setUpUnlock(form) {
  const message = form.querySelector("#opening-unlock-message");
  const say = (key) => { message.textContent = form.dataset[key]; };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const field = form.querySelector("input[name=passphrase]");
    const passphrase = field.value;
    if (!passphrase) { say("messageEmpty"); return; }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    say("messageWorking");
    try {
      const answer = await fetch(form.dataset.keyUrl, { credentials: "same-origin" });
      const sealed = await answer.json();
      if (!answer.ok) { message.textContent = sealed.message; return; }
      let identity;
      try {
        identity = await decryptText(sealed.sealed_identity, (d) => d.addPassphrase(passphrase));
      } catch {
        say("messageWrong");
        return;
      }
      const share = (await decryptText(sealed.sealed_share, (d) => d.addIdentity(identity)))
        .toLowerCase();
      const posted = await fetch(form.dataset.shareUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "X-CSRFToken": form.querySelector("input[name=csrfmiddlewaretoken]").value,
        },
        body: JSON.stringify({ share }),
      });
      const result = await posted.json();
      if (!posted.ok) { message.textContent = result.message; return; }
      field.value = "";
      say("messageSent");
      if (result.opened) { window.location.reload(); } else { refresh(); }
    } catch {
      say("messageFailed");
    } finally {
      button.disabled = false;
    }
  });
}

const status = document.getElementById("opening-status");

async function refresh() {
  if (!status) return;
  const answer = await fetch(status.dataset.statusUrl, { credentials: "same-origin" });
  if (!answer.ok) return;
  const state = await answer.json();
  if (state.opened) { window.location.reload(); return; }
  status.querySelector("[data-opening-count]").textContent = String(state.unlocked.length);
  const list = status.querySelector("[data-opening-names]");
  if (state.unlocked.length) {
    list.replaceChildren(...state.unlocked.map((name) => {
      const item = document.createElement("li");
      item.textContent = name;
      return item;
    }));
  }
}

const form = document.getElementById("opening-unlock");
if (form) setUpUnlock(form);
if (status) setInterval(() => { refresh().catch(() => {}); }, 5000);

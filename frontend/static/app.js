// GIR Bench page scripts: progressive enhancement only — every page reads fine without them.
// No inline scripts (the Content-Security-Policy forbids them); data comes from data-* attributes.
"use strict";

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)gir_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// -- tooltips: any element with data-tip, on hover and on keyboard focus ---------------------
function setupTooltips() {
  const tip = document.getElementById("tooltip");
  if (!tip) return;
  const show = (target, x, y) => {
    tip.textContent = target.getAttribute("data-tip");
    tip.hidden = false;
    const box = tip.getBoundingClientRect();
    const left = Math.min(x + 14, window.innerWidth - box.width - 8);
    const top = y + 14 + box.height > window.innerHeight ? y - box.height - 10 : y + 14;
    tip.style.left = `${Math.max(left, 4)}px`;
    tip.style.top = `${Math.max(top, 4)}px`;
  };
  const hide = () => { tip.hidden = true; };
  document.addEventListener("mouseover", (event) => {
    const target = event.target.closest && event.target.closest("[data-tip]");
    if (target) show(target, event.clientX, event.clientY); else hide();
  });
  document.addEventListener("mousemove", (event) => {
    const target = event.target.closest && event.target.closest("[data-tip]");
    if (target && !tip.hidden) show(target, event.clientX, event.clientY);
  });
  document.addEventListener("focusin", (event) => {
    const target = event.target.closest && event.target.closest("[data-tip]");
    if (!target) { hide(); return; }
    const box = target.getBoundingClientRect();
    show(target, box.left + box.width / 2, box.top + box.height / 2);
  });
  document.addEventListener("focusout", hide);
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") hide(); });
}

// -- live progress on the model page ----------------------------------------------------------
function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  const total = Math.round(seconds);
  if (total < 60) return `${total} s`;
  if (total < 3600) return total % 60 ? `${Math.floor(total / 60)} min ${total % 60} s` : `${total / 60} min`;
  return `${Math.floor(total / 3600)} h ${String(Math.floor((total % 3600) / 60)).padStart(2, "0")} min`;
}

function setText(id, text) {
  const node = document.getElementById(id);
  if (node && node.textContent !== text) node.textContent = text;
}

function showProgress(data) {
  const status = document.getElementById("status");
  if (status) { status.dataset.status = data.status; status.textContent = data.status; }
  const p = data.progress;
  const bar = document.getElementById("progress-bar");
  if (bar) { bar.max = Math.max(p.total, 1); bar.value = p.done; }
  setText("progress-text", `${p.done} / ${p.total} tasks`);
  setText("current-task", p.current_task ? `task ${p.current_task}` : "–");
  setText("queue-position", p.queue_position === null ? "–" :
    p.queue_position === 0 ? "next in line" : `${p.queue_position} ahead`);
  const started = data.started_at ? Date.parse(data.started_at) : null;
  const elapsed = started ? (Date.now() - started) / 1000 : null;
  setText("elapsed", elapsed === null ? "–" : formatDuration(elapsed));
  const eta = elapsed !== null && p.done > 0 && p.total > p.done
    ? elapsed * (p.total - p.done) / p.done : null;
  setText("eta", eta === null ? "–" : `about ${formatDuration(eta)}`);
}

async function refreshMain() {
  const response = await fetch(window.location.href, { headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const doc = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = doc.querySelector("main");
  if (fresh) document.querySelector("main").replaceWith(fresh);
  setupPage();
}

function setupLive() {
  const live = document.getElementById("live");
  if (!live || live.dataset.polling) return;
  live.dataset.polling = "1";
  const url = live.dataset.api;
  const every = Number(live.dataset.every || 1000);
  // The finished statuses come from the server's own table (app/submissions/status.py).
  const finished = new Set((live.dataset.finished || "").split(" ").filter(Boolean));
  const tick = async () => {
    if (!document.body.contains(live)) return;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const data = await response.json();
        showProgress(data);
        if (finished.has(data.status)) { await refreshMain(); return; }
      }
    } catch (error) { /* the next tick tries again */ }
    window.setTimeout(tick, every);
  };
  window.setTimeout(tick, every);
}

// -- upload with a size check and a progress bar ----------------------------------------------
function uploadError(message) {
  const box = document.getElementById("upload-error");
  box.textContent = message;
  box.hidden = false;
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 2 ** 20) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 2 ** 30) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

function setupUpload() {
  const form = document.getElementById("submit-form");
  if (!form) return;
  const maxBytes = () => Number(form.dataset.maxBytes);
  const input = form.querySelector("input[name=file]");
  input.addEventListener("change", () => {
    const file = input.files[0];
    document.getElementById("upload-error").hidden = true;
    if (file && file.size > maxBytes()) {
      uploadError(`${file.name} is ${formatSize(file.size)}; the upload limit is ${formatSize(maxBytes())}. Make the model smaller (e.g. float16 weights) and try again.`);
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = input.files[0];
    if (!file) { uploadError("Choose a model file (.onnx or .pt)."); return; }
    if (file.size > maxBytes()) { input.dispatchEvent(new Event("change")); return; }
    const data = new FormData(form);
    data.delete("csrf_token");
    for (const [key, value] of [...data.entries()]) { if (value === "") data.delete(key); }
    data.delete("file");
    data.append("file", file);  // the metadata goes first, so a bad field is refused before the file
    const bar = document.getElementById("upload-progress");
    const button = form.querySelector("button[type=submit]");
    const request = new XMLHttpRequest();
    request.open("POST", form.dataset.api);
    request.setRequestHeader("X-CSRF-Token", csrfToken());
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) { bar.max = e.total; bar.value = e.loaded; }
    });
    request.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(request.responseText); } catch (error) { /* not JSON */ }
      if (request.status === 202) { window.location.assign(`/submissions/${body.id}`); return; }
      button.disabled = false;
      bar.hidden = true;
      const detail = body.detail || {};
      uploadError(detail.message ? `${detail.message} (HTTP ${request.status})` : `The upload failed (HTTP ${request.status}).`);
    });
    request.addEventListener("error", () => {
      button.disabled = false;
      uploadError("The connection broke during the upload; nothing was submitted. Try again.");
    });
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    document.getElementById("upload-error").hidden = true;
    request.send(data);
  });
}

// -- small things: copy the new token or the badge snippet, zoom example crops -------------------
function setupCopy(buttonId, textId) {
  const button = document.getElementById(buttonId);
  const token = document.getElementById(textId);
  if (!button || !token) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(token.textContent.trim());
      button.textContent = "Copied";
    } catch (error) {
      const range = document.createRange();
      range.selectNodeContents(token);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      button.textContent = "Selected — press Ctrl+C";
    }
  });
}

function setupZoom() {
  document.querySelectorAll("figure.example img").forEach((img) => {
    if (img.dataset.zoom) return;
    img.dataset.zoom = "1";
    img.tabIndex = 0;
    const toggle = () => img.classList.toggle("zoomed");
    img.addEventListener("click", toggle);
    img.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === "Escape") toggle(); });
  });
}

function setupPage() {
  setupLive();
  setupUpload();
  setupCopy("copy-token", "new-token");
  setupCopy("copy-badge", "badge-snippet");
  setupZoom();
}

window.__loaded_once = window.__loaded_once || Date.now();
document.addEventListener("DOMContentLoaded", () => { setupTooltips(); setupPage(); });

// Quarantine Console: selection helpers and live refresh of the items list. No libraries.
"use strict";

(function () {
  const rows = document.getElementById("rows");
  const pickAll = document.getElementById("pick-all");
  const picked = document.getElementById("picked");

  function selectedIds() {
    return Array.from(document.querySelectorAll("input.pick:checked")).map((box) => box.value);
  }

  function showSelection() {
    if (!rows) return;
    const ids = selectedIds();
    if (picked) picked.textContent = ids.length + " selected";
    document.querySelectorAll("input.pick").forEach((box) => {
      box.closest("tr").classList.toggle("selected", box.checked);
    });
  }

  if (rows) {
    rows.addEventListener("change", showSelection);
    if (pickAll) {
      pickAll.addEventListener("change", () => {
        document.querySelectorAll("input.pick").forEach((box) => { box.checked = pickAll.checked; });
        showSelection();
      });
    }
    const bulk = document.getElementById("bulk");
    bulk.addEventListener("submit", (event) => {
      if (!selectedIds().length) {
        event.preventDefault();
        alert("Select one or more items first.");
      }
    });
    showSelection();
  }

  // Live refresh: fetch the server-rendered rows (already escaped) and swap them in,
  // keeping the administrator's selection.
  const live = document.getElementById("live");
  if (live && rows) {
    const seconds = Math.max(parseInt(live.dataset.refresh, 10) || 30, 1);
    const text = document.getElementById("live-text");
    const total = document.getElementById("total");
    const recent = new Map();
    const HIGHLIGHT_MS = Math.max(3000, seconds * 1500);
    async function refresh() {
      try {
        const reply = await fetch(live.dataset.source, { headers: { "Accept": "application/json" }, credentials: "same-origin" });
        if (reply.status === 401) { window.location.reload(); return; }
        if (!reply.ok) throw new Error("HTTP " + reply.status);
        const data = await reply.json();
        const keep = new Set(selectedIds());
        const before = new Map(Array.from(rows.querySelectorAll("tr[data-id]")).map(
          (tr) => [tr.dataset.id, tr.dataset.status + "|" + tr.dataset.state]));
        rows.innerHTML = data.rows_html;
        const now = Date.now();
        rows.querySelectorAll("tr[data-id]").forEach((tr) => {
          if (before.get(tr.dataset.id) !== tr.dataset.status + "|" + tr.dataset.state) recent.set(tr.dataset.id, now);
          // a changed row stays marked for a few seconds, across refreshes
          if (now - (recent.get(tr.dataset.id) || 0) < HIGHLIGHT_MS) tr.classList.add("changed");
        });
        document.querySelectorAll("input.pick").forEach((box) => { box.checked = keep.has(box.value); });
        if (total) total.textContent = data.total;
        live.classList.remove("stale");
        text.textContent = "live · updated " + data.updated + " UTC";
        showSelection();
      } catch (error) {
        live.classList.add("stale");
        text.textContent = "not updated: " + error.message;
      }
    }
    window.setInterval(refresh, seconds * 1000);
  }

  // The state path redraws itself too, so a trainer can leave it on screen during a demo.
  const path = document.getElementById("statepath");
  if (path && path.dataset.source) {
    const every = Math.max(parseInt(path.dataset.refresh, 10) || 30, 1);
    const status = document.getElementById("path-live");
    window.setInterval(async () => {
      try {
        const reply = await fetch(path.dataset.source, { credentials: "same-origin" });
        if (!reply.ok) throw new Error("HTTP " + reply.status);
        const svg = new DOMParser().parseFromString(await reply.text(), "image/svg+xml").documentElement;
        if (svg.nodeName !== "svg") throw new Error("not a picture");
        path.replaceChildren(document.importNode(svg, true));
        status.classList.remove("stale");
      } catch (error) {
        status.classList.add("stale");
      }
    }, every * 1000);
  }

  // As in the original console, double-clicking an attribute shows (or hides) its meaning.
  const attributes = document.getElementById("attributes");
  if (attributes) {
    attributes.addEventListener("dblclick", (event) => {
      const line = event.target.closest("tr");
      const meaning = line && line.querySelector("details.meaning");
      if (meaning) meaning.open = !meaning.open;
    });
  }

  // An item's page keeps its status and state pills current, and offers a reload when they move.
  const head = document.getElementById("item-head");
  if (head && head.dataset.source) {
    const every = Math.max(parseInt(head.dataset.refresh, 10) || 30, 1);
    const status = document.getElementById("item-status");
    const state = document.getElementById("item-state");
    const drawn = status.textContent + "|" + state.textContent;
    window.setInterval(async () => {
      try {
        const reply = await fetch(head.dataset.source, { headers: { "Accept": "application/json" }, credentials: "same-origin" });
        if (!reply.ok) return;
        const item = await reply.json();
        status.textContent = item.status;
        status.className = "pill status " + item.status_class;
        status.title = item.status_meaning;
        state.textContent = item.state || "no state";
        state.className = "pill " + (item.state ? "state-" + item.state_group : "none");
        state.title = item.state_meaning;
        document.getElementById("item-changed").hidden = drawn === status.textContent + "|" + state.textContent;
      } catch (error) {
        // the next round tries again
      }
    }, every * 1000);
  }
})();

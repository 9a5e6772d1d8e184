// The workbench's only script: progressive enhancement. Every page works without it; with
// it, lists of choices submit themselves, claim countdowns tick, "select all" selects, and
// payout statuses change on screen as the server streams them.
"use strict";

function autosubmit() {
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
}

function countdowns() {
  const clocks = document.querySelectorAll("[data-countdown]");
  if (!clocks.length) return;
  const tick = () => {
    for (const clock of clocks) {
      const left = Math.max(0, Date.parse(clock.dataset.countdown) - Date.now());
      const minutes = Math.floor(left / 60000);
      const seconds = Math.floor((left % 60000) / 1000);
      clock.textContent = `${minutes}:${String(seconds).padStart(2, "0")}`;
    }
  };
  tick();
  setInterval(tick, 1000);
}

function selectAll() {
  for (const box of document.querySelectorAll("input[data-select-all]")) {
    box.addEventListener("change", () => {
      for (const item of box.form.querySelectorAll(`input[name="${box.dataset.selectAll}"]`)) {
        item.checked = box.checked;
      }
    });
  }
}

function payoutStream() {
  const table = document.querySelector("[data-payout-stream]");
  if (!table || !window.EventSource) return;
  const live = document.getElementById("payout-live");
  const source = new EventSource(table.dataset.payoutStream);
  const show = (message) => {
    const change = JSON.parse(message.data);
    const cell = document.getElementById(`payout-state-${change.disbursement_id}`);
    if (!cell || !change.state) return;
    const badge = cell.querySelector(".state") || cell;
    badge.textContent = change.state.replaceAll("_", " ");
    badge.className = `state state-${change.state}`;
    if (live) live.textContent = `${change.contract_number || change.disbursement_id}: ${change.state}`;
  };
  for (const name of ["disbursement_claimed", "disbursement_released", "disbursement_approved",
                      "disbursement_sent", "disbursement_paid", "disbursement_rejected",
                      "disbursement_failed", "disbursement_queued",
                      "disbursement_fraud_reported"]) {
    source.addEventListener(name, show);
  }
  source.onmessage = show;
}

document.addEventListener("DOMContentLoaded", () => {
  autosubmit();
  countdowns();
  selectAll();
  payoutStream();
});

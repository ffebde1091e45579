// Small enhancements; every page still works by plain form posts without them.
// 1. <dialog>: buttons with data-open-dialog open one, data-close-dialog closes it,
//    and a dialog rendered with data-open="true" (it came back with errors) opens itself.
// 2. [data-poll]: fetch the URL every second and replace the element with the answer,
//    until the answer no longer carries data-poll (the sync run has finished).
// 3. Forms with data-busy disable their submit button while the request runs.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-open-dialog]").forEach((button) => {
    button.addEventListener("click", () => {
      const dialog = document.getElementById(button.dataset.openDialog);
      dialog.showModal();
      const first = dialog.querySelector("input:not([type=hidden])");
      if (first) first.focus();
    });
  });
  document.querySelectorAll("[data-close-dialog]").forEach((button) => {
    button.addEventListener("click", () => button.closest("dialog").close());
  });
  document.querySelectorAll("dialog[data-open=true]").forEach((dialog) => dialog.showModal());
  document.querySelectorAll("form[data-busy]").forEach((form) => {
    form.addEventListener("submit", () => {
      form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
    });
  });
  document.querySelectorAll("[data-poll]").forEach(poll);
});

function poll(element) {
  setTimeout(async () => {
    try {
      const response = await fetch(element.dataset.poll, { headers: { "Accept": "text/html" } });
      if (response.redirected) {  // signed out meanwhile: show the sign-in page
        window.location.reload();
        return;
      }
      if (response.ok) {
        const holder = document.createElement("div");
        holder.innerHTML = await response.text();
        const next = holder.firstElementChild;
        element.replaceWith(next);
        if (next.dataset.poll) poll(next);
        return;
      }
    } catch (error) { /* the server restarted or the network blinked: try again */ }
    poll(element);
  }, 1000);
}

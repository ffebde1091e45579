// Admin > Users: narrow the list as the clerk types, and show a user's details on the
// right without reloading. Every link and form also works without this script.
(function () {
  "use strict";
  var form = document.getElementById("search-form");
  if (!form) { return; }
  var input = document.getElementById("q");
  var database = document.getElementById("db");
  var results = document.getElementById("results");
  var detail = document.getElementById("detail");
  var announce = document.getElementById("announce");
  var DEBOUNCE_MS = 250;
  var timer = null;
  var pending = {};
  var selected = new URLSearchParams(window.location.search).get("user") || "";

  function query(extra) {
    var params = new URLSearchParams();
    if (database.value) { params.set("db", database.value); }
    if (input.value.trim()) { params.set("q", input.value.trim()); }
    Object.keys(extra || {}).forEach(function (key) {
      if (extra[key]) { params.set(key, extra[key]); }
    });
    return params.toString();
  }

  // Fetch a server-rendered fragment into target; a newer request cancels an older one.
  function load(url, target, slot) {
    if (pending[slot]) { pending[slot].abort(); }
    var controller = new AbortController();
    pending[slot] = controller;
    target.setAttribute("aria-busy", "true");
    return fetch(url, { signal: controller.signal, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401) {  // the session ended: sign in again, then come back
          window.location.assign("/admin/login?ended=1&next=" +
            encodeURIComponent(window.location.pathname + window.location.search));
          return null;
        }
        return response.text();
      })
      .then(function (html) {
        if (html !== null) { target.innerHTML = html; }
        target.removeAttribute("aria-busy");
        return html;
      })
      .catch(function (error) {
        if (error.name !== "AbortError") {
          target.removeAttribute("aria-busy");
          target.innerHTML = '<div class="empty" role="alert"><p>SCView did not answer. ' +
            "Check your connection and try again.</p></div>";
        }
        return null;
      });
  }

  // Reload the list; the selected user stays selected (and in the address, for reloads).
  function refresh(page) {
    var params = query({ page: page, user: selected });
    history.replaceState(null, "", "/admin/users?" + params);
    return load("/admin/users/results?" + params, results, "results").then(function (html) {
      // one short sentence for screen readers, not the whole list
      var summary = results.querySelector(".count, .empty p");
      if (html !== null && summary) { announce.textContent = summary.textContent.trim(); }
    });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { refresh(); }, DEBOUNCE_MS);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.clearTimeout(timer);
    refresh();
  });
  database.addEventListener("change", function () {
    window.location.assign("/admin/users?" + query());
  });

  function showUser(link) {
    var id = link.getAttribute("data-user");
    selected = id;
    history.replaceState(null, "", link.getAttribute("href"));
    results.querySelectorAll("li.current").forEach(function (item) {
      item.classList.remove("current");
      item.querySelector("a").removeAttribute("aria-current");
    });
    link.parentElement.classList.add("current");
    link.setAttribute("aria-current", "true");
    var url = "/admin/users/detail?" + new URLSearchParams({ db: database.value, user: id });
    load(url, detail, "detail").then(function (html) {
      var heading = document.getElementById("detail-heading");
      if (html !== null && heading) {
        heading.focus({ preventScroll: true });
        if (window.matchMedia("(max-width: 760px)").matches) { detail.scrollIntoView(); }
      }
    });
  }

  results.addEventListener("click", function (event) {
    var link = event.target.closest("a.user-link, a[data-page]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    event.preventDefault();
    if (link.hasAttribute("data-page")) {
      refresh(link.getAttribute("data-page"));
    } else {
      showUser(link);
    }
  });

  function selectTab(tab) {
    detail.querySelectorAll('[role="tab"]').forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    });
    tab.focus();
  }

  detail.addEventListener("click", function (event) {
    var tab = event.target.closest('[role="tab"]');
    if (!tab) { return; }
    event.preventDefault();
    selectTab(tab);
  });
  detail.addEventListener("keydown", function (event) {
    var tab = event.target.closest('[role="tab"]');
    if (!tab || (event.key !== "ArrowLeft" && event.key !== "ArrowRight")) { return; }
    var tabs = Array.prototype.slice.call(detail.querySelectorAll('[role="tab"]'));
    var step = event.key === "ArrowRight" ? 1 : -1;
    selectTab(tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length]);
    event.preventDefault();
  });
}());

// Item viewer: filters (kept in the URL fragment, so a view can be shared), pagination, lazy thumbnails.
// Model output is never inserted as HTML: the items are rendered (escaped) by the report writer, and this
// script only shows, hides and sets image sources. Errors are written into #report-errors.
(function () {
  "use strict";
  var root = document.documentElement;
  var errorBox = document.getElementById("report-errors");

  function fail(message) {
    root.setAttribute("data-report-status", "error");
    if (errorBox) {
      errorBox.hidden = false;
      errorBox.textContent += String(message) + "\n";
    }
  }

  window.addEventListener("error", function (event) {
    fail("script error: " + event.message);
  });

  function init() {
    var thumbs = JSON.parse(document.getElementById("thumbs").textContent);
    var list = document.getElementById("item-list");
    var items = Array.prototype.slice.call(list.querySelectorAll("li.item"));
    var pageSize = parseInt(list.getAttribute("data-page-size"), 10) || 50;
    var controls = {
      task: document.getElementById("f-task"),
      disease: document.getElementById("f-disease"),
      source: document.getElementById("f-source"),
      outcome: document.getElementById("f-outcome"),
      search: document.getElementById("f-search")
    };
    var info = document.getElementById("page-info");
    var prev = document.getElementById("page-prev");
    var next = document.getElementById("page-next");
    var page = 0;

    function outcomeMatches(codes, wanted) {
      if (!wanted) return true;
      var scored = codes.replace(/[^01]/g, "");
      if (wanted === "all-right") return scored.length > 0 && scored.indexOf("0") < 0;
      if (wanted === "all-wrong") return scored.length > 0 && scored.indexOf("1") < 0;
      if (wanted === "mixed") return scored.indexOf("0") >= 0 && scored.indexOf("1") >= 0;
      var parts = wanted.split(":");
      var code = codes.charAt(parseInt(parts[0].slice(1), 10));
      if (parts[1] === "x") return code === "e" || code === "p";
      return code === parts[1];
    }

    function matches(item) {
      var d = item.dataset;
      if (controls.task.value && d.task !== controls.task.value) return false;
      if (controls.disease.value && d.disease !== controls.disease.value) return false;
      if (controls.source.value && d.source !== controls.source.value) return false;
      if (!outcomeMatches(d.outcomes, controls.outcome.value)) return false;
      var needle = controls.search.value.trim().toLowerCase();
      if (needle && d.id.toLowerCase().indexOf(needle) < 0 && item.textContent.toLowerCase().indexOf(needle) < 0) {
        return false;
      }
      return true;
    }

    function readHash() {
      var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
      ["task", "disease", "source", "outcome", "search"].forEach(function (key) {
        if (params.has(key)) controls[key].value = params.get(key);
      });
      page = Math.max(0, (parseInt(params.get("page"), 10) || 1) - 1);
    }

    function writeHash() {
      var params = new URLSearchParams();
      ["task", "disease", "source", "outcome", "search"].forEach(function (key) {
        if (controls[key].value) params.set(key, controls[key].value);
      });
      if (page > 0) params.set("page", String(page + 1));
      var hash = params.toString();
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", hash ? "#" + hash : window.location.pathname);
      }
    }

    function render() {
      var shown = items.filter(matches);
      var pages = Math.max(1, Math.ceil(shown.length / pageSize));
      page = Math.min(page, pages - 1);
      var first = page * pageSize;
      var onPage = new Set(shown.slice(first, first + pageSize));
      items.forEach(function (item) {
        var visible = onPage.has(item);
        item.hidden = !visible;
        if (visible) {
          var img = item.querySelector("img[data-thumb]");
          if (img && !img.getAttribute("src") && thumbs[img.getAttribute("data-thumb")]) {
            img.setAttribute("src", thumbs[img.getAttribute("data-thumb")]);
          }
        }
      });
      info.textContent = shown.length
        ? "items " + (first + 1) + "–" + Math.min(first + pageSize, shown.length) + " of " + shown.length +
          " matching · page " + (page + 1) + " of " + pages
        : "no item matches";
      prev.disabled = page === 0;
      next.disabled = page >= pages - 1;
      list.setAttribute("data-matching", String(shown.length));
    }

    function update() {
      page = 0;
      render();
      writeHash();
    }

    ["task", "disease", "source", "outcome"].forEach(function (key) {
      controls[key].addEventListener("change", update);
    });
    controls.search.addEventListener("input", update);
    prev.addEventListener("click", function () { page -= 1; render(); writeHash(); });
    next.addEventListener("click", function () { page += 1; render(); writeHash(); });
    window.addEventListener("hashchange", function () { readHash(); render(); });
    readHash();
    render();
  }

  try {
    init();
    if (root.getAttribute("data-report-status") !== "error") root.setAttribute("data-report-status", "ok");
  } catch (error) {
    fail(error && error.stack ? error.stack : error);
  }
})();

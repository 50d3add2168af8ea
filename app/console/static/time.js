// The console's one script (optional: every page works without it). It shows <time> in the viewer's
// own zone and keeps "3 min ago" current; and on pages where things move (queue, transitions, a change
// still waiting) it reloads every <meta name="karma-refresh"> seconds — unless someone is typing.
(function () {
  "use strict";
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  var units = [[31536000, "y"], [2592000, "mo"], [86400, "d"], [3600, "h"], [60, "min"]];
  function ago(ms) {
    var s = Math.round((Date.now() - ms) / 1000), span = Math.abs(s);
    if (span < 45) { return "just now"; }
    var text = "1 min";
    for (var i = 0; i < units.length; i++) {
      if (span >= units[i][0]) { text = Math.floor(span / units[i][0]) + " " + units[i][1]; break; }
    }
    return s > 0 ? text + " ago" : "in " + text;
  }
  var zone = (Intl.DateTimeFormat().resolvedOptions().timeZone) || "local";
  function draw() {
    var els = document.querySelectorAll("time[datetime]");
    for (var i = 0; i < els.length; i++) {
      var d = new Date(els[i].getAttribute("datetime"));
      if (isNaN(d.getTime())) { continue; }
      els[i].textContent = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
        pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + " " + zone + " · ";
      var since = document.createElement("span");  // its own box, as the server draws it: a narrow
      since.className = "ago";                      // window wraps the time before "3 min ago", not inside
      since.textContent = ago(d.getTime());
      els[i].appendChild(since);
      els[i].className = "local";
    }
  }
  // Typing: a field has focus, or holds what someone wrote — not what the page filled in (the transition
  // page's report form comes filled with the runtime it waits for, and kept that page from ever reloading).
  function typing() {
    var a = document.activeElement;
    if (a && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName)) { return true; }
    var fields = document.querySelectorAll("textarea, input[type=text]");
    for (var i = 0; i < fields.length; i++) { if (fields[i].value !== fields[i].defaultValue) { return true; } }
    return false;
  }
  // Time filters (the log's) are UTC for the server; the table shows times in the viewer's zone, so the
  // filters are shown and typed in that zone too (a time copied from a row was hours off), and sent back
  // as UTC. Without scripts they stay UTC, and say so.
  function asInput(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }
  function localFilters() {
    var inputs = document.querySelectorAll("input[type=datetime-local][data-utc]");
    for (var i = 0; i < inputs.length; i++) {
      var el = inputs[i], d = new Date(el.value.slice(0, 16) + ":00Z");
      if (el.value && !isNaN(d.getTime())) { el.value = asInput(d); }
      var label = el.parentNode.querySelector(".zone");
      if (label) { label.textContent = zone; }
      if (el.form && !el.form.karmaUtc) {
        el.form.karmaUtc = true;
        el.form.addEventListener("submit", function (ev) {
          var own = ev.target.querySelectorAll("input[type=datetime-local][data-utc]");
          for (var j = 0; j < own.length; j++) {
            var local = new Date(own[j].value);  // no zone: the viewer's
            if (own[j].value && !isNaN(local.getTime())) { own[j].value = local.toISOString().slice(0, 16); }
          }
        });
      }
    }
  }
  draw();
  localFilters();
  setInterval(draw, 30000);
  var meta = document.querySelector('meta[name="karma-refresh"]');
  if (meta) {
    var every = Math.max(5, parseInt(meta.getAttribute("content"), 10) || 15) * 1000;
    setInterval(function () { if (!typing()) { window.location.reload(); } }, every);
  }
})();

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
        pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + " " + zone + " · " +
        ago(d.getTime());
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
  draw();
  setInterval(draw, 30000);
  var meta = document.querySelector('meta[name="karma-refresh"]');
  if (meta) {
    var every = Math.max(5, parseInt(meta.getAttribute("content"), 10) || 15) * 1000;
    setInterval(function () { if (!typing()) { window.location.reload(); } }, every);
  }
})();

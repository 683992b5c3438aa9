// hazchain console: a little progressive enhancement; every page works without it.
(function () {
  "use strict";
  // The manifest wizard: re-run the transfer checks as lots, handler or carrier change.
  var form = document.getElementById("wizard");
  if (form) {
    var url = form.getAttribute("data-check");
    var target = document.getElementById("checks");
    var busy = document.getElementById("checking");
    var timer = null;
    var seq = 0;
    var run = function () {
      var mine = ++seq;
      var data = new FormData(form);
      if (!data.getAll("lot").length) { return; }
      busy.hidden = false;
      fetch(url, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          if (mine !== seq) { return; }
          target.innerHTML = html;
          busy.hidden = true;
          form.setAttribute("data-checked", String(mine));
        })
        .catch(function () { busy.hidden = true; });
    };
    form.addEventListener("change", function (ev) {
      if (ev.target && ev.target.getAttribute("data-reload")) {
        window.location = "/manifests/new?site=" + encodeURIComponent(ev.target.value);
        return;
      }
      if (ev.target && ev.target.id === "handler") { filterLicences(); }
      clearTimeout(timer);
      timer = setTimeout(run, 250);
    });
    var filterLicences = function () {
      var handler = document.getElementById("handler");
      var licence = document.getElementById("licence");
      if (!handler || !licence) { return; }
      Array.prototype.forEach.call(licence.options, function (o) {
        var holder = o.getAttribute("data-holder");
        o.hidden = !!holder && holder !== handler.value;
        if (o.hidden && o.selected) { licence.value = ""; }
      });
    };
    filterLicences();
  }
})();

// Shows the consent coverage for the chosen asset and purpose as soon as both are chosen.
// Without JavaScript, the "Check coverage" button does the same with a page load.
(function () {
  "use strict";
  var form = document.getElementById("request-form");
  if (!form) { return; }
  var asset = form.querySelector("[name=asset]");
  var purpose = form.querySelector("[name=purpose]");
  var box = document.getElementById("coverage");

  function show(text, warn) {
    box.textContent = text;
    box.classList.remove("d-none", "alert-info", "alert-warning");
    box.classList.add(warn ? "alert-warning" : "alert-info");
  }

  function update() {
    if (!asset.value || !purpose.value) { box.classList.add("d-none"); return; }
    var url = form.dataset.coverageUrl + encodeURIComponent(asset.value) +
      "/?purpose=" + encodeURIComponent(purpose.value);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body || !body.coverage) { return; }
        var c = body.coverage;
        show(c.eligible.toLocaleString("en") + " of " + c.total.toLocaleString("en") +
          " customers are eligible for " + purpose.value + ".", c.eligible === 0);
      })
      .catch(function () { /* the Check coverage button still works */ });
  }

  asset.addEventListener("change", update);
  purpose.addEventListener("change", update);
  update();
}());

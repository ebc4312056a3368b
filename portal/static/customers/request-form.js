// Shows the consent coverage for the chosen asset and purpose as soon as both are chosen.
// Without JavaScript, the "Check coverage" button does the same with a page load.
(function () {
  "use strict";
  var form = document.getElementById("request-form");
  if (!form) { return; }
  var asset = form.querySelector("[name=asset]");
  var purpose = form.querySelector("[name=purpose]");
  var box = document.getElementById("coverage");
  var latest = 0;  // only the answer to the latest choice is shown (answers can overtake)

  function show(text, warn) {
    box.textContent = text;
    box.classList.remove("d-none", "alert-info", "alert-warning");
    box.classList.add(warn ? "alert-warning" : "alert-info");
  }

  function update() {
    if (!asset.value || !purpose.value) { box.classList.add("d-none"); return; }
    var key = purpose.value;
    // What the person chose, as the form says it: "Marketing Email Communications (key)".
    var chosen = purpose.options[purpose.selectedIndex].text;
    var url = form.dataset.coverageUrl + encodeURIComponent(asset.value) +
      "/?purpose=" + encodeURIComponent(key);
    var ticket = ++latest;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (ticket !== latest || !body || !body.coverage) { return; }
        var c = body.coverage;
        // Grouped as the page's language groups them, as the server prints numbers.
        var lang = document.documentElement.lang || "en";
        // The page's sentence (data-coverage-text, translated by the server) with the
        // figures and the purpose's name and key filled in.
        var name = chosen.replace(" (" + key + ")", "");
        // Function replacers: a name holding "$&" is inserted as typed.
        var values = { E: c.eligible.toLocaleString(lang), T: c.total.toLocaleString(lang),
          P: name, K: key };
        show(form.dataset.coverageText.replace(/__([ETPK])__/g, function (_m, k) {
          return values[k];
        }), c.eligible === 0);
      })
      .catch(function () { /* the Check coverage button still works */ });
  }

  // The purposes suggested for the asset the page was loaded with (what it was collected
  // for, what its customers agreed to): once another asset is chosen, say whose they are.
  var here = form.dataset.suggestedHere;
  var suggested = Array.prototype.find.call(
    purpose.querySelectorAll("optgroup"), function (group) { return group.label === here; });
  var loadedAsset = asset.value;
  var loadedName = asset.selectedIndex > 0 ? asset.options[asset.selectedIndex].text : "";
  function relabel() {
    if (!suggested) { return; }
    suggested.label = asset.value === loadedAsset ? here
      : form.dataset.suggestedElsewhere.replace("__A__", function () { return loadedName; });
  }

  asset.addEventListener("change", relabel);
  asset.addEventListener("change", update);
  purpose.addEventListener("change", update);
  update();
}());

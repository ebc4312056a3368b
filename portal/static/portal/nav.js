// The navigation menus are <details> elements and work without JavaScript; this only
// closes an open menu when another opens, on a click elsewhere, or on Escape.
(function () {
  "use strict";
  var menus = document.querySelectorAll("details.nav-menu");
  function closeAll(except) {
    menus.forEach(function (menu) { if (menu !== except) { menu.open = false; } });
  }
  menus.forEach(function (menu) {
    menu.addEventListener("toggle", function () { if (menu.open) { closeAll(menu); } });
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest("details.nav-menu")) { closeAll(null); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = document.querySelector("details.nav-menu[open]");
    if (open) { open.open = false; open.querySelector("summary").focus(); }
  });
}());

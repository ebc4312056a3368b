// Loaded in <head>: tells the stylesheet that JavaScript runs (the collapsible menu works).
document.documentElement.classList.remove("no-js");

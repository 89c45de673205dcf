// Live feedback on a Chinese patent application number while it is typed (DOMAIN.md §1).
// Weights 2,3,4,5,6,7,8,9,2,3,4,5 cycle over the digits; the sum mod 11 is the check
// character, 10 written X. The server checks again on submit: this is only a courtesy.
(function () {
  "use strict";
  var WEIGHTS = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];

  function checkCharacter(body) {
    var sum = 0;
    for (var i = 0; i < body.length; i++) {
      sum += Number(body.charAt(i)) * WEIGHTS[i % WEIGHTS.length];
    }
    var r = sum % 11;
    return r === 10 ? "X" : String(r);
  }

  // Full-width digits, letters and dot (copied from Chinese documents) become ASCII;
  // spaces go; a ZL or CN prefix is dropped.
  function clean(text) {
    var s = (text.normalize ? text.normalize("NFKC") : text).toUpperCase().replace(/\s+/g, "");
    if (s.indexOf("ZL") === 0 || s.indexOf("CN") === 0) {
      s = s.slice(2);
    }
    return s;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_m, key) { return values[key]; });
  }

  function assess(text) {
    var s = clean(text);
    var m = /^(\d{12}|\d{8})\.?([0-9X])$/.exec(s);
    if (m) {
      var expected = checkCharacter(m[1]);
      return { state: expected === m[2] ? "ok" : "bad", check: expected, normal: m[1] + "." + expected };
    }
    m = /^(\d{12}|\d{8})\.?$/.exec(s);
    if (m) {
      var c = checkCharacter(m[1]);
      return { state: "missing", check: c, normal: m[1] + "." + c };
    }
    return { state: s ? "format" : "empty" };
  }

  function init() {
    var input = document.getElementById("number");
    var out = document.getElementById("number-check");
    var kind = document.getElementById("kind");
    if (!input || !out) {
      return;
    }
    var patentKinds = ((kind && kind.getAttribute("data-patent-kinds")) || "").split(" ");

    function update() {
      if (kind && patentKinds.indexOf(kind.value) === -1) {
        out.textContent = "";
        out.className = "number-check";
        return;
      }
      var r = assess(input.value);
      if (r.state === "empty") {
        out.textContent = "";
        out.className = "number-check";
        return;
      }
      var template = out.getAttribute("data-" + r.state) || "";
      var mark = r.state === "ok" ? "✓ " : (r.state === "bad" ? "✗ " : "");
      out.textContent = mark + fill(template, { check: r.check, normal: r.normal });
      out.className = "number-check " + (r.state === "ok" ? "ok" : (r.state === "bad" ? "bad" : ""));
    }

    input.addEventListener("input", update);
    if (kind) {
      kind.addEventListener("change", update);
    }
    update();
  }

  if (typeof document !== "undefined") {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", init);
    } else {
      init();
    }
  }

  // For tests in a JavaScript engine.
  if (typeof module !== "undefined" && module.exports) {
    module.exports = { checkCharacter: checkCharacter, assess: assess };
  }
})();

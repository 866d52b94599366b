// The CPV picker: under each input marked data-cpv-picker, the codes of the vocabulary
// that match what is typed (words or the first digits), as buttons that put the code in
// the input. Without this script the inputs still take codes typed by hand, and the
// server checks every code. Read by the strict Content-Security-Policy: no inline code,
// the configuration comes from the json_script block "cpv-picker-config".
(function () {
  "use strict";
  var configNode = document.getElementById("cpv-picker-config");
  if (!configNode) { return; }
  var config = JSON.parse(configNode.textContent);
  var DELAY_MS = 250;

  function lastToken(value) {
    var parts = value.split(/[,;]/);
    return parts[parts.length - 1].trim();
  }

  function replaceLastToken(value, code) {
    var index = Math.max(value.lastIndexOf(","), value.lastIndexOf(";"));
    var head = index >= 0 ? value.slice(0, index + 1) + " " : "";
    return head + code;
  }

  function attach(input) {
    var multiple = input.dataset.cpvPicker === "multiple";
    var box = document.createElement("div");
    box.className = "cpv-picker";
    var status = document.createElement("p");
    status.className = "cpv-picker-status";
    status.setAttribute("aria-live", "polite");
    var list = document.createElement("ul");
    list.setAttribute("aria-label", config.label);
    box.appendChild(status);
    box.appendChild(list);
    input.insertAdjacentElement("afterend", box);
    var timer = null;
    var asked = "";

    function show(results) {
      list.replaceChildren();
      results.forEach(function (result) {
        var item = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "secondary outline";
        button.textContent = result.code + " " + result.label;
        button.addEventListener("click", function () {
          input.value = multiple ? replaceLastToken(input.value, result.code) : result.code;
          list.replaceChildren();
          status.textContent = "";
          input.focus();
        });
        item.appendChild(button);
        list.appendChild(item);
      });
      status.textContent = results.length ? config.label + " : " + results.length : config.none;
    }

    function search() {
      var text = multiple ? lastToken(input.value) : input.value.trim();
      if (text.length < 2 || /^\d{8}-\d$/.test(text) || text === asked) { return; }
      asked = text;
      fetch(config.url + "?q=" + encodeURIComponent(text), { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) { if (asked === text) { show(data.results); } })
        .catch(function () { status.textContent = ""; });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, DELAY_MS);
    });
  }

  document.querySelectorAll("input[data-cpv-picker]").forEach(attach);
})();

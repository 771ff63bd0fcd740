"use strict";
// Case list, filters and lazily built case details. Data is untrusted: it only ever
// reaches the page through textContent, never innerHTML or attributes that run code.
(function () {
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var PAGE = 100;
  var shown = PAGE;
  var body = document.getElementById("case-rows");
  var fCand = document.getElementById("f-candidate");
  var fTag = document.getElementById("f-tag");
  var fVerdict = document.getElementById("f-verdict");
  var fSearch = document.getElementById("f-search");
  var count = document.getElementById("f-count");
  var more = document.getElementById("more");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  var detailsPromise = null;
  // Case details are gzip+base64 JSON, inflated once, on the first expand.
  function loadDetails() {
    if (!detailsPromise) {
      var bin = atob(document.getElementById("report-details").textContent.trim());
      var bytes = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
      detailsPromise = new Response(stream).text().then(JSON.parse);
    }
    return detailsPromise;
  }
  function money(v) { return v === null || v === undefined ? "n/a" : "$" + Number(v).toFixed(4); }
  function secs(v) { return v === null || v === undefined ? "n/a" : Number(v).toFixed(2) + "s"; }

  DATA.candidates.forEach(function (c, i) { var o = el("option", null, c); o.value = String(i); fCand.appendChild(o); });
  DATA.tags.forEach(function (t, i) { var o = el("option", null, t); o.value = String(i); fTag.appendChild(o); });

  function matches(row) {
    if (fCand.value !== "" && row[1] !== Number(fCand.value)) return false;
    if (fTag.value !== "" && row[2].indexOf(Number(fTag.value)) < 0) return false;
    var v = fVerdict.value;
    if (v === "regressed" || v === "improved") { if (row[6] !== v) return false; }
    else if (v === "notpass") { if (row[5] === "pass") return false; }
    else if (v !== "" && row[5] !== v) return false;
    var q = fSearch.value.trim().toLowerCase();
    return !q || String(row[0]).toLowerCase().indexOf(q) >= 0;
  }

  function render() {
    while (body.firstChild) body.removeChild(body.firstChild);
    var total = 0;
    for (var i = 0; i < DATA.cases.length; i++) {
      var row = DATA.cases[i];
      if (!matches(row)) continue;
      total++;
      if (total > shown) continue;
      body.appendChild(caseRow(i, row));
    }
    count.textContent = total + " of " + DATA.cases.length + " case × candidate rows";
    more.hidden = total <= shown;
  }

  function caseRow(i, row) {
    var tr = el("tr", "row");
    tr.id = "case-" + i;
    tr.appendChild(el("td", "mono case-id", row[0]));
    tr.appendChild(el("td", null, DATA.candidates[row[1]]));
    tr.appendChild(el("td", null, row[2].map(function (t) { return DATA.tags[t]; }).join(", ")));
    var verdict = row[5] + (row[6] ? " · " + row[6] : "") + (row[10] ? " · unverifiable" : "");
    tr.appendChild(el("td", "v-" + row[5], verdict));
    tr.appendChild(el("td", null, row[4] + "/" + row[3]));
    tr.appendChild(el("td", null, money(row[7])));
    tr.appendChild(el("td", null, secs(row[8])));
    tr.appendChild(el("td", null, row[9].join("; ")));
    tr.addEventListener("click", function () { toggle(i, tr); });
    return tr;
  }

  function toggle(i, tr) {
    var next = tr.nextSibling;
    if (next && next.className === "detail") { body.removeChild(next); tr.classList.remove("open"); return; }
    var d = el("tr", "detail");
    var td = el("td", null, "loading…");
    td.colSpan = 8;
    d.appendChild(td);
    loadDetails().then(function (details) {
      td.textContent = "";
      td.appendChild(detail(details[i]));
      d.setAttribute("data-loaded", "1");
    }, function (err) {
      td.textContent = "could not read case details: " + err;
    });
    body.insertBefore(d, tr.nextSibling);
    tr.classList.add("open");
  }

  function detail(det) {
    var box = el("div");
    if (det.diff) {
      box.appendChild(el("h4", null, "Write actions: expected against actual"));
      var diff = el("div", "diff");
      if (!det.diff.length) diff.appendChild(el("div", "d-same", "no write actions expected, none taken"));
      det.diff.forEach(function (line) {
        var mark = { same: "  ", changed: "~ ", missing: "- ", extra: "+ " }[line.op] || "? ";
        var label = { same: "as expected", changed: "arguments differ", missing: "expected, not done", extra: "done, not expected" }[line.op];
        diff.appendChild(el("div", "d-" + line.op, mark + line.tool + "  (" + label + ")"));
        line.args.forEach(function (a) {
          var text = "      " + a.key + ": ";
          if (a.same) text += a.actual;
          else if (a.expected === null) text += "unexpected " + a.actual;
          else if (a.actual === null) text += "expected " + a.expected + ", left out";
          else text += "expected " + a.expected + ", got " + a.actual;
          diff.appendChild(el("div", a.same ? "d-same" : "d-arg-bad", text));
        });
      });
      box.appendChild(diff);
    }
    det.runs.forEach(function (run, k) {
      var dt = el("details", "run");
      if (k === 0) dt.open = true;
      var head = "repeat " + run.repeat + ": " + run.status + (run.failure_reason ? " (" + run.failure_reason + ")" : "") +
        (run.correct ? " · correct" : " · incorrect") + (run.escaped ? " · escaped error" : "") +
        (run.critical ? " · critical" : "") + (run.infra ? " · infra error" : "") +
        (run.unverifiable ? " · unverifiable (a tool call nothing could answer)" : "") +
        " · " + money(run.cost) + (run.user_turns ? " · " + run.user_turns + " user turns" : "") +
        (run.user_cost ? " (user simulator " + money(run.user_cost) + ")" : "") + " · " + secs(run.latency) +
        (run.tokens[0] !== null ? " · " + run.tokens[0] + "+" + run.tokens[1] + " tokens" : "");
      dt.appendChild(el("summary", null, head));
      if (run.reasons.length) {
        var ul = el("ul");
        run.reasons.forEach(function (r) { ul.appendChild(el("li", "policy", r)); });
        dt.appendChild(ul);
      }
      run.scores.forEach(function (s) {
        dt.appendChild(el("div", "muted", "score " + s.scorer + ": " + (s.score === undefined ? "n/a" : s.score) +
          (s.passed === undefined ? "" : s.passed ? " (passed)" : " (failed)") + (s.reason ? " — " + s.reason : "") +
          (s.error ? " — error: " + s.error : "")));
      });
      var pane = el("div", "run-body");
      pane.appendChild(timeline(run.steps));
      if (run.state_diff) pane.appendChild(stateDiff(run.state_diff));
      dt.appendChild(pane);
      box.appendChild(dt);
    });
    return box;
  }

  function stateDiff(changes) {
    var box = el("div", "state-diff");
    box.appendChild(el("h4", null, "State changed by this run"));
    if (!changes.length) box.appendChild(el("div", "d-same", "nothing changed"));
    changes.forEach(function (c) {
      var text = c.old === undefined ? "+ " + c.path + ": " + c["new"]
        : c["new"] === undefined ? "- " + c.path + ": " + c.old
        : "~ " + c.path + ": " + c.old + " → " + c["new"];
      box.appendChild(el("div", c.old === undefined ? "d-extra" : c["new"] === undefined ? "d-missing" : "d-changed", text));
    });
    return box;
  }

  function timeline(steps) {
    var ol = el("ol", "timeline");
    steps.forEach(function (s) {
      var li = el("li", s.kind === "model" ? "step-model" : (s.kind === "user" ? "step-user" : "step-tool"));
      if (s.kind === "user") {
        // A turn of the (simulated or recorded) user in a conversation.
        var who = "user";
        if (s.cost_usd) who += " · simulator " + money(s.cost_usd);
        if (s.cached) who += " · cached";
        li.appendChild(el("b", null, who));
        if (s.content) li.appendChild(el("pre", null, s.content));
      } else if (s.kind === "model") {
        var meta = "model call";
        if (s.prompt_tokens !== undefined) meta += " · " + s.prompt_tokens + "+" + (s.completion_tokens || 0) + " tokens";
        if (s.cost_usd !== undefined) meta += " · " + money(s.cost_usd);
        if (s.latency_s !== undefined) meta += " · " + secs(s.latency_s);
        if (s.cached) meta += " · cached";
        li.appendChild(el("b", null, meta));
        if (s.content) li.appendChild(el("pre", null, s.content));
        if (s.tool_calls) li.appendChild(el("pre", "muted", "calls " + s.tool_calls));
      } else {
        var head = "tool " + (s.tool || "?") + (s.effect ? " [" + s.effect + "]" : "") + (s.error ? " · error" : "") +
          (s.divergence ? " · no recorded answer" : "") + (s.answered_by ? " · answered by " + s.answered_by : "") +
          (s.env_output !== undefined ? " · environment disagrees" : "") +
          (s.latency_s !== undefined ? " · " + secs(s.latency_s) : "");
        li.appendChild(el("b", null, head));
        if (s.policy) li.appendChild(el("div", "policy", "policy: " + s.policy));
        if (s.invalid) li.appendChild(el("div", "policy", "invalid: " + s.invalid));
        if (s.args !== undefined) li.appendChild(el("pre", null, "args: " + s.args));
        if (s.output !== undefined) li.appendChild(el("pre", null, "output: " + s.output));
        if (s.env_output !== undefined) li.appendChild(el("pre", "policy", "environment: " + s.env_output));
        if (s.traceback !== undefined) li.appendChild(el("pre", "policy", s.traceback));
      }
      ol.appendChild(li);
    });
    return ol;
  }

  function openFromHash() {
    var m = /^#case-(\d+)$/.exec(location.hash);
    if (!m) return;
    var i = Number(m[1]);
    if (!(i >= 0 && i < DATA.cases.length)) return;
    var tr = document.getElementById("case-" + i);
    if (!tr) {
      fCand.value = ""; fTag.value = ""; fVerdict.value = ""; fSearch.value = String(DATA.cases[i][0]);
      shown = PAGE; render();
      tr = document.getElementById("case-" + i);
    }
    if (tr) {
      var next = tr.nextSibling;
      if (!(next && next.className === "detail")) toggle(i, tr);
      tr.scrollIntoView();
    }
  }

  [fCand, fTag, fVerdict].forEach(function (f) { f.addEventListener("change", function () { shown = PAGE; render(); }); });
  fSearch.addEventListener("input", function () { shown = PAGE; render(); });
  more.addEventListener("click", function () { shown += PAGE * 5; render(); });
  window.addEventListener("hashchange", openFromHash);
  render();
  openFromHash();
  document.body.setAttribute("data-ready", "1");
})();

// The page of a session (--html): builds the checks, the timeline and the
// message map from the session's JSON (the <script id="session"> element),
// and shows what is clicked in the detail pane. Plain DOM, no library.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("session").textContent);
  var calls = [], packets = [], rows = [], maps = [], checks = [];
  data.events.forEach(function (e) {
    if (e.kind === "call") { calls[e.index] = e; rows.push(e); }
    else if (e.kind === "packet") { packets[e.index] = e; rows.push(e); }
    else if (e.kind === "step" || e.kind === "actor_failed") { rows.push(e); }
    else if (e.kind === "map") { maps.push(e); }
    else if (e.kind === "check") { checks.push(e); }
  });
  // The message map both ways: a call's row, and the calls a packet carries.
  var mapOfCall = {}, callsOfPacket = {};
  maps.forEach(function (m) {
    mapOfCall[m.call] = m;
    m.packets.forEach(function (j) { (callsOfPacket[j] = callsOfPacket[j] || []).push(m.call); });
  });

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) { parent.appendChild(arguments[i]); }
    return parent;
  }
  function ms(us) { return (us / 1000).toFixed(3) + " ms"; }
  function callText(c) {
    var s = c.op;
    if (c.error) { s += " \u2192 " + c.error; }
    else if (c.timed_out) { s += " \u2192 timed out"; }
    else if (c.returned !== null && c.returned !== undefined) { s += " \u2192 " + c.returned; }
    if (c.data) { s += " \"" + c.data + "\""; }
    return s;
  }
  function packetText(p) {
    if (p.error) { return "not decoded: " + p.error; }
    var s = p.src + " \u2192 " + p.dst + "  ";
    if (p.proto === "tcp") {
      s += p.flags + " seq=" + p.seq + (p.ack === null ? "" : " ack=" + p.ack) + " len=" + p.len;
    }
    else { s += p.proto + " len=" + p.len; }
    if (p.data) { s += " \"" + p.data + "\""; }
    return s;
  }
  function chip(attr, i, text) {
    var c = el("span", "chip mono", text);
    c.setAttribute(attr, i);
    return c;
  }
  function flags(p, into) {
    (p.marks || []).forEach(function (f) { add(into, el("span", "flag", f)); });
  }

  // Summary and checks.
  var failed = checks.filter(function (c) { return !c.passed; }).length;
  document.getElementById("summary").textContent = calls.length + " calls, " +
    packets.length + " packets" + (checks.length ? ", " + (checks.length - failed) +
    " of " + checks.length + " checks passed" : "");
  var ul = document.getElementById("checks");
  if (!checks.length) { add(ul, el("li", "hint", "No checks in this session.")); }
  checks.forEach(function (c) {
    var li = add(el("li"), el("span", c.passed ? "ok" : "bad", c.passed ? "\u2713 " : "\u2717 "));
    add(li, el("span", "mono", c.name), document.createTextNode(": " + c.detail));
    add(ul, li);
  });

  // The timeline: every call (when it returned) and packet, in order.
  var tl = document.getElementById("timeline");
  add(tl, add(el("tr"), el("th", "num", "time"), el("th", null, "who"), el("th", null, "what")));
  rows.forEach(function (e) {
    var tr = el("tr");
    if (e.kind === "call") {
      tr.setAttribute("data-call", e.index);
      add(tr, el("td", "num mono", ms(e.t_us + e.waited_us)), el("td", null, e.actor),
        el("td", "mono" + (e.error || e.timed_out ? " bad" : ""), callText(e)));
    } else if (e.kind === "packet") {
      tr.setAttribute("data-packet", e.index);
      var what = el("td", "mono", "#" + e.frame + "  " + packetText(e));
      flags(e, what);
      add(tr, el("td", "num mono", ms(e.t_us)), el("td", null, "packet"), what);
    } else if (e.kind === "step") {
      tr.className = "step";
      add(tr, el("td", "num mono", ms(e.t_us)), el("td", null, e.actor), el("td", "mono", e.step));
    } else {
      add(tr, el("td", "num mono", ms(e.t_us)), el("td", null, e.actor), el("td", "bad", e.message));
    }
    add(tl, tr);
  });

  // The message map: each call with the packets that carried its bytes.
  var mt = document.getElementById("map");
  add(mt, add(el("tr"), el("th", null, "call"), el("th", null, "packets"), el("th", null, "bytes from")));
  maps.forEach(function (m) {
    var c = calls[m.call];
    var tr = el("tr");
    tr.setAttribute("data-call", m.call);
    var ps = el("td");
    m.packets.forEach(function (j) { add(ps, chip("data-packet", j, "#" + packets[j].frame)); });
    var from = el("td");
    m.from.forEach(function (f) {
      add(from, chip("data-call", f.call, calls[f.call].actor + " " + calls[f.call].op +
        " [" + f.range[0] + ", " + f.range[1] + ")"));
    });
    add(mt, add(tr, el("td", "mono", c ? c.actor + " " + callText(c) : "call " + m.call), ps, from));
  });
  if (!maps.length) { add(mt, add(el("tr"), el("td", "hint", "No rows: the map needs the capture."))); }

  // Arrows are thin: a wide transparent copy of each line takes the clicks.
  Array.prototype.forEach.call(document.querySelectorAll("#diagram [data-packet] line, #diagram [data-packet] path"), function (l) {
    var hit = l.cloneNode(false);
    hit.setAttribute("class", "hit");
    hit.removeAttribute("marker-end");
    l.parentNode.insertBefore(hit, l);
  });

  var pane = document.getElementById("detail");
  function select(attr, i) {
    Array.prototype.forEach.call(document.querySelectorAll(".sel"), function (e) { e.classList.remove("sel"); });
    Array.prototype.forEach.call(document.querySelectorAll("[" + attr + "=\"" + i + "\"]"), function (e) {
      if (!pane.contains(e)) { e.classList.add("sel"); }
    });
  }
  function kv(pairs) {
    var dl = el("dl", "kv");
    pairs.forEach(function (p) {
      if (p[1] !== null && p[1] !== undefined && p[1] !== "") { add(dl, el("dt", null, p[0]), el("dd", null, p[1])); }
    });
    return dl;
  }

  function showCall(i) {
    var c = calls[i];
    pane.textContent = "";
    pane.onmouseover = pane.onmouseout = pane.onclick = null;
    add(pane, el("h3", null, c.actor + ": " + c.op));
    add(pane, kv([
      ["op", c.syscall ? c.op + " (" + c.syscall + ")" : c.op],
      ["socket", c.sock], ["arguments", c.args], ["length asked", c.len],
      ["result", c.error ? c.error : (c.timed_out ? "timed out" : c.returned)],
      ["data", c.data === null ? null : "\"" + c.data + "\""],
      ["stream bytes", c.stream ? "[" + c.stream[0] + ", " + c.stream[1] + ")" : null],
      ["local", c.local], ["peer", c.peer],
      ["started", ms(c.t_us)], ["waited", ms(c.waited_us)], ["returned at", ms(c.t_us + c.waited_us)],
      ["repeated", c.repeat], ["process", c.pid ? c.comm + " pid " + c.pid + " tid " + c.tid + " fd " + c.fd : null]
    ]));
    var m = mapOfCall[i];
    add(pane, el("h4", null, "Packets the map ties it to"));
    var p = el("p");
    if (m && m.packets.length) {
      m.packets.forEach(function (j) { add(p, chip("data-packet", j, "#" + packets[j].frame + " " + packetText(packets[j]))); });
    } else { p.className = "hint"; p.textContent = "None."; }
    add(pane, p);
    if (m && m.from.length) {
      add(pane, el("h4", null, "Its bytes came from"));
      var q = el("p");
      m.from.forEach(function (f) {
        add(q, chip("data-call", f.call, calls[f.call].actor + " " + callText(calls[f.call]) +
          " bytes [" + f.range[0] + ", " + f.range[1] + ")"));
      });
      add(pane, q);
    }
  }

  function showPacket(i) {
    var p = packets[i];
    pane.textContent = "";
    var h = add(pane, el("h3", null, "Packet #" + p.frame + " at " + ms(p.t_us)));
    flags(p, h);
    add(pane, el("p", "mono", packetText(p)));
    var cs = callsOfPacket[i] || [];
    if (cs.length) {
      var q = add(el("p"), el("span", null, "Carries the bytes of: "));
      cs.forEach(function (k) { add(q, chip("data-call", k, calls[k].actor + " " + callText(calls[k]))); });
      add(pane, q);
    }
    if (p.analysis_text) {
      var lines = p.analysis_text.replace(/\n$/, "").split("\n");
      add(pane, el("h4", "k-analysis", lines[0]));
      add(pane, el("pre", "analysis", lines.slice(1).join("\n")));
    }
    if (!p.layers) { add(pane, el("p", "bad", "Not taken apart: " + (p.dissect_error || p.error))); }
    var rowsByField = [];
    (p.layers || []).forEach(function (l) {
      add(pane, el("h4", "k-" + l.kind, l.title + ": bytes " + l.range[0] + " to " + (l.range[1] - 1) +
        " (" + (l.range[1] - l.range[0]) + " bytes)"));
      if (l.remark) { add(pane, el("p", "remark", l.remark)); }
      var t = el("table", "fields");
      l.fields.forEach(function (f) {
        var tr = el("tr", "field");
        tr.setAttribute("data-from", f.range[0]);
        tr.setAttribute("data-to", f.range[1]);
        add(tr, el("td", null, f.name), el("td", "mono", f.value), el("td", "note", f.note));
        rowsByField.push(tr);
        add(t, tr);
      });
      add(pane, t);
    });
    add(pane, el("h4", null, "Bytes"));
    var pre = el("pre", "bytes"), bytes = [];
    var kindAt = [];
    (p.layers || []).forEach(function (l) { for (var b = l.range[0]; b < l.range[1]; b++) { kindAt[b] = l.kind; } });
    var n = p.bytes.length / 2;
    for (var line = 0; line < n; line += 16) {
      add(pre, el("span", "off", ("000" + line.toString(16)).slice(-4) + "  "));
      var ascii = [];
      for (var b = line; b < line + 16; b++) {
        if (b >= n) { add(pre, document.createTextNode(b === line + 7 ? "    " : "   ")); continue; }
        var hx = p.bytes.substr(2 * b, 2), v = parseInt(hx, 16);
        var s = el("span", kindAt[b] ? "k-" + kindAt[b] : null, hx);
        s.setAttribute("data-b", b);
        add(pre, s, document.createTextNode(b === line + 7 ? "  " : " "));
        var a = el("span", kindAt[b] ? "k-" + kindAt[b] : null, v >= 32 && v < 127 ? String.fromCharCode(v) : ".");
        a.setAttribute("data-b", b);
        ascii.push(a);
        bytes[b] = bytes[b] || [];
        bytes[b].push(s, a);
      }
      add(pre, document.createTextNode(" "));
      ascii.forEach(function (a) { add(pre, a); });
      add(pre, document.createTextNode("\n"));
    }
    add(pane, pre);
    // Pointing at a field lights its bytes; pointing at a byte, its field
    // (the narrowest that holds it) and that field's bytes.
    var pinned = null;
    function light(tr) {
      Array.prototype.forEach.call(pane.querySelectorAll(".hl"), function (e) { e.classList.remove("hl"); });
      if (!tr) { return; }
      tr.classList.add("hl");
      for (var b = +tr.getAttribute("data-from"); b < +tr.getAttribute("data-to"); b++) {
        (bytes[b] || []).forEach(function (s) { s.classList.add("hl"); });
      }
    }
    function fieldAt(b) {
      var best = null;
      rowsByField.forEach(function (tr) {
        var f = +tr.getAttribute("data-from"), t = +tr.getAttribute("data-to");
        if (b >= f && b < t && (!best || t - f < best.to - best.from)) { best = { tr: tr, from: f, to: t }; }
      });
      return best && best.tr;
    }
    function target(e) {
      var tr = e.target.closest && e.target.closest("tr.field");
      if (tr) { return tr; }
      var s = e.target.closest && e.target.closest("[data-b]");
      return s ? fieldAt(+s.getAttribute("data-b")) : null;
    }
    pane.onmouseover = function (e) { var t = target(e); if (t) { light(t); } };
    pane.onmouseout = function () { light(pinned); };
    pane.onclick = function (e) { var t = target(e); if (t) { pinned = t; light(t); } };
  }

  // A packet or call by its index; its address (#packet-3, #call-5) can
  // be kept and opened again.
  function show(what, i) {
    if (what === "packet" && packets[i]) { select("data-packet", i); showPacket(i); }
    else if (what === "call" && calls[i]) { select("data-call", i); showCall(i); }
    else { return; }
    if (history.replaceState) { history.replaceState(null, "", "#" + what + "-" + i); }
  }
  document.addEventListener("click", function (e) {
    var t = e.target.closest && e.target.closest("[data-packet],[data-call]");
    if (!t) { return; }
    if (t.hasAttribute("data-packet")) { show("packet", +t.getAttribute("data-packet")); }
    else { show("call", +t.getAttribute("data-call")); }
  });
  var at = /^#(packet|call)-(\d+)$/.exec(location.hash);
  if (at) { show(at[1], +at[2]); }
})();

/**
 * The dashboard's browser script, served as `assets/dashboard.js` (the
 * Content-Security-Policy allows scripts from the dashboard's own routes
 * only). It keeps pages live from the JSON endpoints, when the server
 * pushes an event (`api/events`) and on a timer (`data-refresh` ms; every
 * fifth tick while events flow): counts on the overview and queues pages,
 * rows of the first page of a list, and a task's page (re-read from the
 * server, which escapes every value, when the task changes). It writes stored values with
 * `textContent` only. It draws the throughput chart with uPlot.
 *
 * @module
 */

/** The script's source (plain ES2019, no build step). */
export const CLIENT_JS: string = String.raw`"use strict";
(function () {
  var body = document.body;
  var base = body.dataset.base || "/";
  var page = body.dataset.page;
  var refresh = Number(body.dataset.refresh) || 2000;
  var live = document.getElementById("live");

  function setLive(ok) {
    if (live) live.className = ok ? "live" : "live stale";
  }
  function getJson(path) {
    return fetch(base + path, { headers: { accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status + " " + r.statusText);
        return r.json();
      });
  }
  // Every live part of the page registers a refresher; they run on a timer,
  // and at once when the server pushes an event (api/events). While events
  // flow, the timer only runs them every fifth tick, as a safety net.
  var refreshers = [];
  var pushed = false;
  var ticks = 0;
  function every(fn, wants) {
    var busy = false;
    refreshers.push({
      wants: wants || function () { return true; },
      run: function () {
        if (busy || document.hidden) return;
        busy = true;
        Promise.resolve().then(fn).then(function () { setLive(true); }, function () { setLive(false); })
          .then(function () { busy = false; });
      }
    });
  }
  function runAll(event) {
    refreshers.forEach(function (r) { if (!event || r.wants(event)) r.run(); });
  }
  setInterval(function () {
    ticks++;
    if (!pushed || ticks % 5 === 0) runAll(null);
  }, refresh);
  if (typeof window.EventSource === "function") {
    var pending = null;
    var source = new window.EventSource(base + "api/events");
    // A change between the page's render (or a dropped connection) and
    // the stream's opening came with no event: one refresh catches up, and
    // every change after the open is pushed.
    source.onopen = function () { pushed = true; setLive(true); runAll(null); };
    source.onerror = function () { pushed = false; };
    source.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      // Bursts of events make one refresh.
      if (pending === null) {
        pending = [];
        setTimeout(function () {
          var batch = pending;
          pending = null;
          refreshers.forEach(function (r) {
            if (batch.some(function (e) { return r.wants(e); })) r.run();
          });
        }, 100);
      }
      pending.push(event);
    };
  }
  function setText(key, value) {
    var els = document.querySelectorAll("[data-live]");
    for (var i = 0; i < els.length; i++) {
      if (els[i].getAttribute("data-live") === key) {
        var text = String(value);
        if (els[i].textContent !== text) {
          els[i].textContent = text;
          els[i].classList.toggle("zero", text === "0");
          els[i].classList.add("changed");
        }
      }
    }
  }

  // Forms that ask first (prune, cancel, bulk retry).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  function overview() {
    var chart = null;
    var note = document.getElementById("chart-note");
    var box = document.getElementById("chart");
    function drawChart() {
      return getJson("api/throughput").then(function (t) {
        var data = [t.times, t.completed, t.failed];
        if (note) {
          note.textContent = t.capped
            ? "From the " + t.sampled + " most recently enqueued finished tasks."
            : "";
        }
        if (!box || typeof window.uPlot !== "function") {
          if (box) box.textContent = "Chart unavailable: " + t.completed.reduce(function (a, b) { return a + b; }, 0) + " completed, " + t.failed.reduce(function (a, b) { return a + b; }, 0) + " failed in the last hour.";
          return;
        }
        if (chart) { chart.setData(data); return; }
        chart = new window.uPlot({
          width: Math.max(300, box.clientWidth - 8),
          height: 220,
          scales: { y: { range: function (u, min, max) { return [0, Math.max(4, max)]; } } },
          series: [
            {},
            { label: "completed", stroke: "#1a7f37", fill: "rgba(26,127,55,0.12)", width: 2, points: { show: false } },
            { label: "failed", stroke: "#cf222e", fill: "rgba(207,34,46,0.10)", width: 2, points: { show: false } }
          ],
          axes: [{}, { label: "per minute" }]
        }, data, box);
        window.addEventListener("resize", function () {
          chart.setSize({ width: Math.max(300, box.clientWidth - 8), height: 220 });
        });
      });
    }
    var drawn = Date.now();
    drawChart().catch(function () { setLive(false); });
    every(function () {
      var counts = liveCounts();
      // The chart moves by the minute: redraw it every 10 s at most.
      if (Date.now() - drawn < 10000) return counts;
      drawn = Date.now();
      return Promise.all([counts, drawChart()]);
    });
  }

  // A task name's row of the overview's table, for a name that appeared
  // since the page loaded (built with textContent, as every value).
  function addNameRow(row) {
    var tbody = document.querySelector("[data-testid=by-name] tbody");
    if (!tbody) return;
    var tr = document.createElement("tr");
    var td = document.createElement("td");
    var a = document.createElement("a");
    a.href = base + "tasks?name=" + encodeURIComponent(row.name);
    a.textContent = row.name;
    td.appendChild(a);
    tr.appendChild(td);
    Object.keys(row.counts).forEach(function (s) {
      var cell = document.createElement("td");
      cell.className = "num";
      var link = document.createElement("a");
      link.href = base + "tasks?name=" + encodeURIComponent(row.name) + "&status=" + encodeURIComponent(s);
      link.setAttribute("data-live", "name." + row.name + "." + s);
      link.textContent = String(row.counts[s]);
      if (row.counts[s] === 0) link.className = "zero";
      cell.appendChild(link);
      tr.appendChild(cell);
    });
    tr.setAttribute("data-name", row.name);
    tbody.appendChild(tr);
  }

  // The counts of the overview and queues pages, from api/overview.
  function liveCounts() {
    return getJson("api/overview").then(function (o) {
      Object.keys(o.stats).forEach(function (s) { setText("stats." + s, o.stats[s]); });
      var shown = {};
      var links = document.querySelectorAll("[data-testid=by-name] tbody tr td:first-child a");
      for (var i = 0; i < links.length; i++) shown[links[i].textContent] = true;
      o.byName.forEach(function (row) {
        if (!shown[row.name] && page === "overview") addNameRow(row);
        Object.keys(row.counts).forEach(function (s) { setText("name." + row.name + "." + s, row.counts[s]); });
      });
      (o.queues || []).forEach(function (q) {
        Object.keys(q.counts).forEach(function (s) { setText("queue." + q.name + "." + s, q.counts[s]); });
      });
    });
  }

  function badge(status) {
    var span = document.createElement("span");
    span.className = "badge s-" + status;
    span.setAttribute("data-status", status);
    span.textContent = status;
    return span;
  }
  function cell(row, content, cls) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    if (typeof content === "string") td.textContent = content; else td.appendChild(content);
    row.appendChild(td);
  }

  function list() {
    var table = document.querySelector("[data-testid=task-list]");
    if (!table || table.getAttribute("data-live-list") !== "yes") return;
    var query = table.getAttribute("data-query") || "";
    var tbody = table.querySelector("tbody");
    every(function () {
      return getJson("api/tasks" + query).then(function (res) {
        var rows = document.createDocumentFragment();
        res.tasks.forEach(function (t) {
          var tr = document.createElement("tr");
          tr.setAttribute("data-id", String(t.id));
          var a = document.createElement("a");
          a.href = base + "tasks/" + encodeURIComponent(String(t.id));
          a.textContent = String(t.id);
          cell(tr, a, "num");
          cell(tr, t.name);
          cell(tr, t.queue);
          cell(tr, badge(t.status));
          cell(tr, t.attempts + "/" + t.maxAttempts, "num");
          cell(tr, t.createdAt);
          cell(tr, t.finishedAt || "");
          rows.appendChild(tr);
        });
        tbody.replaceChildren(rows);
        var empty = document.querySelector("[data-testid=no-tasks]");
        if (empty) empty.hidden = res.tasks.length > 0;
      });
    });
  }

  function task() {
    var h1 = document.querySelector("h1[data-task-id]");
    if (!h1) return;
    var id = h1.getAttribute("data-task-id");
    every(function () {
      return getJson("api/tasks/" + encodeURIComponent(id)).then(function (t) {
        // The same fields, in the same order, as liveState() on the server.
        var state = JSON.stringify([t.status, t.attempts, t.historyLength, t.progress, t.workerId]);
        var current = document.querySelector("h1[data-task-id]");
        if (current && current.getAttribute("data-state") === state) return;
        // The server renders (and escapes) the page; swap in its main part.
        return fetch(location.href, { credentials: "same-origin" }).then(function (r) { return r.text(); })
          .then(function (text) {
            var doc = new DOMParser().parseFromString(text, "text/html");
            var fresh = doc.querySelector("main");
            var main = document.querySelector("main");
            if (fresh && main) main.replaceWith(document.adoptNode(fresh));
          });
      });
    }, function (event) { return String(event.taskId) === id; });
  }

  if (page === "overview") overview();
  else if (page === "queues") every(liveCounts);
  else if (page === "tasks") list();
  else if (page === "task") task();
})();
`;

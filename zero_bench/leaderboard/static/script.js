
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("leaderboard-data").textContent);
  var models = {};
  data.models.forEach(function (m) { models[m.slug] = m; });
  var tasks = {};
  data.tasks.forEach(function (t) { tasks[t.name] = t; });
  var SVG = "http://www.w3.org/2000/svg";
  var SETTINGS = ["zero-shot", "fine-tuned", "setting not stated"];
  var STATUSES = ["re-scored", "reported"];
  var COLOURS = {"zero-shot/re-scored": "#1f77b4", "zero-shot/reported": "#aec7e8",
                 "fine-tuned/re-scored": "#d62728", "fine-tuned/reported": "#ff9896",
                 "setting not stated/reported": "#c7c7c7"};
  var state = {task: "", setting: "", status: "", model: ""};
  var sorts = {};

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) { Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); }); }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) { node.textContent = String(text); }
    return node;
  }
  function fmt(v) { return (v === null || v === undefined) ? "\u2013" : Number(v).toFixed(2); }
  function visible(row) {
    return (!state.setting || row.setting === state.setting) && (!state.status || row.status === state.status) &&
      (!state.model || models[row.slug].name.toLowerCase().indexOf(state.model) !== -1);
  }
  function cmp(a, b) { return a < b ? -1 : (a > b ? 1 : 0); }
  function sortRows(rows, columns, sort) {
    var col = columns.filter(function (c) { return c.key === sort.key; })[0];
    return rows.slice().sort(function (a, b) {
      var x = col.get(a), y = col.get(b);
      var xm = x === null || x === undefined, ym = y === null || y === undefined;
      if (xm || ym) { if (xm && ym) { return 0; } return xm ? 1 : -1; }  // missing values last
      var r = col.numeric ? x - y : cmp(String(x).toLowerCase(), String(y).toLowerCase());
      if (r === 0) { r = cmp(models[a.slug].name, models[b.slug].name); return r; }
      return sort.dir === "ascending" ? r : -r;
    });
  }
  function modelButton(slug) {
    var b = el("button", {"type": "button", "class": "model", "data-slug": slug}, models[slug].name);
    b.addEventListener("click", function () { showCard(slug); });
    return b;
  }
  function makeTable(id, columns, rows, defaultSort) {
    var sort = sorts[id] || defaultSort;
    var table = el("table", {"id": id});
    var head = el("tr");
    columns.forEach(function (c) {
      var th = el("th", {"data-key": c.key, "class": c.numeric ? "num" : "text", "scope": "col"}, c.label);
      if (c.key === sort.key) { th.setAttribute("aria-sort", sort.dir); }
      th.addEventListener("click", function () {
        var cur = sorts[id] || defaultSort;
        var dir = cur.key === c.key ? (cur.dir === "ascending" ? "descending" : "ascending")
                                    : (c.numeric ? "descending" : "ascending");
        sorts[id] = {key: c.key, dir: dir};
        render();
      });
      head.appendChild(th);
    });
    table.appendChild(el("thead")).appendChild(head);
    var body = table.appendChild(el("tbody"));
    sortRows(rows, columns, sort).forEach(function (row) {
      var tr = el("tr", {"data-slug": row.slug});
      columns.forEach(function (c) {
        var td = el("td", {"class": c.numeric ? "num" : "text"});
        if (c.key === "model") { td.appendChild(modelButton(row.slug)); }
        else if (c.cell) { c.cell(td, row); }
        else { td.textContent = c.integer ? String(c.get(row)) : (c.numeric ? fmt(c.get(row)) : String(c.get(row))); }
        if (c.key === "status") { td.className += " status-" + row.status; }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    return table;
  }
  function reportLinks(td, row) {
    // "12.50 (zero-250m)": the share, then a link to each audit summary behind it (paths made by the build)
    var share = row.contamination;
    td.textContent = fmt(share ? share.percent : null);
    if (!share) { return; }
    td.appendChild(document.createTextNode(" ("));
    share.reports.forEach(function (r, i) {
      if (i) { td.appendChild(document.createTextNode(", ")); }
      var a = el("a", {"class": "report", "rel": "noopener noreferrer"}, r.corpus);
      if (/^contamination\/[a-z0-9.-]+\.md$/.test(r.href)) { a.setAttribute("href", r.href); }
      td.appendChild(a);
    });
    td.appendChild(document.createTextNode(")"));
  }
  function chart(task, rows) {
    var top = rows.filter(function (r) { return r.metrics[task.primary] !== undefined && r.metrics[task.primary] !== null; })
      .sort(function (a, b) { return (b.metrics[task.primary] - a.metrics[task.primary]) ||
                                     cmp(models[a.slug].name, models[b.slug].name); }).slice(0, 20);
    var rowH = 20, left = 300, width = 720, height = top.length * rowH + 24;
    var root = svg("svg", {"class": "chart", "width": width, "height": height, "role": "img",
                           "viewBox": "0 0 " + width + " " + height});
    root.appendChild(svg("title", {}, task.title + ": " + task.primary + " (top " + top.length + ")"));
    top.forEach(function (r, i) {
      var v = r.metrics[task.primary], y = i * rowH + 4;
      var name = models[r.slug].name;
      var label = (name.length > 38 ? name.slice(0, 37) + "\u2026" : name) + " (" + r.setting + ", " + r.status + ")";
      root.appendChild(svg("text", {"x": left - 6, "y": y + 13, "text-anchor": "end"}, label));
      root.appendChild(svg("rect", {"x": left, "y": y, "height": rowH - 4, "width": Math.max(0, v) * (width - left - 50) / 100,
                                    "fill": COLOURS[r.setting + "/" + r.status]}));
      root.appendChild(svg("text", {"x": left + v * (width - left - 50) / 100 + 4, "y": y + 13}, fmt(v)));
    });
    root.appendChild(svg("text", {"x": left, "y": height - 4}, "0"));
    root.appendChild(svg("text", {"x": width - 50, "y": height - 4, "text-anchor": "end"}, "100"));
    return root;
  }
  function groupSections(parent, id, rows, columns, defaultSort) {
    var any = false;
    SETTINGS.forEach(function (setting) {
      STATUSES.forEach(function (status) {
        var part = rows.filter(function (r) { return r.setting === setting && r.status === status; });
        if (!part.length) { return; }
        any = true;
        parent.appendChild(el("h3", null, setting + ", " + status + (status === "reported" ? " (not re-scored)" : "")));
        parent.appendChild(makeTable(id + "--" + setting + "--" + status, columns, part, defaultSort));
      });
    });
    if (!any) { parent.appendChild(el("p", {"class": "empty"}, "No entries match the filters.")); }
  }
  function renderSuite(suite) {
    var n = suite.tasks.length;
    var sec = document.getElementById("content").appendChild(el("section", {"id": "suite-" + suite.name}));
    sec.appendChild(el("h2", null, "Suite " + suite.name + ": " + suite.title));
    sec.appendChild(el("p", null, "Mean over the suite's " + n + " tasks, given only for a model with all " + n +
                                  " (Top-5 over the tasks with at least 5 classes); " + data.gap_label +
                                  ": suite Top-1 minus R2D2's. Tasks: " + suite.tasks.join(", ") + "."));
    var columns = [{key: "model", label: "Model", get: function (r) { return models[r.slug].name; }}];
    ["acc1", "acc5", "mean_per_class_recall"].forEach(function (m) {
      columns.push({key: m, label: data.labels[m] + " (mean)", numeric: true,
                    get: function (r) { var v = r.metrics[m]; return v === undefined ? null : v; }});
    });
    columns.push({key: "gap", label: data.gap_label, numeric: true, get: function (r) { return r.gap; }});
    columns.push({key: "covered", label: "Tasks (of " + n + ")", numeric: true, integer: true,
                  get: function (r) { return r.covered; }});
    columns.push({key: "protocol", label: "Protocol", get: function (r) { return r.protocol; }});
    groupSections(sec, "table-suite-" + suite.name, suite.rows.filter(visible), columns, {key: "acc1", dir: "descending"});
  }
  function render() {
    var content = document.getElementById("content");
    content.replaceChildren();
    if (!state.task) {
      var sec = content.appendChild(el("section", {"id": "overall"}));
      sec.appendChild(el("h2", null, "Overall ranking"));
      sec.appendChild(el("p", null, "Mean of each retrieval and matching task's primary metric over the tasks a " +
                                    "model covers (of " + data.n_tasks + "); coverage shown. Classification is " +
                                    "ranked by suite below."));
      groupSections(sec, "table-overall", data.overall.filter(visible), [
        {key: "rank", label: "Rank", numeric: true, integer: true, get: function (r) { return r.rank; }},
        {key: "model", label: "Model", get: function (r) { return models[r.slug].name; }},
        {key: "score", label: "Mean primary", numeric: true, get: function (r) { return r.score; }},
        {key: "covered", label: "Tasks", numeric: true, integer: true, get: function (r) { return r.covered; }},
        {key: "tasks", label: "Covered tasks", get: function (r) { return r.tasks; }}
      ], {key: "score", dir: "descending"});
      data.suites.forEach(renderSuite);
    }
    data.tasks.forEach(function (task) {
      if (state.task && state.task !== task.name) { return; }
      var rows = data.entries.filter(function (e) { return e.task === task.name && visible(e); });
      var sec = content.appendChild(el("section", {"id": "task-" + task.name, "data-task": task.name}));
      sec.appendChild(el("h2", null, task.title + " (" + task.name + ", " + task.split + ")"));
      var note = "Primary metric: " + task.primary + (task.mean_recall ? "; mean recall: " + task.mean_recall : "");
      sec.appendChild(el("p", null, note));
      if (!rows.length) { sec.appendChild(el("p", {"class": "empty"}, "No entries.")); return; }
      sec.appendChild(chart(task, rows));
      var columns = [{key: "model", label: "Model", get: function (r) { return models[r.slug].name; }}];
      task.metrics.forEach(function (m) {
        columns.push({key: m, label: data.labels[m] + (m === task.primary ? " *" : ""), numeric: true,
                      get: function (r) { var v = r.metrics[m]; return v === undefined ? null : v; }});
      });
      columns.push({key: "gap", label: data.gap_label, numeric: true, get: function (r) { return r.gap; }});
      if (task.kind === "classification") {
        columns.push({key: "protocol", label: "Protocol", get: function (r) { return r.protocol; }});
      }
      if (rows.some(function (r) { return r.contamination; })) {
        columns.push({key: "contamination", label: data.contamination_label, numeric: true, cell: reportLinks,
                      get: function (r) { return r.contamination ? r.contamination.percent : null; }});
      }
      columns.push({key: "source", label: "Source", get: function (r) { return r.source; }});
      groupSections(sec, "table-" + task.name, rows, columns, {key: task.primary, dir: "descending"});
    });
  }
  function showCard(slug) {
    var m = models[slug];
    var card = document.getElementById("card");
    document.getElementById("card-title").textContent = m.name;
    var dl = document.getElementById("card-fields");
    dl.replaceChildren();
    [["Organisation", m.organisation], ["Parameters", m.parameters === null ? "not stated" : m.parameters.toLocaleString("en")],
     ["Pre-training data", m.training_data],
     ["Training corpora", m.training_corpora.length ? m.training_corpora.map(function (c) {
       return c.name + " (declared by: " + c.source + ")"; }).join("; ") : "not declared"],
     ["Checkpoint", m.checkpoint || "\u2013"]].forEach(function (kv) {
      dl.appendChild(el("dt", null, kv[0])); dl.appendChild(el("dd", null, kv[1]));
    });
    dl.appendChild(el("dt", null, "Link"));
    var dd = dl.appendChild(el("dd"));
    if (/^https?:\/\//i.test(m.link)) {
      var a = el("a", {"rel": "noopener noreferrer nofollow"}, m.link);
      a.href = m.link;
      dd.appendChild(a);
    } else { dd.textContent = m.link; }
    var body = document.querySelector("#card-entries tbody");
    body.replaceChildren();
    data.entries.filter(function (e) { return e.slug === slug; }).forEach(function (e) {
      var tr = body.appendChild(el("tr"));
      [e.task, e.setting, e.status, fmt(e.metrics[tasks[e.task].primary]), e.source].forEach(function (v, i) {
        tr.appendChild(el("td", {"class": i === 3 ? "num" : "text"}, v));
      });
    });
    card.hidden = false;
  }
  document.getElementById("card-close").addEventListener("click", function () {
    document.getElementById("card").hidden = true;
  });
  var taskSelect = document.getElementById("filter-task");
  data.tasks.forEach(function (t) { taskSelect.appendChild(el("option", {"value": t.name}, t.title)); });
  [["filter-task", "task"], ["filter-setting", "setting"], ["filter-status", "status"]].forEach(function (p) {
    document.getElementById(p[0]).addEventListener("change", function (ev) { state[p[1]] = ev.target.value; render(); });
  });
  document.getElementById("filter-model").addEventListener("input", function (ev) {
    state.model = ev.target.value.toLowerCase(); render();
  });
  render();
  document.body.setAttribute("data-ready", "1");
})();

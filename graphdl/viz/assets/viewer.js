// graphdl's graph viewer: lays the graph out with dagre, draws it as SVG, and handles pan/zoom,
// collapsible name scopes, search and the details panel. The graph arrives as JSON in #graph-data.
"use strict";
(function () {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const FONT = "11px Helvetica, Arial, sans-serif";
  const BOLD_FONT = "bold " + FONT;
  const LINE_HEIGHT = 14;

  const data = JSON.parse(document.getElementById("graph-data").textContent);
  const nodesById = new Map(data.nodes.map((n) => [n.id, n]));
  const collapsed = new Set(data.collapsed);
  const svg = document.getElementById("canvas");
  const viewport = document.getElementById("viewport");
  const panel = document.getElementById("details");
  const searchBox = document.getElementById("search");
  const searchStatus = document.getElementById("search-status");
  const measureContext = document.createElement("canvas").getContext("2d");

  const outgoing = new Map();
  for (const e of data.edges) {
    if (!outgoing.has(e.src)) outgoing.set(e.src, []);
    outgoing.get(e.src).push(e);
  }

  let transform = { x: 0, y: 0, k: 1 };
  let layoutSize = { width: 1, height: 1 };
  let elementsById = new Map(); // drawn id (op id or "scope/") -> <g>
  let repOfNode = new Map(); // op id -> drawn id
  let selectedId = null;
  let matches = [];
  let matchIndex = -1;

  // -- scopes ---------------------------------------------------------------------------
  function prefixes(scope) {
    if (!scope) return [];
    const parts = scope.split("/");
    return parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  }
  function parentScope(scope) {
    const i = scope.lastIndexOf("/");
    return i < 0 ? "" : scope.slice(0, i);
  }
  function lastPart(name) {
    return name.slice(name.lastIndexOf("/") + 1);
  }
  function repOf(node) {
    for (const scope of prefixes(node.group)) if (collapsed.has(scope)) return scope + "/";
    return node.id;
  }
  function shorten(text) {
    return text.length <= data.max_label_len ? text : text.slice(0, data.max_label_len - 1) + "\u2026";
  }

  // -- labels and sizes -------------------------------------------------------------------
  function opLines(n) {
    const lines = [lastPart(n.name)];
    if (n.kind === "fused") {
      const types = n.members.map((m) => m[1]).join(" + ") || n.type;
      lines.push(`${n.type} [${n.members.length} op${n.members.length === 1 ? "" : "s"}]: ${types}`);
      for (const line of n.fused_summary) lines.push("  " + line);
    } else if (n.type !== lines[0]) {
      lines.push(n.type);
    }
    n.outputs.forEach((o, i) => lines.push(n.outputs.length === 1 ? `${o[0]} ${o[1]}` : `${i}: ${o[0]} ${o[1]}`));
    return lines.map(shorten);
  }
  function scopeLines(item) {
    const counts = new Map();
    for (const n of item.members) counts.set(n.type, (counts.get(n.type) || 0) + 1);
    const common = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3)
      .map(([t, c]) => (c > 1 ? `${t} \u00d7${c}` : t)).join(", ");
    return [lastPart(item.scope) + "/", `${item.members.length} ops`, common + (counts.size > 3 ? ", \u2026" : "")]
      .map(shorten);
  }
  function textWidth(text, bold) {
    measureContext.font = bold ? BOLD_FONT : FONT;
    return measureContext.measureText(text).width;
  }
  function boxSize(lines, kind) {
    const width = Math.max(...lines.map((l, i) => textWidth(l, i === 0))) + 18;
    let height = lines.length * LINE_HEIGHT + 10;
    if (kind === "variable" || kind === "placeholder") height += 12;
    if (kind === "scope" || kind === "fused") height += 4;
    return { width: Math.max(width, 40), height };
  }

  // -- layout ---------------------------------------------------------------------------
  function layout() {
    const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
    g.setGraph({ rankdir: data.rankdir, nodesep: 16, ranksep: 30, edgesep: 8, marginx: 24, marginy: 24 });
    g.setDefaultEdgeLabel(() => ({}));
    const items = new Map();
    repOfNode = new Map();
    for (const n of data.nodes) {
      const rep = repOf(n);
      repOfNode.set(n.id, rep);
      if (rep === n.id) {
        items.set(rep, { op: n });
      } else {
        if (!items.has(rep)) items.set(rep, { scope: rep.slice(0, -1), members: [] });
        items.get(rep).members.push(n);
      }
    }
    const clusters = new Set();
    function addCluster(scope) {
      if (clusters.has(scope)) return;
      clusters.add(scope);
      g.setNode("cluster:" + scope, { scope });
      const parent = parentScope(scope);
      if (parent) {
        addCluster(parent);
        g.setParent("cluster:" + scope, "cluster:" + parent);
      }
    }
    for (const [id, item] of items) {
      const kind = item.op ? item.op.kind : "scope";
      const lines = item.op ? opLines(item.op) : scopeLines(item);
      g.setNode(id, Object.assign({ lines, item, kind }, boxSize(lines, kind)));
      const parent = item.op ? item.op.group : parentScope(item.scope);
      if (parent) {
        addCluster(parent);
        g.setParent(id, "cluster:" + parent);
      }
    }
    const grouped = new Map();
    for (const e of data.edges) {
      const src = repOfNode.get(e.src);
      const dst = repOfNode.get(e.dst);
      if (src === dst) continue;
      const key = [src, dst, e.control ? "c" : "d"].join("\u0000");
      if (!grouped.has(key)) grouped.set(key, { src, dst, control: e.control, edges: [] });
      const group = grouped.get(key);
      if (e.control || !group.edges.some((x) => x.tensor === e.tensor)) group.edges.push(e);
    }
    for (const group of grouped.values()) {
      const label = group.control ? "" : group.edges.length === 1 ? group.edges[0].shape : `${group.edges.length} tensors`;
      const size = label ? { width: textWidth(label) * 0.85 + 4, height: 11, labelpos: "c" } : {};
      g.setEdge(group.src, group.dst, Object.assign({ label, control: group.control, edges: group.edges }, size),
        group.control ? "control" : "data");
    }
    dagre.layout(g);
    return g;
  }

  // -- drawing ----------------------------------------------------------------------------
  function el(tag, attrs, parent) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }
  function fillOf(kind, role) {
    const style = data.kind_style[kind] || {};
    return style.fillcolor || data.role_fill[role] || "#ffffff";
  }
  function strokeOf(kind) {
    return (data.kind_style[kind] || {}).color || "#555555";
  }
  function drawShape(parent, kind, x, y, w, h, fill, stroke) {
    const l = x - w / 2, t = y - h / 2, r = x + w / 2, b = y + h / 2;
    const common = { class: "shape", fill, stroke, "stroke-width": kind === "fused" ? 1.6 : 1 };
    if (kind === "variable") {
      const ry = 6;
      el("path", Object.assign({ d: `M${l},${t + ry} L${l},${b - ry} A${w / 2},${ry} 0 0 0 ${r},${b - ry} L${r},${t + ry}` }, common), parent);
      el("ellipse", Object.assign({ cx: x, cy: t + ry, rx: w / 2, ry }, common), parent);
    } else if (kind === "placeholder") {
      const points = [[l, t], [r, t], [r, b - 12], [x, b], [l, b - 12]].map((p) => p.join(",")).join(" ");
      el("polygon", Object.assign({ points }, common), parent);
    } else if (kind === "scope") {
      el("rect", { x: l + 4, y: t - 4, width: w - 4, height: h - 4, fill: "#e9ecef", stroke }, parent);
      el("rect", Object.assign({ x: l, y: t, width: w - 4, height: h - 4 }, common), parent);
    } else if (kind === "fused") {
      el("rect", Object.assign({ x: l, y: t, width: w, height: h, rx: 7 }, common), parent);
      el("rect", { x: l + 3, y: t + 3, width: w - 6, height: h - 6, rx: 5, fill: "none", stroke, "stroke-width": 1 }, parent);
    } else {
      el("rect", Object.assign({ x: l, y: t, width: w, height: h, rx: kind === "const" ? 0 : 6 }, common), parent);
    }
  }
  function drawLines(parent, lines, x, y, kind) {
    const top = y - (lines.length * LINE_HEIGHT) / 2 + LINE_HEIGHT - 3 - (kind === "placeholder" ? 6 : 0);
    lines.forEach((line, i) => {
      const text = el("text", { x, y: top + i * LINE_HEIGHT, "text-anchor": "middle", "font-size": kind === "const" ? 10 : 11,
        "font-weight": i === 0 ? "bold" : "normal", fill: "#222" }, parent);
      text.textContent = line;
    });
  }
  function edgePath(points) {
    let d = `M${points[0].x},${points[0].y}`;
    for (let i = 1; i < points.length - 1; i++) {
      const mid = { x: (points[i].x + points[i + 1].x) / 2, y: (points[i].y + points[i + 1].y) / 2 };
      d += ` Q${points[i].x},${points[i].y} ${mid.x},${mid.y}`;
    }
    const last = points[points.length - 1];
    return d + ` L${last.x},${last.y}`;
  }

  function draw(g) {
    viewport.textContent = "";
    elementsById = new Map();
    const defs = el("defs", {}, viewport);
    const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
      orient: "auto-start-reverse" }, defs);
    el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#888" }, marker);
    const clusterLayer = el("g", { class: "clusters" }, viewport);
    const edgeLayer = el("g", { class: "edges" }, viewport);
    const nodeLayer = el("g", { class: "nodes" }, viewport);
    const clusterIds = g.nodes().filter((id) => id.startsWith("cluster:"));
    clusterIds.sort((a, b) => prefixes(g.node(a).scope).length - prefixes(g.node(b).scope).length);
    for (const id of clusterIds) {
      const c = g.node(id);
      const role = data.scope_roles[c.scope] || "forward";
      const group = el("g", { class: "cluster", "data-scope": c.scope }, clusterLayer);
      el("rect", { x: c.x - c.width / 2, y: c.y - c.height / 2 - 10, width: c.width, height: c.height + 10, rx: 8,
        fill: data.cluster_fill[role], stroke: "#b8c0c8" }, group);
      const title = el("text", { class: "cluster-title", x: c.x - c.width / 2 + 6, y: c.y - c.height / 2 + 2,
        "font-size": 10, fill: "#445" }, group);
      title.textContent = "\u2212 " + lastPart(c.scope);
      const tip = el("title", {}, title);
      tip.textContent = `${c.scope}: click to collapse`;
      title.addEventListener("click", (event) => {
        if (wasDrag(event)) return;
        collapsed.add(c.scope);
        refresh();
      });
    }
    for (const e of g.edges()) {
      const edge = g.edge(e);
      const path = el("path", { class: edge.control ? "edge control" : "edge", d: edgePath(edge.points),
        "marker-end": "url(#arrow)" }, edgeLayer);
      const tip = el("title", {}, path);
      tip.textContent = edge.control ? `control dependency: ${e.v} before ${e.w}`
        : edge.edges.map((x) => `${x.tensor} ${x.dtype} ${x.shape}`).join("\n");
      if (edge.label && edge.x !== undefined) {
        const text = el("text", { class: "edge-label", x: edge.x, y: edge.y + 3, "text-anchor": "middle" }, edgeLayer);
        text.textContent = edge.label;
      }
    }
    for (const id of g.nodes()) {
      if (id.startsWith("cluster:")) continue;
      const n = g.node(id);
      const item = n.item;
      const group = el("g", item.op ? { class: "op-node", "data-name": item.op.name, "data-type": item.op.type }
        : { class: "scope-node", "data-scope": item.scope }, nodeLayer);
      const role = item.op ? item.op.role : dominantRole(item.members);
      drawShape(group, n.kind, n.x, n.y, n.width, n.height, fillOf(n.kind, role), strokeOf(n.kind));
      drawLines(group, n.lines, n.x, n.y, n.kind);
      const tip = el("title", {}, group);
      tip.textContent = item.op ? `${item.op.name} (${item.op.type})` : `${item.scope}: ${item.members.length} ops, click to expand`;
      group.addEventListener("click", (event) => {
        if (wasDrag(event)) return;
        if (item.op) select(item.op.id);
        else {
          collapsed.delete(item.scope);
          refresh();
        }
      });
      elementsById.set(id, group);
    }
    const size = g.graph();
    const finite = (v) => (Number.isFinite(v) && v > 0 ? v : 1);
    layoutSize = { width: finite(size.width), height: finite(size.height) };
    if (!data.nodes.length) el("text", { x: 0, y: 0.5, "font-size": 0.08, fill: "#777" }, viewport).textContent = "no ops";
    markSelection();
    markMatches();
  }
  function dominantRole(nodes) {
    const counts = new Map();
    for (const n of nodes) counts.set(n.role, (counts.get(n.role) || 0) + 1);
    return [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
  }

  function refresh(keepView) {
    draw(layout());
    if (!keepView) fit();
  }

  // -- details panel ------------------------------------------------------------------------
  function select(id) {
    selectedId = id;
    markSelection();
    showDetails(nodesById.get(id));
  }
  function markSelection() {
    for (const g of elementsById.values()) g.classList.remove("selected");
    if (selectedId && elementsById.has(selectedId)) elementsById.get(selectedId).classList.add("selected");
  }
  function add(tag, text, parent, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    parent.appendChild(node);
    return node;
  }
  function table(rows, parent) {
    const t = add("table", undefined, parent);
    for (const row of rows) {
      const tr = add("tr", undefined, t);
      add("th", row[0], tr);
      for (const cell of row.slice(1)) add("td", cell, tr);
    }
    return t;
  }
  function tensorInfo(tensorName) {
    const i = tensorName.lastIndexOf(":");
    const producer = nodesById.get(tensorName.slice(0, i));
    const out = producer && producer.outputs[Number(tensorName.slice(i + 1))];
    return out ? [out[0], out[1]] : ["", ""];
  }
  function showDetails(n) {
    panel.textContent = "";
    panel.dataset.op = n.name;
    add("h2", n.name, panel, "op-name");
    table([["type", n.type], ["scope", n.scope || "(top level)"], ["kind", n.kind], ["role", n.role]]
      .concat(n.device ? [["device", n.device]] : []), panel).className = "general";
    add("h3", "Outputs", panel);
    if (n.outputs.length) table(n.outputs.map((o, i) => [`${n.name}:${i}`, o[0], o[1]]), panel).className = "outputs";
    else add("p", "none (runs for its effect)", panel, "hint");
    add("h3", "Inputs", panel);
    if (n.inputs.length) table(n.inputs.map((t) => [t].concat(tensorInfo(t))), panel).className = "inputs";
    else add("p", "none", panel, "hint");
    if (n.control_inputs.length) {
      add("h3", "Control inputs", panel);
      table(n.control_inputs.map((c) => ["^", c]), panel);
    }
    const consumers = [...new Set((outgoing.get(n.id) || []).map((e) => e.dst))];
    if (consumers.length) {
      add("h3", "Consumers", panel);
      table(consumers.map((c) => ["\u2192", c]), panel);
    }
    if (n.members.length) {
      add("h3", `Fused ops (${n.members.length})`, panel);
      table(n.members.map((m, i) => [String(i), m[0], m[1]]), panel).className = "members";
      if (n.reduction) add("p", "then " + n.reduction, panel);
    }
    add("h3", "Attributes", panel);
    const attrs = Object.entries(n.attrs);
    if (attrs.length) {
      const t = table(attrs.map(([k]) => [k, ""]), panel);
      t.className = "attrs";
      attrs.forEach(([, v], i) => add("code", v, t.rows[i].cells[1]));
    } else add("p", "none", panel, "hint");
  }

  // -- search -------------------------------------------------------------------------------
  function runSearch() {
    const query = searchBox.value.trim().toLowerCase();
    matches = query ? data.nodes.filter((n) => n.name.toLowerCase().includes(query)).map((n) => n.id) : [];
    matchIndex = -1;
    searchStatus.textContent = query ? `${matches.length} match${matches.length === 1 ? "" : "es"}` : "";
    markMatches();
  }
  function markMatches() {
    for (const g of elementsById.values()) g.classList.remove("match");
    for (const id of matches) {
      const drawn = elementsById.get(repOfNode.get(id));
      if (drawn) drawn.classList.add("match");
    }
  }
  function nextMatch() {
    if (!matches.length) return;
    matchIndex = (matchIndex + 1) % matches.length;
    const node = nodesById.get(matches[matchIndex]);
    let expanded = false;
    for (const scope of prefixes(node.group)) expanded = collapsed.delete(scope) || expanded;
    if (expanded) refresh(true);
    select(node.id);
    centerOn(node.id);
    searchStatus.textContent = `${matchIndex + 1} of ${matches.length}`;
  }

  // -- pan and zoom ---------------------------------------------------------------------------
  function apply() {
    viewport.setAttribute("transform", `translate(${transform.x},${transform.y}) scale(${transform.k})`);
  }
  function fit() {
    const box = svg.getBoundingClientRect();
    const k = Math.min(box.width / layoutSize.width, box.height / layoutSize.height, 1.5) * 0.96;
    transform = { k, x: (box.width - layoutSize.width * k) / 2, y: (box.height - layoutSize.height * k) / 2 };
    apply();
  }
  function centerOn(id) {
    const drawn = elementsById.get(id);
    if (!drawn) return;
    const b = drawn.getBBox();
    const box = svg.getBoundingClientRect();
    transform.k = Math.max(transform.k, 0.8);
    transform.x = box.width / 2 - (b.x + b.width / 2) * transform.k;
    transform.y = box.height / 2 - (b.y + b.height / 2) * transform.k;
    apply();
  }
  let drag = null;
  let lastDragDistance = 0;
  function wasDrag(event) {
    return event.detail !== 0 && lastDragDistance > 4;
  }
  svg.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY, tx: transform.x, ty: transform.y };
    lastDragDistance = 0;
  });
  window.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    lastDragDistance = Math.max(lastDragDistance, Math.hypot(dx, dy));
    if (lastDragDistance > 4) {
      svg.classList.add("panning");
      transform.x = drag.tx + dx;
      transform.y = drag.ty + dy;
      apply();
    }
  });
  window.addEventListener("pointerup", () => {
    drag = null;
    svg.classList.remove("panning");
  });
  svg.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = svg.getBoundingClientRect();
    const px = event.clientX - box.left;
    const py = event.clientY - box.top;
    const k = Math.min(8, Math.max(0.02, transform.k * Math.exp(-event.deltaY * 0.0015)));
    transform.x = px - ((px - transform.x) * k) / transform.k;
    transform.y = py - ((py - transform.y) * k) / transform.k;
    transform.k = k;
    apply();
  }, { passive: false });

  // -- toolbar --------------------------------------------------------------------------------
  function buildLegend() {
    const legend = document.getElementById("legend");
    const entries = [["forward op", data.role_fill.forward], ["gradient", data.role_fill.gradient],
      ["optimizer", data.role_fill.optimizer], ["variable", data.kind_style.variable.fillcolor],
      ["placeholder", data.kind_style.placeholder.fillcolor], ["fused kernel", data.kind_style.fused.color]];
    for (const [name, color] of entries) {
      const item = add("span", undefined, legend);
      add("span", undefined, item, "swatch").style.background = color;
      item.appendChild(document.createTextNode(name));
    }
  }
  searchBox.addEventListener("input", runSearch);
  searchBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter") nextMatch();
  });
  document.getElementById("fit").addEventListener("click", fit);
  document.getElementById("expand-all").addEventListener("click", () => {
    collapsed.clear();
    refresh();
  });
  document.getElementById("collapse-all").addEventListener("click", () => {
    for (const scope of Object.keys(data.scope_roles)) if (!scope.includes("/")) collapsed.add(scope);
    refresh();
  });
  window.addEventListener("resize", fit);

  buildLegend();
  refresh();
  window.graphdlViewer = { select, refresh, collapsed, data };
})();

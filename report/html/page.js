// hotloop report page (report/html/page.html): the flame graph (d3-flame-graph), the
// selectors and the function table of one profile ("profile" mode), or the differential flame
// graph and change table of `hotloop diff` ("diff" mode).  The data format is written by
// report/html.c and report/diff.c and described in docs/formats.md ("html").
//
// Everything is computed here from compact arrays (a string table, the stack prefix tree,
// counts per stack, thread and state), so the page stays small for large profiles and the
// process/thread/state selectors need no data per selection.
'use strict';

// The data: JSON in #hotloop-data, or for a large profile its zlib-compressed bytes in base64,
// split over script elements of class hotloop-chunk (the HTML parser reads many short
// elements much faster than one long one, and the page is several times smaller).
async function hotloopData() {
  const el = document.getElementById('hotloop-data');
  if (el.dataset.encoding !== 'zlib-base64') return JSON.parse(el.textContent);
  let b64 = '';
  document.querySelectorAll('script.hotloop-chunk').forEach((e) => { b64 += e.textContent; });
  const raw = atob(b64), bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
  return JSON.parse(await new Response(stream).text());
}

(async function () {
  const timings = { start: performance.now() };
  const data = await hotloopData();
  timings.parse = performance.now() - timings.start;
  const S = data.strings;
  const KINDS = ['py', 'native', 'eval', 'kernel', 'synth', 'task', '-'];
  const KIND_NAMES = { py: 'Python', native: 'native', eval: 'eval loop', kernel: 'kernel',
    synth: 'marker', task: 'async task', '-': 'no frames' };
  const $ = (id) => document.getElementById(id);
  const fmt = (x) => x.toLocaleString('en-US');
  const pct = (part, whole) => (whole ? (100 * part / whole).toFixed(2) : '0.00') + '%';
  const esc = (s) => String(s).replace(/[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

  // The palette of frame kinds; report/svg.c uses the same one.
  function hash(s) {
    let h = 2166136261;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
    return (h % 1000) / 1000;
  }
  function kindColor(kind, label) {
    const v = hash(label);
    const c = (a, b) => a + Math.floor(b * v);
    switch (kind) {
      case 'py': return `rgb(${c(230, 25)},${c(150, 80)},${c(40, 30)})`;
      case 'native': return `rgb(${c(210, 45)},${c(70, 60)},${c(60, 40)})`;
      case 'eval': return `rgb(${c(175, 30)},${c(115, 30)},${c(75, 20)})`;
      case 'kernel': return `rgb(${c(80, 50)},${c(160, 40)},${c(210, 30)})`;
      case 'task': return `rgb(${c(170, 40)},${c(120, 30)},${c(220, 30)})`;
      default: { const g = c(170, 40); return `rgb(${g},${g},${g})`; }
    }
  }
  function diffColor(delta, intensity) {
    const c = 235 - Math.round(200 * Math.min(1, intensity));
    if (delta > 0) return `rgb(255,${c},${c})`;
    if (delta < 0) return `rgb(${c},${c},255)`;
    return 'rgb(235,235,235)';
  }

  // A regular expression from the search box; an invalid one is searched literally.
  function searchRegExp(term) {
    if (!term) return null;
    try { return new RegExp(term); } catch (e) {
      return new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    }
  }

  $('title').textContent = data.title;
  document.title = data.title + ' — hotloop';
  $('summary').textContent = data.subtitle;
  const legendKinds = data.mode === 'diff' ? [] : ['py', 'native', 'eval', 'kernel', 'synth', 'task'];
  $('legend').innerHTML = data.mode === 'diff'
    ? `<span style="background:${diffColor(1, 1)}">share grew</span>` +
      `<span style="background:${diffColor(-1, 1)}">share shrank</span>` +
      '<span style="background:rgb(235,235,235)">unchanged</span>'
    : legendKinds.map((k) => `<span style="background:${kindColor(k, 'legend')}">` +
      `${KIND_NAMES[k]}</span>`).join('');

  const chartWidth = () => Math.max(400, $('chart').clientWidth - 32);
  const chart = (flamegraph.flamegraph || flamegraph.default)()
    .width(chartWidth())
    .cellHeight(18)
    .minFrameSize(1)
    .transitionDuration(250)
    .resetHeightOnZoom(true)
    .sort(true)
    .setDetailsElement($('details'));
  const tip = flamegraph.tooltip.defaultFlamegraphTooltip();
  chart.tooltip(tip);

  let tableRows = [];
  let sortKey = 'self', sortDesc = true;
  let describe = () => '';

  chart.setSearchMatch((d, term) => {
    const re = searchRegExp(term);
    return re !== null && re.test(d.data.name);
  });
  chart.setLabelHandler((d) => d.data.name + '  ' + describe(d, false));
  tip.html((d) => `<b>${esc(d.data.name)}</b>\n${esc(describe(d, true))}`);

  function renderTable(columns, rowHtml, filter) {
    const head = $('functions').querySelector('thead tr');
    head.innerHTML = columns.map((c) => `<th data-key="${c.key}" class="${c.cls || ''}${
      c.key === sortKey ? (sortDesc ? ' sorted-desc' : ' sorted-asc') : ''}">${c.title}</th>`).join('');
    const re = searchRegExp(filter);
    const rows = re ? tableRows.filter((r) => re.test(r.name)) : tableRows.slice();
    const col = columns.find((c) => c.key === sortKey) || columns[0];
    rows.sort((a, b) => {
      const x = col.value(a), y = col.value(b);
      const c = typeof x === 'string' ? x.localeCompare(y) : x - y;
      return (sortDesc ? -c : c) || a.name.localeCompare(b.name);
    });
    const shown = rows.slice(0, 1000);
    $('functions').querySelector('tbody').innerHTML = shown.map(rowHtml).join('');
    $('more').textContent = rows.length > shown.length
      ? `${rows.length - shown.length} more functions: search to find them` : '';
    head.querySelectorAll('th').forEach((th) => th.addEventListener('click', () => {
      if (sortKey === th.dataset.key) sortDesc = !sortDesc;
      else { sortKey = th.dataset.key; sortDesc = !['name', 'kind', 'rank', 'status'].includes(th.dataset.key); }
      renderTable(columns, rowHtml, $('search').value);
    }));
    $('functions').querySelectorAll('tbody tr').forEach((tr) => tr.addEventListener('click', () => {
      const term = tr.dataset.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      $('search').value = '^' + term + '$';
      doSearch();
    }));
  }

  let renderTableNow = () => {};
  function doSearch() {
    const term = $('search').value;
    if (term) chart.search(term); else chart.clear();
    renderTableNow();
  }

  // ---- one profile ---------------------------------------------------------------------
  function profileMode() {
    const F = data.functions, FR = data.frames, N = data.nodes, T = data.threads, C = data.counts;
    // Counts carry their node as the distance from the previous count's node (from -1).
    for (let i = 0, node = -1; i < C.length; i += 4) { node += C[i]; C[i] = node; }
    const nrNodes = N.length / 2, nrFunctions = F.length / 5;
    const parent = new Int32Array(nrNodes), nodeFn = new Int32Array(nrNodes);
    const nodeFrame = new Int32Array(nrNodes);
    for (let i = 0; i < nrNodes; i++) {
      parent[i] = N[2 * i] ? i - N[2 * i] : -1;
      nodeFrame[i] = N[2 * i + 1];
      nodeFn[i] = FR[3 * nodeFrame[i]];
    }
    // "12", or "generated_cases.c.h:812" when the line is in another file than the function.
    const frameLine = (fr) => {
      const line = FR[3 * fr + 1], file = S[FR[3 * fr + 2]];
      if (line <= 0) return '?';
      return file ? `${file.substring(file.lastIndexOf('/') + 1)}:${line}` : String(line);
    };
    const fnKind = (f) => (f < 0 ? '-' : KINDS[F[5 * f]]);
    const fnLabel = (f) => (f < 0 ? '[no frames]' : S[F[5 * f + 1]]);
    const fnFile = (f) => (f < 0 ? '' : S[F[5 * f + 2]]);
    const fnLine = (f) => (f < 0 ? 0 : F[5 * f + 3]);
    const fnModule = (f) => (f < 0 ? '' : S[F[5 * f + 4]]);

    // Selectors: processes, then the threads of the chosen process.
    const pids = [...new Set(Array.from({ length: T.length / 3 }, (_, i) => T[3 * i]))].sort((a, b) => a - b);
    $('process').innerHTML = '<option value="-1">all</option>' +
      pids.map((p) => `<option value="${p}">${p}</option>`).join('');
    function fillThreads() {
      const pid = +$('process').value;
      let html = '<option value="-1">all</option>';
      for (let i = 0; i < T.length / 3; i++)
        if (pid < 0 || T[3 * i] === pid)
          html += `<option value="${i}">${T[3 * i + 1]} ${esc(S[T[3 * i + 2]])}${pid < 0 ? ' (pid ' + T[3 * i] + ')' : ''}</option>`;
      $('thread').innerHTML = html;
    }
    fillThreads();

    // Per selection: samples per model node (self, total), then the boxes of the flame graph:
    // the frames of one function under one caller merged (the call tree by function), in
    // typed arrays, since a large profile has hundreds of thousands of them.
    let self, total, selected, none;
    let nrBoxes, boxParent, boxFn, boxTotal, boxSelf, boxFirst, boxNext, boxOf;
    function build() {
      const pid = +$('process').value, thread = +$('thread').value, state = +$('state').value;
      self = new Float64Array(nrNodes);
      none = 0;
      selected = 0;
      for (let i = 0; i < C.length; i += 4) {
        const th = C[i + 1];
        if (thread >= 0 && th !== thread) continue;
        if (pid >= 0 && (th < 0 || T[3 * th] !== pid)) continue;
        if (state >= 0 && C[i + 2] !== state) continue;
        selected += C[i + 3];
        if (C[i] < 0) none += C[i + 3]; else self[C[i]] += C[i + 3];
      }
      total = Float64Array.from(self);
      for (let i = nrNodes - 1; i >= 0; i--) if (parent[i] >= 0) total[parent[i]] += total[i];
      // Box 0 is the root.  Boxes are found by (parent box, function) in an open-addressing
      // table of box ids.
      boxParent = new Int32Array(nrNodes + 2); boxFn = new Int32Array(nrNodes + 2);
      boxTotal = new Float64Array(nrNodes + 2); boxSelf = new Float64Array(nrNodes + 2);
      boxFirst = new Int32Array(nrNodes + 2).fill(-1); boxNext = new Int32Array(nrNodes + 2).fill(-1);
      boxOf = new Int32Array(nrNodes).fill(-1);
      let cap = 1024;
      while (cap < 2 * nrNodes) cap *= 2;
      const table = new Int32Array(cap).fill(-1), mask = cap - 1;
      boxParent[0] = -1; boxFn[0] = -2; boxTotal[0] = selected;
      nrBoxes = 1;
      for (let i = 0; i < nrNodes; i++) {
        if (!total[i]) continue;
        const up = parent[i] >= 0 ? boxOf[parent[i]] : 0, fn = nodeFn[i];
        let h = (Math.imul(up, 0x9e3779b1) ^ Math.imul(fn + 1, 0x85ebca6b)) & mask, b;
        while ((b = table[h]) >= 0 && !(boxParent[b] === up && boxFn[b] === fn)) h = (h + 1) & mask;
        if (b < 0) {
          b = nrBoxes++;
          table[h] = b;
          boxParent[b] = up; boxFn[b] = fn;
          boxNext[b] = boxFirst[up]; boxFirst[up] = b;
        }
        boxTotal[b] += total[i];
        boxSelf[b] += self[i];
        boxOf[i] = b;
      }
      if (none) {
        const b = nrBoxes++;
        boxParent[b] = 0; boxFn[b] = -1; boxTotal[b] = none; boxSelf[b] = none;
        boxNext[b] = boxFirst[0]; boxFirst[0] = b;
      }
    }

    // The boxes handed to d3-flame-graph: at most BUDGET, the widest, so the page stays fast
    // however large the profile.  Zooming into a box whose subtree lost boxes rebuilds that
    // subtree with a budget of its own (refine), so detail appears where one looks.
    const BUDGET = 25000;
    let hidden = 0;
    function cutoff(boxes) {
      if (boxes.length <= BUDGET) return 0;
      const totals = Float64Array.from(boxes, (b) => boxTotal[b]).sort();
      return totals[totals.length - BUDGET];
    }
    function subtree(b) {
      const out = [];
      const stack = [b];
      while (stack.length) {
        const x = stack.pop();
        out.push(x);
        for (let c = boxFirst[x]; c >= 0; c = boxNext[c]) stack.push(c);
      }
      return out;
    }
    function toD3(focus) {
      const all = subtree(0);
      const global = cutoff(all);
      const inside = new Uint8Array(nrBoxes);
      let local = global;
      if (focus > 0) {
        const boxes = subtree(focus);
        for (const b of boxes) inside[b] = 1;
        local = Math.min(global, cutoff(boxes));
      }
      hidden = 0;
      const make = (b) => ({ name: b === 0 ? 'all' : fnLabel(boxFn[b]), value: boxTotal[b],
                             box: b, fn: boxFn[b], self: boxSelf[b], children: [] });
      const root = make(0);
      const stack = [[0, root]];
      while (stack.length) {
        const [b, obj] = stack.pop();
        for (let c = boxFirst[b]; c >= 0; c = boxNext[c]) {
          if (boxTotal[c] < (inside[c] ? local : global)) { hidden++; continue; }
          const child = make(c);
          obj.children.push(child);
          stack.push([c, child]);
        }
      }
      return root;
    }

    // Per function: self, and total counted once per sample (recursion), over the boxes.
    function functionRows() {
      const selfOf = new Float64Array(nrFunctions + 1), totalOf = new Float64Array(nrFunctions + 1);
      const onPath = new Int32Array(nrFunctions + 1);
      const leaving = [];
      const enter = (b) => { const f = boxFn[b] + 1; selfOf[f] += boxSelf[b]; if (!onPath[f]++) totalOf[f] += boxTotal[b]; };
      // Iterative DFS: a box is entered when pushed's turn comes, left after its children.
      const next = new Int32Array(nrBoxes).fill(-2);
      let b = 0;
      while (b >= 0) {
        if (next[b] === -2) { if (b) enter(b); next[b] = boxFirst[b]; }
        const c = next[b];
        if (c >= 0) { next[b] = boxNext[c]; leaving.push(b); b = c; continue; }
        if (b) onPath[boxFn[b] + 1]--;
        b = leaving.length ? leaving.pop() : -1;
      }
      const rows = [];
      for (let f = -1; f < nrFunctions; f++)
        if (totalOf[f + 1]) rows.push({ fn: f, name: fnLabel(f), kind: fnKind(f), self: selfOf[f + 1], total: totalOf[f + 1] });
      return rows;
    }

    describe = (d, long) => {
      const h = d.data;
      if (h.box === 0) return `${fmt(selected)} samples` + (hidden ? ` (${fmt(hidden)} narrow boxes left out: zoom in to see them)` : '');
      let s = `${KIND_NAMES[fnKind(h.fn)]} · total ${fmt(h.value)} (${pct(h.value, selected)})` +
        ` · self ${fmt(h.self)} (${pct(h.self, selected)})`;
      if (!long) return s;
      const file = fnFile(h.fn), mod = fnModule(h.fn);
      if (file) s += `\n${file}${fnLine(h.fn) > 0 ? ':' + fnLine(h.fn) : ''}`;
      if (mod) s += `\n${mod}`;
      // The lines this box ran, heaviest first.
      const lines = new Map();
      for (let n = 0; n < nrNodes; n++) {
        if (boxOf[n] !== h.box) continue;
        const l = frameLine(nodeFrame[n]);
        lines.set(l, (lines.get(l) || 0) + total[n]);
      }
      const top = [...lines].sort((a, b) => b[1] - a[1]).slice(0, 5);
      if (top.length && !(top.length === 1 && top[0][0] === '?'))
        s += '\nlines: ' + top.map(([l, w]) => `${l} (${pct(w, h.value)})`).join(', ');
      return s;
    };
    chart.setColorMapper((d) => (d.highlight ? 'rgb(230,0,230)'
      : d.data.box === 0 ? 'rgb(200,200,200)' : kindColor(fnKind(d.data.fn), d.data.name)));

    let refining = false;
    chart.onClick((d) => {
      if (refining || !hidden || !d.data.box) return;
      // Rebuild with a budget of the clicked box's own, then zoom to it again.
      refining = true;
      const box = d.data.box;
      chart.update(toD3(box));
      const root = d3.select('#chart').datum();
      const again = root.descendants().find((n) => n.data.box === box);
      if (again) chart.zoomTo(again);
      if ($('search').value) chart.search($('search').value);
      refining = false;
    });

    const columns = [
      { key: 'self', title: 'self', value: (r) => r.self },
      { key: 'selfp', title: 'self %', value: (r) => r.self },
      { key: 'total', title: 'total', value: (r) => r.total },
      { key: 'totalp', title: 'total %', value: (r) => r.total },
      { key: 'kind', title: 'kind', cls: 'kind', value: (r) => r.kind },
      { key: 'name', title: 'function', cls: 'name', value: (r) => r.name },
    ];
    const rowHtml = (r) => `<tr data-name="${esc(r.name)}"><td>${fmt(r.self)}</td>` +
      `<td>${pct(r.self, selected)}</td><td>${fmt(r.total)}</td><td>${pct(r.total, selected)}</td>` +
      `<td class="kind">${r.kind}</td><td class="name">${esc(r.name)}</td></tr>`;
    renderTableNow = () => renderTable(columns, rowHtml, $('search').value);

    let first = true;
    function show() {
      const t0 = performance.now();
      build();
      const root = toD3(0);
      const t1 = performance.now();
      tableRows = functionRows();
      $('table-title').textContent = `Functions (${fmt(tableRows.length)})`;
      const t2 = performance.now();
      if (first) { d3.select('#chart').datum(root).call(chart); first = false; }
      else chart.update(root);
      const t3 = performance.now();
      if ($('search').value) chart.search($('search').value);
      renderTableNow();
      timings.build = t1 - t0; timings.table = t2 - t1 + performance.now() - t3;
      timings.chart = t3 - t2; timings.boxes = nrBoxes; timings.hidden = hidden;
    }
    $('process').addEventListener('change', () => { fillThreads(); show(); });
    $('thread').addEventListener('change', show);
    $('state').addEventListener('change', show);
    show();
  }

  // ---- a diff ----------------------------------------------------------------------------
  function diffMode() {
    ['process-box', 'thread-box', 'state-box'].forEach((id) => { $(id).style.display = 'none'; });
    $('verdict').textContent = data.verdict;
    const K = data.keys, N = data.nodes, nb = data.samples[0], nh = data.samples[1];
    const keyKind = (k) => (k < 0 ? '-' : KINDS[K[2 * k]]);
    const keyLabel = (k) => (k < 0 ? '[no frames]' : S[K[2 * k + 1]]);
    const share = (x, n) => (n ? x / n : 0);
    const root = { name: 'all', value: nh, children: [], key: -2, bt: nb, ht: nh, bs: 0, hs: 0 };
    const all = [root];
    let maxDelta = 0;
    for (let i = 0; i < N.length; i += 6) {
      const up = N[i] ? all[all.length - N[i]] : root;
      const h = { name: keyLabel(N[i + 1]), key: N[i + 1], children: [], bt: N[i + 2],
                  ht: N[i + 3], bs: N[i + 4], hs: N[i + 5] };
      h.value = h.ht;
      h.delta = share(h.ht, nh) - share(h.bt, nb);
      maxDelta = Math.max(maxDelta, Math.abs(h.delta));
      up.children.push(h);
      all.push(h);
    }
    // Paths only in the base have no width in the head: they are listed in the table.
    describe = (d) => {
      const h = d.data;
      if (h.key === -2) return `head ${fmt(nh)} samples, base ${fmt(nb)}`;
      return `${KIND_NAMES[keyKind(h.key)]} · total ${(100 * share(h.bt, nb)).toFixed(2)}% → ` +
        `${(100 * share(h.ht, nh)).toFixed(2)}% (${h.delta >= 0 ? '+' : ''}${(100 * h.delta).toFixed(2)} pp)` +
        ` · self ${(100 * share(h.bs, nb)).toFixed(2)}% → ${(100 * share(h.hs, nh)).toFixed(2)}%`;
    };
    chart.setColorMapper((d) => (d.highlight ? 'rgb(230,0,230)'
      : diffColor(d.data.delta || 0, maxDelta ? Math.abs(d.data.delta || 0) / maxDelta : 0)));
    const STATUS = ['', 'regression', 'improvement', 'added', 'removed', 'changed'];
    const R = data.rows;
    for (let i = 0; i < R.length; i += 8) {
      tableRows.push({ rank: i / 8 + 1, key: R[i], name: keyLabel(R[i]), kind: keyKind(R[i]),
        bs: share(R[i + 1], nb), hs: share(R[i + 2], nh), bt: share(R[i + 3], nb),
        ht: share(R[i + 4], nh), ps: R[i + 5], pt: R[i + 6], status: STATUS[R[i + 7]] });
    }
    const p2 = (x) => (100 * x).toFixed(2);
    const pp = (x) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}`;
    const cls = (x) => (x > 0 ? 'grew' : x < 0 ? 'shrank' : '');
    // Initially in the order of `hotloop diff`: regressions first (those on their own time
    // before their callers), then improvements, added, removed, the rest by size of change.
    sortKey = 'rank'; sortDesc = false;
    const columns = [
      { key: 'rank', title: '#', value: (r) => r.rank },
      { key: 'bs', title: 'base self %', value: (r) => r.bs },
      { key: 'hs', title: 'head self %', value: (r) => r.hs },
      { key: 'dself', title: 'Δ self pp', value: (r) => r.hs - r.bs },
      { key: 'bt', title: 'base total %', value: (r) => r.bt },
      { key: 'ht', title: 'head total %', value: (r) => r.ht },
      { key: 'dtotal', title: 'Δ total pp', value: (r) => r.ht - r.bt },
      { key: 'status', title: 'change', cls: 'kind', value: (r) => r.status },
      { key: 'kind', title: 'kind', cls: 'kind', value: (r) => r.kind },
      { key: 'name', title: 'function', cls: 'name', value: (r) => r.name },
    ];
    const rowHtml = (r) => `<tr data-name="${esc(r.name)}"><td>${r.rank}</td><td>${p2(r.bs)}</td><td>${p2(r.hs)}</td>` +
      `<td class="${cls(r.hs - r.bs)}">${pp(r.hs - r.bs)}</td><td>${p2(r.bt)}</td><td>${p2(r.ht)}</td>` +
      `<td class="${cls(r.ht - r.bt)}">${pp(r.ht - r.bt)}</td><td class="kind">${r.status}</td>` +
      `<td class="kind">${r.kind}</td><td class="name">${esc(r.name)}</td></tr>`;
    renderTableNow = () => renderTable(columns, rowHtml, $('search').value);
    $('table-title').textContent = `Functions (${fmt(tableRows.length)})`;
    d3.select('#chart').datum(root).call(chart);
    renderTableNow();
  }

  // The candidates panel: the JSON of `hotloop candidates --json` for the same samples,
  // embedded by `hotloop report --format html` (docs/candidates.md, "Output").  Rows are the
  // listed candidates; a click searches the function in the flame graph.
  function renderCandidates(c) {
    const share = (n) => pct(n, c.samples);
    const listed = (c.candidates || []).filter((x) => x.rank > 0);
    const missing = c.missing_evidence || [];
    $('candidates-note').textContent = `${fmt(c.samples)} samples, Python ${c.python || 'unknown'}` +
      (missing.length ? ` · missing evidence: ${missing.join(', ')}` : '') +
      (listed.length ? '' : ' · no Python function holds 3% of the samples or more');
    const overhead = (x) => Object.entries(x.categories || {})
      .filter(([k, v]) => v > 0 && !['real', 'other', 'unknown'].includes(k))
      .sort((a, b) => b[1] - a[1]).slice(0, 4)
      .map(([k, v]) => `${k} ${share(v)}`).join(', ');
    const callees = (x) => (x.per_element || []).slice(0, 3)
      .map((e) => `${esc(e.function.label)} ${share(e.samples)}`).join('<br>');
    const invariance = (x) => {
      if (!x.invariance) return '<span class="why">not recorded</span>';
      return x.invariance.slice(0, 4).map((a) => `<span class="${a.key ? 'key' : ''}">${esc(a.name)}: ` +
        `${a.more ? 'more than ' : ''}${fmt(a.distinct)} object${a.distinct === 1 ? '' : 's'}` +
        ` (${esc(a.top_type || '?')}) over ${fmt(a.samples)} samples${a.key ? ' — key' : ''}</span>`).join('<br>');
    };
    const bytecode = (x) => {
      const b = x.bytecode;
      if (!b) return `<span class="why">${esc(x.bytecode_missing || 'not recorded')}</span>`;
      const parts = [];
      if ((b.generic_builtins || []).length) parts.push('builtins: ' + b.generic_builtins.join(', '));
      if ((b.self_attrs || []).length) parts.push('self.' + b.self_attrs.join(', self.'));
      parts.push(`${b.loops} loops, ${b.branches} branches, ${b.calls} calls`);
      return esc(parts.join('; '));
    };
    $('candidates').querySelector('tbody').innerHTML = listed.map((x) =>
      `<tr data-name="${esc(x.function.label)}" data-remedy="${esc(x.remedy)}">` +
      `<td>${x.rank}</td><td class="name">${esc(x.function.label)}</td>` +
      `<td class="kind">${x.undetermined ? 'undetermined' : x.remedy === 'none' ? 'not a candidate' : esc(x.remedy)}` +
      `<div class="why">${esc(x.reason)}</div></td>` +
      `<td>${share(x.overhead)}</td><td>${share(x.samples)}</td>` +
      `<td class="name">${overhead(x)}</td><td class="name">${callees(x)}</td>` +
      `<td class="name">${invariance(x)}</td><td class="name">${bytecode(x)}</td></tr>`).join('');
    $('candidates').querySelectorAll('tbody tr').forEach((tr) => tr.addEventListener('click', () => {
      $('search').value = '^' + tr.dataset.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$';
      doSearch();
    }));
    $('candidates-box').hidden = false;
  }

  $('search').addEventListener('input', doSearch);
  $('reset').addEventListener('click', () => chart.resetZoom());
  $('icicle').addEventListener('change', () => { chart.inverted($('icicle').checked); chart.update(); });

  if (data.mode === 'diff') diffMode(); else profileMode();
  if (data.candidates) renderCandidates(data.candidates);
  // For tests and for measuring: the chart is drawn (its transitions may still run).
  timings.total = performance.now() - timings.start;
  window.hotloop = { chart: chart, renderedMs: performance.now(), timings: timings };
}()).catch((e) => {
  document.getElementById('summary').textContent = 'This page could not be shown: ' + e;
  throw e;
});

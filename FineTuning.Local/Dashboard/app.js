// The dashboard: the HTTP API of the Azure host, read and driven from the page. Every piece of dataset content (file
// names, topics, answers) goes into the page as text (textContent), never as markup.
"use strict";

const state = { key: sessionStorage.getItem("finetuning-key"), selected: null, uploaded: null, reports: new Map() };
const $ = (id) => document.getElementById(id);

/** A request to the API, with the key when the server asks for one; the JSON answer, or an Error with its detail. */
async function api(method, path, body, contentType) {
  const headers = {};
  if (state.key) headers["x-functions-key"] = state.key;
  if (contentType) headers["content-type"] = contentType;
  const response = await fetch(path, { method, headers, body });
  if (response.status === 401) {
    $("key").hidden = false;
    $("key-input").focus();
    throw new Error("The server needs its API key.");
  }
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error((json && (json.detail || json.title)) || `${response.status}`);
  return json;
}

/** An element with text (never markup) and children. */
function el(tag, text, ...children) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const child of children) node.append(child);
  return node;
}

function notice(text) { $("notice").textContent = text; }

async function upload(event) {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) return;
  $("report").replaceChildren(el("p", `Uploading ${file.name}…`));
  try {
    const dataset = await api("PUT", `/api/datasets/${encodeURIComponent(file.name)}`, file, "application/jsonl");
    const answer = await api("POST", "/api/estimate", file, "application/jsonl");
    state.uploaded = answer.validation.fit ? dataset.blob : null;
    renderReport(dataset, answer);
    $("launch-form").hidden = !answer.validation.fit;
  } catch (error) {
    $("report").replaceChildren(el("p", `Not uploaded: ${error.message}`));
    $("launch-form").hidden = true;
  }
}

function renderReport(dataset, answer) {
  const report = answer.validation;
  const estimate = answer.estimate;
  const byCode = new Map();
  for (const finding of report.findings) {
    if (!byCode.has(finding.code)) byCode.set(finding.code, []);
    byCode.get(finding.code).push(finding);
  }
  const findings = el("ul");
  for (const [code, list] of byCode) {
    const lines = list.slice(0, 5).map((f) => (f.line > 0 ? `line ${f.line}` : "dataset")).join(", ");
    const fix = report.remedies && report.remedies[code] ? ` Fix: ${report.remedies[code]}` : "";
    findings.append(el("li", `${code} (${list[0].severity}): ${list[0].message} — ${lines}.${fix}`));
  }
  const cost = estimate.estimatedCostUsd == null ? "no total (see notes)" : `$${estimate.estimatedCostUsd.toFixed(2)}`;
  $("report").replaceChildren(
    el("p", `${dataset.name}: ${report.verdict}`),
    el("p", `${report.examples} examples, ${estimate.epochs} epochs, ${estimate.billedTokens} billed tokens on ${estimate.model}: ${cost}.`),
    findings,
  );
}

async function launch(event) {
  event.preventDefault();
  if (!state.uploaded) return;
  const number = (id) => ($(id).value === "" ? undefined : Number($(id).value));
  const request = {
    datasetBlob: state.uploaded,
    evaluate: true,
    approval: $("auto").checked ? "auto" : "manual",
    pollInterval: "00:00:01",
    method: $("opt-method").value,
    baseModel: $("opt-model").value || undefined,
    suffix: $("opt-suffix").value || undefined,
    trainRatio: number("opt-train"),
    testRatio: number("opt-test"),
    stratifyBy: $("opt-stratify").value,
    budgetUsd: number("opt-budget"),
    hyperparameters: number("opt-epochs") ? { epochs: number("opt-epochs") } : undefined,
  };
  const grader = $("grader").files[0];
  try {
    if (grader) request.grader = JSON.parse(await grader.text());
  } catch {
    notice(`Not launched: ${grader.name} is not JSON (a grader is one JSON object, as the provider takes it).`);
    return;
  }
  try {
    const started = await api("POST", "/api/runs", JSON.stringify(request), "application/json");
    state.selected = started.id;
    // A run is named by its dataset and options: the same request again is the same run, not a second one.
    const known = [...$("runs").tBodies[0].rows].some((row) => row.dataset.run === started.id);
    notice(known ? `Run ${started.id} already has this dataset and these options; change an option (a suffix, a seed) to run again.`
      : `Run ${started.id} started.`);
    await refresh();
  } catch (error) {
    notice(`Not launched: ${error.message}`);
  }
}

async function refresh() {
  let runs;
  try {
    runs = await api("GET", "/api/runs");
  } catch (error) {
    notice(error.message);
    return;
  }
  const moving = await Promise.all(
    runs.map((run) => (isFinal(run.status) ? null : api("GET", `/api/runs/${encodeURIComponent(run.runId)}`).catch(() => null))),
  );
  const body = $("runs").tBodies[0];
  body.replaceChildren(
    ...runs.map((run, i) => {
      const progress = moving[i] && moving[i].progress;
      const bar = el("progress");
      bar.max = progress && progress.totalSteps ? progress.totalSteps : 1;
      bar.value = isFinal(run.status) ? bar.max : progress && progress.step ? progress.step : 0;
      bar.setAttribute("aria-label", `Progress of ${run.runId}`);
      const epoch = progress && progress.epoch ? `, epoch ${progress.epoch}/${progress.epochs}` : "";
      const steps = progress && progress.totalSteps ? ` ${progress.step ?? 0}/${progress.totalSteps}${epoch}` : "";
      const metric = progress && progress.metric && progress.latestMetric != null ? `${progress.metric} ${progress.latestMetric.toFixed(3)}` : "";
      const finish = progress && progress.estimatedFinish ? new Date(progress.estimatedFinish).toLocaleTimeString() : "";
      const row = el("tr", null, el("td", run.runId), el("td", run.status), el("td", run.stage), el("td", null, bar, el("span", steps)),
        el("td", metric), el("td", finish), el("td", run.datasetBlob), el("td", run.modelId ?? run.model ?? ""));
      row.tabIndex = 0;
      row.dataset.run = run.runId;
      row.setAttribute("aria-selected", String(run.runId === state.selected));
      const choose = () => { state.selected = run.runId; refresh(); };
      row.addEventListener("click", choose);
      row.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); choose(); } });
      return row;
    }),
  );
  if (state.selected) await renderRun(state.selected);
  await renderModels();
}

/** The registry: each model's name and version, stage, evaluation, lineage as a chain, and its stage actions. */
async function renderModels() {
  const models = await api("GET", "/api/models");
  $("models").tBodies[0].replaceChildren(
    ...models.map((model) => {
      const evaluation = model.evaluation
        ? `${model.evaluation.baseScore.toFixed(2)} → ${model.evaluation.fineTunedScore.toFixed(2)} (${percent(model.evaluation.improvementPercent)})`
        : "not evaluated";
      const hash = model.datasetContentHash ? model.datasetContentHash.slice(0, 12) : "?";
      const lineage = el("td");
      const links = [
        [`dataset ${model.datasetBlob} (${hash})`, "validation"],
        [`split ${Object.keys(model.splitFileHashes).join(", ")}`, "split"],
        [`job ${model.jobId}`, "results"],
        ["model", model.evaluation ? "evaluation" : null],
        [model.deployment ? `deployment ${model.deployment}` : null, null],
      ].filter(([text]) => text);
      links.forEach(([text, report], i) => {
        if (i > 0) lineage.append(" → ");
        if (!report) {
          lineage.append(el("span", text));
          return;
        }
        const link = el("a", text);
        link.href = `#run-${report}`;
        link.dataset.report = report;
        link.addEventListener("click", () => { state.selected = model.runId; refresh(); });
        lineage.append(link);
      });
      const actions = el("td");
      for (const [action, allowed] of [["promote", ["candidate", "archived"]], ["archive", ["candidate", "production", "rejected"]]]) {
        if (!allowed.includes(model.stage)) continue;
        const button = el("button", action === "promote" ? "Promote" : "Archive");
        button.type = "button";
        button.dataset.action = action;
        button.setAttribute("aria-label", `${action} ${model.modelId}`);
        button.addEventListener("click", () => changeModel(model.modelId, action));
        actions.append(button);
      }
      const row = el("tr", null, el("td", model.modelId), el("td", `${model.name} v${model.version}`), el("td", model.stage),
        el("td", evaluation), lineage, actions);
      row.dataset.model = model.modelId;
      return row;
    }),
  );
}

async function changeModel(id, action) {
  try {
    const answer = await api("POST", `/api/models/${encodeURIComponent(id)}/${action}`, JSON.stringify({ by: "dashboard" }), "application/json");
    // On Azure OpenAI a promote deploys first (202): the model becomes production once its deployment is live.
    notice(answer && answer.promotion ? `${id}: deploying as ${answer.deployment}; production once it is live.` : `${id}: ${action} done.`);
    await renderModels();
  } catch (error) {
    notice(`${action}: ${error.message}`);
  }
}

const FINAL = ["succeeded", "failed", "cancelled", "rejected", "notApproved"];
function isFinal(status) { return FINAL.includes(status); }

/** A report of a run; those a run writes once (all but the results of a job still training) are fetched once. */
async function report(id, name, links, final) {
  const key = `${id}/${name}`;
  if (!links.includes(`/api/runs/${id}/reports/${name}`)) return null;
  if (state.reports.has(key)) return state.reports.get(key);
  const value = await api("GET", `/api/runs/${encodeURIComponent(id)}/reports/${name}`);
  if (name !== "results" || final) state.reports.set(key, value);
  return value;
}

async function renderRun(id) {
  const detail = await api("GET", `/api/runs/${encodeURIComponent(id)}`);
  const run = detail.run;
  $("run").hidden = false;
  $("run-h").textContent = `Run ${id}`;
  const progress = detail.progress;
  const epoch = progress && progress.epoch ? `, epoch ${progress.epoch} of ${progress.epochs}` : "";
  const step = progress && progress.totalSteps ? `, step ${progress.step ?? 0} of ${progress.totalSteps}${epoch}` : "";
  $("run-status").textContent = run ? `${run.status} at ${run.stage}${step}${run.error ? `: ${run.error}` : ""}` : "starting";
  $("run-status").dataset.status = run ? run.status : "pending";
  const bar = $("run-progress");
  bar.max = progress && progress.totalSteps ? progress.totalSteps : 1;
  bar.value = run && !detail.running ? bar.max : progress && progress.step ? progress.step : 0;
  const waiting = run && run.status === "awaitingApproval";
  $("approve").hidden = !waiting;
  $("reject").hidden = !waiting;
  $("decision").hidden = !waiting;
  $("cancel").hidden = !detail.running || waiting;
  $("pause").hidden = !run || run.jobStatus !== "running";
  $("resume").hidden = !run || run.jobStatus !== "paused";
  renderTimeline(run);
  const final = run && isFinal(run.status);
  const [validation, split, results, evaluation] = await Promise.all(
    ["validation", "split", "results", "evaluation"].map((name) => report(id, name, detail.reports, final)),
  );
  show("run-validation", validation, renderValidation);
  show("run-split", split, renderSplit);
  show("run-results", results, renderCurves);
  show("run-evaluation", evaluation, renderEvaluation);
}

/** Draws a report into its section, or empties the section while the run has no such report. */
function show(section, value, render) {
  if (value) render(value);
  else $(section).replaceChildren();
}

function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** The stages the run entered, each with how long it took (the last one: until the run ended, or so far). */
function renderTimeline(run) {
  const stages = (run && run.stages) || [];
  const end = run && run.finishedAt ? Date.parse(run.finishedAt) : Date.now();
  $("timeline").replaceChildren(
    ...stages.map((stage, i) => {
      const until = i + 1 < stages.length ? Date.parse(stages[i + 1].at) : end;
      const item = el("li", `${stage.stage} ${duration(until - Date.parse(stage.at))}`);
      item.dataset.stage = stage.stage;
      if (i + 1 === stages.length && !(run && isFinal(run.status))) item.setAttribute("aria-current", "step");
      return item;
    }),
  );
}

const SVG = "http://www.w3.org/2000/svg";
function svgEl(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/** A wide table in its own horizontally scrolling box (the page itself never scrolls sideways). */
function scroller(table) {
  const box = el("div", null, table);
  box.className = "scroll";
  return box;
}

/** A tooltip of an SVG shape (an SVG title: text, never markup). */
function svgTitle(text) {
  const title = document.createElementNS(SVG, "title");
  title.textContent = text;
  return title;
}

/** A label in a chart (text, never markup). */
function svgText(text, x, y, anchor) {
  const node = svgEl("text", { x, y, "text-anchor": anchor, class: "axis" });
  node.textContent = String(text);
  return node;
}

/** Bars as SVG: one per item, its height proportional to its value, labelled underneath, each with a tooltip. */
function barChart(label, items) {
  const [width, height, pad] = [480, 140, 20];
  const max = Math.max(1, ...items.map((i) => i.value));
  const w = Math.min(40, (width - 2 * pad) / Math.max(1, items.length));
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "chart" });
  items.forEach((item, i) => {
    const h = (item.value / max) * (height - 2 * pad);
    const bar = svgEl("rect", { x: pad + i * w + 1, y: height - pad - h, width: Math.max(1, w - 2), height: h, class: "histogram" });
    bar.append(svgTitle(item.title));
    svg.append(bar);
  });
  if (items.length > 0) {
    svg.append(svgText(items[0].from, pad, height - 4, "start"), svgText(items.at(-1).to, pad + items.length * w, height - 4, "end"),
      svgText(max, pad + 2, pad - 6, "start"));
  }
  return svg;
}

/** The validation summary and the histogram of tokens per example. */
function renderValidation(report) {
  const tokens = report.tokens.tokensPerExample;
  const bins = report.tokens.tokensHistogram || [];
  const topics = Object.entries(report.topics).map(([name, rows]) => `${name} ${rows}`).join(", ");
  $("run-validation").replaceChildren(
    el("h3", "Validation"),
    el("p", report.verdict),
    el("p", `${report.rows} rows, ${report.examples} examples, ${report.duplicates} duplicates, ${report.errors} errors, ` +
      `${report.warnings} warnings; ${report.tokens.billableTokensPerEpoch} billable tokens per epoch on ${report.model}.`),
    tokens ? el("p", `Tokens per example: ${tokens.min} to ${tokens.max}, median ${tokens.median}, p90 ${tokens.p90}` +
      (report.maxTokensPerExample ? ` (the model takes ${report.maxTokensPerExample}).` : ".")) : el("p", "No valid example."),
    barChart(`Tokens per example, ${bins.length} bins`, bins.map((b) => ({ value: b.rows, from: b.from, to: b.to, title: `${b.from}–${b.to} tokens: ${b.rows} examples` }))),
    el("p", `Topics (${report.topicField}): ${topics || "none"}`),
  );
}

/** The split per topic: train, validation and test rows as bars side by side. */
function renderSplit(split) {
  const table = el("table");
  table.id = "split-table";
  table.append(el("caption", `Split by ${split.stratifyBy}: ${split.trainRows} train, ${split.validationRows} validation, ${split.testRows} test`));
  table.append(el("thead", null, el("tr", null, el("th", "Topic"), el("th", "Train"), el("th", "Validation"), el("th", "Test"), el("th", "Share"))));
  const body = el("tbody");
  const max = Math.max(1, ...split.strata.map((s) => s.rows));
  for (const stratum of split.strata) {
    const share = el("td");
    for (const [cls, value] of [["bar", stratum.train], ["bar valid", stratum.validation], ["bar test", stratum.test]]) {
      const bar = el("span");
      bar.className = cls;
      bar.style.width = `${Math.round((value / max) * 160)}px`;
      share.append(bar);
    }
    body.append(el("tr", null, el("th", stratum.name), el("td", stratum.train), el("td", stratum.validation), el("td", stratum.test), share));
  }
  table.append(body);
  $("run-split").replaceChildren(
    el("h3", "Split"),
    scroller(table),
    el("p", `Leak check (${split.leaks.comparedBy}): ${split.leaks.trainValidationOverlap + split.leaks.trainTestOverlap + split.leaks.validationTestOverlap} examples in more than one file.`),
  );
}

/** The training curves (train and validation loss, or reward, per step) as SVG, with the training's warnings. */
function renderCurves(report) {
  const reward = report.training.metric.includes("reward");
  const series = [
    [reward ? ["train_reward_mean", "train_reward"] : ["train_loss"], "train", "#6a8fd8"],
    [reward ? ["valid_reward_mean", "valid_reward"] : ["valid_loss", "validation_loss"], "validation", "#2e8b57"],
  ].map(([names, label, color]) => ({
    label,
    color,
    points: report.results
      .map((row) => [row.step, names.map((n) => row.values[n]).find((v) => v !== undefined)])
      .filter(([, v]) => v !== undefined && v !== null),
  })).filter((s) => s.points.length > 0);
  if (series.length === 0) {
    $("run-results").replaceChildren();
    return;
  }
  const all = series.flatMap((s) => s.points);
  const [minX, maxX] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const [minY, maxY] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  const [width, height, pad] = [480, 160, 24];
  const x = (v) => pad + ((v - minX) / Math.max(1e-9, maxX - minX)) * (width - 2 * pad);
  const y = (v) => height - pad - ((v - minY) / Math.max(1e-9, maxY - minY)) * (height - 2 * pad);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "chart");
  const fmt = (v) => Number(v.toPrecision(3));
  svg.append(svgText(`step ${minX}`, pad, height - 4, "start"), svgText(`step ${maxX}`, width - pad, height - 4, "end"),
    svgText(fmt(maxY), pad, pad - 6, "start"), svgText(fmt(minY), pad, height - pad + 12, "start"));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${report.training.metric}: ${report.training.baseline} at first, ${report.training.final} at the end`);
  for (const s of series) {
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", s.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", s.color);
    line.setAttribute("stroke-width", "2");
    line.dataset.series = s.label;
    svg.append(line);
  }
  for (const checkpoint of report.checkpoints || []) {
    const mark = document.createElementNS(SVG, "line");
    const at = x(checkpoint.step);
    for (const [name, value] of [["x1", at], ["x2", at], ["y1", pad], ["y2", height - pad]]) mark.setAttribute(name, String(value));
    mark.setAttribute("stroke", "#999");
    mark.setAttribute("stroke-dasharray", "3 3");
    svg.append(mark);
  }
  // The warnings, drawn where they happen: overfitting from the best validation step on, a large gap at the last step,
  // a stalled curve over the whole run.
  const training = report.training;
  const validation = series.find((s) => s.label === "validation");
  const marks = [];
  if (training.overfittingWarning && validation) {
    const best = validation.points.reduce((a, b) => ((reward ? b[1] > a[1] : b[1] < a[1]) ? b : a));
    marks.push(["overfitting", best[0], maxX, `overfitting: validation is worse after step ${best[0]}`]);
  }
  if (training.largeGap) marks.push(["gap", maxX, maxX, "large train-validation gap at the end"]);
  if (training.stalled) marks.push(["stalled", minX, maxX, "learning stalled: the train metric barely moved"]);
  for (const [kind, from, to, text] of marks) {
    const at = from === to ? x(from) - 2 : x(from);
    const shade = svgEl("rect", { x: at, y: pad, width: Math.max(4, x(to) - x(from)), height: height - 2 * pad, class: `warning ${kind}` });
    shade.dataset.warning = kind;
    shade.append(svgTitle(text));
    svg.prepend(shade);
  }
  const legend = series.map((s) => `${s.label} (${s.points.length} steps)`).join(", ");
  const warnings = report.training.warnings || [];
  $("run-results").replaceChildren(
    el("h3", `Training: ${report.training.outcome.replaceAll("_", " ")}`),
    svg,
    el("p", `${reward ? "Reward" : "Loss"} per step: ${legend}; dashed lines are checkpoints${marks.length ? "; shaded: the warnings" : ""}.`),
    ...warnings.map((w) => el("p", `Warning: ${w}`)),
  );
}

function percent(value) { return value == null ? "n/a" : `${value >= 0 ? "+" : ""}${value.toFixed(1)}%`; }

function renderEvaluation(report) {
  const summary = report.summary;
  const table = el("table");
  table.id = "evaluation-table";
  table.append(el("caption", `Base against fine-tuned on ${report.rowsEvaluated} held-out rows, scored by ${report.scoredBy}`));
  const head = el("tr", null, el("th", "Topic"), el("th", "Rows"), el("th", "Base"), el("th", "Fine-tuned"), el("th", "Change"));
  table.append(el("thead", null, head));
  const body = el("tbody");
  for (const topic of [...summary.topics, summary.overall]) {
    const bars = el("td");
    for (const [cls, value] of [["bar", topic.baseScore], ["bar tuned", topic.fineTunedScore]]) {
      const bar = el("span");
      bar.className = cls;
      bar.style.width = `${Math.round(value * 120)}px`;
      bars.append(bar, el("span", ` ${value.toFixed(2)} `));
    }
    const change = el("td", percent(topic.improvementPercent));
    change.className = topic.difference >= 0 ? "good" : "bad";
    body.append(el("tr", null, el("th", topic.name), el("td", topic.rows), el("td", topic.baseScore.toFixed(3)), bars, change));
  }
  table.append(body);
  const interval = summary.improvementPercentInterval;
  const win = summary.winRate.rate == null ? "no pairwise verdicts" : `win rate ${Math.round(summary.winRate.rate * 100)}%`;
  $("run-evaluation").replaceChildren(
    scroller(table),
    el("p", `${summary.advice}; ${win}; 95% interval ${interval ? `${percent(interval.low)} to ${percent(interval.high)}` : "n/a"}.`),
    el("p", report.decision.passed ? "Promotion policy: passed." : `Promotion policy: not passed: ${report.decision.reasons.join("; ")}`),
    samples("Largest gains", summary.largestGains),
    samples("Largest losses", summary.largestLosses),
  );
}

/** Rows side by side: the prompt and reference, then each model's answer with its score. */
function samples(title, rows) {
  const list = el("div", null, el("h4", title));
  list.className = "samples";
  for (const row of rows) {
    const sample = el("article", null,
      el("p", `${row.topic}, line ${row.line}: ${row.prompt}`),
      el("p", row.reference == null ? "No reference answer." : `Reference: ${row.reference}`),
      el("div", null, el("blockquote", `Base (${row.baseScore.toFixed(2)}): ${row.baseAnswer}`),
        el("blockquote", `Fine-tuned (${row.fineTunedScore.toFixed(2)}): ${row.fineTunedAnswer}`)),
    );
    sample.className = "sample";
    list.append(sample);
  }
  return list;
}

async function control(action) {
  if (!state.selected) return;
  const why = $("decision-note").value || null;
  try {
    await api("POST", `/api/runs/${encodeURIComponent(state.selected)}/${action}`, JSON.stringify({ by: "dashboard", why }), "application/json");
    notice(`${action} requested for ${state.selected}.`);
    $("decision-note").value = "";
  } catch (error) {
    notice(`${action}: ${error.message}`);
  }
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.key = $("key-input").value;
  sessionStorage.setItem("finetuning-key", state.key);
  $("key").hidden = true;
  refresh();
});
$("upload-form").addEventListener("submit", upload);
// A file dropped on the upload form is picked and checked at once.
$("upload-form").addEventListener("dragover", (event) => { event.preventDefault(); $("upload-form").classList.add("over"); });
$("upload-form").addEventListener("dragleave", () => $("upload-form").classList.remove("over"));
$("upload-form").addEventListener("drop", (event) => {
  event.preventDefault();
  $("upload-form").classList.remove("over");
  if (!event.dataTransfer || event.dataTransfer.files.length === 0) return;
  $("file").files = event.dataTransfer.files;
  $("upload-form").requestSubmit();
});
$("launch-form").addEventListener("submit", launch);
for (const action of ["approve", "reject", "cancel", "pause", "resume"]) $(action).addEventListener("click", () => control(action));
refresh();
setInterval(refresh, 1000);

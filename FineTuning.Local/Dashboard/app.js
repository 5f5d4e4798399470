// The dashboard: the HTTP API of the Azure host, read and driven from the page. Every piece of dataset content (file
// names, topics, answers) goes into the page as text (textContent), never as markup.
"use strict";

const state = { key: sessionStorage.getItem("finetuning-key"), selected: null, uploaded: null };
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
    findings.append(el("li", `${code} (${list[0].severity}): ${list[0].message} — ${lines}`));
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
  try {
    const started = await api("POST", "/api/runs", JSON.stringify(request), "application/json");
    state.selected = started.id;
    notice(`Run ${started.id} started.`);
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
  const body = $("runs").tBodies[0];
  body.replaceChildren(
    ...runs.map((run) => {
      const row = el("tr", null, el("td", run.runId), el("td", run.status), el("td", run.stage), el("td", run.datasetBlob), el("td", run.modelId ?? ""));
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
      const lineage = [`dataset ${model.datasetBlob} (${hash})`, `split ${Object.keys(model.splitFileHashes).join(", ")}`,
        `job ${model.jobId}`, `model`, model.deployment ? `deployment ${model.deployment}` : null].filter(Boolean).join(" → ");
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
        el("td", evaluation), el("td", lineage), actions);
      row.dataset.model = model.modelId;
      return row;
    }),
  );
}

async function changeModel(id, action) {
  try {
    await api("POST", `/api/models/${encodeURIComponent(id)}/${action}`, JSON.stringify({ by: "dashboard" }), "application/json");
    notice(`${id}: ${action} done.`);
    await renderModels();
  } catch (error) {
    notice(`${action}: ${error.message}`);
  }
}

async function renderRun(id) {
  const detail = await api("GET", `/api/runs/${encodeURIComponent(id)}`);
  const run = detail.run;
  $("run").hidden = false;
  $("run-h").textContent = `Run ${id}`;
  const progress = detail.progress;
  const step = progress && progress.totalSteps ? `, step ${progress.step} of ${progress.totalSteps}` : "";
  $("run-status").textContent = run ? `${run.status} at ${run.stage}${step}${run.error ? `: ${run.error}` : ""}` : "starting";
  $("run-status").dataset.status = run ? run.status : "pending";
  const bar = $("run-progress");
  bar.max = progress && progress.totalSteps ? progress.totalSteps : 1;
  bar.value = run && !detail.running ? bar.max : progress && progress.step ? progress.step : 0;
  const waiting = run && run.status === "awaitingApproval";
  $("approve").hidden = !waiting;
  $("reject").hidden = !waiting;
  $("cancel").hidden = !detail.running || waiting;
  $("pause").hidden = !run || run.jobStatus !== "running";
  $("resume").hidden = !run || run.jobStatus !== "paused";
  if (detail.reports.includes(`/api/runs/${id}/reports/results`)) {
    renderCurves(await api("GET", `/api/runs/${encodeURIComponent(id)}/reports/results`));
  } else {
    $("curves").replaceChildren();
  }
  if (detail.reports.includes(`/api/runs/${id}/reports/evaluation`)) {
    renderEvaluation(await api("GET", `/api/runs/${encodeURIComponent(id)}/reports/evaluation`));
  } else {
    $("evaluation").replaceChildren();
  }
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
    $("curves").replaceChildren();
    return;
  }
  const all = series.flatMap((s) => s.points);
  const [minX, maxX] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const [minY, maxY] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  const [width, height, pad] = [480, 160, 24];
  const x = (v) => pad + ((v - minX) / Math.max(1e-9, maxX - minX)) * (width - 2 * pad);
  const y = (v) => height - pad - ((v - minY) / Math.max(1e-9, maxY - minY)) * (height - 2 * pad);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${report.training.metric}: ${report.training.baseline} at first, ${report.training.final} at the end`);
  for (const s of series) {
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", s.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", s.color);
    line.setAttribute("stroke-width", "2");
    line.dataset.series = s.label;
    svg.append(line);
  }
  for (const checkpoint of report.checkpoints || []) {
    const mark = document.createElementNS(ns, "line");
    const at = x(checkpoint.step);
    for (const [name, value] of [["x1", at], ["x2", at], ["y1", pad], ["y2", height - pad]]) mark.setAttribute(name, String(value));
    mark.setAttribute("stroke", "#999");
    mark.setAttribute("stroke-dasharray", "3 3");
    svg.append(mark);
  }
  const legend = series.map((s) => `${s.label} (${s.points.length} steps)`).join(", ");
  const warnings = report.training.warnings || [];
  $("curves").replaceChildren(
    el("h3", `Training: ${report.training.outcome.replaceAll("_", " ")}`),
    svg,
    el("p", `${reward ? "Reward" : "Loss"} per step: ${legend}; dashed lines are checkpoints.`),
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
  $("evaluation").replaceChildren(
    el("div", null, table),
    el("p", `${summary.advice}; ${win}; 95% interval ${interval ? `${percent(interval.low)} to ${percent(interval.high)}` : "n/a"}.`),
    el("p", report.decision.passed ? "Promotion policy: passed." : `Promotion policy: not passed: ${report.decision.reasons.join("; ")}`),
  );
}

async function control(action) {
  if (!state.selected) return;
  const why = action === "reject" ? prompt("Why is the model rejected?") : null;
  try {
    await api("POST", `/api/runs/${encodeURIComponent(state.selected)}/${action}`, JSON.stringify({ by: "dashboard", why }), "application/json");
    notice(`${action} requested for ${state.selected}.`);
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
$("launch-form").addEventListener("submit", launch);
for (const action of ["approve", "reject", "cancel", "pause", "resume"]) $(action).addEventListener("click", () => control(action));
refresh();
setInterval(refresh, 1000);

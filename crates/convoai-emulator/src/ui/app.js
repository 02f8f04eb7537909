// The emulator dashboard. It reads and acts only through the admin API (/_emulator/...),
// polling once a second. Everything shown comes from requests a user's backend made, so it is
// put on the page as text nodes only, never as markup.
"use strict";

const POLL_MS = 1000;
const FETCH_TIMEOUT_MS = 5000;
const MAX_LOG = 500;
const CHART_SECONDS = 180;

// ---- small helpers -------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

async function api(path, options) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
  const opts = Object.assign({ signal: ctl.signal, headers: {} }, options || {});
  if (opts.json !== undefined) {
    opts.method = opts.method || "POST";
    opts.headers["content-type"] = "application/json";
    opts.body = JSON.stringify(opts.json);
    delete opts.json;
  }
  try {
    const res = await fetch(path, opts);
    const text = await res.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (_) { body = null; }
    return { ok: res.ok, status: res.status, body };
  } finally {
    clearTimeout(timer);
  }
}

function errorText(r) {
  const d = r.body && (r.body.detail || r.body.reason);
  return "failed (HTTP " + r.status + (d ? ": " + String(d).slice(0, 200) : "") + ")";
}

// Clock time in UTC; the date is in the tooltip (`timeCell`).
function time(tsSeconds) {
  if (!tsSeconds) return "—";
  return new Date(tsSeconds * 1000).toISOString().slice(11, 19) + " UTC";
}

function timeCell(tsSeconds) {
  const title = tsSeconds ? new Date(tsSeconds * 1000).toISOString() : null;
  return el("td", { title }, time(tsSeconds));
}

function timeMs(ms) {
  return new Date(ms).toISOString().slice(11, 23);
}

const AGENT_STATES = ["IDLE", "STARTING", "RUNNING", "STOPPING", "STOPPED", "RECOVERING", "FAILED"];

function statusClass(status) {
  switch (status) {
    case "RUNNING": case "delivered": return "s-ok";
    case "STARTING": case "RECOVERING": case "STOPPING": case "pending": return "s-warn";
    case "FAILED": case "failed": case "dropped": return "s-bad";
    default: return "s-off";
  }
}

function badge(text, cls) {
  return el("span", { class: "badge " + (cls || statusClass(text)) }, text);
}

function httpBadge(status) {
  if (status === null || status === undefined) return badge("dropped", "s-bad");
  const cls = status >= 500 ? "s-bad" : status >= 400 ? "s-warn" : "s-ok";
  return badge(String(status), cls);
}

// "/api/conversational-ai-agent/v2/projects/APPID/agents/X/speak" reads as "agents/X/speak";
// the full path stays in the tooltip and in the request's details.
function shortPath(path) {
  const m = /^\/(cn\/)?api\/conversational-ai-agent\/v2\/(?:projects\/[^/?]+\/)?(.*)$/.exec(path);
  if (!m) return path;
  return (m[1] ? "(cn) " : "") + m[2];
}

function table(headers, rows, emptyText) {
  if (!rows.length) return el("p", { class: "empty" }, emptyText);
  return el("div", { class: "wrap" },
    el("table", {},
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows)));
}

function pretty(text) {
  if (text === null || text === undefined) return "(no body)";
  if (typeof text !== "string") return JSON.stringify(text, null, 2);
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch (_) { return text; }
}

// Replaces the children of `host` only when what they show changed, and puts the keyboard
// focus back on the same control, so polling never pulls focus from under the user.
function render(host, key, build) {
  if (host.dataset.key === key) return;
  const focused = document.activeElement;
  const focusKey = focused && host.contains(focused) ? focused.dataset.focus : null;
  host.dataset.key = key;
  host.replaceChildren(...[].concat(build()));
  if (focusKey) {
    const again = host.querySelector('[data-focus="' + CSS.escape(focusKey) + '"]');
    if (again) again.focus();
  }
}

function setNotice(node, text, isError) {
  node.textContent = text;
  node.className = "notice" + (isError ? " err" : "");
}

// ---- live state ------------------------------------------------------------------------------

const live = { ok: null };

function setLive(ok) {
  if (live.ok === ok) return;
  live.ok = ok;
  const node = document.getElementById("live");
  node.textContent = ok ? "live: updated every second" : "disconnected: retrying";
  node.className = ok ? "live" : "live down";
}

const log = { lastSeq: 0, entries: [] };

async function pollLog() {
  const r = await api("/_emulator/log?after=" + log.lastSeq + "&limit=" + MAX_LOG);
  if (!r.ok || !r.body) return;
  if (r.body.last_seq < log.lastSeq) {
    // The log was reset: start over.
    log.lastSeq = 0;
    log.entries = [];
    return pollLog();
  }
  log.entries = log.entries.concat(r.body.entries || []).slice(-MAX_LOG);
  log.lastSeq = r.body.last_seq;
}

async function pollChart() {
  const r = await api("/_emulator/stats?seconds=" + CHART_SECONDS);
  if (!r.ok || !r.body) return;
  const series = r.body.seconds || [];
  const svg = document.getElementById("chart");
  const max = Math.max(1, ...series.map((s) => s.requests));
  const w = 600 / Math.max(1, series.length);
  const ns = "http://www.w3.org/2000/svg";
  const bars = [];
  series.forEach((s, i) => {
    for (const [value, cls] of [[s.requests, "req"], [s.errors, "err"]]) {
      if (!value) continue;
      const h = (value / max) * 58;
      const rect = document.createElementNS(ns, "rect");
      rect.setAttribute("x", (i * w).toFixed(2));
      rect.setAttribute("y", (60 - h).toFixed(2));
      rect.setAttribute("width", Math.max(w - 0.3, 0.5).toFixed(2));
      rect.setAttribute("height", h.toFixed(2));
      rect.setAttribute("class", cls);
      bars.push(rect);
    }
  });
  svg.replaceChildren(...bars);
  const total = series.reduce((a, s) => a + s.requests, 0);
  const errors = series.reduce((a, s) => a + s.errors, 0);
  const last = series.slice(-10);
  const recent = last.reduce((a, s) => a + s.requests, 0) / Math.max(1, last.length);
  document.getElementById("chart-summary").textContent = total
    ? "Last 3 minutes: " + total + " requests, " + errors + " failed (" +
      ((errors / total) * 100).toFixed(1) + "% error rate); " + recent.toFixed(1) +
      " requests/s over the last 10 s. Blue: requests per second; red: failed."
    : "Last 3 minutes: no requests.";
}

// ---- views -------------------------------------------------------------------------------------

const agentFilters = { channel: "", status: "" };

const views = {
  agents: {
    title: "Agents",
    mount(main) {
      const channel = el("input", {
        type: "text", id: "filter-channel", value: agentFilters.channel,
        placeholder: "any channel", autocomplete: "off",
        oninput: (e) => { agentFilters.channel = e.target.value; this.update(); },
      });
      const status = el("select", {
        id: "filter-status",
        onchange: (e) => { agentFilters.status = e.target.value; this.update(); },
      }, el("option", { value: "" }, "any status"),
      AGENT_STATES.map((s) => el("option", { value: s, selected: s === agentFilters.status }, s)));
      this.list = el("div", { id: "agents" });
      main.append(
        el("div", { class: "filters", role: "search" },
          el("label", { for: "filter-channel" }, "Channel", channel),
          el("label", { for: "filter-status" }, "Status", status)),
        this.list);
    },
    async refresh() {
      const r = await api("/_emulator/agents");
      if (!r.ok) throw new Error(errorText(r));
      this.agents = r.body || [];
      this.update();
    },
    update() {
      if (!this.agents) return;
      const ch = agentFilters.channel.trim();
      const shown = this.agents
        .filter((a) => !ch || a.channel.includes(ch))
        .filter((a) => !agentFilters.status || a.status === agentFilters.status)
        .slice().reverse();
      render(this.list, JSON.stringify([shown, this.agents.length]), () => {
        if (!this.agents.length) return el("p", { class: "empty" }, "No agents yet: start one with the SDK or the CLI.");
        return table(["Agent", "Name", "Channel", "Status", "Started", "Stopped", "Idle timeout"],
          shown.map((a) => el("tr", {},
            el("td", { class: "mono" }, el("a", { href: "#/agents/" + encodeURIComponent(a.agent_id), "data-focus": "a-" + a.agent_id }, a.agent_id)),
            el("td", {}, a.name),
            el("td", {}, a.channel),
            el("td", {}, badge(a.status)),
            timeCell(a.create_ts),
            timeCell(a.stop_ts),
            el("td", {}, a.idle_timeout ? a.idle_timeout + " s" : "—"))),
          "No agent matches these filters.");
      });
    },
  },

  agent: {
    title: "Agent",
    mount(main, id) {
      this.id = id;
      this.detail = null;
      const text = el("input", { type: "text", id: "speak-text", maxlength: 512, placeholder: "text to speak", autocomplete: "off" });
      const act = (label, cls, run) => el("button", { type: "button", class: cls, "data-action": label, onclick: run }, label);
      this.notice = el("p", { class: "notice", role: "status", "aria-live": "polite" });
      this.head = el("div", {});
      this.buttons = [
        act("Speak", "", () => this.action("speak", { text: text.value }, "spoke")),
        act("Interrupt", "plain", () => this.action("interrupt", {}, "interrupted")),
        act("Inject error", "danger", () => this.action("fail", {}, "marked FAILED")),
        act("Stop", "danger", () => this.action("stop", {}, "stopped")),
      ];
      this.body = el("div", {});
      main.append(
        el("p", {}, el("a", { href: "#/agents" }, "← all agents")),
        this.head,
        el("form", { class: "actions", onsubmit: (e) => { e.preventDefault(); this.buttons[0].click(); } },
          el("label", { for: "speak-text" }, "Say", text), this.buttons),
        this.notice,
        this.body);
    },
    async action(what, json, done) {
      if (what === "speak" && !json.text) {
        setNotice(this.notice, "Type something to speak first.", true);
        return;
      }
      const r = await api("/_emulator/agents/" + encodeURIComponent(this.id) + "/" + what, { json });
      setNotice(this.notice, r.ok ? "Agent " + done + "." : what + " " + errorText(r), !r.ok);
      await this.refresh();
    },
    async refresh() {
      const base = "/_emulator/agents/" + encodeURIComponent(this.id);
      const [d, t, c] = await Promise.all([
        api(base),
        api(base + "/turns"),
        api("/_emulator/callbacks"),
      ]);
      if (!d.ok) {
        render(this.head, "missing", () => el("h2", { tabindex: -1 }, "Agent " + this.id + " not found"));
        this.buttons.forEach((b) => { b.disabled = true; });
        return;
      }
      const a = d.body;
      const running = a.status === "RUNNING";
      this.buttons.forEach((b) => { b.disabled = !running; });
      render(this.head, JSON.stringify([a.name, a.status, a.message, a.stop_ts]), () => [
        el("h2", { tabindex: -1 }, "Agent " + a.name + " ", badge(a.status)),
        el("dl", { class: "props" },
          el("dt", {}, "Id"), el("dd", { class: "mono" }, a.agent_id),
          el("dt", {}, "Channel"), el("dd", {}, a.channel),
          el("dt", {}, "Agent uid"), el("dd", {}, a.agent_rtc_uid),
          el("dt", {}, "Started"), el("dd", {}, a.create_ts ? new Date(a.create_ts * 1000).toISOString() : "—"),
          el("dt", {}, "Stopped"), el("dd", {}, a.stop_ts ? new Date(a.stop_ts * 1000).toISOString() : "—"),
          el("dt", {}, "Idle timeout"), el("dd", {}, a.idle_timeout ? a.idle_timeout + " s" : "—"),
          a.message ? [el("dt", {}, "Message"), el("dd", {}, a.message)] : null),
      ]);
      const turns = t.ok && t.body && Array.isArray(t.body.turns) ? t.body.turns : [];
      const requests = log.entries.filter((e) => e.agent_id === this.id);
      const callbacks = c.ok && Array.isArray(c.body) ? c.body.filter((cb) => cb.agent_id === this.id) : null;
      render(this.body, JSON.stringify([a.history, a.properties, turns, requests.map((r) => r.seq), callbacks]), () => [
        el("h3", {}, "History"),
        a.history.length
          ? el("ol", { class: "history", id: "history" }, a.history.map((h) => el("li", {}, el("span", { class: "role" }, h.role + ":"), h.content)))
          : el("p", { class: "empty", id: "history" }, "Nothing said yet."),
        el("h3", {}, "Turns"),
        turnsTable(turns),
        el("h3", {}, "Requests"),
        requestsTable(requests, null),
        el("h3", {}, "Callbacks"),
        callbacksTable(callbacks, null),
        el("h3", {}, "Join properties (secrets shown as [redacted])"),
        el("pre", { class: "mono", id: "properties" }, pretty(a.properties)),
      ]);
    },
  },

  requests: {
    title: "Requests",
    mount(main) {
      this.selected = null;
      this.failedOnly = false;
      this.list = el("div", { id: "requests" });
      this.detail = el("div", { id: "request-body" });
      const failed = el("input", { type: "checkbox", id: "failed-only", onchange: (e) => { this.failedOnly = e.target.checked; this.update(); } });
      main.append(
        el("div", { class: "filters" }, el("label", { for: "failed-only", class: "check" }, failed, "Failed only (status 400 and above, or dropped)")),
        this.list, this.detail);
    },
    async refresh() { this.update(); },
    update() {
      const failed = (e) => e.status === null || e.status === undefined || e.status >= 400;
      const shown = log.entries.filter((e) => !this.failedOnly || failed(e)).reverse();
      render(this.list, JSON.stringify([log.lastSeq, this.selected, this.failedOnly]), () =>
        requestsTable(shown, (seq) => { this.selected = seq; this.update(); }, this.selected));
      const sel = log.entries.find((e) => e.seq === this.selected);
      render(this.detail, String(this.selected) + ":" + Boolean(sel), () => sel
        ? [el("h3", {}, "Request #" + sel.seq + " (secrets redacted)"),
           el("dl", { class: "props" },
             el("dt", {}, "Request"), el("dd", { class: "mono" }, sel.method + " " + sel.path),
             el("dt", {}, "Agent"), el("dd", { class: "mono" }, sel.agent_id ? el("a", { href: "#/agents/" + encodeURIComponent(sel.agent_id) }, sel.agent_id) : "—"),
             el("dt", {}, "Content type"), el("dd", {}, sel.content_type || "—"),
             el("dt", {}, "User agent"), el("dd", {}, sel.user_agent || "—")),
           el("pre", { class: "mono" }, pretty(sel.body))]
        : []);
    },
  },

  callbacks: {
    title: "Callbacks",
    mount(main) {
      this.selected = null;
      this.list = el("div", { id: "callbacks" });
      this.detail = el("div", {});
      main.append(this.list, this.detail);
    },
    async refresh() {
      const r = await api("/_emulator/callbacks");
      this.items = r.ok && Array.isArray(r.body) ? r.body : null;
      if (!r.ok && r.status !== 404) throw new Error(errorText(r));
      const shown = this.items ? this.items.slice().reverse() : null;
      render(this.list, JSON.stringify([shown, this.selected]), () =>
        callbacksTable(shown, (id) => { this.selected = id; this.refresh(); }, this.selected));
      const sel = this.items && this.items.find((cb) => cb.notice_id === this.selected);
      render(this.detail, JSON.stringify(sel || null), () => sel
        ? [el("h3", {}, "Callback " + sel.notice_id), el("pre", { class: "mono" }, pretty(sel.body))]
        : []);
    },
  },

  faults: {
    title: "Faults",
    mount(main) {
      this.current = el("div", { id: "faults-current" });
      this.notice = el("p", { class: "notice", role: "status", "aria-live": "polite" });
      const rate = el("input", { type: "number", id: "fault-rate", min: 0, max: 1, step: 0.05, value: 0 });
      const latency = el("input", { type: "number", id: "fault-latency", min: 0, max: 60000, step: 10, value: 0 });
      const kind = el("select", { id: "rule-kind" },
        [["status", "answer with a status"], ["drop", "drop the connection"], ["delay", "delay, then answer"],
         ["status_after_state_change", "act, then answer with a status"],
         ["drop_after_state_change", "act, then drop the connection"]]
          .map(([v, t]) => el("option", { value: v }, t)));
      const status = el("input", { type: "number", id: "rule-status", min: 100, max: 599, value: 503 });
      const ms = el("input", { type: "number", id: "rule-ms", min: 0, max: 60000, value: 500 });
      const method = el("select", { id: "rule-method" },
        ["", "GET", "POST", "PATCH", "DELETE"].map((m) => el("option", { value: m }, m || "any")));
      const path = el("input", { type: "text", id: "rule-path", placeholder: "e.g. /join", autocomplete: "off" });
      const times = el("input", { type: "number", id: "rule-times", min: 1, max: 1000000, value: 1 });
      this.form = { rate, latency };
      const send = async (url, options, done) => {
        const r = await api(url, options);
        setNotice(this.notice, r.ok ? done : errorText(r), !r.ok);
        this.current.dataset.key = "";
        await this.refresh(true);
      };
      // The controls come first and the live settings after them, so a redraw of the
      // settings never moves a control from under the pointer.
      main.append(
        this.notice,
        el("h3", {}, "Random faults and latency"),
        el("form", { id: "fault-settings", onsubmit: (e) => {
          e.preventDefault();
          send("/_emulator/faults", { json: { rate: Number(rate.value), latency_ms: Math.round(Number(latency.value)) } }, "Settings applied.");
        } },
        el("label", { for: "fault-rate" }, "Fault rate (0 to 1)", rate),
        el("label", { for: "fault-latency" }, "Added latency (ms)", latency),
        el("button", { type: "submit" }, "Apply")),
        el("h3", {}, "Add a scripted rule"),
        el("form", { id: "fault-rule", onsubmit: (e) => {
          e.preventDefault();
          const fault = { kind: kind.value };
          if (kind.value.startsWith("status")) fault.status = Math.round(Number(status.value));
          if (kind.value === "delay") fault.ms = Math.round(Number(ms.value));
          const rule = { fault, times: Math.round(Number(times.value)) || 1 };
          if (method.value) rule.method = method.value;
          if (path.value.trim()) rule.path_contains = path.value.trim();
          send("/_emulator/faults/rules", { json: rule }, "Rule added.");
        } },
        el("label", { for: "rule-kind" }, "What happens", kind),
        el("label", { for: "rule-status" }, "Status", status),
        el("label", { for: "rule-ms" }, "Delay (ms)", ms),
        el("label", { for: "rule-method" }, "Method", method),
        el("label", { for: "rule-path" }, "Path contains", path),
        el("label", { for: "rule-times" }, "Times", times),
        el("button", { type: "submit" }, "Add rule")),
        el("div", { class: "actions" },
          el("button", { type: "button", class: "plain", onclick: () => send("/_emulator/faults/rules", { method: "DELETE" }, "Rules cleared.") }, "Clear rules")),
        el("h3", {}, "Current settings"),
        this.current);
      this.filled = false;
    },
    async refresh() {
      const r = await api("/_emulator/faults");
      if (!r.ok) throw new Error(errorText(r));
      const f = r.body;
      if (!this.filled) {
        this.form.rate.value = f.rate;
        this.form.latency.value = f.latency_ms;
        this.filled = true;
      }
      render(this.current, JSON.stringify(f), () => [
        el("dl", { class: "props" },
          el("dt", {}, "Fault rate"), el("dd", { id: "current-rate" }, String(f.rate)),
          el("dt", {}, "Added latency"), el("dd", { id: "current-latency" }, f.latency_ms + " ms"),
          el("dt", {}, "Random delay fault"), el("dd", {}, f.delay_ms + " ms")),
        table(["#", "Fault", "Method", "Path contains", "Times left"],
          f.rules.map((rule, i) => el("tr", {},
            el("td", {}, String(i + 1)), el("td", {}, rule.label),
            el("td", {}, rule.method || "any"), el("td", {}, rule.path_contains || "any"),
            el("td", {}, String(rule.times)))),
          "No scripted rules."),
      ]);
    },
  },
};

// A latency in milliseconds, or "—" when the value is missing or not a number.
function latencyText(value) {
  return typeof value === "number" && Number.isFinite(value) ? value + " ms" : "—";
}

function turnsTable(turns) {
  return table(["Turn", "Started by", "Ended", "End-to-end latency", "Segments"],
    turns.map((t, i) => {
      const m = (t && t.metrics) || {};
      const segs = Array.isArray(m.segmented_latency_ms) ? m.segmented_latency_ms : [];
      // Each segment is {name, latency} (milliseconds), as the service documents.
      const segText = segs.map((s) => s && typeof s === "object"
        ? (s.name || "?") + " " + latencyText(s.latency)
        : String(s)).join(", ");
      return el("tr", {},
        el("td", {}, String(t.turn_id !== undefined ? t.turn_id : i + 1)),
        el("td", {}, (t.start && t.start.type) || "—"),
        el("td", {}, (t.end && t.end.type) || "—"),
        el("td", {}, latencyText(m.e2e_latency_ms)),
        el("td", { class: "text" }, segText || "—"));
    }), "No turns yet.");
}

function requestsTable(entries, onSelect, selected) {
  return table(["#", "Time", "Method", "Path", "Status", "Latency", "Auth", "Fault", "Request id"],
    entries.map((e) => el("tr", { class: e.seq === selected ? "selected" : null },
      el("td", {}, onSelect
        ? el("button", { type: "button", class: "linkish", "data-focus": "r-" + e.seq, "aria-label": "Show the body of request " + e.seq, onclick: () => onSelect(e.seq) }, "#" + e.seq)
        : "#" + e.seq),
      el("td", {}, timeMs(e.at_ms)),
      el("td", {}, e.method),
      el("td", { class: "mono text", title: e.path }, shortPath(e.path)),
      el("td", {}, httpBadge(e.status)),
      el("td", {}, e.latency_ms + " ms"),
      el("td", {}, e.auth || "none"),
      el("td", {}, e.fault || "—"),
      el("td", { class: "mono" }, e.request_id || "—"))),
    "No requests yet.");
}

// Names of the notification event types (webhooks.md §4); unknown codes show as numbers.
const EVENT_NAMES = {
  101: "agent joined", 102: "agent left", 103: "agent history", 104: "agent expire",
  110: "agent error", 111: "agent metrics", 112: "turns finished",
  201: "inbound call state", 202: "outbound call state",
};

function callbacksTable(items, onSelect, selected) {
  if (items === null) return el("p", { class: "empty", id: "callbacks-empty" }, "no callbacks (webhooks not configured)");
  return table(["Notice", "Event type", "Agent", "Target", "Status", "Attempts"],
    items.map((cb) => el("tr", { class: cb.notice_id === selected ? "selected" : null },
      el("td", { class: "mono" }, onSelect
        ? el("button", { type: "button", class: "linkish", "data-focus": "c-" + cb.notice_id, onclick: () => onSelect(cb.notice_id) }, cb.notice_id)
        : cb.notice_id),
      el("td", {}, String(cb.event_type) + (EVENT_NAMES[cb.event_type] ? " " + EVENT_NAMES[cb.event_type] : "")),
      el("td", { class: "mono" }, cb.agent_id ? el("a", { href: "#/agents/" + encodeURIComponent(cb.agent_id) }, cb.agent_id) : "—"),
      el("td", { class: "mono text" }, cb.target),
      el("td", {}, badge(String(cb.state))),
      el("td", { class: "text" }, (cb.attempts || []).map((a, i) =>
        "#" + (i + 1) + " " + (a.status !== null && a.status !== undefined ? "HTTP " + a.status : "error: " + (a.error || "?")) +
        " in " + a.latency_ms + " ms").join("; ") || "none yet"))),
    "No callbacks sent yet.");
}

// ---- routing and polling -----------------------------------------------------------------------

let current = null;

function route(event) {
  const parts = (location.hash || "#/agents").slice(2).split("/");
  let name = parts[0] || "agents";
  let arg = null;
  if (name === "agents" && parts[1]) {
    name = "agent";
    try { arg = decodeURIComponent(parts[1]); } catch (_) { arg = parts[1]; }
  }
  if (!views[name]) name = "agents";
  const view = views[name];
  const main = document.getElementById("view");
  main.replaceChildren();
  if (name !== "agent") main.append(el("h2", { tabindex: -1 }, view.title));
  view.mount(main, arg);
  current = view;
  const section = name === "agent" ? "agents" : name;
  document.querySelectorAll("nav a").forEach((a) => {
    if (a.dataset.nav === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  document.title = view.title + " · ConvoAI emulator";
  // On a change of view the keyboard focus moves to its heading, so the next Tab starts
  // in the new content; on first load it stays at the top of the page.
  const first = pollLog().then(() => view.refresh()).then(() => setLive(true), () => setLive(false));
  first.then(() => {
    const h = main.querySelector("h2");
    if (h && current === view && (event || document.activeElement === document.body) && !main.contains(document.activeElement)) {
      if (event) h.focus();
    }
  });
}

let busy = false;

async function tick() {
  if (busy) return;
  busy = true;
  try {
    await pollLog();
    const view = current;
    if (view) await view.refresh();
    setLive(true);
  } catch (e) {
    setLive(false);
  } finally {
    busy = false;
  }
}

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", () => {
  route();
  setInterval(tick, POLL_MS);
  pollChart().catch(() => setLive(false));
  setInterval(() => pollChart().catch(() => setLive(false)), 2 * POLL_MS);
});

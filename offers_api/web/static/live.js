// Live offer activity: the API's event stream read with fetch (EventSource cannot send
// the Authorization header), its frames parsed here, reconnected with backoff.

import { api, authFailed, describeDetail, token } from "./api.js";

const STREAM_PATH = "/v1/activity/stream";
const SNAPSHOT_PATH = "/v1/activity";
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;
const SILENCE_MS = 45000; // keep-alive comments come far more often than this

/** Parses text/event-stream: feed() it text as it arrives, it calls onEvent(type, data). */
export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = "";
    this.type = "";
    this.data = [];
    this.retry = null;
  }

  feed(text) {
    this.buffer += text;
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop(); // an unfinished line waits for the rest
    for (const line of lines) this.line(line);
  }

  line(line) {
    if (line === "") {
      if (this.data.length) this.onEvent(this.type || "message", this.data.join("\n"));
      this.type = "";
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return; // a comment: keep-alive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.type = value;
    else if (field === "data") this.data.push(value);
    else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
  }
}

/**
 * The live activity, shared by every view. Events: "activity" (detail: the snapshot),
 * "campaigns" (detail: [{id, status, version}]), "state" (detail: "connecting", "live",
 * "reconnecting" or "unavailable").
 */
export class LiveActivity extends EventTarget {
  constructor() {
    super();
    this.snapshot = null;
    this.state = "stopped";
    this.controller = null;
    this.timer = null;
    this.delay = FIRST_DELAY_MS;
    this.running = false;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.delay = FIRST_DELAY_MS;
    this.loadSnapshot();
    this.connect();
  }

  stop() {
    this.running = false;
    window.clearTimeout(this.timer);
    if (this.controller) this.controller.abort();
    this.controller = null;
    this.snapshot = null;
    this.setState("stopped");
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: state }));
  }

  publish(snapshot) {
    if (!snapshot || typeof snapshot !== "object") return;
    this.snapshot = snapshot;
    this.dispatchEvent(new CustomEvent("activity", { detail: snapshot }));
  }

  async loadSnapshot() {
    try {
      const snapshot = await api.get(SNAPSHOT_PATH);
      if (this.running && !this.snapshot) this.publish(snapshot);
    } catch {
      // the stream brings the same snapshot; its state tells what went wrong
    }
  }

  campaign(id) {
    const campaigns = (this.snapshot && this.snapshot.campaigns) || [];
    return campaigns.find((c) => c.campaign_id === id) || null;
  }

  port(code) {
    const ports = (this.snapshot && this.snapshot.ports) || [];
    return ports.find((p) => p.port === code) || null;
  }

  frame(type, data) {
    let parsed;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    if (type === "activity") this.publish(parsed);
    else if (type === "campaigns" && Array.isArray(parsed)) {
      this.dispatchEvent(new CustomEvent("campaigns", { detail: parsed }));
    }
  }

  async connect() {
    if (!this.running) return;
    const current = token();
    if (!current) return;
    this.setState(this.state === "live" || this.state === "reconnecting" ? "reconnecting" : "connecting");
    const controller = new AbortController();
    this.controller = controller;
    let silence = null;
    const watch = () => {
      window.clearTimeout(silence);
      silence = window.setTimeout(() => controller.abort(), SILENCE_MS);
    };
    const parser = new SseParser((type, data) => this.frame(type, data));
    try {
      watch();
      const response = await fetch(STREAM_PATH, {
        headers: { Accept: "text/event-stream", Authorization: `Bearer ${current}` },
        signal: controller.signal,
        cache: "no-store",
        credentials: "omit",
      });
      if (response.status === 401 || response.status === 403) {
        const body = await response.json().catch(() => null);
        window.clearTimeout(silence);
        authFailed(describeDetail(body && body.detail, response.status).message);
        return;
      }
      if (!response.ok || !response.body) {
        throw new Error(`HTTP ${response.status}`);
      }
      this.setState("live");
      this.delay = FIRST_DELAY_MS;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        watch();
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } catch {
      // dropped, refused or silent for too long: try again below
    } finally {
      window.clearTimeout(silence);
    }
    if (!this.running || this.controller !== controller) return;
    this.setState("reconnecting");
    const wait = parser.retry ? Math.max(parser.retry, this.delay) : this.delay;
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    this.timer = window.setTimeout(() => this.connect(), wait + Math.random() * 250);
  }
}

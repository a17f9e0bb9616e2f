// Player events (docs/api/events.md): the same event types as the C player (examples/player),
// sent to POST /v1/events as JSON batches. Events are batched every 10 s or 50 events and
// flushed when the view stops and on `pagehide` (fetch keepalive, which outlives the page).
// Every event has its own id (a UUID): a batch resent after a network error or a 5xx is stored
// once (the ingest removes duplicates). Only the ingest's own answer acknowledges a batch (as
// for the C emitter, libstream/client/emitter_http.c): see verdict(). Fields follow CMCD: br
// (kbit/s of the rendition), bl (buffer ahead, ms), mtp (measured throughput, kbit/s), sid (the
// view), cid (the title), ot, su (startup or rebuffering).

import { apiFetch } from './api.js';

const BATCH_MAX = 50;
const FLUSH_MS = 10000;
const HEARTBEAT_MS = 10000;
const QUEUE_MAX = 1000; // memory bound: the oldest events are dropped beyond it

/* A random UUID; randomUUID needs a secure context, getRandomValues does not. */
export function uuid() {
  if (window.isSecureContext && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/* Seconds of media buffered ahead of the playhead. */
function bufferedAhead(video) {
  const t = video.currentTime;
  const b = video.buffered;
  for (let i = 0; i < b.length; i++) if (b.start(i) <= t + 0.1 && t < b.end(i)) return b.end(i) - t;
  return 0;
}

/* Whether `text` is the ingest's answer: {"accepted":N,"duplicates":M} (routes_events.c). */
function ingestAnswer(text) {
  let j;
  try {
    j = JSON.parse(text);
  } catch {
    return false;
  }
  const num = (x) => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  return j !== null && typeof j === 'object' && !Array.isArray(j) && num(j.accepted) &&
    (j.duplicates === undefined || num(j.duplicates));
}

/*
 * The verdict on the answer to a batch: ['acked'], ['refused', why] or ['retry', why], by the C
 * emitter's rules. A captive portal or a misconfigured proxy answers everything with 200
 * text/html (or a 302 to its login page): taking that for an acknowledgement would lose the
 * batch. So only a 2xx whose body is the ingest's JSON answer acknowledges it; any other 2xx
 * (a portal's page, a proxy's JSON, a 204) and any 3xx (flush() asks fetch for redirect:
 * 'manual', so a redirect is not followed with the events and the token: an opaqueredirect) is
 * retried. A 4xx refuses the batch for good only when it is streamd's application/problem+json
 * (a portal's or a proxy's own 404 page says nothing about the batch), except 401 (api.js has
 * tried a refresh), 408 and 429; 5xx and the rest are retried.
 */
export async function verdict(res) {
  const s = res.status;
  if (res.type === 'opaqueredirect' || (s >= 300 && s < 400))
    return ['retry', `HTTP ${s || '3xx'} (a redirect: not followed)`];
  if (s >= 200 && s < 300) {
    if (ingestAnswer(await res.text().catch(() => ''))) return ['acked'];
    return ['retry',
      `HTTP ${s} whose body is not the ingest's answer (a captive portal or a proxy?)`];
  }
  if (res.body) res.body.cancel().catch(() => {});
  const type = res.headers.get('Content-Type') || '';
  if (s >= 400 && s < 500 && s !== 401 && s !== 408 && s !== 429) {
    if (/^application\/problem\+json\s*(;|$)/i.test(type)) return ['refused', `HTTP ${s}`];
    return ['retry', `HTTP ${s} without application/problem+json: not the ingest's refusal ` +
      '(a captive portal or a proxy?)'];
  }
  return ['retry', `HTTP ${s}`];
}

/*
 * One view's events. `stats()` (optional) gives {br, mtp} in kbit/s from the player library.
 * `sent` lists the ids and types of acknowledged events (the browser test reads it); `dropped`
 * counts events refused by the server or beyond the queue bound; `retried` counts answers that
 * put a batch back (`why` the last one's reason).
 */
export class ViewEvents {
  constructor({ video, titleId, episodeId, deviceId, stats }) {
    this.video = video;
    this.titleId = titleId;
    this.episodeId = episodeId || '';
    this.deviceId = deviceId;
    this.stats = stats || (() => ({}));
    this.viewId = uuid();
    this.sessionId = '';
    this.queue = [];
    this.dropped = 0;
    this.sent = [];
    this.retried = 0;
    this.why = '';
    this.inflight = null;
    this.closed = false; // close() has sent what it could
    this.started = false; // first frame shown
    this.stalled = false;
    this.ended = false;
    this.timers = [
      setInterval(() => this.flush(), FLUSH_MS),
      setInterval(() => {
        if (this.started && !this.video.paused && !this.ended) this.emit('heartbeat');
      }, HEARTBEAT_MS),
    ];
    this.onHide = () => this.flush();
    window.addEventListener('pagehide', this.onHide);
  }

  emit(type, extra = {}) {
    const v = this.video;
    const s = this.stats() || {};
    const e = {
      id: uuid(),
      viewId: this.viewId,
      type,
      clientTs: Date.now(),
      titleId: this.titleId,
      deviceId: this.deviceId,
      playheadMs: Math.max(0, Math.round((v.currentTime || 0) * 1000)),
      bl: Math.round(bufferedAhead(v) * 1000),
      sid: this.viewId,
      cid: this.titleId,
      ot: this.started ? 'v' : 'm',
      su: !this.started || this.stalled,
      ...extra,
    };
    if (this.episodeId) e.episodeId = this.episodeId;
    if (this.sessionId) e.sessionId = this.sessionId;
    if (v.videoWidth) {
      e.width = v.videoWidth;
      e.height = v.videoHeight;
    }
    if (s.br > 0) e.br = Math.round(s.br);
    if (s.mtp > 0) e.mtp = Math.min(1e8, Math.round(s.mtp));
    this.queue.push(e);
    if (this.queue.length > QUEUE_MAX) {
      this.queue.shift();
      this.dropped++;
    }
    if (this.queue.length >= BATCH_MAX) this.flush();
    return e;
  }

  error(message, code = 0) {
    this.emit('error', { error: { code, message: String(message).slice(0, 256), fatal: true } });
  }

  /*
   * Send the queued events (one batch in flight at a time). The batch is acknowledged only by
   * the ingest's answer; a network error and every answer verdict() does not take for the
   * ingest's (401 after api.js's refresh, 408, 429, 5xx, a 3xx, a portal's or a proxy's page)
   * put it back at the head of the queue for the next flush; streamd's problem+json 4xx drops it
   * (resending cannot help). fetch keepalive (api.js sets it for every POST) lets a flush on
   * pagehide finish after the page is gone, but nothing is left to read its answer there: that
   * last batch is sent once, whatever the answer.
   */
  flush() {
    if (this.inflight || this.queue.length === 0) return this.inflight || Promise.resolve();
    const batch = this.queue.splice(0, BATCH_MAX);
    this.inflight = apiFetch('POST', '/v1/events', { events: batch }, { redirect: 'manual' })
      .then(verdict, (err) => ['retry', err.status ? `HTTP ${err.status}` : `no answer: ${err}`])
      .then(([v, why]) => {
        if (v === 'acked') {
          for (const e of batch) this.sent.push({ id: e.id, type: e.type });
        } else if (v === 'refused') {
          this.dropped += batch.length;
        } else {
          this.queue.unshift(...batch);
          this.retried++;
          this.why = why;
        }
      })
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }

  /* Stop the timers and send everything left (resolves when the last batch is answered). */
  async close() {
    this.timers.forEach(clearInterval);
    window.removeEventListener('pagehide', this.onHide);
    for (let i = 0; i < 5 && (this.queue.length || this.inflight); i++) {
      await this.inflight;
      await this.flush();
    }
    this.closed = true;
  }

  /*
   * Map the <video> element's events onto player events: play, playing (first frame),
   * rebufferstart / rebufferend (waiting after the start, not while seeking), pause, seeking,
   * seeked, ended. Player libraries report renditionchange and errors themselves.
   */
  attach() {
    const v = this.video;
    let seeking = false;
    v.addEventListener('play', () => this.emit('play'));
    v.addEventListener('playing', () => {
      if (!this.started) {
        this.started = true;
        this.emit('playing');
      } else if (this.stalled) {
        this.emit('rebufferend');
        this.stalled = false;
      }
    });
    v.addEventListener('waiting', () => {
      if (this.started && !seeking && !this.stalled && !this.ended) {
        this.stalled = true;
        this.emit('rebufferstart');
      }
    });
    v.addEventListener('pause', () => {
      if (!v.ended) this.emit('pause');
    });
    v.addEventListener('seeking', () => {
      seeking = true;
      if (this.stalled) {
        this.emit('rebufferend');
        this.stalled = false;
      }
      this.emit('seeking');
    });
    v.addEventListener('seeked', () => {
      seeking = false;
      this.emit('seeked');
    });
    v.addEventListener('ended', () => {
      if (this.ended) return;
      if (this.stalled) {
        this.emit('rebufferend');
        this.stalled = false;
      }
      this.ended = true;
      this.emit('ended');
      this.flush();
    });
  }
}

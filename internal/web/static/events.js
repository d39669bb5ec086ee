// Live updates: a Server-Sent Events stream opened with a single-use ticket,
// reopened with a fresh ticket after an error and resumed from the last event
// id; when the stream keeps failing, long polling for new messages instead.

import { api, ApiError } from './api.js';

const EVENT_TYPES = ['message.created', 'message.updated', 'message.deleted', 'user.updated', 'reset'];
const MAX_STREAM_FAILURES = 3;
const POLL_WAIT = 25;
const STREAM_RETRY_WHILE_POLLING = 60_000;

/**
 * LiveFeed keeps the client up to date. The handlers:
 *   onEvent(type, data)  a chat event ("reset" means: reload the timeline);
 *   onOpen(resumed)      the stream opened; resumed is false when no event id
 *                        was known, so events may have been missed;
 *   onMessages(list)     messages found by long polling;
 *   onStatus(state)      "connecting", "live", "polling" or "offline";
 *   onRevoked(reason)    "revoked" or "expired": the session is over.
 * lastMessageID() returns the newest message id shown, for long polling.
 */
export class LiveFeed {
  constructor(handlers) {
    this.h = handlers;
    this.lastEventId = '';
    this.failures = 0;
    this.stopped = true;
    this.source = null;
    this.timer = 0;
    this.poller = null;
    // gen grows at every start and stop, so that a connect still waiting for
    // its ticket can tell that it belongs to an older run and give up.
    this.gen = 0;
  }

  /** start connects afresh, for a new session. */
  start() {
    this.lastEventId = '';
    this.failures = 0;
    this.stopped = false;
    this.gen++;
    this.connect();
  }

  /** stop disconnects and stops polling. */
  stop() {
    this.stopped = true;
    this.gen++;
    clearTimeout(this.timer);
    this.closeStream();
    if (this.poller) this.poller.abort();
    this.poller = null;
  }

  closeStream() {
    if (this.source) this.source.close();
    this.source = null;
  }

  async connect() {
    if (this.stopped) return;
    const gen = this.gen;
    this.closeStream();
    this.h.onStatus(this.poller ? 'polling' : 'connecting');
    let ticket;
    try {
      ({ ticket } = await api.ticket());
    } catch (err) {
      if (gen === this.gen) this.streamFailed(err);
      return;
    }
    if (gen !== this.gen) return;
    let url = '/api/messages/events?ticket=' + encodeURIComponent(ticket);
    if (this.lastEventId) url += '&lastEventId=' + encodeURIComponent(this.lastEventId);
    const source = new EventSource(url);
    this.source = source;
    source.onopen = () => this.opened();
    source.onerror = () => {
      // The ticket is single-use, so the browser's own retry cannot work:
      // close and start again with a fresh ticket.
      if (this.source !== source) return;
      this.closeStream();
      this.streamFailed(null);
    };
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (ev) => this.received(type, ev));
    }
    source.addEventListener('session.revoked', () => this.revoked('revoked'));
  }

  opened() {
    const resumed = this.lastEventId !== '';
    this.failures = 0;
    if (this.poller) {
      this.poller.abort();
      this.poller = null;
    }
    this.h.onStatus('live');
    this.h.onOpen(resumed);
  }

  received(type, ev) {
    if (ev.lastEventId) this.lastEventId = ev.lastEventId;
    // After a reset the old id is useless: resuming from it would only reset
    // again, so a reconnect before the next event reloads instead.
    else if (type === 'reset') this.lastEventId = '';
    let data = null;
    try {
      data = ev.data ? JSON.parse(ev.data) : null;
    } catch {
      // A "reset" may carry no JSON; the message events always do.
    }
    this.h.onEvent(type, data);
  }

  revoked(reason) {
    this.stop();
    this.h.onRevoked(reason);
  }

  streamFailed(err) {
    if (this.stopped) return;
    if (err instanceof ApiError && err.status === 403) {
      this.revoked('expired');
      return;
    }
    this.failures++;
    if (this.failures >= MAX_STREAM_FAILURES && !this.poller) {
      this.startPolling();
      this.timer = setTimeout(() => this.connect(), STREAM_RETRY_WHILE_POLLING);
      return;
    }
    if (this.poller) {
      this.timer = setTimeout(() => this.connect(), STREAM_RETRY_WHILE_POLLING);
      return;
    }
    this.h.onStatus('offline');
    const delay = Math.min(10_000, 500 * 2 ** this.failures) * (0.75 + Math.random() / 2);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  async startPolling() {
    const controller = new AbortController();
    this.poller = controller;
    this.h.onStatus('polling');
    while (!this.stopped && this.poller === controller) {
      try {
        const after = this.h.lastMessageID();
        const params = after > 0 ? { after, wait: POLL_WAIT, limit: 100 } : { after: 0, wait: POLL_WAIT, limit: 50 };
        const list = await api.messages(params, controller.signal);
        if (this.poller !== controller) return;
        this.h.onStatus('polling');
        if (Array.isArray(list) && list.length) this.h.onMessages(list);
      } catch (err) {
        if (err.name === 'AbortError' || this.poller !== controller) return;
        if (err instanceof ApiError && err.status === 403) {
          this.revoked('expired');
          return;
        }
        this.h.onStatus('offline');
        await sleep(5000);
      }
    }
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

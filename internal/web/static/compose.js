// The compose box: Enter sends, Shift+Enter starts a new line, a counter of
// code points up to the limit, and posts that are safe to retry.

import { api, ApiError } from './api.js';
import { t } from './i18n.js';
import { $, clearErrors, showError } from './ui.js';

const MAX_CHARS = 1000;
const RETRIES = 2;

/**
 * Composer drives the compose form. onSent(msg) gets each created message;
 * onExpired() is called when the server no longer knows the session.
 */
export class Composer {
  constructor({ onSent, onExpired }) {
    this.onSent = onSent;
    this.onExpired = onExpired;
    this.form = $('compose');
    this.area = $('compose-text');
    this.sending = false;
    this.area.addEventListener('input', () => this.update());
    this.area.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.send();
    });
    this.update();
  }

  focus() {
    this.area.focus();
  }

  /** update refreshes the counter, the send button and the box's height. */
  update() {
    const text = this.area.value;
    const n = [...text].length;
    const counter = $('compose-counter');
    counter.textContent = t('counter', { n, max: MAX_CHARS });
    counter.classList.toggle('over', n > MAX_CHARS);
    counter.classList.toggle('near', n > MAX_CHARS * 0.9);
    $('send-button').disabled = this.sending || !sendable(text);
    if (n > MAX_CHARS) $('compose-error').textContent = t('tooLong');
    else if ($('compose-error').textContent === t('tooLong')) $('compose-error').textContent = '';
    // Grow with the text up to a limit set in CSS (max-height).
    this.area.style.height = 'auto';
    const border = this.area.offsetHeight - this.area.clientHeight;
    this.area.style.height = this.area.scrollHeight + border + 'px';
  }

  async send() {
    const text = this.area.value;
    if (this.sending || !sendable(text)) return;
    this.sending = true;
    this.update();
    clearErrors(this.form);
    // One key for every try of this message: a retry after a lost answer
    // returns the first message instead of posting it twice.
    const key = crypto.randomUUID();
    try {
      const msg = await post(text, key);
      if (this.area.value === text) this.area.value = '';
      this.onSent(msg);
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) {
        this.onExpired();
        return;
      }
      showError(this.form, err, $('compose-error'));
    } finally {
      this.sending = false;
      this.update();
      this.area.focus();
    }
  }
}

// sendable reports whether text may be posted: not blank, within the limit.
function sendable(text) {
  return text.trim() !== '' && [...text].length <= MAX_CHARS;
}

async function post(text, key) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await api.post(text, key);
    } catch (err) {
      const lost = err instanceof ApiError && (err.status === 0 || err.status >= 500);
      if (!lost || attempt >= RETRIES) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500 * (attempt + 1)));
    }
  }
}

// The chat view: the timeline with its live updates and scroll-back, the
// compose box, and the account dialog.

import { api, ApiError } from './api.js';
import { Avatars } from './avatars.js';
import { LiveFeed } from './events.js';
import { t } from './i18n.js';
import { Timeline } from './timeline.js';
import { $, confirm, errorText, fieldText, setNotice } from './ui.js';
import { Composer } from './compose.js';
import { AccountDialog } from './account.js';

const PAGE = 50;
const NEAR_BOTTOM = 80;
const NEAR_TOP = 120;

/**
 * ChatView shows the chat for the logged-in user. onSessionEnd(notice) is
 * called when the session is over (logout, revoked, expired).
 */
export class ChatView {
  constructor(onSessionEnd) {
    this.onSessionEnd = onSessionEnd;
    this.user = null;
    this.avatars = new Avatars();
    this.scroller = $('timeline');
    this.timeline = new Timeline({
      list: $('messages'),
      avatars: this.avatars,
      me: () => this.user && this.user.userid,
      onEdit: (id, text) => this.edit(id, text),
      onDelete: (id) => this.remove(id),
    });
    this.feed = new LiveFeed({
      onEvent: (type, data) => this.event(type, data),
      onOpen: (resumed) => { if (!resumed) this.load(); },
      onMessages: (list) => this.added(list),
      onStatus: (state) => this.status(state),
      onRevoked: (reason) => this.end(reason === 'revoked' ? t('sessionRevoked') : t('sessionExpired')),
      lastMessageID: () => this.timeline.newestID(),
    });
    this.composer = new Composer({
      onSent: (msg) => { this.added([msg]); this.scrollToBottom(); },
      onExpired: () => this.end(t('sessionExpired')),
    });
    this.account = new AccountDialog({
      avatars: this.avatars,
      user: () => this.user,
      onLogout: (notice) => this.end(notice),
      pauseLive: (paused) => (paused ? this.feed.stop() : this.feed.start()),
    });
    this.loadingOlder = false;
    this.reachedStart = false;
    this.scroller.addEventListener('scroll', () => this.scrolled(), { passive: true });
    $('jump-new').addEventListener('click', () => this.scrollToBottom());
  }

  /** show opens the chat for user {userid, username}. */
  show(user) {
    this.user = user;
    $('auth-view').hidden = true;
    $('chat-view').hidden = false;
    this.account.setUser(user);
    this.timeline.clear();
    this.reachedStart = false;
    setNotice($('older-status'), '');
    $('jump-new').hidden = true;
    // Load at once, and again when the stream opens (onOpen), so that
    // nothing sent in between is missed; the timeline merges duplicates.
    this.load();
    this.feed.start();
    this.composer.focus();
  }

  /** end leaves the chat and hands over to the login form. */
  end(notice) {
    if (!this.user) return;
    this.user = null;
    this.feed.stop();
    this.account.close();
    if ($('confirm-dialog').open) $('confirm-dialog').close();
    this.timeline.clear();
    this.avatars.clear();
    this.onSessionEnd(notice);
  }

  // load (re)reads the newest page of messages, merging it into what is shown.
  async load() {
    try {
      const list = await api.messages({ limit: PAGE });
      if (!this.user) return;
      // Judge where the reader is now, not before the wait: a reader who
      // scrolled up meanwhile stays where they are.
      const follow = this.timeline.size === 0 || this.nearBottom();
      this.added(list, { quiet: true });
      if (list.length < PAGE) this.markStart();
      if (follow) this.scrollToBottom();
      this.maybeLoadOlder();
    } catch (err) {
      this.failed(err);
    }
  }

  // added shows new messages, following them when the reader is at the end.
  added(list, { quiet = false } = {}) {
    const follow = this.nearBottom();
    let fresh = 0;
    for (const msg of list) if (this.timeline.upsert(msg)) fresh++;
    $('empty-note').hidden = this.timeline.size > 0;
    if (!fresh || quiet) return;
    if (follow) this.scrollToBottom();
    else $('jump-new').hidden = false;
  }

  event(type, data) {
    if (!data && type !== 'reset') return;
    switch (type) {
      case 'message.created':
        this.added([data]);
        break;
      case 'message.updated':
        this.timeline.upsert(data);
        break;
      case 'message.deleted':
        this.timeline.remove(data.id);
        $('empty-note').hidden = this.timeline.size > 0;
        break;
      case 'user.updated':
        this.avatars.refresh(data.userid);
        break;
      case 'reset':
        this.timeline.clear();
        this.reachedStart = false;
        this.load();
        break;
    }
  }

  scrolled() {
    if (this.nearBottom()) $('jump-new').hidden = true;
    if (this.scroller.scrollTop < NEAR_TOP) this.loadOlder();
  }

  // maybeLoadOlder fills a tall screen that shows no scroll bar yet.
  maybeLoadOlder() {
    if (this.scroller.scrollHeight <= this.scroller.clientHeight + NEAR_TOP) this.loadOlder();
  }

  async loadOlder() {
    if (this.loadingOlder || this.reachedStart || !this.timeline.size) return;
    this.loadingOlder = true;
    setNotice($('older-status'), t('loadingOlder'));
    try {
      const before = this.timeline.oldestID();
      const list = await api.messages({ before, limit: PAGE });
      if (!this.user) return;
      const height = this.scroller.scrollHeight;
      for (const msg of list) this.timeline.upsert(msg);
      // Keep the messages the reader is looking at where they were.
      this.scroller.scrollTop += this.scroller.scrollHeight - height;
      if (list.length < PAGE) this.markStart();
      else setNotice($('older-status'), '');
    } catch (err) {
      setNotice($('older-status'), errorText(err));
      this.failed(err);
    } finally {
      this.loadingOlder = false;
    }
  }

  markStart() {
    this.reachedStart = true;
    setNotice($('older-status'), this.timeline.size ? t('beginning') : '');
  }

  async edit(id, text) {
    try {
      this.timeline.upsert(await api.edit(id, text));
      return '';
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) this.timeline.remove(id);
      if (err instanceof ApiError && err.fields) return Object.values(err.fields).map(fieldText).join('; ');
      return errorText(err);
    }
  }

  async remove(id) {
    const ok = await confirm({ title: t('deleteTitle'), body: t('deleteBody'), ok: t('delete') });
    if (!ok) return;
    try {
      await api.remove(id);
      this.timeline.remove(id);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) this.timeline.remove(id);
      else {
        this.toast(errorText(err));
        this.failed(err);
      }
    }
    $('empty-note').hidden = this.timeline.size > 0;
    this.composer.focus();
  }

  // failed checks, after a 403, whether the session is still valid: a 403
  // also means "not the author", so it alone does not end the session.
  async failed(err) {
    if (!(err instanceof ApiError) || err.status !== 403 || !this.user) return;
    try {
      await api.authorized();
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) this.end(t('sessionExpired'));
    }
  }

  /** toast shows a short-lived error over the timeline. */
  toast(text) {
    const el = $('toast');
    setNotice(el, text);
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => setNotice(el, ''), 6000);
  }

  status(state) {
    const el = $('live-status');
    el.dataset.state = state;
    el.textContent = t(state);
  }

  nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    $('jump-new').hidden = true;
  }
}

// The account dialog: the own avatar (change, remove), logging out here and
// logging out on every device.

import { api, ApiError, setToken } from './api.js';
import { imageProblem } from './auth.js';
import { t } from './i18n.js';
import { $, errorText, fieldText } from './ui.js';

/**
 * AccountDialog drives the account button and dialog. user() returns the
 * current {userid, username}; onLogout(notice) ends the session in the page.
 * pauseLive(paused) stops live updates while logging out, since the
 * session's own stream would otherwise report the logout as a revocation.
 */
export class AccountDialog {
  constructor({ avatars, user, onLogout, pauseLive }) {
    this.avatars = avatars;
    this.user = user;
    this.onLogout = onLogout;
    this.pauseLive = pauseLive;
    this.dialog = $('account-dialog');
    $('account-button').addEventListener('click', () => this.open());
    $('account-close').addEventListener('click', () => this.close());
    $('account-image').addEventListener('change', () => this.upload());
    $('account-remove-avatar').addEventListener('click', () => this.removeAvatar());
    $('logout-button').addEventListener('click', () => this.logout(false));
    $('logout-all-button').addEventListener('click', () => this.logout(true));
  }

  /** setUser shows who is logged in, in the top bar and the dialog. */
  setUser(user) {
    $('me-name').textContent = user.username;
    $('account-button').setAttribute('aria-label', t('signedInAs', { name: user.username }));
    $('account-title').textContent = user.username;
    this.avatars.fill($('me-avatar'), user.userid, user.username);
    this.avatars.fill($('account-avatar'), user.userid, user.username);
  }

  open() {
    $('account-error').textContent = '';
    this.showRemove();
    this.dialog.showModal();
  }

  // showRemove offers "Remove avatar" only when there is one to remove.
  async showRemove() {
    const url = await this.avatars.url(this.user().userid);
    $('account-remove-avatar').hidden = !url;
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  async upload() {
    const input = $('account-image');
    const file = input.files[0];
    input.value = '';
    if (!file) return;
    const problem = imageProblem(file);
    if (problem) {
      $('account-error').textContent = problem;
      return;
    }
    await this.change(() => api.setAvatar(file));
  }

  removeAvatar() {
    return this.change(() => api.removeAvatar());
  }

  // change runs an avatar call and refreshes the avatar at once, without
  // waiting for the user.updated event that follows.
  async change(call) {
    $('account-error').textContent = '';
    try {
      await call();
      await this.avatars.refresh(this.user().userid);
      await this.showRemove();
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && err.fields) {
        $('account-error').textContent = Object.values(err.fields).map(fieldText).join('; ');
      } else {
        $('account-error').textContent = errorText(err);
      }
    }
  }

  async logout(everywhere) {
    this.pauseLive(true);
    try {
      await (everywhere ? api.logoutAll() : api.logout());
    } catch (err) {
      // 400 means the token was no longer valid: logged out all the same.
      if (!(err instanceof ApiError) || err.status === 0 || err.status >= 500) {
        $('account-error').textContent = errorText(err);
        this.pauseLive(false);
        return;
      }
    }
    setToken('');
    this.onLogout(t('loggedOut'));
  }
}

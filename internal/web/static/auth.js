// The login and registration forms.

import { api, ApiError, setToken } from './api.js';
import { t } from './i18n.js';
import { $, clearErrors, setNotice, showError } from './ui.js';
import { placeholder } from './avatars.js';

const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

/**
 * AuthView drives the forms; onLogin(user) is called with
 * {userid, username} once a token is stored.
 */
export class AuthView {
  constructor(onLogin) {
    this.onLogin = onLogin;
    this.previewURL = '';
    $('tab-login').addEventListener('click', () => this.tab('login'));
    $('tab-register').addEventListener('click', () => this.tab('register'));
    for (const tab of document.querySelectorAll('[role="tab"]')) {
      tab.addEventListener('keydown', (ev) => this.tabKey(ev));
    }
    $('login-form').addEventListener('submit', (ev) => this.submitLogin(ev));
    $('register-form').addEventListener('submit', (ev) => this.submitRegister(ev));
    $('register-image').addEventListener('change', () => this.preview());
    $('register-image-clear').addEventListener('click', () => {
      $('register-image').value = '';
      this.preview();
      $('register-image').focus();
    });
    placeholder($('register-preview'), '');
    $('register-login').addEventListener('input', () => {
      if (!$('register-image').files.length) placeholder($('register-preview'), $('register-login').value);
    });
  }

  /** show displays the forms with an optional notice. */
  show(notice = '') {
    $('chat-view').hidden = true;
    $('auth-view').hidden = false;
    setNotice($('auth-notice'), notice);
    $('login-form').reset();
    clearErrors($('login-form'));
    this.tab('login');
  }

  tab(name) {
    for (const which of ['login', 'register']) {
      const on = which === name;
      const tab = $('tab-' + which);
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      $(which + '-form').hidden = !on;
    }
    $(name + '-login').focus();
  }

  // tabKey moves between the tabs with the arrow keys, as the ARIA tabs
  // pattern expects.
  tabKey(ev) {
    if (ev.key !== 'ArrowLeft' && ev.key !== 'ArrowRight') return;
    const next = ev.target.id === 'tab-login' ? 'register' : 'login';
    this.tab(next);
    $('tab-' + next).focus();
  }

  preview() {
    const input = $('register-image');
    const file = input.files[0];
    const el = $('register-preview');
    if (this.previewURL) URL.revokeObjectURL(this.previewURL);
    this.previewURL = '';
    $('register-image-error').textContent = '';
    $('register-image-clear').hidden = !file;
    if (!file) {
      placeholder(el, $('register-login').value);
      return;
    }
    const problem = imageProblem(file);
    if (problem) $('register-image-error').textContent = problem;
    this.previewURL = URL.createObjectURL(file);
    const img = document.createElement('img');
    img.src = this.previewURL;
    img.alt = '';
    el.replaceChildren(img);
    el.classList.remove('placeholder');
  }

  async submitLogin(ev) {
    ev.preventDefault();
    const form = ev.target;
    clearErrors(form);
    const login = form.elements.login.value;
    const password = form.elements.password.value;
    if (!requireFields(form, { login, password })) return;
    await this.busy(form, async () => {
      try {
        const res = await api.login(login, password);
        setToken(res.token);
        this.onLogin({ userid: res.userid, username: res.username });
      } catch (err) {
        if (err instanceof ApiError && err.status === 403) {
          form.querySelector('.form-error').textContent = t('wrongCredentials');
          return;
        }
        showError(form, err);
      }
    });
  }

  async submitRegister(ev) {
    ev.preventDefault();
    const form = ev.target;
    clearErrors(form);
    const login = form.elements.login.value;
    const password = form.elements.password.value;
    if (!requireFields(form, { login, password })) return;
    const data = new FormData();
    data.append('login', login);
    data.append('password', password);
    const file = form.elements.image.files[0];
    if (file) data.append('image', file);
    await this.busy(form, async () => {
      try {
        await api.register(data);
        const res = await api.login(login, password);
        setToken(res.token);
        form.reset();
        this.preview();
        this.onLogin({ userid: res.userid, username: res.username });
      } catch (err) {
        showError(form, err);
      }
    });
  }

  async busy(form, fn) {
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await fn();
    } finally {
      button.disabled = false;
      form.removeAttribute('aria-busy');
    }
  }
}

// requireFields marks empty fields before asking the server.
function requireFields(form, values) {
  let ok = true;
  for (const [name, value] of Object.entries(values)) {
    if (name === 'password' ? value !== '' : value.trim() !== '') continue;
    form.querySelector(`.field-error[data-field="${name}"]`).textContent = t('required');
    form.elements[name].setAttribute('aria-invalid', 'true');
    if (ok) form.elements[name].focus();
    ok = false;
  }
  return ok;
}

/** imageProblem checks a chosen avatar before it is sent. */
export function imageProblem(file) {
  if (file.size > MAX_IMAGE_BYTES) return t('imageTooLarge');
  if (file.type && !IMAGE_TYPES.includes(file.type)) return t('imageType');
  return '';
}

// sample-app UI: list, create, edit and delete users through /api.
// No framework, no build step; strict CSP (no inline script or style), so all
// DOM is built with createElement/textContent and state is shown with classes
// and the `hidden` attribute.

const PAGE_SIZE = 10;
const FIELDS = ['name', 'email'];

const $ = (sel, root = document) => root.querySelector(sel);

const els = {
  banner: $('#banner'),
  bannerText: $('#banner-text'),
  bannerClose: $('#banner-close'),
  createForm: $('#create-form'),
  status: $('#status'),
  table: $('#users'),
  body: $('#users-body'),
  empty: $('#empty'),
  prev: $('#prev'),
  next: $('#next'),
  pageLabel: $('#page-label'),
  refresh: $('#refresh'),
  rowTemplate: $('#row-template'),
  editTemplate: $('#edit-template'),
};

// Cursor paging: cursors[i] is the cursor that loads page i ('' = first page).
const state = {
  cursors: [''],
  page: 0,
  nextCursor: null,
  items: [],
  loadSeq: 0,
};

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

// ---------------------------------------------------------------- API client

class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.field = field || null;
  }
}

const STATUS_TEXT = {
  400: 'The request was not valid.',
  404: 'That user no longer exists.',
  409: 'That conflicts with an existing user.',
  413: 'The request is too large.',
  415: 'The request was sent in a format the API does not accept.',
  429: 'Too many requests: wait a moment and try again.',
  500: 'The API failed to handle the request.',
  502: 'The API is unreachable right now. Try again in a moment.',
  503: 'The service is temporarily unavailable. Try again in a moment.',
  504: 'The API took too long to answer. Try again in a moment.',
};

async function api(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'Cannot reach the server. Check your connection and try again.');
  }
  if (res.status === 204) return null;
  const isJson = (res.headers.get('Content-Type') || '').includes('json');
  let data = null;
  if (isJson) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const fallback = STATUS_TEXT[res.status] || `Unexpected error (HTTP ${res.status}).`;
    // 5xx: a plain sentence for people; 4xx: the API's own words (validation).
    const apiText = data && typeof data.error === 'string' && data.error ? data.error : '';
    const message = res.status >= 500 && STATUS_TEXT[res.status] ? fallback : apiText || fallback;
    const field = data && typeof data.field === 'string' ? data.field : null;
    throw new ApiError(res.status, message, field);
  }
  return data;
}

const usersApi = {
  list: (cursor) => {
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) q.set('cursor', cursor);
    return api('GET', `/api/users?${q}`);
  },
  create: (user) => api('POST', '/api/users', user),
  update: (id, user) => api('PUT', `/api/users/${encodeURIComponent(id)}`, user),
  remove: (id) => api('DELETE', `/api/users/${encodeURIComponent(id)}`),
};

// ------------------------------------------------------------ feedback

function showBanner(message) {
  els.bannerText.textContent = message;
  els.banner.hidden = false;
}

function hideBanner() {
  els.banner.hidden = true;
  els.bannerText.textContent = '';
}

function announce(message) {
  els.status.textContent = message;
}

function bannerMessage(err) {
  if (!(err instanceof ApiError)) return 'Something went wrong. Please try again.';
  return err.status ? `${err.message} (HTTP ${err.status})` : err.message;
}

function clearFieldErrors(form) {
  for (const p of form.querySelectorAll('.field-error')) p.textContent = '';
  for (const input of form.querySelectorAll('input')) input.removeAttribute('aria-invalid');
}

// Shows an API error next to its field when the form has that field, else in
// the banner. Returns true when it was shown next to a field.
function showError(form, err) {
  if (err instanceof ApiError && err.field && FIELDS.includes(err.field)) {
    const input = form.elements.namedItem(err.field);
    const slot = form.querySelector(`.field-error[data-error-for="${err.field}"]`);
    if (input && slot) {
      slot.textContent = err.message;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return true;
    }
  }
  showBanner(bannerMessage(err));
  return false;
}

function readForm(form) {
  return {
    name: form.elements.namedItem('name').value.trim(),
    email: form.elements.namedItem('email').value.trim(),
  };
}

function setBusy(form, busy) {
  for (const b of form.querySelectorAll('button')) b.disabled = busy;
  form.setAttribute('aria-busy', busy ? 'true' : 'false');
}

// ------------------------------------------------------------ list

function formatDate(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : dateFormat.format(d);
}

function renderRow(user) {
  const row = els.rowTemplate.content.firstElementChild.cloneNode(true);
  row.dataset.id = user.id;
  $('.cell-name', row).textContent = user.name;
  $('.cell-email', row).textContent = user.email;
  const time = $('time', row);
  time.dateTime = user.createdAt || '';
  time.textContent = formatDate(user.createdAt);
  $('[data-action="edit"]', row).setAttribute('aria-label', `Edit ${user.name}`);
  $('[data-action="delete"]', row).setAttribute('aria-label', `Delete ${user.name}`);
  return row;
}

function render() {
  els.body.replaceChildren(...state.items.map(renderRow));
  const none = state.items.length === 0;
  els.empty.hidden = !(none && state.page === 0);
  els.table.classList.toggle('is-empty', none);
  els.prev.disabled = state.page === 0;
  els.next.disabled = !state.nextCursor;
  els.pageLabel.textContent = `Page ${state.page + 1}`;
}

async function load({ message } = {}) {
  const seq = ++state.loadSeq;
  els.table.setAttribute('aria-busy', 'true');
  try {
    const data = await usersApi.list(state.cursors[state.page]);
    if (seq !== state.loadSeq) return; // a newer load superseded this one
    state.items = Array.isArray(data && data.items) ? data.items : [];
    state.nextCursor = (data && data.nextCursor) || null;
    // A delete can empty the last page: step back to the previous one.
    if (state.items.length === 0 && state.page > 0) {
      state.cursors.length = state.page;
      state.page -= 1;
      await load({ message });
      return;
    }
    render();
    const n = state.items.length;
    announce(message || (n === 0 ? 'No users.' : `Showing ${n} user${n === 1 ? '' : 's'}.`));
  } catch (err) {
    if (seq !== state.loadSeq) return;
    showBanner(bannerMessage(err));
    announce('Could not load users.');
  } finally {
    if (seq === state.loadSeq) els.table.setAttribute('aria-busy', 'false');
  }
}

function goFirstPage() {
  state.cursors = [''];
  state.page = 0;
}

// ------------------------------------------------------------ create

els.createForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = els.createForm;
  clearFieldErrors(form);
  hideBanner();
  setBusy(form, true);
  try {
    const user = await usersApi.create(readForm(form));
    form.reset();
    goFirstPage(); // newest first: the new user is at the top of page 1
    await load({ message: `Added ${user ? user.name : 'user'}.` });
    form.elements.namedItem('name').focus();
  } catch (err) {
    showError(form, err);
  } finally {
    setBusy(form, false);
  }
});

// ------------------------------------------------------------ edit / delete

function findUser(id) {
  return state.items.find((u) => u.id === id);
}

function closeEditors() {
  for (const row of els.body.querySelectorAll('tr.editing')) {
    const user = findUser(row.dataset.id);
    if (user) row.replaceWith(renderRow(user));
    else row.remove();
  }
}

function startEdit(row, user) {
  closeEditors();
  const editRow = els.editTemplate.content.firstElementChild.cloneNode(true);
  editRow.dataset.id = user.id;
  const form = $('form', editRow);
  form.setAttribute('aria-label', `Edit ${user.name}`);
  // Unique ids so each label and error is tied to its input.
  for (const field of FIELDS) {
    const input = form.elements.namedItem(field);
    const id = `edit-${field}`;
    input.id = id;
    input.value = user[field] || '';
    input.setAttribute('aria-describedby', `${id}-error`);
    $(`label[data-for="${field}"]`, form).htmlFor = id;
    $(`.field-error[data-error-for="${field}"]`, form).id = `${id}-error`;
  }
  row.replaceWith(editRow);
  form.elements.namedItem('name').focus();

  $('[data-action="cancel"]', form).addEventListener('click', () => {
    const fresh = renderRow(user);
    editRow.replaceWith(fresh);
    $('[data-action="edit"]', fresh).focus();
  });

  form.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') $('[data-action="cancel"]', form).click();
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    hideBanner();
    setBusy(form, true);
    try {
      const updated = await usersApi.update(user.id, readForm(form));
      await load({ message: `Saved ${updated ? updated.name : 'changes'}.` });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        showBanner(bannerMessage(err));
        await load();
        return;
      }
      showError(form, err);
    } finally {
      if (form.isConnected) setBusy(form, false);
    }
  });
}

function askDelete(row, user) {
  const cell = $('.cell-actions', row);
  const saved = [...cell.childNodes];
  const question = document.createElement('span');
  question.className = 'confirm-text';
  question.textContent = 'Delete?';
  const yes = document.createElement('button');
  yes.type = 'button';
  yes.className = 'btn btn-small btn-danger';
  yes.dataset.action = 'confirm-delete';
  yes.textContent = 'Confirm';
  yes.setAttribute('aria-label', `Confirm delete of ${user.name}`);
  const no = document.createElement('button');
  no.type = 'button';
  no.className = 'btn btn-small';
  no.textContent = 'Keep';
  no.setAttribute('aria-label', `Keep ${user.name}`);
  cell.replaceChildren(question, yes, no);
  yes.focus();

  no.addEventListener('click', () => {
    cell.replaceChildren(...saved);
    $('[data-action="delete"]', cell).focus();
  });
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    no.disabled = true;
    hideBanner();
    try {
      await usersApi.remove(user.id);
      await load({ message: `Deleted ${user.name}.` });
    } catch (err) {
      showBanner(bannerMessage(err));
      await load();
    }
  });
}

els.body.addEventListener('click', (ev) => {
  const button = ev.target.closest('button[data-action]');
  if (!button) return;
  const row = button.closest('tr');
  const user = row && findUser(row.dataset.id);
  if (!user) return;
  if (button.dataset.action === 'edit') startEdit(row, user);
  else if (button.dataset.action === 'delete') askDelete(row, user);
});

// ------------------------------------------------------------ paging

els.next.addEventListener('click', () => {
  if (!state.nextCursor) return;
  state.cursors[state.page + 1] = state.nextCursor;
  state.cursors.length = state.page + 2;
  state.page += 1;
  load();
});

els.prev.addEventListener('click', () => {
  if (state.page === 0) return;
  state.page -= 1;
  load();
});

els.refresh.addEventListener('click', () => {
  hideBanner();
  load();
});

els.bannerClose.addEventListener('click', hideBanner);

load();

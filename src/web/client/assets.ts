// The web client's one script and its extra styles, kept in the source so the compiled binary
// carries them. The script is served from /web/client/static/ (the CSP allows scripts from 'self'
// only, nothing inline) and does what a form cannot: uploads with a progress bar (XHR, file
// picker or drag and drop, asking before a file is replaced), copying a share link, confirming a delete, selecting every row.
// Every page works without it except uploads.

export const CLIENT_SCRIPT = `'use strict';
(function () {
  function upload(panel, files) {
    var list = Array.prototype.slice.call(files);
    if (list.length === 0) return;
    var bar = panel.querySelector('progress');
    var text = panel.querySelector('[data-upload-status]');
    var total = list.reduce(function (n, f) { return n + f.size; }, 0) || 1;
    var sent = 0;
    panel.setAttribute('data-state', 'running');
    // 100 % only once the server has answered for the last file: the bytes may all be sent (into
    // socket buffers) well before the server, held by a bandwidth limit, has written them.
    function show(done, finished) {
      var pct = finished ? 100 : Math.min(99, Math.floor((done / total) * 100));
      bar.value = pct;
      bar.setAttribute('aria-valuenow', String(pct));
      text.textContent = pct + ' %';
    }
    function fail(msg) {
      panel.setAttribute('data-state', 'failed');
      text.textContent = msg;
    }
    function next(i) {
      if (i >= list.length) {
        show(total, true);
        panel.setAttribute('data-state', 'done');
        text.textContent = '100 % - ' + list.length + (list.length === 1 ? ' file' : ' files') + ' uploaded';
        setTimeout(function () { location.reload(); }, 1500);
        return;
      }
      var f = list[i];
      var dir = panel.getAttribute('data-dir');
      var target = (dir === '/' ? '' : dir) + '/' + f.name;
      // A file of that name is replaced only when the user says so.
      fetch(panel.getAttribute('data-exists') + '?path=' + encodeURIComponent(target), { credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.json() : { exists: false }; })
        .then(function (r) {
          if (r.exists && !confirm(f.name + ' already exists here: replace it?')) {
            sent += f.size;
            next(i + 1);
            return;
          }
          send(f, target, i);
        }, function () { fail(f.name + ': the server did not answer'); });
    }
    function send(f, target, i) {
      var xhr = new XMLHttpRequest();
      xhr.open('POST', panel.getAttribute('data-action') + '?path=' + encodeURIComponent(target));
      xhr.setRequestHeader('X-CSRF-Token', panel.getAttribute('data-csrf'));
      xhr.upload.onprogress = function (e) { show(sent + e.loaded); };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) {
          sent += f.size;
          show(sent);
          next(i + 1);
          return;
        }
        var why = xhr.statusText;
        try { var b = JSON.parse(xhr.responseText); why = b.error || b.message || why; } catch (e) { /* not JSON */ }
        fail(f.name + ': ' + why);
      };
      xhr.onerror = function () { fail(f.name + ': the upload failed'); };
      xhr.send(f);
    }
    show(0);
    next(0);
  }

  var panel = document.getElementById('upload');
  if (panel) {
    var input = panel.querySelector('input[type=file]');
    input.addEventListener('change', function () { upload(panel, input.files); });
    var zone = document.getElementById('dropzone');
    zone.addEventListener('dragover', function (e) { e.preventDefault(); zone.classList.add('over'); });
    zone.addEventListener('dragleave', function () { zone.classList.remove('over'); });
    zone.addEventListener('drop', function (e) {
      e.preventDefault();
      zone.classList.remove('over');
      if (e.dataTransfer) upload(panel, e.dataTransfer.files);
    });
  }

  document.querySelectorAll('[data-copy]').forEach(function (b) {
    b.addEventListener('click', function () {
      var done = function () { b.textContent = 'Copied'; };
      if (navigator.clipboard) navigator.clipboard.writeText(b.getAttribute('data-copy')).then(done, function () { b.textContent = 'Copy failed'; });
    });
  });

  document.querySelectorAll('form[data-confirm]').forEach(function (f) {
    f.addEventListener('submit', function (e) { if (!confirm(f.getAttribute('data-confirm'))) e.preventDefault(); });
  });

  var all = document.getElementById('select-all');
  if (all) all.addEventListener('change', function () {
    document.querySelectorAll('input[name=paths]').forEach(function (c) { c.checked = all.checked; });
  });
})();
`;

export const CLIENT_STYLES = `
.crumbs { display: flex; flex-wrap: wrap; gap: .3rem; margin-bottom: 1rem; font-size: 1.05rem; }
.crumbs span.sep { color: var(--muted); }
.toolbar { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; margin-bottom: 1rem; }
.toolbar form { display: flex; gap: .4rem; margin: 0; }
.toolbar input[type=text] { width: 14rem; }
#upload { flex: 1; min-width: 18rem; }
#dropzone { border: 2px dashed var(--line); border-radius: .4rem; padding: .8rem; background: #fff; text-align: center; color: var(--muted); }
#dropzone.over { border-color: var(--accent); background: #e8f0fc; }
#upload progress { width: 100%; height: 1rem; margin-top: .4rem; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.when { white-space: nowrap; color: var(--muted); }
td.acts { white-space: nowrap; }
td.acts a, td.acts form { display: inline; margin-right: .5rem; }
td.acts button { padding: .1rem .5rem; font-size: 13px; }
.preview img { max-width: 100%; border: 1px solid var(--line); background: #fff; }
.preview object { width: 100%; height: 75vh; border: 1px solid var(--line); }
.preview pre { background: #fff; border: 1px solid var(--line); padding: .8rem; max-height: 75vh; overflow: auto; }
textarea.editor { min-height: 60vh; font: 13px/1.35 ui-monospace, monospace; }
.share { display: grid; grid-template-columns: 1fr auto; gap: 1rem; background: #fff; border: 1px solid var(--line); border-radius: .3rem; padding: 1rem; margin-bottom: 1rem; }
.share .qr svg { width: 9rem; height: 9rem; }
.qr-large svg { width: 14rem; height: 14rem; }
.link { display: flex; gap: .5rem; align-items: center; }
.link code { background: #eef1f5; padding: .2rem .4rem; border-radius: .2rem; }
`;

import type polka from 'polka';
import { refuse } from '../operations/outcome.js';
import { displayedVersion } from '../paths.js';
import type { UpdateReceiver, UpdateState } from '../update/receive.js';
import type { Auth } from './auth.js';
import type { WebDeps } from './context.js';
import { escapeHtml as h } from './html.js';
import { sendJson, sendRefusal, type Req, type Res } from './http.js';
import { tr, type PageContext } from './layout.js';

/**
 * 设置 → 上传更新 and `POST /api/update`: the web half of an update (the
 * bundle is received and checked here; src/update/apply.ts, run as root,
 * installs it). README, "Updates".
 */

const notAppliance = () =>
  refuse('update-unavailable', '这台机器不能在线更新（没有 A/B 槽）。开发机请用 git pull 和 npm run build 更新。',
    'This machine cannot update itself (no A/B slots). On a development machine, update with git pull and npm run build.', 409);

function stateJson(update: UpdateReceiver | undefined) {
  const state: UpdateState = update?.state() ?? { available: false, slot: null, pending: null, last: null };
  return { version: displayedVersion, ...state };
}

export function registerUpdate(app: polka.Polka, deps: WebDeps, auth: Pick<Auth, 'requireAdmin'>): void {
  app.get('/api/update', (req: Req, res: Res) => {
    if (!auth.requireAdmin(req, res)) return;
    sendJson(res, 200, stateJson(deps.update));
  });

  app.post('/api/update', async (req: Req, res: Res) => {
    if (!auth.requireAdmin(req, res)) return;
    const update = deps.update;
    const declared = req.headers['content-length'] !== undefined ? Number(req.headers['content-length']) : null;
    const refusal = !update ? notAppliance()
      : !/^application\/octet-stream\b/i.test(req.headers['content-type'] ?? '')
        ? refuse('update-content-type', '请以 application/octet-stream 上传更新文件本身（设置页面的“上传更新”会这样做）', 'upload the update file itself as application/octet-stream (the settings page\'s upload does)', 415)
        : update.admit(declared !== null && Number.isFinite(declared) ? declared : null);
    if (refusal || !update) {
      // The body is not read: the connection cannot carry another request.
      res.setHeader('Connection', 'close');
      return sendRefusal(res, refusal ?? notAppliance());
    }
    const received = await update.receive(req);
    if (!received.ok) {
      if (!req.complete) res.setHeader('Connection', 'close');
      return sendRefusal(res, received);
    }
    const { manifest, backup } = received.value;
    deps.log.info('update accepted', { version: manifest.version, commit: manifest.commit, backup });
    sendJson(res, 202, {
      accepted: true,
      version: manifest.version,
      commit: manifest.commit,
      backup,
      message: `更新文件已通过检查（${manifest.version}），盒子将在约一分钟内重启到新版本；若新版本启动失败，会自动恢复到原来的版本和数据。`,
      message_en: `The update file passed its checks (${manifest.version}); the box restarts into the new version within about a minute. If the new version fails to start, the box goes back to the previous version and data by itself.`,
    });
  });
}

/** The settings page's 上传更新 section and its script. */
export function renderUpdateSection(ctx: PageContext, update: UpdateReceiver | undefined): { html: string; script: string } {
  const { lang } = ctx;
  const state = stateJson(update);
  const last = state.last;
  const lastLine = last
    ? `<p id="update-last" class="${last.outcome === 'updated' ? 'muted' : 'warn'}">${h(tr(lang, '上次更新', 'Last update'))} (${h(last.finished_at.slice(0, 16).replace('T', ' '))} UTC): ${h(tr(lang, last.message, last.message_en))}</p>`
    : '';
  const pending = state.pending ? `<p class="warn">${h(tr(lang, `正在安装更新 ${state.pending.version}，请稍候……`, `Installing update ${state.pending.version}, please wait…`))}</p>` : '';
  const controls = state.available
    ? `<div class="row"><input type="file" id="update-file" accept=".smsbox-update"><button type="button" id="update-upload">${h(tr(lang, '上传更新', 'Upload update'))}</button></div>
<p id="update-message" role="status"></p>`
    : `<p class="muted">${h(tr(lang, '这台机器不能在线更新（不是从 SD 卡镜像的 A/B 槽运行）。', 'This machine cannot update itself (it does not run from the SD-card image\'s A/B slots).'))}</p>`;
  const html = `<section id="update"><h2>${h(tr(lang, '上传更新', 'Update'))}</h2>
<p>${h(tr(lang, '当前版本', 'Version'))} <code id="update-version">${h(state.version)}</code>${state.slot ? ` · ${h(tr(lang, '槽', 'slot'))} <code>${h(state.slot)}</code>` : ''}</p>
<p class="muted">${h(tr(lang, '选择官方发布的 .smsbox-update 文件上传。更新前会备份数据库；新版本 90 秒内没有正常工作时，盒子自动恢复到原来的版本和数据。',
    'Choose an official .smsbox-update file. The database is backed up first; if the new version is not working within 90 s, the box goes back to the previous version and data by itself.'))}</p>
${pending}${lastLine}${controls}</section>`;
  const script = state.available ? `(function(){var b=document.getElementById('update-upload'),f=document.getElementById('update-file'),m=document.getElementById('update-message');
var csrf=(document.querySelector('meta[name=csrf-token]')||{}).content||'';var en=${JSON.stringify(lang === 'en')};
function say(t){m.textContent=t;}
b.addEventListener('click',function(){var file=f.files&&f.files[0];if(!file){say(en?'Choose the update file first.':'请先选择更新文件。');return;}
b.disabled=true;say(en?'Uploading and checking…':'正在上传并检查……');
fetch('/api/update',{method:'POST',headers:{'Content-Type':'application/octet-stream','X-CSRF-Token':csrf},body:file,credentials:'same-origin'})
.then(function(r){return r.json().then(function(j){return {ok:r.ok,j:j};});})
.then(function(x){say(en?x.j.message_en:x.j.message);if(!x.ok){b.disabled=false;return;}
setInterval(function(){fetch('/api/update',{credentials:'same-origin'}).then(function(r){return r.json();}).then(function(s){if(!s.pending)location.reload();},function(){});},5000);})
.catch(function(){b.disabled=false;say(en?'Upload failed: check the connection and try again.':'上传失败：请检查网络后重试。');});});})();` : '';
  return { html, script };
}

import type polka from 'polka';
import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import { MAX_RESTORE_UPLOAD_BYTES, type BackupFileInfo, type BackupReason } from '../operations/index.js';
import type { Auth } from './auth.js';
import type { WebDeps } from './context.js';
import { escapeHtml as h } from './html.js';
import { decodeParam, isClientGone, jsonError, sendJson, sendRefusal, type Req, type Res } from './http.js';
import { localTime, tr, type Lang, type PageContext } from './layout.js';

/**
 * Backup and restore over HTTP (README, "Backup and restore"): the download
 * of a fresh backup, the kept backups, and the restore upload. The work is
 * in operations/backup.ts; this only decodes and renders.
 */

const REASONS: Record<BackupReason, [string, string]> = {
  nightly: ['每晚自动', 'nightly'],
  manual: ['手动', 'manual'],
  'pre-restore': ['恢复前自动', 'before a restore'],
  'pre-update': ['更新前自动', 'before an update'],
};

const backupJson = (b: BackupFileInfo) => ({
  name: b.name,
  size: b.size,
  created_at: new Date(b.createdAt).toISOString(),
  reason: b.reason,
  url: `/api/backups/${b.name}`,
});

/**
 * Reads and drops the rest of a request body (the caller checked it is within
 * the upload limit; the server's request timeout bounds the time). True when
 * the client went away instead.
 */
async function bodyEnds(req: Req): Promise<boolean> {
  if (!req.complete) {
    req.resume();
    await new Promise<void>((resolve) => {
      req.once('end', resolve);
      req.once('close', resolve);
    });
  }
  return isClientGone(new Error('aborted'), req);
}

/** Sends a file stream; a client that leaves mid-way only ends the stream (its copy is cleaned up by its owner). */
function sendStream(res: Res, stream: Readable, filename: string, size: number | null): void {
  res.writeHead(200, {
    'Content-Type': 'application/gzip',
    // Names are ASCII by construction (host label, digits): no encoding needed.
    'Content-Disposition': `attachment; filename="${filename}"`,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...(size !== null ? { 'Content-Length': String(size) } : {}),
  });
  pipeline(stream, res, () => {
    // A failure after the headers can only cut the download short; the client sees an incomplete file, which a restore refuses.
  });
}

export function registerBackup(app: polka.Polka, deps: WebDeps, auth: Pick<Auth, 'requireAdmin'>): void {
  const { ops } = deps;
  const { requireAdmin } = auth;

  app.get('/api/backup', async (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const made = await ops.backup.download();
    if (!made.ok) return sendRefusal(res, made);
    if (res.destroyed) return void made.value.stream.destroy();
    sendStream(res, made.value.stream, made.value.filename, null);
  });

  app.get('/api/backups', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    sendJson(res, 200, { backups: ops.backup.list().map(backupJson) });
  });

  // A backup kept on the box now (reason 'manual'; the newest 3 are kept), e.g. before a technician's work.
  app.post('/api/backups', async (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const made = await ops.backup.create({ reason: 'manual' });
    if (!made.ok) return sendRefusal(res, made);
    sendJson(res, 201, { backup: backupJson(made.value) });
  });

  app.get('/api/backups/:name', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const found = ops.backup.open(decodeParam(req.params['name']) ?? '');
    if (!found.ok) return sendRefusal(res, found);
    sendStream(res, found.value.stream, found.value.name, found.value.size);
  });

  app.post('/api/restore', async (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > MAX_RESTORE_UPLOAD_BYTES) {
      // Not read: the connection closes after the answer.
      res.setHeader('Connection', 'close');
      jsonError(res, 413, 'backup-too-large',
        `文件太大：备份文件最大 ${MAX_RESTORE_UPLOAD_BYTES / 1024 / 1024} MiB。请确认选择的是本机“下载备份”得到的 .tar.gz 文件。`,
        `file too large: a backup file may be at most ${MAX_RESTORE_UPLOAD_BYTES / 1024 / 1024} MiB. Check that you chose the .tar.gz file from 下载备份 (download backup).`);
      res.once('finish', () => req.destroy());
      return;
    }
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    if (/multipart\/form-data|x-www-form-urlencoded|application\/json|text\//.test(type)) {
      // Read to its end first (it is within the limit): a client still sending may lose an answer to a reset.
      res.setHeader('Connection', 'close');
      if (await bodyEnds(req)) return void res.destroy();
      jsonError(res, 415, 'unsupported-body',
        '请求体应为备份文件本身（Content-Type: application/octet-stream），例如 curl --data-binary @smsbox-backup-….tar.gz -H "Content-Type: application/octet-stream"',
        'the body must be the backup file itself (Content-Type: application/octet-stream), e.g. curl --data-binary @smsbox-backup-….tar.gz -H "Content-Type: application/octet-stream"');
      return;
    }
    const restored = await ops.backup.restore(req);
    if (!restored.ok) {
      if (restored.code === 'upload-aborted' || isClientGone(new Error('aborted'), req)) return void res.destroy();
      if (!req.complete) {
        res.setHeader('Connection', 'close');
        if (restored.code === 'backup-too-large') {
          // Past the limit the rest is not read: the connection closes after the answer.
          res.once('finish', () => req.destroy());
        } else {
          // Refused early (not a backup): the rest is read first, or the client may lose the answer to a reset.
          if (await bodyEnds(req)) return void res.destroy();
        }
      }
      return sendRefusal(res, restored);
    }
    const { manifest, configRestored, configKept, configNote, held } = restored.value;
    sendJson(res, 202, {
      restoring: true,
      message: '备份已通过检查，网关正在重新启动并使用恢复的数据，约半分钟后恢复服务；恢复前的数据会自动保存为一个备份。',
      message_en: 'the backup passed its checks; the box is restarting on the restored data and answers again within about half a minute. The data from before is saved as a backup first.',
      backup: {
        hostname: manifest.hostname,
        created_at: manifest.created_at,
        software_version: manifest.software_version,
        schema_version: manifest.schema_version,
        tables: manifest.tables,
      },
      config: { restored: configRestored, kept: configKept, note: configNote?.zh ?? null, note_en: configNote?.en ?? null },
      // Queued in the backup: now uncertain, for the shop to resend or mark failed (the other box may have sent them).
      held,
    });
  });
}

/** The 设置 page's section: download a backup, the kept ones, restore one. */
export function renderBackupSection(ctx: PageContext, backups: readonly BackupFileInfo[], timeZone: string): { html: string; script: string } {
  const { lang } = ctx;
  const size = (bytes: number) => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`);
  const rows = backups.map((b) => `<tr><td class="time">${h(localTime(b.createdAt, timeZone))}</td><td>${h(tr(lang, ...REASONS[b.reason]))}</td><td>${h(size(b.size))}</td>
<td><a href="/api/backups/${h(encodeURIComponent(b.name))}" download>${h(tr(lang, '下载', 'Download'))}</a> <small class="muted">${h(b.name)}</small></td></tr>`).join('');
  const html = `<section id="backup"><h2>${h(tr(lang, '备份与恢复', 'Backup and restore'))}</h2>
<p>${h(tr(lang,
    '备份文件包含全部短信记录、收件箱、退订名单、账号余额和账目，以及店铺设置。请定期下载一份保存在店里的电脑上。',
    'A backup holds every message, the inbox, the opt-out list, the balances and ledger, and the shop\'s settings. Download one now and then and keep it on the shop\'s PC.'))}</p>
<p><a class="button" id="download-backup" href="/api/backup" download>${h(tr(lang, '下载备份', 'Download a backup'))}</a></p>
<h3>${h(tr(lang, '恢复备份', 'Restore a backup'))}</h3>
<p class="muted">${h(tr(lang,
    '选择以前下载的 smsbox-backup-….tar.gz 文件。恢复会替换本机现在的全部数据（现在的数据会先自动保存为“恢复前自动”备份），并恢复账号、价格、发送时段、退订和通知设置；本机的端口、管理密码和短信模块设置保持不变。网关随后重新启动，约半分钟后恢复服务，需要重新登录。',
    'Choose an smsbox-backup-….tar.gz file you downloaded before. Restoring replaces all of this box\'s data (the current data is saved first as a "before a restore" backup) and restores the accounts, prices, sending window, opt-out and notification settings; this box keeps its port, admin password and modem settings. The box then restarts and answers again within about half a minute; log in again.'))}</p>
<form id="restore-form" class="row"><input type="file" id="restore-file" accept=".gz,.tar.gz,application/gzip" required aria-label="${h(tr(lang, '备份文件', 'backup file'))}">
<button type="submit" class="danger">${h(tr(lang, '恢复备份', 'Restore'))}</button></form>
<p id="restore-result" role="status"></p>
<h3>${h(tr(lang, '本机保存的备份', 'Backups kept on the box'))}</h3>
<p class="muted">${h(tr(lang, '每晚 3:27 自动备份一次，保留最近 7 份；恢复前和更新前的自动备份各保留最近 3 份。', 'A backup is made every night at 3:27; the newest 7 are kept, and the newest 3 made before a restore or an update.'))}</p>
<div class="table-wrap"><table id="backups"><tr><th>${h(tr(lang, '时间', 'Time'))}</th><th>${h(tr(lang, '类型', 'Kind'))}</th><th>${h(tr(lang, '大小', 'Size'))}</th><th></th></tr>
${rows || `<tr><td colspan="4" class="muted">${h(tr(lang, '还没有备份', 'no backups yet'))}</td></tr>`}</table></div></section>`;
  return { html, script: restoreScript(lang) };
}

function restoreScript(lang: Lang): string {
  const text = {
    confirm: tr(lang, '恢复会替换本机现在的全部数据（现在的数据会先自动备份）。确定恢复吗？', 'Restoring replaces all of this box\'s data (the current data is backed up first). Restore?'),
    uploading: tr(lang, '正在上传并检查备份…', 'Uploading and checking the backup…'),
    restarting: tr(lang, '备份已通过检查，网关正在重新启动…', 'The backup passed its checks; the box is restarting…'),
    failed: tr(lang, '上传失败：网络中断，未做任何更改。', 'Upload failed: the connection broke; nothing was changed.'),
    back: tr(lang, '网关已恢复服务，请重新登录。', 'The box answers again; log in again.'),
  };
  const json = JSON.stringify({ ...text, en: lang === 'en' }).replace(/</g, '\\u003c');
  return `(() => {
const t = ${json};
const form = document.getElementById('restore-form');
const out = document.getElementById('restore-result');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const file = document.getElementById('restore-file').files[0];
  if (!file || !confirm(t.confirm)) return;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? '';
  // The box's uptime before: after its restart it counts from 0 again, even when no poll saw it away.
  const uptime = async () => ((await (await fetch('/api/status', { cache: 'no-store' })).json()).uptime_s);
  let before = null;
  const asked = Date.now();
  try {
    before = await uptime();
  } catch {}
  out.textContent = t.uploading;
  let res;
  try {
    res = await fetch('/api/restore', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream', 'X-CSRF-Token': csrf }, body: file });
  } catch {
    out.textContent = t.failed;
    return;
  }
  const answer = await res.json().catch(() => ({}));
  if (res.status !== 202) {
    out.textContent = (t.en ? answer.message_en : answer.message) || res.statusText;
    return;
  }
  out.textContent = t.restarting;
  let wentAway = false;
  const poll = async () => {
    try {
      const now = await uptime();
      // Whole seconds on both sides: the box that was running is never a full second behind its own count.
      const restarted = wentAway || (before !== null && now + 1 < before + (Date.now() - asked) / 1000) || Date.now() - asked > 60000;
      if (restarted) {
        out.textContent = t.back;
        location.href = '/login?next=%2Fsettings';
        return;
      }
    } catch {
      wentAway = true;
    }
    setTimeout(poll, 500);
  };
  setTimeout(poll, 500);
});
})();`;
}

import { bodyOf, fitItems, markdownSafe, titleOf, type Outgoing } from '../message.js';
import { jsonRequest, numberOrNull, parseRobotAnswer, textOf, type Platform, type RenderContext } from '../platform.js';

/**
 * 企业微信 group robot (群机器人): `{"msgtype": "markdown", "markdown": {"content": …}}`
 * POSTed to the robot's URL (`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`,
 * the key is its only secret); content at most 4096 bytes of UTF-8; it answers
 * `{"errcode": 0, "errmsg": "ok"}`, any other errcode is a failure. At most 20
 * messages a minute per robot. Markdown: headings, bold, links, `>` quotes and
 * `<font color="info|comment|warning">`.
 * https://developer.work.weixin.qq.com/document/path/91770
 * (as read: https://work.weixin.qq.com/api/doc/90000/90136/91770)
 */

export const WECOM_MARKDOWN_MAX_BYTES = 4096;

const colourOf = (message: Outgoing) =>
  message.kind === 'recovered' || message.kind === 'test' ? 'info' : ['fault', 'stuck', 'carrier-blocked', 'config-error', 'low-balance'].includes(message.kind) ? 'warning' : 'comment';

export function wecomMarkdown(message: Outgoing, ctx: RenderContext): string {
  const title = titleOf(message, ctx.box);
  const body = bodyOf(message, ctx.timeZone);
  const head = [
    `### ${markdownSafe(title.zh)}`,
    `> <font color="${colourOf(message)}">${markdownSafe(body.text)}</font>`,
    ...body.facts.map((f) => `> ${markdownSafe(f)}`),
  ].join('\n');
  const tail = `[打开 ${markdownSafe(ctx.box.name)} 状态页](${ctx.box.url})`;
  // A few bytes of margin under the documented limit.
  return fitItems(head, body.items, body.more, tail, WECOM_MARKDOWN_MAX_BYTES - 96, (item) => `- ${markdownSafe(item)}`, (n) => `- …另有 ${n} 条`);
}

export const wecom: Platform = {
  render: (message, ctx) => jsonRequest(ctx.url, { msgtype: 'markdown', markdown: { content: wecomMarkdown(message, ctx) } }),
  parseAnswer: (status, body) => parseRobotAnswer(status, body, (json) => ({ code: numberOrNull(json['errcode']), message: textOf(json['errmsg']) })),
};

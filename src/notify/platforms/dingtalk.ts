import { bodyOf, fitItems, markdownSafe, titleOf } from '../message.js';
import { jsonRequest, numberOrNull, parseRobotAnswer, textOf, type Platform } from '../platform.js';
import { dingtalkSignedUrl } from '../sign.js';

/**
 * 钉钉 custom robot (自定义机器人): `{"msgtype": "markdown", "markdown": {"title": …, "text": …}}`
 * POSTed to `https://oapi.dingtalk.com/robot/send?access_token=…`, with
 * `&timestamp=…&sign=…` when the robot's security setting is 加签 (src/notify/sign.ts).
 * `title` is what the notification preview shows; `text` is markdown (a blank
 * line between paragraphs). It answers `{"errcode": 0, "errmsg": "ok"}`; a bad
 * signature, a missing keyword (安全设置 自定义关键词: our titles always contain
 * `smsbox`) or too many messages (at most 20 a minute, then 10 minutes of
 * silence) is another errcode with HTTP 200.
 * https://open.dingtalk.com/document/group/custom-robot-access (20 a minute, as read:
 * http://zhuoqun.info/article/182 and https://help.h3yun.com/contents/1212/2357.html)
 * https://open.dingtalk.com/document/development/robot-message-type (markdown: title, text)
 */

/** Our own bound: DingTalk documents none for markdown; a long digest is cut here. */
export const DINGTALK_TEXT_MAX_BYTES = 8000;

export const dingtalk: Platform = {
  render(message, ctx) {
    const title = titleOf(message, ctx.box);
    const body = bodyOf(message, ctx.timeZone);
    const head = [`#### ${markdownSafe(title.zh)}`, `> ${markdownSafe(body.text)}`, ...body.facts.map((f) => `> ${markdownSafe(f)}`)].join('\n\n');
    const tail = `[打开 ${markdownSafe(ctx.box.name)} 状态页](${ctx.box.url})`;
    const text = fitItems(head, body.items, body.more, tail, DINGTALK_TEXT_MAX_BYTES, (item) => `- ${markdownSafe(item)}`, (n) => `- …另有 ${n} 条`, '\n\n');
    const url = ctx.secret ? dingtalkSignedUrl(ctx.url, ctx.secret, ctx.now) : ctx.url;
    return jsonRequest(url, { msgtype: 'markdown', markdown: { title: title.zh, text } });
  },
  parseAnswer: (status, body) => parseRobotAnswer(status, body, (json) => ({ code: numberOrNull(json['errcode']), message: textOf(json['errmsg']) })),
};

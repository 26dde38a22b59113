import { bodyOf, cutChars, titleOf, utf8Length } from '../message.js';
import { jsonRequest, numberOrNull, parseRobotAnswer, textOf, type Platform } from '../platform.js';
import { feishuSign } from '../sign.js';

/**
 * 飞书 custom robot (自定义机器人): a rich-text message,
 * `{"msg_type": "post", "content": {"post": {"zh_cn": {"title": …, "content": [[{"tag": "text", "text": …}], [{"tag": "a", "text": …, "href": …}]]}}}}`,
 * POSTed to `https://open.feishu.cn/open-apis/bot/v2/hook/…`; with 签名校验 the
 * body also carries `timestamp` (seconds, as a string) and `sign` (src/notify/sign.ts).
 * Request body at most 20 KB; 100 messages a minute, 5 a second. Success is
 * `{"code": 0, "msg": "success", …}` (older robots answer with `StatusCode: 0`
 * only); anything else, e.g. `{"code": 19021, "msg": "sign match fail …"}`, is
 * a failure even with HTTP 200. Post `text` elements are plain text: nothing
 * in a customer's reply is interpreted.
 * https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot
 */

/** Under the documented 20 KB request body, with room for the JSON around the texts. */
export const FEISHU_TEXT_MAX_BYTES = 16_000;

export const feishu: Platform = {
  render(message, ctx) {
    const title = titleOf(message, ctx.box);
    const body = bodyOf(message, ctx.timeZone);
    const line = (text: string) => [{ tag: 'text', text }];
    const content: unknown[][] = [line(body.text), ...body.facts.map(line)];
    let used = utf8Length(title.zh) + utf8Length(body.text) + body.facts.reduce((n, f) => n + utf8Length(f), 0);
    let listed = 0;
    for (const item of body.items) {
      const text = `· ${cutChars(item, 500)}`;
      if (used + utf8Length(text) > FEISHU_TEXT_MAX_BYTES) break;
      content.push(line(text));
      used += utf8Length(text);
      listed++;
    }
    const left = body.items.length - listed + body.more;
    if (left > 0) content.push(line(`· …另有 ${left} 条`));
    content.push([{ tag: 'a', text: `打开 ${ctx.box.name} 状态页`, href: ctx.box.url }]);
    const post = { msg_type: 'post', content: { post: { zh_cn: { title: title.zh, content } } } };
    if (!ctx.secret) return jsonRequest(ctx.url, post);
    const timestamp = Math.floor(ctx.now / 1000);
    return jsonRequest(ctx.url, { timestamp: String(timestamp), sign: feishuSign(ctx.secret, timestamp), ...post });
  },
  parseAnswer: (status, body) =>
    parseRobotAnswer(status, body, (json) => {
      const code = numberOrNull(json['code']) ?? numberOrNull(json['StatusCode']);
      return { code, message: textOf(json['msg'] ?? json['StatusMessage']) };
    }),
};

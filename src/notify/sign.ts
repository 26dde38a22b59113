import { createHmac } from 'node:crypto';

/**
 * The group robots' signatures, exactly as their documentation states them.
 * The two look alike and are not: DingTalk keys the HMAC with the secret and
 * signs "timestamp\nsecret"; Feishu keys it with "timestamp\nsecret" and signs
 * nothing. test/notify/platforms.test.ts recomputes both independently.
 */

/**
 * DingTalk custom robot, security setting 加签 (sign):
 * "把 timestamp+"\n"+密钥当做签名字符串，使用HmacSHA256算法计算签名，然后进行Base64
 * encode，最后再把签名参数再进行urlEncode，得到最终的签名（需要使用UTF-8字符集）";
 * timestamp in milliseconds, within one hour of DingTalk's clock; both go into
 * the webhook URL as `&timestamp=XXX&sign=XXX`.
 * https://open.dingtalk.com/document/robots/customize-robot-security-settings
 * (now under /document/dingstart/; the same text and its Java and Python
 * samples, as read: https://apifox.com/apidoc/docs-site/467052/doc-3550006 and
 * https://www.mihaoyun.com/wordpress/?p=391)
 *
 * Returns the Base64 signature before URL-encoding.
 */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(`${timestampMs}\n${secret}`, 'utf8')).digest('base64');
}

/** The robot URL with `timestamp` and the URL-encoded `sign` appended (the rest of the URL as the owner pasted it). */
export function dingtalkSignedUrl(url: string, secret: string, timestampMs: number): string {
  // encodeURIComponent turns Base64's + / = into %2B %2F %3D, as Java's URLEncoder
  // and Python's quote_plus in DingTalk's samples do.
  const sign = encodeURIComponent(dingtalkSign(secret, timestampMs));
  const hash = url.indexOf('#');
  const base = hash === -1 ? url : url.slice(0, hash);
  return `${base}${base.includes('?') ? '&' : '?'}timestamp=${timestampMs}&sign=${sign}`;
}

/**
 * Feishu (Lark) custom robot, 签名校验: "把 timestamp + "\n" + 密钥 当做签名字符串，
 * 使用 HmacSHA256 算法计算签名，再进行 Base64 编码"; the official samples use that
 * string as the HMAC *key* over an empty message (Java: `new SecretKeySpec(stringToSign…)`,
 * `mac.doFinal(new byte[]{})`; Python: `hmac.new(string_to_sign.encode(), b"", sha256)`).
 * timestamp in seconds, within one hour; `timestamp` and `sign` go into the
 * JSON body. A wrong one is answered `{"code":19021,"msg":"sign match fail or
 * timestamp is not within one hour from current time"}`.
 * https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot
 * (= https://open.larkoffice.com/document/ukTMukTMukTM/ucTM5YjL3ETO24yNxkjN; the
 * signature section and its Python sample, as read: https://m.down10s.com/jiaocheng/5605312225.html,
 * the Java SignDemo: https://blog.csdn.net/ASDQWE09876/article/details/144612767)
 */
export function feishuSign(secret: string, timestampSeconds: number): string {
  return createHmac('sha256', Buffer.from(`${timestampSeconds}\n${secret}`, 'utf8')).update(Buffer.alloc(0)).digest('base64');
}

/**
 * Our own webhook (kind = "webhook") with a secret: header
 * `X-Smsbox-Signature: sha256=<hex HMAC-SHA256, keyed with the secret, of "<timestamp>\n<body>">`
 * and `X-Smsbox-Timestamp: <seconds>`, so a receiver can check where a POST
 * came from and refuse old replays. Documented in the README.
 */
export function webhookSignature(secret: string, timestampSeconds: number, body: string): string {
  return `sha256=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestampSeconds}\n${body}`, 'utf8').digest('hex')}`;
}

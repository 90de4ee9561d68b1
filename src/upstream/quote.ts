/**
 * Text an upstream sent, cut to at most about `max` characters for a message or a log line.
 * The cut falls between words (at whitespace, quotes, commas, brackets), never inside one: a
 * credential the upstream echoed is then either whole, and the secret filter replaces it, or
 * gone, never a fragment the filter cannot recognise (a key cut at 60 characters is still 59
 * characters of the key). '=' and '/' are not boundaries: base64 keys hold them.
 */
const BOUNDARY = /[\s"',{}[\]<>]/;

export function quote(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = max;
  while (cut > 0 && !BOUNDARY.test(text[cut]!)) cut--;
  return `${text.slice(0, cut)}…`;
}

/**
 * systemd's word splitting of a setting (systemd.syntax(7), "Quoting"): words apart by
 * whitespace, double or single quotes around any part of a word, a backslash escaping the next
 * character, C-style escapes inside double quotes. Written apart from ccp's generator, to read
 * back what it wrote; specifiers (`%%`) and `$$` are left to the caller.
 */
export function systemdWords(line: string): string[] {
  const words: string[] = [];
  const esc: Record<string, string> = { n: "\n", t: "\t", r: "\r" };
  let i = 0;
  while (i < line.length) {
    while (/\s/.test(line[i] ?? "")) i++;
    if (i >= line.length) break;
    let word = "";
    while (i < line.length && !/\s/.test(line[i]!)) {
      const c = line[i]!;
      if (c === '"' || c === "'") {
        i++;
        while (i < line.length && line[i] !== c) {
          if (c === '"' && line[i] === "\\") {
            const n = line[i + 1] ?? "";
            word += esc[n] ?? n;
            i += 2;
          } else word += line[i++];
        }
        if (line[i] !== c) throw new Error(`unbalanced quoting: ${line}`);
        i++;
      } else if (c === "\\") {
        word += line[i + 1] ?? "";
        i += 2;
      } else word += line[i++];
    }
    words.push(word);
  }
  return words;
}

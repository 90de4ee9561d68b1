/**
 * A strict reader of XML property lists (Apple's PropertyList-1.0 DTD), for checking the plists
 * ccp writes where `plutil -lint` is absent: well-formed XML (prolog, one root, tags balanced,
 * only XML's five entities and character references, no raw `<` or `&` in text, no `--` in a
 * comment) and the plist structure (dict of key / value pairs with unique keys, array, string,
 * integer, real, true, false, date, data). Throws with the offset of the first fault.
 */
export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

export function parsePlist(xml: string): PlistValue {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`plist: ${why} at offset ${i}: ${JSON.stringify(xml.slice(i, i + 40))}`);
  };
  const skipMisc = () => {
    for (;;) {
      while (/\s/.test(xml[i] ?? "")) i++;
      if (xml.startsWith("<!--", i)) {
        const end = xml.indexOf("-->", i + 4);
        if (end < 0) fail("unterminated comment");
        if (xml.slice(i + 4, end).includes("--") || xml[end - 1] === "-") fail('"--" inside a comment');
        i = end + 3;
      } else return;
    }
  };
  const text = (): string => {
    let out = "";
    while (i < xml.length && xml[i] !== "<") {
      if (xml[i] === "&") {
        const end = xml.indexOf(";", i);
        const name = end < 0 ? "" : xml.slice(i + 1, end);
        const num = /^#x([0-9a-fA-F]+)$/.exec(name) ?? /^#([0-9]+)$/.exec(name);
        if (num) out += String.fromCodePoint(Number.parseInt(num[1]!, name[1] === "x" ? 16 : 10));
        else if (ENTITIES[name] !== undefined) out += ENTITIES[name];
        else fail(`unknown entity &${name};`);
        i = end + 1;
      } else {
        if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(xml[i]!)) fail("a character XML cannot hold");
        out += xml[i++];
      }
    }
    return out;
  };
  const open = (): { name: string; empty: boolean } => {
    const m = /^<([A-Za-z]+)(\s+[A-Za-z]+="[^"<&]*")*\s*(\/?)>/.exec(xml.slice(i));
    if (!m) fail("expected a start tag");
    i += m![0].length;
    return { name: m![1]!, empty: m![3] === "/" };
  };
  const close = (name: string) => {
    if (!xml.startsWith(`</${name}>`, i)) fail(`expected </${name}>`);
    i += name.length + 3;
  };
  const leaf = (name: string, empty: boolean): string => {
    if (empty) return "";
    const t = text();
    close(name);
    return t;
  };
  const value = (): PlistValue => {
    skipMisc();
    const { name, empty } = open();
    switch (name) {
      case "string":
        return leaf(name, empty);
      case "integer":
      case "real": {
        const t = leaf(name, empty).trim();
        if (!(name === "integer" ? /^[+-]?\d+$/ : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/).test(t)) fail(`not an ${name}: ${t}`);
        return Number(t);
      }
      case "true":
      case "false":
        if (!empty) close(name);
        return name === "true";
      case "date":
      case "data":
        return leaf(name, empty);
      case "array": {
        const items: PlistValue[] = [];
        if (empty) return items;
        for (skipMisc(); !xml.startsWith("</array>", i); skipMisc()) items.push(value());
        close("array");
        return items;
      }
      case "dict": {
        const d: Record<string, PlistValue> = {};
        if (empty) return d;
        for (skipMisc(); !xml.startsWith("</dict>", i); skipMisc()) {
          if (open().name !== "key") fail("a dict holds <key> then a value");
          const k = text();
          close("key");
          if (k in d) fail(`key ${k} twice`);
          d[k] = value();
        }
        close("dict");
        return d;
      }
      default:
        return fail(`<${name}> is not a plist element`);
    }
  };

  if (!xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')) fail("no XML declaration");
  i = xml.indexOf("?>") + 2;
  skipMisc();
  if (xml.startsWith("<!DOCTYPE", i)) {
    if (!xml.startsWith('<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">', i)) fail("not the plist DOCTYPE");
    i = xml.indexOf(">", i) + 1;
  }
  skipMisc();
  if (!xml.startsWith('<plist version="1.0">', i)) fail('expected <plist version="1.0">');
  i += '<plist version="1.0">'.length;
  const root = value();
  skipMisc();
  close("plist");
  skipMisc();
  if (i !== xml.length) fail("content after the root element");
  return root;
}

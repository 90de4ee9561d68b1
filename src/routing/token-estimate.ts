import { imageSize } from "./image-size.ts";

type Json = Record<string, unknown>;

/**
 * The rules of ccp's local estimate of a request's input tokens (README, "min_input_tokens":
 * what they were measured against). Text costs a token per CHARS_PER_TOKEN characters; JSON a
 * model reads as structure (tool schemas, tool inputs) per JSON_CHARS_PER_TOKEN.
 */
export const CHARS_PER_TOKEN = 3.6;
export const JSON_CHARS_PER_TOKEN = 4.0;
/** Role, separators and block framing per message and per content block. */
const PER_MESSAGE = 4;
const PER_BLOCK = 3;
/** Anthropic's tool-use system prompt, added once when tools are offered (its pricing page: 346 for Claude 4 models). */
export const TOOL_USE_PROMPT = 346;
/** Anthropic-defined tools whose definitions cost a documented fixed amount instead of a schema (pricing page, tool use). */
const FIXED_TOOL_COST: readonly (readonly [RegExp, number])[] = [
  [/^bash_/, 245],
  [/^text_editor_/, 700],
  [/^computer_/, 735],
];
/** An image: width × height / 750 after scaling its long edge to at most 1568 px, at most about 1600 (vision docs). */
export const IMAGE_MAX = 1_600;
const IMAGE_LONG_EDGE = 1_568;
/** A PDF page (text plus the page's image; the docs give 1,500 to 3,000). */
export const PDF_PAGE = 2_250;

const text = (s: unknown): number => (typeof s === "string" ? s.length / CHARS_PER_TOKEN : 0);
const json = (v: unknown): number => (v === undefined ? 0 : JSON.stringify(v).length / JSON_CHARS_PER_TOKEN);

/** Tokens of one image, from its pixel size when its bytes say it, else the most an image costs. */
export function imageTokens(size: { readonly width: number; readonly height: number } | undefined): number {
  if (!size || size.width <= 0 || size.height <= 0) return IMAGE_MAX;
  const scale = Math.min(1, IMAGE_LONG_EDGE / Math.max(size.width, size.height));
  return Math.min(IMAGE_MAX, Math.ceil((size.width * scale * (size.height * scale)) / 750));
}

function sourceTokens(block: Json): number {
  const source = block.source as Json | undefined;
  if (block.type === "image") return imageTokens(source?.type === "base64" && typeof source.data === "string" ? imageSize(source.data) : undefined);
  // A document: its text when it is text, its pages when it is a PDF (pages counted in the file), else its content blocks.
  if (source?.type === "text") return text(source.data);
  if (source?.type === "content" && Array.isArray(source.content)) return blocksTokens(source.content, false);
  if (source?.type === "base64" && typeof source.data === "string") {
    const pages =
      Buffer.from(source.data, "base64")
        .toString("latin1")
        .match(/\/Type\s*\/Page(?![A-Za-z])/g)?.length ?? 1;
    return pages * PDF_PAGE;
  }
  return PDF_PAGE;
}

function blockTokens(block: unknown, thinkingCounts: boolean): number {
  if (typeof block === "string") return text(block);
  const b = block as Json;
  switch (b?.type) {
    case "text":
      return PER_BLOCK + text(b.text);
    case "image":
    case "document":
      return PER_BLOCK + sourceTokens(b);
    case "tool_use":
    case "server_tool_use":
      return PER_BLOCK + text(b.name) + json(b.input);
    case "tool_result":
      return PER_BLOCK + (typeof b.content === "string" ? text(b.content) : Array.isArray(b.content) ? blocksTokens(b.content, false) : 0);
    case "thinking":
      // Thinking of earlier turns is not sent to the model (Anthropic strips it); the last turn's is.
      return thinkingCounts ? PER_BLOCK + text(b.thinking) : 0;
    case "redacted_thinking":
      return thinkingCounts ? PER_BLOCK + text(b.data) : 0;
    default:
      // Server tool results (web search, code execution...) and anything newer: their JSON.
      return PER_BLOCK + json(b);
  }
}

function blocksTokens(content: unknown, thinkingCounts: boolean): number {
  if (typeof content === "string") return text(content);
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const block of content) n += blockTokens(block, thinkingCounts);
  return n;
}

function toolTokens(tool: unknown): number {
  const t = tool as Json;
  const fixed = typeof t?.type === "string" ? FIXED_TOOL_COST.find(([re]) => re.test(t.type as string))?.[1] : undefined;
  if (fixed !== undefined) return fixed;
  return text(t?.name) + text(t?.description) + json(t?.input_schema ?? (t?.type === undefined ? undefined : t));
}

/**
 * ccp's local estimate of a Messages request's input tokens: system, messages (text, images,
 * documents, tool_use and tool_result blocks, the last assistant turn's thinking) and tool
 * definitions. Pure; one walk of the body. Labelled an estimate wherever it is shown.
 */
export function estimateInputTokens(body: Json): number {
  let n = blocksTokens(body.system, false);
  const messages = Array.isArray(body.messages) ? (body.messages as Json[]) : [];
  const lastAssistant = messages.findLastIndex((m) => m?.role === "assistant");
  messages.forEach((m, i) => {
    n += PER_MESSAGE + blocksTokens(m?.content, i === lastAssistant);
  });
  const tools = Array.isArray(body.tools) ? body.tools : [];
  if (tools.length > 0) n += TOOL_USE_PROMPT;
  for (const t of tools) n += toolTokens(t);
  return Math.max(1, Math.ceil(n));
}

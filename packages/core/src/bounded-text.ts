// The one helper that bounds text which may echo client input (error messages, status details, log strings).
// A request field can be megabytes long; echoing it whole makes gRPC trailers overflow and makes every
// scan of the message (log scrubbing, serialisation) cost as much as the input. The middle is cut so that
// both the start (what was wrong) and the end (what to do) of a message survive.

/** Longest error message / status detail, in characters. */
export const MAX_MESSAGE_CHARS = 2000;

export function boundText(text: string, max: number = MAX_MESSAGE_CHARS): string {
  if (text.length <= max) return text;
  const marker = `…[${text.length - max} chars cut]…`;
  const keep = Math.max(0, max - marker.length);
  const head = Math.ceil(keep * 0.6);
  return `${text.slice(0, head)}${marker}${text.slice(text.length - (keep - head))}`;
}
